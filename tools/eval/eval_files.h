// geoloc-eval's files (tools/eval/eval.proto): the stored retrieval of a query set (binary
// protobuf) and the rows of the JSON reports.
//
//   GEOLOC_RETURN_IF_ERROR(SaveRetrieval(run, "val.retrieval"));
//   GEOLOC_ASSIGN_OR_RETURN(RetrievalRun again, LoadRetrieval("val.retrieval"));
//   files::EstimatorRow row = ToRow(Evaluate(again, 60, options, thresholds), "");
//
// A stored retrieval holds everything Evaluate, Tune and the classifier rows need: the truth,
// localizable flag and place of every query, its neighbours (id, score, coordinates), its
// descriptor (for other classifier heads) and the bundle head's probabilities. Files are written
// atomically. Pure functions; thread-safe.
#ifndef GEOLOC_TOOLS_EVAL_EVAL_FILES_H_
#define GEOLOC_TOOLS_EVAL_EVAL_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/eval/eval.pb.h"
#include "tools/eval/evaluation.h"

namespace geoloc::eval {

inline constexpr int kStoredRunFormatVersion = 1;

absl::Status SaveRetrieval(const RetrievalRun& run, const std::string& path);
// INVALID_ARGUMENT for a file that is not a stored retrieval (naming the path), FAILED_PRECONDITION
// for a newer format version; the file system's errors otherwise.
absl::StatusOr<RetrievalRun> LoadRetrieval(const std::string& path);

files::StoredRun ToStoredRun(const RetrievalRun& run);
absl::StatusOr<RetrievalRun> FromStoredRun(const files::StoredRun& stored);

// `tuned_for`: "" or the threshold name the configuration was tuned for.
files::EstimatorRow ToRow(const EstimatorReport& report, const std::string& tuned_for);

}  // namespace geoloc::eval

#endif  // GEOLOC_TOOLS_EVAL_EVAL_FILES_H_
