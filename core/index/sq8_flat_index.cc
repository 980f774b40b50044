#include "core/index/sq8_flat_index.h"

#include <fcntl.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"
#include "core/index/flat_kernel_topk.h"
#include "core/index/mapped_file.h"
#include "core/index/row_set_selector.h"
#include "faiss/impl/FaissAssert.h"

namespace geoloc::index {
namespace {

using internal::Better;
using internal::Candidate;
using internal::TopK;

// Codes per scoring block (stays in L2 while a query chunk passes over it).
constexpr int64_t kBlockBytes = 256 * 1024;
// Queries per pass: bounds the per-thread heaps and score buffers.
constexpr int64_t kQueryChunk = 64;
// Below this many rows per thread, extra threads cost more than they save (the codes are a
// quarter of the float kernel's bytes, so twice its threshold).
constexpr int64_t kMinRowsPerThread = 16384;

// What one query needs to turn a code inner product into an approximate key, and its error bound.
struct QueryTerms {
  double offset = 0;  // sum_j q_j min_j
  double norm2 = 0;   // |q|^2 (squared L2 only)
  float margin = 0;   // |approximate key - exact key| <= margin, rounding included
};

// The rows to scan: every row (subset == null) or the ascending rows of `subset`.
struct RowSeq {
  const int64_t* subset;
  int64_t size;
  int64_t row(int64_t i) const { return subset != nullptr ? subset[i] : i; }
};

// One search call's state (not shared between calls).
class Searcher {
 public:
  using RowReader = std::function<void(int64_t row, float* out)>;
  Searcher(const Sq8Store& store, RowReader read_row, bool l2, const Sq8SearchOptions& options)
      : store_(store), read_row_(std::move(read_row)), d_(store.d()), l2_(l2), options_(options) {
    block_rows_ = std::max<int64_t>(16, kBlockBytes / d_);
  }

  // One chunk of nq <= kQueryChunk queries over `seq`; writes k results per query.
  void Run(const float* queries, int nq, int k, const RowSeq& seq, float* out_scores,
           int64_t* out_rows, int64_t* fallbacks, int64_t* reranked) {
    Prepare(queries, nq);
    const int64_t shortlist = std::min<int64_t>(
        seq.size, std::max({static_cast<int64_t>(std::ceil(k * options_.shortlist.factor)),
                            int64_t{k} + options_.shortlist.extra, int64_t{k}}));
    // Step 1: the shortlist best approximate keys per query.
    std::vector<TopK> lists(nq);
    for (TopK& t : lists) t.Reset(static_cast<int>(shortlist));
    {
      std::vector<std::vector<TopK>> per_thread;
      ScanParallel(
          seq, nq,
          [&](int threads) {
            per_thread.assign(threads, std::vector<TopK>(nq));
            for (auto& tops : per_thread) {
              for (TopK& t : tops) t.Reset(static_cast<int>(shortlist));
            }
          },
          [&](int t, int q, const float* keys, int64_t count, int64_t first) {
            TopK& top = per_thread[t][q];
            int64_t i = 0;
            for (; i < count && !top.Full(); ++i) top.Push({keys[i], seq.row(first + i)});
            if (i == count) return;
            // Rows arrive ascending within a thread: an equal key never displaces an earlier row.
            float worst = top.WorstKey();
            for (; i < count; ++i) {
              if (keys[i] > worst) {
                top.Push({keys[i], seq.row(first + i)});
                worst = top.WorstKey();
              }
            }
          });
      for (auto& tops : per_thread) {
        for (int q = 0; q < nq; ++q) {
          for (const Candidate& c : tops[q].items()) lists[q].Push(c);
        }
      }
    }
    // Steps 2 and 3: exact scores of the list; which queries are proven.
    std::vector<std::vector<Candidate>> exact(nq);
    std::vector<int> pending;
    std::vector<float> thresholds(nq);
    ParallelOverQueries(nq, [&](int q) {
      exact[q] = Rerank(queries + static_cast<int64_t>(q) * d_, lists[q].items());
    });
    for (int q = 0; q < nq; ++q) {
      *reranked += static_cast<int64_t>(lists[q].items().size());
      const bool complete = shortlist >= seq.size;
      if (complete) continue;
      const float tk = exact[q][k - 1].key;
      if (lists[q].WorstKey() + terms_[q].margin < tk) continue;
      thresholds[q] = tk - terms_[q].margin;
      pending.push_back(q);
    }
    // Step 4: every row that may reach t_k, for the queries step 3 could not prove.
    if (!pending.empty()) {
      *fallbacks += static_cast<int64_t>(pending.size());
      std::vector<float> sub(pending.size() * static_cast<size_t>(d_));
      for (size_t i = 0; i < pending.size(); ++i) {
        std::copy_n(queries + static_cast<int64_t>(pending[i]) * d_, d_,
                    sub.data() + i * static_cast<size_t>(d_));
      }
      std::vector<QueryTerms> all_terms = std::move(terms_);
      Prepare(sub.data(), static_cast<int>(pending.size()));
      std::vector<std::vector<std::vector<Candidate>>> per_thread;
      ScanParallel(
          seq, static_cast<int>(pending.size()),
          [&](int threads) {
            per_thread.assign(threads, std::vector<std::vector<Candidate>>(pending.size()));
          },
          [&](int t, int i, const float* keys, int64_t count, int64_t first) {
            const float threshold = thresholds[pending[i]];
            for (int64_t r = 0; r < count; ++r) {
              if (keys[r] >= threshold) per_thread[t][i].push_back({keys[r], seq.row(first + r)});
            }
          });
      ParallelOverQueries(static_cast<int>(pending.size()), [&](int i) {
        std::vector<Candidate> band;
        for (auto& lists_of_thread : per_thread) {
          band.insert(band.end(), lists_of_thread[i].begin(), lists_of_thread[i].end());
        }
        exact[pending[i]] = Rerank(queries + static_cast<int64_t>(pending[i]) * d_, band);
      });
      for (auto& lists_of_thread : per_thread) {
        for (const auto& band : lists_of_thread) *reranked += static_cast<int64_t>(band.size());
      }
      terms_ = std::move(all_terms);
    }
    for (int q = 0; q < nq; ++q) {
      for (int i = 0; i < k; ++i) {
        float* s = out_scores + static_cast<int64_t>(q) * k + i;
        int64_t* r = out_rows + static_cast<int64_t>(q) * k + i;
        if (i < static_cast<int>(exact[q].size())) {
          *s = l2_ ? -exact[q][i].key : exact[q][i].key;
          *r = exact[q][i].row;
        } else {
          *s = l2_ ? std::numeric_limits<float>::infinity()
                   : -std::numeric_limits<float>::infinity();
          *r = -1;
        }
      }
    }
  }

