#include "core/calibration/superlevel_set.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "core/cells/region_cells.h"

namespace geoloc::calibration {
namespace {

// Terms whose upper bound over a cell falls below this share of (t - floor), for the lowest
// threshold the cell is still undecided for, are left out of its descendants' bounds (counted at
// that bound: conservative, and at most this share per level in all).
constexpr double kNegligibleShare = 1e-3;
// A part whose bounds over a cell are this close (share of t - floor) is frozen for the cell's
// descendants: they reuse its bounds instead of evaluating it again (a broad kernel is nearly
// constant over a small cell).
constexpr double kFrozenShare = 1e-2;

// One part's state for one pending cell.
struct PartState {
  bool frozen = false;
  DensityBounds frozen_bounds;
  // Its terms: all, or [offset, offset + count) of the traversal's arena.
  bool all = true;
  int64_t offset = 0;
  int64_t count = 0;
  // Upper bound over the cell of the terms left out so far.
  double left_out_hi = 0;
};

// A cell still to look at, with the range [a, b) of (descending) thresholds it is undecided for;
// its parts' states are at [state, state + parts) of the frontier's state list.
struct Pending {
  cells::CellId id = cells::kNoCell;
  int a = 0;
  int b = 0;
  int64_t state = 0;
};

}  // namespace

absl::Status ValidateSuperlevelOptions(const SuperlevelOptions& options) {
  if (!(options.finest_edge_fraction > 0 && options.finest_edge_fraction <= 10)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "finest_edge_fraction must be in (0, 10], got ", options.finest_edge_fraction));
  }
  if (options.max_cells < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_cells must be >= 1, got ", options.max_cells));
  }
  return absl::OkStatus();
}

