// NumPy .npy files of float32 descriptors: the bulk-load input of `geoloc-index build`.
//
//   GEOLOC_ASSIGN_OR_RETURN(NpyMatrix m, NpyMatrix::Open("descriptors.npy"));
//   const float* row7 = m.data() + 7 * m.cols();
//
// Accepted (anything else is INVALID_ARGUMENT with the reason, never a crash):
//   magic "\x93NUMPY", format version 1.0 (uint16 header length) or 2.0 (uint32 header length)
//   header dict with exactly 'descr', 'fortran_order', 'shape' (any order, Python literal syntax)
//   descr '<f4' (little-endian float32); fortran_order False; shape (N, D) with N >= 0, D >= 1
//   file size == header + N * D * 4 (shorter: DATA_LOSS "truncated"; longer: DATA_LOSS)
// Rejected with a specific message: version 3.0 and others, '>f4' (big-endian), other dtypes
// such as '<f8' (convert with .astype('float32')), Fortran order (use np.ascontiguousarray),
// 1-D or 3-D shapes.
//
// NpyMatrix maps the file and reads it in place when the data is 4-byte aligned (NumPy pads the
// header to a multiple of 64 bytes), else copies it once. Immutable and move-only; const methods
// are safe to call concurrently.
#ifndef GEOLOC_CORE_INDEX_NPY_H_
#define GEOLOC_CORE_INDEX_NPY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/index/mapped_file.h"

namespace geoloc::index {

struct NpyHeader {
  int64_t rows = 0;
  int64_t cols = 0;
  uint64_t data_offset = 0;  // bytes from the start of the file
};

// Parses the header at the start of `bytes` (the whole file or at least its header).
absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view bytes);

// A version 1.0 .npy file of a row-major float32 [rows, cols] array (header padded to 64 bytes).
std::string EncodeNpyFloat32(const float* data, int64_t rows, int64_t cols);

class NpyMatrix {
 public:
  static absl::StatusOr<NpyMatrix> Open(const std::string& path);

  NpyMatrix() = default;
  NpyMatrix(NpyMatrix&&) noexcept = default;
  NpyMatrix& operator=(NpyMatrix&&) noexcept = default;

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  const float* data() const { return data_; }

 private:
  MappedFile file_;
  std::vector<float> copy_;
  const float* data_ = nullptr;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_NPY_H_
