// The sq8 flat store against the float32 one (core/index/sq8_flat_index.h): per-query latency at
// batch 1 and 16, resident memory, bytes scanned per query, whether the answers are identical, and
// how often the short list alone proved the answer; plus the score error of per-dimension against
// one global 8-bit range (why the store is per-dimension).
//
//   build/tools/bench/index/flat_store_bench --rows=100000             # 100,000 x 512
//   build/tools/bench/index/flat_store_bench --rows=1000000            # 1,000,000 x 512
//   OMP_NUM_THREADS=1 taskset -c 0 build/tools/bench/index/flat_store_bench --json_out=F
//       # one core: a search's CPU cost (tools/bench/server/locate_bench.sh's pipeline limit)
//
// Data (core/index/synthetic_vectors.h): --clusters clustered unit vectors ("clustered", the
// default) or i.i.d. Gaussian unit vectors ("uniform"); queries are fresh points. Both bundles
// (one shard each) are written to --work_dir and reused when present. Searches go through
// Bundle::SearchRows as the server's do, with the process's default threads (all cores); batch 1
// is the median of --latency_queries single searches, batch 16 the median over --queries / 16
// batches; "batch 1 from memory" is the median of the same single searches each after writing
// --evict_mib MiB of other memory, so that the store is no longer in cache: what a lone call to an
// idle server meets (docs/BENCHMARKS.md "Prefetching the codes"). The short-list statistics come
// from the same store opened directly.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/common/file_util.h"
#include "core/index/bundle.h"
#include "core/index/bundle_writer.h"
#include "core/index/sq8_flat_index.h"
#include "core/index/synthetic_vectors.h"
#include "tools/bench/index/bench_util.h"

ABSL_FLAG(std::string, work_dir, "/tmp/geoloc-flat-store", "cache for the bundles");
ABSL_FLAG(int64_t, rows, 100'000, "database vectors");
ABSL_FLAG(int, dim, 512, "descriptor dimension");
ABSL_FLAG(std::string, data, "clustered", "clustered or uniform");
ABSL_FLAG(int, clusters, 1000, "clusters in the clustered data");
ABSL_FLAG(int, k, 100, "neighbours per query (the server's default k is 100)");
ABSL_FLAG(int64_t, queries, 320, "queries for the batch-16 latency and the comparison");
ABSL_FLAG(int, latency_queries, 100, "single-query searches timed for the batch-1 median");
ABSL_FLAG(std::vector<std::string>, factors, std::vector<std::string>({"2", "3", "4", "8"}),
          "short-list factors to report statistics for (the bundle serves the default)");
ABSL_FLAG(int, evict_mib, 512,
          "MiB written between the 'from memory' batch-1 searches to evict the store from cache "
          "(0: skip them)");
ABSL_FLAG(std::string, json_out, "",
          "also write both stores' batch-1 and batch-16 ms per query here as JSON (atomically)");

namespace geoloc::index {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::vector<float> UnitGaussian(int64_t n, int d, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> x(static_cast<size_t>(n) * d);
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int j = 0; j < d; ++j) s += std::pow(x[i * d + j] = dist(rng), 2);
    for (int j = 0; j < d; ++j) x[i * d + j] = static_cast<float>(x[i * d + j] / std::sqrt(s));
  }
  return x;
}

struct Figures {
  double load_rss = 0, load_anon = 0, load_file = 0;  // MiB added by the load
  double search_rss = 0;                              // MiB added by the searches after it
  double batch1_ms = 0, batch16_ms = 0;
  double batch1_from_memory_ms = 0;  // 0 when --evict_mib=0
  std::vector<float> scores;
  std::vector<int64_t> rows;
};

Figures Measure(const std::string& path, const std::vector<float>& queries, int64_t nq, int k) {
  Figures f;
  const ProcessRss before = ReadProcessRss();
  absl::StatusOr<std::shared_ptr<const Bundle>> loaded = Bundle::Load(path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
    std::exit(1);
  }
  const Bundle& b = **loaded;
  const ProcessRss after_load = ReadProcessRss();
  f.load_rss = after_load.total - before.total;
  f.load_anon = after_load.anon - before.anon;
  f.load_file = after_load.file - before.file;
  const int d = b.dim();
  SearchParams p;
  p.k = k;
  std::vector<float> s(16 * k);
  std::vector<int64_t> r(16 * k);
  auto search = [&](int64_t q0, int64_t n) {
    absl::Status st =
        b.SearchRows(absl::MakeConstSpan(queries.data() + q0 * d, n * d), p,
                     absl::MakeSpan(s.data(), n * k), absl::MakeSpan(r.data(), n * k));
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      std::exit(1);
    }
  };
  search(0, 1);  // warm-up
  std::vector<double> single;
  for (int64_t q = 0; q < std::min<int64_t>(absl::GetFlag(FLAGS_latency_queries), nq); ++q) {
    const auto t = Clock::now();
    search(q, 1);
    single.push_back(MsSince(t));
  }
  f.batch1_ms = Median(single);
  if (const int evict_mib = absl::GetFlag(FLAGS_evict_mib); evict_mib > 0) {
    std::vector<unsigned char> other(static_cast<size_t>(evict_mib) << 20);
    std::vector<double> from_memory;
    for (int64_t q = 0; q < std::min<int64_t>(absl::GetFlag(FLAGS_latency_queries), nq); ++q) {
      std::memset(other.data(), static_cast<int>(q), other.size());
      const auto t = Clock::now();
      search(q, 1);
      from_memory.push_back(MsSince(t));
    }
    f.batch1_from_memory_ms = Median(from_memory);
  }
  std::vector<double> batches;
  for (int64_t q0 = 0; q0 + 16 <= nq; q0 += 16) {
    const auto t = Clock::now();
    search(q0, 16);
    batches.push_back(MsSince(t) / 16);
    f.scores.insert(f.scores.end(), s.begin(), s.end());
    f.rows.insert(f.rows.end(), r.begin(), r.end());
  }
  f.batch16_ms = Median(batches);
  f.search_rss = ReadProcessRss().total - after_load.total;
  return f;
}

