#include "core/model/image_decoder.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/image_header.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "tests/support/forged_images.h"

namespace geoloc::model {
namespace {

using ::testing::HasSubstr;

// ---- Writing test images ------------------------------------------------------------------------

std::string Encode(const cv::Mat& image, const std::string& ext, std::vector<int> params = {}) {
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(ext, image, buf, params)) << ext;
  return std::string(buf.begin(), buf.end());
}

using ::geoloc::testing::Be16;
using ::geoloc::testing::Be32;
using ::geoloc::testing::BuildTiff;
using ::geoloc::testing::Le16;
using ::geoloc::testing::Le32;
using ::geoloc::testing::PngChunk;
using ::geoloc::testing::TiffLayout;
using ::geoloc::testing::TiffTag;
using ::geoloc::testing::WithJpegExif;
using ::geoloc::testing::WithPngExif;
namespace tiff = ::geoloc::testing::tiff;

// Four quadrants in distinct colours, so every flip and rotation is visible (BGR).
const cv::Vec3b kTopLeft(0, 0, 255), kTopRight(0, 255, 0), kBottomLeft(255, 0, 0),
    kBottomRight(0, 255, 255);

cv::Mat Quadrants(int width, int height) {
  cv::Mat image(height, width, CV_8UC3);
  const int w2 = width / 2, h2 = height / 2;
  image(cv::Rect(0, 0, w2, h2)).setTo(kTopLeft);
  image(cv::Rect(w2, 0, width - w2, h2)).setTo(kTopRight);
  image(cv::Rect(0, h2, w2, height - h2)).setTo(kBottomLeft);
  image(cv::Rect(w2, h2, width - w2, height - h2)).setTo(kBottomRight);
  return image;
}

// Checks the colour at the centre of each quadrant of an upright Quadrants() image.
void ExpectQuadrants(const cv::Mat& image, int tolerance, const std::string& what) {
  ASSERT_EQ(image.type(), CV_8UC3) << what;
  const int qx = image.cols / 4, qy = image.rows / 4;
  const struct {
    int y, x;
    cv::Vec3b colour;
    const char* name;
  } probes[] = {{qy, qx, kTopLeft, "top-left"},
                {qy, 3 * qx, kTopRight, "top-right"},
                {3 * qy, qx, kBottomLeft, "bottom-left"},
                {3 * qy, 3 * qx, kBottomRight, "bottom-right"}};
  for (const auto& p : probes) {
    const cv::Vec3b got = image.at<cv::Vec3b>(p.y, p.x);
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(got[c], p.colour[c], tolerance)
          << what << ": " << p.name << " is " << got << ", expected " << p.colour;
    }
  }
}

// The TIFF block of an EXIF payload holding only Orientation (tag 0x0112, SHORT).
std::string TiffOrientationBlock(int orientation, bool big_endian) {
  return ::geoloc::testing::ExifOrientationBlock(static_cast<uint16_t>(orientation), big_endian);
}

// Rewraps a simple (VP8 or VP8L) WebP as an extended one: VP8X + image chunk [+ EXIF chunk].
std::string ExtendedWebp(const std::string& simple, int width, int height, uint8_t flags,
                         const std::string& exif) {
  std::string body = "WEBP";
  body += "VP8X" + Le32(10) + std::string(1, static_cast<char>(flags | (exif.empty() ? 0 : 0x08))) +
          std::string(3, '\0') + Le32(width - 1).substr(0, 3) + Le32(height - 1).substr(0, 3);
  body += simple.substr(12);  // the image chunk
  if (!exif.empty()) {
    body += "EXIF" + Le32(static_cast<uint32_t>(exif.size())) + exif;
    if (exif.size() % 2 != 0) body += '\0';
  }
  return "RIFF" + Le32(static_cast<uint32_t>(body.size())) + body;
}

// A minimal uncompressed RGB TIFF (8 or 16 bits per sample, 16-bit samples are v * 257) in either
// byte order, one strip, optional Orientation. Entries by tag; BitsPerSample's three values, then
// the pixels, right after the IFD.
std::string MakeTiff(const cv::Mat& bgr, bool big_endian, int orientation, int bits = 8) {
  std::string pixels;
  for (int y = 0; y < bgr.rows; ++y) {
    for (int x = 0; x < bgr.cols; ++x) {
      const cv::Vec3b p = bgr.at<cv::Vec3b>(y, x);
      for (int c : {2, 1, 0}) {
        if (bits == 8) {
          pixels += static_cast<char>(p[c]);
        } else {
          pixels += big_endian ? Be16(p[c] * 257) : Le16(p[c] * 257);
        }
      }
    }
  }
  const uint32_t w = static_cast<uint32_t>(bgr.cols), h = static_cast<uint32_t>(bgr.rows);
  const uint32_t b = static_cast<uint32_t>(bits);
  std::vector<TiffTag> tags = {{256, tiff::kLong, 1, {w}},
                               {257, tiff::kLong, 1, {h}},
                               {258, tiff::kShort, 3, {b, b, b}},
                               {259, tiff::kShort, 1, {1}},
                               {262, tiff::kShort, 1, {2}},
                               {273, tiff::kLong, 1, {tiff::kAtTrailer}},
                               {277, tiff::kShort, 1, {3}},
                               {278, tiff::kLong, 1, {h}},
                               {279, tiff::kLong, 1, {static_cast<uint32_t>(pixels.size())}},
                               {284, tiff::kShort, 1, {1}}};
  if (orientation != 0) {
    tags.push_back({274, tiff::kShort, 1, {static_cast<uint32_t>(orientation)}});
  }
  std::sort(tags.begin(), tags.end(),
            [](const TiffTag& x, const TiffTag& y) { return x.tag < y.tag; });
  TiffLayout layout;
  layout.big_endian = big_endian;
  return BuildTiff(tags, pixels, layout);
}

