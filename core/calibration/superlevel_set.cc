#include "core/calibration/superlevel_set.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
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

// One part's state for one cell.
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

// One part's bounds over the cell being evaluated, and its pruning when it is already known.
struct Pending {
  DensityBounds bounds;
  const double* memo = nullptr;  // SharedCells::MemoOf; pruned only if the cell stays undecided
  TermBounds terms;        // pruned, left_out_hi (parts evaluated from their terms, or the memo)
  int64_t kept_begin = 0;  // the terms kept, in Extractor::kept_
  int64_t kept_end = 0;
};

// An evaluated cell still undecided for the (descending) thresholds [out, in).
struct Undecided {
  cells::CellId id = cells::kNoCell;
  int out = 0;
  int in = 0;
  int finest = 0;  // the level it may be refined to
  double area_km2 = 0;
  int64_t own_state = 0;    // its parts' states as it was evaluated (np of them)
  int64_t child_state = 0;  // the states its children start from (np)
  int64_t bounds = 0;       // its parts' bounds (np)
};

// The parts of f that region extraction evaluates (positive weight).
struct WeightedParts {
  explicit WeightedParts(const PredictiveDensity& f) {
    for (const PredictiveDensity::Part& p : f.parts()) {
      if (p.weight > 0) {
        parts.push_back(p.component.get());
        weights.push_back(p.weight);
      }
    }
  }
  std::vector<const DensityComponent*> parts;
  std::vector<double> weights;
};

// Storage handed out in chunks that never move (what was handed out stays valid until Clear) and
// are kept for the next extraction on the same thread: the memos of one answer take megabytes, and
// growing one vector (copying it) or mapping fresh pages per answer cost several percent.
template <typename T>
class ChunkArena {
 public:
  T* Allocate(size_t n) {
    if (current_ >= chunks_.size() || used_ + n > chunks_[current_].size) {
      if (current_ < chunks_.size()) ++current_;
      while (current_ < chunks_.size() && chunks_[current_].size < n) ++current_;
      if (current_ == chunks_.size()) {
        const size_t size = std::max(kChunk, n);
        chunks_.push_back({std::unique_ptr<T[]>(new T[size]), size});
      }
      used_ = 0;
    }
    T* out = chunks_[current_].data.get() + used_;
    used_ += n;
    return out;
  }
  void Clear() {
    current_ = 0;
    used_ = 0;
  }

 private:
  static constexpr size_t kChunk = size_t{1} << 16;
  struct Chunk {
    std::unique_ptr<T[]> data;
    size_t size = 0;
  };
  std::vector<Chunk> chunks_;
  size_t current_ = 0;
  size_t used_ = 0;
};

// What the traversals of one extraction (one per threshold) share: each cell's geometry and, per
// part, memos of its terms' bounds over the cell (DensityComponent::MemoiseTerms): of all the
// terms, and of the last subset a traversal reached the cell with. None depends on a threshold,
// so sharing them changes no traversal's result; a cell evaluated by several traversals is
// measured once, and its terms evaluated once wherever the traversals hold the same terms there.
// One at a time per thread (the memos live in the thread's arenas).
class SharedCells {
 public:
  SharedCells(const std::vector<const DensityComponent*>& parts, size_t expected_cells,
              int64_t max_memo_bytes)
      : parts_(parts), bytes_left_(max_memo_bytes) {
    memos_.Clear();
    indices_.Clear();
    index_.reserve(expected_cells);
    geometry_.reserve(expected_cells);
    all_.reserve(expected_cells * parts_.size());
    subset_.reserve(expected_cells * parts_.size());
  }

  // cells::CellsCoveringCaps(caps, max_level), or an earlier traversal's covering when its caps
  // had the same centres and covering levels (then the coverings are the same: most of the time).
  std::vector<cells::CellId> Covering(const std::vector<cells::SphereCap>& caps, int max_level) {
    std::vector<int> levels(caps.size());
    for (size_t i = 0; i < caps.size(); ++i) {
      levels[i] = cells::CapCoveringLevel(caps[i], max_level);
    }
    for (const Covered& c : coverings_) {
      if (c.max_level == max_level && c.levels == levels &&
          std::equal(caps.begin(), caps.end(), c.centres.begin(), c.centres.end(),
                     [](const cells::SphereCap& cap, const geo::Vec3& centre) {
                       return cap.centre.x == centre.x && cap.centre.y == centre.y &&
                              cap.centre.z == centre.z;
                     })) {
        return c.cells;
      }
    }
    Covered c;
    c.max_level = max_level;
    c.levels = std::move(levels);
    for (const cells::SphereCap& cap : caps) c.centres.push_back(cap.centre);
    c.cells = cells::CellsCoveringCaps(caps, max_level);
    coverings_.push_back(std::move(c));
    return coverings_.back().cells;
  }

