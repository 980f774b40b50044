#include "core/calibration/cell_mass_component.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "core/geo/distance.h"

namespace geoloc::calibration {

absl::StatusOr<CellMassComponent> CellMassComponent::Create(
    absl::Span<const cells::CellId> cells, absl::Span<const double> probabilities) {
  if (cells.empty()) return absl::InvalidArgumentError("a cell density needs at least one cell");
  if (cells.size() != probabilities.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(cells.size(), " cells but ", probabilities.size(), " probabilities"));
  }
  double total = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (!cells::IsValidCell(cells[i])) {
      return absl::InvalidArgumentError(absl::StrCat("cell ", i, " is not a valid S2 cell"));
    }
    if (!(probabilities[i] >= 0) || !std::isfinite(probabilities[i])) {
      return absl::InvalidArgumentError(absl::StrCat("probability ", i, " is ", probabilities[i],
                                                     ": probabilities must be finite and >= 0"));
    }
    total += probabilities[i];
  }
  if (!(total > 0)) return absl::InvalidArgumentError("every cell probability is 0");
  std::vector<int> order(cells.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return cells[a] < cells[b]; });
  CellMassComponent c;
  c.scale_km_ = std::numeric_limits<double>::infinity();
  for (int i : order) {
    if (!c.ids_.empty() && cells::CellRangeMin(cells[i]) <= cells::CellRangeMax(c.ids_.back())) {
      return absl::InvalidArgumentError(absl::StrCat("cells ", cells::CellToken(c.ids_.back()),
                                                     " and ", cells::CellToken(cells[i]),
                                                     " overlap: the cells must be disjoint"));
    }
    const double p = probabilities[i] / total;
    c.ids_.push_back(cells[i]);
    c.probability_.push_back(p);
    c.density_.push_back(p / cells::CellAreaKm2(cells[i]));
    c.discs_.push_back(cells::CellGeometryOf(cells[i]));
    c.scale_km_ = std::min(c.scale_km_, cells::CellAverageEdgeKm(cells::CellLevel(cells[i])));
  }
  return c;
}

double CellMassComponent::Density(const geo::Vec3& x) const {
  const int k = cells::FindContainingCell(ids_, cells::CellIdAtUnitVector(x, cells::kMaxCellLevel));
  return k < 0 ? 0.0 : density_[k];
}

double CellMassComponent::LogDensity(const geo::Vec3& x) const { return std::log(Density(x)); }

double CellMassComponent::DensityOfTerms(const geo::Vec3& x, const TermSubset& terms) const {
  const int k = cells::FindContainingCell(ids_, cells::CellIdAtUnitVector(x, cells::kMaxCellLevel));
  if (k < 0) return 0.0;
  if (terms.all ||
      std::find(terms.indices.begin(), terms.indices.end(), k) != terms.indices.end()) {
    return density_[k];
  }
  return 0.0;
}

TermBounds CellMassComponent::BoundsOverTerms(cells::CellId id, const cells::CellGeometry&,
                                              const TermSubset& terms, double,
                                              std::vector<int32_t>*) const {
  // Every term is kept (the subset passed down is always all of them): the binary searches below
  // already find the only cells that meet the query.
  (void)terms;
  TermBounds b;
  const int k = cells::FindContainingCell(ids_, id);
  if (k >= 0) {
    b.bounds = {density_[k], density_[k]};
    return b;
  }
  // S2 cells nest or are disjoint: the only other cells that meet the query lie inside it.
  const auto first = std::lower_bound(ids_.begin(), ids_.end(), cells::CellRangeMin(id));
  for (auto it = first; it != ids_.end() && *it <= cells::CellRangeMax(id); ++it) {
    b.bounds.hi = std::max(b.bounds.hi, density_[it - ids_.begin()]);
  }
  return b;
}

void CellMassComponent::AppendSuperlevelCover(double t, std::vector<cells::SphereCap>* caps) const {
  for (size_t k = 0; k < ids_.size(); ++k) {
    if (density_[k] >= t) caps->push_back({discs_[k].centre, discs_[k].outer_chord});
  }
}

double CellMassComponent::MassWithin(const geo::Vec3& x, double distance_km) const {
  double mass = 0;
  for (size_t k = 0; k < ids_.size(); ++k) {
    const double d = geo::AngleBetweenRad(x, discs_[k].centre) * geo::kEarthRadiusKm;
    const double r =
        2.0 * std::asin(std::min(1.0, 0.5 * discs_[k].outer_chord)) * geo::kEarthRadiusKm;
    mass += probability_[k] * std::clamp((distance_km - d) / (2 * r) + 0.5, 0.0, 1.0);
  }
  return std::min(1.0, mass);
}

}  // namespace geoloc::calibration