// EXIF orientation k, from the TIFF 6.0 definition of where stored row 0 / column 0 appear
// (1 top/left, 2 top/right, 3 bottom/right, 4 bottom/left, 5 left/top, 6 right/top,
// 7 right/bottom, 8 left/bottom): the stored image that displays as `upright`.
cv::Mat StoredForOrientation(const cv::Mat& upright, int k) {
  const int hd = upright.rows, wd = upright.cols;  // displayed size
  const bool swap = k >= 5;
  cv::Mat stored(swap ? wd : hd, swap ? hd : wd, upright.type());
  const int hs = stored.rows, ws = stored.cols;
  for (int r = 0; r < hs; ++r) {
    for (int c = 0; c < ws; ++c) {
      int y = 0, x = 0;  // where stored (r, c) is displayed
      switch (k) {
        case 1:
          y = r, x = c;
          break;
        case 2:
          y = r, x = ws - 1 - c;
          break;
        case 3:
          y = hs - 1 - r, x = ws - 1 - c;
          break;
        case 4:
          y = hs - 1 - r, x = c;
          break;
        case 5:
          y = c, x = r;
          break;
        case 6:
          y = c, x = hs - 1 - r;
          break;
        case 7:
          y = ws - 1 - c, x = hs - 1 - r;
          break;
        case 8:
          y = ws - 1 - c, x = r;
          break;
      }
      stored.at<cv::Vec3b>(r, c) = upright.at<cv::Vec3b>(y, x);
    }
  }
  return stored;
}

absl::StatusOr<cv::Mat> Decode(const std::string& bytes, int target_min_side = 0,
                               int64_t max_pixels = 50'000'000) {
  DecodeOptions options;
  options.target_min_side = target_min_side;
  options.max_pixels = max_pixels;
  return DecodeImage(bytes, options);
}

// Records the largest pixel buffer OpenCV allocates while installed (proves "no allocation").
class PeakAllocator : public cv::MatAllocator {
 public:
  PeakAllocator() : previous_(cv::Mat::getDefaultAllocator()), std_(cv::Mat::getStdAllocator()) {
    cv::Mat::setDefaultAllocator(this);
  }
  ~PeakAllocator() override { cv::Mat::setDefaultAllocator(previous_); }
  size_t peak() const { return peak_; }

  cv::UMatData* allocate(int dims, const int* sizes, int type, void* data, size_t* step,
                         cv::AccessFlag flags, cv::UMatUsageFlags usage) const override {
    size_t bytes = CV_ELEM_SIZE(type);
    for (int i = 0; i < dims; ++i) bytes *= static_cast<size_t>(sizes[i]);
    if (data == nullptr) peak_ = std::max(peak_, bytes);
    return std_->allocate(dims, sizes, type, data, step, flags, usage);
  }
  bool allocate(cv::UMatData* data, cv::AccessFlag flags, cv::UMatUsageFlags usage) const override {
    return std_->allocate(data, flags, usage);
  }
  void deallocate(cv::UMatData* data) const override { std_->deallocate(data); }

 private:
  cv::MatAllocator* previous_;
  cv::MatAllocator* std_;
  mutable size_t peak_ = 0;
};

// ---- Formats, sizes and colours ------------------------------------------------------------

struct FormatCase {
  const char* name;
  ImageFormat format;
  std::function<std::string(const cv::Mat&)> encode;
  int tolerance;  // lossy formats smear colours a little
};

