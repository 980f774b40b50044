// Helpers for the client tests: the command lines of the CLI binaries under test, and a port
// nothing listens on. Scratch directories, files and running commands come from tests/support
// (brought into this namespace so the tests spell them testing::RunCommand and so on).
//
//   ScratchDir dir("cli");
//   WriteTestFile(dir.file("a.jpg"), "LATLON 48.8582 2.2945");
//   CommandResult run = RunCommand(CliCommand("locate " + dir.file("a.jpg"), server->address()));
//   EXPECT_EQ(run.exit_code, 0) << run.err;
#ifndef GEOLOC_TESTS_CLIENT_TEST_UTIL_H_
#define GEOLOC_TESTS_CLIENT_TEST_UTIL_H_

#include <string>

#include "tests/support/command.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::client::testing {

using ::geoloc::testing::CommandResult;
using ::geoloc::testing::ReadTestFile;
using ::geoloc::testing::RunCommand;
using ::geoloc::testing::ScratchDir;
using ::geoloc::testing::ShellQuote;
using ::geoloc::testing::WriteTestFile;

// "env -u GEOLOC_TOKEN -u GEOLOC_ADMIN_TOKEN <env> <geoloc> <args> --server=<server>": the CLI
// with a clean token environment plus `env` ("GEOLOC_TOKEN=x", may be empty).
std::string CliCommand(const std::string& args, const std::string& server,
                       const std::string& env = "GEOLOC_TOKEN=test-token");
std::string LoadgenCommand(const std::string& args, const std::string& server,
                           const std::string& env = "GEOLOC_TOKEN=test-token");

// A port on 127.0.0.1 nothing listens on (bound, then released).
int UnusedPort();

}  // namespace geoloc::client::testing

#endif  // GEOLOC_TESTS_CLIENT_TEST_UTIL_H_
