#include "core/index/exif_gps.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "tests/support/forged_images.h"

namespace geoloc::index {
namespace {

using ::geoloc::testing::ExifGpsBlock;
using ::geoloc::testing::GpsTags;
using ::geoloc::testing::MinimalJpegPrefix;
using ::geoloc::testing::TiffAscii;
using ::geoloc::testing::TiffRationals;
using ::geoloc::testing::TiffTag;
using ::geoloc::testing::WithJpegExif;
namespace tiff = ::geoloc::testing::tiff;

absl::StatusOr<geo::LatLon> ReadTags(bool le, const std::vector<TiffTag>& tags) {
  return ReadJpegExifGps(WithJpegExif(MinimalJpegPrefix(), ExifGpsBlock(tags, !le)));
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
          ReadTags(le, GpsTags(c.lat_ref, 48, 51, 3024, c.lon_ref, 2, 17, 4020));
      ASSERT_TRUE(p.ok()) << p.status();
      EXPECT_NEAR(p->lat, c.lat, 1e-12);
      EXPECT_NEAR(p->lon, c.lon, 1e-12);
    }
  }
}

TEST(ExifGps, ReadsDecimalDegreesInTheFirstRational) {
  // Some phones write 34.0522/1 with zero minutes and seconds.
  std::vector<TiffTag> tags = {TiffAscii(1, "S"), TiffRationals(2, {{340522, 10000}, {0, 1}, {0, 1}}),
                              TiffAscii(3, "W"),
                              TiffRationals(4, {{1182437, 10000}, {0, 1}, {0, 1}})};
  absl::StatusOr<geo::LatLon> p = ReadTags(true, tags);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_NEAR(p->lat, -34.0522, 1e-12);
  EXPECT_NEAR(p->lon, -118.2437, 1e-12);
}

TEST(ExifGps, ReadsSignedRationals) {
  std::vector<TiffTag> tags = {TiffAscii(1, "N"), TiffRationals(2, {{10, 1}, {30, 1}, {0, 1}}, 10),
                              TiffAscii(3, "E"), TiffRationals(4, {{20, 1}, {15, 1}, {0, 1}}, 10)};
  absl::StatusOr<geo::LatLon> p = ReadTags(false, tags);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_DOUBLE_EQ(p->lat, 10.5);
  EXPECT_DOUBLE_EQ(p->lon, 20.25);
}

TEST(ExifGps, ZeroDenominatorIsAnError) {
  std::vector<TiffTag> tags = {TiffAscii(1, "N"), TiffRationals(2, {{48, 1}, {51, 0}, {0, 1}}),
                              TiffAscii(3, "E"), TiffRationals(4, {{2, 1}, {17, 1}, {0, 1}})};
  absl::StatusOr<geo::LatLon> p = ReadTags(true, tags);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("zero denominator"), std::string::npos);
}

TEST(ExifGps, MissingTagsAndDataAreReported) {
  const bool le = true;
  // No EXIF at all.
  EXPECT_EQ(ReadJpegExifGps(MinimalJpegPrefix()).status().code(), absl::StatusCode::kNotFound);
  // EXIF without a GPS IFD.
  const std::string no_gps = ::geoloc::testing::BuildTiff({{0x0100, tiff::kLong, 1, {640}}});
  EXPECT_EQ(ReadJpegExifGps(WithJpegExif(MinimalJpegPrefix(), no_gps)).status().code(),
            absl::StatusCode::kNotFound);
  // GPS IFD with only a version tag.
  std::vector<TiffTag> version_only = {{0, tiff::kByte, 4, {2, 3, 0, 0}}};
  EXPECT_EQ(ReadTags(le, version_only).status().code(), absl::StatusCode::kNotFound);
  // Latitude without longitude.
  std::vector<TiffTag> lat_only = {TiffAscii(1, "N"), TiffRationals(2, {{1, 1}, {0, 1}, {0, 1}})};
  EXPECT_EQ(ReadTags(le, lat_only).status().code(), absl::StatusCode::kNotFound);
  // Position without its hemisphere.
  std::vector<TiffTag> no_ref = {TiffRationals(2, {{1, 1}, {0, 1}, {0, 1}}), TiffAscii(3, "E"),
                                TiffRationals(4, {{1, 1}, {0, 1}, {0, 1}})};
  absl::StatusOr<geo::LatLon> p = ReadTags(le, no_ref);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("GPSLatitudeRef"), std::string::npos);
}