std::vector<FormatCase> Formats() {
  return {
      {"jpeg", ImageFormat::kJpeg,
       [](const cv::Mat& m) {
         return Encode(m, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
       },
       12},
      {"progressive_jpeg", ImageFormat::kJpeg,
       [](const cv::Mat& m) {
         return Encode(m, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
       },
       12},
      {"png", ImageFormat::kPng, [](const cv::Mat& m) { return Encode(m, ".png"); }, 0},
      {"webp_lossy", ImageFormat::kWebp,
       [](const cv::Mat& m) {
         return Encode(m, ".webp", {cv::IMWRITE_WEBP_QUALITY, 95});
       },
       20},
      {"webp_lossless", ImageFormat::kWebp,
       [](const cv::Mat& m) {
         return Encode(m, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101});
       },
       0},
      {"bmp", ImageFormat::kBmp, [](const cv::Mat& m) { return Encode(m, ".bmp"); }, 0},
      {"tiff_opencv", ImageFormat::kTiff, [](const cv::Mat& m) { return Encode(m, ".tiff"); }, 0},
      {"tiff_little_endian", ImageFormat::kTiff,
       [](const cv::Mat& m) { return MakeTiff(m, false, 0); }, 0},
      {"tiff_big_endian", ImageFormat::kTiff, [](const cv::Mat& m) { return MakeTiff(m, true, 0); },
       0},
      {"tiff_16_bit", ImageFormat::kTiff, [](const cv::Mat& m) { return MakeTiff(m, true, 0, 16); },
       0},
  };
}

TEST(ImageDecoderTest, EveryFormatDecodesToTheRightSizeAndColours) {
  for (const FormatCase& f : Formats()) {
    for (cv::Size size : {cv::Size(64, 48), cv::Size(37, 61)}) {
      const std::string bytes = f.encode(Quadrants(size.width, size.height));
      const std::string what = absl::StrCat(f.name, " ", size.width, "x", size.height);
      absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
      ASSERT_TRUE(header.ok()) << what << ": " << header.status();
      EXPECT_EQ(header->format, f.format) << what;
      EXPECT_EQ(header->width, size.width) << what;
      EXPECT_EQ(header->height, size.height) << what;
      absl::StatusOr<cv::Mat> image = Decode(bytes);
      ASSERT_TRUE(image.ok()) << what << ": " << image.status();
      EXPECT_EQ(image->size(), size) << what;
      EXPECT_TRUE(image->isContinuous()) << what;
      ExpectQuadrants(*image, f.tolerance, what);
    }
  }
}

TEST(ImageDecoderTest, OnePixelImagesDecode) {
  const cv::Mat pixel(1, 1, CV_8UC3, cv::Scalar(10, 200, 30));
  for (const FormatCase& f : Formats()) {
    absl::StatusOr<cv::Mat> image = Decode(f.encode(pixel), /*target_min_side=*/224);
    ASSERT_TRUE(image.ok()) << f.name << ": " << image.status();
    ASSERT_EQ(image->size(), cv::Size(1, 1)) << f.name;
    const cv::Vec3b got = image->at<cv::Vec3b>(0, 0);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(got[c], pixel.at<cv::Vec3b>(0, 0)[c], 20) << f.name;
  }
}

TEST(ImageDecoderTest, FormatNames) {
  EXPECT_EQ(ImageFormatName(ImageFormat::kJpeg), "JPEG");
  EXPECT_EQ(ImageFormatName(ImageFormat::kWebp), "WebP");
  EXPECT_EQ(ImageFormatName(ImageFormat::kUnknown), "unknown");
}

// ---- Header parsing of hand-made headers -----------------------------------------------------

TEST(ImageHeaderTest, ParsesHandWrittenHeaders) {
  struct Case {
    const char* name;
    std::string bytes;
    ImageFormat format;
    int width, height;
  };
  const std::string png_ihdr =
      std::string("\x89PNG\r\n\x1A\n", 8) +
      PngChunk("IHDR", Be32(300) + Be32(200) + "\x08\x02" + std::string(3, '\0'));
  const std::string vp8 = "RIFF" + Le32(30) + "WEBPVP8 " + Le32(18) +
                          std::string("\x10\x02\x00\x9d\x01\x2a", 6) + Le16(640) +
                          Le16(480 | 0x4000 /* scale bits, ignored */) + std::string(8, '\0');
  // VP8L: 0x2F, then (w-1) | (h-1) << 14 in 28 bits, LSB first.
  const uint32_t vp8l_bits = (1000 - 1) | ((700 - 1) << 14);
  const std::string vp8l =
      "RIFF" + Le32(18) + "WEBPVP8L" + Le32(6) + "\x2F" + Le32(vp8l_bits) + '\0';
  const std::string vp8x = ExtendedWebp(vp8l, 1000, 700, 0, "");
  const std::string bmp_core = "BM" + Le32(26 + 4 * 3 * 3) + Le32(0) + Le32(26) + Le32(12) +
                               Le16(3) + Le16(3) + Le16(1) + Le16(24) + std::string(36, '\0');
  const std::string bmp_top_down = "BM" + Le32(54 + 8) + Le32(0) + Le32(54) + Le32(40) + Le32(2) +
                                   Le32(static_cast<uint32_t>(-1)) + Le16(1) + Le16(32) +
                                   std::string(24, '\0') + std::string(8, '\x7f');
  const std::string gif =
      std::string("GIF89a") + Le16(321) + Le16(123) + std::string(3, '\0') + ";";
  const std::string jpeg_sof = std::string("\xFF\xD8", 2) + "\xFF\xC0" + Be16(17) + "\x08" +
                               Be16(480) + Be16(640) + "\x03" + std::string(9, '\x01');
  const std::vector<Case> cases = {
      {"png", png_ihdr, ImageFormat::kPng, 300, 200},
      {"webp vp8", vp8, ImageFormat::kWebp, 640, 480},
      {"webp vp8l", vp8l, ImageFormat::kWebp, 1000, 700},
      {"webp vp8x", vp8x, ImageFormat::kWebp, 1000, 700},
      {"bmp core header", bmp_core, ImageFormat::kBmp, 3, 3},
      {"bmp top-down", bmp_top_down, ImageFormat::kBmp, 2, 1},
      {"gif", gif, ImageFormat::kGif, 321, 123},
      {"jpeg sof0 only", jpeg_sof, ImageFormat::kJpeg, 640, 480},
      {"tiff LE", MakeTiff(Quadrants(5, 7), false, 1), ImageFormat::kTiff, 5, 7},
      {"tiff BE", MakeTiff(Quadrants(7, 5), true, 1), ImageFormat::kTiff, 7, 5},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ImageHeader> header = ReadImageHeader(c.bytes);
    ASSERT_TRUE(header.ok()) << c.name << ": " << header.status();
    EXPECT_EQ(header->format, c.format) << c.name;
    EXPECT_EQ(header->width, c.width) << c.name;
    EXPECT_EQ(header->height, c.height) << c.name;
  }
}

TEST(ImageHeaderTest, JpegSizeComesFromSofAfterOtherSegments) {
  // APP1, DQT-like filler and a comment before the frame header; SOF2 (progressive).
  const std::string jpeg = std::string("\xFF\xD8", 2) + "\xFF\xE1" + Be16(6) + "abcd" + "\xFF\xFE" +
                           Be16(5) + "hi!" + "\xFF\xFF\xFF" /* fill */ + "\xFF\xC2" + Be16(11) +
                           "\x08" + Be16(3000) + Be16(4000) + std::string("\x01\x01\x11\x00", 4);
  absl::StatusOr<ContainerInfo> info = InspectImage(jpeg);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->header.width, 4000);
  EXPECT_EQ(info->header.height, 3000);
  EXPECT_TRUE(info->jpeg_progressive);
  EXPECT_THAT(info->truncation, HasSubstr("EOI"));  // the body is missing
}

