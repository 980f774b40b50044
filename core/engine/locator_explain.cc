// Locator::Explain: Grad-CAM of what in the photo drove a peak, a neighbour or a cell.
#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/cells/s2_cells.h"
#include "core/common/status_macros.h"
#include "core/engine/locator.h"
#include "core/model/preprocess.h"
#include "opencv2/imgproc.hpp"

namespace geoloc::engine {
namespace {

// Longest side of the photo view the overlay is drawn on: enough to see detail, small to send.
constexpr int kOverlayMaxSide = 512;

std::string DescribePeak(int index, const geo::Peak& p) {
  return absl::StrFormat("peak %d at %.5f,%.5f (mass %.2f, %d neighbours)", index, p.pos.lat,
                         p.pos.lon, p.mass, p.support);
}

// The part of the photo the model saw, scaled for display.
cv::Mat ModelView(const cv::Mat& bgr, const model::ModelInfo& info) {
  cv::Mat view = bgr(model::CropRegion(bgr.size(), info));
  const int longest = std::max(view.cols, view.rows);
  if (longest > kOverlayMaxSide) {
    const double scale = static_cast<double>(kOverlayMaxSide) / longest;
    cv::Mat small;
    cv::resize(view, small, cv::Size(), scale, scale, cv::INTER_AREA);
    return small;
  }
  return view.clone();
}

}  // namespace

absl::StatusOr<ExplainResult> Locator::Explain(const cv::Mat& bgr, const ExplainTarget& target,
                                               const LocateParams& params,
                                               bool render_overlay) const {
  if (grad_cam_ == nullptr) {
    return absl::FailedPreconditionError("this server was started without Grad-CAM (Explain off)");
  }
  const absl::Time start = absl::Now();
  const model::ModelInfo& info = encoder_->info();
  std::vector<float> image(model::PreprocessedSize(info));
  GEOLOC_RETURN_IF_ERROR(model::PreprocessInto(bgr, info, image.data()));
  // The Locate the target refers to: LocateBatch with a batch of one, finished on this thread.
  absl::StatusOr<LocateResult> located_or = absl::UnknownError("not located");
  GEOLOC_RETURN_IF_ERROR(LocateBatch(
      image, {params}, /*searched=*/nullptr,
      /*run_finish=*/nullptr,
      [&located_or](size_t, absl::StatusOr<LocateResult> r) { located_or = std::move(r); }));
  ExplainResult result;
  GEOLOC_ASSIGN_OR_RETURN(result.locate, std::move(located_or));
  const LocateResult& located = result.locate;
  result.kind = target.kind;

  std::vector<int64_t> rows;  // the database vectors the target compares the query with
  switch (target.kind) {
    case ExplainTarget::Kind::kPeak: {
      if (target.peak_index < 0 || target.peak_index >= static_cast<int>(located.peaks.size())) {
        return absl::InvalidArgumentError(
            absl::StrCat("peak_index ", target.peak_index, " is out of range: this image has ",
                         located.peaks.size(), " peak(s)"));
      }
      const geo::Peak& peak = located.peaks[target.peak_index];
      for (int i : peak.neighbor_indices) rows.push_back(located.neighbors[i].row);
      result.peak = peak;
      if (static_cast<size_t>(target.peak_index) < located.peak_places.size()) {
        result.peak_place = located.peak_places[target.peak_index];
      }
      result.description = DescribePeak(target.peak_index, peak);
      break;
    }
    case ExplainTarget::Kind::kNeighbor: {
      auto it = std::find_if(located.neighbors.begin(), located.neighbors.end(),
                             [&](const index::Neighbor& n) { return n.id == target.neighbor_id; });
      index::Neighbor neighbor;
      if (it != located.neighbors.end()) {
        neighbor = *it;
      } else {
        // Not among this image's neighbours: any database image may still be compared with.
        const index::MetadataTable& meta = bundle_->metadata();
        int64_t row = -1;
        for (int64_t r = 0; r < meta.size(); ++r) {
          if (meta.id(r) == target.neighbor_id) {
            row = r;
            break;
          }
        }
        if (row < 0) {
          return absl::NotFoundError(
              absl::StrCat("no database image with id ", target.neighbor_id, " in bundle ",
                           bundle_->version()));
        }
        neighbor.row = row;
        neighbor.id = meta.id(row);
        neighbor.lat = meta.lat(row);
        neighbor.lon = meta.lon(row);
        neighbor.source = std::string(meta.source(row));
        if (meta.has_group(row)) neighbor.group = std::string(meta.group(row));
        neighbor.score = std::numeric_limits<float>::quiet_NaN();
      }
      rows.push_back(neighbor.row);
      result.description = absl::StrFormat("neighbour %d (%s) at %.5f,%.5f", neighbor.id,
                                           neighbor.source, neighbor.lat, neighbor.lon);
      result.neighbor = std::move(neighbor);
      break;
    }
    case ExplainTarget::Kind::kCell: {
      GEOLOC_ASSIGN_OR_RETURN(cells::CellId cell, cells::CellFromToken(target.cell_token));
      if (classifier_ != nullptr && classifier_->cells().NodeIndex(cell) >= 0) {
        return ExplainClassifierCell(cell, image, bgr, params, render_overlay, start,
                                     std::move(result));
      }
      double mass = 0;
      for (size_t i = 0; i < located.neighbors.size(); ++i) {
        const auto& n = located.neighbors[i];
        const cells::CellId leaf = cells::CellIdAt(geo::LatLon{n.lat, n.lon}, cells::kMaxCellLevel);
        if (cells::CellContains(cell, leaf)) {
          rows.push_back(n.row);
          mass += located.weights[i];
        }
      }
      if (rows.empty()) {
        return absl::NotFoundError(absl::StrCat(
            "none of the ", located.neighbors.size(), " retrieved neighbours lies in cell ",
            target.cell_token,
            classifier_ == nullptr ? "" : ", and it is not one of the classifier's cells"));
      }
      result.cell = DescribeCell(cell, mass, params.cell_polygons, params.polygon_points_per_edge);
      result.description = absl::StrFormat("cell %s (level %d, %d neighbours, weight share %.2f)",
                                           result.cell->token, result.cell->level, rows.size(),
                                           mass);
      break;
    }
  }

  GEOLOC_ASSIGN_OR_RETURN(std::vector<float> targets, RowDescriptors(rows));
  const model::GradCamTarget cam_target =
      rows.size() == 1 ? model::GradCamTarget::Similarity(std::move(targets))
                       : model::GradCamTarget::MeanSimilarity(std::move(targets));
  GEOLOC_RETURN_IF_ERROR(RunGradCam(image, bgr, cam_target, render_overlay, &result));
  result.explain_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  return result;
}

absl::StatusOr<ExplainResult> Locator::ExplainClassifierCell(
    cells::CellId cell, const std::vector<float>& image, const cv::Mat& bgr,
    const LocateParams& params, bool render_overlay, absl::Time start,
    ExplainResult result) const {
  GEOLOC_ASSIGN_OR_RETURN(std::vector<int> leaves, classifier_->LeafClassesOf(cell));
  GEOLOC_RETURN_IF_ERROR(RunGradCam(
      image, bgr, model::GradCamTarget::HeadOutputSum(classifier_->head(), leaves),
      render_overlay, &result));
  // The score is the cell's probability for the unmodified image (the head's outputs summed).
  result.cell = DescribeCell(cell, result.score, params.cell_polygons,
                             params.polygon_points_per_edge);
  result.description =
      absl::StrFormat("classifier cell %s (level %d, %d leaf cell(s), classifier output %.3f)",
                      result.cell->token, result.cell->level, leaves.size(), result.score);
  result.explain_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  return result;
}

absl::Status Locator::RunGradCam(const std::vector<float>& image, const cv::Mat& bgr,
                                 const model::GradCamTarget& target, bool render_overlay,
                                 ExplainResult* result) const {
  const model::ModelInfo& info = encoder_->info();
  GEOLOC_ASSIGN_OR_RETURN(model::GradCamResult cam,
                          grad_cam_->Compute(image.data(), target,
                                             cv::Size(info.input_width, info.input_height)));
  result->score = cam.score;
  result->saliency = cam.map;
  if (render_overlay) {
    GEOLOC_ASSIGN_OR_RETURN(result->overlay_png,
                            model::RenderOverlayPng(ModelView(bgr, info), cam.map));
  }
  return absl::OkStatus();
}

}  // namespace geoloc::engine
