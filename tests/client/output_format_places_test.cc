// The CLI report's named places (client/output_format.h) where the fake server does not reach:
// the estimates table of a classifier answer, the classifier cells, and the status of a server
// with a gazetteer.
#include <string>

#include "client/output_format.h"
#include "geoloc/v1/geoloc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc::client {
namespace {

using ::testing::HasSubstr;

v1::Place PlaceCalled(const std::string& description) {
  v1::Place place;
  place.set_description(description);
  return place;
}

TEST(OutputFormatPlacesTest, EstimateRowsAndClassifierCellsEndWithTheirPlace) {
  v1::LocateResponse response;
  *response.mutable_best()->mutable_place() = PlaceCalled("1.2 km NE of Hell's Kitchen, US");
  *response.mutable_retrieval()->mutable_place() = PlaceCalled("1.2 km NE of Hell's Kitchen, US");
  response.mutable_classifier()->set_uncertainty_km(3.24);
  *response.mutable_classifier()->mutable_place() = PlaceCalled("1.7 km W of Gramercy Park, US");
  v1::CellConfidence* cell = response.add_classifier_cells();
  cell->set_token("89c3");
  cell->set_level(6);
  *cell->mutable_place() = PlaceCalled("0.8 km W of Montclair, US");
  const std::string out = FormatLocate("q.jpg", response, false);
  EXPECT_THAT(out, HasSubstr("fused (best)"));
  EXPECT_THAT(out, HasSubstr("0.000  1.2 km NE of Hell's Kitchen, US\n"));
  EXPECT_THAT(out, HasSubstr("3.24       0.000  1.7 km W of Gramercy Park, US\n"));
  EXPECT_THAT(out, HasSubstr("0.00000, 0.00000  0.8 km W of Montclair, US\n"));
  // With a classifier the best estimate is a table row, not a `place` line.
  EXPECT_THAT(out, ::testing::Not(HasSubstr("  place ")));
}

TEST(OutputFormatPlacesTest, StatusNamesTheGazetteerAndItsAttribution) {
  v1::GetStatusResponse status;
  v1::GazetteerStatus* g = status.mutable_gazetteer();
  g->set_loaded(true);
  g->set_path("/data/places.gaz");
  g->set_places(135233);
  g->set_license("CC BY 4.0");
  g->set_attribution("Place names from GeoNames (https://www.geonames.org), CC BY 4.0");
  const std::string out = FormatServerStatus(status);
  EXPECT_THAT(out, HasSubstr("places     135233 named places from /data/places.gaz (CC BY 4.0)\n"
                             "           Place names from GeoNames (https://www.geonames.org), "
                             "CC BY 4.0\n"));
  g->set_loaded(false);
  EXPECT_THAT(FormatServerStatus(status),
              HasSubstr("places     none: no gazetteer, answers carry no place names"));
}

}  // namespace
}  // namespace geoloc::client
