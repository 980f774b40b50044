#include "core/common/command_line.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace geoloc {
namespace {

// Abseil's usage flags are not in the flag registry: its parser recognises them by name.
bool IsAbslUsageFlag(absl::string_view name) {
  for (const char* usage : {"help", "helpfull", "helpshort", "helppackage", "helpon", "helpmatch",
                            "version", "only_check_args"}) {
    if (name == usage) return true;
  }
  return false;
}

// --help lists the program's own flags: every flag not defined inside Abseil itself.
bool IsOwnFlagFile(absl::string_view filename) { return !absl::StrContains(filename, "absl/"); }

}  // namespace

absl::string_view Version() { return GEOLOC_VERSION; }

absl::Status CheckCommandLineFlags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;  // the rest is positional
    if (arg.size() < 2 || arg[0] != '-') continue;
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    absl::string_view name = arg;
    absl::string_view value;
    const size_t eq = arg.find('=');
    const bool has_value = eq != absl::string_view::npos;
    if (has_value) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (IsAbslUsageFlag(name)) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && !has_value) {
      // --noflag sets a boolean flag to false.
      absl::string_view negated = name;
      if (absl::ConsumePrefix(&negated, "no")) {
        absl::CommandLineFlag* bool_flag = absl::FindCommandLineFlag(negated);
        if (bool_flag != nullptr && bool_flag->IsOfType<bool>()) continue;
      }
    }
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (flag->IsOfType<bool>() && !has_value) continue;
    if (!has_value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
      value = argv[++i];
    }
    // Parsing here sets the value the real parse is about to set anyway.
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad value '", value, "' for --", name, ": ", error));
    }
  }
  return absl::OkStatus();
}

std::vector<char*> ParseCommandLineOrExit(int argc, char** argv, absl::string_view program,
                                          absl::string_view usage) {
  absl::SetProgramUsageMessage(usage);  // Abseil prints "<binary>: " before it
  absl::FlagsUsageConfig config;
  config.contains_help_flags = IsOwnFlagFile;
  config.contains_helpshort_flags = IsOwnFlagFile;
  config.version_string = [name = std::string(program)] {
    return absl::StrCat(name, " ", Version(), "\n");
  };
  absl::SetFlagsUsageConfig(config);
  if (absl::Status flags = CheckCommandLineFlags(argc, argv); !flags.ok()) {
    std::fprintf(stderr, "%s: error: %s (try --help)\n", std::string(program).c_str(),
                 std::string(flags.message()).c_str());
    std::exit(kExitUsageError);
  }
  std::vector<char*> args = absl::flags_internal::ParseCommandLineImpl(
      argc, argv, absl::flags_internal::ArgvListAction::kRemoveParsedArgs,
      absl::flags_internal::UsageFlagsAction::kIgnoreUsage,
      absl::flags_internal::OnUndefinedFlag::kAbortIfUndefined);
  // Asking for help or the version is a success, not an error (Abseil exits 1 after --help).
  if (absl::flags_internal::HandleUsageFlags(std::cout, absl::ProgramUsageMessage()) != -1) {
    std::cout.flush();
    std::exit(0);
  }
  return args;
}

}  // namespace geoloc