  // The cell's index in this store (its geometry measured on first use).
  int64_t Find(cells::CellId id) {
    const auto [it, added] = index_.try_emplace(id, static_cast<int64_t>(geometry_.size()));
    if (added) {
      geometry_.push_back(cells::CellGeometryOf(id));
      all_.resize(all_.size() + parts_.size(), nullptr);
      subset_.resize(subset_.size() + parts_.size());
    }
    return it->second;
  }
  const cells::CellGeometry& geometry(int64_t cell) const { return geometry_[cell]; }
  bool HasMemo(int64_t part) const { return parts_[part]->TermsMemoSize(TermSubset{}) > 0; }

  // The part's memo of `terms` over the cell (computed unless the cell's all-terms memo, or its
  // last subset memo, is of the same terms); null when it would take the memos past their budget.
  const double* MemoOf(int64_t cell, int64_t part, const TermSubset& terms) {
    const size_t slot = static_cast<size_t>(cell) * parts_.size() + static_cast<size_t>(part);
    if (terms.all) {
      if (all_[slot] == nullptr) all_[slot] = Memoise(cell, part, terms);
      return all_[slot];
    }
    Subset& last = subset_[slot];
    const size_t n = terms.indices.size();
    if (last.memo != nullptr && last.count == n &&
        std::equal(terms.indices.begin(), terms.indices.end(), last.indices)) {
      return last.memo;
    }
    const double* memo = Memoise(cell, part, terms);
    if (memo == nullptr || !Spend(n * sizeof(int32_t))) return memo;  // used once, not kept
    int32_t* copy = indices_.Allocate(n);
    std::copy(terms.indices.begin(), terms.indices.end(), copy);
    last = {copy, n, memo};
    return memo;
  }

 private:
  // A start covering and what it was made of.
  struct Covered {
    int max_level = 0;
    std::vector<geo::Vec3> centres;
    std::vector<int> levels;
    std::vector<cells::CellId> cells;
  };
  // A subset memoised for a cell and part: its terms and its memo.
  struct Subset {
    const int32_t* indices = nullptr;
    size_t count = 0;
    const double* memo = nullptr;
  };

  const double* Memoise(int64_t cell, int64_t part, const TermSubset& terms) {
    const size_t size = static_cast<size_t>(parts_[part]->TermsMemoSize(terms));
    if (!Spend(size * sizeof(double))) return nullptr;
    double* memo = memos_.Allocate(size);
    parts_[part]->MemoiseTerms(geometry_[cell], terms, memo);
    return memo;
  }
  bool Spend(size_t bytes) {
    if (static_cast<int64_t>(bytes) > bytes_left_) return false;
    bytes_left_ -= static_cast<int64_t>(bytes);
    return true;
  }

  static inline thread_local ChunkArena<double> memos_;
  static inline thread_local ChunkArena<int32_t> indices_;
  const std::vector<const DensityComponent*>& parts_;
  int64_t bytes_left_;  // of options.max_memo_bytes
  absl::flat_hash_map<cells::CellId, int64_t> index_;
  std::vector<cells::CellGeometry> geometry_;
  std::vector<const double*> all_;  // per cell and part: its all-terms memo, null until needed
  std::vector<Subset> subset_;      // per cell and part
  std::vector<Covered> coverings_;  // one per distinct start covering
};

class Extractor {
 public:
  Extractor(const PredictiveDensity& f, const WeightedParts& parts, SharedCells* shared,
            std::vector<double> t, const SuperlevelOptions& options, SuperlevelResult* result)
      : f_(f),
        t_(std::move(t)),
        options_(options),
        result_(result),
        parts_(parts.parts),
        weights_(parts.weights),
        shared_(shared),
        inside_(t_.size()),
        inside_area_(t_.size(), 0.0),
        boundary_area_(t_.size(), 0.0) {
    np_ = static_cast<int64_t>(parts_.size());
    floor_ = f.FloorDensity();
    for (const DensityComponent* c : parts_) part_level_.push_back(LevelForScale(c->ScaleKm()));
    result_->finest_level = LevelForScale(f.ScaleKm());
  }