absl::StatusOr<SuperlevelResult> ExtractSuperlevelSets(const PredictiveDensity& f,
                                                       absl::Span<const double> thresholds,
                                                       const SuperlevelOptions& options) {
  if (absl::Status s = ValidateSuperlevelOptions(options); !s.ok()) return s;
  SuperlevelResult result;
  result.sets.resize(thresholds.size());
  // The thresholds the traversal must decide, highest first.
  std::vector<int> order;
  for (size_t i = 0; i < thresholds.size(); ++i) {
    const double t = thresholds[i];
    if (std::isnan(t)) {
      return absl::InvalidArgumentError(absl::StrCat("threshold ", i, " is NaN"));
    }
    result.sets[i].threshold = t;
    if (t <= f.FloorDensity()) {
      result.sets[i].whole_sphere = true;
      result.sets[i].cells = cells::WholeSphereCells();
    } else if (std::isfinite(t)) {
      order.push_back(static_cast<int>(i));
    }
  }
  std::sort(order.begin(), order.end(), [&](int x, int y) { return thresholds[x] > thresholds[y]; });
  const int m = static_cast<int>(order.size());
  if (m == 0) return result;
  std::vector<double> t(m);
  for (int j = 0; j < m; ++j) t[j] = thresholds[order[j]];

  const double finest_edge_km = options.finest_edge_fraction * f.ScaleKm();
  result.finest_level = std::isfinite(finest_edge_km) ? cells::CellLevelForEdgeKm(finest_edge_km)
                                                      : 0;
  bool whole = false;
  const std::vector<cells::SphereCap> caps = f.SuperlevelCover(t[m - 1], &whole);
  std::vector<Pending> frontier;
  const std::vector<cells::CellId> start =
      whole ? cells::WholeSphereCells() : cells::CellsCoveringCaps(caps, result.finest_level);
  for (cells::CellId id : start) frontier.push_back({id, 0, m, 0});

  // The weighted parts; their terms' subsets live in one append-only arena.
  std::vector<const DensityComponent*> parts;
  std::vector<double> weights;
  for (const PredictiveDensity::Part& p : f.parts()) {
    if (p.weight > 0) {
      parts.push_back(p.component.get());
      weights.push_back(p.weight);
    }
  }
  const int64_t np = static_cast<int64_t>(parts.size());
  const double floor = f.FloorDensity();
  std::vector<int32_t> arena;
  std::vector<int32_t> kept;
  std::vector<PartState> states(frontier.size() * np), next_states;
  for (size_t i = 0; i < frontier.size(); ++i) frontier[i].state = static_cast<int64_t>(i) * np;
  auto subset_of = [&](const PartState& st) {
    TermSubset subset;
    subset.all = st.all;
    if (!st.all) subset.indices = absl::MakeConstSpan(arena.data() + st.offset, st.count);
    return subset;
  };

  std::vector<std::vector<cells::CellId>> inside(m);
  std::vector<double> boundary_area(m, 0.0);
  std::vector<Pending> next;
  struct Undecided {
    size_t item;
    int out, in;
    cells::CellDisc disc;
  };
  std::vector<Undecided> undecided;
  std::vector<PartState> undecided_parts;
  std::vector<DensityBounds> undecided_bounds;
  std::vector<PartState> cell_parts(np);
  std::vector<DensityBounds> part_bounds(np);
  while (!frontier.empty()) {
    // Decide how deep this level may go before evaluating it: the cap applies to the children.
    next.clear();
    next_states.clear();
    int64_t refinable = 0;
    result.cells_evaluated += static_cast<int64_t>(frontier.size());
    // First pass: bounds and decisions; collect the undecided with their parts' states for the
    // children and their parts' bounds (flat, np per undecided cell).
    undecided.clear();
    undecided_parts.clear();
    undecided_bounds.clear();
    for (size_t item = 0; item < frontier.size(); ++item) {
      const Pending& p = frontier[item];
      const cells::CellDisc disc = cells::CellBoundingDisc(p.id);
      result.deepest_level = std::max(result.deepest_level, cells::CellLevel(p.id));
      const double slack = t[p.b - 1] - floor;  // the lowest threshold still undecided, > 0
      DensityBounds total{floor, floor};
      for (int64_t c = 0; c < np; ++c) {
        const PartState& st = states[p.state + c];
        PartState& child = cell_parts[c];
        child = st;
        if (st.frozen) {
          part_bounds[c] = st.frozen_bounds;
        } else {
          const TermSubset subset = subset_of(st);
          const double terms = std::max<double>(
              1.0, static_cast<double>(st.all ? parts[c]->NumTerms() : st.count));
          const double negligible = kNegligibleShare * slack / (weights[c] * terms);
          kept.clear();
          const TermBounds tb = parts[c]->BoundsOverTerms(p.id, disc, subset, negligible, &kept);
          part_bounds[c] = tb.bounds;
          part_bounds[c].hi += st.left_out_hi;
          if (tb.pruned) {
            child.all = false;
            child.offset = static_cast<int64_t>(arena.size());
            child.count = static_cast<int64_t>(kept.size());
            arena.insert(arena.end(), kept.begin(), kept.end());
            child.left_out_hi = st.left_out_hi + tb.left_out_hi;
          }
          if (weights[c] * (part_bounds[c].hi - part_bounds[c].lo) <= kFrozenShare * slack) {
            child.frozen = true;
            child.frozen_bounds = part_bounds[c];
          }
        }
        total.lo += weights[c] * part_bounds[c].lo;
        total.hi += weights[c] * part_bounds[c].hi;
      }
      // Thresholds descend: outside for [a, out), undecided for [out, in), inside for [in, b).
      int out = p.a;
      while (out < p.b && t[out] > total.hi) ++out;
      int in = out;
      while (in < p.b && t[in] > total.lo) ++in;
      for (int j = in; j < p.b; ++j) inside[j].push_back(p.id);
      if (out < in) {
        undecided.push_back({item, out, in, disc});
        undecided_parts.insert(undecided_parts.end(), cell_parts.begin(), cell_parts.end());
        undecided_bounds.insert(undecided_bounds.end(), part_bounds.begin(), part_bounds.end());
        refinable += cells::CellLevel(p.id) < result.finest_level;
      }
    }
    const bool refine = result.cells_evaluated + 4 * refinable <= options.max_cells;
    if (!refine && refinable > 0) result.capped = true;
    for (size_t k = 0; k < undecided.size(); ++k) {
      const Undecided& u = undecided[k];
      const Pending& p = frontier[u.item];
      const PartState* child_parts = undecided_parts.data() + k * np;
      const DensityBounds* bounds = undecided_bounds.data() + k * np;
      if (refine && cells::CellLevel(p.id) < result.finest_level) {
        for (cells::CellId child : cells::CellChildren(p.id)) {
          next.push_back({child, u.out, u.in, static_cast<int64_t>(next_states.size())});
          next_states.insert(next_states.end(), child_parts, child_parts + np);
        }
        continue;
      }
      // Settle by the boundary rule.
      const double area = cells::CellUnionAreaKm2(absl::MakeConstSpan(&p.id, 1));
      for (int j = u.out; j < u.in; ++j) boundary_area[j] += area;
      if (options.boundary == BoundaryRule::kInclude || cells::CellLevel(p.id) == cells::kMaxCellLevel) {
        for (int j = u.out; j < u.in; ++j) inside[j].push_back(p.id);
        continue;
      }
      // kCentre: each quarter of the cell by the density at its centre (the terms still in play),
      // which halves the outline's error for four point evaluations.
      for (cells::CellId quarter : cells::CellChildren(p.id)) {
        const geo::Vec3 x = cells::CellCentreVector(quarter);
        double value = floor;
        for (int64_t c = 0; c < np; ++c) {
          const PartState& st = states[p.state + c];
          value += weights[c] * (st.frozen ? 0.5 * (bounds[c].lo + bounds[c].hi)
                                           : parts[c]->DensityOfTerms(x, subset_of(st)));
        }
        for (int j = u.in - 1; j >= u.out && value >= t[j]; --j) inside[j].push_back(quarter);
      }
    }
    frontier.swap(next);
    states.swap(next_states);
  }
  for (int j = 0; j < m; ++j) {
    SuperlevelSet& set = result.sets[order[j]];
    set.cells = cells::NormalizeCellUnion(std::move(inside[j]));
    set.boundary_area_km2 = boundary_area[j];
  }
  return result;
}

}  // namespace geoloc::calibration
