// The audit log's writer: a full queue is counted and shows as a gap in the log, rotation keeps
// every line exactly once, Close() drains, and the lines are one JSON object each.
#include "server/audit_log.h"

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "core/common/mutex.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::server {
namespace {

// Collects lines; AppendLine blocks while `hold` is set, after telling the test it has entered.
class BlockingSink : public AuditSink {
 public:
  absl::Status AppendLine(absl::string_view line) override {
    MutexLock lock(&mu_);
    if (!entered_.HasBeenNotified()) entered_.Notify();
    while (hold_) cv_.Wait(&mu_);
    lines_.emplace_back(line);
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    MutexLock lock(&mu_);
    ++syncs_;
    return absl::OkStatus();
  }
  void Release() {
    MutexLock lock(&mu_);
    hold_ = false;
    cv_.SignalAll();
  }
  std::vector<std::string> lines() {
    MutexLock lock(&mu_);
    return lines_;
  }
  int syncs() {
    MutexLock lock(&mu_);
    return syncs_;
  }
  absl::Notification entered_;

 private:
  Mutex mu_;
  CondVar cv_;
  bool hold_ = true;
  std::vector<std::string> lines_;
  int syncs_ = 0;
};

AuditRecord Call(int i) {
  AuditRecord r = AuditRecord::Begin("Locate", "grpc");
  r.caller = "dispatch-north";
  r.image_sha256 = {absl::StrCat("sha-", i)};
  r.Finish(absl::OkStatus());
  return r;
}

std::string Exposition(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

TEST(AuditLogTest, AFullQueueDropsWithoutBlockingCountsAndMarksTheGap) {
  auto sink_owner = std::make_unique<BlockingSink>();
  BlockingSink* sink = sink_owner.get();
  prometheus::Registry registry;
  AuditLogOptions options;
  options.queue_capacity = 2;
  AuditLog log(std::move(sink_owner), options, &registry);

  EXPECT_TRUE(log.Record(Call(0)));
  sink->entered_.WaitForNotification();  // the writer holds record 0 and is stuck in the sink
  EXPECT_TRUE(log.Record(Call(1)));
  EXPECT_TRUE(log.Record(Call(2)));   // the queue (2) is full now
  EXPECT_FALSE(log.Record(Call(3)));  // dropped at once, the caller is not blocked
  EXPECT_FALSE(log.Record(Call(4)));
  EXPECT_EQ(log.dropped(), 2);
  EXPECT_TRUE(absl::StrContains(Exposition(registry),
                                "geoloc_audit_records_total{result=\"dropped\"} 2"));
  sink->Release();
  log.Close();
  EXPECT_EQ(log.written(), 3);
  EXPECT_FALSE(log.Record(Call(5)));  // after Close: dropped, counted
  EXPECT_EQ(log.dropped(), 3);

  const std::vector<std::string> lines = sink->lines();
  ASSERT_EQ(lines.size(), 4u);  // records 0, the gap, 1, 2
  EXPECT_TRUE(absl::StrContains(lines[0], "\"sha-0\""));
  EXPECT_TRUE(absl::StrContains(lines[1], "\"event\":\"audit_records_dropped\",\"count\":2"))
      << lines[1];
  EXPECT_TRUE(absl::StrContains(lines[2], "\"sha-1\""));
  EXPECT_TRUE(absl::StrContains(lines[3], "\"sha-2\""));
  EXPECT_GE(sink->syncs(), 1);  // Close syncs
  EXPECT_TRUE(absl::StrContains(Exposition(registry),
                                "geoloc_audit_records_total{result=\"written\"} 3"));
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(testing::ReadTestFile(path), '\n', absl::SkipEmpty())) {
    out.emplace_back(line);
  }
  return out;
}

TEST(AuditLogTest, RotationKeepsEveryLineOnceAndCloseDrains) {
  const testing::ScratchDir dir("audit");
  const std::string path = dir.file("audit.jsonl");
  AuditLogOptions options;
  options.path = path;
  options.max_bytes = 2000;
  options.keep_files = 1000;
  options.fsync_interval = absl::ZeroDuration();
  constexpr int kRecords = 300;
  {
    auto log = AuditLog::Open(options, nullptr);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < kRecords; ++i) ASSERT_TRUE((*log)->Record(Call(i)));
    (*log)->Close();  // no waiting: Close writes what was queued
    EXPECT_EQ((*log)->written(), kRecords);
  }
  std::multiset<std::string> seen;
  int files = 0;
  for (int i = 0;; ++i) {
    const std::string file = i == 0 ? path : absl::StrCat(path, ".", i);
    if (!std::filesystem::exists(file)) break;
    ++files;
    EXPECT_LE(std::filesystem::file_size(file), 2000u) << file;
    for (const std::string& line : ReadLines(file)) {
      ASSERT_TRUE(absl::StartsWith(line, "{\"time\":\"") && absl::EndsWith(line, "}")) << line;
      const size_t at = line.find("\"sha-");
      ASSERT_NE(at, std::string::npos) << line;
      seen.insert(line.substr(at, line.find('"', at + 1) - at + 1));
    }
  }
  EXPECT_GT(files, 5);  // it did rotate
  ASSERT_EQ(seen.size(), static_cast<size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i) {
    EXPECT_EQ(seen.count(absl::StrCat("\"sha-", i, "\"")), 1u) << i;
  }
}

