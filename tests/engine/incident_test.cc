// Incident pooling (core/engine/incident.h) on hand-built answers: identical photos pool to one
// photo's evidence, agreeing photos sharpen it, a dissenting photo is outweighed and shows in
// the support table, bad input is refused.
#include "core/engine/incident.h"

#include <vector>

#include "core/geo/distance.h"
#include "core/geo/spherical_kde.h"
#include "gtest/gtest.h"

namespace geoloc::engine {
namespace {

struct Point {
  int64_t row;
  double lat, lon, weight;
};

LocateResult Photo(const std::vector<Point>& points) {
  LocateResult r;
  double sum = 0;
  for (const Point& p : points) sum += p.weight;
  for (const Point& p : points) {
    index::Neighbor n;
    n.row = p.row;
    n.id = p.row;
    n.lat = p.lat;
    n.lon = p.lon;
    n.score = 0.5f;
    r.neighbors.push_back(n);
    r.weights.push_back(p.weight / sum);
  }
  return r;
}

// A cluster of `count` rows from `first_row` within about 100 m of (lat, lon).
std::vector<Point> Cluster(int64_t first_row, double lat, double lon, int count, double weight) {
  std::vector<Point> out;
  for (int i = 0; i < count; ++i) {
    out.push_back({first_row + i, lat + 0.0002 * (i % 3), lon + 0.0002 * (i / 3), weight});
  }
  return out;
}

std::vector<Point> Join(std::vector<Point> a, const std::vector<Point>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

constexpr double kBandwidthKm = 0.5;

std::vector<geo::Peak> Peaks(const PooledEvidence& pooled) {
  std::vector<geo::LatLon> positions;
  for (const index::Neighbor& n : pooled.neighbors) positions.push_back({n.lat, n.lon});
  geo::EstimatorOptions options;
  options.bandwidth_km = kBandwidthKm;
  options.max_peaks = 10;
  auto peaks = geo::FindSphericalKdePeaks(positions, pooled.weights, options);
  EXPECT_TRUE(peaks.ok()) << peaks.status();
  return peaks.ok() ? *peaks : std::vector<geo::Peak>{};
}

// The pooled mass within 2 km of (lat, lon).
double MassNear(const PooledEvidence& pooled, double lat, double lon) {
  double mass = 0;
  for (size_t u = 0; u < pooled.neighbors.size(); ++u) {
    if (geo::HaversineKm({pooled.neighbors[u].lat, pooled.neighbors[u].lon}, {lat, lon}) < 2) {
      mass += pooled.weights[u];
    }
  }
  return mass;
}

TEST(IncidentTest, IdenticalPhotosPoolToExactlyOnePhotoWithEitherPooling) {
  for (IncidentPooling pooling : {IncidentPooling::kGeometricMean,
                                  IncidentPooling::kSharedEvidence}) {
    SCOPED_TRACE(static_cast<int>(pooling));
    IncidentOptions options;
    options.pooling = pooling;
  // Ambiguous evidence: 60% in Lyon, 40% in Porto.
  const LocateResult photo =
      Photo(Join(Cluster(0, 45.76, 4.83, 6, 0.1), Cluster(100, 41.15, -8.61, 4, 0.1)));
  auto one = PoolIncidentEvidence({photo}, kBandwidthKm, options);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_DOUBLE_EQ(one->photo_exponents[0], 1.0);
  // One photo keeps its own weights (the outlier floor is a constant factor at its neighbours).
  for (size_t u = 0; u < photo.weights.size(); ++u) {
    EXPECT_NEAR(one->weights[u], photo.weights[u], 1e-9);
  }
  for (int copies : {2, 4, 8}) {
    const std::vector<LocateResult> same(copies, photo);
    auto pooled = PoolIncidentEvidence(same, kBandwidthKm, options);
    ASSERT_TRUE(pooled.ok()) << pooled.status();
    ASSERT_EQ(pooled->neighbors.size(), photo.neighbors.size());  // rows de-duplicated
    for (double a : pooled->photo_exponents) EXPECT_NEAR(a, 1.0 / copies, 1e-12);
    for (size_t u = 0; u < photo.weights.size(); ++u) {
      EXPECT_NEAR(pooled->weights[u], one->weights[u], 1e-12) << copies << " copies";
    }
    const std::vector<geo::Peak> a = Peaks(*one), b = Peaks(*pooled);
    ASSERT_EQ(a.size(), b.size());
    for (size_t p = 0; p < a.size(); ++p) {
      EXPECT_NEAR(a[p].mass, b[p].mass, 1e-9);
      EXPECT_NEAR(a[p].radius_km, b[p].radius_km, 1e-9);
      EXPECT_NEAR(a[p].density, b[p].density, 1e-9 * a[p].density);
    }
  }
  }
}

TEST(IncidentTest, IndependentPhotosThatAgreeSharpenTheAnswer) {
  // Both photos half believe Lyon (different database photos there); each has its own decoy.
  const LocateResult a =
      Photo(Join(Cluster(0, 45.76, 4.83, 5, 0.1), Cluster(100, 41.15, -8.61, 5, 0.1)));
  const LocateResult b =
      Photo(Join(Cluster(200, 45.7605, 4.8305, 5, 0.1), Cluster(300, 52.37, 4.90, 5, 0.1)));
  IncidentOptions shared;
  shared.pooling = IncidentPooling::kSharedEvidence;
  auto pooled = PoolIncidentEvidence({a, b}, kBandwidthKm, shared);
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  EXPECT_DOUBLE_EQ(pooled->photo_exponents[0], 1.0);  // they share no row: independent
  EXPECT_DOUBLE_EQ(pooled->photo_exponents[1], 1.0);
  EXPECT_GT(MassNear(*pooled, 45.76, 4.83), 0.99);
  EXPECT_LT(MassNear(*pooled, 41.15, -8.61), 0.005);
  EXPECT_LT(MassNear(*pooled, 52.37, 4.90), 0.005);
  // The geometric mean (the default) also keeps only the place both support, with exponents
  // summing to 1.
  auto geometric = PoolIncidentEvidence({a, b}, kBandwidthKm, {});
  ASSERT_TRUE(geometric.ok()) << geometric.status();
  EXPECT_DOUBLE_EQ(geometric->photo_exponents[0], 0.5);
  EXPECT_DOUBLE_EQ(geometric->photo_exponents[1], 0.5);
  EXPECT_GT(MassNear(*geometric, 45.76, 4.83), 0.99);
  EXPECT_LT(MassNear(*geometric, 41.15, -8.61), 0.005);
}

TEST(IncidentTest, PhotosSharingEvidenceCountOnlyOnceForWhatTheyShare) {
  const LocateResult a = Photo(Cluster(0, 45.76, 4.83, 10, 0.1));
  LocateResult b = a;
  b.neighbors.resize(5);  // half of a's rows, renormalised
  b.weights.assign(5, 0.2);
  IncidentOptions shared;
  shared.pooling = IncidentPooling::kSharedEvidence;
  auto pooled = PoolIncidentEvidence({a, b}, kBandwidthKm, shared);
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  // r_ab = sum_u min(w_a, w_b) = 5 * 0.1 = 0.5: each counts 1 / 1.5.
  EXPECT_NEAR(pooled->photo_exponents[0], 1 / 1.5, 1e-12);
  EXPECT_NEAR(pooled->photo_exponents[1], 1 / 1.5, 1e-12);
}

TEST(IncidentTest, ADissentingPhotoIsOutweighedAndReported) {
  std::vector<LocateResult> photos;
  for (int i = 0; i < 3; ++i) photos.push_back(Photo(Cluster(100 * i, 45.76, 4.83, 5, 0.1)));
  photos.push_back(Photo(Cluster(900, 41.15, -8.61, 5, 0.1)));  // a photo of somewhere else
  auto pooled = PoolIncidentEvidence(photos, kBandwidthKm, {});
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  EXPECT_GT(MassNear(*pooled, 45.76, 4.83), 0.999);
  const std::vector<geo::Peak> peaks = Peaks(*pooled);
  ASSERT_GE(peaks.size(), 2u);
  EXPECT_LT(geo::HaversineKm(peaks[0].pos, {45.76, 4.83}), 1);
  const auto support = PeakSupport(*pooled, photos, peaks);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(support[i][0], 1.0, 1e-12);
  EXPECT_EQ(support[3][0], 0.0);  // the dissent supports a peak of its own, not the answer
  double elsewhere = 0;
  for (size_t p = 1; p < peaks.size(); ++p) elsewhere += support[3][p];
  EXPECT_NEAR(elsewhere, 1.0, 1e-12);
}

TEST(IncidentTest, APhotoDissentsWhenItGivesTheAnswerMuchLessThanTheOthersDo) {
  // Three photos give the answer's peak 0.4-0.6 of their weight, one gives it 0.01.
  EXPECT_EQ(Dissents({0.5, 0.4, 0.01, 0.6}, 0.1), (std::vector<bool>{false, false, true, false}));
  // Diffuse photos that all give it little: none dissents for being diffuse.
  EXPECT_EQ(Dissents({0.03, 0.02, 0.04}, 0.1), (std::vector<bool>{false, false, false}));
  // Copies never dissent; one photo never does.
  EXPECT_EQ(Dissents({0.2, 0.2}, 0.1), (std::vector<bool>{false, false}));
  EXPECT_EQ(Dissents({0.0}, 0.1), (std::vector<bool>{false}));
  // Two photos that disagree: the one that does not support the answer.
  EXPECT_EQ(Dissents({0.7, 0.0}, 0.1), (std::vector<bool>{false, true}));
  // The served ratio (0.12, tuned on val): a photo giving the answer 0.11 of the others' median
  // share is flagged, one giving it 0.13 is not.
  const double served = IncidentOptions().dissent_ratio;
  EXPECT_EQ(Dissents({0.5, 0.5, 0.055}, served), (std::vector<bool>{false, false, true}));
  EXPECT_EQ(Dissents({0.5, 0.5, 0.065}, served), (std::vector<bool>{false, false, false}));
}

TEST(IncidentTest, BadInputIsRefused) {
  const LocateResult photo = Photo(Cluster(0, 45.76, 4.83, 3, 0.1));
  EXPECT_EQ(PoolIncidentEvidence({}, kBandwidthKm, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<LocateResult> too_many(kMaxIncidentPhotos + 1, photo);
  EXPECT_EQ(PoolIncidentEvidence(too_many, kBandwidthKm, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  LocateResult broken = photo;
  broken.weights.pop_back();
  EXPECT_EQ(PoolIncidentEvidence({photo, broken}, kBandwidthKm, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  IncidentOptions options;
  options.outlier_probability = 0;
  EXPECT_EQ(PoolIncidentEvidence({photo}, kBandwidthKm, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  LocateResult with_leaves = photo;
  with_leaves.classifier_leaf_probabilities = {0.5, 0.5};
  EXPECT_EQ(PoolIncidentEvidence({photo, with_leaves}, kBandwidthKm, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(IncidentTest, ClassifierLeavesPoolByTheSameRule) {
  LocateResult a = Photo(Cluster(0, 45.76, 4.83, 3, 0.1));
  LocateResult b = Photo(Cluster(100, 45.76, 4.83, 3, 0.1));
  a.classifier_leaf_probabilities = {0.6, 0.3, 0.1};
  b.classifier_leaf_probabilities = {0.6, 0.1, 0.3};
  auto pooled = PoolIncidentEvidence({a, b}, kBandwidthKm, {});
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  const auto& q = pooled->classifier_leaf_probabilities;
  ASSERT_EQ(q.size(), 3u);
  EXPECT_NEAR(q[0] + q[1] + q[2], 1.0, 1e-12);
  EXPECT_GT(q[0], 0.6);  // both favour leaf 0: sharper than either
  EXPECT_NEAR(q[1], q[2], 1e-12);
  auto twice = PoolIncidentEvidence({a, a}, kBandwidthKm, {});
  ASSERT_TRUE(twice.ok());
  auto once = PoolIncidentEvidence({a}, kBandwidthKm, {});
  ASSERT_TRUE(once.ok());
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(twice->classifier_leaf_probabilities[c], once->classifier_leaf_probabilities[c],
                1e-12);
  }
}

}  // namespace
}  // namespace geoloc::engine
