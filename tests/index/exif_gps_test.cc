#include "core/index/exif_gps.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "tests/index/exif_test_util.h"

namespace geoloc::index {
namespace {

using testing::Ascii;
using testing::GpsTags;
using testing::InsertExif;
using testing::MakeTiff;
using testing::MinimalJpeg;
using testing::Rationals;
using testing::RawTag;

absl::StatusOr<geo::LatLon> ReadTags(bool le, const std::vector<RawTag>& tags) {
  return ReadJpegExifGps(InsertExif(MinimalJpeg(), MakeTiff(le, &tags)));
}

TEST(ExifGps, ReadsAllHemispheresInBothByteOrders) {
  struct Case {
    char lat_ref, lon_ref;
    double lat, lon;
  };
  // 48°51'30.24" N, 2°17'40.20" E (Eiffel Tower) with every sign combination.
  const double lat = 48 + 51 / 60.0 + 30.24 / 3600.0;
  const double lon = 2 + 17 / 60.0 + 40.20 / 3600.0;
  for (bool le : {true, false}) {
    for (const Case& c : {Case{'N', 'E', lat, lon}, Case{'S', 'E', -lat, lon},
                          Case{'N', 'W', lat, -lon}, Case{'S', 'W', -lat, -lon}}) {
      absl::StatusOr<geo::LatLon> p =
          ReadTags(le, GpsTags(le, c.lat_ref, 48, 51, 3024, c.lon_ref, 2, 17, 4020));
      ASSERT_TRUE(p.ok()) << p.status();
      EXPECT_NEAR(p->lat, c.lat, 1e-12);
      EXPECT_NEAR(p->lon, c.lon, 1e-12);
    }
  }
}

TEST(ExifGps, ReadsDecimalDegreesInTheFirstRational) {
  // Some phones write 34.0522/1 with zero minutes and seconds.
  std::vector<RawTag> tags = {Ascii(1, "S"), Rationals(2, {{340522, 10000}, {0, 1}, {0, 1}}, true),
                              Ascii(3, "W"),
                              Rationals(4, {{1182437, 10000}, {0, 1}, {0, 1}}, true)};
  absl::StatusOr<geo::LatLon> p = ReadTags(true, tags);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_NEAR(p->lat, -34.0522, 1e-12);
  EXPECT_NEAR(p->lon, -118.2437, 1e-12);
}

TEST(ExifGps, ReadsSignedRationals) {
  std::vector<RawTag> tags = {Ascii(1, "N"), Rationals(2, {{10, 1}, {30, 1}, {0, 1}}, false, 10),
                              Ascii(3, "E"), Rationals(4, {{20, 1}, {15, 1}, {0, 1}}, false, 10)};
  absl::StatusOr<geo::LatLon> p = ReadTags(false, tags);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_DOUBLE_EQ(p->lat, 10.5);
  EXPECT_DOUBLE_EQ(p->lon, 20.25);
}

TEST(ExifGps, ZeroDenominatorIsAnError) {
  std::vector<RawTag> tags = {Ascii(1, "N"), Rationals(2, {{48, 1}, {51, 0}, {0, 1}}, true),
                              Ascii(3, "E"), Rationals(4, {{2, 1}, {17, 1}, {0, 1}}, true)};
  absl::StatusOr<geo::LatLon> p = ReadTags(true, tags);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("zero denominator"), std::string::npos);
}

TEST(ExifGps, MissingTagsAndDataAreReported) {
  const bool le = true;
  // No EXIF at all.
  EXPECT_EQ(ReadJpegExifGps(MinimalJpeg()).status().code(), absl::StatusCode::kNotFound);
  // EXIF without a GPS IFD.
  EXPECT_EQ(ReadJpegExifGps(InsertExif(MinimalJpeg(), MakeTiff(le, nullptr))).status().code(),
            absl::StatusCode::kNotFound);
  // GPS IFD with only a version tag.
  std::vector<RawTag> version_only = {{0, 1, 4, std::string("\2\3\0\0", 4)}};
  EXPECT_EQ(ReadTags(le, version_only).status().code(), absl::StatusCode::kNotFound);
  // Latitude without longitude.
  std::vector<RawTag> lat_only = {Ascii(1, "N"), Rationals(2, {{1, 1}, {0, 1}, {0, 1}}, le)};
  EXPECT_EQ(ReadTags(le, lat_only).status().code(), absl::StatusCode::kNotFound);
  // Position without its hemisphere.
  std::vector<RawTag> no_ref = {Rationals(2, {{1, 1}, {0, 1}, {0, 1}}, le), Ascii(3, "E"),
                                Rationals(4, {{1, 1}, {0, 1}, {0, 1}}, le)};
  absl::StatusOr<geo::LatLon> p = ReadTags(le, no_ref);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("GPSLatitudeRef"), std::string::npos);
}