TEST(ImageHeaderTest, ReadsOrientationFromEveryContainer) {
  const cv::Mat image = Quadrants(16, 8);
  for (bool big_endian : {false, true}) {
    const std::string block = TiffOrientationBlock(6, big_endian);
    EXPECT_EQ(ReadTiffOrientation(block), 6);
    EXPECT_EQ(InspectImage(WithJpegExif(Encode(image, ".jpg"), block))->orientation, 6);
    EXPECT_EQ(InspectImage(WithPngExif(Encode(image, ".png"), block))->orientation, 6);
    const std::string webp = Encode(image, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101});
    EXPECT_EQ(InspectImage(ExtendedWebp(webp, 16, 8, 0, block))->orientation, 6);
    EXPECT_EQ(InspectImage(MakeTiff(image, big_endian, 6))->orientation, 6);
  }
  EXPECT_EQ(InspectImage(Encode(image, ".jpg"))->orientation, 1);
}

// ---- Pixel conversions ---------------------------------------------------------------------

TEST(ImageDecoderTest, GrayscaleBecomesThreeEqualChannels) {
  const cv::Mat gray(8, 8, CV_8UC1, cv::Scalar(77));
  for (const char* ext : {".png", ".jpg", ".bmp", ".tiff", ".webp"}) {
    absl::StatusOr<cv::Mat> image = Decode(Encode(gray, ext));
    ASSERT_TRUE(image.ok()) << ext << ": " << image.status();
    ASSERT_EQ(image->type(), CV_8UC3) << ext;
    EXPECT_NEAR(image->at<cv::Vec3b>(4, 4)[0], 77, 2) << ext;
    EXPECT_NEAR(image->at<cv::Vec3b>(4, 4)[1], 77, 2) << ext;
    EXPECT_NEAR(image->at<cv::Vec3b>(4, 4)[2], 77, 2) << ext;
  }
}

TEST(ImageDecoderTest, AlphaIsCompositedOnWhite) {
  // Columns: transparent, opaque, half (alpha 128). BGR colour (10, 100, 200).
  cv::Mat bgra(4, 3, CV_8UC4);
  bgra.col(0).setTo(cv::Scalar(10, 100, 200, 0));
  bgra.col(1).setTo(cv::Scalar(10, 100, 200, 255));
  bgra.col(2).setTo(cv::Scalar(10, 100, 200, 128));
  // By hand: (c * 128 + 255 * 127) / 255 -> 10: 132.02, 100: 177.22, 200: 227.4.
  const cv::Vec3b half(132, 177, 227);
  const std::vector<std::pair<const char*, std::string>> files = {
      {"png", Encode(bgra, ".png")},
      {"webp", Encode(bgra, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101})},
      {"tiff", Encode(bgra, ".tiff")}};
  for (const auto& [name, bytes] : files) {
    absl::StatusOr<cv::Mat> image = Decode(bytes);
    ASSERT_TRUE(image.ok()) << name << ": " << image.status();
    ASSERT_EQ(image->type(), CV_8UC3);
    EXPECT_EQ(image->at<cv::Vec3b>(1, 0), cv::Vec3b(255, 255, 255)) << name;
    EXPECT_EQ(image->at<cv::Vec3b>(1, 1), cv::Vec3b(10, 100, 200)) << name;
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(image->at<cv::Vec3b>(1, 2)[c], half[c], 1) << name;
  }
}

TEST(ImageDecoderTest, GrayWithAlphaIsCompositedOnWhite) {
  // PNG colour type 4 (gray + alpha) written by hand: 2x1, gray 0 with alpha 0 and alpha 255.
  const std::string raw = std::string("\0\0\0\0\xFF", 5);  // filter byte, then (g, a) pairs
  // Stored (uncompressed) deflate block inside a zlib stream: header, block, Adler-32.
  std::string zlib = std::string("\x78\x01\x01", 3) + Le16(5) + Le16(0xFFFF ^ 5) + raw;
  uint32_t a = 1, b = 0;
  for (unsigned char ch : raw) a = (a + ch) % 65521, b = (b + a) % 65521;
  zlib += Be32(b << 16 | a);
  const std::string png = std::string("\x89PNG\r\n\x1A\n", 8) +
                          PngChunk("IHDR", Be32(2) + Be32(1) + "\x08\x04" + std::string(3, '\0')) +
                          PngChunk("IDAT", zlib) + PngChunk("IEND", "");
  absl::StatusOr<cv::Mat> image = Decode(png);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(image->at<cv::Vec3b>(0, 1), cv::Vec3b(0, 0, 0));
}

TEST(ImageDecoderTest, SixteenBitBecomesEightBit) {
  // 257 * v in 16 bits is v in 8 bits.
  const cv::Mat bgr16(6, 5, CV_16UC3, cv::Scalar(257 * 10, 257 * 128, 65535));
  cv::Mat bgra16(6, 5, CV_16UC4, cv::Scalar(257 * 10, 257 * 128, 65535, 65535));
  bgra16.col(0).setTo(cv::Scalar(0, 0, 0, 0));
  for (const auto& [name, bytes] :
       std::vector<std::pair<std::string, std::string>>{{"png", Encode(bgr16, ".png")},
                                                        {"tiff", Encode(bgr16, ".tiff")},
                                                        {"png alpha", Encode(bgra16, ".png")},
                                                        {"tiff alpha", Encode(bgra16, ".tiff")}}) {
    absl::StatusOr<cv::Mat> image = Decode(bytes);
    ASSERT_TRUE(image.ok()) << name << ": " << image.status();
    ASSERT_EQ(image->type(), CV_8UC3) << name;
    EXPECT_EQ(image->at<cv::Vec3b>(3, 2), cv::Vec3b(10, 128, 255)) << name;
    if (name.find("alpha") != std::string::npos) {
      EXPECT_EQ(image->at<cv::Vec3b>(3, 0), cv::Vec3b(255, 255, 255)) << name;
    }
  }
}