// Score error of 8-bit codes over a sample: per-dimension ranges (as stored) against one global
// range, |<q, x~> - <q, x>| (max and mean), and the store's per-query bound (mean).
void ScoreError(const std::vector<float>& x, int64_t n, int d, const std::vector<float>& q,
                int64_t nq, const Sq8Store& store) {
  const int64_t rows = std::min<int64_t>(n, 20000);
  const int64_t qs = std::min<int64_t>(nq, 16);
  float glo = std::numeric_limits<float>::infinity(), ghi = -glo;
  for (int64_t i = 0; i < n * d; ++i) {
    glo = std::min(glo, x[i]);
    ghi = std::max(ghi, x[i]);
  }
  const double gscale = (ghi - glo) / 255.0;
  double max_dim = 0, sum_dim = 0, max_glob = 0, sum_glob = 0, bound_sum = 0;
  for (int64_t c = 0; c < qs; ++c) {
    const float* qv = &q[c * d];
    double bound = 0;
    for (int j = 0; j < d; ++j) bound += std::fabs(qv[j]) * store.err()[j];
    bound_sum += bound;
    for (int64_t r = 0; r < rows; ++r) {
      double e_dim = 0, e_glob = 0;
      for (int j = 0; j < d; ++j) {
        const double v = x[r * d + j];
        const double dim_rec = store.min()[j] + double{store.scale()[j]} * store.codes()[r * d + j];
        const double gcode = std::clamp(std::round((v - glo) / gscale), 0.0, 255.0);
        e_dim += qv[j] * (dim_rec - v);
        e_glob += qv[j] * (glo + gscale * gcode - v);
      }
      max_dim = std::max(max_dim, std::fabs(e_dim));
      max_glob = std::max(max_glob, std::fabs(e_glob));
      sum_dim += std::fabs(e_dim);
      sum_glob += std::fabs(e_glob);
    }
  }
  const double pairs = static_cast<double>(rows * qs);
  std::printf(
      "score error over %lld x %lld pairs: per-dimension mean %.2e max %.2e (bound mean "
      "%.2e); one global range mean %.2e max %.2e\n",
      static_cast<long long>(qs), static_cast<long long>(rows), sum_dim / pairs, max_dim,
      bound_sum / qs, sum_glob / pairs, max_glob);
}