TEST(ExifGps, RejectsInvalidValues) {
  const bool le = true;
  auto with = [&](char lat_ref, uint32_t lat_deg, uint32_t lat_min, char lon_ref,
                  uint32_t lon_deg) {
    return ReadTags(le, {TiffAscii(1, std::string(1, lat_ref)),
                         TiffRationals(2, {{lat_deg, 1}, {lat_min, 1}, {0, 1}}),
                         TiffAscii(3, std::string(1, lon_ref)),
                         TiffRationals(4, {{lon_deg, 1}, {0, 1}, {0, 1}})})
        .status()
        .code();
  };
  EXPECT_EQ(with('X', 10, 0, 'E', 10), absl::StatusCode::kInvalidArgument);  // bad ref
  EXPECT_EQ(with('N', 10, 0, 'Q', 10), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with('N', 91, 0, 'E', 10), absl::StatusCode::kInvalidArgument);  // out of range
  EXPECT_EQ(with('N', 10, 0, 'E', 181), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with('N', 10, 60, 'E', 10), absl::StatusCode::kInvalidArgument);  // minutes
  // Wrong type (SHORT) and count for the latitude.
  EXPECT_EQ(ReadTags(le, {TiffAscii(1, "N"),
                          {2, tiff::kShort, 3, {0x0101, 0x0101, 0x0101}},
                          TiffAscii(3, "E"),
                          TiffRationals(4, {{1, 1}, {0, 1}, {0, 1}})})
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
}

// Every truncation of a valid block is an error or a clean NOT_FOUND, never a crash, and
// offsets pointing outside the block are DATA_LOSS.
TEST(ExifGps, TruncatedAndOutOfBoundsBlocksAreErrors) {
  const std::string tiff = ExifGpsBlock(GpsTags('N', 48, 51, 3024, 'E', 2, 17, 4020));
  ASSERT_TRUE(ReadTiffGps(tiff).ok());
  for (size_t len = 0; len < tiff.size(); ++len) {
    EXPECT_FALSE(ReadTiffGps(tiff.substr(0, len)).ok()) << len;
  }
  std::string bad_ifd = tiff;
  bad_ifd[4] = '\xF0';  // IFD0 offset far outside
  EXPECT_EQ(ReadTiffGps(bad_ifd).status().code(), absl::StatusCode::kDataLoss);
  // A JPEG whose Exif segment claims more bytes than the file has.
  std::string jpeg = WithJpegExif(MinimalJpegPrefix(), tiff);
  jpeg.resize(30);
  EXPECT_FALSE(ReadJpegExifGps(jpeg).ok());
  EXPECT_EQ(ReadJpegExifGps("not a jpeg").status().code(), absl::StatusCode::kInvalidArgument);
}

// A real JPEG (OpenCV-encoded) with an Exif GPS segment: still decodable, position readable.
TEST(ExifGps, ReadsARealJpeg) {
  cv::Mat image(48, 64, CV_8UC3, cv::Scalar(20, 120, 220));
  std::vector<uchar> encoded;
  ASSERT_TRUE(cv::imencode(".jpg", image, encoded));
  const std::string jpeg =
      WithJpegExif(std::string(encoded.begin(), encoded.end()),
                   ExifGpsBlock(GpsTags('S', 33, 51, 2448, 'E', 151, 12, 5508), /*big_endian=*/true));
  cv::Mat decoded = cv::imdecode(std::vector<uchar>(jpeg.begin(), jpeg.end()), cv::IMREAD_COLOR);
  ASSERT_FALSE(decoded.empty());
  absl::StatusOr<geo::LatLon> p = ReadJpegExifGps(jpeg);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_NEAR(p->lat, -(33 + 51 / 60.0 + 24.48 / 3600.0), 1e-12);
  EXPECT_NEAR(p->lon, 151 + 12 / 60.0 + 55.08 / 3600.0, 1e-12);
}

}  // namespace
}  // namespace geoloc::index