// A CMYK JPEG of one stored (inverted, as Photoshop writes it) ink everywhere.
std::string CmykJpeg(int width, int height, const uint8_t inverted_cmyk[4]) {
  return ::geoloc::testing::CmykJpeg(width, height, /*quality=*/95, [&](int, int, uint8_t* ink) {
    std::copy(inverted_cmyk, inverted_cmyk + 4, ink);
  });
}

TEST(ImageDecoderTest, CmykJpegBecomesRgb) {
  // Red is C=0 M=1 Y=1 K=0; Adobe stores 255 - value.
  const uint8_t red[4] = {255, 0, 0, 255};
  const uint8_t blue[4] = {0, 0, 255, 255};  // C=1 M=1 Y=0 K=0
  for (const auto& [ink, expected] :
       {std::pair{red, cv::Vec3b(0, 0, 255)}, std::pair{blue, cv::Vec3b(255, 0, 0)}}) {
    const std::string jpeg = CmykJpeg(24, 16, ink);
    absl::StatusOr<cv::Mat> image = Decode(jpeg);
    ASSERT_TRUE(image.ok()) << image.status();
    EXPECT_EQ(image->size(), cv::Size(24, 16));
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(image->at<cv::Vec3b>(8, 12)[c], expected[c], 8);
  }
}

// ---- EXIF orientation ------------------------------------------------------------------------

class OrientationTest : public ::testing::TestWithParam<int> {};

TEST_P(OrientationTest, EveryContainerComesOutUpright) {
  const int k = GetParam();
  const cv::Mat upright = Quadrants(64, 48);
  const cv::Mat stored = StoredForOrientation(upright, k);
  const std::string le = TiffOrientationBlock(k, false);
  const std::string be = TiffOrientationBlock(k, true);
  const std::string webp_simple = Encode(stored, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101});
  const std::vector<std::pair<std::string, std::string>> files = {
      {"jpeg LE exif", WithJpegExif(Encode(stored, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}), le)},
      {"jpeg BE exif", WithJpegExif(Encode(stored, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}), be)},
      {"progressive jpeg",
       WithJpegExif(Encode(stored, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}), le)},
      {"png eXIf", WithPngExif(Encode(stored, ".png"), be)},
      {"png eXIf with Exif prefix",
       WithPngExif(Encode(stored, ".png"), std::string("Exif\0\0", 6) + le)},
      {"webp EXIF", ExtendedWebp(webp_simple, stored.cols, stored.rows, 0, le)},
      {"tiff LE tag", MakeTiff(stored, false, k)},
      {"tiff BE tag", MakeTiff(stored, true, k)},
      {"tiff 16-bit tag", MakeTiff(stored, false, k, 16)}};
  for (const auto& [name, bytes] : files) {
    const std::string what = absl::StrCat(name, ", orientation ", k);
    absl::StatusOr<cv::Mat> image = Decode(bytes);
    ASSERT_TRUE(image.ok()) << what << ": " << image.status();
    EXPECT_EQ(image->size(), upright.size()) << what;
    ExpectQuadrants(*image, 12, what);
  }
}

TEST_P(OrientationTest, ReducedJpegDecodingKeepsOrientation) {
  const int k = GetParam();
  const cv::Mat upright = Quadrants(1000, 720);
  const std::string jpeg = WithJpegExif(Encode(StoredForOrientation(upright, k), ".jpg"),
                                        TiffOrientationBlock(k, false));
  absl::StatusOr<cv::Mat> image = Decode(jpeg, /*target_min_side=*/224);
  ASSERT_TRUE(image.ok()) << image.status();
  // Shorter side 720: 1/2 -> 360 and 1/4 -> 180 < 224, so the factor is 2.
  EXPECT_EQ(image->size(), cv::Size(500, 360)) << "orientation " << k;
  ExpectQuadrants(*image, 12, absl::StrCat("reduced, orientation ", k));
}

INSTANTIATE_TEST_SUITE_P(AllEight, OrientationTest, ::testing::Range(1, 9));

// Pins what OpenCV 4.6 does by itself (docs/IMAGES.md's table): DecodeImage relies on
// IMREAD_IGNORE_ORIENTATION for JPEG and on the TIFF reader orienting by itself. If an OpenCV
// upgrade changes either, this fails before images come out rotated twice.
TEST(ImageDecoderTest, OpenCvOrientationBehaviourIsAsDocumented) {
  const cv::Mat upright = Quadrants(64, 48);
  const cv::Mat stored = StoredForOrientation(upright, 6);  // 48 wide, 64 high
  const std::string jpeg = WithJpegExif(Encode(stored, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}),
                                        TiffOrientationBlock(6, false));
  const std::vector<uchar> jpeg_bytes(jpeg.begin(), jpeg.end());
  auto size = [](const std::vector<uchar>& bytes, int flags) {
    return cv::imdecode(bytes, flags).size();
  };
  EXPECT_EQ(size(jpeg_bytes, cv::IMREAD_COLOR), cv::Size(64, 48));            // applied
  EXPECT_EQ(size(jpeg_bytes, cv::IMREAD_REDUCED_COLOR_2), cv::Size(32, 24));  // applied
  EXPECT_EQ(size(jpeg_bytes, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION),
            cv::Size(48, 64));                                          // not applied
  EXPECT_EQ(size(jpeg_bytes, cv::IMREAD_UNCHANGED), cv::Size(48, 64));  // not applied
  const std::string png = WithPngExif(Encode(stored, ".png"), TiffOrientationBlock(6, false));
  const std::vector<uchar> png_bytes(png.begin(), png.end());
  EXPECT_EQ(size(png_bytes, cv::IMREAD_COLOR), cv::Size(64, 48));      // eXIf applied
  EXPECT_EQ(size(png_bytes, cv::IMREAD_UNCHANGED), cv::Size(48, 64));  // not applied
  const std::string webp = ExtendedWebp(Encode(stored, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}),
                                        48, 64, 0, TiffOrientationBlock(6, false));
  EXPECT_EQ(size(std::vector<uchar>(webp.begin(), webp.end()), cv::IMREAD_COLOR),
            cv::Size(48, 64));  // the EXIF chunk is never read
  const std::string tiff = MakeTiff(stored, false, 6);
  const std::vector<uchar> tiff_bytes(tiff.begin(), tiff.end());
  EXPECT_EQ(size(tiff_bytes, cv::IMREAD_UNCHANGED), cv::Size(64, 48));  // the TIFF reader orients
  EXPECT_EQ(size(tiff_bytes, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION), cv::Size(64, 48));
}

