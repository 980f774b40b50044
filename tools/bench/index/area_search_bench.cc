// Search-area benchmark: what a hard search area (core/geo/search_area.h) costs against an
// unfiltered search, for areas from a city block to a country, on a --rows-vector bundle whose
// photo positions are real (MP-16 photo coordinates, each repeated with a few hundred metres of
// jitter, so that density follows where people take photos).
//
//   build/tools/bench/index/area_search_bench --work_dir=/work/scratch/$USER/area-bench
//   build/tools/bench/index/area_search_bench --rows=100000 --types=flat,ivf_flat
//
// For each bundle type and area it reports: the photos inside the area; the selector's cost
// (cells::AreaRegion::Build + PointCellIndex::Select + index::RowSet, per query, median); the
// filtered search's batch-1 latency (median over --queries single searches; the filter runs
// inside the search) and its ratio to the unfiltered search; and once per bundle the
// PointCellIndex build time (paid at bundle load by the Locator). Descriptors:
// core/index/synthetic_vectors.h (clustered, L2-normalised), queries fresh from the same
// distribution. The bundles are cached in --work_dir; delete it after a builder change.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/cells/area_region.h"
#include "core/common/logging.h"
#include "core/geo/search_area.h"
#include "core/index/bundle.h"
#include "core/index/bundle_writer.h"
#include "core/index/row_set.h"
#include "core/index/synthetic_vectors.h"
#include "tools/bench/index/bench_util.h"

ABSL_FLAG(std::string, work_dir, "/tmp/geoloc-area-bench", "cache for the bundles");
ABSL_FLAG(std::string, coordinates, "/work/shared/data/mp16_photo_coordinates_100k.csv",
          "CSV of LAT,LON photo positions (header line first), repeated to --rows");
ABSL_FLAG(int64_t, rows, 1'000'000, "database vectors");
ABSL_FLAG(int, dim, 128, "descriptor dimension");
ABSL_FLAG(int, queries, 50, "single-query searches timed per area");
ABSL_FLAG(int, k, 60, "neighbours per search");
ABSL_FLAG(std::vector<std::string>, types, std::vector<std::string>({"flat"}),
          "bundles: flat, ivf_flat, hnsw");
ABSL_FLAG(double, center_lat, 51.5074, "centre of the circular areas (default: London)");
ABSL_FLAG(double, center_lon, -0.1278, "");

namespace geoloc::index {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

absl::StatusOr<std::vector<geo::LatLon>> Positions(const std::string& csv, int64_t rows) {
  std::ifstream in(csv);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", csv));
  std::vector<geo::LatLon> base;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ',');
    geo::LatLon p;
    if (f.size() >= 2 && absl::SimpleAtod(f[0], &p.lat) && absl::SimpleAtod(f[1], &p.lon)) {
      base.push_back(p);
    }
  }
  if (base.empty()) return absl::InvalidArgumentError(absl::StrCat(csv, " holds no positions"));
  // Copy i of a base position is moved by up to ~300 m (none for the first copy).
  std::mt19937_64 rng(17);
  std::normal_distribution<double> jitter(0, 0.003);
  std::vector<geo::LatLon> out(rows);
  for (int64_t i = 0; i < rows; ++i) {
    geo::LatLon p = base[i % base.size()];
    if (i >= static_cast<int64_t>(base.size())) {
      p.lat = std::clamp(p.lat + jitter(rng), -90.0, 90.0);
      p.lon = geo::NormalizeLongitude(p.lon + jitter(rng));
    }
    out[i] = p;
  }
  return out;
}

absl::Status EnsureBundle(const std::string& dir, const std::string& type,
                          const std::vector<float>& db, const std::vector<geo::LatLon>& pos,
                          int dim) {
  if (fs::exists(fs::path(dir) / "manifest.json")) return absl::OkStatus();
  const int64_t n = static_cast<int64_t>(pos.size());
  std::vector<MetadataRow> rows(n);
  for (int64_t i = 0; i < n; ++i) {
    rows[i].id = i;
    rows[i].lat = pos[i].lat;
    rows[i].lon = pos[i].lon;
    rows[i].source = absl::StrCat("p", i);
  }
  model::ModelInfo info;
  info.name = "area-bench";
  info.backbone = "none";
  info.head = "none";
  info.dim = dim;
  info.metric = model::Metric::kInnerProduct;
  info.fingerprint = "a5ea000000000000000000000000bench";
  BundleWriteOptions o;
  o.output = dir;
  o.show_progress = true;
  absl::StatusOr<IndexType> t = ParseIndexType(type);
  if (!t.ok()) return t.status();
  o.index.type = *t;
  if (*t == IndexType::kIvfFlat) o.index.nlist = 1024;
  return WriteBundle(db.data(), n, info, rows, o).status();
}

