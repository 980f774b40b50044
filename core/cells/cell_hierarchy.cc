#include "core/cells/cell_hierarchy.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/cells/cell_hierarchy.pb.h"
#include "core/common/file_util.h"
#include "core/common/json_proto.h"
#include "core/common/status_macros.h"

namespace geoloc::cells {
namespace {

constexpr int kFormatVersion = 1;

std::string Describe(CellId id) { return absl::StrCat("cell '", CellToken(id), "'"); }

}  // namespace

absl::StatusOr<CellHierarchy> CellHierarchy::Create(const AdaptiveCellOptions& options,
                                                    int64_t total_points,
                                                    std::vector<CellCount> cells) {
  GEOLOC_RETURN_IF_ERROR(ValidateAdaptiveCellOptions(options));
  if (total_points < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("total_points must be >= 0, got ", total_points));
  }
  for (const CellCount& cell : cells) {
    const int level = CellLevel(cell.id);
    if (level < 0) {
      return absl::InvalidArgumentError(absl::StrCat("id ", cell.id, " is not a valid S2 cell"));
    }
    if (level < options.lvl_start || level > options.lvl_end) {
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(cell.id), " is at level ", level, ", outside [lvl_start, lvl_end] = [",
          options.lvl_start, ", ", options.lvl_end, "]"));
    }
    if (cell.count < std::max<int64_t>(1, options.t_min)) {
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(cell.id), " holds ", cell.count, " points, fewer than max(1, t_min = ",
          options.t_min, "); Algorithm 1 would have dropped it"));
    }
  }
  std::sort(cells.begin(), cells.end(), [](const CellCount& a, const CellCount& b) {
    const int la = CellLevel(a.id);
    const int lb = CellLevel(b.id);
    return la != lb ? la < lb : a.id < b.id;
  });

  CellHierarchy h;
  h.options_ = options;
  h.total_points_ = total_points;
  h.nodes_.reserve(cells.size());
  h.node_by_id_.reserve(cells.size());
  int64_t roots_total = 0;
  for (const CellCount& cell : cells) {
    const int index = static_cast<int>(h.nodes_.size());
    if (!h.node_by_id_.emplace(cell.id, index).second) {
      return absl::InvalidArgumentError(absl::StrCat(Describe(cell.id), " is listed twice"));
    }
    CellNode node;
    node.id = cell.id;
    node.level = CellLevel(cell.id);
    node.count = cell.count;
    if (node.level > options.lvl_start) {
      // Parents sort before their children, so the parent is already indexed if present.
      const CellId parent_id = CellParent(cell.id, node.level - 1);
      const auto it = h.node_by_id_.find(parent_id);
      if (it == h.node_by_id_.end()) {
        return absl::InvalidArgumentError(absl::StrCat(Describe(cell.id), " (level ", node.level,
                                                       ") has no parent: ", Describe(parent_id),
                                                       " is not in the hierarchy"));
      }
      node.parent = it->second;
      // Ids are increasing within a level, so children are appended in increasing id.
      h.nodes_[node.parent].children.push_back(index);
    } else {
      roots_total += node.count;
    }
    h.nodes_.push_back(std::move(node));
  }
  if (roots_total > total_points) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the roots hold ", roots_total, " points, more than total_points = ", total_points));
  }

  for (int i = 0; i < h.num_nodes(); ++i) {
    CellNode& node = h.nodes_[i];
    h.depth_ = std::max(h.depth_, node.level - options.lvl_start + 1);
    if (node.children.empty()) continue;
    if (node.count <= options.t_max) {
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(node.id), " has children but holds ", node.count,
          " points; Algorithm 1 splits only cells with more than t_max = ", options.t_max));
    }
    int64_t children_total = 0;
    for (int child : node.children) children_total += h.nodes_[child].count;
    if (children_total > node.count) {
      return absl::InvalidArgumentError(absl::StrCat("the children of ", Describe(node.id),
                                                     " hold ", children_total,
                                                     " points, more than its ", node.count));
    }
  }

  // Leaves in increasing id = their class numbers. Disjoint cells sort the same by id and by
  // range, which the binary search in LeafClassOfCell relies on.
  for (int i = 0; i < h.num_nodes(); ++i) {
    if (h.nodes_[i].children.empty()) h.leaf_nodes_.push_back(i);
  }
  std::sort(h.leaf_nodes_.begin(), h.leaf_nodes_.end(),
            [&h](int a, int b) { return h.nodes_[a].id < h.nodes_[b].id; });
  h.leaf_range_min_.reserve(h.leaf_nodes_.size());
  h.leaf_range_max_.reserve(h.leaf_nodes_.size());
  for (int c = 0; c < h.num_classes(); ++c) {
    CellNode& leaf = h.nodes_[h.leaf_nodes_[c]];
    leaf.leaf_class = c;
    h.leaf_range_min_.push_back(CellRangeMin(leaf.id));
    h.leaf_range_max_.push_back(CellRangeMax(leaf.id));
  }
  return h;
}

int CellHierarchy::NodeIndex(CellId id) const {
  const auto it = node_by_id_.find(id);
  return it == node_by_id_.end() ? -1 : it->second;
}

