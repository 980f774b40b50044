// NamePlaces on hand-built answers with the committed test gazetteer (tests/places/testdata).
#include "core/engine/place_names.h"

#include <algorithm>
#include <memory>
#include <string>

#include "core/geo/distance.h"
#include "core/places/gazetteer.h"
#include "gtest/gtest.h"

namespace geoloc::engine {
namespace {

std::shared_ptr<const places::Gazetteer> TestGazetteer() {
  auto g = places::Gazetteer::Load(std::string(GEOLOC_PLACES_TESTDATA) + "/places.gaz");
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *g : nullptr;
}

geo::Peak PeakAt(geo::LatLon pos) {
  geo::Peak p;
  p.pos = pos;
  return p;
}

CellConfidence CellAt(geo::LatLon center) {
  CellConfidence c;
  c.center = center;
  return c;
}

TEST(PlaceNamesTest, NamesEveryEstimatePeakAndCell) {
  std::shared_ptr<const places::Gazetteer> g = TestGazetteer();
  ASSERT_NE(g, nullptr);
  LocateResult r;
  r.best.pos = {64.75424, 177.55030};       // 2.9 km NE of Anadyr
  r.retrieval.pos = {51.50853, -0.12574};   // London itself
  r.classifier = LocationEstimate{{-41.0, 174.77557}, 10, 0.5, std::nullopt};  // N of Wellington
  r.peaks = {PeakAt({48.85341 - 0.9, 2.34880}), PeakAt({64.8, -179.9})};
  r.cells = {CellAt({-21.0, -177.0})};
  r.classifier_cells = {CellAt({1.3, 103.85}), CellAt({43.73333, 7.41667})};
  NamePlaces(*g, &r);

  ASSERT_TRUE(r.best.place.has_value());
  EXPECT_EQ(r.best.place->description, "2.9 km NE of Anadyr, Chukotka, Russia");
  EXPECT_EQ(r.best.place->name, "Anadyr");
  EXPECT_EQ(r.best.place->country_code, "RU");
  EXPECT_NEAR(r.best.place->distance_km,
              geo::HaversineKm(r.best.place->location, r.best.pos), 1e-9);
  ASSERT_TRUE(r.retrieval.place.has_value());
  EXPECT_EQ(r.retrieval.place->description, "London, England, United Kingdom");
  ASSERT_TRUE(r.classifier->place.has_value());
  EXPECT_EQ(r.classifier->place->name, "Wellington");
  const double bearing = r.classifier->place->bearing_deg;  // due north of it, in [0, 360)
  EXPECT_GE(bearing, 0);
  EXPECT_LT(bearing, 360);
  EXPECT_LT(std::min(bearing, 360 - bearing), 1e-6);

  ASSERT_EQ(r.peak_places.size(), 2u);
  EXPECT_EQ(r.peak_places[0]->description, "100 km S of Paris, Île-de-France, France");
  EXPECT_EQ(r.peak_places[1]->name, "Anadyr");  // across the antimeridian
  EXPECT_GT(r.peak_places[1]->bearing_deg, 0);
  EXPECT_LT(r.peak_places[1]->bearing_deg, 180);  // east of Anadyr, over 180 degrees
  EXPECT_EQ(r.cells[0].place->name, "Nuku‘alofa");
  EXPECT_EQ(r.classifier_cells[0].place->description, "1.1 km N of Singapore");
  EXPECT_EQ(r.classifier_cells[1].place->description, "Monaco");
}

TEST(PlaceNamesTest, AnAnswerWithoutAClassifierOrPeaksGetsNoExtraNames) {
  std::shared_ptr<const places::Gazetteer> g = TestGazetteer();
  ASSERT_NE(g, nullptr);
  LocateResult r;
  r.best.pos = {-54.8, -68.3};
  r.retrieval.pos = r.best.pos;
  r.peak_places.resize(3);  // stale entries from elsewhere are replaced, not kept
  NamePlaces(*g, &r);
  EXPECT_EQ(r.best.place->name, "Ushuaia");
  EXPECT_FALSE(r.classifier.has_value());
  EXPECT_TRUE(r.peak_places.empty());
}

}  // namespace
}  // namespace geoloc::engine
