// The nearest of a fixed set of points on the sphere, exactly, in a few microseconds over 135,000
// points (docs/BENCHMARKS.md "Place names"): a static k-d tree over the points' unit vectors. The
// straight-line (chord) distance between unit vectors grows with the great-circle distance, so the
// nearest by chord is the nearest on the sphere, with no seam at the antimeridian and no
// singularity at the poles.
//
//   NearestPointIndex index(points);                 // O(n log n) build
//   std::optional<size_t> i = index.Nearest({64.7, 177.5});  // index into `points`
//
// Immutable after construction: Nearest() is const and safe from many threads at once.
#ifndef GEOLOC_CORE_PLACES_NEAREST_POINT_INDEX_H_
#define GEOLOC_CORE_PLACES_NEAREST_POINT_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"
#include "core/geo/lat_lon.h"

namespace geoloc::places {

class NearestPointIndex {
 public:
  // `points` must be valid coordinates (geo::ValidateLatLon); the index keeps its own copy.
  explicit NearestPointIndex(absl::Span<const geo::LatLon> points);

  size_t size() const { return order_.size(); }

  // The index (into the constructor's `points`) of the point nearest to `p` by great-circle
  // distance. Ties go to one of the tied points.
  //
  //   case                                  result
  //   no points                             nullopt
  //   p not finite (NaN, infinity)          nullopt
  //   otherwise                             the nearest point; longitudes of any size are
  //                                         accepted (they wrap), latitudes are clamped to +-90
  std::optional<size_t> Nearest(geo::LatLon p) const;

 private:
  // Builds the subtree of tree positions [lo, hi): the median along the widest axis at the middle.
  void Build(size_t lo, size_t hi);

  // Tree order: position m = (lo + hi) / 2 is the node of the subtree [lo, hi).
  std::vector<double> x_, y_, z_;
  std::vector<uint8_t> axis_;   // the split axis of the node at each position (0 x, 1 y, 2 z)
  std::vector<uint32_t> order_;  // tree position -> index into the constructor's points
};

}  // namespace geoloc::places

#endif  // GEOLOC_CORE_PLACES_NEAREST_POINT_INDEX_H_
