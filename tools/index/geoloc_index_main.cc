// geoloc-index: builds, inspects and verifies index bundles (docs/INDEX.md).
//
//   geoloc-index build --output=bundles/world --model=models/demo.pt --csv=world/world.csv
//       [--thumbnails [--thumbnail_size=160]]
//   geoloc-index build --output=bundles/sf --model=m.pt --vpr_dir=/data/sf_xs/database
//       --index=ivf_pq --shards=4
//   geoloc-index build --output=bundles/bulk --model_info=geoloc.json --npy=desc.npy
//       --npy_csv=desc.csv --index=hnsw
//   geoloc-index info bundles/world [--json]
//   geoloc-index verify bundles/world [--model=models/demo.pt]
//   geoloc-index add-extra bundles/world --name=cells --file=cells.json
//
// Exit status: 0 success; 1 the command failed (bad input data, I/O, a verification mismatch);
// 2 usage error (unknown command, missing or conflicting flags).
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/common/file_util.h"
#include "core/common/json_proto.h"
#include "core/common/command_line.h"
#include "core/common/logging.h"
#include "core/common/status_macros.h"
#include "core/index/bundle.h"
#include "core/index/bundle_files.h"
#include "core/index/bundle_writer.h"
#include "core/index/image_builder.h"
#include "core/index/image_source.h"
#include "core/index/index_spec.h"
#include "core/index/npy.h"
#include "core/index/thumbnails.h"
#include "core/model/encoder.h"
#include "core/model/model_info.h"

// Inputs.
ABSL_FLAG(std::string, output, "", "build: the bundle directory to create");
ABSL_FLAG(std::string, csv, "", "build: CSV of path,lat,lon[,id,group|place] (header required)");
ABSL_FLAG(std::string, image_root, "",
          "build --csv: directory relative image paths are resolved against (default: the CSV's)");
ABSL_FLAG(std::string, vpr_dir, "",
          "build: folder of images named @utm_e@utm_n@zone@letter@lat@lon@...@.jpg");
ABSL_FLAG(std::string, exif_dir, "", "build: folder of JPEG photos with EXIF GPS tags");
ABSL_FLAG(std::string, npy, "", "build: precomputed float32 [N, D] descriptors (.npy)");
ABSL_FLAG(std::string, npy_csv, "",
          "build --npy: CSV with one row per descriptor (path,lat,lon[,id,group])");
ABSL_FLAG(std::string, model, "", "build/verify: the model archive (TorchScript, docs/MODEL.md)");
ABSL_FLAG(std::string, model_info, "",
          "build --npy / verify: the model's geoloc.json instead of the archive");
// Bundle layout.
ABSL_FLAG(std::string, name, "", "build: bundle name (default: the output's base name)");
ABSL_FLAG(std::string, index, "flat", "build: flat, ivf_flat, ivf_pq or hnsw");
ABSL_FLAG(std::string, flat_store, "fp32",
          "build: flat vector store: fp32, or sq8 (an 8-bit copy scanned first, exact re-ranking "
          "from the fp32 vectors: same answers, a quarter of the bytes scanned)");
ABSL_FLAG(int, shards, 1, "build: number of shards (vectors split evenly)");
ABSL_FLAG(int, nlist, 0, "build: IVF lists (0: 4 sqrt(n) rounded down to a power of 2)");
ABSL_FLAG(int, pq_m, 0, "build: IVF-PQ sub-quantizers (0: default, see docs/INDEX.md)");
ABSL_FLAG(int, pq_nbits, 0, "build: IVF-PQ bits per code (0: 8, fewer for tiny sets)");
ABSL_FLAG(std::string, refine, "none", "build: IVF-PQ re-ranking store: none, flat or sq8");
ABSL_FLAG(int, refine_k_factor, 0, "build: IVF-PQ re-ranking candidates per result (0: 4)");
ABSL_FLAG(int, hnsw_m, 0, "build: HNSW links per node (0: 32)");
ABSL_FLAG(int, hnsw_ef_construction, 0, "build: HNSW efConstruction (0: 80)");
ABSL_FLAG(int64_t, train_size, 0, "build: IVF training sample (0: default)");
ABSL_FLAG(double, target_recall, 0.95, "build: recall@10 the default nprobe/efSearch must reach");
ABSL_FLAG(bool, replace, false, "build: replace an existing bundle at --output (atomically)");
ABSL_FLAG(std::vector<std::string>, extra, {},
          "build: extra files as name=path, comma-separated (e.g. cells=cells.json)");
