#include "core/model/image_header.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/model/tiff_reader.h"

namespace geoloc::model {
namespace {

// ---- Bounds-checked byte access -------------------------------------------------------------

// A view of the input; every accessor is guarded by Has(), which cannot overflow.
class Bytes {
 public:
  explicit Bytes(absl::string_view data) : data_(data) {}

  size_t size() const { return data_.size(); }
  bool Has(size_t offset, size_t n) const {
    return offset <= data_.size() && n <= data_.size() - offset;
  }
  uint8_t U8(size_t offset) const { return static_cast<uint8_t>(data_[offset]); }
  uint16_t Be16(size_t o) const { return static_cast<uint16_t>(U8(o) << 8 | U8(o + 1)); }
  uint16_t Le16(size_t o) const { return static_cast<uint16_t>(U8(o + 1) << 8 | U8(o)); }
  uint32_t Be32(size_t o) const {
    return uint32_t{U8(o)} << 24 | uint32_t{U8(o + 1)} << 16 | uint32_t{U8(o + 2)} << 8 | U8(o + 3);
  }
  uint32_t Le32(size_t o) const {
    return uint32_t{U8(o + 3)} << 24 | uint32_t{U8(o + 2)} << 16 | uint32_t{U8(o + 1)} << 8 | U8(o);
  }
  uint32_t Le24(size_t o) const {
    return uint32_t{U8(o + 2)} << 16 | uint32_t{U8(o + 1)} << 8 | U8(o);
  }
  bool Matches(size_t offset, absl::string_view s) const {
    return Has(offset, s.size()) && data_.substr(offset, s.size()) == s;
  }
  absl::string_view Sub(size_t offset, size_t n) const { return data_.substr(offset, n); }
  // Offset of the next 0xFF at or after `from`, or size() when there is none.
  size_t FindFF(size_t from) const {
    if (from >= data_.size()) return data_.size();
    const void* hit = std::memchr(data_.data() + from, 0xFF, data_.size() - from);
    return hit == nullptr ? data_.size()
                          : static_cast<size_t>(static_cast<const char*>(hit) - data_.data());
  }