 private:
  // Scaled queries (q_j scale_j) and each query's terms.
  void Prepare(const float* queries, int nq) {
    scaled_.resize(static_cast<size_t>(nq) * d_);
    terms_.assign(nq, QueryTerms{});
    // Rounding: each of the approximate and the exact score is a sum of d + a few products,
    // wrong by at most gamma = (d + 8) eps times the sum of the products' magnitudes.
    const double gamma = (d_ + 8) * static_cast<double>(FLT_EPSILON);
    for (int q = 0; q < nq; ++q) {
      const float* x = queries + static_cast<int64_t>(q) * d_;
      double offset = 0, norm2 = 0, err_sum = 0, magnitude = 0;
      for (int j = 0; j < d_; ++j) {
        scaled_[static_cast<size_t>(q) * d_ + j] = x[j] * store_.scale()[j];
        offset += static_cast<double>(x[j]) * store_.min()[j];
        norm2 += static_cast<double>(x[j]) * x[j];
        err_sum += std::fabs(x[j]) * static_cast<double>(store_.err()[j]);
        const double top = std::fabs(store_.min()[j]) + 255.0 * store_.scale()[j];
        magnitude += std::fabs(x[j]) * top;
      }
      double bound = std::min(err_sum, std::sqrt(norm2) * store_.max_resid());
      double slack = 4 * gamma * magnitude;
      if (l2_) {
        bound *= 2;
        slack = 8 * gamma * (magnitude + norm2 + store_.max_norm2());
      }
      terms_[q].offset = offset;
      terms_[q].norm2 = norm2;
      // Rounded up, and a last float step for the conversion of the keys themselves.
      const double m = (bound + slack) * (1 + 4 * static_cast<double>(FLT_EPSILON)) + 1e-30;
      terms_[q].margin =
          std::nextafter(static_cast<float>(m), std::numeric_limits<float>::infinity());
    }
  }

