#include "tests/support/command.h"

#include <sys/wait.h>

#include <cstdio>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::testing {

CommandResult RunCommand(const std::string& command, Stderr stderr_to) {
  CommandResult result;
  // The braces make the redirection cover the whole command, not only its last part.
  std::optional<ScratchDir> err_dir;
  std::string err_path;
  std::string full;
  if (stderr_to == Stderr::kMerged) {
    full = absl::StrCat("{ ", command, "\n} 2>&1");
  } else {
    err_dir.emplace("stderr");
    err_path = err_dir->file("stderr.txt");
    full = absl::StrCat("{ ", command, "\n} 2>", ShellQuote(err_path));
  }
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed for: " << full;
    return result;
  }
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (stderr_to == Stderr::kSeparate) result.err = ReadTestFile(err_path);
  return result;
}

std::string ShellQuote(const std::string& text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

}  // namespace geoloc::testing
