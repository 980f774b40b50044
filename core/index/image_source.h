// The inputs of `geoloc-index build`: lists of geotagged images (or precomputed descriptors) from
// the dataset formats users have.
//
//   GEOLOC_ASSIGN_OR_RETURN(SourceList list, ReadCsvSource("world/world.csv", ""));
//   GEOLOC_ASSIGN_OR_RETURN(SourceList vpr, ScanVprFolder("/data/sf_xs/database"));
//   GEOLOC_ASSIGN_OR_RETURN(SourceList exif, ScanExifFolder("/data/photos", /*threads=*/4));
//
// Formats (docs/INDEX.md has examples):
//   CSV     header required; columns (case-insensitive, any order, extra columns ignored):
//             path (or file, image)          required; relative paths are resolved against
//                                            `image_root` (default: the CSV's directory)
//             lat (or latitude)              required, degrees
//             lon (or lng, longitude)        required, degrees
//             id                             optional int64; default: the 0-based data row
//             group (or place, author)       optional; the first of these columns present
//           A row with a bad coordinate or id fails the whole read (INVALID_ARGUMENT naming the
//           line): a broken list is better fixed than half-indexed.
//   VPR     every image file under the folder (recursively, sorted by relative path) named
//           @utm_e@utm_n@zone@letter@lat@lon@...@.jpg; ids are the 0-based position in that order;
//           names that do not parse are skipped and counted.
//   EXIF    every JPEG under the folder (recursively, sorted); position from the EXIF GPS tags
//           (exif_gps.h); ids as for VPR; photos without GPS or with unreadable EXIF are skipped
//           and counted separately.
// `source` (recorded in the bundle's metadata) is the path as written in the CSV, or the path
// relative to the scanned folder.
//
// Plain value types and stateless functions: safe from any thread.
#ifndef GEOLOC_CORE_INDEX_IMAGE_SOURCE_H_
#define GEOLOC_CORE_INDEX_IMAGE_SOURCE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/index/metadata.h"

namespace geoloc::index {

struct SourceEntry {
  std::string path;  // where to read the image (absolute or relative to the working directory)
  MetadataRow meta;  // id, lat, lon, source, group
};

struct SourceList {
  std::vector<SourceEntry> entries;
  std::string description;  // e.g. "csv:/data/world.csv", recorded in the manifest
  int64_t seen = 0;         // candidates looked at (rows or files)
  int64_t skipped = 0;      // candidates dropped (see skip_reasons)
  // Counts per reason, e.g. {"no GPS", 12}, {"unparsable name", 3}, in a stable order.
  std::vector<std::pair<std::string, int64_t>> skip_reasons;
};

// File name extensions (lower case, with the dot) the folder scans treat as images.
bool IsImageFileName(const std::string& name);

absl::StatusOr<SourceList> ReadCsvSource(const std::string& csv_path,
                                         const std::string& image_root);
absl::StatusOr<SourceList> ScanVprFolder(const std::string& folder);
// threads: readers of the EXIF headers in parallel (0: hardware concurrency).
absl::StatusOr<SourceList> ScanExifFolder(const std::string& folder, int threads);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_IMAGE_SOURCE_H_
