// Every geoloc program follows the command-line conventions of core/common/command_line.h:
// --help and --version succeed (exit 0) on stdout, a usage error exits 2 with a message.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/command.h"

namespace {

struct Program {
  const char* name;
  const char* path;
  const char* numeric_flag;  // a flag of the program that takes a number
};

constexpr Program kPrograms[] = {
    {"geolocd", GEOLOCD_BINARY, "intra_op_threads"},
    {"geoloc", GEOLOC_BINARY, "deadline_ms"},
    {"geoloc-index", GEOLOC_INDEX_BINARY, "shards"},
    {"geoloc-cells", GEOLOC_CELLS_BINARY, "lvl_start"},
    {"geoloc-eval", GEOLOC_EVAL_BINARY, "max_k"},
    {"geoloc-synth", GEOLOC_SYNTH_BINARY, "seed"},
    {"geoloc-loadgen", GEOLOC_LOADGEN_BINARY, "concurrency"},
};

using ProgramRun = ::geoloc::testing::CommandResult;

// `command`'s exit status, and its stdout and stderr in the order written.
ProgramRun RunProgram(const std::string& command) {
  return ::geoloc::testing::RunCommand(command, ::geoloc::testing::Stderr::kMerged);
}

class CommandLineTest : public ::testing::TestWithParam<Program> {};

TEST_P(CommandLineTest, HelpSucceedsAndListsTheProgramsOwnFlags) {
  const Program& p = GetParam();
  const ProgramRun run = RunProgram(absl::StrCat(p.path, " --help"));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, p.name)) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, absl::StrCat("--", p.numeric_flag)))
      << "the program's own flags are not listed:\n" << run.out;
  EXPECT_FALSE(absl::StrContains(run.out, "No flags matched")) << run.out;
}

TEST_P(CommandLineTest, VersionSucceedsAndNamesTheProgram) {
  const Program& p = GetParam();
  const ProgramRun run = RunProgram(absl::StrCat(p.path, " --version"));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_TRUE(absl::StartsWith(run.out, absl::StrCat(p.name, " "))) << run.out;
}

TEST_P(CommandLineTest, UnknownFlagIsAUsageError) {
  const Program& p = GetParam();
  const ProgramRun run = RunProgram(absl::StrCat(p.path, " --no_such_flag_anywhere=1"));
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "unknown flag --no_such_flag_anywhere")) << run.out;
}

TEST_P(CommandLineTest, BadOrMissingFlagValueIsAUsageError) {
  const Program& p = GetParam();
  ProgramRun run = RunProgram(absl::StrCat(p.path, " --", p.numeric_flag, "=twelve"));
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, absl::StrCat("bad value 'twelve' for --", p.numeric_flag)))
      << run.out;
  run = RunProgram(absl::StrCat(p.path, " --", p.numeric_flag));
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "needs a value")) << run.out;
}

INSTANTIATE_TEST_SUITE_P(AllPrograms, CommandLineTest, ::testing::ValuesIn(kPrograms),
                         [](const ::testing::TestParamInfo<Program>& info) {
                           std::string name = info.param.name;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