// Encoding.
ABSL_FLAG(int, batch_size, 32, "build: images per encoder batch");
ABSL_FLAG(bool, thumbnails, false,
          "build: store a small JPEG of every image in the bundle (the neighbours' thumbnails "
          "in answers; not with --npy)");
ABSL_FLAG(int, thumbnail_size, geoloc::index::kDefaultThumbnailMaxSide,
          "build --thumbnails: longer side of a thumbnail, pixels (16..1024)");
ABSL_FLAG(int, decode_threads, 0, "build: image decoding threads (0: all cores)");
ABSL_FLAG(int, encoder_threads, 0, "build: LibTorch intra-op threads (0: LibTorch's default)");
ABSL_FLAG(std::string, precision, "auto", "build: encoder precision: auto, fp32 or bf16");
// Other commands.
ABSL_FLAG(bool, json, false, "info: print the manifest as JSON");
ABSL_FLAG(std::string, file, "", "add-extra: the file to add");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");

namespace geoloc::index {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int Fail(const absl::Status& status) {
  std::cerr << "geoloc-index: " << status << "\n";
  return kExitFailure;
}

int Usage(const std::string& message) {
  std::cerr << "geoloc-index: " << message << "\n"
            << "run 'geoloc-index --help' for the commands and flags\n";
  return kExitUsage;
}

absl::StatusOr<model::ModelInfo> ReadModelInfoFile(const std::string& path) {
  GEOLOC_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  absl::StatusOr<model::ModelInfo> info = model::ParseModelInfoJson(text);
  if (!info.ok()) return Annotate(info.status(), path);
  return info;
}

absl::StatusOr<std::unique_ptr<model::Encoder>> LoadEncoder() {
  model::EncoderOptions options;
  GEOLOC_ASSIGN_OR_RETURN(options.precision, model::ParsePrecision(absl::GetFlag(FLAGS_precision)));
  options.intra_op_threads = absl::GetFlag(FLAGS_encoder_threads);
  return model::Encoder::Load(absl::GetFlag(FLAGS_model), options);
}

// The served model's metadata, from --model (the archive) or --model_info (geoloc.json).
absl::StatusOr<model::ModelInfo> ModelInfoFromFlags() {
  if (!absl::GetFlag(FLAGS_model_info).empty()) {
    return ReadModelInfoFile(absl::GetFlag(FLAGS_model_info));
  }
  GEOLOC_ASSIGN_OR_RETURN(std::unique_ptr<model::Encoder> encoder, LoadEncoder());
  return encoder->info();
}

absl::StatusOr<IndexSpec> IndexSpecFromFlags() {
  IndexSpec spec;
  GEOLOC_ASSIGN_OR_RETURN(spec.type, ParseIndexType(absl::GetFlag(FLAGS_index)));
  GEOLOC_ASSIGN_OR_RETURN(spec.refine, ParseRefineType(absl::GetFlag(FLAGS_refine)));
  GEOLOC_ASSIGN_OR_RETURN(spec.flat_store, ParseFlatStore(absl::GetFlag(FLAGS_flat_store)));
  if (spec.flat_store != FlatStore::kFp32 && spec.type != IndexType::kFlat) {
    return absl::InvalidArgumentError("--flat_store applies to --index=flat only");
  }
  spec.nlist = absl::GetFlag(FLAGS_nlist);
  spec.pq_m = absl::GetFlag(FLAGS_pq_m);
  spec.pq_nbits = absl::GetFlag(FLAGS_pq_nbits);
  spec.refine_k_factor = absl::GetFlag(FLAGS_refine_k_factor);
  spec.hnsw_m = absl::GetFlag(FLAGS_hnsw_m);
  spec.hnsw_ef_construction = absl::GetFlag(FLAGS_hnsw_ef_construction);
  spec.train_size = absl::GetFlag(FLAGS_train_size);
  return spec;
}

absl::StatusOr<std::vector<ExtraFile>> ExtrasFromFlags() {
  std::vector<ExtraFile> out;
  for (const std::string& item : absl::GetFlag(FLAGS_extra)) {
    std::vector<std::string> parts = absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--extra wants name=path items, got '", item, "'"));
    }
    out.push_back({parts[0], parts[1]});
  }
  return out;
}

