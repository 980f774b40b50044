#include "core/index/metadata.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tests/index/test_util.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::index {
namespace {

using ::geoloc::testing::ReadTestFile;
using ::geoloc::testing::ScratchDir;
using ::geoloc::testing::WriteTestFile;

std::vector<MetadataRow> UnicodeRows() {
  std::vector<MetadataRow> rows;
  rows.push_back({-5, 48.8584, 2.2945, "photos/Tour Eiffel – été.jpg", "Paris"});
  rows.push_back({7, -33.8568, 151.2153, "s3://bucket/シドニー/オペラハウス.jpg", ""});
  rows.push_back({std::numeric_limits<int64_t>::max(), 90, 180, "", "Paris"});
  rows.push_back({std::numeric_limits<int64_t>::min(), -90, -180, "Ελλάδα/Ακρόπολη.png", "Αθήνα"});
  rows.push_back({42, 0, 0, std::string("nul\0inside", 10), "grüppe"});
  return rows;
}

TEST(Metadata, RoundTripsUnicodeSourcesAndGroups) {
  ScratchDir dir;
  const std::string path = dir.file("metadata.bin");
  const auto rows = UnicodeRows();
  ASSERT_TRUE(WriteMetadataFile(path, rows).ok());
  absl::StatusOr<MetadataTable> table = MetadataTable::Open(path);
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->size(), static_cast<int64_t>(rows.size()));
  EXPECT_EQ(table->group_count(), 3);  // Paris, Αθήνα, grüppe
  for (size_t i = 0; i < rows.size(); ++i) {
    const MetadataRow got = table->Row(i);
    EXPECT_EQ(got.id, rows[i].id);
    EXPECT_EQ(got.lat, rows[i].lat);
    EXPECT_EQ(got.lon, rows[i].lon);
    EXPECT_EQ(got.source, rows[i].source);
    EXPECT_EQ(got.group, rows[i].group);
    EXPECT_EQ(table->has_group(i), !rows[i].group.empty());
  }
}

TEST(Metadata, EmptyTableRoundTrips) {
  ScratchDir dir;
  ASSERT_TRUE(WriteMetadataFile(dir.file("m.bin"), {}).ok());
  absl::StatusOr<MetadataTable> table = MetadataTable::Open(dir.file("m.bin"));
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 0);
}

TEST(Metadata, RejectsInvalidCoordinatesOnWrite) {
  std::vector<MetadataRow> rows = {{1, 91, 0, "a", ""}};
  EXPECT_EQ(EncodeMetadata(rows).status().code(), absl::StatusCode::kInvalidArgument);
  rows = {{1, 0, std::nan(""), "a", ""}};
  EXPECT_EQ(EncodeMetadata(rows).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Metadata, MissingFileIsNotFound) {
  EXPECT_EQ(MetadataTable::Open("/nonexistent/metadata.bin").status().code(),
            absl::StatusCode::kNotFound);
}

// Every truncation of a valid file is rejected with DATA_LOSS (never a crash).
TEST(Metadata, EveryTruncationIsDataLoss) {
  ScratchDir dir;
  const std::string bytes = *EncodeMetadata(UnicodeRows());
  for (size_t len = 0; len < bytes.size(); ++len) {
    WriteTestFile(dir.file("t.bin"), bytes.substr(0, len));
    absl::StatusOr<MetadataTable> table = MetadataTable::Open(dir.file("t.bin"));
    ASSERT_EQ(table.status().code(), absl::StatusCode::kDataLoss) << "length " << len;
  }
  WriteTestFile(dir.file("t.bin"), bytes + "x");
  EXPECT_EQ(MetadataTable::Open(dir.file("t.bin")).status().code(), absl::StatusCode::kDataLoss);
}

template <typename T>
std::string Patched(std::string bytes, size_t offset, T value) {
  std::memcpy(&bytes[offset], &value, sizeof(T));
  return bytes;
}

TEST(Metadata, RejectsCorruptedHeadersAndColumns) {
  ScratchDir dir;
  const auto rows = UnicodeRows();
  const std::string good = *EncodeMetadata(rows);
  const uint64_t n = rows.size();
  const size_t ids = 64, lats = ids + 8 * n, lons = lats + 8 * n, offsets = lons + 8 * n,
               groups = offsets + 8 * (n + 1);
  struct Case {
    const char* what;
    std::string bytes;
    absl::StatusCode code;
  };
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  const std::vector<Case> cases = {
      {"magic", bad_magic, absl::StatusCode::kDataLoss},
      {"newer version", Patched<uint32_t>(good, 8, 2), absl::StatusCode::kFailedPrecondition},
      {"huge count", Patched<uint64_t>(good, 16, uint64_t{1} << 60), absl::StatusCode::kDataLoss},
      {"count off by one", Patched<uint64_t>(good, 16, n + 1), absl::StatusCode::kDataLoss},
      {"source bytes", Patched<uint64_t>(good, 24, 3), absl::StatusCode::kDataLoss},
      {"latitude NaN", Patched<double>(good, lats + 8, std::nan("")), absl::StatusCode::kDataLoss},
      {"longitude 200", Patched<double>(good, lons, 200.0), absl::StatusCode::kDataLoss},
      {"offset past end", Patched<uint64_t>(good, offsets + 8, 1u << 30),
       absl::StatusCode::kDataLoss},
      {"decreasing offsets", Patched<uint64_t>(good, offsets + 16, 0), absl::StatusCode::kDataLoss},
      {"group index", Patched<uint32_t>(good, groups, 77), absl::StatusCode::kDataLoss},
  };
  for (const Case& c : cases) {
    WriteTestFile(dir.file("c.bin"), c.bytes);
    EXPECT_EQ(MetadataTable::Open(dir.file("c.bin")).status().code(), c.code) << c.what;
  }
}

TEST(Metadata, OpensAMillionRows) {
  ScratchDir dir;
  std::vector<MetadataRow> rows(1'000'000);
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i] = {static_cast<int64_t>(i), 1e-4 * (i % 900000) - 45, 1e-4 * (i % 1800000) - 90,
               "db/" + std::to_string(i) + ".jpg", "g" + std::to_string(i / 10)};
  }
  ASSERT_TRUE(WriteMetadataFile(dir.file("big.bin"), rows).ok());
  absl::StatusOr<MetadataTable> table = MetadataTable::Open(dir.file("big.bin"));
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 1'000'000);
  EXPECT_EQ(table->group_count(), 100'000);
  EXPECT_EQ(table->source(999'999), "db/999999.jpg");
  EXPECT_EQ(table->group(999'999), "g99999");
  EXPECT_EQ(table->lat(123456), rows[123456].lat);
}

}  // namespace
}  // namespace geoloc::index
