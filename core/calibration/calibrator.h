// Applies one calibration entry to one answer: confidence regions at the asked levels, calibrated
// P(within t km of the best estimate), and a calibrated P(localizable). This is the per-answer step
// the engine runs after estimating (docs/CALIBRATION.md).
//
//   GEOLOC_ASSIGN_OR_RETURN(Calibrator calibrator, Calibrator::Create(entry));
//   GEOLOC_RETURN_IF_ERROR(CheckSettings(entry.settings(), answer_settings));  // record.h
//   GEOLOC_ASSIGN_OR_RETURN(CalibratedAnswer c, calibrator.Apply(evidence));
//   for (const ConfidenceRegion& r : c.regions) { r.level; r.area_km2; r.pieces; }
//
// Per answer: build the predictive density (the answer's neighbours at the calibrated bandwidths
// and mixture weights), then
//   localizable raw = logistic(AnswerFeatures); P = isotonic(raw)
//   regions     the answer's score group is the one whose range holds raw (group-conditional
//               conformal prediction: coverage holds within every group, so confident answers get
//               their own, smaller regions); level a -> q_a = the conformal quantile of the group's
//               calibration scores (conformal.h); region = {x : f(x) >= exp(-q_a)} as S2 cells,
//               area and outline pieces (superlevel_set.h, cells/cell_union_outline.h). Infinite
//               q_a (too few calibration photos in the group for that level): the whole sphere,
//               whole_sphere = true.
//   within      raw = f's mass within t km of the best estimate; P = isotonic_t(raw)
// Probabilities are clamped to [1/(n+1), n/(n+1)] with n the calibration photos they were fitted
// on: no finite calibration set supports certainty, so none is reported.
//
// Lifetime and threading: Create copies what it needs from the entry; a Calibrator is immutable,
// so one instance (held by a serving snapshot) serves any number of threads at once. The spans in
// AnswerEvidence must outlive the Apply call only.
#ifndef GEOLOC_CORE_CALIBRATION_CALIBRATOR_H_
#define GEOLOC_CORE_CALIBRATION_CALIBRATOR_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/calibration/answer.h"
#include "core/calibration/answer_features.h"
#include "core/calibration/calibration.pb.h"
#include "core/calibration/isotonic.h"
#include "core/calibration/logistic.h"
#include "core/calibration/predictive_density.h"
#include "core/calibration/superlevel_set.h"
#include "core/cells/cell_union_outline.h"

namespace geoloc::calibration {

// The nominal levels regions are drawn at unless asked otherwise.
inline constexpr double kDefaultLevels[] = {0.50, 0.68, 0.90, 0.95};
// The distances P(within t km) is given for: the im2gps scales.
inline constexpr double kDefaultThresholdsKm[] = {1, 25, 200, 750, 2500};

struct ConfidenceRegion {
  // Nominal level a, and the coverage the conformal guarantee gives within the answer's score
  // group: k / (n + 1) >= a with n the group's calibration photos (1 for the whole sphere).
  double level = 0;
  double guaranteed_coverage = 0;
  // The score quantile q_a (-log density; +infinity: whole sphere) and the density on the region's
  // boundary, exp(-q_a) per km^2 (0 for the whole sphere).
  double score_quantile = 0;
  double density_threshold = 0;
  bool whole_sphere = false;
  // Total area (km^2) of the cells, and of those along the boundary settled by their centres: the
  // outline's uncertainty (superlevel_set.h).
  double area_km2 = 0;
  double boundary_area_km2 = 0;
  // The region as a normalised cell union, and its edge-connected pieces (largest first) with
  // outline rings, when asked for (ApplyOptions).
  std::vector<cells::CellId> cells;
  std::vector<cells::CellUnionPiece> pieces;
};

struct WithinProbability {
  double threshold_km = 0;
  double probability = 0;  // calibrated
  double raw_mass = 0;     // the predictive density's mass within threshold_km (not calibrated)
};

struct CalibratedAnswer {
  // True for every answer Apply produces; an engine without a calibration answers false.
  bool calibrated = false;
  std::vector<ConfidenceRegion> regions;  // in the order of ApplyOptions::levels
  std::vector<WithinProbability> within;  // in the order of the calibration's thresholds
  double p_localizable = 0;
  FeatureVector features{};
  // The logistic model's output before calibration, and the score group it selects.
  double raw_localizability = 0;
  int score_group = 0;
  // Region extraction's work for this answer (all levels together), and whether a level's
  // traversal hit its cell budget.
  int64_t cells_evaluated = 0;
  bool regions_capped = false;
};

struct ApplyOptions {
  std::vector<double> levels = {std::begin(kDefaultLevels), std::end(kDefaultLevels)};
  // Split every region into its pieces, and trace their outline rings (outlines imply pieces).
  // Cells and areas are always computed; pieces cost about 0.4 us per cell, rings little more.
  bool pieces = true;
  bool outlines = true;
  SuperlevelOptions region;
};

// The predictive density of an answer under mixture weights m for these settings: the answer's
// KDE at settings.bandwidth_km, the same neighbours at m.broad_bandwidth_km, the classifier's cells
// (when m.classifier > 0: the evidence must have them, else FailedPrecondition), and the floor.
absl::StatusOr<PredictiveDensity> BuildPredictiveDensity(const EstimatorSettings& settings,
                                                         const proto::MixtureWeights& m,
                                                         const AnswerEvidence& evidence);

class Calibrator {
 public:
  // InvalidArgument naming the first inconsistency of the entry (see record.h ValidateEntry for
  // the list).
  static absl::StatusOr<Calibrator> Create(const proto::CalibrationEntry& entry);

  // InvalidArgument for bad evidence or options (levels outside (0, 1)); FailedPrecondition when
  // the calibration has a classifier term and the answer has no classifier cells.
  absl::StatusOr<CalibratedAnswer> Apply(const AnswerEvidence& evidence,
                                         const ApplyOptions& options = {}) const;

  // The answer's predictive density under this calibration (for scoring and evaluation).
  absl::StatusOr<PredictiveDensity> Density(const AnswerEvidence& evidence) const;

  // The score group of a raw localizability (the logistic output), in [0, num_score_groups()).
  int ScoreGroupOf(double raw_localizability) const;
  int num_score_groups() const { return static_cast<int>(group_scores_.size()); }
  // A group's score quantile for a level (+infinity when the group has too few calibration photos
  // for it), and the coverage the guarantee gives there.
  double Quantile(double level, int group) const;
  double GuaranteedCoverage(double level, int group) const;

  const EstimatorSettings& settings() const { return settings_; }
  const proto::CalibrationEntry& entry() const { return entry_; }

 private:
  Calibrator() = default;

  proto::CalibrationEntry entry_;
  EstimatorSettings settings_;
  std::vector<double> group_from_;                 // each group's lower limit
  std::vector<std::vector<double>> group_scores_;  // each sorted
  std::vector<double> thresholds_km_;
  std::vector<IsotonicFunction> within_;
  LogisticModel logistic_;
  std::optional<IsotonicFunction> localizable_;  // always set by Create
  double within_floor_ = 0;                      // clamp of P(within), 1 / (n + 1)
  double localizable_floor_ = 0;                 // clamp of P(localizable)
};

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_CALIBRATOR_H_