  void Run() {
    const int m = static_cast<int>(t_.size());
    bool whole = false;
    const std::vector<cells::SphereCap> caps = f_.SuperlevelCover(t_[m - 1], &whole);
    const std::vector<cells::CellId> start =
        whole ? cells::WholeSphereCells() : shared_->Covering(caps, result_->finest_level);
    const int64_t initial = static_cast<int64_t>(states_.size());
    states_.resize(states_.size() + np_);  // every term of every part
    for (cells::CellId id : start) Evaluate(id, 0, m, initial);
    // Coarse levels first, so that a cell is weighed against regions whose coarse parts are known.
    for (int level = 0; level <= cells::kMaxCellLevel; ++level) {
      // Evaluate appends to the next level's list only, so this one can be walked by index.
      for (size_t k = 0; k < by_level_[level].size(); ++k) {
        const Undecided u = undecided_[by_level_[level][k]];
        const bool can_refine =
            level < u.finest && Importance(u) >= options_.min_relative_cell_area;
        if (can_refine && result_->cells_evaluated + 4 > options_.max_cells) result_->capped = true;
        if (!can_refine || result_->capped) {
          Settle(u);
          continue;
        }
        for (cells::CellId child : cells::CellChildren(u.id)) {
          Evaluate(child, u.out, u.in, u.child_state);
        }
      }
    }
    for (int j = 0; j < m; ++j) {
      SuperlevelSet& set = result_->sets[j];
      set.cells = cells::NormalizeCellUnion(std::move(inside_[j]));
      set.boundary_area_km2 = boundary_area_[j];
    }
  }

 private:
  int LevelForScale(double scale_km) const {
    const double edge_km = options_.finest_edge_fraction * scale_km;
    return std::isfinite(edge_km) ? cells::CellLevelForEdgeKm(edge_km) : 0;
  }

  TermSubset SubsetOf(const PartState& st) const {
    TermSubset subset;
    subset.all = st.all;
    if (!st.all) subset.indices = absl::MakeConstSpan(arena_.data() + st.offset, st.count);
    return subset;
  }

  // A cell's share of the smallest region it may still change (the highest undecided threshold's,
  // by nesting); a region with nothing inside yet makes every cell worth refining.
  double Importance(const Undecided& u) const {
    const double region = inside_area_[u.out];
    return region > 0 ? u.area_km2 / region : 1.0;
  }

  void MarkInside(cells::CellId id, double area, int j) {
    inside_[j].push_back(id);
    inside_area_[j] += area;
  }

  // The terms below this bound over a cell may be left out of its descendants' bounds.
  double Negligible(int64_t c, const PartState& st, double slack) const {
    const double terms =
        std::max<double>(1.0, static_cast<double>(st.all ? parts_[c]->NumTerms() : st.count));
    return kNegligibleShare * slack / (weights_[c] * terms);
  }