  // Scans `seq` with the prepared queries on up to options.exact.threads threads. `init(threads)`
  // runs once before the scan; `sink(thread, query, keys, count, first)` gets each block's
  // approximate keys of positions [first, first + count) of `seq`, ascending within a thread.
  template <typename Init, typename Sink>
  void ScanParallel(const RowSeq& seq, int nq, Init init, Sink sink) const {
    const int max_threads =
        options_.exact.threads > 0 ? options_.exact.threads : omp_get_max_threads();
    const int threads = static_cast<int>(
        std::max<int64_t>(1, std::min<int64_t>(max_threads, seq.size / kMinRowsPerThread)));
    init(threads);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      const int t = omp_get_thread_num();
      const int nt = omp_get_num_threads();
      std::vector<float> scores(static_cast<size_t>(nq) * block_rows_);
      std::vector<uint8_t> gathered;
      const int64_t begin = seq.size * t / nt;
      const int64_t end = seq.size * (t + 1) / nt;
      for (int64_t b0 = begin; b0 < end; b0 += block_rows_) {
        const int64_t rows = std::min(block_rows_, end - b0);
        const uint8_t* block = store_.codes() + b0 * d_;
        if (seq.subset != nullptr) {
          gathered.resize(static_cast<size_t>(block_rows_) * d_);
          for (int64_t r = 0; r < rows; ++r) {
            std::memcpy(gathered.data() + r * d_, store_.codes() + seq.subset[b0 + r] * d_, d_);
          }
          block = gathered.data();
        }
        ScoreCodes(block, rows, d_, scaled_.data(), nq, scores.data(), block_rows_,
                   options_.exact.isa);
        // Approximate keys in place, in float (the few roundings this adds are within the
        // margin's allowance of d + 8 per sum).
        for (int q = 0; q < nq; ++q) {
          float* keys = scores.data() + static_cast<size_t>(q) * block_rows_;
          const float offset = static_cast<float>(terms_[q].offset);
          if (!l2_) {
            for (int64_t r = 0; r < rows; ++r) keys[r] += offset;
          } else {
            const float qn2 = static_cast<float>(terms_[q].norm2);
            const float* norm2 = store_.norm2();
            for (int64_t r = 0; r < rows; ++r) {
              keys[r] = 2 * (keys[r] + offset) - qn2 - norm2[seq.row(b0 + r)];
            }
          }
          sink(t, q, keys, rows, b0);
        }
      }
    }
  }

  // fn(0 .. n-1) on up to options.exact.threads threads: the re-ranking of a batch's queries
  // (each reads its rows from the file, so they overlap well).
  template <typename Fn>
  void ParallelOverQueries(int n, Fn fn) const {
    const int max_threads =
        options_.exact.threads > 0 ? options_.exact.threads : omp_get_max_threads();
    const int threads = std::max(1, std::min(max_threads, n));
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
    for (int i = 0; i < n; ++i) fn(i);
  }

  // Exact keys of `candidates`' rows (the float kernel's own instructions), best first.
  std::vector<Candidate> Rerank(const float* query,
                                const std::vector<Candidate>& candidates) const {
    const int64_t m = static_cast<int64_t>(candidates.size());
    std::vector<float> rows(static_cast<size_t>(m) * d_);
    for (int64_t i = 0; i < m; ++i) {
      read_row_(candidates[i].row, rows.data() + i * d_);
    }
    std::vector<float> scores(std::max<int64_t>(m, 1));
    if (m > 0) {
      ComputeScores(rows.data(), m, d_, l2_ ? model::Metric::kL2 : model::Metric::kInnerProduct,
                    query, 1, scores.data(), m, options_.exact.isa);
    }
    std::vector<Candidate> out(m);
    for (int64_t i = 0; i < m; ++i) out[i] = {l2_ ? -scores[i] : scores[i], candidates[i].row};
    std::sort(out.begin(), out.end(), Better);
    return out;
  }

