#include "tests/client/test_util.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace geoloc::client::testing {

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