void PrintSummary(const BundleManifest& m) {
  const IndexParams& p = m.index();
  std::printf("bundle     %s\n", m.version().c_str());
  std::printf("created    %s\n", m.created_at().c_str());
  std::printf("model      %s (%s, dim %d, metric %s, fingerprint %s)\n", m.model().name().c_str(),
              m.model().backbone().c_str(), m.model().dim(), m.model().metric().c_str(),
              m.model().fingerprint().c_str());
  std::string params;
  if (p.type() == "ivf_flat" || p.type() == "ivf_pq") {
    absl::StrAppend(&params, "nlist ", p.nlist(), ", default nprobe ", p.default_nprobe());
  }
  if (p.type() == "ivf_pq") {
    absl::StrAppend(&params, ", pq ", p.pq_m(), "x", p.pq_nbits(), " bits, refine ", p.refine());
  }
  if (!p.flat_store().empty()) absl::StrAppend(&params, "store ", p.flat_store());
  if (p.type() == "hnsw") {
    absl::StrAppend(&params, "M ", p.hnsw_m(), ", efConstruction ", p.hnsw_ef_construction(),
                    ", default efSearch ", p.default_ef_search());
  }
  std::printf("index      %s%s%s\n", p.type().c_str(), params.empty() ? "" : ": ", params.c_str());
  std::printf("tuning     recall@%d %.4f on %d database queries (target %.2f)\n", p.tuning().k(),
              p.tuning().achieved_recall(), p.tuning().queries(), p.tuning().target_recall());
  std::printf("vectors    %lld in %d shard(s)\n", static_cast<long long>(m.total_count()),
              m.shards_size());
  for (const ShardEntry& s : m.shards()) {
    std::printf("  %-28s %10lld vectors %14lld bytes  sha256 %s\n", s.file().c_str(),
                static_cast<long long>(s.count()), static_cast<long long>(s.size_bytes()),
                s.sha256().c_str());
  }
  std::printf("metadata   %s %lld bytes  sha256 %s\n", m.metadata().file().c_str(),
              static_cast<long long>(m.metadata().size_bytes()), m.metadata().sha256().c_str());
  std::printf("bounds     lat [%.6f, %.6f], lon [%.6f, %.6f]\n", m.bounds().min_lat(),
              m.bounds().max_lat(), m.bounds().min_lon(), m.bounds().max_lon());
  for (const ExtraEntry& e : m.extras()) {
    std::printf("extra      %s: %s %lld bytes  sha256 %s\n", e.name().c_str(), e.file().c_str(),
                static_cast<long long>(e.size_bytes()), e.sha256().c_str());
  }
  std::printf("build      %s from %s: %lld inputs, %lld skipped, %.1f s\n",
              m.build().tool().c_str(), m.build().source().c_str(),
              static_cast<long long>(m.build().inputs_seen()),
              static_cast<long long>(m.build().inputs_skipped()), m.build().seconds());
}