struct Area {
  const char* name;
  double radius_km;
};

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int64_t n = absl::GetFlag(FLAGS_rows);
  const int dim = absl::GetFlag(FLAGS_dim);
  const int nq = absl::GetFlag(FLAGS_queries);
  const int k = absl::GetFlag(FLAGS_k);
  const std::string work = absl::GetFlag(FLAGS_work_dir);
  fs::create_directories(work);
  absl::StatusOr<std::vector<geo::LatLon>> pos = Positions(absl::GetFlag(FLAGS_coordinates), n);
  if (!pos.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(pos.status().message()).c_str());
    return 1;
  }
  SyntheticVectors gen({.dim = dim, .clusters = 1000, .seed = 7});
  const std::vector<float> queries = gen.Queries(nq);
  const Area areas[] = {{"city block", 0.1}, {"neighbourhood", 1}, {"city", 10},
                        {"metro area", 30},  {"region", 100},      {"country", 500}};
  const geo::LatLon centre{absl::GetFlag(FLAGS_center_lat), absl::GetFlag(FLAGS_center_lon)};

  for (const std::string& type : absl::GetFlag(FLAGS_types)) {
    const std::string dir = absl::StrCat(work, "/", type, "-", n, "x", dim);
    if (!fs::exists(fs::path(dir) / "manifest.json")) {
      const std::vector<float> db = gen.Database(n);
      if (absl::Status st = EnsureBundle(dir, type, db, *pos, dim); !st.ok()) {
        std::fprintf(stderr, "error: %s\n", std::string(st.message()).c_str());
        return 1;
      }
    }
    BundleLoadOptions lo;
    lo.verify_checksums = false;
    absl::StatusOr<std::shared_ptr<const Bundle>> bundle = Bundle::Load(dir, lo);
    if (!bundle.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(bundle.status().message()).c_str());
      return 1;
    }
    auto t0 = Clock::now();
    std::vector<geo::LatLon> bundle_pos(n);
    for (int64_t r = 0; r < n; ++r) {
      bundle_pos[r] = {(*bundle)->metadata().lat(r), (*bundle)->metadata().lon(r)};
    }
    const cells::PointCellIndex points = cells::PointCellIndex::Build(bundle_pos);
    std::printf("%s bundle, %lld x %d, k %d, batch 1; PointCellIndex built in %.0f ms\n",
                type.c_str(), static_cast<long long>(n), dim, k, MsSince(t0));

    auto search_ms = [&](const RowSet* filter, int q) {
      SearchParams sp;
      sp.k = k;
      sp.filter = filter;
      const auto t = Clock::now();
      auto hits = (*bundle)->Search(
          absl::MakeConstSpan(queries).subspan(static_cast<size_t>(q) * dim, dim), sp);
      const double ms = MsSince(t);
      if (!hits.ok()) {
        std::fprintf(stderr, "search: %s\n", std::string(hits.status().message()).c_str());
        std::exit(1);
      }
      return ms;
    };
    std::vector<double> base;
    for (int q = 0; q < nq; ++q) base.push_back(search_ms(nullptr, q));
    const double unfiltered = Median(base);
    std::printf(
        "| area | radius km | photos inside | selector ms | filtered search ms | "
        "filtered + selector / unfiltered |\n| --- | --- | --- | --- | --- | --- |\n");
    std::printf("| none (unfiltered) | - | %lld | - | %.2f | 1.00 |\n", static_cast<long long>(n),
                unfiltered);
    for (const Area& a : areas) {
      geo::SearchArea area;
      area.shape = geo::SearchArea::Shape::kCircle;
      area.center = centre;
      area.radius_km = a.radius_km;
      std::vector<double> select, search;
      int64_t inside = 0;
      for (int q = 0; q < nq; ++q) {
        const auto t = Clock::now();
        absl::StatusOr<cells::AreaRegion> region = cells::AreaRegion::Build(area);
        if (!region.ok()) return 1;
        RowSet rows(points.Select(*region), n);
        select.push_back(MsSince(t));
        inside = rows.size();
        search.push_back(rows.empty() ? 0 : search_ms(&rows, q));
      }
      const double s = Median(select), f = Median(search);
      std::printf("| %s | %g | %lld | %.2f | %.2f | %.2f |\n", a.name, a.radius_km,
                  static_cast<long long>(inside), s, f, (s + f) / unfiltered);
    }
  }
  return 0;
}

}  // namespace
}  // namespace geoloc::index

int main(int argc, char** argv) { return geoloc::index::Main(argc, argv); }