  // Bounds f over the cell and decides it for the thresholds [a, b), given its parts' states. The
  // states its children start from are only made when it stays undecided (most cells do not); a
  // part read from the shared memo is pruned then, a part evaluated from its terms prunes as it
  // goes (into kept_, copied to the arena only then).
  void Evaluate(cells::CellId id, int a, int b, int64_t state) {
    ++result_->cells_evaluated;
    result_->deepest_level = std::max(result_->deepest_level, cells::CellLevel(id));
    const int64_t cell = shared_->Find(id);
    const cells::CellGeometry disc = shared_->geometry(cell);
    const double slack = t_[b - 1] - floor_;  // the lowest threshold still undecided, > 0
    kept_.clear();
    DensityBounds total{floor_, floor_};
    for (int64_t c = 0; c < np_; ++c) {
      const PartState& st = states_[state + c];
      Pending& p = pending_[c];
      p = Pending{};
      if (!st.frozen && shared_->HasMemo(c)) p.memo = shared_->MemoOf(cell, c, SubsetOf(st));
      if (st.frozen) {
        p.bounds = st.frozen_bounds;
      } else if (p.memo != nullptr) {
        p.bounds = parts_[c]->BoundsFromTermsMemo(SubsetOf(st), p.memo, 0.0, nullptr).bounds;
      } else {
        p.kept_begin = static_cast<int64_t>(kept_.size());
        p.terms =
            parts_[c]->BoundsOverTerms(id, disc, SubsetOf(st), Negligible(c, st, slack), &kept_);
        p.kept_end = static_cast<int64_t>(kept_.size());
        p.bounds = p.terms.bounds;
      }
      if (!st.frozen) p.bounds.hi += st.left_out_hi;  // frozen bounds already hold it
      total.lo += weights_[c] * p.bounds.lo;
      total.hi += weights_[c] * p.bounds.hi;
    }
    // Thresholds descend: outside for [a, out), undecided for [out, in), inside for [in, b).
    int out = a;
    while (out < b && t_[out] > total.hi) ++out;
    int in = out;
    while (in < b && t_[in] > total.lo) ++in;
    const double area = disc.area_km2;
    for (int j = in; j < b; ++j) MarkInside(id, area, j);
    if (out >= in) return;

    const int64_t child_state = static_cast<int64_t>(states_.size());
    states_.resize(states_.size() + np_);
    const int64_t bounds_at = static_cast<int64_t>(bounds_.size());
    bounds_.resize(bounds_.size() + np_);
    int finest = 0;
    for (int64_t c = 0; c < np_; ++c) {
      const PartState& st = states_[state + c];  // states_ is not resized in this loop
      Pending& p = pending_[c];
      PartState child = st;
      if (!st.frozen) {
        if (p.memo != nullptr) {
          p.kept_begin = static_cast<int64_t>(kept_.size());
          p.terms = parts_[c]->BoundsFromTermsMemo(SubsetOf(st), p.memo, Negligible(c, st, slack),
                                                   &kept_);
          p.kept_end = static_cast<int64_t>(kept_.size());
        }
        if (p.terms.pruned) {
          child.all = false;
          child.offset = static_cast<int64_t>(arena_.size());
          child.count = p.kept_end - p.kept_begin;
          arena_.insert(arena_.end(), kept_.begin() + p.kept_begin, kept_.begin() + p.kept_end);
          child.left_out_hi = st.left_out_hi + p.terms.left_out_hi;
        }
        if (weights_[c] * (p.bounds.hi - p.bounds.lo) <= kFrozenShare * slack) {
          child.frozen = true;
          child.frozen_bounds = p.bounds;
        }
      }
      states_[child_state + c] = child;
      bounds_[bounds_at + c] = p.bounds;
      if (!child.frozen && (child.all || child.count > 0)) {
        finest = std::max(finest, part_level_[c]);
      }
    }
    undecided_.push_back({id, out, in, finest, area, state, child_state, bounds_at});
    by_level_[cells::CellLevel(id)].push_back(static_cast<int64_t>(undecided_.size()) - 1);
  }

  // Decides an undecided cell by the boundary rule.
  void Settle(const Undecided& u) {
    for (int j = u.out; j < u.in; ++j) boundary_area_[j] += u.area_km2;
    if (options_.boundary == BoundaryRule::kInclude ||
        cells::CellLevel(u.id) == cells::kMaxCellLevel) {
      for (int j = u.out; j < u.in; ++j) MarkInside(u.id, u.area_km2, j);
      return;
    }
    // kCentre: each quarter of the cell by the density at its centre, estimated to first order
    // from the cell's centre (one pass over the terms still in play instead of four; the cells
    // settled here are smaller than the terms' scales).
    const geo::Vec3 centre = cells::CellCentreVector(u.id);
    double value = floor_;
    geo::Vec3 gradient;
    for (int64_t c = 0; c < np_; ++c) {
      const PartState& st = states_[u.own_state + c];
      const DensityBounds& b = bounds_[u.bounds + c];
      if (st.frozen) {
        value += weights_[c] * 0.5 * (b.lo + b.hi);
        continue;
      }
      double v = 0;
      geo::Vec3 g;
      parts_[c]->DensityAndGradientOfTerms(centre, SubsetOf(st), &v, &g);
      value += weights_[c] * v;
      gradient = gradient + weights_[c] * g;
    }
    for (cells::CellId quarter : cells::CellChildren(u.id)) {
      const double estimate = value + geo::Dot(gradient, cells::CellCentreVector(quarter) - centre);
      const double area = 0.25 * u.area_km2;
      for (int j = u.in - 1; j >= u.out && estimate >= t_[j]; --j) MarkInside(quarter, area, j);
    }
  }

