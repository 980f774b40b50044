#include "core/index/npy.h"

#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/common/status_macros.h"

namespace geoloc::index {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("npy: ", what));
}

// A cursor over the Python literal dict of a .npy header, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (1000, 512), }
class HeaderParser {
 public:
  explicit HeaderParser(absl::string_view text) : text_(text) {}

  absl::Status Parse(std::string* descr, bool* fortran_order, std::vector<int64_t>* shape) {
    bool have_descr = false, have_order = false, have_shape = false;
    if (!Consume('{')) return Invalid("header is not a dict");
    while (true) {
      SkipSpace();
      if (Consume('}')) break;
      std::string key;
      if (!ParseString(&key)) return Invalid("header dict key is not a string");
      if (!Consume(':')) return Invalid(absl::StrCat("no ':' after header key '", key, "'"));
      if (key == "descr") {
        if (!ParseString(descr)) return Invalid("'descr' is not a string");
        have_descr = true;
      } else if (key == "fortran_order") {
        if (!ParseBool(fortran_order)) return Invalid("'fortran_order' is not True/False");
        have_order = true;
      } else if (key == "shape") {
        if (!ParseTuple(shape)) return Invalid("'shape' is not a tuple of integers");
        have_shape = true;
      } else {
        return Invalid(absl::StrCat("unexpected header key '", key, "'"));
      }
      SkipSpace();
      if (Consume(',')) continue;
      if (Consume('}')) break;
      return Invalid("malformed header dict");
    }
    if (!have_descr || !have_order || !have_shape) {
      return Invalid("header lacks one of 'descr', 'fortran_order', 'shape'");
    }
    SkipSpace();
    if (pos_ != text_.size()) return Invalid("unexpected text after the header dict");
    return absl::OkStatus();
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool ParseString(std::string* out) {
    SkipSpace();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) return false;
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == absl::string_view::npos) return false;
    *out = std::string(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return true;
  }
  bool ParseBool(bool* out) {
    SkipSpace();
    for (const auto& [word, value] : {std::pair<absl::string_view, bool>{"True", true},
                                      std::pair<absl::string_view, bool>{"False", false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        *out = value;
        return true;
      }
    }
    return false;
  }
  bool ParseTuple(std::vector<int64_t>* out) {
    out->clear();
    if (!Consume('(')) return false;
    while (true) {
      SkipSpace();
      if (Consume(')')) return true;
      size_t end = pos_;
      while (end < text_.size() && absl::ascii_isdigit(static_cast<unsigned char>(text_[end]))) {
        ++end;
      }
      int64_t value;
      if (end == pos_ || !absl::SimpleAtoi(text_.substr(pos_, end - pos_), &value)) return false;
      pos_ = end;
      if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 longs
      out->push_back(value);
      if (Consume(',')) continue;
      if (Consume(')')) return true;
      return false;
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

uint32_t ReadLe(absl::string_view bytes, size_t offset, size_t width) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

}  // namespace

absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view bytes) {
  if (bytes.size() < kMagicSize + 2 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0) {
    return Invalid("not a .npy file (bad magic)");
  }
  const int major = static_cast<uint8_t>(bytes[6]);
  const int minor = static_cast<uint8_t>(bytes[7]);
  size_t length_width;
  if (major == 1 && minor == 0) {
    length_width = 2;
  } else if (major == 2 && minor == 0) {
    length_width = 4;
  } else {
    return Invalid(
        absl::StrCat("format version ", major, ".", minor, " is not supported (1.0 and 2.0 are)"));
  }
  const size_t prefix = kMagicSize + 2 + length_width;
  if (bytes.size() < prefix) return absl::DataLossError("npy: truncated header");
  const uint64_t header_len = ReadLe(bytes, kMagicSize + 2, length_width);
  if (bytes.size() - prefix < header_len) return absl::DataLossError("npy: truncated header");
  const absl::string_view header = bytes.substr(prefix, header_len);

  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  GEOLOC_RETURN_IF_ERROR(HeaderParser(header).Parse(&descr, &fortran_order, &shape));
  if (descr == ">f4") {
    return Invalid("big-endian float32 ('>f4') is not supported; save with dtype '<f4'");
  }
  if (descr != "<f4") {
    return Invalid(absl::StrCat("dtype '", descr,
                                "' is not supported; descriptors must be float32 ('<f4'), "
                                "e.g. np.save(path, x.astype(np.float32))"));
  }
  if (fortran_order) {
    return Invalid("Fortran-order arrays are not supported; save np.ascontiguousarray(x)");
  }
  if (shape.size() != 2) {
    return Invalid(absl::StrCat("shape has ", shape.size(),
                                " dimensions; descriptors must be a 2-D [N, D] array"));
  }
  if (shape[1] < 1) return Invalid("shape[1] (the descriptor dimension) must be >= 1");
  NpyHeader out;
  out.rows = shape[0];
  out.cols = shape[1];
  out.data_offset = prefix + header_len;
  return out;
}

std::string EncodeNpyFloat32(const float* data, int64_t rows, int64_t cols) {
  std::string dict =
      absl::StrCat("{'descr': '<f4', 'fortran_order': False, 'shape': (", rows, ", ", cols, "), }");
  // Pad with spaces and a final newline so that magic + version + length + header is a multiple
  // of 64 bytes, as NumPy does.
  const size_t prefix = kMagicSize + 2 + 2;
  size_t total = prefix + dict.size() + 1;
  total = (total + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out(kMagic, kMagicSize);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>((dict.size() >> 8) & 0xff));
  out += dict;
  out.append(reinterpret_cast<const char*>(data),
             static_cast<size_t>(rows) * static_cast<size_t>(cols) * sizeof(float));
  return out;
}

absl::StatusOr<NpyMatrix> NpyMatrix::Open(const std::string& path) {
  GEOLOC_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
  absl::StatusOr<NpyHeader> header = ParseNpyHeader(file.bytes());
  if (!header.ok()) return Annotate(header.status(), path);
  const uint64_t available = file.size() - header->data_offset;
  // 128-bit arithmetic: a hostile shape cannot overflow the size computation.
  const unsigned __int128 needed = static_cast<unsigned __int128>(header->rows) *
                                   static_cast<uint64_t>(header->cols) * sizeof(float);
  if (header->rows < 0 || needed > available) {
    return absl::DataLossError(absl::StrCat(path, ": npy: truncated: shape (", header->rows, ", ",
                                            header->cols, ") needs ",
                                            absl::StrFormat("%.0f", static_cast<double>(needed)),
                                            " data bytes, the file has ", available));
  }
  const uint64_t expected = static_cast<uint64_t>(needed);
  if (available > expected) {
    return absl::DataLossError(absl::StrCat(path, ": npy: ", available - expected,
                                            " unexpected bytes after the array data"));
  }
  NpyMatrix m;
  m.rows_ = header->rows;
  m.cols_ = header->cols;
  if (header->data_offset % alignof(float) == 0) {
    m.data_ = reinterpret_cast<const float*>(file.data() + header->data_offset);
    m.file_ = std::move(file);
  } else {
    m.copy_.resize(expected / sizeof(float));
    if (expected > 0) std::memcpy(m.copy_.data(), file.data() + header->data_offset, expected);
    m.data_ = m.copy_.data();
  }
  return m;
}

}  // namespace geoloc::index
