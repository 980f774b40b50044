// make_fuzz_seeds OUT_DIR [IMAGE_DIR ...]: the fuzzers' seed corpora.
//
//   OUT_DIR/decode_image/    one small valid image per format and variant geoloc decodes (baseline,
//                            progressive and EXIF-rotated JPEG, PNG 8/16-bit with and without
//                            alpha, WebP lossy and lossless, BMP, TIFF 8/16-bit, grayscale), plus
//                            a copy of every file found in the IMAGE_DIRs (the hostile corpus)
//   OUT_DIR/locate_request/  serialized LocateRequest, LocateStreamRequest and ExplainRequest
//                            messages wrapping each of those images, with option sets from
//                            defaults to every kind of invalid value
//
// Deterministic: the same files every run. Valid seeds let the fuzzers start deep inside the
// decoders instead of having to discover the formats; hostile ones start them at known attacks.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "geoloc/v1/geoloc.pb.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "tests/support/forged_images.h"

namespace {

namespace fs = std::filesystem;

struct Seed {
  std::string name;
  std::string bytes;
};

// A colourful test card: four quadrants and a gradient, so every decoder path sees real content.
cv::Mat Card(int width, int height) {
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const bool right = x >= width / 2;
      const bool bottom = y >= height / 2;
      image.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uint8_t>(bottom ? 200 : 20), static_cast<uint8_t>(right ? 180 : 40),
                    static_cast<uint8_t>((x * 255) / std::max(1, width)));
    }
  }
  return image;
}

std::string Encode(const cv::Mat& image, const std::string& ext, const std::vector<int>& params) {
  std::vector<uint8_t> buffer;
  if (!cv::imencode(ext, image, buffer, params)) {
    std::cerr << "make_fuzz_seeds: OpenCV cannot write " << ext << "\n";
    std::exit(1);
  }
  return std::string(buffer.begin(), buffer.end());
}

std::vector<Seed> GeneratedImages() {
  const cv::Mat card = Card(64, 48);
  const cv::Mat large = Card(400, 300);  // reduced JPEG decoding applies (1/4 for a 48-px side)
  cv::Mat gray;
  cv::cvtColor(card, gray, cv::COLOR_BGR2GRAY);
  cv::Mat bgra;
  cv::cvtColor(card, bgra, cv::COLOR_BGR2BGRA);
  for (int y = 0; y < bgra.rows; ++y) {
    for (int x = 0; x < bgra.cols; ++x) bgra.at<cv::Vec4b>(y, x)[3] = static_cast<uint8_t>(x * 4);
  }
  cv::Mat deep;
  card.convertTo(deep, CV_16U, 257.0);
  const cv::Mat one_pixel(1, 1, CV_8UC3, cv::Scalar(10, 20, 30));

  std::vector<Seed> seeds = {
      {"baseline.jpg", Encode(card, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90})},
      {"progressive.jpg",
       Encode(card, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 80, cv::IMWRITE_JPEG_PROGRESSIVE, 1})},
      {"large.jpg", Encode(large, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 50})},
      {"gray.jpg", Encode(gray, ".jpg", {})},
      {"one_pixel.jpg", Encode(one_pixel, ".jpg", {})},
      {"rgb.png", Encode(card, ".png", {})},
      {"alpha.png", Encode(bgra, ".png", {})},
      {"sixteen_bit.png", Encode(deep, ".png", {})},
      {"gray.png", Encode(gray, ".png", {})},
      {"one_pixel.png", Encode(one_pixel, ".png", {})},
      {"lossy.webp", Encode(card, ".webp", {cv::IMWRITE_WEBP_QUALITY, 60})},
      {"lossless.webp", Encode(bgra, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101})},
      {"rgb.bmp", Encode(card, ".bmp", {})},
      {"gray.bmp", Encode(gray, ".bmp", {})},
      {"rgb.tif", Encode(card, ".tif", {})},
      {"sixteen_bit.tif", Encode(deep, ".tif", {})},
  };
  const std::string base = seeds[0].bytes;
  for (uint16_t orientation : {3, 6, 8}) {
    seeds.push_back({"orientation" + std::to_string(orientation) + ".jpg",
                     geoloc::testing::WithJpegExif(
                         base, geoloc::testing::ExifOrientationBlock(orientation))});
  }
  return seeds;
}

// Seeds above this size are left out: the fuzz stage runs with -max_len=262144 (libFuzzer would
// cut longer seeds, which then test truncation, not what the file was meant to test).
constexpr uintmax_t kMaxSeedBytes = 262144;

// Every regular file under `dir` up to kMaxSeedBytes, sorted by path (deterministic order and
// names); make_hostile_corpus' MANIFEST.tsv is no input.
std::vector<Seed> FilesUnder(const fs::path& dir) {
  std::vector<fs::path> paths;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename() == "MANIFEST.tsv") continue;
    if (entry.file_size() > kMaxSeedBytes) {
      std::cout << "make_fuzz_seeds: leaving out " << entry.path().string() << " ("
                << entry.file_size() << " bytes > " << kMaxSeedBytes << ")\n";
      continue;
    }
    paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<Seed> seeds;
  for (const fs::path& path : paths) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string name = fs::relative(path, dir).string();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    seeds.push_back({"extra_" + name, std::move(bytes)});
  }
  return seeds;
}

