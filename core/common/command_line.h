// Command-line conventions shared by every geoloc program (geolocd, geoloc, geoloc-index,
// geoloc-cells, geoloc-eval, geoloc-synth, geoloc-loadgen), so scripts can rely on them:
//
//   | command line                                         | effect                          | exit |
//   | --help, --helpfull, --helpshort, --helpon=, --helpmatch= | usage and flags on stdout   | 0    |
//   | --version                                            | "<program> <version>" on stdout | 0    |
//   | an unknown flag, a flag without its value, a bad value | "<program>: error: ..." on stderr | 2 |
//   | anything else                                        | returns the positional arguments |     |
//
//   int main(int argc, char** argv) {
//     std::vector<char*> args = geoloc::ParseCommandLineOrExit(argc, argv, "geoloc-synth", kUsage);
//
// Usage errors found later by the program itself exit with kExitUsageError as well. Not
// thread-safe: call once, from main, before other threads start.
#ifndef GEOLOC_CORE_COMMON_COMMAND_LINE_H_
#define GEOLOC_CORE_COMMON_COMMAND_LINE_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace geoloc {

inline constexpr int kExitUsageError = 2;

// The project's version (CMake's PROJECT_VERSION), e.g. "0.1.0".
absl::string_view Version();

// Checks every flag on the command line against the registry (unknown flags, missing or bad
// values) without exiting; Abseil's usage flags (--help, --version, ...) are accepted.
// INVALID_ARGUMENT naming the flag otherwise.
absl::Status CheckCommandLineFlags(int argc, char** argv);

// Parses the flags as the table above says; returns argv[0] followed by the positional
// arguments. `usage` is the program's usage message (the first lines of --help).
std::vector<char*> ParseCommandLineOrExit(int argc, char** argv, absl::string_view program,
                                          absl::string_view usage);

}  // namespace geoloc

#endif  // GEOLOC_CORE_COMMON_COMMAND_LINE_H_
