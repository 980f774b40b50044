// The shared fixture of the Locator tests: the server fixture's model, Grad-CAM model, bundles
// and query photos (tests/support/make_fixture.sh server; GEOLOC_SERVER_FIXTURE names its directory).
#ifndef GEOLOC_TESTS_ENGINE_LOCATOR_FIXTURE_H_
#define GEOLOC_TESTS_ENGINE_LOCATOR_FIXTURE_H_

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/common/file_util.h"
#include "core/engine/locator.h"
#include "core/model/image_decoder.h"
#include "gtest/gtest.h"

namespace geoloc::engine {

struct Query {
  cv::Mat image;
  geo::LatLon truth;
};

class LocatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* dir = std::getenv("GEOLOC_SERVER_FIXTURE");
    ASSERT_NE(dir, nullptr);
    dir_ = new std::string(dir);
    model::EncoderOptions options;
    options.intra_op_threads = 1;
    auto encoder = model::Encoder::Load(*dir_ + "/model.pt", options);
    ASSERT_TRUE(encoder.ok()) << encoder.status();
    encoder_ = new std::shared_ptr<const model::Encoder>(std::move(*encoder));
    auto cam = model::GradCam::Load(*dir_ + "/model.pt", {});
    ASSERT_TRUE(cam.ok()) << cam.status();
    cam_ = new std::shared_ptr<const model::GradCam>(std::move(*cam));
  }
  static void TearDownTestSuite() {
    delete cam_;
    delete encoder_;
    delete dir_;
  }
  std::shared_ptr<const Locator> Load(const std::string& bundle) const {
    auto locator = Locator::Load(*encoder_, *cam_, *dir_ + "/bundles/" + bundle, {});
    EXPECT_TRUE(locator.ok()) << locator.status();
    return locator.ok() ? *locator : nullptr;
  }
  std::vector<Query> Queries() const {
    std::vector<Query> out;
    std::ifstream csv(*dir_ + "/world/query.csv");
    std::string line;
    std::getline(csv, line);
    while (std::getline(csv, line)) {
      std::vector<std::string> f = absl::StrSplit(line, ',');
      Query q;
      EXPECT_TRUE(absl::SimpleAtod(f[1], &q.truth.lat) && absl::SimpleAtod(f[2], &q.truth.lon));
      auto bytes = ReadFileToString(*dir_ + "/world/" + f[0]);
      EXPECT_TRUE(bytes.ok());
      auto image = model::DecodeImage(*bytes, {});
      EXPECT_TRUE(image.ok());
      q.image = *image;
      out.push_back(q);
    }
    return out;
  }

  static inline std::string* dir_ = nullptr;
  static inline std::shared_ptr<const model::Encoder>* encoder_ = nullptr;
  static inline std::shared_ptr<const model::GradCam>* cam_ = nullptr;
};

}  // namespace geoloc::engine

#endif  // GEOLOC_TESTS_ENGINE_LOCATOR_FIXTURE_H_
