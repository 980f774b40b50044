// Exact (flat) search of 100,000 x 512 L2-normalised descriptors, k = 100, at batch sizes 1, 16
// and 64 (and, for the sq8 flat store, its 8-bit scan kernel against the float32 one, scores only):
// Faiss's IndexFlatIP with its defaults, Faiss with BLAS for every batch size
// (distance_compute_blas_threshold = 1, OpenBLAS), and geoloc's kernel (flat_kernel.h) with each
// instruction set this CPU has. The counter ms_per_query is wall time per query.
//
//   build/tools/bench/index/flat_search_bench --benchmark_min_time=2
//
// Data: SyntheticVectors (clustered unit vectors, 1,000 clusters); queries from its query stream.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/index/fast_flat_index.h"
#include "core/index/flat_kernel.h"
#include "core/index/synthetic_vectors.h"
#include "faiss/IndexFlat.h"
#include "faiss/utils/distances.h"

namespace geoloc::index {
namespace {

constexpr int kDim = 512;
constexpr int64_t kRows = 100'000;
constexpr int kK = 100;
constexpr int kMaxBatch = 64;

struct Data {
  std::vector<float> db;
  std::vector<float> queries;
  std::unique_ptr<faiss::IndexFlatIP> faiss_index;
};

const Data& GetData() {
  static const Data* data = [] {
    auto* d = new Data;
    SyntheticVectorsOptions options;
    options.dim = kDim;
    options.clusters = 1000;
    SyntheticVectors gen(options);
    d->db = gen.Database(kRows);
    d->queries = gen.Queries(kMaxBatch);
    d->faiss_index = std::make_unique<faiss::IndexFlatIP>(kDim);
    d->faiss_index->add(kRows, d->db.data());
    return d;
  }();
  return *data;
}

void SetPerQuery(benchmark::State& state, int batch) {
  state.counters["ms_per_query"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * batch * 1e-3,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(state.iterations() * batch);
}

void RunFaiss(benchmark::State& state, int blas_threshold) {
  const Data& data = GetData();
  const int batch = static_cast<int>(state.range(0));
  const int saved = faiss::distance_compute_blas_threshold;
  faiss::distance_compute_blas_threshold = blas_threshold;
  std::vector<float> distances(batch * kK);
  std::vector<faiss::Index::idx_t> labels(batch * kK);
  for (auto _ : state) {
    data.faiss_index->search(batch, data.queries.data(), kK, distances.data(), labels.data());
    benchmark::DoNotOptimize(labels.data());
  }
  faiss::distance_compute_blas_threshold = saved;
  SetPerQuery(state, batch);
}

void BM_FaissDefaults(benchmark::State& state) { RunFaiss(state, 20); }
void BM_FaissBlasEveryBatch(benchmark::State& state) { RunFaiss(state, 1); }

void RunGeoloc(benchmark::State& state, KernelIsa isa) {
  if (isa != KernelIsa::kScalar && isa != DetectKernelIsa() &&
      !(isa == KernelIsa::kAvx2 && DetectKernelIsa() == KernelIsa::kAvx512)) {
    state.SkipWithError("instruction set not supported by this CPU");
    return;
  }
  const Data& data = GetData();
  const int batch = static_cast<int>(state.range(0));
  ExactSearchOptions options;
  options.isa = isa;
  std::vector<float> scores(batch * kK);
  std::vector<int64_t> rows(batch * kK);
  for (auto _ : state) {
    ExactSearch(data.db.data(), kRows, kDim, model::Metric::kInnerProduct, data.queries.data(),
                batch, kK, scores.data(), rows.data(), options);
    benchmark::DoNotOptimize(rows.data());
  }
  SetPerQuery(state, batch);
}

void BM_GeolocKernelAvx512(benchmark::State& state) { RunGeoloc(state, KernelIsa::kAvx512); }
void BM_GeolocKernelAvx2(benchmark::State& state) { RunGeoloc(state, KernelIsa::kAvx2); }
void BM_GeolocKernelScalar(benchmark::State& state) { RunGeoloc(state, KernelIsa::kScalar); }

// The sq8 store's scan kernel alone (sq8_flat_index.h), one thread, scores only (no selection, no
// re-ranking): 8-bit codes of the same database (ScoreCodes) against the float32 tiles over the
// float vectors (ComputeScores), block by block.
void RunScan(benchmark::State& state, bool codes_kernel) {
  const Data& data = GetData();
  const int batch = static_cast<int>(state.range(0));
  static const std::vector<uint8_t>* codes = [] {
    auto* c = new std::vector<uint8_t>(GetData().db.size());
    for (size_t i = 0; i < c->size(); ++i) {
      (*c)[i] = static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, 128 + 600 * GetData().db[i])));
    }
    return c;
  }();
  constexpr int64_t kBlock = 64;
  std::vector<float> scores(static_cast<size_t>(batch) * kBlock);
  for (auto _ : state) {
    for (int64_t r0 = 0; r0 < kRows; r0 += kBlock) {
      const int64_t rows = std::min(kBlock, kRows - r0);
      if (codes_kernel) {
        ScoreCodes(codes->data() + r0 * kDim, rows, kDim, data.queries.data(), batch, scores.data(),
                   kBlock);
      } else {
        ComputeScores(data.db.data() + r0 * kDim, rows, kDim, model::Metric::kInnerProduct,
                      data.queries.data(), batch, scores.data(), kBlock);
      }
      benchmark::DoNotOptimize(scores.data());
    }
  }
  SetPerQuery(state, batch);
}

void BM_Sq8CodesScan(benchmark::State& state) { RunScan(state, true); }
void BM_Fp32Scan(benchmark::State& state) { RunScan(state, false); }
BENCHMARK(BM_Sq8CodesScan)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Fp32Scan)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();

#define GEOLOC_BATCHES ->Arg(1)->Arg(16)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime()
BENCHMARK(BM_FaissDefaults) GEOLOC_BATCHES;
BENCHMARK(BM_FaissBlasEveryBatch) GEOLOC_BATCHES;
BENCHMARK(BM_GeolocKernelAvx512) GEOLOC_BATCHES;
BENCHMARK(BM_GeolocKernelAvx2) GEOLOC_BATCHES;
BENCHMARK(BM_GeolocKernelScalar) GEOLOC_BATCHES;
#undef GEOLOC_BATCHES

}  // namespace
}  // namespace geoloc::index

BENCHMARK_MAIN();
