// The JPEG fast path (core/model/jpeg_decoder.h): OpenCV's pixels at every scale for every file it
// takes, and every file it does not take handed back.
#include "core/model/jpeg_decoder.h"

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "tests/support/forged_images.h"

namespace geoloc::model {
namespace {

// Smooth gradients with noise on top: every DCT coefficient and both chroma planes carry detail,
// so a different IDCT, upsampling or colour conversion shows in the pixels.
cv::Mat Texture(int width, int height, uint32_t seed) {
  cv::Mat image(height, width, CV_8UC3);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(-40, 40);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      cv::Vec3b& p = image.at<cv::Vec3b>(y, x);
      p[0] = cv::saturate_cast<uint8_t>(255 * x / width + noise(rng));
      p[1] = cv::saturate_cast<uint8_t>(255 * y / height + noise(rng));
      p[2] = cv::saturate_cast<uint8_t>(128 + noise(rng) * 3);
    }
  }
  return image;
}

std::string Jpeg(const cv::Mat& image, std::vector<int> params) {
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(".jpg", image, buf, params));
  return std::string(buf.begin(), buf.end());
}

int OpenCvFlag(int reduction) {
  switch (reduction) {
    case 2:
      return cv::IMREAD_REDUCED_COLOR_2;
    case 4:
      return cv::IMREAD_REDUCED_COLOR_4;
    case 8:
      return cv::IMREAD_REDUCED_COLOR_8;
    default:
      return cv::IMREAD_COLOR;
  }
}

cv::Mat OpenCvDecode(const std::string& bytes, int reduction) {
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
  return cv::imdecode(buffer, OpenCvFlag(reduction) | cv::IMREAD_IGNORE_ORIENTATION);
}

void ExpectSamePixels(const cv::Mat& ours, const cv::Mat& opencv, const std::string& what) {
  ASSERT_EQ(ours.size(), opencv.size()) << what;
  ASSERT_EQ(ours.type(), CV_8UC3) << what;
  ASSERT_EQ(opencv.type(), CV_8UC3) << what;
  EXPECT_EQ(cv::norm(ours, opencv, cv::NORM_INF), 0) << what;
}

TEST(JpegDecoderTest, GivesOpenCvsPixelsAtEveryScale) {
  struct Variant {
    const char* name;
    std::vector<int> params;
    bool gray;
  };
  const Variant variants[] = {
      {"baseline 4:2:0", {cv::IMWRITE_JPEG_QUALITY, 90}, false},
      {"quality 30", {cv::IMWRITE_JPEG_QUALITY, 30}, false},
      {"progressive", {cv::IMWRITE_JPEG_QUALITY, 85, cv::IMWRITE_JPEG_PROGRESSIVE, 1}, false},
      {"optimised Huffman", {cv::IMWRITE_JPEG_OPTIMIZE, 1}, false},
      {"restart intervals", {cv::IMWRITE_JPEG_RST_INTERVAL, 3}, false},
      {"grayscale", {cv::IMWRITE_JPEG_QUALITY, 90}, true},
  };
  for (const Variant& v : variants) {
    for (const cv::Size size : {cv::Size(37, 61), cv::Size(640, 480), cv::Size(1001, 701)}) {
      cv::Mat image = Texture(size.width, size.height, 7);
      if (v.gray) cv::extractChannel(image, image, 1);
      const std::string jpeg = Jpeg(image, v.params);
      for (int reduction : {1, 2, 4, 8}) {
        const std::string what =
            absl::StrCat(v.name, " ", size.width, "x", size.height, " at 1/", reduction);
        std::optional<cv::Mat> ours = DecodeJpegToBgr(jpeg, reduction);
        ASSERT_TRUE(ours.has_value()) << what;
        ExpectSamePixels(*ours, OpenCvDecode(jpeg, reduction), what);
      }
    }
  }
}

TEST(JpegDecoderTest, HandsBackWhatItDoesNotTake) {
  const std::string jpeg = Jpeg(Texture(64, 48, 1), {});
  ASSERT_TRUE(DecodeJpegToBgr(jpeg, 2).has_value());
  EXPECT_FALSE(DecodeJpegToBgr(jpeg, 3).has_value());  // not a DCT scale
  EXPECT_FALSE(DecodeJpegToBgr(jpeg, 0).has_value());
  // CMYK: OpenCV converts it itself.
  const std::string cmyk = ::geoloc::testing::CmykJpeg(
      24, 16, 90, [](int, int, uint8_t* ink) { ink[0] = ink[3] = 255, ink[1] = ink[2] = 0; });
  EXPECT_FALSE(DecodeJpegToBgr(cmyk, 1).has_value());
  // A scan cut short by an EOI: libjpeg patches it with a warning; the file goes back.
  const std::string cut = jpeg.substr(0, jpeg.size() / 2) + "\xFF\xD9";
  EXPECT_FALSE(DecodeJpegToBgr(cut, 1).has_value());
  // Not a JPEG at all: libjpeg's error, caught.
  EXPECT_FALSE(DecodeJpegToBgr("\xFF\xD8\xFF\xD9", 1).has_value());
  EXPECT_FALSE(DecodeJpegToBgr("GIF89a", 1).has_value());
  EXPECT_FALSE(DecodeJpegToBgr("", 1).has_value());
}

// Whatever the fast path takes, even from damaged files, is exactly what OpenCV decodes.
TEST(JpegDecoderTest, MutatedFilesEitherGoBackOrGiveOpenCvsPixels) {
  const std::string jpeg =
      Jpeg(Texture(160, 120, 3), {cv::IMWRITE_JPEG_QUALITY, 80, cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  std::mt19937 rng(11);
  int taken = 0, handed_back = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes = jpeg;
    const int flips = 1 + trial % 4;
    for (int f = 0; f < flips; ++f) {
      bytes[std::uniform_int_distribution<size_t>(2, bytes.size() - 3)(rng)] =
          static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    }
    const int reduction = 1 << (trial % 4);
    std::optional<cv::Mat> ours = DecodeJpegToBgr(bytes, reduction);
    if (!ours.has_value()) {
      ++handed_back;
      continue;
    }
    ++taken;
    ExpectSamePixels(*ours, OpenCvDecode(bytes, reduction), absl::StrCat("trial ", trial));
  }
  EXPECT_GT(taken, 0);  // byte flips in the entropy data often decode without a warning
  EXPECT_GT(handed_back, 0);
}

}  // namespace
}  // namespace geoloc::model