int Main() {
  const int64_t n = absl::GetFlag(FLAGS_rows);
  const int d = absl::GetFlag(FLAGS_dim);
  const int k = absl::GetFlag(FLAGS_k);
  const int64_t nq = absl::GetFlag(FLAGS_queries) / 16 * 16;
  const std::string data = absl::GetFlag(FLAGS_data);
  if (data != "clustered" && data != "uniform") {
    std::fprintf(stderr, "--data must be clustered or uniform\n");
    return 2;
  }
  std::vector<float> x, q;
  if (data == "clustered") {
    SyntheticVectors gen({.dim = d, .clusters = absl::GetFlag(FLAGS_clusters), .seed = 7});
    x = gen.Database(n);
    q = gen.Queries(nq);
  } else {
    x = UnitGaussian(n, d, 7);
    q = UnitGaussian(nq, d, 8);
  }
  const std::string base =
      (fs::path(absl::GetFlag(FLAGS_work_dir)) / absl::StrCat(data, "-", n, "x", d)).string();
  for (FlatStore store : {FlatStore::kFp32, FlatStore::kSq8}) {
    const std::string out = absl::StrCat(base, "-", FlatStoreName(store));
    if (fs::exists(fs::path(out) / "manifest.json")) continue;
    BundleWriteOptions o;
    o.output = out;
    o.index.flat_store = store;
    o.show_progress = false;
    model::ModelInfo info;
    info.name = "bench";
    info.backbone = info.head = "none";
    info.dim = d;
    info.metric = model::Metric::kInnerProduct;
    info.fingerprint = "0123456789abcdef0123456789abcdef";
    std::vector<MetadataRow> meta(n);
    for (int64_t i = 0; i < n; ++i) meta[i].id = i;
    absl::StatusOr<BundleManifest> m = WriteBundle(x.data(), n, info, meta, o);
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
      return 1;
    }
  }
  std::printf("%s data, %lld x %d, k %d, %lld queries; threads: OpenMP default\n", data.c_str(),
              static_cast<long long>(n), d, k, static_cast<long long>(nq));
  const Figures sq8 = Measure(base + "-sq8", q, nq, k);
  const Figures fp32 = Measure(base + "-fp32", q, nq, k);
  int64_t differ = 0;
  for (size_t i = 0; i < fp32.rows.size(); ++i) {
    if (fp32.rows[i] != sq8.rows[i] || fp32.scores[i] != sq8.scores[i]) ++differ;
  }

  // The store opened directly, for its statistics at each short-list factor.
  std::string sq8_file = base + "-sq8/shards/shard-00000.sq8";
  std::string flat_file = base + "-sq8/shards/shard-00000.faiss";
  std::printf(
      "| store | batch 1 ms | batch 1 from memory ms | batch 16 ms/query | RSS after load MiB "
      "(anon / file) | RSS added by searches MiB |\n| --- | --- | --- | --- | --- | --- |\n");
  for (const auto* f : {&fp32, &sq8}) {
    std::printf("| %s | %.2f | %.2f | %.3f | %.0f (%.0f / %.0f) | %.0f |\n",
                f == &fp32 ? "fp32" : "sq8", f->batch1_ms, f->batch1_from_memory_ms, f->batch16_ms,
                f->load_rss, f->load_anon, f->load_file, f->search_rss);
  }
  std::printf(
      "speed-up sq8 vs fp32: batch 1 %.2fx, batch 16 %.2fx; results differing from "
      "exact: %lld of %lld (rows or scores)\n",
      fp32.batch1_ms / sq8.batch1_ms, fp32.batch16_ms / sq8.batch16_ms,
      static_cast<long long>(differ), static_cast<long long>(fp32.rows.size()));
  if (const std::string json = absl::GetFlag(FLAGS_json_out); !json.empty()) {
    const absl::Status written = WriteFileAtomically(
        json, absl::StrFormat(
                  "{\"rows\": %d, \"dim\": %d, \"k\": %d, \"fp32\": {\"batch1_ms\": %.4f, "
                  "\"batch1_from_memory_ms\": %.4f, \"batch16_ms_per_query\": %.4f}, \"sq8\": "
                  "{\"batch1_ms\": %.4f, \"batch1_from_memory_ms\": %.4f, "
                  "\"batch16_ms_per_query\": %.4f}}\n",
                  n, d, k, fp32.batch1_ms, fp32.batch1_from_memory_ms, fp32.batch16_ms,
                  sq8.batch1_ms, sq8.batch1_from_memory_ms, sq8.batch16_ms));
    if (!written.ok()) {
      std::fprintf(stderr, "%s\n", written.ToString().c_str());
      return 1;
    }
  }
  std::printf(
      "| short-list factor | proven by the short list | re-ranked rows per query | MB "
      "read per query, batch 1 / 16 (fp32: %.1f / %.1f) |\n| --- | --- | --- | --- |\n",
      n * d * 4 / 1e6, n * d * 4 / 1e6 / 16);
  for (const std::string& text : absl::GetFlag(FLAGS_factors)) {
    double factor = 0;
    if (!absl::SimpleAtod(text, &factor)) continue;
    Sq8SearchOptions options;
    options.shortlist.factor = factor;
    absl::StatusOr<std::unique_ptr<Sq8FlatIndex>> index =
        Sq8FlatIndex::Open(flat_file, sq8_file, d, n, faiss::METRIC_INNER_PRODUCT, options);
    if (!index.ok()) {
      std::fprintf(stderr, "%s\n", index.status().ToString().c_str());
      return 1;
    }
    std::vector<float> ds(16 * k);
    std::vector<faiss::Index::idx_t> ls(16 * k);
    for (int64_t q0 = 0; q0 + 16 <= nq; q0 += 16) {
      (*index)->search(16, q.data() + q0 * d, k, ds.data(), ls.data());
    }
    const Sq8SearchStats st = (*index)->stats();
    const double reranked = static_cast<double>(st.rows_reranked) / st.queries;
    const double fallback = static_cast<double>(st.fallbacks) / st.queries;
    // A fallback scans the codes a second time.
    const double codes_mb = n * d / 1e6;
    std::printf("| %s%s | %.3f | %.0f | %.1f / %.1f |\n", text.c_str(),
                factor == Sq8Shortlist{}.factor ? " (default)" : "", 1 - fallback, reranked,
                codes_mb * (1 + fallback) + reranked * d * 4 / 1e6,
                codes_mb * (1 + fallback) / 16 + reranked * d * 4 / 1e6);
    if (text == absl::GetFlag(FLAGS_factors).front()) ScoreError(x, n, d, q, nq, (*index)->store());
  }
  return differ == 0 ? 0 : 1;
}

}  // namespace
}  // namespace geoloc::index

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return geoloc::index::Main();
}
