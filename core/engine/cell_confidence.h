// S2 cell confidences from retrieval: a cell's share of the evidence is the normalised weight of
// the retrieved neighbours that lie in it (a share of weight, not a calibrated probability: the
// calibrated claim is the answer's confidence regions, core/calibration).
//
//   GEOLOC_ASSIGN_OR_RETURN(auto cells,
//       RetrievalCellConfidences(positions, estimate.weights, {10, 13}, 5, false, 8));
//
// Pure function; safe from any thread.
#ifndef GEOLOC_CORE_ENGINE_CELL_CONFIDENCE_H_
#define GEOLOC_CORE_ENGINE_CELL_CONFIDENCE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/cells/s2_cells.h"
#include "core/geo/lat_lon.h"
#include "core/places/place_description.h"

namespace geoloc::engine {

struct CellConfidence {
  cells::CellId id = cells::kNoCell;
  std::string token;
  int level = 0;
  double weight_share = 0;  // of the neighbour weight, or the classifier's output
  geo::LatLon center;
  std::vector<geo::LatLon> polygon;  // counter-clockwise ring; empty unless asked for
  // The named place nearest to `center`; unset without a gazetteer (place_names.h).
  std::optional<places::NamedPlace> place;
};

// For each level (in the given order), the `max_per_level` cells holding the most neighbour
// weight, heaviest first (ties: lower cell id first). `weights` are normalised (sum 1) and
// parallel to `positions`. INVALID_ARGUMENT when the sizes differ or a level is outside [0, 30].
absl::StatusOr<std::vector<CellConfidence>> RetrievalCellConfidences(
    absl::Span<const geo::LatLon> positions, absl::Span<const double> weights,
    absl::Span<const int> levels, int max_per_level, bool with_polygons, int points_per_edge);

// Fills id-derived fields (token, level, center and, when asked, polygon) of a cell.
CellConfidence DescribeCell(cells::CellId id, double weight_share, bool with_polygon,
                            int points_per_edge);

}  // namespace geoloc::engine

#endif  // GEOLOC_CORE_ENGINE_CELL_CONFIDENCE_H_
