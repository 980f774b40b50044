#include "core/index/manifest.h"

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/common/json_proto.h"
#include "core/common/sha256.h"
#include "core/common/status_macros.h"
#include "core/index/index_spec.h"

namespace geoloc::index {
namespace fs = std::filesystem;
namespace {

absl::Status ManifestError(const std::string& path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("bundle ", path, ": manifest: ", what));
}

// A file name inside the bundle: relative, no "..", "." or empty components.
bool IsSafeRelativePath(absl::string_view file) {
  if (file.empty() || file[0] == '/' || absl::StrContains(file, '\\')) return false;
  for (absl::string_view part : absl::StrSplit(file, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

bool IsSha256Hex(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

bool IsSafeName(absl::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// Everything about the manifest that can be checked without reading other files.
absl::Status ValidateManifest(const std::string& path, const BundleManifest& m) {
  if (m.format_version() < 1) return ManifestError(path, "format_version missing");
  if (m.format_version() > kBundleFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "bundle ", path, ": format version ", m.format_version(),
        " is newer than this build supports (", kBundleFormatVersion, "); upgrade geoloc"));
  }
  if (!IsSafeName(m.name())) return ManifestError(path, absl::StrCat("bad name '", m.name(), "'"));
  const ModelRef& model = m.model();
  if (model.dim() < 1 || model.dim() > model::kMaxDescriptorDim) {
    return ManifestError(path, absl::StrCat("model dim ", model.dim(), " out of range"));
  }
  if (!model::ParseMetric(model.metric()).ok()) {
    return ManifestError(path, absl::StrCat("unknown metric '", model.metric(), "'"));
  }
  if (model.fingerprint().empty()) return ManifestError(path, "model fingerprint missing");
  absl::StatusOr<IndexType> type = ParseIndexType(m.index().type());
  if (!type.ok()) return ManifestError(path, type.status().message());
  absl::StatusOr<RefineType> refine = ParseRefineType(m.index().refine());
  if (!refine.ok()) return ManifestError(path, refine.status().message());
  absl::StatusOr<FlatStore> flat_store = ParseFlatStore(m.index().flat_store());
  if (!flat_store.ok()) return ManifestError(path, flat_store.status().message());
  const bool sq8 = *flat_store == FlatStore::kSq8;
  if (sq8 && *type != IndexType::kFlat) {
    return ManifestError(path, "flat_store sq8 on a bundle that is not flat");
  }
  if (IsIvf(*type)) {
    if (m.index().nlist() < 1) return ManifestError(path, "IVF bundle without nlist");
    if (m.index().default_nprobe() < 1 || m.index().default_nprobe() > m.index().nlist()) {
      return ManifestError(
          path, absl::StrCat("default_nprobe ", m.index().default_nprobe(), " outside [1, nlist]"));
    }
  }
  if (*type == IndexType::kHnsw && m.index().default_ef_search() < 1) {
    return ManifestError(path, "HNSW bundle without default_ef_search");
  }
  if (m.shards_size() < 1) return ManifestError(path, "no shards");
  int64_t rows = 0;
  absl::flat_hash_set<std::string> files;
  auto check_file = [&](const std::string& file, const std::string& sha, int64_t size,
                        absl::string_view what) -> absl::Status {
    if (!IsSafeRelativePath(file)) {
      return ManifestError(path, absl::StrCat(what, ": unsafe file name '", file, "'"));
    }
    if (!files.insert(file).second) {
      return ManifestError(path, absl::StrCat(what, ": file '", file, "' listed twice"));
    }
    if (!IsSha256Hex(sha)) return ManifestError(path, absl::StrCat(what, ": bad sha256"));
    if (size < 0) return ManifestError(path, absl::StrCat(what, ": negative size"));
    return absl::OkStatus();
  };
  for (int s = 0; s < m.shards_size(); ++s) {
    const ShardEntry& shard = m.shards(s);
    const std::string what = absl::StrCat("shard ", s);
    GEOLOC_RETURN_IF_ERROR(check_file(shard.file(), shard.sha256(), shard.size_bytes(), what));
    if (sq8) {
      GEOLOC_RETURN_IF_ERROR(check_file(shard.sq8().file(), shard.sq8().sha256(),
                                        shard.sq8().size_bytes(), absl::StrCat(what, " sq8")));
    } else if (shard.has_sq8()) {
      return ManifestError(path, absl::StrCat(what, ": an sq8 file without flat_store sq8"));
    }
    if (shard.count() < 1) return ManifestError(path, absl::StrCat(what, ": count < 1"));
    if (shard.first_row() != rows) {
      return ManifestError(path, absl::StrCat(what, ": first_row ", shard.first_row(),
                                              ", expected ", rows, " (rows are successive)"));
    }
    rows += shard.count();
  }
  if (rows != m.total_count()) {
    return ManifestError(path, absl::StrCat("total_count ", m.total_count(),
                                            " differs from the shards' sum ", rows));
  }
  GEOLOC_RETURN_IF_ERROR(check_file(m.metadata().file(), m.metadata().sha256(),
                                    m.metadata().size_bytes(), "metadata"));
  absl::flat_hash_set<std::string> extra_names;
  for (const ExtraEntry& extra : m.extras()) {
    const std::string what = absl::StrCat("extra '", extra.name(), "'");
    if (!IsSafeName(extra.name()) || !extra_names.insert(extra.name()).second) {
      return ManifestError(path, absl::StrCat(what, ": bad or duplicate name"));
    }
    GEOLOC_RETURN_IF_ERROR(check_file(extra.file(), extra.sha256(), extra.size_bytes(), what));
  }
  const std::string digest = ComputeContentDigest(m);
  if (m.content_digest() != digest || m.version() != VersionString(m.name(), digest)) {
    return ManifestError(path, absl::StrCat("content_digest/version do not match the manifest's "
                                            "contents (expected ",
                                            VersionString(m.name(), digest),
                                            "): the manifest was edited or is corrupt"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ComputeContentDigest(const BundleManifest& m) {
  const IndexParams& p = m.index();
  std::string text = absl::StrCat(
      "geoloc-bundle ", m.format_version(), "\n", "model ", m.model().name(), " ",
      m.model().fingerprint(), " ", m.model().dim(), " ", m.model().metric(), "\n", "index ",
      p.type(), " nlist=", p.nlist(), " pq_m=", p.pq_m(), " pq_nbits=", p.pq_nbits(),
      " refine=", p.refine(), " k_factor=", p.refine_k_factor(), " hnsw_m=", p.hnsw_m(),
      " efc=", p.hnsw_ef_construction(), " nprobe=", p.default_nprobe(),
      " ef=", p.default_ef_search(), "\n");
  // Added fields enter the digest only when set, so older bundles keep their versions.
  if (!p.flat_store().empty()) absl::StrAppend(&text, "flat_store ", p.flat_store(), "\n");
  for (const ShardEntry& s : m.shards()) {
    absl::StrAppend(&text, "shard ", s.file(), " ", s.count(), " ", s.sha256(), "\n");
    if (s.has_sq8()) absl::StrAppend(&text, "sq8 ", s.sq8().file(), " ", s.sq8().sha256(), "\n");
  }
  absl::StrAppend(&text, "metadata ", m.metadata().file(), " ", m.metadata().sha256(), "\n");
  for (const ExtraEntry& e : m.extras()) {
    absl::StrAppend(&text, "extra ", e.name(), " ", e.file(), " ", e.sha256(), "\n");
  }
  return Sha256Hex(text);
}

std::string VersionString(const std::string& name, const std::string& digest) {
  return absl::StrCat(name, "-", digest.substr(0, 12));
}

absl::Status CheckModelMatches(const BundleManifest& manifest, const model::ModelInfo& model) {
  const ModelRef& b = manifest.model();
  std::vector<std::string> diffs;
  if (b.dim() != model.dim) {
    diffs.push_back(absl::StrCat("dimension: bundle ", b.dim(), ", served model ", model.dim));
  }
  if (b.metric() != model::MetricName(model.metric)) {
    diffs.push_back(absl::StrCat("metric: bundle ", b.metric(), ", served model ",
                                 model::MetricName(model.metric)));
  }
  if (b.fingerprint() != model.fingerprint) {
    diffs.push_back(absl::StrCat("fingerprint: bundle ", b.fingerprint(), " (model '", b.name(),
                                 "'), served model ", model.fingerprint, " ('", model.name, "')"));
  }
  if (diffs.empty()) return absl::OkStatus();
  // The one mismatch an operator makes on purpose: an int8 model in front of the bundle of the
  // fp32 model it was quantized from. Say what to do (docs/MODEL.md "int8 in service").
  const std::string hint =
      !model.fp32_fingerprint.empty() && b.fingerprint() == model.fp32_fingerprint
          ? absl::StrCat(". The bundle was built with this int8 model's fp32 original: an int8 "
                         "model serves only a bundle built with the int8 model itself (geoloc-index "
                         "build --model=<the int8 archive>), after geoloc-eval quant-check has "
                         "accepted it")
          : std::string();
  return absl::FailedPreconditionError(
      absl::StrCat("bundle ", manifest.version(), " was built with a different model: ",
                   absl::StrJoin(diffs, "; "), hint));
}

absl::StatusOr<BundleManifest> ReadManifest(const std::string& bundle_path) {
  std::error_code ec;
  if (!fs::is_directory(bundle_path, ec)) {
    return absl::NotFoundError(absl::StrCat("bundle ", bundle_path, " does not exist"));
  }
  // A build's staging directory (".<name>.staging-XXXX") may already hold every file, but it is
  // a bundle only once the build renames it: never serve one a killed build left behind.
  fs::path normal = fs::path(bundle_path).lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();
  const std::string base = normal.filename().string();
  if (absl::StartsWith(base, ".") && absl::StrContains(base, ".staging-")) {
    return absl::FailedPreconditionError(
        absl::StrCat(bundle_path,
                     " is the staging directory of an unfinished (or killed) build, not a "
                     "bundle; rerun the build or delete it"));
  }
  const std::string manifest_path = (fs::path(bundle_path) / kManifestFileName).string();
  if (!fs::exists(manifest_path, ec)) {
    return absl::NotFoundError(absl::StrCat("bundle ", bundle_path, " has no ", kManifestFileName,
                                            " (not a bundle, or an unfinished build)"));
  }
  BundleManifest m;
  GEOLOC_RETURN_IF_ERROR(ReadJsonProtoFile(manifest_path, &m));
  GEOLOC_RETURN_IF_ERROR(ValidateManifest(bundle_path, m));
  return m;
}

}  // namespace geoloc::index
