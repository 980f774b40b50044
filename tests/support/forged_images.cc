#include "tests/support/forged_images.h"

#include <jpeglib.h>

#include <array>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace geoloc::testing {

// ---- Integers ---------------------------------------------------------------------------------

std::string Le16(uint32_t v) {
  return {static_cast<char>(v & 0xFF), static_cast<char>((v >> 8) & 0xFF)};
}
std::string Le24(uint32_t v) { return Le16(v) + static_cast<char>((v >> 16) & 0xFF); }
std::string Le32(uint32_t v) { return Le16(v) + Le16(v >> 16); }
std::string Be16(uint32_t v) {
  return {static_cast<char>((v >> 8) & 0xFF), static_cast<char>(v & 0xFF)};
}
std::string Be32(uint32_t v) { return Be16(v >> 16) + Be16(v); }

uint32_t Crc32(absl::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// ---- TIFF structures --------------------------------------------------------------------------

namespace {

// Bytes per element of TiffTag::values, by TIFF type 0..13 (BYTE, ASCII, SBYTE, UNDEFINED: 1;
// SHORT, SSHORT: 2; the rest, and RATIONALs' numerators and denominators: 4).
uint32_t ElementWidth(uint16_t type) {
  static constexpr uint8_t kWidth[] = {4, 1, 1, 2, 4, 4, 1, 1, 2, 4, 4, 4, 4, 4};
  return type < sizeof(kWidth) ? kWidth[type] : 4;
}

std::string Int(bool big_endian, uint32_t v, uint32_t width) {
  switch (width) {
    case 1:
      return std::string(1, static_cast<char>(v & 0xFF));
    case 2:
      return big_endian ? Be16(v) : Le16(v);
    default:
      return big_endian ? Be32(v) : Le32(v);
  }
}

uint32_t IfdSize(const std::vector<TiffTag>& tags) {
  return 2 + 12 * static_cast<uint32_t>(tags.size()) + 4;
}

}  // namespace

TiffTag TiffAscii(uint16_t tag, absl::string_view text) {
  TiffTag t{tag, tiff::kAscii, static_cast<uint32_t>(text.size() + 1), {}, std::nullopt};
  for (unsigned char c : text) t.values.push_back(c);
  t.values.push_back(0);
  return t;
}

TiffTag TiffRationals(uint16_t tag, const std::vector<std::pair<uint32_t, uint32_t>>& parts,
                      uint16_t type) {
  TiffTag t{tag, type, static_cast<uint32_t>(parts.size()), {}, std::nullopt};
  for (const auto& [num, den] : parts) t.values.insert(t.values.end(), {num, den});
  return t;
}

std::string BuildTiff(std::vector<TiffTag> tags, absl::string_view trailer,
                      const TiffLayout& layout) {
  const bool be = layout.big_endian;
  std::vector<TiffTag> sub = layout.sub_ifd;
  const uint32_t sub_offset = 8 + IfdSize(tags);
  // Out-of-line values follow the IFDs, each at an even offset; the trailer comes last.
  uint32_t cursor = sub_offset + (sub.empty() ? 0 : IfdSize(sub));
  auto place = [&](std::vector<TiffTag>& ifd) {
    std::vector<uint32_t> offsets(ifd.size(), 0);
    for (size_t i = 0; i < ifd.size(); ++i) {
      const TiffTag& t = ifd[i];
      const uint32_t bytes = static_cast<uint32_t>(t.values.size()) * ElementWidth(t.type);
      if (!t.raw_field && bytes > 4) {
        offsets[i] = cursor;
        cursor += bytes;
        cursor += cursor & 1;
      }
    }
    return offsets;
  };
  const std::vector<uint32_t> tag_offsets = place(tags);
  const std::vector<uint32_t> sub_offsets = place(sub);
  const uint32_t trailer_offset = cursor;

  std::string out_of_line;
  auto write_ifd = [&](std::vector<TiffTag>& ifd, const std::vector<uint32_t>& offsets,
                       uint16_t count, uint32_t next) {
    std::string out = Int(be, count, 2);
    for (size_t i = 0; i < ifd.size(); ++i) {
      TiffTag& t = ifd[i];
      const uint32_t width = ElementWidth(t.type);
      out += Int(be, t.tag, 2) + Int(be, t.type, 2) + Int(be, t.count, 4);
      std::string values;
      for (uint32_t v : t.values) {
        if (v == tiff::kAtTrailer) v = trailer_offset;
        if (v == tiff::kAtSubIfd) v = sub_offset;
        values += Int(be, v, width);
      }
      if (t.raw_field) {
        out += Int(be, *t.raw_field, 4);
      } else if (offsets[i] != 0) {
        out += Int(be, offsets[i], 4);
        out_of_line += values;
        if (out_of_line.size() % 2 != 0) out_of_line += '\0';
      } else {
        values.resize(4, '\0');
        out += values;
      }
    }
    return out + Int(be, next, 4);
  };
  std::string out = be ? std::string("MM\0*", 4) : std::string("II*\0", 4);
  out += Int(be, layout.ifd0_offset.value_or(8), 4);
  out += write_ifd(tags, tag_offsets,
                   layout.entry_count.value_or(static_cast<uint16_t>(tags.size())),
                   layout.next_ifd.value_or(0));
  if (!sub.empty()) out += write_ifd(sub, sub_offsets, static_cast<uint16_t>(sub.size()), 0);
  out += out_of_line;
  out.resize(trailer_offset, '\0');
  return absl::StrCat(out, trailer);
}

// ---- EXIF blocks ------------------------------------------------------------------------------

std::string ExifOrientationBlock(uint16_t orientation, bool big_endian) {
  TiffLayout layout;
  layout.big_endian = big_endian;
  return BuildTiff({{0x0112, tiff::kShort, 1, {orientation}, std::nullopt}}, "", layout);
}

std::vector<TiffTag> GpsTags(char lat_ref, uint32_t lat_deg, uint32_t lat_min, uint32_t lat_sec100,
                             char lon_ref, uint32_t lon_deg, uint32_t lon_min,
                             uint32_t lon_sec100) {
  return {TiffAscii(1, std::string(1, lat_ref)),
          TiffRationals(2, {{lat_deg, 1}, {lat_min, 1}, {lat_sec100, 100}}),
          TiffAscii(3, std::string(1, lon_ref)),
          TiffRationals(4, {{lon_deg, 1}, {lon_min, 1}, {lon_sec100, 100}})};
}

std::string ExifGpsBlock(const std::vector<TiffTag>& gps, bool big_endian) {
  TiffLayout layout;
  layout.big_endian = big_endian;
  layout.sub_ifd = gps;
  return BuildTiff({{0x8825, tiff::kLong, 1, {tiff::kAtSubIfd}, std::nullopt}}, "", layout);
}

// ---- JPEG -------------------------------------------------------------------------------------

std::string JpegSegment(uint8_t marker, absl::string_view body) {
  return absl::StrCat("\xFF", std::string(1, static_cast<char>(marker)),
                      Be16(static_cast<uint32_t>(body.size() + 2)), body);
}

std::string InsertAfterSoi(const std::string& jpeg, absl::string_view segment) {
  return absl::StrCat(jpeg.substr(0, 2), segment, jpeg.substr(2));
}

std::string WithJpegExif(const std::string& jpeg, absl::string_view tiff_block) {
  return InsertAfterSoi(
      jpeg, JpegSegment(0xE1, absl::StrCat(absl::string_view("Exif\0\0", 6), tiff_block)));
}

std::string MinimalJpegPrefix() {
  std::string s = "\xFF\xD8";
  s += std::string("\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18);
  s += "\xFF\xDA\x00\x02";  // start of scan
  return s;
}

std::string CmykJpeg(int width, int height, int quality,
                     const std::function<void(int x, int y, uint8_t* cmyk)>& ink) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;  // NOLINT(runtime/int): libjpeg's type
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = 4;
  cinfo.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&cinfo);
  jpeg_set_colorspace(&cinfo, JCS_CMYK);  // also writes the Adobe marker
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<unsigned char> row(static_cast<size_t>(width) * 4);
  while (cinfo.next_scanline < cinfo.image_height) {
    const int y = static_cast<int>(cinfo.next_scanline);
    for (int x = 0; x < width; ++x) ink(x, y, &row[static_cast<size_t>(x) * 4]);
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<char*>(buffer), size);
  std::free(buffer);
  return out;
}

// ---- PNG --------------------------------------------------------------------------------------

std::string PngChunk(absl::string_view type, absl::string_view data) {
  const std::string body = absl::StrCat(type, data);
  return absl::StrCat(Be32(static_cast<uint32_t>(data.size())), body, Be32(Crc32(body)));
}

std::string WithPngExif(const std::string& png, absl::string_view tiff_block) {
  constexpr size_t kSignatureAndIhdr = 8 + 25;
  return absl::StrCat(png.substr(0, kSignatureAndIhdr), PngChunk("eXIf", tiff_block),
                      png.substr(kSignatureAndIhdr));
}

}  // namespace geoloc::testing
