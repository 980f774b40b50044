// The parameters of one Locate, with every default resolved (the server fills them from its flags
// and the request; geoloc-eval from its flags).
//
//   LocateParams params;  params.k = 100;  params.cell_levels = {6, 10, 13};
//   GEOLOC_RETURN_IF_ERROR(ValidateLocateParams(params, /*max_k=*/1000));
//
// Plain value type.
#ifndef GEOLOC_CORE_ENGINE_LOCATE_PARAMS_H_
#define GEOLOC_CORE_ENGINE_LOCATE_PARAMS_H_

#include <vector>

#include "absl/status/status.h"
#include "core/geo/estimator_options.h"

namespace geoloc::engine {

struct LocateParams {
  int k = 60;                         // neighbours to retrieve (the thesis' optimum)
  geo::EstimatorOptions estimator;    // spherical KDE by default
  int max_peaks = 5;                  // peaks returned (all peaks still share the mass)
  std::vector<int> cell_levels;       // S2 levels for retrieval cell confidences
  int max_cells_per_level = 5;
  bool cell_polygons = false;         // fill CellConfidence::polygon
  int polygon_points_per_edge = 8;    // densification of cell outlines
  int max_classifier_cells = 10;      // classifier cells returned (when the bundle has a head)
  int nprobe = 0;                     // IVF lists to probe (0: the bundle's default)
  int ef_search = 0;                  // HNSW search depth (0: the bundle's default)
};

// INVALID_ARGUMENT naming the first field out of range: k in [1, max_k], peaks in [1, 100],
// cell levels in [0, 30] (at most 8 levels), cells per level in [1, 100], polygon points per
// edge in [1, 64], classifier cells in [0, 1000], nprobe/ef_search >= 0, and the estimator's own
// ranges (geo::ValidateEstimatorOptions).
absl::Status ValidateLocateParams(const LocateParams& params, int max_k);

}  // namespace geoloc::engine

#endif  // GEOLOC_CORE_ENGINE_LOCATE_PARAMS_H_
