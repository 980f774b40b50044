#include "hostile_corpus.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "tests/support/forged_images.h"

namespace geoloc::hardening {
namespace {

using absl::StatusCode;

using testing::Be16;
using testing::Be32;
using testing::BuildTiff;
using testing::ExifOrientationBlock;
using testing::Le16;
using testing::Le24;
using testing::Le32;
using testing::PngChunk;
using testing::TiffLayout;
using testing::TiffTag;
using testing::WithJpegExif;
using testing::tiff::kAscii;
using testing::tiff::kLong;
using testing::tiff::kShort;

// ---- Bytes ----------------------------------------------------------------------------------

uint32_t Adler32(absl::string_view data) {
  uint32_t a = 1, b = 0;
  for (unsigned char c : data) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  return b << 16 | a;
}

// ---- Pictures and standard encodings ---------------------------------------------------------

// A deterministic picture with structure in both directions (gradients and a diagonal pattern).
cv::Mat Picture(int width, int height, int type = CV_8UC3) {
  cv::Mat m(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(x * 255 / std::max(1, width - 1)),
                                        static_cast<uint8_t>(y * 255 / std::max(1, height - 1)),
                                        static_cast<uint8_t>(((x / 4 + y / 4) % 2) * 200 + 20));
    }
  }
  if (type == CV_8UC3) return m;
  cv::Mat out;
  switch (type) {
    case CV_8UC1:
      cv::extractChannel(m, out, 1);
      return out;
    case CV_8UC4: {
      std::vector<cv::Mat> planes;
      cv::split(m, planes);
      planes.push_back(cv::Mat(height, width, CV_8UC1, cv::Scalar(128)));
      cv::merge(planes, out);
      return out;
    }
    case CV_16UC3:
      m.convertTo(out, CV_16UC3, 257.0);
      return out;
    default:
      std::abort();  // a bug in this file
  }
}

std::string Encode(const cv::Mat& image, const std::string& ext, const std::vector<int>& params = {}) {
  std::vector<uchar> buffer;
  if (!cv::imencode(ext, image, buffer, params)) std::abort();  // the build lacks a codec
  return std::string(buffer.begin(), buffer.end());
}

// A CMYK JPEG with gradients in cyan and magenta (libjpeg: OpenCV cannot write CMYK).
std::string CmykJpeg(int width, int height) {
  return testing::CmykJpeg(width, height, /*quality=*/90, [&](int x, int y, uint8_t* ink) {
    ink[0] = static_cast<uint8_t>(255 - x * 255 / std::max(1, width - 1));
    ink[1] = static_cast<uint8_t>(255 - y * 255 / std::max(1, height - 1));
    ink[2] = 200;
    ink[3] = 230;
  });
}

// ---- PNG by hand (stored deflate blocks: no zlib needed) -------------------------------------

std::string PngSignature() { return std::string("\x89PNG\r\n\x1A\n", 8); }

std::string Ihdr(uint32_t width, uint32_t height, int depth, int color_type) {
  return PngChunk("IHDR", Be32(width) + Be32(height) + static_cast<char>(depth) +
                              static_cast<char>(color_type) + std::string(3, '\0'));
}

// A zlib stream of stored (uncompressed) deflate blocks.
std::string ZlibStored(absl::string_view data) {
  std::string out("\x78\x01", 2);
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(65535, data.size() - pos);
    const bool last = pos + n == data.size();
    out += static_cast<char>(last ? 1 : 0);
    out += Le16(static_cast<uint32_t>(n)) + Le16(static_cast<uint32_t>(~n & 0xFFFF));
    out.append(data.data() + pos, n);
    pos += n;
  } while (pos < data.size());
  return out + Be32(Adler32(data));
}

// `samples(x, y)` returns the bytes of one pixel; rows get filter type 0.
template <typename PixelFn>
std::string HandPng(int width, int height, int depth, int color_type, PixelFn pixel,
                    const std::string& extra_chunks_before_idat = "") {
  std::string raw;
  for (int y = 0; y < height; ++y) {
    raw += '\0';
    raw += pixel(y);
  }
  return PngSignature() + Ihdr(width, height, depth, color_type) + extra_chunks_before_idat +
         PngChunk("IDAT", ZlibStored(raw)) + PngChunk("IEND", "");
}

// ---- TIFF by hand -----------------------------------------------------------------------------