TEST(ImageDecoderTest, CorruptExifIsIgnoredNotFatal) {
  const cv::Mat image = Quadrants(32, 24);
  const std::string jpeg = Encode(image, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
  const std::string ii = std::string("II*\0", 4);
  const std::vector<std::pair<const char*, std::string>> blocks = {
      {"IFD0 offset past the end", ii + Le32(0xFFFFFF00u)},
      {"IFD0 inside the header", ii + Le32(4) + Le16(1)},
      {"IFD0 pointing at itself with 65535 entries",
       ii + Le32(8) + Le16(0xFFFF) + std::string(20, '\x12')},
      {"next IFD loops to IFD0",
       ii + Le32(8) + Le16(1) + Le16(0x8769) + Le16(4) + Le32(1) + Le32(8) + Le32(8)},
      {"orientation as LONG",
       ii + Le32(8) + Le16(1) + Le16(0x0112) + Le16(4) + Le32(1) + Le32(6) + Le32(0)},
      {"orientation 9", TiffOrientationBlock(9, false)},
      {"orientation 0", TiffOrientationBlock(0, true)},
      {"orientation count 1000 out of line",
       ii + Le32(8) + Le16(1) + Le16(0x0112) + Le16(3) + Le32(1000) + Le32(0xFFFF) + Le32(0)},
      {"truncated entry", ii + Le32(8) + Le16(3) + Le16(0x0112)},
      {"garbage", "not a tiff header at all"},
      {"empty", ""}};
  for (const auto& [name, block] : blocks) {
    absl::StatusOr<cv::Mat> decoded = Decode(WithJpegExif(jpeg, block));
    ASSERT_TRUE(decoded.ok()) << name << ": " << decoded.status();
    EXPECT_EQ(decoded->size(), image.size()) << name;
    ExpectQuadrants(*decoded, 12, name);  // unrotated: bad metadata means orientation 1
    absl::StatusOr<cv::Mat> png = Decode(WithPngExif(Encode(image, ".png"), block));
    ASSERT_TRUE(png.ok()) << name << ": " << png.status();
    ExpectQuadrants(*png, 0, name);
  }
}

// ---- Reduced JPEG decoding -------------------------------------------------------------------

TEST(ImageDecoderTest, ReducedDecodingPicksTheLargestFactorThatKeepsTheShortSide) {
  struct Case {
    int width, height, target;
    cv::Size expected;
  };
  const Case cases[] = {
      {4000, 3000, 224, {500, 375}},  // 3000/8 = 375 >= 224
      {2000, 1500, 224, {500, 375}},  // 1500/8 = 188 < 224; 1500/4 = 375
      {1000, 700, 224, {500, 350}},   // 700/4 = 175 < 224; 700/2 = 350
      {1001, 701, 224, {501, 351}},   // libjpeg rounds scaled sizes up
      {600, 448, 224, {300, 224}},    // 448/2 = 224: exactly enough
      {600, 447, 224, {300, 224}},    // 447/2 rounds up to 224: still enough
      {600, 446, 224, {600, 446}},    // 446/2 = 223 < 224: full size
      {1000, 700, 0, {1000, 700}},    // 0: never reduce
      {1000, 700, 700, {1000, 700}},  // already at the target
      {700, 4000, 224, {350, 2000}},  // portrait: the shorter side is the width
  };
  for (const Case& c : cases) {
    const std::string jpeg = Encode(Quadrants(c.width, c.height), ".jpg");
    absl::StatusOr<cv::Mat> image = Decode(jpeg, c.target);
    ASSERT_TRUE(image.ok()) << image.status();
    EXPECT_EQ(image->size(), c.expected) << c.width << "x" << c.height << " -> " << c.target;
    ExpectQuadrants(*image, 12, absl::StrCat(c.width, "x", c.height));
  }
}

TEST(ImageDecoderTest, OnlyJpegIsReduced) {
  for (const char* ext : {".png", ".webp", ".bmp", ".tiff"}) {
    absl::StatusOr<cv::Mat> image = Decode(Encode(Quadrants(1000, 700), ext), 224);
    ASSERT_TRUE(image.ok()) << ext << ": " << image.status();
    EXPECT_EQ(image->size(), cv::Size(1000, 700)) << ext;
  }
}

// ---- Limits and hostile input ----------------------------------------------------------------

void ExpectError(const absl::StatusOr<cv::Mat>& result, absl::StatusCode code,
                 const std::string& substring, const std::string& what) {
  ASSERT_FALSE(result.ok()) << what;
  EXPECT_EQ(result.status().code(), code) << what << ": " << result.status();
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(substring)) << what;
}