int CellHierarchy::LeafClassOfCell(CellId id) const {
  if (!IsValidCell(id)) return -1;
  // The only leaf that can contain `id` is the last one starting at or before it.
  const auto it = std::upper_bound(leaf_range_min_.begin(), leaf_range_min_.end(), id);
  if (it == leaf_range_min_.begin()) return -1;
  const int c = static_cast<int>(it - leaf_range_min_.begin()) - 1;
  if (CellRangeMin(id) < leaf_range_min_[c] || CellRangeMax(id) > leaf_range_max_[c]) return -1;
  return c;
}

int CellHierarchy::LeafClassOf(geo::LatLon point) const {
  return LeafClassOfCell(CellIdAt(point, kMaxCellLevel));
}

std::vector<int> CellHierarchy::AncestorsOf(int node) const {
  std::vector<int> ancestors;
  if (node < 0 || node >= num_nodes()) return ancestors;
  for (int p = nodes_[node].parent; p >= 0; p = nodes_[p].parent) ancestors.push_back(p);
  std::reverse(ancestors.begin(), ancestors.end());
  return ancestors;
}

absl::StatusOr<std::string> CellHierarchy::ToJson() const {
  proto::CellHierarchyFile file;
  file.set_format_version(kFormatVersion);
  proto::GenerationOptions* options = file.mutable_options();
  options->set_lvl_start(options_.lvl_start);
  options->set_lvl_end(options_.lvl_end);
  options->set_t_min(options_.t_min);
  options->set_t_max(options_.t_max);
  file.set_total_points(total_points_);
  file.set_num_classes(num_classes());
  file.set_depth(depth_);
  for (const CellNode& node : nodes_) {
    proto::Cell* cell = file.add_cells();
    cell->set_token(CellToken(node.id));
    cell->set_level(node.level);
    cell->set_count(node.count);
    if (node.parent >= 0) cell->set_parent(CellToken(nodes_[node.parent].id));
    cell->set_leaf_class(node.leaf_class);
  }
  return ToJsonString(file);
}

absl::StatusOr<CellHierarchy> CellHierarchy::FromJson(absl::string_view json) {
  proto::CellHierarchyFile file;
  GEOLOC_RETURN_IF_ERROR(ParseJsonProto(json, &file));
  if (file.format_version() != kFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat("cell hierarchy: unsupported format_version ",
                                                   file.format_version(), " (this build reads ",
                                                   kFormatVersion, ")"));
  }
  AdaptiveCellOptions options;
  options.lvl_start = file.options().lvl_start();
  options.lvl_end = file.options().lvl_end();
  options.t_min = file.options().t_min();
  options.t_max = file.options().t_max();

  std::vector<CellCount> cells;
  cells.reserve(file.cells_size());
  for (int i = 0; i < file.cells_size(); ++i) {
    const proto::Cell& cell = file.cells(i);
    absl::StatusOr<CellId> id = CellFromToken(cell.token());
    if (!id.ok()) {
      return Annotate(id.status(), absl::StrCat("cell hierarchy: cells[", i, "]"));
    }
    if (cell.level() != CellLevel(*id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cell hierarchy: cells[", i, "] '", cell.token(), "' says level ",
                       cell.level(), " but the token is a level-", CellLevel(*id), " cell"));
    }
    cells.push_back({*id, cell.count()});
  }
  absl::StatusOr<CellHierarchy> built = Create(options, file.total_points(), std::move(cells));
  if (!built.ok()) return Annotate(built.status(), "cell hierarchy");
  const CellHierarchy& h = *built;

  // The stored structure must be the derived one; a mismatch means a damaged or edited file.
  for (int i = 0; i < file.cells_size(); ++i) {
    const proto::Cell& cell = file.cells(i);
    const CellNode& node = h.nodes_[h.NodeIndex(*CellFromToken(cell.token()))];
    const std::string parent = node.parent >= 0 ? CellToken(h.nodes_[node.parent].id) : "";
    if (cell.parent() != parent) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cell hierarchy: cells[", i, "] '", cell.token(), "' names parent '", cell.parent(),
          "' but its parent is ", parent.empty() ? "none (it is a root)" : "'" + parent + "'"));
    }
    if (cell.leaf_class() != node.leaf_class) {
      return absl::InvalidArgumentError(
          absl::StrCat("cell hierarchy: cells[", i, "] '", cell.token(), "' has leaf_class ",
                       cell.leaf_class(), " but ",
                       node.is_leaf() ? absl::StrCat("it is leaf class ", node.leaf_class)
                                      : std::string("it is an internal node (-1)"),
                       " (leaves are numbered by increasing cell id)"));
    }
  }
  if (file.num_classes() != h.num_classes() || file.depth() != h.depth()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cell hierarchy: the file says num_classes ", file.num_classes(), " and depth ",
        file.depth(), " but its cells make ", h.num_classes(), " and ", h.depth()));
  }
  return built;
}

absl::Status CellHierarchy::Save(const std::string& path) const {
  GEOLOC_ASSIGN_OR_RETURN(std::string json, ToJson());
  return WriteFileAtomically(path, json);  // its errors name the path
}

absl::StatusOr<CellHierarchy> CellHierarchy::Load(const std::string& path) {
  GEOLOC_ASSIGN_OR_RETURN(std::string json, ReadFileToString(path));  // its errors name the path
  absl::StatusOr<CellHierarchy> h = FromJson(json);
  if (!h.ok()) return Annotate(h.status(), path);
  return h;
}

}  // namespace geoloc::cells
