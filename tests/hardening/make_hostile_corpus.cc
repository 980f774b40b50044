// make_hostile_corpus OUT_DIR: writes every entry of the hostile corpus (hostile_corpus.h) as a
// file named after the entry, plus MANIFEST.tsv (name, size, expected gRPC code, why), for seeding
// fuzzers or replaying against a server with other tools.
//
//   make_hostile_corpus /tmp/corpus --max_message_bytes=1048576 --skip_whole_message
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "hostile_corpus.h"

ABSL_FLAG(int64_t, max_image_pixels, 50'000'000,
          "the --max_image_pixels of the server the expectations are for");
ABSL_FLAG(int64_t, max_message_bytes, 16 << 20,
          "the --max_message_bytes of the server (the oversized entry is one byte more)");
ABSL_FLAG(bool, skip_whole_message, false,
          "leave out entries that only test gRPC's message size limit (large, useless to fuzzers)");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("make_hostile_corpus OUT_DIR [--max_image_pixels=N] "
                               "[--max_message_bytes=N] [--skip_whole_message]");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::fprintf(stderr, "usage: %s\n", absl::ProgramUsageMessage().data());
    return 2;
  }
  const std::filesystem::path out = args[1];
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) {
    std::fprintf(stderr, "make_hostile_corpus: cannot create %s: %s\n", out.c_str(),
                 ec.message().c_str());
    return 1;
  }
  geoloc::hardening::CorpusOptions options;
  options.max_image_pixels = absl::GetFlag(FLAGS_max_image_pixels);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  std::ofstream manifest(out / "MANIFEST.tsv", std::ios::binary | std::ios::trunc);
  manifest << "name\tbytes\texpected\twhy\n";
  int written = 0;
  for (const auto& entry : geoloc::hardening::HostileCorpus(options)) {
    if (entry.whole_message && absl::GetFlag(FLAGS_skip_whole_message)) continue;
    std::ofstream file(out / entry.name, std::ios::binary | std::ios::trunc);
    file.write(entry.bytes.data(), static_cast<std::streamsize>(entry.bytes.size()));
    if (!file.good()) {
      std::fprintf(stderr, "make_hostile_corpus: cannot write %s\n", (out / entry.name).c_str());
      return 1;
    }
    manifest << entry.name << '\t' << entry.bytes.size() << '\t'
             << absl::StatusCodeToString(entry.expected) << '\t' << entry.why << '\n';
    ++written;
  }
  if (!manifest.good()) {
    std::fprintf(stderr, "make_hostile_corpus: cannot write the manifest\n");
    return 1;
  }
  std::printf("make_hostile_corpus: %d entries in %s\n", written, out.c_str());
  return 0;
}