TEST(ImageDecoderTest, EmptyInputIsInvalid) {
  ExpectError(Decode(""), absl::StatusCode::kInvalidArgument, "empty", "empty");
  EXPECT_EQ(ReadImageHeader("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ImageDecoderTest, NonImagesAreInvalidAndSayWhatTheyLookLike) {
  ExpectError(Decode("Hello, this is a plain text file.\n"), absl::StatusCode::kInvalidArgument,
              "text", "text");
  ExpectError(Decode("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n"), absl::StatusCode::kInvalidArgument,
              "PDF", "pdf");
  ExpectError(Decode(std::string("\x00\x01\x02\x03\x04\x05\x06\x07\x08", 9)),
              absl::StatusCode::kInvalidArgument, "00 01 02 03", "binary");
  ExpectError(Decode(std::string("\0\0\0\x18"
                                 "ftypheic\0\0\0\0mif1heic",
                                 24)),
              absl::StatusCode::kUnimplemented, "HEIF", "heic");
  ExpectError(Decode(std::string("\xFF\xD8", 2)), absl::StatusCode::kInvalidArgument, "truncated",
              "two bytes of a JPEG signature");
}

TEST(ImageDecoderTest, RandomBytesNeverCrash) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 200; ++i) {
    std::string bytes(1 + rng() % 2000, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    absl::StatusOr<cv::Mat> result = Decode(bytes);
    EXPECT_FALSE(result.ok()) << "random bytes decoded, iteration " << i;
  }
}

TEST(ImageDecoderTest, MutatedImagesNeverCrash) {
  // Flip random bytes of valid files; whatever happens must be a status or a sane image.
  std::mt19937 rng(99);
  const cv::Mat image = Quadrants(40, 30);
  std::vector<std::string> seeds;
  for (const FormatCase& f : Formats()) seeds.push_back(f.encode(image));
  seeds.push_back(WithJpegExif(Encode(image, ".jpg"), TiffOrientationBlock(6, false)));
  for (const std::string& seed : seeds) {
    for (int i = 0; i < 60; ++i) {
      std::string bytes = seed;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      absl::StatusOr<cv::Mat> result = Decode(bytes, 0, 10'000);
      if (result.ok()) {
        EXPECT_EQ(result->type(), CV_8UC3);
        EXPECT_LE(int64_t{result->cols} * result->rows, 10'000);
      }
    }
  }
}

TEST(ImageDecoderTest, TruncatedFilesAreInvalid) {
  cv::Mat noise(120, 160, CV_8UC3);
  cv::randu(noise, 0, 256);
  const std::vector<std::pair<const char*, std::string>> files = {
      {"jpeg", Encode(noise, ".jpg")},
      {"progressive jpeg", Encode(noise, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1})},
      {"png", Encode(noise, ".png")},
      {"webp", Encode(noise, ".webp")},
      {"webp lossless", Encode(noise, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101})},
      {"bmp", Encode(noise, ".bmp")},
      {"tiff", MakeTiff(noise, true, 0)}};
  for (const auto& [name, bytes] : files) {
    ASSERT_TRUE(Decode(bytes).ok()) << name;
    for (double fraction : {0.0, 0.01, 0.1, 0.5, 0.9, 0.999}) {
      const size_t keep = std::max<size_t>(1, static_cast<size_t>(bytes.size() * fraction));
      const std::string what = absl::StrCat(name, " cut to ", keep, " of ", bytes.size());
      ExpectError(Decode(bytes.substr(0, keep)), absl::StatusCode::kInvalidArgument, "truncated",
                  what);
    }
    // One byte short is still caught (the last byte of JPEG's EOI, PNG's IEND CRC, ...).
    ExpectError(Decode(bytes.substr(0, bytes.size() - 1)), absl::StatusCode::kInvalidArgument,
                "truncated", absl::StrCat(name, " minus one byte"));
  }
}

TEST(ImageDecoderTest, DataAfterJpegEoiIsIgnored) {
  // Phones append MPF previews and vendor trailers after EOI.
  const std::string jpeg = Encode(Quadrants(64, 48), ".jpg") + "TRAILER\xFF\xD8\xFF garbage";
  absl::StatusOr<cv::Mat> image = Decode(jpeg);
  ASSERT_TRUE(image.ok()) << image.status();
  ExpectQuadrants(*image, 12, "jpeg with trailer");
}

TEST(ImageDecoderTest, MaxPixelsIsEnforcedOnTheHeader) {
  const std::string png = Encode(Quadrants(100, 100), ".png");
  EXPECT_TRUE(Decode(png, 0, 10'000).ok());
  ExpectError(Decode(png, 0, 9'999), absl::StatusCode::kResourceExhausted, "max_pixels",
              "100x100 over 9999");
  ExpectError(Decode(png, 0, 0), absl::StatusCode::kInvalidArgument, "max_pixels", "zero limit");
}

TEST(ImageDecoderTest, DecompressionBombsAreRefusedWithoutAllocating) {
  // Tiny files whose headers declare huge images; no pixel data follows.
  const std::string png_ihdr =
      std::string("\x89PNG\r\n\x1A\n", 8) +
      PngChunk("IHDR", Be32(100000) + Be32(100000) + "\x08\x02" + std::string(3, '\0'));
  // 20000 x 20000 is under OpenCV's own limit (2^30 pixels): only our check stands in the way.
  const std::string png_20k =
      std::string("\x89PNG\r\n\x1A\n", 8) +
      PngChunk("IHDR", Be32(20000) + Be32(20000) + "\x08\x02" + std::string(3, '\0')) +
      PngChunk("IDAT", std::string("\x78\x01", 2)) + PngChunk("IEND", "");
  const std::string jpeg_sof = std::string("\xFF\xD8", 2) + "\xFF\xC0" + Be16(17) + "\x08" +
                               Be16(65000) + Be16(65000) + "\x03" + std::string(9, '\x11');
  const std::string webp = ExtendedWebp(Encode(Quadrants(8, 8), ".webp"), 16000, 16000, 0, "");
  const std::string bmp = "BM" + Le32(54) + Le32(0) + Le32(54) + Le32(40) + Le32(30000) +
                          Le32(30000) + Le16(1) + Le16(24) + std::string(24, '\0');
  const std::string gif = std::string("GIF89a") + Le16(65535) + Le16(65535) + std::string(3, '\0');
  // ImageWidth and ImageLength are MakeTiff's first two IFD entries: LONG values at 18 and 30.
  std::string tiff = MakeTiff(Quadrants(2, 2), false, 0);
  tiff.replace(18, 4, Le32(70000));
  tiff.replace(30, 4, Le32(70000));
  const std::vector<std::pair<const char*, std::string>> bombs = {
      {"png 100000x100000", png_ihdr}, {"png 20000x20000", png_20k}, {"jpeg 65000x65000", jpeg_sof},
      {"webp 16000x16000", webp},      {"bmp 30000x30000", bmp},     {"gif 65535x65535", gif},
      {"tiff 70000x70000", tiff}};
  for (const auto& [name, data] : bombs) {
    ASSERT_LT(data.size(), 200u) << name;
    PeakAllocator allocator;
    absl::StatusOr<cv::Mat> result = Decode(data);
    ExpectError(result, absl::StatusCode::kResourceExhausted, "refused before decoding", name);
    EXPECT_LT(allocator.peak(), 1u << 20) << name << ": OpenCV allocated pixels";
  }
}

TEST(ImageDecoderTest, AbsurdSidesAreRefused) {
  // A zero side is corrupt; a side over 65535 is refused even when max_pixels would allow it.
  const std::string zero = std::string("\x89PNG\r\n\x1A\n", 8) +
                           PngChunk("IHDR", Be32(0) + Be32(10) + "\x08\x02" + std::string(3, '\0'));
  ExpectError(Decode(zero), absl::StatusCode::kInvalidArgument, "zero", "png width 0");
  const std::string jpeg_h0 = std::string("\xFF\xD8", 2) + "\xFF\xC0" + Be16(17) + "\x08" +
                              Be16(0) + Be16(100) + "\x03" + std::string(9, '\x11');
  ExpectError(Decode(jpeg_h0), absl::StatusCode::kInvalidArgument, "height 0", "jpeg height 0");
  const std::string wide =
      std::string("\x89PNG\r\n\x1A\n", 8) +
      PngChunk("IHDR", Be32(70000) + Be32(1) + "\x08\x02" + std::string(3, '\0'));
  ExpectError(Decode(wide, 0, int64_t{1} << 40), absl::StatusCode::kResourceExhausted, "65535",
              "png 70000x1");
  const std::string bad_depth =
      std::string("\x89PNG\r\n\x1A\n", 8) +
      PngChunk("IHDR", Be32(10) + Be32(10) + "\x03\x02" + std::string(3, '\0'));
  ExpectError(Decode(bad_depth), absl::StatusCode::kInvalidArgument, "bit depth 3", "png depth 3");
}

TEST(ImageDecoderTest, AmbiguousOrOversizedTiffIsRefused) {
  // A second ImageWidth could be the one libtiff believes, bypassing the size check.
  std::string twice = MakeTiff(Quadrants(4, 4), false, 0);
  twice.replace(22, 2, Le16(256));  // ImageLength's tag becomes a second ImageWidth
  ExpectError(Decode(twice), absl::StatusCode::kInvalidArgument, "twice", "duplicate width");
  // 64-bit samples and 5 samples per pixel would multiply the memory max_pixels bounds.
  std::string wide_samples = MakeTiff(Quadrants(4, 4), true, 0);
  // BitsPerSample is MakeTiff's third entry; its value field (at 10 + 24 + 8) holds the offset of
  // the three SHORTs, stored after the IFD.
  const size_t bits_at = 8 + 2 + 12 * 10 + 4;
  ASSERT_EQ(wide_samples.substr(10 + 24 + 8, 4), Be32(bits_at));
  wide_samples.replace(bits_at, 2, Be16(64));
  ExpectError(Decode(wide_samples), absl::StatusCode::kUnimplemented, "64-bit", "64-bit samples");
  std::string five = MakeTiff(Quadrants(4, 4), false, 0);
  five.replace(10 + 12 * 6 + 8, 2, Le16(5));  // SamplesPerPixel is the 7th entry
  ExpectError(Decode(five), absl::StatusCode::kUnimplemented, "5 samples", "5 samples");
}

TEST(ImageDecoderTest, TooManyProgressiveScansAreRefused) {
  // SOF2 then 501 minimal scans: a CPU bomb for libjpeg, refused before decoding.
  std::string jpeg = std::string("\xFF\xD8", 2) + "\xFF\xC2" + Be16(11) + "\x08" + Be16(16) +
                     Be16(16) + std::string("\x01\x01\x11\x00", 4);
  for (int i = 0; i < kMaxJpegScans + 1; ++i) {
    jpeg += std::string("\xFF\xDA", 2) + Be16(8) + std::string("\x01\x01\x00\x00\x3F\x00", 6) +
            "\x12\x34";
  }
  jpeg += "\xFF\xD9";
  ExpectError(Decode(jpeg), absl::StatusCode::kResourceExhausted, "scans", "501 scans");
}

TEST(ImageDecoderTest, UnsupportedVariantsAreUnimplemented) {
  const std::string gif = std::string("GIF89a") + Le16(2) + Le16(2) + std::string(3, '\0') + ";";
  ExpectError(Decode(gif), absl::StatusCode::kUnimplemented, "GIF", "gif");
  const std::string animated =
      ExtendedWebp(Encode(Quadrants(8, 8), ".webp"), 8, 8, /*animation flag*/ 0x02, "");
  ExpectError(Decode(animated), absl::StatusCode::kUnimplemented, "animated", "animated webp");
  const std::string jpeg12 = std::string("\xFF\xD8", 2) + "\xFF\xC0" + Be16(11) + "\x0C" + Be16(8) +
                             Be16(8) + std::string("\x01\x01\x11\x00", 4);
  ExpectError(Decode(jpeg12), absl::StatusCode::kUnimplemented, "12-bit", "12-bit jpeg");
}

}  // namespace
}  // namespace geoloc::model
