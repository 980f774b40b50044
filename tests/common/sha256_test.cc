#include "core/common/sha256.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"

namespace geoloc {
namespace {

TEST(Sha256Test, KnownVectors) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, FileMatchesBytes) {
  const testing::ScratchDir dir("sha256");
  const std::filesystem::path path = dir.file("data.bin");
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 % 251);
  std::ofstream(path, std::ios::binary) << data;
  auto hex = Sha256File(path.string());
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(*hex, Sha256Hex(data));
  std::filesystem::remove(path);
  EXPECT_EQ(Sha256File(path.string()).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace geoloc
