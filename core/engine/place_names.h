// Offline reverse geocoding of an answer: the named place nearest to the best estimate, the
// retrieval and classifier estimates, each peak and each retrieval and classifier cell's centre
// ("3.2 km NE of Anadyr, Chukotka, Russia"; core/places). Locator::Finish runs it last when the
// snapshot has a gazetteer (SnapshotOptions.gazetteer).
//
//   NamePlaces(*gazetteer, &result);  // fills every .place and result.peak_places
//
// Pure function over its arguments; safe from any thread (the Gazetteer is immutable).
#ifndef GEOLOC_CORE_ENGINE_PLACE_NAMES_H_
#define GEOLOC_CORE_ENGINE_PLACE_NAMES_H_

#include "core/engine/locator.h"
#include "core/places/gazetteer.h"

namespace geoloc::engine {

// Sets best.place, retrieval.place, classifier->place (when set), peak_places (one per peak, in
// order) and the place of every cell and classifier cell. A few microseconds per point, about
// 0.1 ms CPU for a default answer of 22 points (docs/BENCHMARKS.md "Place names").
void NamePlaces(const places::Gazetteer& gazetteer, LocateResult* result);

}  // namespace geoloc::engine

#endif  // GEOLOC_CORE_ENGINE_PLACE_NAMES_H_