int Build() {
  const std::string output = absl::GetFlag(FLAGS_output);
  if (output.empty()) return Usage("build: --output is required");
  const int sources = !absl::GetFlag(FLAGS_csv).empty() + !absl::GetFlag(FLAGS_vpr_dir).empty() +
                      !absl::GetFlag(FLAGS_exif_dir).empty() + !absl::GetFlag(FLAGS_npy).empty();
  if (sources != 1) {
    return Usage("build: give exactly one of --csv, --vpr_dir, --exif_dir or --npy");
  }
  const bool npy = !absl::GetFlag(FLAGS_npy).empty();
  if (npy && absl::GetFlag(FLAGS_npy_csv).empty()) {
    return Usage("build --npy: --npy_csv (one metadata row per descriptor) is required");
  }
  if (absl::GetFlag(FLAGS_model).empty() == absl::GetFlag(FLAGS_model_info).empty()) {
    return Usage("build: give exactly one of --model or --model_info");
  }
  if (!npy && absl::GetFlag(FLAGS_model).empty()) {
    return Usage("build: encoding images needs the model archive (--model)");
  }
  if (absl::GetFlag(FLAGS_thumbnails)) {
    if (npy) return Usage("build --thumbnails: needs the images (not --npy)");
    if (absl::Status s = CheckThumbnailMaxSide(absl::GetFlag(FLAGS_thumbnail_size)); !s.ok()) {
      return Usage(absl::StrCat("build --thumbnail_size: ", s.message()));
    }
  }
  absl::StatusOr<IndexSpec> spec = IndexSpecFromFlags();
  if (!spec.ok()) return Usage(std::string(spec.status().message()));
  absl::StatusOr<std::vector<ExtraFile>> extras = ExtrasFromFlags();
  if (!extras.ok()) return Usage(std::string(extras.status().message()));

  for (const std::string& stale : FindStaleStagingDirectories(output)) {
    GEOLOC_LOG(WARNING) << "found " << stale
                        << " from an interrupted build; it is ignored and safe to delete when no "
                           "other build of this bundle is running";
  }
  BundleWriteOptions options;
  options.output = output;
  options.name = absl::GetFlag(FLAGS_name);
  options.index = *spec;
  options.shards = absl::GetFlag(FLAGS_shards);
  options.replace_existing = absl::GetFlag(FLAGS_replace);
  options.target_recall = absl::GetFlag(FLAGS_target_recall);
  options.extras = *extras;

  absl::StatusOr<BundleManifest> manifest;
  if (npy) {
    absl::StatusOr<model::ModelInfo> info = ModelInfoFromFlags();
    if (!info.ok()) return Fail(info.status());
    absl::StatusOr<NpyMatrix> matrix = NpyMatrix::Open(absl::GetFlag(FLAGS_npy));
    if (!matrix.ok()) return Fail(matrix.status());
    absl::StatusOr<SourceList> list = ReadCsvSource(absl::GetFlag(FLAGS_npy_csv), "");
    if (!list.ok()) return Fail(list.status());
    if (matrix->cols() != info->dim) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat(absl::GetFlag(FLAGS_npy), " has ", matrix->cols(),
                       "-dimensional descriptors, model ", info->name, " produces ", info->dim)));
    }
    if (matrix->rows() != static_cast<int64_t>(list->entries.size())) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat(absl::GetFlag(FLAGS_npy), " has ", matrix->rows(), " rows, ",
                       absl::GetFlag(FLAGS_npy_csv), " has ", list->entries.size())));
    }
    std::vector<MetadataRow> rows;
    rows.reserve(list->entries.size());
    for (SourceEntry& e : list->entries) rows.push_back(std::move(e.meta));
    options.source = absl::StrCat("npy:", absl::GetFlag(FLAGS_npy));
    options.inputs_seen = matrix->rows();
    manifest = WriteBundle(matrix->data(), matrix->rows(), *info, rows, options);
  } else {
    absl::StatusOr<SourceList> list;
    if (!absl::GetFlag(FLAGS_csv).empty()) {
      list = ReadCsvSource(absl::GetFlag(FLAGS_csv), absl::GetFlag(FLAGS_image_root));
    } else if (!absl::GetFlag(FLAGS_vpr_dir).empty()) {
      list = ScanVprFolder(absl::GetFlag(FLAGS_vpr_dir));
    } else {
      list = ScanExifFolder(absl::GetFlag(FLAGS_exif_dir), absl::GetFlag(FLAGS_decode_threads));
    }
    if (!list.ok()) return Fail(list.status());
    GEOLOC_LOG(INFO) << list->description << ": " << list->entries.size() << " images of "
                     << list->seen << " candidates";
    for (const auto& [reason, count] : list->skip_reasons) {
      GEOLOC_LOG(WARNING) << "skipped " << count << " candidates: " << reason;
    }
    if (list->entries.empty()) {
      return Fail(
          absl::InvalidArgumentError(absl::StrCat(list->description, ": no usable images")));
    }
    absl::StatusOr<std::unique_ptr<model::Encoder>> encoder = LoadEncoder();
    if (!encoder.ok()) return Fail(encoder.status());
    GEOLOC_LOG(INFO) << "encoder " << (*encoder)->info().name << " on " << (*encoder)->device()
                     << " (" << model::PrecisionName((*encoder)->precision()) << ")";
    ImageEncodeOptions encode;
    encode.batch_size = absl::GetFlag(FLAGS_batch_size);
    encode.decode_threads = absl::GetFlag(FLAGS_decode_threads);
    if (absl::GetFlag(FLAGS_thumbnails)) {
      encode.thumbnail_max_side = absl::GetFlag(FLAGS_thumbnail_size);
    }
    manifest = BuildBundleFromImages(**encoder, *list, encode, options);
  }
  if (!manifest.ok()) return Fail(manifest.status());
  std::printf("wrote %s to %s\n", manifest->version().c_str(), output.c_str());
  PrintSummary(*manifest);
  return 0;
}

int Info(const std::string& bundle) {
  absl::StatusOr<BundleManifest> manifest = ReadManifest(bundle);
  if (!manifest.ok()) return Fail(manifest.status());
  if (absl::GetFlag(FLAGS_json)) {
    absl::StatusOr<std::string> json = ToJsonString(*manifest);
    if (!json.ok()) return Fail(json.status());
    std::printf("%s\n", json->c_str());
  } else {
    PrintSummary(*manifest);
  }
  return 0;
}

