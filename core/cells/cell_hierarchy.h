// The adaptive S2 cell hierarchy (seed 001): a forest of S2 cells whose leaves are the classes of
// the cell classifier. Built by GenerateAdaptiveCells (adaptive_cells.h) or loaded from JSON.
//
//   GEOLOC_ASSIGN_OR_RETURN(CellHierarchy cells, CellHierarchy::Load("/data/bundle/cells.json"));
//   int cls = cells.LeafClassOf({48.8584, 2.2945});  // -1 when no kept leaf covers the point
//
// Lifetime and threading: an immutable value. Every method is const, so one instance (e.g. held
// by a serving snapshot through a shared_ptr<const CellHierarchy>) may be used from any number of
// threads at once; copies are independent.
//
// Structure, fixed by Create (and therefore by the generator and FromJson):
// - nodes() is ordered by S2 level, then by cell id, so roots come first, a parent precedes its
//   children, and the nodes at one level are contiguous and in S2's Hilbert-curve order.
// - Every root is at options().lvl_start; every other node's parent is its S2 parent, one level up.
//   Relative level of a node = node.level - options().lvl_start (0 for roots).
// - Leaves are nodes without children. Leaf classes are numbered 0..num_classes()-1 in increasing
//   cell id, which is deterministic, independent of node order, and spatially coherent. Leaves are
//   disjoint, so a point lies in at most one leaf.
// - depth() = 1 + the deepest relative level present (0 when empty): the number of levels with at
//   least one cell, which may be less than lvl_end - lvl_start + 1 when no cell needed splitting
//   that far (so the classifier never gets an empty softmax).
//
// Lookups:
// | call               | answer                                                                 |
// | ------------------ | ---------------------------------------------------------------------- |
// | NodeIndex(id)      | node index of exactly that cell; -1 when it is not a node              |
// | LeafClassOfCell(id)| class of the leaf that contains the cell (the leaf itself or any cell  |
// |                    | below it); -1 for an internal node's cell, a cell above or beside      |
// |                    | every leaf, or an invalid id                                           |
// | LeafClassOf(point) | LeafClassOfCell of the point's leaf cell; -1 for a point in no kept    |
// |                    | leaf (a dropped or never-created cell's area) or an invalid coordinate |
// | AncestorsOf(node)  | proper ancestors (not the node), root first; empty for a root or an    |
// |                    | index outside [0, num_nodes())                                         |
// NodeIndex is a hash lookup; LeafClassOfCell a binary search over the leaves' disjoint id ranges;
// LeafClassOf adds one S2 leaf id (about 160 ns in all, tools/bench/cells).
#ifndef GEOLOC_CORE_CELLS_CELL_HIERARCHY_H_
#define GEOLOC_CORE_CELLS_CELL_HIERARCHY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/cells/adaptive_cell_options.h"
#include "core/cells/s2_cells.h"
#include "core/geo/lat_lon.h"

namespace geoloc::cells {

struct CellNode {
  CellId id = kNoCell;
  // Absolute S2 level.
  int level = 0;
  // Input points inside the cell (including points of children that were dropped).
  int64_t count = 0;
  // Node index of the parent, -1 for a root.
  int parent = -1;
  // Node indices of the kept children, in increasing cell id.
  std::vector<int> children;
  // Class index for a leaf, -1 for an internal node.
  int leaf_class = -1;

  bool is_leaf() const { return leaf_class >= 0; }
};

// One cell of a hierarchy under construction: its id and how many points it holds.
struct CellCount {
  CellId id = kNoCell;
  int64_t count = 0;
};

class CellHierarchy {
 public:
  // An empty hierarchy (no nodes, no classes): a placeholder until a real one is assigned.
  CellHierarchy() = default;

  // Builds the hierarchy whose nodes are exactly `cells`; parents, children, leaves and classes
  // are derived (see the structure rules above). INVALID_ARGUMENT, naming the cell, unless:
  // options are valid; every id is a valid cell at a level in [lvl_start, lvl_end], listed once;
  // every cell above lvl_start has its S2 parent in `cells`; counts follow Algorithm 1 (every cell
  // holds >= max(1, t_min) points, an internal node > t_max, its children together at most its
  // count); 0 <= the roots' total <= total_points.
  static absl::StatusOr<CellHierarchy> Create(const AdaptiveCellOptions& options,
                                              int64_t total_points, std::vector<CellCount> cells);

  // JSON in the format of docs/CELLS.md (cell_hierarchy.proto's CellHierarchyFile). FromJson
  // rejects malformed JSON, an unknown format_version, bad tokens, and any stored level, parent,
  // leaf class, num_classes or depth that disagrees with the structure Create derives.
  absl::StatusOr<std::string> ToJson() const;
  static absl::StatusOr<CellHierarchy> FromJson(absl::string_view json);
  // Save writes atomically (a reader never sees a half-written file); Load names the path in
  // its errors.
  absl::Status Save(const std::string& path) const;
  static absl::StatusOr<CellHierarchy> Load(const std::string& path);

  const std::vector<CellNode>& nodes() const { return nodes_; }
  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  int num_classes() const { return static_cast<int>(leaf_nodes_.size()); }
  // Requires 0 <= leaf_class < num_classes().
  const CellNode& leaf_node(int leaf_class) const { return nodes_[leaf_nodes_[leaf_class]]; }
  int leaf_node_index(int leaf_class) const { return leaf_nodes_[leaf_class]; }
  int depth() const { return depth_; }
  const AdaptiveCellOptions& options() const { return options_; }
  // Points given to the generator, including those that ended in no kept leaf.
  int64_t total_points() const { return total_points_; }

  int NodeIndex(CellId id) const;
  int LeafClassOf(geo::LatLon point) const;
  int LeafClassOfCell(CellId id) const;
  std::vector<int> AncestorsOf(int node) const;

 private:
  AdaptiveCellOptions options_;
  int64_t total_points_ = 0;
  std::vector<CellNode> nodes_;
  int depth_ = 0;
  // Per class: node index, and the leaf's [range_min, range_max] (increasing, disjoint) for the
  // binary search in LeafClassOfCell.
  std::vector<int> leaf_nodes_;
  std::vector<CellId> leaf_range_min_;
  std::vector<CellId> leaf_range_max_;
  absl::flat_hash_map<CellId, int> node_by_id_;
};

}  // namespace geoloc::cells

#endif  // GEOLOC_CORE_CELLS_CELL_HIERARCHY_H_
