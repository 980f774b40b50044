#include "tools/synth/mp16_points.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

// The CSV itself, placed in .rodata by the assembler. GEOLOC_SYNTH_MP16_CSV is its absolute path
// (tools/synth/CMakeLists.txt, which also passes the file's SHA-256 as a definition so that a
// changed file changes this translation unit's command line and ccache cannot serve a stale object).
asm(".section .rodata\n"
    ".global geoloc_synth_mp16_begin\n"
    ".global geoloc_synth_mp16_end\n"
    ".balign 16\n"
    "geoloc_synth_mp16_begin:\n"
    ".incbin \"" GEOLOC_SYNTH_MP16_CSV "\"\n"
    "geoloc_synth_mp16_end:\n"
    ".byte 0\n"
    ".previous\n");

extern "C" const char geoloc_synth_mp16_begin[];
extern "C" const char geoloc_synth_mp16_end[];

namespace geoloc::synth {
namespace {

[[noreturn]] void BrokenBuild(const std::string& why) {
  std::fprintf(stderr, "geoloc_synth: the embedded MP-16 coordinates are broken (%s); rebuild\n",
               why.c_str());
  std::abort();
}

std::vector<LatLon> Parse() {
  const absl::string_view text(geoloc_synth_mp16_begin,
                               static_cast<size_t>(geoloc_synth_mp16_end - geoloc_synth_mp16_begin));
  std::vector<LatLon> points;
  points.reserve(kMp16PointCount);
  bool header = true;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (header) {
      if (line != "LAT,LON") BrokenBuild("header is not LAT,LON");
      header = false;
      continue;
    }
    const std::pair<absl::string_view, absl::string_view> fields = absl::StrSplit(line, ',');
    LatLon p;
    if (!absl::SimpleAtod(fields.first, &p.lat) || !absl::SimpleAtod(fields.second, &p.lon) ||
        !(p.lat >= -90 && p.lat <= 90) || !(p.lon >= -180 && p.lon <= 180)) {
      BrokenBuild("bad row '" + std::string(line) + "'");
    }
    p.lon = WrapLongitude(p.lon);
    points.push_back(p);
  }
  if (points.size() != static_cast<size_t>(kMp16PointCount)) {
    BrokenBuild(std::to_string(points.size()) + " rows");
  }
  return points;
}

}  // namespace

const std::vector<LatLon>& Mp16Points() {
  static const std::vector<LatLon>* const kPoints = new std::vector<LatLon>(Parse());
  return *kPoints;
}

}  // namespace geoloc::synth
