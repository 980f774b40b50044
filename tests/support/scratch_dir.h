// Scratch directories and small files for tests.
//
//   ScratchDir dir("bundle");                        // <temp>/geoloc-bundle-XXXXXX, made now
//   WriteTestFile(dir.file("a.csv"), "path,lat,lon\n");
//   EXPECT_EQ(ReadTestFile(dir.file("a.csv")), "path,lat,lon\n");
//   // ~ScratchDir removes the directory and everything in it
//
// The temporary root is GoogleTest's ::testing::TempDir(): $TEST_TMPDIR when set, else /tmp.
// Names come from mkdtemp, so tests running in parallel (ctest -j, several build trees) never
// share a directory. A failure to make one fails the current test (ADD_FAILURE), and path() is
// then empty. Not thread-safe to share while another thread destroys it; move-only.
#ifndef GEOLOC_TESTS_SUPPORT_SCRATCH_DIR_H_
#define GEOLOC_TESTS_SUPPORT_SCRATCH_DIR_H_

#include <string>

namespace geoloc::testing {

class ScratchDir {
 public:
  // `tag` names the directory (letters, digits, '-' and '_') so a leftover says whose it was.
  explicit ScratchDir(const std::string& tag = "test");
  ~ScratchDir();
  ScratchDir(ScratchDir&& other) noexcept;
  ScratchDir& operator=(ScratchDir&& other) noexcept;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name: a file or directory inside (not created).
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `contents` to `path` (created or truncated); fails the current test when it cannot.
void WriteTestFile(const std::string& path, const std::string& contents);
// The bytes of `path`; empty (and no failure) when it cannot be read.
std::string ReadTestFile(const std::string& path);

}  // namespace geoloc::testing

#endif  // GEOLOC_TESTS_SUPPORT_SCRATCH_DIR_H_
