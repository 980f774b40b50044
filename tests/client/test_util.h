// Helpers for the client tests: scratch directories, files, and running the CLI binaries.
//
//   std::string dir = MakeTempDir("cli");
//   WriteTestFile(dir + "/a.jpg", "LATLON 48.8582 2.2945");
//   CommandResult run = RunCommand(CliCommand("locate " + dir + "/a.jpg", server->address()));
//   EXPECT_EQ(run.exit_code, 0) << run.err;
#ifndef GEOLOC_TESTS_CLIENT_TEST_UTIL_H_
#define GEOLOC_TESTS_CLIENT_TEST_UTIL_H_

#include <string>

namespace geoloc::client::testing {

struct CommandResult {
  int exit_code = -1;  // the process's exit status; -1 when it did not exit normally
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs `command` with /bin/sh and collects its exit status, stdout and stderr.
CommandResult RunCommand(const std::string& command);

// A fresh directory under the build's test-tmp directory (or $TMPDIR).
std::string MakeTempDir(const std::string& prefix);
void WriteTestFile(const std::string& path, const std::string& contents);
std::string ReadTestFile(const std::string& path);
bool FileExists(const std::string& path);

// Quotes `text` for /bin/sh.
std::string ShellQuote(const std::string& text);

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
