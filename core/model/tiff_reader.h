// Bounds-checked reading of TIFF structures: TIFF files and the EXIF blocks of JPEG, PNG and WebP
// (which are TIFF structures after an optional "Exif\0\0" prefix). The one reader of IFDs that
// the header inspector (image_header.h: size, orientation, strips) and EXIF GPS
// (core/index/exif_gps.h) share; each decides what to make of a missing or malformed entry.
//
//   GEOLOC_ASSIGN_OR_RETURN(TiffReader tiff, TiffReader::Open(block));
//   std::optional<uint16_t> n = tiff.EntryCount(tiff.ifd0());
//   for (uint16_t i = 0; n && i < *n; ++i) {
//     std::optional<TiffEntry> e = tiff.Entry(tiff.ifd0(), i);
//     if (e && e->tag == 0x0112 && e->type == kTiffShort) orientation = tiff.U16(e->value_offset);
//   }
//
// Offsets are relative to the start of the block (the "II"/"MM" header), as TIFF defines them.
// Every accessor that returns data checks its bounds (or is documented to need Has() first), and
// no offset is followed by the reader itself, so crafted offsets cannot make it loop or read
// outside the block. TiffReader is a view: the bytes must outlive it. Copyable, immutable, safe
// from any thread.
#ifndef GEOLOC_CORE_MODEL_TIFF_READER_H_
#define GEOLOC_CORE_MODEL_TIFF_READER_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace geoloc::model {

// TIFF field types used by geoloc (TIFF 6.0, section 2).
inline constexpr uint16_t kTiffAscii = 2;
inline constexpr uint16_t kTiffShort = 3;
inline constexpr uint16_t kTiffLong = 4;
inline constexpr uint16_t kTiffRational = 5;
inline constexpr uint16_t kTiffSRational = 10;
inline constexpr uint16_t kTiffIfd = 13;

// Bytes of one value of field type `type` (1 BYTE ... 13 IFD); 0 for an unknown type.
uint32_t TiffTypeSize(uint16_t type);

// One 12-byte IFD entry, decoded. Its values lie at value_offset: inside the entry's 4-byte value
// field when they fit there (or the type is unknown), else at the offset the field holds. The
// values themselves are not checked: see TiffReader::ValuesInside.
struct TiffEntry {
  uint16_t tag = 0;
  uint16_t type = 0;
  uint32_t count = 0;
  uint64_t field_offset = 0;  // the entry's value field
  uint64_t value_offset = 0;
  uint64_t value_bytes = 0;  // count * TiffTypeSize(type)
};

class TiffReader {
 public:
  // The block must start with a TIFF header: "II*\0" (little-endian) or "MM\0*" (big-endian) and
  // the IFD0 offset. INVALID_ARGUMENT "TIFF header truncated" (under 8 bytes), "bad TIFF byte
  // order mark" or "bad TIFF magic".
  static absl::StatusOr<TiffReader> Open(absl::string_view block);

  uint64_t size() const { return data_.size(); }
  bool big_endian() const { return big_endian_; }
  // Whether [offset, offset + n) lies inside the block; cannot overflow.
  bool Has(uint64_t offset, uint64_t n) const {
    return offset <= data_.size() && n <= data_.size() - offset;
  }
  // Values in the block's byte order. The caller checks Has(offset, 2 or 4) first.
  uint16_t U16(uint64_t offset) const;
  uint32_t U32(uint64_t offset) const;
  char Byte(uint64_t offset) const { return data_[offset]; }

  // Where IFD0 starts (the header's offset; not checked).
  uint64_t ifd0() const { return U32(4); }
  // The number of entries of the IFD at `ifd`; nullopt when its 2-byte count is outside.
  std::optional<uint16_t> EntryCount(uint64_t ifd) const;
  // Whether all `count` entries of the IFD at `ifd` lie inside the block.
  bool EntriesInside(uint64_t ifd, uint16_t count) const;
  // Entry `i` of the IFD at `ifd`; nullopt when its 12 bytes are outside the block.
  std::optional<TiffEntry> Entry(uint64_t ifd, uint16_t i) const;
  // Whether the entry's values lie inside the block (true for unknown types: none to check).
  bool ValuesInside(const TiffEntry& entry) const;
  // Value `i` of a SHORT or LONG entry; the caller checks the type, ValuesInside(entry) and
  // i < entry.count first.
  uint32_t UnsignedValue(const TiffEntry& entry, uint32_t i) const;

 private:
  TiffReader(absl::string_view data, bool big_endian) : data_(data), big_endian_(big_endian) {}

  absl::string_view data_;
  bool big_endian_;
};

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_TIFF_READER_H_
