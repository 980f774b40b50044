#include "core/index/npy.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tests/index/test_util.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::index {
namespace {

using ::geoloc::testing::ScratchDir;
using ::geoloc::testing::WriteTestFile;

// A .npy file as NumPy writes it: magic, version, little-endian header length, dict padded with
// spaces to a multiple of 64 bytes, newline, data.
std::string NpyBytes(int major, const std::string& dict, const std::string& data) {
  const size_t len_width = major == 1 ? 2 : 4;
  const size_t prefix = 8 + len_width;
  std::string header = dict;
  size_t total = prefix + header.size() + 1;
  total = (total + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  for (size_t i = 0; i < len_width; ++i)
    out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  return out + header + data;
}

std::string FloatBytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

const std::vector<float> kData = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

TEST(Npy, ReadsVersion1And2) {
  ScratchDir dir;
  for (int major : {1, 2}) {
    for (const std::string dict :
         {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }",
          "{\"shape\": (3,4), \"fortran_order\": False, \"descr\": \"<f4\"}",
          "{'descr':'<f4','fortran_order':False,'shape':(3L, 4L)}"}) {
      WriteTestFile(dir.file("a.npy"), NpyBytes(major, dict, FloatBytes(kData)));
      absl::StatusOr<NpyMatrix> m = NpyMatrix::Open(dir.file("a.npy"));
      ASSERT_TRUE(m.ok()) << m.status() << " for " << dict;
      EXPECT_EQ(m->rows(), 3);
      EXPECT_EQ(m->cols(), 4);
      EXPECT_EQ(std::vector<float>(m->data(), m->data() + 12), kData);
    }
  }
}

TEST(Npy, EncoderOutputReadsBack) {
  ScratchDir dir;
  WriteTestFile(dir.file("e.npy"), EncodeNpyFloat32(kData.data(), 4, 3));
  absl::StatusOr<NpyMatrix> m = NpyMatrix::Open(dir.file("e.npy"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->rows(), 4);
  EXPECT_EQ(m->cols(), 3);
  EXPECT_EQ(m->data()[11], 12.0f);
  WriteTestFile(dir.file("z.npy"), EncodeNpyFloat32(nullptr, 0, 8));
  m = NpyMatrix::Open(dir.file("z.npy"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->rows(), 0);
}

TEST(Npy, RejectsUnsupportedHeadersClearly) {
  ScratchDir dir;
  struct Case {
    std::string bytes;
    absl::StatusCode code;
    std::string message;
  };
  const std::string data = FloatBytes(kData);
  const std::vector<Case> cases = {
      {NpyBytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", data),
       absl::StatusCode::kInvalidArgument, "float32"},
      {NpyBytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3, 4), }", data),
       absl::StatusCode::kInvalidArgument, "big-endian"},
      {NpyBytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4), }", data),
       absl::StatusCode::kInvalidArgument, "Fortran"},
      {NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (12,), }", data),
       absl::StatusCode::kInvalidArgument, "2-D"},
      {NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 4), }", data),
       absl::StatusCode::kInvalidArgument, "2-D"},
      {NpyBytes(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", data),
       absl::StatusCode::kInvalidArgument, "version 3.0"},
      {NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), 'x': 1}", data),
       absl::StatusCode::kInvalidArgument, "unexpected header key"},
      {NpyBytes(1, "{'descr': '<f4', 'fortran_order': False", data),
       absl::StatusCode::kInvalidArgument, "malformed"},
      {NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }", data),
       absl::StatusCode::kDataLoss, "truncated"},
      {NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", data),
       absl::StatusCode::kDataLoss, "unexpected bytes"},
      {NpyBytes(1,
                "{'descr': '<f4', 'fortran_order': False, "
                "'shape': (4611686018427387904, 4), }",
                data),
       absl::StatusCode::kDataLoss, "truncated"},
      {std::string("PK\x03\x04 not numpy"), absl::StatusCode::kInvalidArgument, "bad magic"},
  };
  for (const Case& c : cases) {
    WriteTestFile(dir.file("bad.npy"), c.bytes);
    absl::StatusOr<NpyMatrix> m = NpyMatrix::Open(dir.file("bad.npy"));
    EXPECT_EQ(m.status().code(), c.code) << m.status();
    EXPECT_NE(m.status().message().find(c.message), std::string::npos) << m.status();
  }
}

TEST(Npy, TruncatedHeaderIsAnError) {
  const std::string full =
      NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", "");
  for (size_t len = 0; len < full.size(); ++len) {
    EXPECT_FALSE(ParseNpyHeader(full.substr(0, len)).ok()) << len;
  }
  EXPECT_TRUE(ParseNpyHeader(full).ok());
}

}  // namespace
}  // namespace geoloc::index
