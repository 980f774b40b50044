// What the audit log (server/audit_log.h) costs a call on its own thread: the image's SHA-256 and
// queueing the record (Record), against a writer that appends and fsyncs on its schedule; and
// the writer's rendering of one JSON line. Figures and the command: docs/BENCHMARKS.md.
//
//   audit_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "benchmark/benchmark.h"
#include "core/common/sha256.h"
#include "server/audit_log.h"

namespace geoloc::server {
namespace {

AuditRecord Sample() {
  AuditRecord r = AuditRecord::Begin("Locate", "grpc");
  r.caller = "dispatch-north";
  r.peer = "ipv4:10.2.0.7:51334";
  r.image_sha256 = {std::string(64, 'a')};
  geoloc::v1::LocateOptions options;
  options.set_k(60);
  r.options = options;
  AuditAnswer a;
  a.best_latitude = 48.8582;
  a.best_longitude = 2.2945;
  a.peaks = 5;
  a.calibrated = true;
  a.localizable_probability = 0.8;
  for (double level : {0.5, 0.68, 0.9, 0.95}) a.regions.push_back({level, 123.4, false});
  r.answer = a;
  r.model_version = "r18-gem@1a2b3c4d5e6f";
  r.bundle_version = "v7-0123456789ab";
  r.Finish(absl::OkStatus());
  return r;
}

void BM_ImageSha256(benchmark::State& state) {
  const std::string image(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(Sha256Hex(image));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ImageSha256)->Arg(200 << 10)->Arg(1 << 20)->Arg(4 << 20)->Unit(benchmark::kMicrosecond);

void BM_AuditJsonLine(benchmark::State& state) {
  const AuditRecord r = Sample();
  for (auto _ : state) benchmark::DoNotOptimize(AuditJsonLine(r));
}
BENCHMARK(BM_AuditJsonLine)->Unit(benchmark::kMicrosecond);

// Record() on the request path while the writer appends to a real file (fsync every 1 s).
void BM_Record(benchmark::State& state) {
  char dir[] = "/tmp/geoloc-audit-bench-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  AuditLogOptions options;
  options.path = std::string(dir) + "/audit.jsonl";
  options.queue_capacity = 1 << 20;
  auto log = AuditLog::Open(options, nullptr);
  if (!log.ok()) {
    state.SkipWithError("cannot open the log");
    return;
  }
  const AuditRecord sample = Sample();
  for (auto _ : state) (*log)->Record(sample);
  (*log)->Close();
  state.counters["dropped"] = static_cast<double>((*log)->dropped());
  std::string cleanup = std::string("rm -rf ") + dir;
  if (std::system(cleanup.c_str()) != 0) state.SkipWithError("cleanup failed");
}
BENCHMARK(BM_Record)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace geoloc::server

BENCHMARK_MAIN();