int Verify(const std::string& bundle) {
  absl::StatusOr<BundleManifest> manifest = ReadManifest(bundle);
  if (!manifest.ok()) return Fail(manifest.status());
  std::printf("manifest   ok (%s)\n", manifest->version().c_str());
  int failures = 0;
  for (const FileCheckResult& r : CheckBundleFiles(bundle, *manifest, FileHashing::kAll)) {
    std::printf("%-40s %s\n", r.file.c_str(), r.status.ok() ? "ok" : r.status.ToString().c_str());
    if (!r.status.ok()) ++failures;
  }
  absl::StatusOr<model::ModelInfo> model;
  const bool check_model =
      !absl::GetFlag(FLAGS_model).empty() || !absl::GetFlag(FLAGS_model_info).empty();
  if (check_model) {
    model = ModelInfoFromFlags();
    if (!model.ok()) return Fail(model.status());
  }
  if (failures == 0) {
    // Everything else: Faiss shards (type, dimension, metric, counts), metadata, bounds, model.
    BundleLoadOptions options;
    options.verify_checksums = false;  // just done, file by file
    options.expected_model = check_model ? &*model : nullptr;
    absl::StatusOr<std::shared_ptr<const Bundle>> loaded = Bundle::Load(bundle, options);
    if (!loaded.ok()) {
      std::printf("load       %s\n", loaded.status().ToString().c_str());
      ++failures;
    } else {
      std::printf("load       ok: %lld vectors, %d shard(s), dimensions and counts match%s\n",
                  static_cast<long long>((*loaded)->size()), (*loaded)->num_shards(),
                  check_model ? ", model matches" : "");
    }
  }
  if (failures > 0) {
    std::fprintf(stderr, "geoloc-index: verify: %s FAILED (%d problem%s)\n", bundle.c_str(),
                 failures, failures == 1 ? "" : "s");
    return kExitFailure;
  }
  std::printf("verify     %s ok\n", bundle.c_str());
  return 0;
}

int AddExtra(const std::string& bundle) {
  if (absl::GetFlag(FLAGS_name).empty() || absl::GetFlag(FLAGS_file).empty()) {
    return Usage("add-extra: --name and --file are required");
  }
  absl::StatusOr<BundleManifest> manifest =
      AddBundleExtra(bundle, {absl::GetFlag(FLAGS_name), absl::GetFlag(FLAGS_file)});
  if (!manifest.ok()) return Fail(manifest.status());
  std::printf("added %s to %s: now %s\n", absl::GetFlag(FLAGS_name).c_str(), bundle.c_str(),
              manifest->version().c_str());
  return 0;
}

int Main(int argc, char** argv) {
  std::vector<char*> args = ParseCommandLineOrExit(
      argc, argv, "geoloc-index",
      "builds, inspects and verifies geoloc index bundles (docs/INDEX.md).\n"
      "  geoloc-index build --output=DIR (--csv=F | --vpr_dir=D | --exif_dir=D | --npy=F "
      "--npy_csv=F) (--model=ARCHIVE | --model_info=geoloc.json) [--index=flat|ivf_flat|ivf_pq|"
      "hnsw] [--shards=N] [--thumbnails [--thumbnail_size=160]]\n"
      "  geoloc-index info BUNDLE [--json]\n"
      "  geoloc-index verify BUNDLE [--model=ARCHIVE | --model_info=geoloc.json]\n"
      "  geoloc-index add-extra BUNDLE --name=NAME --file=FILE");
  absl::StatusOr<LogLevel> level = ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return Usage(std::string(level.status().message()));
  SetMinLogLevel(*level);
  if (args.size() < 2) return Usage("no command (build, info, verify or add-extra)");
  const std::string command = args[1];
  const std::vector<std::string> rest(args.begin() + 2, args.end());
  if (command == "build") {
    if (!rest.empty()) return Usage("build takes no positional arguments");
    return Build();
  }
  if (command == "info" || command == "verify" || command == "add-extra") {
    if (rest.size() != 1) return Usage(absl::StrCat(command, " takes one BUNDLE directory"));
    if (command == "info") return Info(rest[0]);
    if (command == "verify") return Verify(rest[0]);
    return AddExtra(rest[0]);
  }
  return Usage(absl::StrCat("unknown command '", command, "'"));
}

}  // namespace
}  // namespace geoloc::index

int main(int argc, char** argv) { return geoloc::index::Main(argc, argv); }
