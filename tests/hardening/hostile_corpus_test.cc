// The hostile corpus itself: deterministic, well-formed entries that cover what the hardening
// issue lists, expectations that follow the server limits, agreement with the decoder, and the
// make_hostile_corpus tool writing exactly the entries. No server is needed.
#include "hostile_corpus.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/model/image_decoder.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::hardening {
namespace {

using absl::StatusCode;

std::map<std::string, HostileEntry> ByName(const std::vector<HostileEntry>& corpus) {
  std::map<std::string, HostileEntry> out;
  for (const HostileEntry& e : corpus) out[e.name] = e;
  return out;
}

TEST(HostileCorpusTest, IsDeterministic) {
  const std::vector<HostileEntry> a = HostileCorpus();
  const std::vector<HostileEntry> b = HostileCorpus();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].bytes, b[i].bytes) << a[i].name;
    EXPECT_EQ(a[i].expected, b[i].expected) << a[i].name;
  }
}

TEST(HostileCorpusTest, EntriesAreWellFormed) {
  std::set<std::string> names;
  for (const HostileEntry& e : HostileCorpus()) {
    EXPECT_TRUE(names.insert(e.name).second) << "duplicate name " << e.name;
    ASSERT_FALSE(e.name.empty());
    for (char ch : e.name) {
      EXPECT_TRUE(absl::ascii_islower(ch) || absl::ascii_isdigit(ch) || ch == '_') << e.name;
    }
    EXPECT_FALSE(e.why.empty()) << e.name;
    EXPECT_TRUE(e.expected == StatusCode::kOk || e.expected == StatusCode::kInvalidArgument ||
                e.expected == StatusCode::kResourceExhausted)
        << e.name;
  }
}

TEST(HostileCorpusTest, CoversTheHardeningChecklist) {
  const auto corpus = ByName(HostileCorpus());
  struct Want {
    const char* name;
    StatusCode expected;
  };
  for (const Want& w : std::vector<Want>{
           {"empty", StatusCode::kInvalidArgument},
           {"random_bytes", StatusCode::kInvalidArgument},
           {"jpeg_cut_mid_scan", StatusCode::kInvalidArgument},
           {"jpeg_cut_before_eoi", StatusCode::kInvalidArgument},
           {"png_cut_mid_idat", StatusCode::kInvalidArgument},
           {"png_cut_before_iend", StatusCode::kInvalidArgument},
           {"jpeg_1x1", StatusCode::kOk},
           {"png_1x1", StatusCode::kOk},
           {"png_ihdr_100000x100000", StatusCode::kResourceExhausted},
           {"jpeg_sof_65000x65000", StatusCode::kResourceExhausted},
           {"png_over_max_pixels", StatusCode::kResourceExhausted},
           {"jpeg_sof_over_max_pixels", StatusCode::kResourceExhausted},
           {"png_gray8", StatusCode::kOk},
           {"png_rgba8", StatusCode::kOk},
           {"png_rgb16", StatusCode::kOk},
           {"jpeg_cmyk_adobe", StatusCode::kOk},
           {"gif_animated", StatusCode::kInvalidArgument},
           {"webp_animated", StatusCode::kInvalidArgument},
           {"pdf_header", StatusCode::kInvalidArgument},
           {"text_file", StatusCode::kInvalidArgument},
           {"jpeg_exif_ifd_offset_past_end", StatusCode::kOk},
           {"jpeg_exif_ifd_loops", StatusCode::kOk},
           {"jpeg_exif_huge_counts", StatusCode::kOk},
           {"jpeg_exif_orientation_0", StatusCode::kOk},
           {"jpeg_exif_orientation_9", StatusCode::kOk},
           {"jpeg_exif_orientation_65535", StatusCode::kOk},
           {"tiff_unknown_tags", StatusCode::kOk},
           {"bmp_negative_huge_height", StatusCode::kResourceExhausted},
           {"bmp_top_down", StatusCode::kOk},
           {"oversized_message", StatusCode::kResourceExhausted}}) {
    auto it = corpus.find(w.name);
    ASSERT_NE(it, corpus.end()) << w.name;
    EXPECT_EQ(it->second.expected, w.expected) << w.name;
  }
  // The animated containers really hold two frames.
  const std::string& gif = corpus.at("gif_animated").bytes;
  EXPECT_EQ(gif.substr(0, 6), "GIF89a");
  EXPECT_EQ(std::count(gif.begin(), gif.end(), '\x2C'), 2);  // image descriptors
  const std::string& webp = corpus.at("webp_animated").bytes;
  EXPECT_NE(webp.find("ANIM"), std::string::npos);
  EXPECT_NE(webp.find("ANMF", webp.find("ANMF") + 1), std::string::npos);
}