TEST(ExifGps, RejectsInvalidValues) {
  const bool le = true;
  auto with = [&](char lat_ref, uint32_t lat_deg, uint32_t lat_min, char lon_ref,
                  uint32_t lon_deg) {
    return ReadTags(le, {Ascii(1, std::string(1, lat_ref)),
                         Rationals(2, {{lat_deg, 1}, {lat_min, 1}, {0, 1}}, le),
                         Ascii(3, std::string(1, lon_ref)),
                         Rationals(4, {{lon_deg, 1}, {0, 1}, {0, 1}}, le)})
        .status()
        .code();
  };
  EXPECT_EQ(with('X', 10, 0, 'E', 10), absl::StatusCode::kInvalidArgument);  // bad ref
  EXPECT_EQ(with('N', 10, 0, 'Q', 10), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with('N', 91, 0, 'E', 10), absl::StatusCode::kInvalidArgument);  // out of range
  EXPECT_EQ(with('N', 10, 0, 'E', 181), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with('N', 10, 60, 'E', 10), absl::StatusCode::kInvalidArgument);  // minutes
  // Wrong type (SHORT) and count for the latitude.
  EXPECT_EQ(ReadTags(le, {Ascii(1, "N"),
                          {2, 3, 3, std::string(6, '\1')},
                          Ascii(3, "E"),
                          Rationals(4, {{1, 1}, {0, 1}, {0, 1}}, le)})
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
}

// Every truncation of a valid block is an error or a clean NOT_FOUND, never a crash, and
// offsets pointing outside the block are DATA_LOSS.
TEST(ExifGps, TruncatedAndOutOfBoundsBlocksAreErrors) {
  const auto tags = GpsTags(true, 'N', 48, 51, 3024, 'E', 2, 17, 4020);
  const std::string tiff = MakeTiff(true, &tags);
  ASSERT_TRUE(ReadTiffGps(tiff).ok());
  for (size_t len = 0; len < tiff.size(); ++len) {
    EXPECT_FALSE(ReadTiffGps(tiff.substr(0, len)).ok()) << len;
  }
  std::string bad_ifd = tiff;
  bad_ifd[4] = '\xF0';  // IFD0 offset far outside
  EXPECT_EQ(ReadTiffGps(bad_ifd).status().code(), absl::StatusCode::kDataLoss);
  // A JPEG whose Exif segment claims more bytes than the file has.
  std::string jpeg = InsertExif(MinimalJpeg(), tiff);
  jpeg.resize(30);
  EXPECT_FALSE(ReadJpegExifGps(jpeg).ok());
  EXPECT_EQ(ReadJpegExifGps("not a jpeg").status().code(), absl::StatusCode::kInvalidArgument);
}

// A real JPEG (OpenCV-encoded) with an Exif GPS segment: still decodable, position readable.
TEST(ExifGps, ReadsARealJpeg) {
  cv::Mat image(48, 64, CV_8UC3, cv::Scalar(20, 120, 220));
  std::vector<uchar> encoded;
  ASSERT_TRUE(cv::imencode(".jpg", image, encoded));
  const auto tags = GpsTags(false, 'S', 33, 51, 2448, 'E', 151, 12, 5508);
  const std::string jpeg =
      InsertExif(std::string(encoded.begin(), encoded.end()), MakeTiff(false, &tags));
  cv::Mat decoded = cv::imdecode(std::vector<uchar>(jpeg.begin(), jpeg.end()), cv::IMREAD_COLOR);
  ASSERT_FALSE(decoded.empty());
  absl::StatusOr<geo::LatLon> p = ReadJpegExifGps(jpeg);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_NEAR(p->lat, -(33 + 51 / 60.0 + 24.48 / 3600.0), 1e-12);
  EXPECT_NEAR(p->lon, 151 + 12 / 60.0 + 55.08 / 3600.0, 1e-12);
}

}  // namespace
}  // namespace geoloc::index
