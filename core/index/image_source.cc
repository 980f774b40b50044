#include "core/index/image_source.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/common/file_util.h"
#include "core/common/logging.h"
#include "core/common/status_macros.h"
#include "core/common/thread_pool.h"
#include "core/geo/lat_lon.h"
#include "core/index/csv.h"
#include "core/index/exif_gps.h"
#include "core/index/vpr_filename.h"

namespace geoloc::index {
namespace fs = std::filesystem;
namespace {

// Every regular file under `folder` whose name passes `keep`, as paths relative to `folder`,
// sorted so that ids do not depend on the file system's listing order.
absl::StatusOr<std::vector<std::string>> ListFiles(const std::string& folder,
                                                   bool (*keep)(const std::string&)) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    return absl::NotFoundError(absl::StrCat(folder, " is not a directory"));
  }
  std::vector<std::string> out;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot list ", folder, ": ", ec.message()));
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return absl::InternalError(absl::StrCat("cannot list ", folder, ": ", ec.message()));
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    if (keep(name)) out.push_back(fs::relative(it->path(), folder, ec).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string LowerExtension(const std::string& name) {
  const size_t dot = name.find_last_of('.');
  if (dot == std::string::npos) return "";
  return absl::AsciiStrToLower(name.substr(dot));
}

bool IsJpegFileName(const std::string& name) {
  const std::string ext = LowerExtension(name);
  return ext == ".jpg" || ext == ".jpeg";
}

void AddSkipReason(SourceList* list, const std::string& reason, int64_t n) {
  if (n == 0) return;
  list->skipped += n;
  list->skip_reasons.emplace_back(reason, n);
}

absl::StatusOr<std::string> ReadPrefix(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string out(max_bytes, '\0');
  in.read(&out[0], static_cast<std::streamsize>(max_bytes));
  out.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return out;
}

}  // namespace

bool IsImageFileName(const std::string& name) {
  const std::string ext = LowerExtension(name);
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" || ext == ".bmp" ||
         ext == ".tif" || ext == ".tiff";
}

absl::StatusOr<SourceList> ReadCsvSource(const std::string& csv_path,
                                         const std::string& image_root) {
  GEOLOC_ASSIGN_OR_RETURN(std::string text, ReadFileToString(csv_path));
  absl::StatusOr<CsvTable> parsed = ParseCsv(text);
  if (!parsed.ok()) return Annotate(parsed.status(), csv_path);
  const CsvTable& table = *parsed;
  const int path_col = table.Column({"path", "file", "image"});
  const int lat_col = table.Column({"lat", "latitude"});
  const int lon_col = table.Column({"lon", "lng", "longitude"});
  const int id_col = table.Column({"id"});
  const int group_col = table.Column({"group", "place", "author"});
  if (path_col < 0 || lat_col < 0 || lon_col < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(csv_path, ": the header needs path, lat and lon columns (got: ",
                     absl::StrJoin(table.header, ","), ")"));
  }
  const fs::path root =
      image_root.empty() ? fs::path(csv_path).parent_path() : fs::path(image_root);

  SourceList list;
  list.description = absl::StrCat("csv:", csv_path);
  list.seen = static_cast<int64_t>(table.rows.size());
  list.entries.reserve(table.rows.size());
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const CsvRow& row = table.rows[i];
    auto bad = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat(csv_path, " line ", row.line, ": ", what));
    };
    SourceEntry e;
    const std::string& path = row.fields[path_col];
    if (path.empty()) return bad("empty path");
    e.path = fs::path(path).is_absolute() ? path : (root / path).string();
    e.meta.source = path;
    if (!absl::SimpleAtod(row.fields[lat_col], &e.meta.lat) ||
        !absl::SimpleAtod(row.fields[lon_col], &e.meta.lon)) {
      return bad(absl::StrCat("lat/lon are not numbers: '", row.fields[lat_col], "', '",
                              row.fields[lon_col], "'"));
    }
    absl::Status valid = geo::ValidateLatLon({e.meta.lat, e.meta.lon});
    if (!valid.ok()) return bad(valid.message());
    if (id_col >= 0) {
      if (!absl::SimpleAtoi(row.fields[id_col], &e.meta.id)) {
        return bad(absl::StrCat("id is not an integer: '", row.fields[id_col], "'"));
      }
    } else {
      e.meta.id = static_cast<int64_t>(i);
    }
    if (group_col >= 0) e.meta.group = row.fields[group_col];
    list.entries.push_back(std::move(e));
  }
  return list;
}

absl::StatusOr<SourceList> ScanVprFolder(const std::string& folder) {
  GEOLOC_ASSIGN_OR_RETURN(
      std::vector<std::string> files,
      ListFiles(folder, [](const std::string& n) { return IsImageFileName(n); }));
  SourceList list;
  list.description = absl::StrCat("vpr:", folder);
  list.seen = static_cast<int64_t>(files.size());
  int64_t unparsable = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    absl::StatusOr<geo::LatLon> p = ParseVprFilename(files[i]);
    if (!p.ok()) {
      if (unparsable++ < 3) GEOLOC_LOG(WARNING) << "skipping " << files[i] << ": " << p.status();
      continue;
    }
    SourceEntry e;
    e.path = (fs::path(folder) / files[i]).string();
    e.meta.id = static_cast<int64_t>(i);
    e.meta.lat = p->lat;
    e.meta.lon = p->lon;
    e.meta.source = files[i];
    list.entries.push_back(std::move(e));
  }
  AddSkipReason(&list, "not a VPR file name", unparsable);
  return list;
}

absl::StatusOr<SourceList> ScanExifFolder(const std::string& folder, int threads) {
  GEOLOC_ASSIGN_OR_RETURN(
      std::vector<std::string> files,
      ListFiles(folder, [](const std::string& n) { return IsJpegFileName(n); }));
  std::vector<absl::StatusOr<geo::LatLon>> positions(files.size(), absl::UnknownError("not read"));
  {
    const int n_threads = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
    ThreadPool pool(n_threads);
    ParallelFor(&pool, static_cast<int64_t>(files.size()), [&](int64_t i) {
      absl::StatusOr<std::string> head =
          ReadPrefix((fs::path(folder) / files[i]).string(), kExifPrefixBytes);
      positions[i] = head.ok() ? ReadJpegExifGps(*head) : head.status();
    });
  }
  SourceList list;
  list.description = absl::StrCat("exif:", folder);
  list.seen = static_cast<int64_t>(files.size());
  int64_t no_gps = 0, bad_exif = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    if (!positions[i].ok()) {
      if (absl::IsNotFound(positions[i].status())) {
        ++no_gps;
      } else if (bad_exif++ < 3) {
        GEOLOC_LOG(WARNING) << "skipping " << files[i] << ": " << positions[i].status();
      }
      continue;
    }
    SourceEntry e;
    e.path = (fs::path(folder) / files[i]).string();
    e.meta.id = static_cast<int64_t>(i);
    e.meta.lat = positions[i]->lat;
    e.meta.lon = positions[i]->lon;
    e.meta.source = files[i];
    list.entries.push_back(std::move(e));
  }
  AddSkipReason(&list, "no GPS tags", no_gps);
  AddSkipReason(&list, "unreadable EXIF", bad_exif);
  return list;
}

}  // namespace geoloc::index
