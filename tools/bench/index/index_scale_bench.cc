// Large-bundle benchmark: per-query latency and recall@10 (against exact search) of flat, IVF-PQ
// and HNSW bundles of --rows x --dim clustered descriptors, over a sweep of nprobe / efSearch;
// plus each bundle's load time and resident memory, measured in a fresh child process.
//
//   build/tools/bench/index/index_scale_bench --work_dir=/tmp/geoloc-scale      # 1M x 512
//   build/tools/bench/index/index_scale_bench --rows=100000 --types=flat,hnsw
//   build/tools/bench/index/index_scale_bench --stream --rows=10000000 --types=ivf_pq_sq8
//   --nlist=4096
//
// Data (core/index/synthetic_vectors.h): --clusters clusters, each a random centre plus an
// 8-dimensional random patch (spread 0.5) and isotropic noise (0.1), L2-normalised; queries are
// fresh points from the same distribution. The database (as .npy), the exact ground truth and
// every bundle are cached in --work_dir, so a rerun only measures; delete the directory after a
// change to the builder. --stream never holds the database: the bundle is built from vectors
// regenerated from the seed chunk by chunk (WriteBundle's DescriptorReader), and the exact ground
// truth is computed the same way (ChunkedExactSearch) and cached, so memory holds the bundle's
// shards and one chunk (10M x 512 fp32 would be 20 GB). Latency: batch 1 (median over
// --latency_queries single searches) and batch 16 (wall time / queries over all queries).
// Everything runs with the process's default threads (OpenMP's: all cores).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/common/file_util.h"
#include "core/common/logging.h"
#include "core/common/progress.h"
#include "core/index/bundle.h"
#include "core/index/bundle_writer.h"
#include "core/index/chunked_exact_search.h"
#include "core/index/flat_kernel.h"
#include "core/index/npy.h"
#include "core/index/synthetic_vectors.h"
#include "tools/bench/index/bench_util.h"

ABSL_FLAG(std::string, work_dir, "/tmp/geoloc-index-scale", "cache for data and bundles");
ABSL_FLAG(int64_t, rows, 1'000'000, "database vectors");
ABSL_FLAG(int, dim, 512, "descriptor dimension");
ABSL_FLAG(int, clusters, 1000, "clusters in the synthetic data");
ABSL_FLAG(int64_t, queries, 1000, "queries (recall and batch-16 latency)");
ABSL_FLAG(int, latency_queries, 200, "single-query searches timed for the batch-1 median");
ABSL_FLAG(std::vector<std::string>, types,
          std::vector<std::string>({"flat", "ivf_pq", "ivf_pq_refine", "hnsw"}),
          "bundles to build and measure: flat, ivf_flat, ivf_pq, ivf_pq_refine (flat re-ranking "
          "store), ivf_pq_sq8 (8-bit re-ranking store), hnsw");
ABSL_FLAG(bool, stream, false,
          "never materialise the database: build and compute the ground truth from vectors "
          "regenerated chunk by chunk");
ABSL_FLAG(int, nlist, 0, "IVF lists (0: the bundle writer's default)");
ABSL_FLAG(int, pq_m, 0, "PQ sub-quantizers (0: the bundle writer's default)");
ABSL_FLAG(int, refine_k_factor, 0,
          "IVF-PQ re-ranking candidates per result (0: the bundle writer's default)");
ABSL_FLAG(int, max_nprobe, 256, "largest nprobe of the IVF sweep");
ABSL_FLAG(int, shards, 1, "shards per bundle");
ABSL_FLAG(std::string, load_child, "", "internal: load this bundle, print timings, exit");
ABSL_FLAG(bool, child_verify, true, "internal: checksum verification in the load child");

