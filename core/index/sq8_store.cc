#include "core/index/sq8_store.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"

namespace geoloc::index {
namespace {

constexpr char kMagic[8] = {'G', 'L', 'S', 'Q', '8', 'v', '1', '\0'};
constexpr int64_t kHeaderBytes = 64;

// Offset of the codes: header, three per-dimension float arrays and the norms, padded to 64.
int64_t CodesOffset(int64_t n, int d) {
  const int64_t params = kHeaderBytes + (3 * int64_t{d} + n) * int64_t{sizeof(float)};
  return (params + 63) / 64 * 64;
}

// The smallest float >= v (v >= 0, finite).
float RoundUp(double v) {
  float f = static_cast<float>(v);
  if (static_cast<double>(f) < v) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

}  // namespace

absl::Status WriteSq8Store(const std::string& path, const float* x, int64_t n, int d) {
  if (n < 1 || d < 1) return absl::InvalidArgumentError("sq8 store: needs n >= 1 and d >= 1");
  std::vector<float> lo(d, std::numeric_limits<float>::infinity());
  std::vector<float> hi(d, -std::numeric_limits<float>::infinity());
  for (int64_t r = 0; r < n; ++r) {
    for (int j = 0; j < d; ++j) {
      const float v = x[r * d + j];
      if (!std::isfinite(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("sq8 store: row ", r, " has a non-finite value"));
      }
      lo[j] = std::min(lo[j], v);
      hi[j] = std::max(hi[j], v);
    }
  }
  std::vector<float> scale(d);
  for (int j = 0; j < d; ++j) scale[j] = (hi[j] - lo[j]) / 255.0f;

  std::vector<uint8_t> codes(static_cast<size_t>(n) * d);
  std::vector<double> err(d, 0.0);
  std::vector<float> norm2(n);
  double max_resid2 = 0;
  double max_norm2 = 0;
  for (int64_t r = 0; r < n; ++r) {
    double resid2 = 0;
    double sq = 0;
    for (int j = 0; j < d; ++j) {
      const float v = x[r * d + j];
      int c = 0;
      if (scale[j] > 0) {
        c = static_cast<int>(std::lround((v - lo[j]) / scale[j]));
        c = std::clamp(c, 0, 255);
      }
      codes[static_cast<size_t>(r) * d + j] = static_cast<uint8_t>(c);
      // The error against the value the stored floats describe, in double.
      const double e = std::fabs(static_cast<double>(v) -
                                 (static_cast<double>(lo[j]) + static_cast<double>(scale[j]) * c));
      err[j] = std::max(err[j], e);
      resid2 += e * e;
      sq += static_cast<double>(v) * v;
    }
    max_resid2 = std::max(max_resid2, resid2);
    norm2[r] = static_cast<float>(sq);
    max_norm2 = std::max(max_norm2, sq);
  }
  std::vector<float> err_up(d);
  for (int j = 0; j < d; ++j) err_up[j] = RoundUp(err[j]);

  char header[kHeaderBytes] = {};
  std::memcpy(header, kMagic, sizeof(kMagic));
  const int32_t d32 = d;
  std::memcpy(header + 8, &d32, 4);
  std::memcpy(header + 16, &n, 8);
  const float resid = RoundUp(std::sqrt(max_resid2));
  const float norm_max = RoundUp(max_norm2);
  std::memcpy(header + 24, &resid, 4);
  std::memcpy(header + 28, &norm_max, 4);

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  auto put = [&](const void* p, int64_t bytes) {
    out.write(static_cast<const char*>(p), static_cast<std::streamsize>(bytes));
  };
  put(header, kHeaderBytes);
  put(lo.data(), int64_t{d} * 4);
  put(scale.data(), int64_t{d} * 4);
  put(err_up.data(), int64_t{d} * 4);
  put(norm2.data(), n * 4);
  const int64_t pad = CodesOffset(n, d) - (kHeaderBytes + (3 * int64_t{d} + n) * 4);
  const char zeros[64] = {};
  put(zeros, pad);
  put(codes.data(), static_cast<int64_t>(codes.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<Sq8Store> Sq8Store::Open(const std::string& path, int64_t n, int d) {
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("sq8 store ", path, ": ", what));
  };
  GEOLOC_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
  if (file.size() < static_cast<size_t>(kHeaderBytes) ||
      std::memcmp(file.data(), kMagic, sizeof(kMagic)) != 0) {
    return bad("not an sq8 store (bad magic)");
  }
  int32_t fd;
  int64_t fn;
  std::memcpy(&fd, file.data() + 8, 4);
  std::memcpy(&fn, file.data() + 16, 8);
  if (fd != d || fn != n) {
    return bad(absl::StrCat("holds ", fn, " x ", fd, " codes, the shard has ", n, " x ", d));
  }
  const int64_t want = CodesOffset(n, d) + n * d;
  if (static_cast<int64_t>(file.size()) != want) {
    return bad(absl::StrCat(file.size(), " bytes, ", want, " expected (truncated or padded)"));
  }
  Sq8Store s;
  s.d_ = d;
  s.n_ = n;
  std::memcpy(&s.max_resid_, file.data() + 24, 4);
  std::memcpy(&s.max_norm2_, file.data() + 28, 4);
  const auto* floats = reinterpret_cast<const float*>(file.data() + kHeaderBytes);
  s.min_ = floats;
  s.scale_ = floats + d;
  s.err_ = floats + 2 * int64_t{d};
  s.norm2_ = floats + 3 * int64_t{d};
  s.codes_ = file.data() + CodesOffset(n, d);
  auto finite_nonneg = [](float v) { return std::isfinite(v) && v >= 0; };
  if (!finite_nonneg(s.max_resid_) || !finite_nonneg(s.max_norm2_)) return bad("bad bounds");
  for (int j = 0; j < d; ++j) {
    if (!std::isfinite(s.min_[j]) || !finite_nonneg(s.scale_[j]) || !finite_nonneg(s.err_[j])) {
      return bad(absl::StrCat("bad parameters for dimension ", j));
    }
  }
  for (int64_t r = 0; r < n; ++r) {
    if (!finite_nonneg(s.norm2_[r]) || s.norm2_[r] > s.max_norm2_) {
      return bad(absl::StrCat("bad norm for row ", r));
    }
  }
  s.file_ = std::move(file);
  return s;
}

void Sq8Store::Prefault() const {
  volatile uint8_t sink = 0;
  const int64_t bytes = n_ * d_;
  for (int64_t i = 0; i < bytes; i += 4096) sink = sink + codes_[i];
  (void)sink;
}

}  // namespace geoloc::index