// An uncompressed 8-bit RGB TIFF of the test picture, with `extra` tags merged in (by tag order).
std::vector<TiffTag> RgbTiffTags(int width, int height) {
  const uint32_t w = static_cast<uint32_t>(width), h = static_cast<uint32_t>(height);
  return {
      {256, kLong, 1, {w}, std::nullopt},                 // ImageWidth
      {257, kLong, 1, {h}, std::nullopt},                 // ImageLength
      {258, kShort, 3, {8, 8, 8}, std::nullopt},          // BitsPerSample
      {259, kShort, 1, {1}, std::nullopt},                // Compression: none
      {262, kShort, 1, {2}, std::nullopt},                // PhotometricInterpretation: RGB
      {273, kLong, 1, {testing::tiff::kAtTrailer}, std::nullopt},         // StripOffsets
      {277, kShort, 1, {3}, std::nullopt},                // SamplesPerPixel
      {278, kLong, 1, {h}, std::nullopt},                 // RowsPerStrip
      {279, kLong, 1, {w * h * 3}, std::nullopt},         // StripByteCounts
      {284, kShort, 1, {1}, std::nullopt},                // PlanarConfiguration: chunky
  };
}

std::string RgbPixels(int width, int height) {
  const cv::Mat bgr = Picture(width, height);
  std::string out;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const cv::Vec3b p = bgr.at<cv::Vec3b>(y, x);
      out += {static_cast<char>(p[2]), static_cast<char>(p[1]), static_cast<char>(p[0])};
    }
  }
  return out;
}

std::vector<TiffTag> WithTags(std::vector<TiffTag> tags, const std::vector<TiffTag>& extra) {
  tags.insert(tags.end(), extra.begin(), extra.end());
  std::stable_sort(tags.begin(), tags.end(),
                   [](const TiffTag& a, const TiffTag& b) { return a.tag < b.tag; });
  return tags;
}

std::vector<TiffTag> Without(std::vector<TiffTag> tags, uint16_t tag) {
  tags.erase(std::remove_if(tags.begin(), tags.end(), [&](const TiffTag& t) { return t.tag == tag; }),
             tags.end());
  return tags;
}

void SetTag(std::vector<TiffTag>* tags, uint16_t tag, std::vector<uint32_t> values) {
  for (TiffTag& t : *tags) {
    if (t.tag == tag) t.values = std::move(values);
  }
}

// ---- BMP by hand ------------------------------------------------------------------------------

// A BITMAPINFOHEADER BMP; `pixels` are appended as given (bottom-up 24-bit rows padded to 4).
std::string Bmp(int32_t width, int32_t height, uint16_t bpp, const std::string& pixels) {
  const uint32_t offset = 14 + 40;
  std::string out = "BM" + Le32(offset + static_cast<uint32_t>(pixels.size())) + Le32(0) +
                    Le32(offset);
  out += Le32(40) + Le32(static_cast<uint32_t>(width)) + Le32(static_cast<uint32_t>(height)) +
         Le16(1) + Le16(bpp) + Le32(0) + Le32(static_cast<uint32_t>(pixels.size())) +
         Le32(2835) + Le32(2835) + Le32(0) + Le32(0);
  return out + pixels;
}

std::string Bmp24Pixels(int width, int height) {
  const cv::Mat bgr = Picture(width, height);
  const int stride = (width * 3 + 3) / 4 * 4;
  std::string out;
  for (int y = 0; y < height; ++y) {
    std::string row;
    for (int x = 0; x < width; ++x) {
      const cv::Vec3b p = bgr.at<cv::Vec3b>(y, x);
      row += {static_cast<char>(p[0]), static_cast<char>(p[1]), static_cast<char>(p[2])};
    }
    row.resize(static_cast<size_t>(stride), '\0');
    out += row;
  }
  return out;
}

// ---- GIF and WebP by hand ---------------------------------------------------------------------

// GIF89a, 1x1 screen, a 2-colour global table, the NETSCAPE looping extension and two 1x1
// frames of different colours (the classic minimal LZW stream: clear, index, end).
std::string AnimatedGif() {
  std::string out = "GIF89a" + Le16(1) + Le16(1) + "\x80" + std::string(2, '\0');
  out += std::string("\xFF\x00\x00\x00\x00\xFF", 6);  // red, blue
  out += std::string("\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00", 19);
  for (const char* lzw : {"\x02\x02\x44\x01\x00", "\x02\x02\x4C\x01\x00"}) {
    out += std::string("\x21\xF9\x04\x00\x0A\x00\x00\x00", 8);  // 100 ms per frame
    out += "\x2C" + Le16(0) + Le16(0) + Le16(1) + Le16(1) + std::string(1, '\0');
    out += std::string(lzw, 5);
  }
  return out + "\x3B";
}

