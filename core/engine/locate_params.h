// The parameters of one Locate, with every default resolved (the server fills them from its flags
// and the request; geoloc-eval from its flags), and the one declaration of their limits: the
// server's request mapping, geolocd's flags, the CLI's flags and Explain's peak index all use the
// constants below, and ValidateLocateParams is the one check of a whole parameter set.
//
//   LocateParams params;  params.k = 100;  params.cell_levels = {6, 10, 13};
//   GEOLOC_RETURN_IF_ERROR(ValidateLocateParams(params, /*max_k=*/1000));
//
// Plain value type; the functions are pure and thread-safe.
#ifndef GEOLOC_CORE_ENGINE_LOCATE_PARAMS_H_
#define GEOLOC_CORE_ENGINE_LOCATE_PARAMS_H_

#include <cstdint>
#include <iterator>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "core/common/option_range.h"
#include "core/geo/estimator_options.h"
#include "core/geo/search_area.h"

namespace geoloc::engine {

// The largest k any caller may allow (= index::kMaxSearchK, the most a bundle search returns;
// locator.cc checks that the two agree).
inline constexpr int kMaxK = 4096;
// The most photos one incident (Locator::CombineIncident, incident.h) may hold: its pooling costs
// O(n^2 k) kernel sums.
inline constexpr int kMaxIncidentPhotos = 16;
// At most this many S2 levels per Locate, each in kCellLevelRange.
inline constexpr int kMaxCellLevels = 8;
inline constexpr IntRange kCellLevelRange{"cell_levels", 0, 30};  // S2's levels
inline constexpr IntRange kMaxPeaksRange{"max_peaks", 1, 100};
inline constexpr IntRange kMaxCellsPerLevelRange{"max_cells_per_level", 1, 100};
inline constexpr IntRange kPolygonPointsPerEdgeRange{"polygon_points_per_edge", 1, 64};
inline constexpr IntRange kMaxClassifierCellsRange{"max_classifier_cells", 0, 1000};
inline constexpr IntRange kNprobeRange{"nprobe", 0, std::numeric_limits<int>::max()};
inline constexpr IntRange kEfSearchRange{"ef_search", 0, std::numeric_limits<int>::max()};
// Confidence regions of calibrated answers (docs/CALIBRATION.md): at most kMaxRegionLevels nominal
// levels, each strictly between 0 and 1, strictly increasing. The defaults are core/calibration's
// kDefaultLevels (locator.cc checks that the two agree; this library stays free of S2).
inline constexpr int kMaxRegionLevels = 8;
inline constexpr RealRange kRegionLevelRange{"region_levels", 0, 1, true, true, ""};
inline constexpr double kDefaultRegionLevels[] = {0.50, 0.68, 0.90, 0.95};
// The cells each confidence region's traversal may evaluate (calibration::SuperlevelOptions::
// max_cells; bundle_calibration.cc checks the two defaults agree): the knob that trades the
// regions' sharpness for time, the stage's cost growing with it about linearly (docs/CALIBRATION.md
// "Cost"). The coverage guarantee holds at every budget: a smaller one only coarsens the boundary
// cells, which are counted inside.
inline constexpr int kDefaultRegionCellsPerLevel = 1000;
inline constexpr IntRange kRegionCellsPerLevelRange{"region_cells_per_level", 16, 4096};
// Abstention: a calibrated answer whose P(localizable) is below this is marked abstained. 0 never
// abstains; 1 would abstain always and is refused.
inline constexpr RealRange kAbstainBelowRange{"abstain_below", 0, 1, false, true, ""};

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
  // Calibrated answers only (the bundle has a calibration for these settings): the levels of the
  // confidence regions, whether to keep their cell unions, the cell budget of each region, and
  // the abstention threshold on P(localizable) (the last two server settings, never a request's).
  std::vector<double> region_levels{std::begin(kDefaultRegionLevels),
                                    std::end(kDefaultRegionLevels)};
  bool region_cells = false;
  int region_cells_per_level = kDefaultRegionCellsPerLevel;
  double abstain_below = 0;
  // Copy the neighbours' thumbnails (LocateResult::neighbor_thumbnails) when the bundle has them.
  bool neighbor_thumbnails = false;
  // Where the photo is known (hard: only database photos inside are searched) or believed
  // (soft: a prior on the neighbours' weights) to be; core/geo/search_area.h. Its limits are
  // beside it there; the shape is checked by the Locator (cells::AreaRegion).
  geo::SearchArea area;
};

// INVALID_ARGUMENT naming the first field out of range (option_range.h's messages): k in
// [1, max_k], at most kMaxCellLevels levels each in kCellLevelRange ("cell_levels[2] = 31 ..."),
// at most kMaxRegionLevels region levels, each in kRegionLevelRange and above the one before, the
// ranges above, the estimator's own (geo::ValidateEstimatorOptions) and the search area's values
// (geo::ValidateSearchAreaValues; its geometry is the Locator's check). `max_k` is the
// caller's limit, at most kMaxK.
absl::Status ValidateLocateParams(const LocateParams& params, int max_k);

// The check ValidateLocateParams makes of k, for callers that hold k in a wider integer (a proto
// uint32): "k = 4294967295 exceeds the limit of 500 (allowed: 1 to 500)".
absl::Status CheckK(int64_t k, int max_k);

}  // namespace geoloc::engine

#endif  // GEOLOC_CORE_ENGINE_LOCATE_PARAMS_H_