TEST(HostileCorpusTest, LimitDependentEntriesFollowTheOptions) {
  CorpusOptions small;
  small.max_image_pixels = 1'000'000;
  small.max_message_bytes = 4096;
  const auto corpus = ByName(HostileCorpus(small));
  int whole_message = 0;
  for (const auto& [name, e] : corpus) {
    if (!e.whole_message) continue;
    ++whole_message;
    EXPECT_EQ(e.bytes.size(), 4097u) << name;
    EXPECT_EQ(e.expected, StatusCode::kResourceExhausted);
  }
  EXPECT_EQ(whole_message, 1);
  // 1001 x 1001 > 1,000,000 while each side is far below 65535.
  EXPECT_NE(corpus.at("png_over_max_pixels").bytes.find(std::string("\0\0\x03\xE9\0\0\x03\xE9", 8)),
            std::string::npos);
}

// The server maps the decoder's UNIMPLEMENTED (a format it does not read) to INVALID_ARGUMENT;
// everything else passes through. This is the decoder half of what the integration tests check.
TEST(HostileCorpusTest, TheDecoderAnswersEveryEntryAsExpected) {
  CorpusOptions options;
  options.max_message_bytes = 4096;  // keeps the oversized entry small; it is skipped here
  for (const HostileEntry& e : HostileCorpus(options)) {
    if (e.whole_message) continue;
    model::DecodeOptions decode;
    decode.max_pixels = options.max_image_pixels;
    decode.target_min_side = 128;
    absl::StatusOr<cv::Mat> image = model::DecodeImage(e.bytes, decode);
    StatusCode code = image.status().code();
    if (code == StatusCode::kUnimplemented) code = StatusCode::kInvalidArgument;
    EXPECT_EQ(code, e.expected) << e.name << " (" << e.why << "): " << image.status();
    if (image.ok()) {
      EXPECT_EQ(image->type(), CV_8UC3) << e.name;
      EXPECT_GT(image->rows, 0) << e.name;
    }
  }
}

TEST(HostileCorpusTest, ToolWritesEveryEntryAndAManifest) {
  const testing::ScratchDir scratch("corpus");
  const std::filesystem::path dir = scratch.file("corpus");
  const std::string command = absl::StrCat(GEOLOC_MAKE_HOSTILE_CORPUS_PATH, " ", dir.string(),
                                           " --max_message_bytes=2048 >/dev/null");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  CorpusOptions options;
  options.max_message_bytes = 2048;
  const std::vector<HostileEntry> corpus = HostileCorpus(options);
  std::ifstream manifest(dir / "MANIFEST.tsv");
  std::string line;
  std::getline(manifest, line);
  EXPECT_EQ(line, "name\tbytes\texpected\twhy");
  for (const HostileEntry& e : corpus) {
    std::ifstream file(dir / e.name, std::ios::binary);
    ASSERT_TRUE(file.good()) << e.name;
    std::stringstream bytes;
    bytes << file.rdbuf();
    EXPECT_EQ(bytes.str(), e.bytes) << e.name;
    ASSERT_TRUE(std::getline(manifest, line)) << e.name;
    const std::vector<std::string> fields = absl::StrSplit(line, '\t');
    ASSERT_EQ(fields.size(), 4u) << line;
    EXPECT_EQ(fields[0], e.name);
    EXPECT_EQ(fields[1], std::to_string(e.bytes.size()));
    EXPECT_EQ(fields[2], absl::StatusCodeToString(e.expected));
  }
  EXPECT_FALSE(std::getline(manifest, line)) << "extra manifest line: " << line;
}

}  // namespace
}  // namespace geoloc::hardening