std::string RiffWebp(const std::string& body) {
  return "RIFF" + Le32(static_cast<uint32_t>(4 + body.size())) + "WEBP" + body;
}

// The first chunk (VP8 or VP8L, with its header and padding) of a simple WebP file.
std::string FirstWebpChunk(const std::string& webp) {
  const uint32_t size = static_cast<uint8_t>(webp[16]) | static_cast<uint8_t>(webp[17]) << 8 |
                        static_cast<uint8_t>(webp[18]) << 16 |
                        static_cast<uint32_t>(static_cast<uint8_t>(webp[19])) << 24;
  return webp.substr(12, 8 + size + (size & 1));
}

std::string Vp8x(uint8_t flags, int width, int height) {
  return "VP8X" + Le32(10) + static_cast<char>(flags) + std::string(3, '\0') +
         Le24(static_cast<uint32_t>(width - 1)) + Le24(static_cast<uint32_t>(height - 1));
}

std::string AnimatedWebp(const std::string& still, int width, int height) {
  const std::string frame = FirstWebpChunk(still);
  std::string body = Vp8x(0x02, width, height);
  body += "ANIM" + Le32(6) + Le32(0xFFFFFFFFu) + Le16(0);
  for (int i = 0; i < 2; ++i) {
    body += "ANMF" + Le32(static_cast<uint32_t>(16 + frame.size())) + Le24(0) + Le24(0) +
            Le24(static_cast<uint32_t>(width - 1)) + Le24(static_cast<uint32_t>(height - 1)) +
            Le24(100) + std::string(1, '\0') + frame;
  }
  return RiffWebp(body);
}

// ---- JPEG by hand -----------------------------------------------------------------------------

// SOI and a frame header only: enough for the server to read the declared size.
std::string JpegSofOnly(uint8_t sof, int precision, int width, int height) {
  std::string sof_body = std::string(1, static_cast<char>(precision)) +
                         Be16(static_cast<uint32_t>(height)) + Be16(static_cast<uint32_t>(width)) +
                         "\x03";
  for (int c = 1; c <= 3; ++c) sof_body += {static_cast<char>(c), '\x11', '\0'};
  return std::string("\xFF\xD8", 2) + testing::JpegSegment(sof, sof_body);
}

// A progressive frame followed by `scans` tiny scans, then EOI: each scan is legal on its own.
std::string JpegScanBomb(int scans) {
  std::string out = JpegSofOnly(0xC2, 8, 8, 8);
  const std::string sos = testing::JpegSegment(0xDA, std::string("\x01\x01\x00\x00\x00\x00", 6));
  for (int i = 0; i < scans; ++i) out += sos + std::string(1, '\0');
  return out + "\xFF\xD9";
}

size_t FindOrDie(const std::string& haystack, absl::string_view needle) {
  const size_t at = haystack.find(needle.data(), 0, needle.size());
  if (at == std::string::npos) std::abort();
  return at;
}

// ---- EXIF blocks (little-endian TIFF structures) ----------------------------------------------

std::string IfdEntry(uint16_t tag, uint16_t type, uint32_t count, uint32_t value) {
  return Le16(tag) + Le16(type) + Le32(count) + Le32(value);
}

const std::string kIi("II*\0", 4);

}  // namespace

