// Streamed builds: ChunkedExactSearch against one ExactSearch over the whole database, and
// WriteBundle from a DescriptorReader against WriteBundle from memory.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/index/bundle.h"
#include "core/index/bundle_writer.h"
#include "core/index/chunked_exact_search.h"
#include "core/index/flat_kernel.h"
#include "core/index/synthetic_vectors.h"
#include "gtest/gtest.h"
#include "tests/index/test_util.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::index {
namespace {

namespace fs = std::filesystem;
using testing::IntegerVectors;
using ::geoloc::testing::ScratchDir;
using testing::TestModel;
using testing::TestRows;

// Integer data has many exact ties: the chunked merge must break them by lower row, as
// ExactSearch does over the whole database, whatever the chunk sizes (some smaller than k).
TEST(ChunkedExactSearch, EqualsExactSearchOverTheWholeDatabase) {
  const int d = 7, k = 20;
  const int64_t n = 5003, nq = 11;
  const auto x = IntegerVectors(n, d, 5);
  const auto q = IntegerVectors(nq, d, 6);
  for (model::Metric metric : {model::Metric::kInnerProduct, model::Metric::kL2}) {
    std::vector<float> scores(nq * k);
    std::vector<int64_t> rows(nq * k);
    ExactSearch(x.data(), n, d, metric, q.data(), nq, k, scores.data(), rows.data());
    for (int64_t chunk : {int64_t{3}, int64_t{1000}, int64_t{4096}, n}) {
      ChunkedExactSearch chunked(q.data(), nq, d, metric, k);
      for (int64_t first = 0; first < n; first += chunk) {
        const int64_t m = std::min(chunk, n - first);
        chunked.Add(x.data() + first * d, first, m);
      }
      SCOPED_TRACE(::testing::Message() << "metric " << static_cast<int>(metric) << " chunk "
                                        << chunk);
      EXPECT_EQ(chunked.rows(), rows);
      EXPECT_EQ(chunked.scores(), scores);
    }
  }
}

TEST(ChunkedExactSearch, PadsWhileFewerThanKRowsWereAdded) {
  const auto x = IntegerVectors(3, 4, 1);
  const auto q = IntegerVectors(1, 4, 2);
  ChunkedExactSearch chunked(q.data(), 1, 4, model::Metric::kL2, 5);
  chunked.Add(x.data(), 10, 3);
  const std::vector<int64_t>& rows = chunked.rows();
  for (int i = 0; i < 3; ++i) EXPECT_GE(rows[i], 10) << i;
  EXPECT_EQ(rows[3], -1);
  EXPECT_EQ(rows[4], -1);
  EXPECT_TRUE(std::isinf(chunked.scores()[4]));
}

BundleWriteOptions IvfPqSq8(const std::string& output) {
  BundleWriteOptions o;
  o.output = output;
  o.index.type = IndexType::kIvfPq;
  o.index.nlist = 64;
  o.index.pq_m = 8;
  o.index.refine = RefineType::kSq8;
  o.show_progress = false;
  return o;
}

// The same vectors streamed through a reader give the same bundle, byte for byte (shards,
// tuned default), and the reader is never asked for more than one add chunk at a time.
TEST(StreamedBuild, EqualsTheInMemoryBuildAndReadsBoundedChunks) {
  ScratchDir dir;
  const int d = 32;
  const int64_t n = 40000;  // more than two add chunks
  SyntheticVectorsOptions so;
  so.dim = d;
  so.clusters = 50;
  const SyntheticVectors gen(so);
  const std::vector<float> x = gen.Database(n);
  const auto rows = TestRows(n);

  absl::StatusOr<BundleManifest> in_memory =
      WriteBundle(x.data(), n, TestModel(d), rows, IvfPqSq8(dir.file("memory")));
  ASSERT_TRUE(in_memory.ok()) << in_memory.status();

  int64_t largest_read = 0, next_add_row = 0, rows_read = 0;
  const DescriptorReader read = [&](int64_t first, int64_t count, float* out) {
    largest_read = std::max(largest_read, count);
    rows_read += count;
    // Add chunks (here 16384, 16384, 7232 rows); the training sample's runs of consecutive rows
    // and the tuning queries are a few rows each.
    if (count >= 1000) {
      EXPECT_EQ(first, next_add_row);
      next_add_row = first + count;
    }
    const std::vector<float> v = gen.Database(count, first);
    std::copy(v.begin(), v.end(), out);
    return absl::OkStatus();
  };
  absl::StatusOr<BundleManifest> streamed =
      WriteBundle(read, n, TestModel(d), rows, IvfPqSq8(dir.file("streamed")));
  ASSERT_TRUE(streamed.ok()) << streamed.status();
  EXPECT_LE(largest_read, 16384);
  EXPECT_EQ(next_add_row, n);
  EXPECT_LT(rows_read, 2 * n);  // the sample and the tuning queries, then one pass

  ASSERT_EQ(streamed->shards_size(), in_memory->shards_size());
  for (int s = 0; s < streamed->shards_size(); ++s) {
    EXPECT_EQ(streamed->shards(s).sha256(), in_memory->shards(s).sha256()) << s;
  }
  EXPECT_EQ(streamed->index().default_nprobe(), in_memory->index().default_nprobe());
  EXPECT_EQ(streamed->index().tuning().achieved_recall(),
            in_memory->index().tuning().achieved_recall());
  EXPECT_GE(streamed->index().tuning().achieved_recall(), 0.9);
}

TEST(StreamedBuild, ReaderErrorsAndNonFiniteChunksLeaveNoBundle) {
  ScratchDir dir;
  const int d = 8;
  const int64_t n = 20000;
  const auto x = IntegerVectors(n, d, 3);
  const auto rows = TestRows(n);
  const DescriptorReader failing = [&](int64_t first, int64_t count, float* out) {
    if (first + count > 17000) return absl::UnavailableError("disk went away");
    std::copy_n(x.data() + first * d, count * d, out);
    return absl::OkStatus();
  };
  absl::StatusOr<BundleManifest> m =
      WriteBundle(failing, n, TestModel(d), rows, IvfPqSq8(dir.file("a")));
  EXPECT_EQ(m.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(fs::exists(dir.file("a")));

  const DescriptorReader nan_late = [&](int64_t first, int64_t count, float* out) {
    std::copy_n(x.data() + first * d, count * d, out);
    for (int64_t r = 0; r < count; ++r) {
      if (first + r == 19999) out[r * d] = std::nanf("");
    }
    return absl::OkStatus();
  };
  m = WriteBundle(nan_late, n, TestModel(d), rows, IvfPqSq8(dir.file("b")));
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("row 19999"), std::string::npos) << m.status();
  EXPECT_FALSE(fs::exists(dir.file("b")));
}

}  // namespace
}  // namespace geoloc::index
