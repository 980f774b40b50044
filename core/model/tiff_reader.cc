#include "core/model/tiff_reader.h"

namespace geoloc::model {

uint32_t TiffTypeSize(uint16_t type) {
  switch (type) {
    case 1:   // BYTE
    case 2:   // ASCII
    case 6:   // SBYTE
    case 7:   // UNDEFINED
      return 1;
    case 3:   // SHORT
    case 8:   // SSHORT
      return 2;
    case 4:   // LONG
    case 9:   // SLONG
    case 11:  // FLOAT
    case 13:  // IFD
      return 4;
    case 5:   // RATIONAL
    case 10:  // SRATIONAL
    case 12:  // DOUBLE
      return 8;
    default:
      return 0;
  }
}

absl::StatusOr<TiffReader> TiffReader::Open(absl::string_view block) {
  if (block.size() < 8) return absl::InvalidArgumentError("TIFF header truncated");
  const absl::string_view order = block.substr(0, 2);
  if (order != "II" && order != "MM") {
    return absl::InvalidArgumentError("bad TIFF byte order mark");
  }
  const TiffReader reader(block, order == "MM");
  if (reader.U16(2) != 42) return absl::InvalidArgumentError("bad TIFF magic");
  return reader;
}

uint16_t TiffReader::U16(uint64_t offset) const {
  const auto* p = reinterpret_cast<const uint8_t*>(data_.data() + offset);
  return big_endian_ ? static_cast<uint16_t>(p[0] << 8 | p[1])
                     : static_cast<uint16_t>(p[1] << 8 | p[0]);
}

uint32_t TiffReader::U32(uint64_t offset) const {
  const auto* p = reinterpret_cast<const uint8_t*>(data_.data() + offset);
  return big_endian_ ? (uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 |
                        uint32_t{p[3]})
                     : (uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 |
                        uint32_t{p[0]});
}

std::optional<uint16_t> TiffReader::EntryCount(uint64_t ifd) const {
  if (!Has(ifd, 2)) return std::nullopt;
  return U16(ifd);
}

bool TiffReader::EntriesInside(uint64_t ifd, uint16_t count) const {
  return Has(ifd, 2) && Has(ifd + 2, uint64_t{count} * 12);
}

std::optional<TiffEntry> TiffReader::Entry(uint64_t ifd, uint16_t i) const {
  const uint64_t at = ifd + 2 + uint64_t{i} * 12;
  if (!Has(ifd, 2) || !Has(at, 12)) return std::nullopt;
  TiffEntry entry;
  entry.tag = U16(at);
  entry.type = U16(at + 2);
  entry.count = U32(at + 4);
  entry.field_offset = at + 8;
  entry.value_bytes = uint64_t{TiffTypeSize(entry.type)} * entry.count;
  entry.value_offset = entry.value_bytes <= 4 ? entry.field_offset : U32(entry.field_offset);
  return entry;
}

bool TiffReader::ValuesInside(const TiffEntry& entry) const {
  return Has(entry.value_offset, entry.value_bytes);
}

uint32_t TiffReader::UnsignedValue(const TiffEntry& entry, uint32_t i) const {
  return entry.type == kTiffShort ? U16(entry.value_offset + 2 * uint64_t{i})
                                  : U32(entry.value_offset + 4 * uint64_t{i});
}

}  // namespace geoloc::model