std::string EncodeTestJpeg(int width, int height, bool progressive, bool gray) {
  std::vector<int> params = {cv::IMWRITE_JPEG_QUALITY, 90};
  if (progressive) params.insert(params.end(), {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  return Encode(Picture(width, height, gray ? CV_8UC1 : CV_8UC3), ".jpg", params);
}

std::string EncodeTestPng(int width, int height) { return Encode(Picture(width, height), ".png"); }

std::vector<HostileEntry> HostileCorpus(const CorpusOptions& options) {
  std::vector<HostileEntry> c;
  auto add = [&](std::string name, std::string bytes, StatusCode expected, std::string why) {
    c.push_back(HostileEntry{std::move(name), std::move(bytes), expected, std::move(why), false});
  };
  constexpr StatusCode kOk = StatusCode::kOk;
  constexpr StatusCode kInvalid = StatusCode::kInvalidArgument;
  constexpr StatusCode kTooLarge = StatusCode::kResourceExhausted;

  // Sides that pass the per-side limit (65535) but exceed max_image_pixels together.
  const int64_t max_pixels = options.max_image_pixels;
  const int square_side = static_cast<int>(
      std::min<int64_t>(65535, static_cast<int64_t>(std::sqrt(static_cast<double>(max_pixels))) + 1));
  const int wide_height = static_cast<int>(std::min<int64_t>(65535, max_pixels / 65535 + 1));

  // -- Not images at all --
  add("empty", "", kInvalid, "no bytes at all");
  {
    std::mt19937 rng(20240229);
    std::string bytes(4096, '\0');
    for (char& b : bytes) b = static_cast<char>(rng() & 0xFF);
    bytes[0] = '\0';  // no image signature can start with 00 01 02
    bytes[1] = '\x01';
    bytes[2] = '\x02';
    add("random_bytes", bytes, kInvalid, "4 KiB of noise (mt19937, fixed seed)");
  }
  add("one_byte_ff", "\xFF", kInvalid, "one byte: a prefix of the JPEG signature");
  add("pdf_header",
      "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
      "trailer\n<< /Root 1 0 R >>\n%%EOF\n",
      kInvalid, "a PDF document");
  add("text_file",
      "Flooding at the corner of Main Street and 3rd Avenue, water rising fast.\n"
      "Sent from my phone\n",
      kInvalid, "plain text");
  add("svg_xml",
      "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" "
      "height=\"10\"><rect width=\"10\" height=\"10\"/></svg>",
      kInvalid, "SVG (XML text), not a raster image");
  add("heic_ftyp",
      std::string("\0\0\0\x18" "ftypheic\0\0\0\0mif1heic", 24) + std::string(64, '\x5A'),
      kInvalid, "an ISO-BMFF HEIC header: a format geoloc does not read");

  // -- JPEG --
  const std::string jpeg = EncodeTestJpeg(160, 120);
  add("jpeg_1x1", EncodeTestJpeg(1, 1), kOk, "the smallest JPEG");
  add("jpeg_baseline", jpeg, kOk, "a plain 160x120 baseline JPEG");
  add("jpeg_progressive", EncodeTestJpeg(160, 120, true), kOk, "a progressive JPEG");
  add("jpeg_grayscale", EncodeTestJpeg(96, 64, false, true), kOk, "a one-component JPEG");
  add("jpeg_cmyk_adobe", CmykJpeg(96, 64), kOk, "a CMYK JPEG with the Adobe marker");
  add("jpeg_restart_intervals",
      Encode(Picture(96, 64), ".jpg", {cv::IMWRITE_JPEG_RST_INTERVAL, 1}), kOk,
      "RST markers after every MCU");
  add("jpeg_trailing_garbage", jpeg + std::string(300, '\x7F'), kOk,
      "bytes after EOI are ignored");
  {
    const size_t sos = FindOrDie(jpeg, "\xFF\xDA");
    add("jpeg_cut_after_soi", jpeg.substr(0, 2), kInvalid, "only the SOI marker");
    add("jpeg_cut_in_header", jpeg.substr(0, 20), kInvalid, "cut inside the first segments");
    add("jpeg_cut_before_scan", jpeg.substr(0, sos), kInvalid, "every header, no scan");
    add("jpeg_cut_early_in_scan", jpeg.substr(0, sos + 40), kInvalid, "cut 40 bytes into the scan");
    add("jpeg_cut_mid_scan", jpeg.substr(0, (sos + jpeg.size()) / 2), kInvalid,
        "cut in the middle of the scan");
    add("jpeg_cut_before_eoi", jpeg.substr(0, jpeg.size() - 2), kInvalid, "only EOI missing");
  }
  add("jpeg_sof_65000x65000", JpegSofOnly(0xC0, 8, 65000, 65000), kTooLarge,
      "a frame header declaring 65000x65000 (4.2 gigapixels), no data");
  add("jpeg_sof_over_max_pixels", JpegSofOnly(0xC0, 8, 65535, wide_height), kTooLarge,
      absl::StrCat("65535x", wide_height, ": each side legal, the product over max_image_pixels"));
  add("jpeg_sof_zero_width", JpegSofOnly(0xC0, 8, 0, 100), kInvalid, "width 0");
  add("jpeg_12_bit", JpegSofOnly(0xC1, 12, 16, 16), kInvalid, "12-bit samples (unsupported)");
  add("jpeg_scan_bomb", JpegScanBomb(600), kTooLarge,
      "a progressive JPEG with 600 scans: a CPU bomb (limit 500)");
  // Broken EXIF must never fail a decode: the image is upright as stored.
  add("jpeg_exif_ifd_offset_past_end", WithJpegExif(jpeg, kIi + Le32(0xFFFFFF00u)), kOk,
      "EXIF whose IFD0 offset points 4 GiB away");
  add("jpeg_exif_ifd_offset_in_header", WithJpegExif(jpeg, kIi + Le32(4) + Le16(1)), kOk,
      "EXIF whose IFD0 offset points into its own header");
  add("jpeg_exif_ifd_loops",
      WithJpegExif(jpeg, kIi + Le32(8) + Le16(3) + IfdEntry(0x0112, kShort, 1, 1) +
                             IfdEntry(0x8769, kLong, 1, 8) + IfdEntry(0x8825, kLong, 1, 8) +
                             Le32(8)),
      kOk, "IFD0's Exif and GPS sub-IFDs and its next-IFD link all point back at IFD0");
  add("jpeg_exif_huge_counts",
      WithJpegExif(jpeg, kIi + Le32(8) + Le16(0xFFFF) +
                             IfdEntry(0x010F, kAscii, 0xFFFFFFFFu, 0x20) +
                             IfdEntry(0x010E, kAscii, 0x100, 0xFFFFFFF0u) +
                             IfdEntry(0x0112, kShort, 0xFFFFFFFFu, 0x30) + Le32(0)),
      kOk, "65535 IFD entries declared (3 present), counts of 4 G, offsets past the end");
  add("jpeg_exif_big_endian_garbage",
      WithJpegExif(jpeg, std::string("MM\0*", 4) + Be32(8) + Be16(2) + std::string(40, '\xEE')),
      kOk, "big-endian EXIF with 0xEE garbage entries");
  add("jpeg_exif_empty", WithJpegExif(jpeg, ""), kOk, "an APP1 Exif header with no TIFF block");
  add("jpeg_exif_orientation_6", WithJpegExif(jpeg, ExifOrientationBlock(6)), kOk,
      "a valid rotation (control)");
  for (uint16_t v : {0, 9, 65535}) {
    add(absl::StrCat("jpeg_exif_orientation_", v), WithJpegExif(jpeg, ExifOrientationBlock(v)), kOk,
        absl::StrCat("EXIF Orientation ", v, " (valid: 1-8) is ignored"));
  }

  // -- PNG --
  const std::string png = EncodeTestPng(160, 120);
  add("png_1x1", EncodeTestPng(1, 1), kOk, "the smallest PNG");
  add("png_rgb", png, kOk, "a plain 160x120 RGB PNG");
  add("png_gray8", Encode(Picture(64, 48, CV_8UC1), ".png"), kOk, "8-bit grayscale");
  add("png_rgba8", Encode(Picture(64, 48, CV_8UC4), ".png"), kOk, "RGB with alpha");
  add("png_rgb16", Encode(Picture(64, 48, CV_16UC3), ".png"), kOk, "16 bits per sample");
  add("png_gray_alpha8",
      HandPng(32, 24, 8, 4,
              [](int y) {
                std::string row;
                for (int x = 0; x < 32; ++x) row += {static_cast<char>(x * 8), static_cast<char>(y * 10)};
                return row;
              }),
      kOk, "grayscale with alpha (colour type 4)");
  add("png_gray16",
      HandPng(32, 24, 16, 0,
              [](int y) {
                std::string row;
                for (int x = 0; x < 32; ++x) row += Be16(static_cast<uint32_t>(x * 2000 + y * 50));
                return row;
              }),
      kOk, "16-bit grayscale");
  add("png_gray1",
      HandPng(32, 24, 1, 0, [](int y) { return std::string(4, static_cast<char>(y % 2 ? 0xAA : 0x55)); }),
      kOk, "1-bit grayscale");
  add("png_palette",
      HandPng(32, 24, 8, 3,
              [](int y) {
                std::string row;
                for (int x = 0; x < 32; ++x) row += static_cast<char>((x + y) % 4);
                return row;
              },
              PngChunk("PLTE", std::string("\xFF\x00\x00\x00\xFF\x00\x00\x00\xFF\xFF\xFF\xFF", 12))),
      kOk, "a 4-colour palette image");
  add("png_exif_ifd_loops",
      HandPng(32, 24, 8, 0, [](int y) { return std::string(32, static_cast<char>(y * 10)); },
              PngChunk("eXIf", kIi + Le32(8) + Le16(1) + IfdEntry(0x8769, kLong, 1, 8) + Le32(8))),
      kOk, "an eXIf chunk whose sub-IFD and next-IFD point back at IFD0");
  {
    const size_t idat = FindOrDie(png, "IDAT") - 4;
    add("png_cut_in_signature", png.substr(0, 4), kInvalid, "half the signature");
    add("png_cut_in_ihdr", png.substr(0, 20), kInvalid, "cut inside IHDR");
    add("png_cut_mid_idat", png.substr(0, idat + (png.size() - idat) / 2), kInvalid,
        "cut in the middle of the image data");
    add("png_cut_before_iend", png.substr(0, png.size() - 12), kInvalid, "only IEND missing");
    std::string bad_crc = png;
    const uint32_t idat_length = static_cast<uint8_t>(png[idat]) << 24 |
                                 static_cast<uint8_t>(png[idat + 1]) << 16 |
                                 static_cast<uint8_t>(png[idat + 2]) << 8 |
                                 static_cast<uint8_t>(png[idat + 3]);
    bad_crc[idat + 8 + idat_length] ^= 0x5A;
    add("png_idat_bad_crc", bad_crc, kInvalid, "IDAT's CRC does not match (corrupt data)");
  }
  add("png_ihdr_100000x100000", PngSignature() + Ihdr(100000, 100000, 8, 2), kTooLarge,
      "IHDR declaring 100000x100000 (a side over 65535), no data");
  add("png_over_max_pixels",
      PngSignature() + Ihdr(square_side, square_side, 8, 2) +
          PngChunk("IDAT", std::string("\x78\x01", 2)) + PngChunk("IEND", ""),
      kTooLarge,
      absl::StrCat(square_side, "x", square_side, ": each side legal, the product over max_image_pixels"));
  add("png_zero_width", PngSignature() + Ihdr(0, 10, 8, 2) + PngChunk("IEND", ""), kInvalid,
      "width 0");
  add("png_chunk_length_2gib",
      png.substr(0, 33) + Be32(0x7FFFFFF0u) + "tEXt" + std::string(16, 'a'), kInvalid,
      "a chunk claiming 2 GiB, cut short");

  // -- GIF and WebP --
  add("gif_animated", AnimatedGif(), kInvalid, "a 2-frame GIF89a (GIF is not supported)");
  const std::string webp = Encode(Picture(64, 48), ".webp", {cv::IMWRITE_WEBP_QUALITY, 90});
  add("webp_still", webp, kOk, "a lossy still WebP");
  add("webp_animated", AnimatedWebp(webp, 64, 48), kInvalid,
      "RIFF/VP8X/ANIM/ANMF with 2 frames (animated WebP is not supported)");
  add("webp_cut", webp.substr(0, webp.size() * 2 / 3), kInvalid, "the RIFF size runs past the end");
  add("webp_vp8x_16000x16000", RiffWebp(Vp8x(0, 16000, 16000) + FirstWebpChunk(webp)), kTooLarge,
      "a VP8X canvas of 16000x16000");

  // -- BMP --
  add("bmp_24bit", Encode(Picture(64, 48), ".bmp"), kOk, "a plain 24-bit BMP");
  add("bmp_top_down", Bmp(40, -30, 24, Bmp24Pixels(40, 30)), kOk,
      "negative height: rows stored top-down (legal)");
  add("bmp_negative_huge_height", Bmp(16, -2'000'000, 24, ""), kTooLarge,
      "height -2,000,000 (a side over 65535)");
  add("bmp_huge_height", Bmp(16, 2'000'000, 24, ""), kTooLarge, "height 2,000,000");
  add("bmp_30000x30000", Bmp(30000, 30000, 24, ""), kTooLarge, "900 megapixels declared, no data");
  add("bmp_height_int32_min", Bmp(16, INT32_MIN, 24, ""), kInvalid,
      "height -2^31: its magnitude is not a valid size");
  add("bmp_negative_width", Bmp(-16, 16, 24, Bmp24Pixels(16, 16)), kInvalid, "width -16");
  add("bmp_pixels_cut", Bmp(64, 48, 24, Bmp24Pixels(64, 48).substr(0, 64 * 3 * 20)), kInvalid,
      "pixel rows missing at the end");

  // -- TIFF --
  const std::string pixels = RgbPixels(32, 24);
  const std::vector<TiffTag> rgb = RgbTiffTags(32, 24);
  add("tiff_rgb_le", BuildTiff(rgb, pixels), kOk, "an uncompressed little-endian RGB TIFF");
  add("tiff_rgb_be", BuildTiff(rgb, pixels, {true, {}, {}, {}}), kOk, "the same, big-endian");
  add("tiff_unknown_tags",
      BuildTiff(WithTags(rgb, {{0x9C9C, 99, 1, {}, 0x12345678u},       // a type that does not exist
                               {0xC0DE, kLong, 0x10000000u, {}, 0xFFFFFF00u},  // 1 G values, past the end
                               {0xFDE8, kAscii, 0, {}, 0}}),         // zero-length string
                pixels),
      kOk, "private tags with an unknown type, a 1 G count and zero length (readers skip them)");
  add("tiff_orientation_65535",
      BuildTiff(WithTags(rgb, {{274, kShort, 1, {65535}, std::nullopt}}), pixels), kOk,
      "Orientation 65535 is ignored");
  add("tiff_next_ifd_loops", BuildTiff(rgb, pixels, {false, {}, 8u, {}}), kOk,
      "IFD0's next-IFD link points at IFD0 (only the first image is read)");
  {
    std::vector<TiffTag> twice = rgb;
    twice[1].tag = 256;  // ImageLength becomes a second ImageWidth
    add("tiff_width_twice", BuildTiff(twice, pixels), kInvalid,
        "ImageWidth twice, ImageLength missing: which size is true?");
  }
  add("tiff_no_strips", BuildTiff(Without(Without(rgb, 273), 279), pixels), kInvalid,
      "no StripOffsets or StripByteCounts: no image data");
  {
    std::vector<TiffTag> past = rgb;
    SetTag(&past, 273, {0x00FFFFFFu});
    add("tiff_strip_past_end", BuildTiff(past, pixels), kInvalid, "the strip lies past the end");
    std::vector<TiffTag> table = rgb;
    for (TiffTag& t : table) {
      if (t.tag == 273) t = {273, kLong, 0x40000000u, {}, 0x100u};  // a 4 GiB offset table
    }
    add("tiff_strip_table_4gib", BuildTiff(table, pixels), kInvalid,
        "2^30 strip offsets declared in a file of a few KiB");
  }
  add("tiff_ifd0_past_end", BuildTiff(rgb, pixels, {false, 0x7FFFFFF0u, {}, {}}), kInvalid,
      "IFD0's offset is past the end");
  add("tiff_zero_entries", BuildTiff(rgb, pixels, {false, {}, {}, uint16_t{0}}), kInvalid,
      "IFD0 declares no entries");
  {
    std::vector<TiffTag> five = rgb;
    SetTag(&five, 277, {5});
    add("tiff_5_samples", BuildTiff(five, pixels), kInvalid,
        "5 samples per pixel (unsupported: more memory per pixel than max_pixels accounts for)");
    std::vector<TiffTag> huge = rgb;
    SetTag(&huge, 256, {70000});
    SetTag(&huge, 257, {70000});
    add("tiff_70000x70000", BuildTiff(huge, pixels), kTooLarge, "70000x70000 declared");
  }

  // -- The message itself --
  {
    std::string bytes = EncodeTestJpeg(64, 48);
    bytes.resize(static_cast<size_t>(options.max_message_bytes) + 1, '\0');  // after EOI: ignored
    c.push_back(HostileEntry{"oversized_message", std::move(bytes), kTooLarge,
                             "a valid JPEG padded past --max_message_bytes: gRPC refuses the "
                             "message before geolocd sees it",
                             true});
  }
  return c;
}

}  // namespace geoloc::hardening