TEST(AuditLogTest, KeepsOnlyTheNewestRotatedFiles) {
  const testing::ScratchDir dir("audit-keep");
  const std::string path = dir.file("audit.jsonl");
  auto file = RotatingAuditFile::Open(path, /*max_bytes=*/10, /*keep_files=*/2);
  ASSERT_TRUE(file.ok()) << file.status();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*file)->AppendLine(absl::StrCat("line-", i)).ok());
  file->reset();
  EXPECT_EQ(testing::ReadTestFile(path), "line-4\n");
  EXPECT_EQ(testing::ReadTestFile(path + ".1"), "line-3\n");
  EXPECT_EQ(testing::ReadTestFile(path + ".2"), "line-2\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".3"));  // the oldest are gone
  // Reopening appends.
  auto again = RotatingAuditFile::Open(path, 1000, 2);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->AppendLine("line-5").ok());
  again->reset();
  EXPECT_EQ(testing::ReadTestFile(path), "line-4\nline-5\n");
}

TEST(AuditRecordTest, OneJsonObjectWithTheAnswerSummaryAndEscapedStrings) {
  AuditRecord r = AuditRecord::Begin("Locate", "grpc");
  r.start = absl::FromUnixSeconds(1796601600);  // 2026-12-07T00:00:00Z
  r.caller = "ops \"night\"";
  r.peer = "ipv4:127.0.0.1:5000";
  r.image_sha256 = {"ab"};
  geoloc::v1::LocateOptions options;
  options.set_k(40);
  r.options = options;
  geoloc::v1::LocateResponse response;
  response.mutable_best()->mutable_location()->set_latitude(48.5);
  response.mutable_best()->mutable_location()->set_longitude(-2.25);
  response.add_peaks();
  response.set_calibrated(true);
  response.set_localizable_probability(0.75);
  auto* region = response.add_regions();
  region->set_level(0.9);
  region->set_area_km2(12.5);
  response.set_model_version("m1");
  response.set_bundle_version("b1");
  r.SetAnswer(response);
  r.Finish(absl::InvalidArgumentError("bad\nthing"));
  const std::string line = AuditJsonLine(r);
  EXPECT_TRUE(absl::StartsWith(line, "{\"time\":\"2026-12-07T00:00:00.000000Z\",\"method\":\"Locate\""))
      << line;
  EXPECT_TRUE(absl::StrContains(line, "\"caller\":\"ops \\\"night\\\"\"")) << line;
  EXPECT_TRUE(absl::StrContains(line, "\"options\":{\"k\":40}")) << line;
  EXPECT_TRUE(absl::StrContains(
      line, "\"best\":{\"latitude\":48.5,\"longitude\":-2.25,\"uncertainty_km\":0}")) << line;
  EXPECT_TRUE(absl::StrContains(line, "\"localizable_probability\":0.75")) << line;
  EXPECT_TRUE(absl::StrContains(line,
                                "\"regions\":[{\"level\":0.9,\"area_km2\":12.5,"
                                "\"whole_sphere\":false}]"))
      << line;
  EXPECT_TRUE(absl::StrContains(line, "\"model_version\":\"m1\",\"bundle_version\":\"b1\""));
  EXPECT_TRUE(absl::StrContains(line, "\"code\":\"INVALID_ARGUMENT\",\"message\":\"bad\\nthing\""));
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace geoloc::server