namespace geoloc::index {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kK = 10;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

int LoadChild(const std::string& path) {
  const ProcessRss before = ReadProcessRss();
  const auto start = Clock::now();
  BundleLoadOptions options;
  options.verify_checksums = absl::GetFlag(FLAGS_child_verify);
  absl::StatusOr<std::shared_ptr<const Bundle>> bundle = Bundle::Load(path, options);
  if (!bundle.ok()) {
    std::fprintf(stderr, "%s\n", bundle.status().ToString().c_str());
    return 1;
  }
  const double load_s = Seconds(start);
  std::vector<float> query((*bundle)->dim(), 0.0f);
  query[0] = 1.0f;
  const auto first = Clock::now();
  (void)(*bundle)->Search(query, {kK, 0, 0});
  const double first_s = Seconds(first);
  const ProcessRss after = ReadProcessRss();
  std::printf("%.2f %.3f %.0f %.0f %.0f\n", load_s, first_s, after.total - before.total,
              after.anon - before.anon, after.file - before.file);
  return 0;
}

struct LoadFigures {
  std::string line;  // "load_s first_query_s rss_mib anon_mib file_mib"
};

LoadFigures MeasureLoad(const char* self, const std::string& bundle, bool verify) {
  const std::string command =
      absl::StrCat(self, " --load_child=", bundle, " --child_verify=", verify ? "true" : "false",
                   " 2>/dev/null");
  FILE* pipe = ::popen(command.c_str(), "r");
  LoadFigures out;
  if (pipe == nullptr) return out;
  char buf[256];
  while (std::fgets(buf, sizeof(buf), pipe) != nullptr) out.line += buf;
  ::pclose(pipe);
  if (!out.line.empty() && out.line.back() == '\n') out.line.pop_back();
  return out;
}

std::vector<MetadataRow> SyntheticRows(int64_t n) {
  std::vector<MetadataRow> rows(n);
  for (int64_t i = 0; i < n; ++i) {
    rows[i].id = i;
    rows[i].lat = -60.0 + 120.0 * static_cast<double>((i * 7919) % 100'003) / 100'003.0;
    rows[i].lon = -180.0 + 360.0 * static_cast<double>((i * 104'729) % 100'019) / 100'019.0;
    rows[i].source = absl::StrCat("synthetic/", i, ".jpg");
  }
  return rows;
}

model::ModelInfo BenchModel(int dim) {
  model::ModelInfo info;
  info.name = "synthetic";
  info.dim = dim;
  info.metric = model::Metric::kInnerProduct;
  info.fingerprint = "synthetic-descriptors";
  return info;
}

// Total size of the files under `dir`, in bytes.
int64_t DirectoryBytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) total += static_cast<int64_t>(it->file_size(ec));
  }
  return total;
}

constexpr int64_t kStreamChunk = 65536;

// The exact k best of `queries` over database rows [0, n) regenerated chunk by chunk, cached in
// `path` (nq x k int64, native byte order).
absl::StatusOr<std::vector<int64_t>> StreamedTruth(const SyntheticVectors& gen, int64_t n,
                                                   const std::vector<float>& queries, int64_t nq,
                                                   const std::string& path) {
  const int d = gen.options().dim;
  std::vector<int64_t> truth(static_cast<size_t>(nq) * kK);
  const size_t bytes = truth.size() * sizeof(int64_t);
  if (fs::exists(path)) {
    absl::StatusOr<std::string> cached = ReadFileToString(path);
    if (!cached.ok()) return cached.status();
    if (cached->size() != bytes) return absl::DataLossError(absl::StrCat(path, ": wrong size"));
    std::memcpy(truth.data(), cached->data(), bytes);
    return truth;
  }
  ChunkedExactSearch exact(queries.data(), nq, d, model::Metric::kInnerProduct, kK);
  ProgressReporter progress("ground truth", n, "vec");
  for (int64_t first = 0; first < n; first += kStreamChunk) {
    const int64_t m = std::min(kStreamChunk, n - first);
    const std::vector<float> chunk = gen.Database(m, first);
    exact.Add(chunk.data(), first, m);
    progress.Add(m);
  }
  progress.Finish();
  truth = exact.rows();
  const absl::Status st =
      WriteFileAtomically(path, std::string(reinterpret_cast<const char*>(truth.data()), bytes));
  if (!st.ok()) return st;
  return truth;
}

