// Adaptive S2 cells (seed 001, Algorithm 1): fine cells where photos are dense, coarse cells where
// they are sparse, each class holding between t_min and t_max photos where the data allows.
//
//   GEOLOC_ASSIGN_OR_RETURN(CellHierarchy cells, GenerateAdaptiveCells(points, options));
//   GEOLOC_RETURN_IF_ERROR(cells.Save("/data/bundle/cells.json"));
//
// Pure function, thread-safe, deterministic: the result depends only on the multiset of points
// (their order does not matter) and the options.
//
// The algorithm: start with every cell at lvl_start that contains a point (these are the roots;
// a forest, not a tree, since S2 has six faces). Level by level up to lvl_end, split every cell
// holding more than t_max points into its four S2 children. At the end drop every cell holding
// fewer than t_min points. For a cell C at S2 level L holding n points:
//
// | situation                                   | outcome                                       |
// | ------------------------------------------- | --------------------------------------------- |
// | n > t_max and L < lvl_end                   | split: C stays as an internal node, and its   |
// |                                             | children holding >= 1 point are created       |
// | n > t_max and L == lvl_end                  | not split: C stays an over-full leaf          |
// | n <= t_max                                  | not split: a leaf                             |
// | a child holding 0 points                    | never created; its area is in no leaf         |
// | n < t_min (checked once, after all splits)  | C is dropped with all its descendants (each   |
// |                                             | holds <= n points), so no orphan survives     |
// | C split, every child dropped                | C is a leaf again and covers its whole area   |
// |                                             | (n >= t_min points; n > t_max is possible)    |
// | C split, some children dropped              | C stays internal; the dropped children's      |
// |                                             | points are in no leaf (LeafClassOf -1) and do |
// |                                             | not count as covered                          |
// | t_min == 0                                  | nothing is dropped                            |
// | lvl_start == lvl_end                        | roots only, nothing is split                  |
// | several points at the same place            | each counts (several photos of one spot)      |
// | no points, or every cell dropped            | INVALID_ARGUMENT (a hierarchy without classes |
// |                                             | cannot train a classifier; lower t_min)       |
// | invalid options                             | INVALID_ARGUMENT (ValidateAdaptiveCellOptions)|
// | a non-finite coordinate, latitude outside   | INVALID_ARGUMENT naming the point's index     |
// | [-90, 90] or longitude outside [-180, 180]  |                                               |
//
// The hierarchy records options and points.size() (its total_points()).
//
// Cost: one S2 leaf id per point, one sort, then one binary search over the sorted ids per
// candidate child: O(n log n); about 0.2 s for 1,000,000 points on one core (tools/bench/cells).
#ifndef GEOLOC_CORE_CELLS_ADAPTIVE_CELLS_H_
#define GEOLOC_CORE_CELLS_ADAPTIVE_CELLS_H_

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/cells/adaptive_cell_options.h"
#include "core/cells/cell_hierarchy.h"
#include "core/geo/lat_lon.h"

namespace geoloc::cells {

absl::StatusOr<CellHierarchy> GenerateAdaptiveCells(absl::Span<const geo::LatLon> points,
                                                    const AdaptiveCellOptions& options);

}  // namespace geoloc::cells

#endif  // GEOLOC_CORE_CELLS_ADAPTIVE_CELLS_H_