  const Sq8Store& store_;
  RowReader read_row_;
  int d_;
  bool l2_;
  const Sq8SearchOptions& options_;
  int64_t block_rows_;
  std::vector<float> scaled_;  // the prepared queries, nq x d
  std::vector<QueryTerms> terms_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sq8FlatIndex>> Sq8FlatIndex::Open(const std::string& flat_path,
                                                                 const std::string& sq8_path, int d,
                                                                 int64_t n,
                                                                 faiss::MetricType metric,
                                                                 Sq8SearchOptions options) {
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("flat shard ", flat_path, ": ", what));
  };
  if (metric != faiss::METRIC_INNER_PRODUCT && metric != faiss::METRIC_L2) {
    return absl::InvalidArgumentError("sq8 flat store: metric must be inner product or L2");
  }
  GEOLOC_ASSIGN_OR_RETURN(MappedFile flat, MappedFile::Open(flat_path));
  // faiss::write_index of an IndexFlat: fourcc, header (int d, int64 ntotal, ...), then the
  // vectors as a size_t count of floats followed by the floats, which end the file.
  const int64_t vector_bytes = n * d * int64_t{sizeof(float)};
  const int64_t size = static_cast<int64_t>(flat.size());
  if (size < 16 + 8 + vector_bytes) return bad("too small for its vectors (truncated?)");
  const char* want_fourcc = metric == faiss::METRIC_L2 ? "IxF2" : "IxFI";
  if (std::memcmp(flat.data(), want_fourcc, 4) != 0) {
    return bad(
        absl::StrCat("not a flat index with the manifest's metric (", want_fourcc, " expected)"));
  }
  int32_t fd;
  int64_t fn;
  uint64_t floats;
  std::memcpy(&fd, flat.data() + 4, 4);
  std::memcpy(&fn, flat.data() + 8, 8);
  std::memcpy(&floats, flat.data() + size - vector_bytes - 8, 8);
  if (fd != d || fn != n || floats != static_cast<uint64_t>(n) * static_cast<uint64_t>(d)) {
    return bad(absl::StrCat("holds ", fn, " x ", fd, " vectors, the manifest says ", n, " x ", d));
  }
  GEOLOC_ASSIGN_OR_RETURN(Sq8Store store, Sq8Store::Open(sq8_path, n, d));
  store.Prefault();
  std::unique_ptr<Sq8FlatIndex> index(new Sq8FlatIndex(d, metric));
  index->ntotal = n;
  index->is_trained = true;
  index->flat_path_ = flat_path;
  index->vectors_offset_ = size - vector_bytes;
  index->flat_fd_ = ::open(flat_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (index->flat_fd_ < 0) {
    return absl::InternalError(absl::StrCat("cannot open ", flat_path, ": ", std::strerror(errno)));
  }
  index->store_ = std::move(store);
  index->options_ = options;
  return index;
}

void Sq8FlatIndex::search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
                          const faiss::SearchParameters* params) const {
  FAISS_THROW_IF_NOT(k > 0);
  static_assert(sizeof(idx_t) == sizeof(int64_t), "Faiss labels are 64-bit");
  std::vector<int64_t> selected;
  RowSeq seq{nullptr, ntotal};
  if (params != nullptr && params->sel != nullptr) {
    selected = SelectedLabels(*params->sel, ntotal);
    seq = {selected.data(), static_cast<int64_t>(selected.size())};
  }
  const bool l2 = metric_type == faiss::METRIC_L2;
  Searcher searcher(
      store_, [this](int64_t row, float* out) { ReadRow(row, out); }, l2, options_);
  int64_t fallbacks = 0;
  int64_t reranked = 0;
  for (idx_t q0 = 0; q0 < n; q0 += kQueryChunk) {
    const int chunk = static_cast<int>(std::min<idx_t>(kQueryChunk, n - q0));
    searcher.Run(x + q0 * d, chunk, static_cast<int>(k), seq, distances + q0 * k,
                 reinterpret_cast<int64_t*>(labels) + q0 * k, &fallbacks, &reranked);
  }
  queries_.fetch_add(n, std::memory_order_relaxed);
  fallbacks_.fetch_add(fallbacks, std::memory_order_relaxed);
  rows_reranked_.fetch_add(reranked, std::memory_order_relaxed);
}

void Sq8FlatIndex::reconstruct(idx_t key, float* recons) const {
  FAISS_THROW_IF_NOT_MSG(key >= 0 && key < ntotal, "reconstruct: row out of range");
  ReadRow(key, recons);
}

void Sq8FlatIndex::ReadRow(int64_t row, float* out) const {
  const size_t bytes = static_cast<size_t>(d) * sizeof(float);
  const off_t offset = static_cast<off_t>(vectors_offset_ + row * static_cast<int64_t>(bytes));
  size_t done = 0;
  while (done < bytes) {
    const ssize_t got =
        ::pread(flat_fd_, reinterpret_cast<char*>(out) + done, bytes - done, offset + done);
    if (got < 0 && errno == EINTR) continue;
    FAISS_THROW_IF_NOT_FMT(got > 0, "cannot read row %lld of %s: %s", static_cast<long long>(row),
                           flat_path_.c_str(), got < 0 ? std::strerror(errno) : "end of file");
    done += static_cast<size_t>(got);
  }
}

Sq8FlatIndex::~Sq8FlatIndex() {
  if (flat_fd_ >= 0) ::close(flat_fd_);
}

void Sq8FlatIndex::add(idx_t, const float*) {
  FAISS_THROW_MSG("Sq8FlatIndex is read-only (a loaded bundle's shard)");
}

void Sq8FlatIndex::reset() {
  FAISS_THROW_MSG("Sq8FlatIndex is read-only (a loaded bundle's shard)");
}

Sq8SearchStats Sq8FlatIndex::stats() const {
  Sq8SearchStats s;
  s.queries = queries_.load(std::memory_order_relaxed);
  s.fallbacks = fallbacks_.load(std::memory_order_relaxed);
  s.rows_reranked = rows_reranked_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace geoloc::index
