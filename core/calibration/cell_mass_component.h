// Probabilities of disjoint S2 cells (the cell classifier's leaves) as a density component: each
// cell's probability spread evenly over its area, so the classifier's answer can join the
// predictive density and be calibrated the same way as the neighbours' KDE.
//
//   GEOLOC_ASSIGN_OR_RETURN(CellMassComponent classifier,
//                           CellMassComponent::Create(leaf_cells, leaf_probabilities));
//   double f = classifier.Density(x);  // p(cell of x) / area(cell of x), per km^2
//
// | method                 | how                                                              |
// | ---------------------- | ---------------------------------------------------------------- |
// | Density, LogDensity    | the cell holding x (binary search); 0 / -infinity outside every  |
// |                        | cell (mass the cells do not hold is not modelled: the mixture's  |
// |                        | floor covers it)                                                 |
// | BoundsOverTerms        | exact for a query cell inside one of the cells; otherwise 0 and  |
// |                        | the largest density among the cells inside the query cell (no   |
// |                        | term is left out: a binary search finds the ones that matter)   |
// | AppendSuperlevelCover  | the bounding cap of every cell whose density reaches t           |
// | MassWithin             | sum of p_j times the share of cell j within the distance,        |
// |                        | approximated as clamp((t - d_j) / (2 r_j) + 1/2, 0, 1) with d_j  |
// |                        | the distance to the cell's centre and r_j its outer radius       |
// | ScaleKm                | the smallest cell's average edge                                 |
//
// Immutable after Create: const methods, thread-safe; copy or move freely.
#ifndef GEOLOC_CORE_CALIBRATION_CELL_MASS_COMPONENT_H_
#define GEOLOC_CORE_CALIBRATION_CELL_MASS_COMPONENT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/calibration/density_component.h"

namespace geoloc::calibration {

class CellMassComponent final : public DensityComponent {
 public:
  // Probabilities are normalised to sum 1 over the cells. InvalidArgument for no cells, a size
  // mismatch, an invalid cell, overlapping cells, a negative or non-finite probability, or
  // probabilities summing to 0.
  static absl::StatusOr<CellMassComponent> Create(absl::Span<const cells::CellId> cells,
                                                  absl::Span<const double> probabilities);

  double Density(const geo::Vec3& x) const override;
  double LogDensity(const geo::Vec3& x) const override;
  int32_t NumTerms() const override { return static_cast<int32_t>(ids_.size()); }
  double DensityOfTerms(const geo::Vec3& x, const TermSubset& terms) const override;
  TermBounds BoundsOverTerms(cells::CellId id, const cells::CellGeometry& disc,
                             const TermSubset& terms, double negligible,
                             std::vector<int32_t>* kept) const override;
  void AppendSuperlevelCover(double t, std::vector<cells::SphereCap>* caps) const override;
  double MassWithin(const geo::Vec3& x, double distance_km) const override;
  double ScaleKm() const override { return scale_km_; }

 private:
  CellMassComponent() = default;

  // Sorted by id (a normalised union's order), with each cell's density, probability and disc.
  std::vector<cells::CellId> ids_;
  std::vector<double> density_, probability_;
  std::vector<cells::CellGeometry> discs_;
  double scale_km_ = 0;
};

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_CELL_MASS_COMPONENT_H_