// Option sets: the defaults, every option set validly, and each kind of invalid value.
std::vector<geoloc::v1::LocateOptions> OptionSets() {
  std::vector<geoloc::v1::LocateOptions> sets(1);  // empty: the server's defaults
  geoloc::v1::LocateOptions full;
  full.set_k(40);
  full.set_estimator(geoloc::v1::ESTIMATOR_GRID_KDE);
  full.set_weight_exponent(5);
  full.set_bandwidth_km(0.5);
  full.set_sigma_deg(0.0025);
  full.set_merge_radius_km(1);
  full.set_max_peaks(3);
  full.add_cell_levels(6);
  full.add_cell_levels(13);
  full.set_max_cells_per_level(4);
  full.set_return_neighbors(true);
  full.set_max_classifier_cells(10);
  full.set_return_cell_polygons(true);
  sets.push_back(full);
  geoloc::v1::LocateOptions invalid = full;
  invalid.set_bandwidth_km(std::numeric_limits<double>::quiet_NaN());
  sets.push_back(invalid);
  invalid = full;
  invalid.set_k(std::numeric_limits<uint32_t>::max());
  sets.push_back(invalid);
  invalid = full;
  invalid.add_cell_levels(31);
  sets.push_back(invalid);
  invalid = full;
  invalid.set_estimator(static_cast<geoloc::v1::Estimator>(99));
  invalid.set_weight_exponent(-std::numeric_limits<double>::infinity());
  sets.push_back(invalid);
  return sets;
}

std::vector<Seed> Requests(const std::vector<Seed>& images) {
  const std::vector<geoloc::v1::LocateOptions> options = OptionSets();
  std::vector<Seed> seeds;
  for (size_t i = 0; i < images.size(); ++i) {
    const Seed& image = images[i];
    const geoloc::v1::LocateOptions& o = options[i % options.size()];
    geoloc::v1::LocateRequest locate;
    locate.set_image(image.bytes);
    *locate.mutable_options() = o;
    seeds.push_back({"locate_" + image.name + ".pb", locate.SerializeAsString()});
    if (i % 3 == 0) {
      geoloc::v1::LocateStreamRequest stream;
      stream.set_item_id("item-" + std::to_string(i));
      stream.set_image(image.bytes);
      *stream.mutable_options() = options[(i + 1) % options.size()];
      seeds.push_back({"stream_" + image.name + ".pb", stream.SerializeAsString()});
    }
    if (i % 3 == 1) {
      geoloc::v1::ExplainRequest explain;
      explain.set_image(image.bytes);
      *explain.mutable_options() = options[(i + 2) % options.size()];
      switch (i % 4) {
        case 0:
          explain.set_peak_index(static_cast<uint32_t>(i));
          break;
        case 1:
          explain.set_neighbor_id(-static_cast<int64_t>(i));
          break;
        case 2:
          explain.set_cell_token("47e66f");
          break;
        default:
          explain.set_cell_token(i % 8 == 3 ? "47E66F" : "X");
          break;
      }
      explain.set_return_overlay(i % 2 == 0);
      seeds.push_back({"explain_" + image.name + ".pb", explain.SerializeAsString()});
    }
  }
  // Options alone, without an image.
  for (size_t i = 0; i < options.size(); ++i) {
    geoloc::v1::LocateRequest locate;
    *locate.mutable_options() = options[i];
    seeds.push_back({"options_only_" + std::to_string(i) + ".pb", locate.SerializeAsString()});
  }
  return seeds;
}

void WriteAll(const fs::path& dir, const std::vector<Seed>& seeds) {
  fs::create_directories(dir);
  int written = 0;
  for (const Seed& seed : seeds) {
    if (seed.bytes.size() > kMaxSeedBytes) continue;  // a request wrapping a seed near the cap
    std::ofstream out(dir / seed.name, std::ios::binary | std::ios::trunc);
    out.write(seed.bytes.data(), static_cast<std::streamsize>(seed.bytes.size()));
    if (!out) {
      std::cerr << "make_fuzz_seeds: cannot write " << (dir / seed.name) << "\n";
      std::exit(1);
    }
    ++written;
  }
  std::cout << "make_fuzz_seeds: " << written << " seeds in " << dir.string() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: make_fuzz_seeds OUT_DIR [IMAGE_DIR ...]\n";
    return 2;
  }
  const fs::path out = argv[1];
  std::vector<Seed> images = GeneratedImages();
  for (int i = 2; i < argc; ++i) {
    if (!fs::is_directory(argv[i])) {
      std::cerr << "make_fuzz_seeds: " << argv[i] << " is not a directory\n";
      return 2;
    }
    std::vector<Seed> extra = FilesUnder(argv[i]);
    images.insert(images.end(), extra.begin(), extra.end());
  }
  WriteAll(out / "decode_image", images);
  WriteAll(out / "locate_request", Requests(images));
  return 0;
}
