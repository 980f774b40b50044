#include "core/engine/place_names.h"

#include "core/places/place_description.h"

namespace geoloc::engine {

void NamePlaces(const places::Gazetteer& gazetteer, LocateResult* result) {
  result->best.place = places::NameNearest(gazetteer, result->best.pos);
  result->retrieval.place = places::NameNearest(gazetteer, result->retrieval.pos);
  if (result->classifier.has_value()) {
    result->classifier->place = places::NameNearest(gazetteer, result->classifier->pos);
  }
  result->peak_places.clear();
  result->peak_places.reserve(result->peaks.size());
  for (const geo::Peak& peak : result->peaks) {
    result->peak_places.push_back(places::NameNearest(gazetteer, peak.pos));
  }
  for (CellConfidence& cell : result->cells) {
    cell.place = places::NameNearest(gazetteer, cell.center);
  }
  for (CellConfidence& cell : result->classifier_cells) {
    cell.place = places::NameNearest(gazetteer, cell.center);
  }
}

}  // namespace geoloc::engine
