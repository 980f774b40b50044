// Running a command through /bin/sh, as a user would, and collecting its exit status and output.
//
//   CommandResult run = RunCommand(ShellQuote(GEOLOC_INDEX_BINARY) + " info " + ShellQuote(dir));
//   EXPECT_EQ(run.exit_code, 0) << run.err;
//   CommandResult both = RunCommand(cmd, Stderr::kMerged);  // stderr interleaved into `out`
//
// Blocks until the command exits. Safe from several threads at once (each run has its own pipe
// and, for Stderr::kSeparate, its own scratch file).
#ifndef GEOLOC_TESTS_SUPPORT_COMMAND_H_
#define GEOLOC_TESTS_SUPPORT_COMMAND_H_

#include <string>

namespace geoloc::testing {

// Where the command's stderr goes.
//   kSeparate  into CommandResult::err (stdout alone in `out`)
//   kMerged    into `out`, interleaved with stdout in the order written (`err` stays empty)
enum class Stderr { kSeparate, kMerged };

struct CommandResult {
  int exit_code = -1;  // the exit status; -1 when the command did not exit normally (a signal)
  std::string out;     // stdout (and stderr with Stderr::kMerged)
  std::string err;     // stderr with Stderr::kSeparate
};

// Runs `command` with /bin/sh -c; fails the current test when the shell cannot be started.
CommandResult RunCommand(const std::string& command, Stderr stderr_to = Stderr::kSeparate);

// `text` quoted for /bin/sh (single quotes; embedded quotes escaped).
std::string ShellQuote(const std::string& text);

}  // namespace geoloc::testing

#endif  // GEOLOC_TESTS_SUPPORT_COMMAND_H_