 private:
  absl::string_view data_;
};

absl::Status Invalid(absl::string_view format, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(format, ": ", what));
}

absl::Status Truncated(absl::string_view format, absl::string_view where) {
  return absl::InvalidArgumentError(
      absl::StrCat(format, ": the data ends inside ", where, " (truncated input)"));
}

absl::Status CheckSides(absl::string_view format, int64_t width, int64_t height) {
  if (width <= 0 || height <= 0) {
    return Invalid(format, absl::StrCat("the header declares a zero or negative size (", width, "x",
                                        height, ")"));
  }
  return absl::OkStatus();
}

constexpr uint16_t kTagOrientation = 0x0112;

// The Orientation tag of the TIFF structure that starts at `tiff`; 1 when absent or unreadable.
// Entries are read in order up to the first one that lies outside the data.
int TiffOrientation(absl::string_view tiff) {
  const absl::StatusOr<TiffReader> opened = TiffReader::Open(tiff);
  if (!opened.ok()) return 1;
  const TiffReader& r = *opened;
  const uint64_t ifd = r.ifd0();
  const std::optional<uint16_t> count = ifd < 8 ? std::nullopt : r.EntryCount(ifd);
  if (!count.has_value()) return 1;
  for (uint16_t i = 0; i < *count; ++i) {
    const std::optional<TiffEntry> entry = r.Entry(ifd, i);
    if (!entry.has_value()) return 1;
    if (entry->tag != kTagOrientation) continue;
    // SHORT, one value, stored in the first two bytes of the value field.
    if (entry->type != kTiffShort || entry->count != 1) return 1;
    const uint16_t value = r.U16(entry->field_offset);
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

// EXIF payloads appear with the APP1 "Exif\0\0" prefix (JPEG, and some WebP/PNG writers) or
// without it (the PNG eXIf and WebP EXIF specifications).
int ExifOrientation(const Bytes& bytes, size_t offset, size_t length) {
  absl::string_view exif = bytes.Sub(offset, length);
  absl::ConsumePrefix(&exif, absl::string_view("Exif\0\0", 6));
  return TiffOrientation(exif);
}

// ---- JPEG -----------------------------------------------------------------------------------

bool IsSofMarker(uint8_t m) {
  // C0-CF are frame headers except DHT (C4), JPG (C8) and DAC (CC).
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

constexpr uint8_t kSoi = 0xD8, kEoi = 0xD9, kSos = 0xDA, kApp1 = 0xE1;

// Walks entropy-coded data from `pos`; returns the offset of the next real marker's 0xFF, or
// size() when the data ends first. In a scan, 0xFF is followed by 0x00 (a stuffed data byte),
// RST0-7 or more 0xFF fill bytes; anything else is a marker.
size_t SkipEntropyData(const Bytes& bytes, size_t pos) {
  while (true) {
    pos = bytes.FindFF(pos);
    if (!bytes.Has(pos, 2)) return bytes.size();
    const uint8_t next = bytes.U8(pos + 1);
    if (next == 0x00 || (next >= 0xD0 && next <= 0xD7) || next == 0xFF) {
      pos += next == 0xFF ? 1 : 2;
      continue;
    }
    return pos;
  }
}

absl::Status InspectJpeg(const Bytes& bytes, ContainerInfo* info) {
  constexpr absl::string_view kFmt = "JPEG";
  bool have_sof = false;
  bool have_exif = false;
  size_t pos = 2;  // after SOI
  while (true) {
    // libjpeg skips stray bytes before a marker (with a warning); so do we.
    pos = bytes.FindFF(pos);
    while (bytes.Has(pos, 1) && bytes.U8(pos) == 0xFF) ++pos;  // fill bytes
    if (!bytes.Has(pos, 1)) {
      if (!have_sof) return Truncated(kFmt, "the header, before the frame header (SOF)");
      info->truncation = "JPEG: the data ends before the EOI marker (truncated input)";
      return absl::OkStatus();
    }
    const uint8_t marker = bytes.U8(pos++);
    if (marker == 0x00) continue;  // a stuffed byte outside a scan: garbage, skipped
    if (marker == kSoi) return Invalid(kFmt, "a second SOI marker (two images glued together?)");
    if (marker == kEoi) {
      if (!have_sof) return Invalid(kFmt, "EOI marker before any frame header (SOF)");
      if (info->jpeg_scans == 0) return Invalid(kFmt, "EOI marker before any scan (no image data)");
      return absl::OkStatus();
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length field
    if (!bytes.Has(pos, 2)) {
      if (!have_sof) return Truncated(kFmt, "a marker segment of the header");
      info->truncation = "JPEG: the data ends inside a marker segment (truncated input)";
      return absl::OkStatus();
    }
    const size_t length = bytes.Be16(pos);  // counts its own two bytes
    if (length < 2)
      return Invalid(kFmt, absl::StrFormat("marker FF%02X has length %d", marker, length));
    if (!bytes.Has(pos, length)) {
      if (!have_sof) {
        return Truncated(kFmt, absl::StrFormat("marker segment FF%02X of the header", marker));
      }
      info->truncation = absl::StrFormat(
          "JPEG: the data ends inside marker segment FF%02X (truncated input)", marker);
      return absl::OkStatus();
    }
    const size_t body = pos + 2;
    const size_t body_length = length - 2;

    if (IsSofMarker(marker) && !have_sof) {
      // precision(1) height(2) width(2) components(1), then 3 bytes per component.
      if (body_length < 6) return Invalid(kFmt, "frame header (SOF) shorter than 6 bytes");
      const int precision = bytes.U8(body);
      const int height = bytes.Be16(body + 1);
      const int width = bytes.Be16(body + 3);
      const int components = bytes.U8(body + 5);
      if (components < 1 || components > 4 || body_length < 6 + 3 * size_t(components)) {
        return Invalid(kFmt, absl::StrCat("frame header declares ", components,
                                          " components (1 to 4 expected)"));
      }
      if (height == 0) {
        // Height 0 defers it to a DNL marker after the first scan; libjpeg refuses that too.
        return Invalid(kFmt,
                       "frame header declares height 0 (DNL-defined heights are not supported)");
      }
      if (auto s = CheckSides(kFmt, width, height); !s.ok()) return s;
      info->header = {ImageFormat::kJpeg, width, height};
      have_sof = true;
      const bool lossless = marker == 0xC3 || marker == 0xC7 || marker == 0xCB || marker == 0xCF;
      const bool hierarchical = marker >= 0xC5 && marker <= 0xC7;
      if (lossless) {
        info->unsupported = "lossless JPEG is not supported by this build's libjpeg";
      } else if (hierarchical || marker >= 0xCD) {
        info->unsupported = absl::StrFormat("JPEG frame type FF%02X is not supported", marker);
      } else if (precision != 8) {
        info->unsupported =
            absl::StrCat(precision, "-bit JPEG is not supported (8-bit samples only)");
      }
      info->jpeg_progressive = marker == 0xC2 || marker == 0xCA;
    } else if (marker == kApp1 && !have_exif && body_length > 6 &&
               bytes.Matches(body, absl::string_view("Exif\0\0", 6))) {
      have_exif = true;
      info->orientation = ExifOrientation(bytes, body, body_length);
    }

    pos = body + body_length;
    if (marker == kSos) {
      if (!have_sof) return Invalid(kFmt, "a scan (SOS) before the frame header (SOF)");
      if (++info->jpeg_scans > kMaxJpegScans) return absl::OkStatus();  // the decoder refuses it
      pos = SkipEntropyData(bytes, pos);
      if (pos == bytes.size()) {
        info->truncation =
            "JPEG: the data ends inside a scan, before the EOI marker (truncated input)";
        return absl::OkStatus();
      }
    }
  }
}

// ---- PNG ------------------------------------------------------------------------------------

bool ValidPngDepth(int color_type, int depth) {
  switch (color_type) {
    case 0:
      return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3:
      return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2:
    case 4:
    case 6:
      return depth == 8 || depth == 16;
    default:
      return false;
  }
}

absl::Status InspectPng(const Bytes& bytes, ContainerInfo* info) {
  constexpr absl::string_view kFmt = "PNG";
  // Signature(8), then IHDR: length(4) "IHDR" width(4) height(4) depth colour compression filter
  // interlace, CRC(4).
  if (!bytes.Has(0, 33)) return Truncated(kFmt, "the IHDR header");
  if (bytes.Be32(8) != 13 || !bytes.Matches(12, "IHDR")) {
    return Invalid(kFmt, "the first chunk is not a 13-byte IHDR");
  }
  const uint32_t width = bytes.Be32(16);
  const uint32_t height = bytes.Be32(20);
  if (width > 0x7FFFFFFFu || height > 0x7FFFFFFFu) {
    return Invalid(kFmt, "IHDR size exceeds 2^31-1 (the PNG maximum)");
  }
  if (auto s = CheckSides(kFmt, width, height); !s.ok()) return s;
  const int depth = bytes.U8(24);
  const int color_type = bytes.U8(25);
  if (!ValidPngDepth(color_type, depth)) {
    return Invalid(kFmt, absl::StrCat("IHDR declares bit depth ", depth, " with colour type ",
                                      color_type, ", which PNG does not allow"));
  }
  info->header = {ImageFormat::kPng, static_cast<int>(width), static_cast<int>(height)};

  // Chunk headers up to IEND. Each chunk is length(4) type(4) data CRC(4).
  bool have_idat = false;
  bool have_exif = false;
  size_t pos = 33;
  while (true) {
    if (!bytes.Has(pos, 8)) {
      info->truncation = "PNG: the data ends before the IEND chunk (truncated input)";
      return absl::OkStatus();
    }
    const uint32_t length = bytes.Be32(pos);
    const absl::string_view type = bytes.Sub(pos + 4, 4);
    if (length > 0x7FFFFFFFu)
      return Invalid(kFmt, absl::StrCat("chunk length ", length, " exceeds 2^31-1"));
    if (!bytes.Has(pos + 8, size_t{length} + 4)) {
      info->truncation = absl::StrCat("PNG: the data ends inside a chunk (", absl::CEscape(type),
                                      ") before IEND (truncated input)");
      return absl::OkStatus();
    }
    if (type == "IDAT") {
      have_idat = true;
    } else if (type == "eXIf" && !have_exif) {
      have_exif = true;
      info->orientation = ExifOrientation(bytes, pos + 8, length);
    } else if (type == "IEND") {
      if (!have_idat) return Invalid(kFmt, "IEND before any IDAT chunk (no image data)");
      return absl::OkStatus();
    }
    pos += 12 + size_t{length};
  }
}

// ---- GIF ------------------------------------------------------------------------------------

absl::Status InspectGif(const Bytes& bytes, ContainerInfo* info) {
  if (!bytes.Has(0, 10)) return Truncated("GIF", "the logical screen descriptor");
  const int width = bytes.Le16(6);
  const int height = bytes.Le16(8);
  if (auto s = CheckSides("GIF", width, height); !s.ok()) return s;
  info->header = {ImageFormat::kGif, width, height};
  info->unsupported =
      "GIF is not supported: OpenCV 4.6 has no GIF decoder (send JPEG, PNG, WebP, BMP or TIFF)";
  return absl::OkStatus();
}

// ---- WebP -----------------------------------------------------------------------------------

absl::Status InspectWebp(const Bytes& bytes, ContainerInfo* info) {
  constexpr absl::string_view kFmt = "WebP";
  // "RIFF" size(4) "WEBP", then the first chunk: fourcc(4) size(4) data.
  if (!bytes.Has(0, 20)) return Truncated(kFmt, "the RIFF header");
  const uint64_t riff_end = uint64_t{bytes.Le32(4)} + 8;
  const absl::string_view first = bytes.Sub(12, 4);
  int width = 0;
  int height = 0;
  if (first == "VP8 ") {
    // Frame tag(3): bit 0 clear on key frames; start code 9D 01 2A; 14-bit width and height.
    if (!bytes.Has(20, 10)) return Truncated(kFmt, "the VP8 frame header");
    if ((bytes.U8(20) & 1) != 0) return Invalid(kFmt, "the VP8 frame is not a key frame");
    if (!bytes.Matches(23, "\x9d\x01\x2a")) return Invalid(kFmt, "bad VP8 start code");
    width = bytes.Le16(26) & 0x3FFF;
    height = bytes.Le16(28) & 0x3FFF;
  } else if (first == "VP8L") {
    // Signature 0x2F, then 14-bit width-1 and 14-bit height-1, LSB first, and a 3-bit version 0.
    if (!bytes.Has(20, 5)) return Truncated(kFmt, "the VP8L header");
    if (bytes.U8(20) != 0x2F) return Invalid(kFmt, "bad VP8L signature");
    const uint32_t bits = bytes.Le32(21);
    if ((bits >> 29) != 0) return Invalid(kFmt, "unknown VP8L version");
    width = static_cast<int>(bits & 0x3FFF) + 1;
    height = static_cast<int>((bits >> 14) & 0x3FFF) + 1;
  } else if (first == "VP8X") {
    // Flags(1) reserved(3) canvas width-1 (24 bits) canvas height-1 (24 bits).
    if (!bytes.Has(20, 10)) return Truncated(kFmt, "the VP8X header");
    const uint8_t flags = bytes.U8(20);
    width = static_cast<int>(bytes.Le24(24)) + 1;
    height = static_cast<int>(bytes.Le24(27)) + 1;
    if ((flags & 0x02) != 0) {
      info->unsupported = "animated WebP is not supported (send a still image)";
    }
  } else {
    return Invalid(kFmt, absl::StrCat("unknown first chunk \"", absl::CEscape(first),
                                      "\" (expected VP8, VP8L or VP8X)"));
  }
  if (auto s = CheckSides(kFmt, width, height); !s.ok()) return s;
  info->header = {ImageFormat::kWebp, width, height};

  if (riff_end < 20) return Invalid(kFmt, "the RIFF size is too small to hold an image");
  if (riff_end > bytes.size()) {
    info->truncation = absl::StrCat("WebP: the RIFF header declares ", riff_end, " bytes but only ",
                                    bytes.size(), " are present (truncated input)");
    return absl::OkStatus();
  }
  // Walk the chunks inside the RIFF payload: each must fit; VP8X files carry EXIF here.
  bool have_exif = false;
  size_t pos = 12;
  while (pos + 8 <= riff_end) {
    const absl::string_view type = bytes.Sub(pos, 4);
    const uint64_t size = bytes.Le32(pos + 4);
    if (pos + 8 + size > riff_end) {
      info->truncation = absl::StrCat("WebP: chunk \"", absl::CEscape(type),
                                      "\" ends past the RIFF data (truncated input)");
      return absl::OkStatus();
    }
    if (type == "EXIF" && !have_exif) {
      have_exif = true;
      info->orientation = ExifOrientation(bytes, pos + 8, size);
    }
    pos += 8 + size + (size & 1);  // chunks are padded to even sizes
  }
  return absl::OkStatus();
}

// ---- BMP ------------------------------------------------------------------------------------

absl::Status InspectBmp(const Bytes& bytes, ContainerInfo* info) {
  constexpr absl::string_view kFmt = "BMP";
  // File header(14): "BM" size(4) reserved(4) pixel offset(4); then the DIB header's size(4).
  if (!bytes.Has(0, 18)) return Truncated(kFmt, "the file header");
  const uint32_t pixel_offset = bytes.Le32(10);
  const uint32_t dib_size = bytes.Le32(14);
  int64_t width = 0;
  int64_t height = 0;
  int bpp = 0;
  uint32_t compression = 0;
  if (dib_size == 12) {  // BITMAPCOREHEADER: unsigned 16-bit sides
    if (!bytes.Has(14, 12)) return Truncated(kFmt, "the core header");
    width = bytes.Le16(18);
    height = bytes.Le16(20);
    bpp = bytes.Le16(24);
  } else if (dib_size >= 16 && dib_size <= 124) {  // OS/2 v2 and BITMAPINFOHEADER..V5
    if (!bytes.Has(14, dib_size)) return Truncated(kFmt, "the info header");
    width = static_cast<int32_t>(bytes.Le32(18));
    height = static_cast<int32_t>(bytes.Le32(22));  // negative: rows stored top-down
    bpp = bytes.Le16(28);
    if (dib_size >= 20) compression = bytes.Le32(30);
    if (height < 0) height = -height;  // int64: no overflow for INT32_MIN
  } else {
    return Invalid(kFmt, absl::StrCat("unknown DIB header size ", dib_size));
  }
  if (width > 0x7FFFFFFF || height > 0x7FFFFFFF) return Invalid(kFmt, "absurd size in the header");
  if (auto s = CheckSides(kFmt, width, height); !s.ok()) return s;
  if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32) {
    return Invalid(kFmt, absl::StrCat("unsupported bits per pixel ", bpp));
  }
  info->header = {ImageFormat::kBmp, static_cast<int>(width), static_cast<int>(height)};
  // 0 BI_RGB, 3 BI_BITFIELDS: rows padded to 4 bytes; 1 and 2: RLE8/RLE4, length unknown ahead.
  if (compression == 0 || compression == 3) {
    const uint64_t stride = (static_cast<uint64_t>(width) * bpp + 31) / 32 * 4;
    const uint64_t end = pixel_offset + stride * static_cast<uint64_t>(height);
    if (end > bytes.size()) {
      info->truncation = absl::StrCat("BMP: the pixel data needs ", end, " bytes but only ",
                                      bytes.size(), " are present (truncated input)");
    }
  } else if (compression != 1 && compression != 2) {
    info->unsupported = absl::StrCat("BMP compression type ", compression, " is not supported");
  }
  return absl::OkStatus();
}

// ---- TIFF -----------------------------------------------------------------------------------

constexpr uint16_t kTagImageWidth = 256, kTagImageLength = 257, kTagBitsPerSample = 258,
                   kTagStripOffsets = 273, kTagSamplesPerPixel = 277, kTagStripByteCounts = 279,
                   kTagTileOffsets = 324, kTagTileByteCounts = 325;
// Photos have at most 4 samples (RGBA) of at most 32 bits (float); bigger pixels would multiply
// the memory max_pixels is meant to bound.
constexpr int kMaxTiffSamples = 4;
constexpr int kMaxTiffBitsPerSample = 32;

// True when every offsets[i] + counts[i] lies within the file; `why` says what does not. Both
// entries are SHORT or LONG arrays whose values lie inside the file.
bool TiffExtentsInside(const TiffReader& tiff, const TiffEntry& offsets, const TiffEntry& counts,
                       std::string* why) {
  const uint32_t n = std::min(offsets.count, counts.count);
  for (uint32_t i = 0; i < n; ++i) {
    if (uint64_t{tiff.UnsignedValue(offsets, i)} + tiff.UnsignedValue(counts, i) > tiff.size()) {
      *why = absl::StrCat("TIFF: strip or tile ", i,
                          " ends past the end of the data (truncated input)");
      return false;
    }
  }
  return true;
}

absl::Status InspectTiff(const Bytes& bytes, ContainerInfo* info) {
  constexpr absl::string_view kFmt = "TIFF";
  const absl::StatusOr<TiffReader> opened = TiffReader::Open(bytes.Sub(0, bytes.size()));
  if (!opened.ok()) return Truncated(kFmt, "the file header");
  const TiffReader& tiff = *opened;
  const uint64_t ifd0 = tiff.ifd0();
  if (ifd0 < 8) return Invalid(kFmt, absl::StrCat("IFD0 offset ", ifd0, " points into the header"));
  const std::optional<uint16_t> entries = tiff.EntryCount(ifd0);
  if (!entries.has_value()) return Truncated(kFmt, "IFD0 (its offset is past the end)");
  if (*entries == 0) return Invalid(kFmt, "IFD0 has no entries");
  if (!tiff.EntriesInside(ifd0, *entries)) return Truncated(kFmt, "IFD0");

  int64_t width = -1;
  int64_t height = -1;
  std::optional<TiffEntry> strip_offsets, strip_counts, tile_offsets, tile_counts;
  std::string extent_problem;
  for (uint16_t i = 0; i < *entries; ++i) {
    const TiffEntry entry = *tiff.Entry(ifd0, i);
    const uint16_t tag = entry.tag;
    const uint16_t type = entry.type;
    const uint32_t count = entry.count;
    if (tag == kTagImageWidth || tag == kTagImageLength) {
      if (count != 1 || (type != kTiffShort && type != kTiffLong)) {
        return Invalid(kFmt, absl::StrCat("tag ", tag, " is not one SHORT or LONG value"));
      }
      int64_t& side = tag == kTagImageWidth ? width : height;
      // A second copy could be the one libtiff believes: the size we check must be the only one.
      if (side >= 0) return Invalid(kFmt, absl::StrCat("IFD0 holds tag ", tag, " twice"));
      side = tiff.UnsignedValue(entry, 0);
    } else if (tag == kTagSamplesPerPixel) {
      if (type == kTiffShort && count == 1 && tiff.U16(entry.field_offset) > kMaxTiffSamples) {
        info->unsupported = absl::StrCat("TIFF with ", tiff.U16(entry.field_offset),
                                         " samples per pixel is not supported (at most 4)");
      }
    } else if (tag == kTagBitsPerSample && type == kTiffShort) {
      // One SHORT per sample: inline when they fit in 4 bytes, else at an offset.
      const uint32_t n = std::min<uint32_t>(count, kMaxTiffSamples);
      for (uint32_t k = 0; k < n && tiff.Has(entry.value_offset + 2 * uint64_t{k}, 2); ++k) {
        const int bits = tiff.UnsignedValue(entry, k);
        if (bits > kMaxTiffBitsPerSample) {
          info->unsupported =
              absl::StrCat("TIFF with ", bits, "-bit samples is not supported (at most 32)");
        }
      }
    } else if (tag == kTagStripOffsets || tag == kTagStripByteCounts || tag == kTagTileOffsets ||
               tag == kTagTileByteCounts) {
      if (type != kTiffShort && type != kTiffLong) continue;  // libtiff will judge other types
      if (!tiff.ValuesInside(entry)) {
        extent_problem =
            "TIFF: a strip or tile table lies past the end of the data (truncated input)";
        continue;
      }
      (tag == kTagStripOffsets      ? strip_offsets
       : tag == kTagStripByteCounts ? strip_counts
       : tag == kTagTileOffsets     ? tile_offsets
                                    : tile_counts) = entry;
    }
  }
  if (width < 0 || height < 0) return Invalid(kFmt, "IFD0 lacks ImageWidth or ImageLength");
  if (auto s = CheckSides(kFmt, width, height); !s.ok()) return s;
  if (width > 0x7FFFFFFF || height > 0x7FFFFFFF) return Invalid(kFmt, "absurd size in IFD0");
  info->header = {ImageFormat::kTiff, static_cast<int>(width), static_cast<int>(height)};
  info->orientation = TiffOrientation(bytes.Sub(0, bytes.size()));

  if (!extent_problem.empty()) {
    info->truncation = extent_problem;
  } else if (strip_offsets && strip_counts) {
    TiffExtentsInside(tiff, *strip_offsets, *strip_counts, &info->truncation);
  } else if (tile_offsets && tile_counts) {
    TiffExtentsInside(tiff, *tile_offsets, *tile_counts, &info->truncation);
  } else {
    return Invalid(kFmt, "IFD0 has no strip or tile offsets and byte counts (no image data)");
  }
  return absl::OkStatus();
}

// ---- Everything else: a message that says what the bytes look like ---------------------------

absl::Status Unrecognised(const Bytes& bytes) {
  auto starts = [&](absl::string_view s) { return bytes.Matches(0, s); };
  if (bytes.Matches(4, "ftyp")) {
    const absl::string_view brand = bytes.Has(8, 4) ? bytes.Sub(8, 4) : "";
    if (brand == "avif" || brand == "avis") {
      return absl::UnimplementedError("AVIF images are not supported (send JPEG, PNG or WebP)");
    }
    if (brand == "heic" || brand == "heix" || brand == "mif1" || brand == "msf1" ||
        brand == "hevc" || brand == "heim" || brand == "heis") {
      return absl::UnimplementedError(
          "HEIF/HEIC images are not supported (convert to JPEG, as phones do when sharing)");
    }
    return absl::InvalidArgumentError("not an image: an ISO media file (video?)");
  }
  if (starts(absl::string_view("\0\0\0\x0CjP  ", 8)) || starts("\xFF\x4F\xFF\x51")) {
    return absl::UnimplementedError("JPEG 2000 images are not supported");
  }
  if (starts("II+") || starts(absl::string_view("MM\0+", 4))) {
    return absl::UnimplementedError("BigTIFF images are not supported");
  }
  if (starts("8BPS")) return absl::UnimplementedError("Photoshop (PSD) files are not supported");
  if (starts("\x76\x2F\x31\x01"))
    return absl::UnimplementedError("OpenEXR images are not supported");
  if (starts("%PDF")) return absl::InvalidArgumentError("not an image: a PDF document");
  if (starts("PK\x03\x04")) return absl::InvalidArgumentError("not an image: a ZIP archive");
  // Text: the first bytes are all printable ASCII or whitespace (UTF-8 text would also pass).
  const size_t probe = std::min<size_t>(bytes.size(), 64);
  bool text = true;
  for (size_t i = 0; i < probe && text; ++i) {
    const uint8_t c = bytes.U8(i);
    text = c >= 0x80 || absl::ascii_isprint(c) || absl::ascii_isspace(c);
  }
  if (text) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an image: the data looks like text (starts with \"",
                     absl::CHexEscape(bytes.Sub(0, std::min<size_t>(bytes.size(), 16))), "\")"));
  }
  std::string hex;
  for (size_t i = 0; i < std::min<size_t>(bytes.size(), 8); ++i) {
    absl::StrAppend(&hex, i == 0 ? "" : " ", absl::Hex(bytes.U8(i), absl::kZeroPad2));
  }
  return absl::InvalidArgumentError(absl::StrCat("not a supported image (first bytes ", hex,
                                                 "); supported: JPEG, PNG, WebP, BMP, TIFF"));
}

}  // namespace

int ReadTiffOrientation(absl::string_view tiff) { return TiffOrientation(tiff); }

absl::StatusOr<ContainerInfo> InspectImage(absl::string_view data) {
  if (data.empty()) return absl::InvalidArgumentError("empty input: no image bytes");
  const Bytes bytes(data);
  ContainerInfo info;
  absl::Status status;
  if (bytes.Matches(0, "\xFF\xD8\xFF")) {
    status = InspectJpeg(bytes, &info);
  } else if (bytes.Matches(0, "\x89PNG\r\n\x1A\n")) {
    status = InspectPng(bytes, &info);
  } else if (bytes.Matches(0, "GIF87a") || bytes.Matches(0, "GIF89a")) {
    status = InspectGif(bytes, &info);
  } else if (bytes.Matches(0, "RIFF")) {
    if (!bytes.Has(0, 12)) return Truncated("WebP", "the RIFF header");
    if (!bytes.Matches(8, "WEBP")) {
      return absl::InvalidArgumentError(absl::StrCat("not an image: a RIFF file of type \"",
                                                     absl::CEscape(bytes.Sub(8, 4)),
                                                     "\" (audio or video?)"));
    }
    status = InspectWebp(bytes, &info);
  } else if (bytes.Matches(0, "BM")) {
    status = InspectBmp(bytes, &info);
  } else if (bytes.Matches(0, absl::string_view("II*\0", 4)) ||
             bytes.Matches(0, absl::string_view("MM\0*", 4))) {
    status = InspectTiff(bytes, &info);
  } else {
    // A prefix of a signature is a truncated image, not garbage.
    for (absl::string_view magic :
         {absl::string_view("\xFF\xD8\xFF"), absl::string_view("\x89PNG\r\n\x1A\n"),
          absl::string_view("GIF87a"), absl::string_view("GIF89a"), absl::string_view("RIFF"),
          absl::string_view("BM"), absl::string_view("II*\0", 4), absl::string_view("MM\0*", 4)}) {
      if (bytes.size() < magic.size() && magic.substr(0, bytes.size()) == data) {
        return absl::InvalidArgumentError(absl::StrCat("truncated input: only ", bytes.size(),
                                                       " bytes, shorter than an image signature"));
      }
    }
    return Unrecognised(bytes);
  }
  if (!status.ok()) return status;
  return info;
}

}  // namespace geoloc::model