  const PredictiveDensity& f_;
  const std::vector<double> t_;
  const SuperlevelOptions& options_;
  SuperlevelResult* result_;
  const std::vector<const DensityComponent*>& parts_;
  const std::vector<double>& weights_;
  SharedCells* shared_;
  std::vector<int> part_level_;
  int64_t np_ = 0;
  double floor_ = 0;
  // Append-only stores: part states, part bounds, kept term indices, undecided cells.
  std::vector<PartState> states_;
  std::vector<DensityBounds> bounds_;
  std::vector<int32_t> arena_;
  std::vector<int32_t> kept_;
  std::vector<Pending> pending_ = std::vector<Pending>(parts_.size());  // per part
  std::vector<Undecided> undecided_;
  std::vector<int64_t> by_level_[cells::kMaxCellLevel + 1];  // undecided cells per level
  std::vector<std::vector<cells::CellId>> inside_;
  std::vector<double> inside_area_;
  std::vector<double> boundary_area_;
};

}  // namespace

absl::Status ValidateSuperlevelOptions(const SuperlevelOptions& options) {
  if (!(options.finest_edge_fraction > 0 && options.finest_edge_fraction <= 10)) {
    return absl::InvalidArgumentError(absl::StrCat("finest_edge_fraction must be in (0, 10], got ",
                                                   options.finest_edge_fraction));
  }
  if (!(options.min_relative_cell_area >= 0 && options.min_relative_cell_area < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("min_relative_cell_area must be in [0, 1), got ",
                                                   options.min_relative_cell_area));
  }
  if (options.max_cells < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_cells must be >= 1, got ", options.max_cells));
  }
  if (options.max_memo_bytes < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_memo_bytes must be >= 0, got ", options.max_memo_bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<SuperlevelResult> ExtractSuperlevelSets(const PredictiveDensity& f,
                                                       absl::Span<const double> thresholds,
                                                       const SuperlevelOptions& options) {
  if (absl::Status s = ValidateSuperlevelOptions(options); !s.ok()) return s;
  SuperlevelResult result;
  result.sets.resize(thresholds.size());
  std::vector<int> to_extract;  // the thresholds a traversal must decide
  for (size_t i = 0; i < thresholds.size(); ++i) {
    const double t = thresholds[i];
    if (std::isnan(t)) return absl::InvalidArgumentError(absl::StrCat("threshold ", i, " is NaN"));
    result.sets[i].threshold = t;
    if (t <= f.FloorDensity()) {
      result.sets[i].whole_sphere = true;
      result.sets[i].cells = cells::WholeSphereCells();
    } else if (std::isfinite(t)) {
      to_extract.push_back(static_cast<int>(i));
    }
  }
  // One traversal per distinct threshold, each with its own cell budget: a level's region depends
  // on its threshold alone, so asking for another level never changes (or coarsens) it.
  const WeightedParts parts(f);
  // At most max_cells per traversal, plus its start covering.
  SharedCells shared(parts.parts,
                     static_cast<size_t>(std::min<int64_t>(options.max_cells, 4096)) *
                         std::max<size_t>(1, to_extract.size()),
                     options.max_memo_bytes);
  std::vector<int> done;  // indices already extracted, for equal thresholds
  for (int i : to_extract) {
    const auto same = std::find_if(done.begin(), done.end(),
                                   [&](int j) { return thresholds[j] == thresholds[i]; });
    if (same != done.end()) {
      result.sets[i] = result.sets[*same];
      continue;
    }
    SuperlevelResult one;
    one.sets.resize(1);
    Extractor(f, parts, &shared, {thresholds[i]}, options, &one).Run();
    one.sets[0].threshold = thresholds[i];
    one.sets[0].cells_evaluated = one.cells_evaluated;
    one.sets[0].capped = one.capped;
    result.sets[i] = std::move(one.sets[0]);
    result.finest_level = one.finest_level;
    result.deepest_level = std::max(result.deepest_level, one.deepest_level);
    result.cells_evaluated += one.cells_evaluated;
    result.capped = result.capped || one.capped;
    done.push_back(i);
  }
  return result;
}

}  // namespace geoloc::calibration
