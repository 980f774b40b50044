// One term of a predictive density on the sphere (predictive_density.h): a probability density per
// km^2 that integrates to 1, and what region extraction and the probabilities need from it.
//
//   const DensityComponent& c = kde;          // VmfKdeComponent, CellMassComponent, ...
//   double f = c.Density(geo::ToUnitVector(p));
//   DensityBounds b = c.BoundsOverCell(id, cells::CellGeometryOf(id));  // b.lo <= f <= b.hi
//
// f is a sum of terms (kernels, cells) so that region extraction can stop evaluating the terms
// that cannot matter inside a cell and its descendants (BoundsOverTerms).
//
// Implementations are immutable after construction: every method is const and thread-safe.
// The engine adds a term by implementing this interface (e.g. the classifier's cell probabilities,
// CellMassComponent) and giving it a weight in the calibration's mixture.
#ifndef GEOLOC_CORE_CALIBRATION_DENSITY_COMPONENT_H_
#define GEOLOC_CORE_CALIBRATION_DENSITY_COMPONENT_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/cells/region_cells.h"
#include "core/cells/s2_cells.h"
#include "core/geo/unit_vector.h"

namespace geoloc::calibration {

// lo <= f(x) <= hi for every x of some region.
struct DensityBounds {
  double lo = 0;
  double hi = 0;
};

// A subset of a component's terms (its kernels, its cells) by index, or all of them. Region
// extraction (superlevel_set.h) narrows the terms it evaluates as it refines a cell, since far
// terms stop mattering inside small cells.
struct TermSubset {
  bool all = true;
  absl::Span<const int32_t> indices;  // when !all
};

// Bounds over a cell from a subset of the terms (DensityComponent::BoundsOverTerms).
struct TermBounds {
  // Bounds of the sum of the given terms over the cell.
  DensityBounds bounds;
  // True when some terms were left out as negligible: *kept then holds the ones evaluated, and
  // the cell's descendants need only those (plus left_out_hi, which bounds the others over the
  // whole cell). False: every given term was evaluated and *kept is untouched.
  bool pruned = false;
  double left_out_hi = 0;
};

class DensityComponent {
 public:
  virtual ~DensityComponent() = default;

  // f(x) per km^2 at the unit vector x. May underflow to 0 far from the mass: use LogDensity for
  // scores.
  virtual double Density(const geo::Vec3& x) const = 0;
  // log f(x), accurate where f underflows; -infinity where f is exactly 0.
  virtual double LogDensity(const geo::Vec3& x) const = 0;
  // Number of separable terms f is the sum of.
  virtual int32_t NumTerms() const = 0;
  // The sum of the terms of `terms` at x (Density when terms.all).
  virtual double DensityOfTerms(const geo::Vec3& x, const TermSubset& terms) const = 0;
  // The sum of the terms of `terms` at x and its gradient (in R^3) there, for estimating the sum
  // near x to first order. The default gives DensityOfTerms and a zero gradient (a term that is
  // not smooth, like a cell's step, is then taken as constant near x).
  virtual void DensityAndGradientOfTerms(const geo::Vec3& x, const TermSubset& terms, double* value,
                                         geo::Vec3* gradient) const {
    *value = DensityOfTerms(x, terms);
    *gradient = {};
  }
  // Bounds over the cell `id`, whose geometry (cells::CellGeometryOf) is `disc`, of the terms in
  // `terms`. Must be conservative: lo <= (sum of those terms) <= hi everywhere in the cell; tighter
  // bounds make regions cheaper. A term whose upper bound over the cell is at most `negligible`
  // (per km^2; 0 = never) may be left out of the cell's descendants: then `negligible` is added to
  // left_out_hi for it, and the indices of the terms kept are appended to *kept (see TermBounds).
  // kept may be null when negligible is 0.
  virtual TermBounds BoundsOverTerms(cells::CellId id, const cells::CellGeometry& disc,
                                     const TermSubset& terms, double negligible,
                                     std::vector<int32_t>* kept) const = 0;
  // Appends caps whose union contains {x : f(x) >= t}, for t > 0 (nothing when f < t everywhere).
  virtual void AppendSuperlevelCover(double t, std::vector<cells::SphereCap>* caps) const = 0;
  // The probability mass within distance_km (great circle) of x; each implementation states its
  // accuracy.
  virtual double MassWithin(const geo::Vec3& x, double distance_km) const = 0;
  // The finest length scale of f in km (a kernel's bandwidth, a cell's edge): region extraction
  // refines cells to a fraction of the smallest scale of the terms it holds.
  virtual double ScaleKm() const = 0;

  // A memo of the bounds of some terms over one cell, for components whose bounds come from
  // per-term facts about the cell: region extraction computes it once per cell, part and subset
  // and derives each threshold's bounds and pruning from it (superlevel_set.h), so the traversals
  // of several thresholds share their evaluations, and pruning waits until a cell turns out
  // undecided. TermsMemoSize is the number of doubles the memo of `terms` takes (0: the component
  // keeps none, and the two methods below are not called). For every cell, subset, negligible and
  // kept, BoundsFromTermsMemo(terms, memo of the cell and terms, negligible, kept) returns exactly
  // what BoundsOverTerms(cell, terms, negligible, kept) returns, and appends the same indices.
  virtual int64_t TermsMemoSize(const TermSubset& /*terms*/) const { return 0; }
  virtual void MemoiseTerms(const cells::CellGeometry& /*disc*/, const TermSubset& /*terms*/,
                            double* /*memo*/) const {}
  virtual TermBounds BoundsFromTermsMemo(const TermSubset& /*terms*/, const double* /*memo*/,
                                         double /*negligible*/,
                                         std::vector<int32_t>* /*kept*/) const {
    return {};
  }

  // Bounds of f itself over the cell (every term, nothing left out).
  DensityBounds BoundsOverCell(cells::CellId id, const cells::CellGeometry& disc) const {
    return BoundsOverTerms(id, disc, TermSubset{}, 0.0, nullptr).bounds;
  }
};

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_DENSITY_COMPONENT_H_
