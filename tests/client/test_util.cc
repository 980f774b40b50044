#include "tests/client/test_util.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"

namespace geoloc::client::testing {

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  const std::string err_dir = MakeTempDir("stderr");
  const std::string err_path = err_dir + "/stderr.txt";
  const std::string full = absl::StrCat(command, " 2>", ShellQuote(err_path));
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
  result.err = ReadTestFile(err_path);
  std::error_code ignored;
  std::filesystem::remove_all(err_dir, ignored);
  return result;
}

std::string MakeTempDir(const std::string& prefix) {
  std::string root = GEOLOC_TEST_TMPDIR;
  std::filesystem::create_directories(root);
  std::string pattern = absl::StrCat(root, "/client-", prefix, "-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << pattern;
  }
  return pattern;
}

void WriteTestFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

bool FileExists(const std::string& path) { return std::filesystem::exists(path); }

std::string ShellQuote(const std::string& text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

namespace {

std::string ToolCommand(const char* binary, const std::string& args, const std::string& server,
                        const std::string& env) {
  return absl::StrCat("env -u GEOLOC_TOKEN -u GEOLOC_ADMIN_TOKEN ", env, " ", ShellQuote(binary),
                      " ", args, " --server=", server);
}

}  // namespace

std::string CliCommand(const std::string& args, const std::string& server, const std::string& env) {
  return ToolCommand(GEOLOC_CLI_PATH, args, server, env);
}

std::string LoadgenCommand(const std::string& args, const std::string& server,
                           const std::string& env) {
  return ToolCommand(GEOLOC_LOADGEN_PATH, args, server, env);
}

int UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);  // never listened on: connections are refused
  return port;
}

}  // namespace geoloc::client::testing