struct Sweep {
  std::string label;
  std::vector<SearchParams> params;
};

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_load_child).empty()) return LoadChild(absl::GetFlag(FLAGS_load_child));
  const bool stream = absl::GetFlag(FLAGS_stream);
  // A streamed build runs for up to hours: show the writer's stages and progress (rate, ETA).
  SetMinLogLevel(stream ? LogLevel::kInfo : LogLevel::kWarning);
  const std::string work = absl::GetFlag(FLAGS_work_dir);
  const int64_t n = absl::GetFlag(FLAGS_rows);
  const int d = absl::GetFlag(FLAGS_dim);
  const int64_t nq = absl::GetFlag(FLAGS_queries);
  fs::create_directories(work);
  const std::string tag = absl::StrCat(n, "x", d, "c", absl::GetFlag(FLAGS_clusters));

  SyntheticVectorsOptions so;
  so.dim = d;
  so.clusters = absl::GetFlag(FLAGS_clusters);
  SyntheticVectors gen(so);
  std::optional<NpyMatrix> db;  // the whole database; absent with --stream
  if (!stream) {
    const std::string db_path = absl::StrCat(work, "/db-", tag, ".npy");
    if (!fs::exists(db_path)) {
      const auto start = Clock::now();
      std::vector<float> all = gen.Database(n);
      if (!WriteFileAtomically(db_path, EncodeNpyFloat32(all.data(), n, d)).ok()) return 1;
      std::printf("generated %s in %.1f s\n", db_path.c_str(), Seconds(start));
    }
    absl::StatusOr<NpyMatrix> opened = NpyMatrix::Open(db_path);
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
      return 1;
    }
    db.emplace(std::move(*opened));
  }
  const std::vector<float> queries = gen.Queries(nq);
  std::vector<int64_t> truth(nq * kK);
  {
    const auto start = Clock::now();
    if (stream) {
      absl::StatusOr<std::vector<int64_t>> streamed =
          StreamedTruth(gen, n, queries, nq, absl::StrCat(work, "/truth-", tag, "-q", nq, ".bin"));
      if (!streamed.ok()) {
        std::fprintf(stderr, "%s\n", streamed.status().ToString().c_str());
        return 1;
      }
      truth = std::move(*streamed);
    } else {
      std::vector<float> scores(nq * kK);
      ExactSearch(db->data(), n, d, model::Metric::kInnerProduct, queries.data(), nq, kK,
                  scores.data(), truth.data());
    }
    std::printf("ground truth: %lld queries in %.1f s\n", static_cast<long long>(nq),
                Seconds(start));
  }
  const DescriptorReader regenerate = [&gen, d](int64_t first, int64_t count, float* out) {
    const std::vector<float> rows = gen.Database(count, first);
    std::copy_n(rows.data(), static_cast<size_t>(count) * d, out);
    return absl::OkStatus();
  };

  std::printf("\n| index | setting | recall@10 | ms/query batch 1 | ms/query batch 16 |\n");
  std::printf("| --- | --- | --- | --- | --- |\n");
  std::vector<std::string> load_lines;
  for (const std::string& type : absl::GetFlag(FLAGS_types)) {
    std::string spec_tag;
    if (absl::GetFlag(FLAGS_nlist) > 0)
      absl::StrAppend(&spec_tag, "-nl", absl::GetFlag(FLAGS_nlist));
    if (absl::GetFlag(FLAGS_pq_m) > 0) absl::StrAppend(&spec_tag, "-pq", absl::GetFlag(FLAGS_pq_m));
    if (absl::GetFlag(FLAGS_refine_k_factor) > 0) {
      absl::StrAppend(&spec_tag, "-kf", absl::GetFlag(FLAGS_refine_k_factor));
    }
    const std::string dir =
        absl::StrCat(work, "/", type, "-", tag, spec_tag, "-s", absl::GetFlag(FLAGS_shards));
    BundleWriteOptions options;
    options.output = dir;
    options.name = type;
    options.shards = absl::GetFlag(FLAGS_shards);
    options.show_progress = stream;  // a streamed build is long: rate and ETA
    if (type == "ivf_pq_refine" || type == "ivf_pq_sq8") {
      options.index.type = IndexType::kIvfPq;
      options.index.refine = type == "ivf_pq_sq8" ? RefineType::kSq8 : RefineType::kFlat;
    } else {
      absl::StatusOr<IndexType> t = ParseIndexType(type);
      if (!t.ok()) {
        std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
        return 1;
      }
      options.index.type = *t;
    }
    if (IsIvf(options.index.type)) options.index.nlist = absl::GetFlag(FLAGS_nlist);
    if (options.index.type == IndexType::kIvfPq) options.index.pq_m = absl::GetFlag(FLAGS_pq_m);
    if (options.index.refine != RefineType::kNone) {
      options.index.refine_k_factor = absl::GetFlag(FLAGS_refine_k_factor);
    }
    if (!fs::exists(dir)) {
      const auto start = Clock::now();
      const std::vector<MetadataRow> rows = SyntheticRows(n);
      absl::StatusOr<BundleManifest> m =
          stream ? WriteBundle(regenerate, n, BenchModel(d), rows, options)
                 : WriteBundle(db->data(), n, BenchModel(d), rows, options);
      if (!m.ok()) {
        std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
        return 1;
      }
      std::fprintf(stderr, "built %s in %.0f s\n", dir.c_str(), Seconds(start));
    }
    std::printf("%s: %.2f GiB on disk\n", dir.c_str(),
                static_cast<double>(DirectoryBytes(dir)) / (1024.0 * 1024.0 * 1024.0));
    const LoadFigures verified = MeasureLoad(argv[0], dir, true);
    const LoadFigures unverified = MeasureLoad(argv[0], dir, false);
    load_lines.push_back(
        absl::StrCat("| ", type, " | ", verified.line, " | ", unverified.line, " |"));

    BundleLoadOptions load;
    load.verify_checksums = false;
    absl::StatusOr<std::shared_ptr<const Bundle>> bundle = Bundle::Load(dir, load);
    if (!bundle.ok()) {
      std::fprintf(stderr, "%s\n", bundle.status().ToString().c_str());
      return 1;
    }
    const BundleManifest& m = (*bundle)->manifest();
    Sweep sweep;
    if (options.index.type == IndexType::kFlat) {
      sweep.label = "exact";
      sweep.params = {{kK, 0, 0}};
    } else if (IsIvf(options.index.type)) {
      sweep.label = "nprobe";
      for (int p = 1; p <= std::min(absl::GetFlag(FLAGS_max_nprobe), m.index().nlist()); p *= 2)
        sweep.params.push_back({kK, p, 0});
    } else {
      sweep.label = "efSearch";
      for (int ef = 16; ef <= 512; ef *= 2) sweep.params.push_back({kK, 0, ef});
    }
    for (const SearchParams& p : sweep.params) {
      std::vector<float> scores(nq * kK);
      std::vector<int64_t> found(nq * kK);
      const int batch = 16;
      const auto start = Clock::now();
      for (int64_t q0 = 0; q0 < nq; q0 += batch) {
        const int64_t b = std::min<int64_t>(batch, nq - q0);
        (void)(*bundle)->SearchRows(absl::MakeConstSpan(queries.data() + q0 * d, b * d), p,
                                    absl::MakeSpan(scores.data() + q0 * kK, b * kK),
                                    absl::MakeSpan(found.data() + q0 * kK, b * kK));
      }
      const double batch16_ms = Seconds(start) * 1e3 / static_cast<double>(nq);
      std::vector<double> single;
      const int64_t lq = std::min<int64_t>(absl::GetFlag(FLAGS_latency_queries), nq);
      std::vector<float> s1(kK);
      std::vector<int64_t> r1(kK);
      for (int64_t q = 0; q < lq; ++q) {
        const auto t = Clock::now();
        (void)(*bundle)->SearchRows(absl::MakeConstSpan(queries.data() + q * d, d), p,
                                    absl::MakeSpan(s1), absl::MakeSpan(r1));
        single.push_back(Seconds(t) * 1e3);
      }
      std::nth_element(single.begin(), single.begin() + single.size() / 2, single.end());
      int64_t hits = 0;
      for (int64_t q = 0; q < nq; ++q) {
        for (int i = 0; i < kK; ++i) {
          const int64_t* f = found.data() + q * kK;
          if (std::find(f, f + kK, truth[q * kK + i]) != f + kK) ++hits;
        }
      }
      const double recall = static_cast<double>(hits) / static_cast<double>(nq * kK);
      const std::string setting =
          sweep.label == "exact"
              ? "exact"
              : absl::StrCat(sweep.label, " ", sweep.label == "nprobe" ? p.nprobe : p.ef_search);
      std::printf("| %s | %s | %.3f | %.3f | %.3f |\n", type.c_str(), setting.c_str(), recall,
                  single[single.size() / 2], batch16_ms);
      std::fflush(stdout);
    }
  }
  std::printf(
      "\nLoad (fresh process; load s, first query s, RSS growth MiB, of which anonymous, "
      "file-backed):\n\n| index | verified: load first rss anon file | unverified: load "
      "first rss anon file |\n| --- | --- | --- |\n");
  for (const std::string& line : load_lines) std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace
}  // namespace geoloc::index

int main(int argc, char** argv) { return geoloc::index::Main(argc, argv); }
