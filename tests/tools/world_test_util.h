// Helpers shared by the synthetic-world tests (synth_test.cc, planet_test.cc): an independent
// haversine, a scratch directory per test and running the geoloc-synth binary (both on
// tests/support), file digests.
//
//   class MyTest : public WorldDirTest {};   // dir_ is fresh for every test, removed after it
//   EXPECT_EQ(Digests(dir_ / "a"), Digests(dir_ / "b"));
//
// Header-only, for tests/tools only; each helper is safe to call from one test thread.
#ifndef GEOLOC_TESTS_TOOLS_WORLD_TEST_UTIL_H_
#define GEOLOC_TESTS_TOOLS_WORLD_TEST_UTIL_H_

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/common/sha256.h"
#include "gtest/gtest.h"
#include "tests/support/command.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::synth::test_util {

// Written here rather than taken from the generator, so the tests do not trust what they check.
inline double TestHaversineKm(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRad = 3.14159265358979323846 / 180.0;
  const double dlat = (lat2 - lat1) * kRad, dlon = (lon2 - lon1) * kRad;
  const double a = std::pow(std::sin(dlat / 2), 2) +
                   std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::pow(std::sin(dlon / 2), 2);
  return 2 * 6371.0088 * std::asin(std::min(1.0, std::sqrt(a)));
}

// Relative path -> SHA-256 of every regular file under `root`.
inline std::map<std::string, std::string> Digests(const std::filesystem::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    auto digest = Sha256File(e.path().string());
    EXPECT_TRUE(digest.ok()) << digest.status();
    out[std::filesystem::relative(e.path(), root).string()] = digest.ok() ? *digest : "";
  }
  return out;
}

class WorldDirTest : public ::testing::Test {
 protected:
  geoloc::testing::ScratchDir scratch_{"world_test"};
  const std::filesystem::path dir_{scratch_.path()};
};

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs GEOLOC_SYNTH_BINARY (a compile-time definition of the test target) with `args`.
inline RunResult RunSynth(const std::string& args) {
  geoloc::testing::CommandResult run = geoloc::testing::RunCommand(
      absl::StrCat(GEOLOC_SYNTH_BINARY, " ", args), geoloc::testing::Stderr::kMerged);
  return {run.exit_code, std::move(run.out)};
}

}  // namespace geoloc::synth::test_util

#endif  // GEOLOC_TESTS_TOOLS_WORLD_TEST_UTIL_H_
