// LocatePipeline with fake stages: the server's threads, batching, admission, cancellation,
// deadlines, per-item errors and draining, without a model (runs under ASan and TSan too).
//
// Batches are made deterministic without timing: the batcher waits up to a minute for a full
// batch (max_batch images), so a batch forms exactly when the max_batch-th image arrives, and
// Stop() processes what is left at once.
#include "server/locate_pipeline.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/types/span.h"
#include "core/common/mutex.h"
#include "core/model/openmp_threads.h"
#include "gtest/gtest.h"

namespace geoloc::server {
namespace {

constexpr size_t kImageFloats = 3;
constexpr int kFailingFinish = 13;  // an image whose finish fails (e.g. no neighbours)

// What the fake engine saw: one entry per LocateBatch call.
struct SeenBatch {
  std::string snapshot;
  std::vector<int> images;  // the image numbers, in the order the batch held them
  std::vector<int> ks;      // each image's own params.k
  int thread_cap = 0;       // the worker's OpenMP thread cap during the batch (0: none)
};

class EngineLog {
 public:
  void Record(SeenBatch batch) {
    MutexLock lock(&mu_);
    batches_.push_back(std::move(batch));
  }
  std::vector<SeenBatch> batches() const {
    MutexLock lock(&mu_);
    return batches_;
  }
  // The next LocateBatch fails as a broken forward pass would.
  void FailNextBatch() {
    MutexLock lock(&mu_);
    fail_next_ = true;
  }
  bool TakeFailure() {
    MutexLock lock(&mu_);
    return std::exchange(fail_next_, false);
  }
  // A batch holding image `image` waits in LocateBatch until Release(); WaitHeld() returns once it
  // is waiting there.
  void Hold(int image) {
    MutexLock lock(&mu_);
    hold_ = image;
  }
  void HoldIfAsked(const std::vector<int>& images) {
    MutexLock lock(&mu_);
    if (std::find(images.begin(), images.end(), hold_) == images.end()) return;
    held_ = true;
    changed_.SignalAll();
    while (hold_ >= 0) changed_.Wait(&mu_);
  }
  void WaitHeld() {
    MutexLock lock(&mu_);
    while (!held_) changed_.Wait(&mu_);
  }
  void Release() {
    MutexLock lock(&mu_);
    hold_ = -1;
    changed_.SignalAll();
  }

 private:
  mutable Mutex mu_;
  CondVar changed_;
  std::vector<SeenBatch> batches_ ABSL_GUARDED_BY(mu_);
  bool fail_next_ ABSL_GUARDED_BY(mu_) = false;
  int hold_ ABSL_GUARDED_BY(mu_) = -1;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
};

struct FakeTimes {
  double encode_ms = 0;
  double search_ms = 0;
};

struct FakeResult {
  int image = -1;
  std::string snapshot;
  double encode_ms = 0;
  double search_ms = 0;
  double estimate_ms = 0;
  double classify_ms = 0;
  std::optional<int> classifier;
  double calibrate_ms = 0;
  std::optional<int> calibration;
  bool abstained = false;
};

// A snapshot whose "model" reads images named "img:<n>" and whose answer is the number back.
class FakeSnapshot {
 public:
  FakeSnapshot(std::string name, EngineLog* log) : name_(std::move(name)), log_(log) {}

  absl::StatusOr<std::vector<float>> PrepareImage(absl::string_view bytes,
                                                  int64_t max_pixels) const {
    int n = 0;
    if (!absl::ConsumePrefix(&bytes, "img:") || !absl::SimpleAtoi(bytes, &n)) {
      return absl::InvalidArgumentError("not an image");
    }
    if (n > max_pixels) return absl::ResourceExhaustedError("too many pixels");
    return std::vector<float>(kImageFloats, static_cast<float>(n));
  }

  absl::Status LocateBatch(absl::Span<const float> images, std::vector<engine::LocateParams> params,
                           const std::function<void(const FakeTimes&)>& searched,
                           const std::function<void(std::function<void()>)>& run_finish,
                           std::function<void(size_t, absl::StatusOr<FakeResult>)> done) const {
    EXPECT_EQ(images.size(), params.size() * kImageFloats);
    SeenBatch seen{name_, {}, {}};
    for (size_t i = 0; i < params.size(); ++i) {
      seen.images.push_back(static_cast<int>(images[i * kImageFloats]));
      seen.ks.push_back(params[i].k);
    }
    seen.thread_cap = model::CurrentOpenMpThreadCap();
    log_->Record(seen);
    log_->HoldIfAsked(seen.images);
    if (log_->TakeFailure()) return absl::InternalError("encoder: the forward pass failed");
    searched(FakeTimes{1.5, 2.5});
    for (size_t i = 0; i < seen.images.size(); ++i) {
      // The finish copies what it needs: `images` is gone when it runs.
      run_finish([i, image = seen.images[i], name = name_, done] {
        if (image == kFailingFinish) {
          done(i, absl::FailedPreconditionError("the index returned no neighbours"));
          return;
        }
        FakeResult r;
        r.image = image;
        r.snapshot = name;
        r.encode_ms = 1.5;
        r.search_ms = 2.5;
        r.estimate_ms = 0.5;
        done(i, std::move(r));
      });
    }
    return absl::OkStatus();
  }

 private:
  const std::string name_;
  EngineLog* const log_;
};

using Pipeline = LocatePipeline<FakeSnapshot, FakeResult>;

struct Answer {
  absl::Status status;
  FakeResult result;
  bool had_snapshot = false;
  StageTimes times;
};

// Answers by job id; Wait() blocks until `n` have arrived.
class Answers {
 public:
  void Add(const std::string& id, Answer answer) {
    MutexLock lock(&mu_);
    EXPECT_EQ(answers_.count(id), 0u) << "job " << id << " answered twice";
    answers_[id] = std::move(answer);
    arrived_.SignalAll();
  }
  std::map<std::string, Answer> Wait(size_t n) {
    MutexLock lock(&mu_);
    while (answers_.size() < n) arrived_.Wait(&mu_);
    return answers_;
  }
  size_t size() {
    MutexLock lock(&mu_);
    return answers_.size();
  }

 private:
  Mutex mu_;
  CondVar arrived_;
  std::map<std::string, Answer> answers_ ABSL_GUARDED_BY(mu_);
};

class LocatePipelineTest : public ::testing::Test {
 protected:
  LocatePipelineTest()
      : snapshots_(
            [this](const std::string& path) -> absl::StatusOr<std::shared_ptr<const FakeSnapshot>> {
              return std::make_shared<const FakeSnapshot>(path, &log_);
            }) {
    config_.max_batch = 4;
    config_.max_batch_wait_ms = 60'000;  // batches form when full (or at Stop), never by time
    config_.queue_capacity = 64;
    config_.decode_threads = 2;
    config_.estimate_threads = 2;
    config_.max_image_pixels = 1000;
  }

  void Start() { pipeline_ = std::make_unique<Pipeline>(config_, &snapshots_, &metrics_); }
  void Serve(const std::string& snapshot) { ASSERT_TRUE(snapshots_.Swap(snapshot, "test").ok()); }

  Pipeline::Job Job(const std::string& id, const std::string& image, int k = 7) {
    Pipeline::Job job;
    job.image = image;
    job.params.k = k;
    job.done = [this, id](absl::StatusOr<FakeResult> result,
                          std::shared_ptr<const FakeSnapshot> snapshot, const StageTimes& times) {
      Answer answer;
      answer.status = result.status();
      if (result.ok()) answer.result = *result;
      answer.had_snapshot = snapshot != nullptr;
      answer.times = times;
      answers_.Add(id, std::move(answer));
    };
    return job;
  }

  // One image per batch, formed as soon as it is queued, on `workers` batch workers; serving "v1".
  void StartOneImageBatches(int workers) {
    config_.batch_workers = workers;
    config_.max_batch = 1;
    config_.max_batch_wait_ms = 0;
    Start();
    Serve("v1");
  }

  // A worker is busy until RunBatch has returned, a little after its batch was answered.
  void WaitUntilNoBatchInFlight() {
    while (pipeline_->busy_batch_workers() > 0) absl::SleepFor(absl::Milliseconds(1));
  }

  ServerConfig config_;
  EngineLog log_;
  ServerMetrics metrics_;
  SnapshotManager<FakeSnapshot> snapshots_;
  std::unique_ptr<Pipeline> pipeline_;
  Answers answers_;
};

TEST_F(LocatePipelineTest, NothingLoadedMeansUnavailableAtOnce) {
  Start();
  pipeline_->Submit(Job("a", "img:1"));
  ASSERT_EQ(answers_.size(), 1u);  // answered inside Submit
  const Answer a = answers_.Wait(1).at("a");
  EXPECT_EQ(a.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(a.had_snapshot);
  EXPECT_TRUE(log_.batches().empty());
}

TEST_F(LocatePipelineTest, ImagesAreBatchedInArrivalOrderAndAnswersReachTheirOwnJobs) {
  config_.decode_threads = 1;  // one decoder: the batcher receives the jobs in submission order
  Start();
  Serve("v1");
  for (int i = 0; i < 9; ++i) {
    pipeline_->Submit(Job(absl::StrCat(i), absl::StrCat("img:", i), /*k=*/10 + i));
  }
  answers_.Wait(8);   // two full batches
  pipeline_->Stop();  // the ninth image waits for a fuller batch: Stop processes it now
  const std::map<std::string, Answer> answers = answers_.Wait(9);

  const std::vector<SeenBatch> batches = log_.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].images, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(batches[1].images, (std::vector<int>{4, 5, 6, 7}));
  EXPECT_EQ(batches[2].images, (std::vector<int>{8}));
  EXPECT_EQ(batches[1].ks, (std::vector<int>{14, 15, 16, 17}));  // each image keeps its params
  for (int i = 0; i < 9; ++i) {
    const Answer& a = answers.at(absl::StrCat(i));
    ASSERT_TRUE(a.status.ok()) << i << ": " << a.status;
    EXPECT_EQ(a.result.image, i);
    EXPECT_EQ(a.result.snapshot, "v1");
    EXPECT_EQ(a.times.batch_size, i < 8 ? 4 : 1) << i;
    EXPECT_EQ(a.times.encode_ms, 1.5);
    EXPECT_EQ(a.times.search_ms, 2.5);
    EXPECT_EQ(a.times.estimate_ms, 0.5);
    EXPECT_EQ(a.times.classify_ms, 0);  // no classifier
  }
  EXPECT_EQ(pipeline_->queue_depth(), 0);
}

TEST_F(LocatePipelineTest, AnImagesErrorStaysWithItsOwnJob) {
  Start();
  Serve("v1");
  pipeline_->Submit(Job("ok1", "img:1"));
  pipeline_->Submit(Job("garbage", "not an image"));
  pipeline_->Submit(Job("huge", "img:5000"));  // over max_image_pixels
  pipeline_->Submit(Job("no-neighbours", absl::StrCat("img:", kFailingFinish)));
  pipeline_->Submit(Job("ok2", "img:2"));
  pipeline_->Submit(Job("ok3", "img:3"));
  const std::map<std::string, Answer> answers = answers_.Wait(6);

  EXPECT_EQ(answers.at("garbage").status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(answers.at("huge").status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(answers.at("no-neighbours").status.code(), absl::StatusCode::kFailedPrecondition);
  for (const char* id : {"ok1", "ok2", "ok3"}) {
    EXPECT_TRUE(answers.at(id).status.ok()) << id << ": " << answers.at(id).status;
  }
  EXPECT_EQ(answers.at("ok2").result.image, 2);
  // The images that failed to decode never reached the engine; the one whose finish failed did,
  // in the same batch as the others.
  const std::vector<SeenBatch> batches = log_.batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].images.size(), 4u);
}

TEST_F(LocatePipelineTest, ABatchThatCannotBeEncodedFailsEachOfItsJobsAndTheNextOneWorks) {
  Start();
  Serve("v1");
  log_.FailNextBatch();
  for (int i = 0; i < 8; ++i) pipeline_->Submit(Job(absl::StrCat(i), absl::StrCat("img:", i)));
  const std::map<std::string, Answer> answers = answers_.Wait(8);
  int failed = 0;
  for (const auto& [id, a] : answers) {
    if (a.status.ok()) continue;
    ++failed;
    EXPECT_EQ(a.status.code(), absl::StatusCode::kInternal) << id;
    EXPECT_EQ(a.status.message(), "encoder: the forward pass failed");
  }
  EXPECT_EQ(failed, 4);  // the first batch, and only it
  EXPECT_EQ(log_.batches().size(), 2u);
  EXPECT_EQ(pipeline_->queue_depth(), 0);
}

TEST_F(LocatePipelineTest, ExpiredAndCancelledJobsSpendNoInference) {
  Start();
  Serve("v1");
  Pipeline::Job expired = Job("expired", "img:100");
  expired.deadline = absl::Now() - absl::Seconds(1);
  pipeline_->Submit(std::move(expired));

  Pipeline::Job cancelled_before = Job("cancelled-before", "img:101");
  cancelled_before.cancelled = [] { return true; };
  pipeline_->Submit(std::move(cancelled_before));

  // Cancelled after admission, while it waits for a fuller batch.
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  Pipeline::Job cancelled_later = Job("cancelled-later", "img:102");
  cancelled_later.cancelled = [cancel] { return cancel->load(); };
  pipeline_->Submit(std::move(cancelled_later));
  cancel->store(true);

  for (int i = 0; i < 4; ++i) pipeline_->Submit(Job(absl::StrCat(i), absl::StrCat("img:", i)));
  pipeline_->Stop();  // whatever still waits for a fuller batch is processed now
  const std::map<std::string, Answer> answers = answers_.Wait(7);
  EXPECT_EQ(answers.at("expired").status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(answers.at("cancelled-before").status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(answers.at("cancelled-later").status.code(), absl::StatusCode::kCancelled);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(answers.at(absl::StrCat(i)).status.ok()) << i;
  for (const SeenBatch& batch : log_.batches()) {
    for (int image : batch.images) EXPECT_LT(image, 100) << "inference spent on " << image;
  }
  EXPECT_EQ(pipeline_->queue_depth(), 0);
}

TEST_F(LocatePipelineTest, AdmissionIsBoundedAndRefusesAtOnce) {
  config_.queue_capacity = 2;
  Start();
  Serve("v1");
  pipeline_->Submit(Job("a", "img:1"));
  pipeline_->Submit(Job("b", "img:2"));
  EXPECT_EQ(pipeline_->queue_depth(), 2);  // both wait for a fuller batch
  pipeline_->Submit(Job("c", "img:3"));
  ASSERT_EQ(answers_.size(), 1u);  // refused inside Submit, without queueing
  EXPECT_EQ(answers_.Wait(1).at("c").status.code(), absl::StatusCode::kResourceExhausted);
  pipeline_->Stop();  // the two admitted ones are still answered
  const std::map<std::string, Answer> answers = answers_.Wait(3);
  EXPECT_TRUE(answers.at("a").status.ok());
  EXPECT_TRUE(answers.at("b").status.ok());
}

TEST_F(LocatePipelineTest, DrainRefusesNewJobsAndFinishesAdmittedOnes) {
  Start();
  Serve("v1");
  pipeline_->Submit(Job("admitted1", "img:1"));
  pipeline_->Submit(Job("admitted2", "img:2"));
  pipeline_->BeginDrain();
  pipeline_->Submit(Job("late", "img:3"));
  ASSERT_EQ(answers_.size(), 1u);
  const Answer late = answers_.Wait(1).at("late");
  EXPECT_EQ(late.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(late.status.message(), kDrainingMessage);
  pipeline_->Stop();
  const std::map<std::string, Answer> answers = answers_.Wait(3);
  EXPECT_TRUE(answers.at("admitted1").status.ok());
  EXPECT_TRUE(answers.at("admitted2").status.ok());
  pipeline_->Submit(Job("after-stop", "img:4"));
  EXPECT_EQ(answers_.Wait(4).at("after-stop").status.code(), absl::StatusCode::kUnavailable);
}

TEST_F(LocatePipelineTest, ABatchSpanningASwapLocatesEachJobWithItsOwnSnapshot) {
  config_.decode_threads = 1;
  Start();
  Serve("v1");
  pipeline_->Submit(Job("old1", "img:1"));
  pipeline_->Submit(Job("old2", "img:2"));
  Serve("v2");
  pipeline_->Submit(Job("new1", "img:3"));
  pipeline_->Submit(Job("new2", "img:4"));
  const std::map<std::string, Answer> answers = answers_.Wait(4);
  EXPECT_EQ(answers.at("old1").result.snapshot, "v1");
  EXPECT_EQ(answers.at("old2").result.snapshot, "v1");
  EXPECT_EQ(answers.at("new1").result.snapshot, "v2");
  EXPECT_EQ(answers.at("new2").result.snapshot, "v2");
  for (const auto& [id, a] : answers) EXPECT_EQ(a.times.batch_size, 4) << id;  // one batch
  const std::vector<SeenBatch> batches = log_.batches();
  ASSERT_EQ(batches.size(), 2u);  // one LocateBatch per snapshot
  EXPECT_EQ(batches[0].snapshot, "v1");
  EXPECT_EQ(batches[0].images, (std::vector<int>{1, 2}));
  EXPECT_EQ(batches[1].snapshot, "v2");
  EXPECT_EQ(batches[1].images, (std::vector<int>{3, 4}));
}

// The thread cap of each image's batch, by image number.
std::map<int, int> CapsByImage(const std::vector<SeenBatch>& batches) {
  std::map<int, int> caps;
  for (const SeenBatch& b : batches) {
    for (int image : b.images) caps[image] = b.thread_cap;
  }
  return caps;
}

TEST_F(LocatePipelineTest, ALoneBatchGetsEveryThreadAndABatchBesideItOne) {
  StartOneImageBatches(/*workers=*/2);
  pipeline_->Submit(Job("1", "img:1"));
  answers_.Wait(1);  // a lone call: no cap
  WaitUntilNoBatchInFlight();  // its worker may still be leaving RunBatch
  log_.Hold(2);
  pipeline_->Submit(Job("2", "img:2"));
  log_.WaitHeld();   // image 2's batch is in flight on the primary, formed with nothing behind it
  pipeline_->Submit(Job("3", "img:3"));
  const std::map<std::string, Answer> answers = answers_.Wait(2);
  EXPECT_EQ(answers.count("3"), 1u);  // answered while image 2 is still held: it ran beside it
  log_.Release();
  answers_.Wait(3);
  const std::map<int, int> caps = CapsByImage(log_.batches());
  EXPECT_EQ(caps.at(1), 0);
  EXPECT_EQ(caps.at(2), 0);
  EXPECT_EQ(caps.at(3), 1);
  EXPECT_EQ(model::CurrentOpenMpThreadCap(), 0);  // the cap lives on the workers only
}

TEST_F(LocatePipelineTest, OneBatchWorkerNeverCapsItsBatches) {
  StartOneImageBatches(/*workers=*/1);
  log_.Hold(1);
  pipeline_->Submit(Job("1", "img:1"));
  log_.WaitHeld();
  pipeline_->Submit(Job("2", "img:2"));  // these wait behind image 1: admitted, not batched
  pipeline_->Submit(Job("3", "img:3"));
  log_.Release();
  answers_.Wait(3);
  const std::map<int, int> caps = CapsByImage(log_.batches());
  ASSERT_EQ(caps.size(), 3u);
  for (const auto& [image, cap] : caps) EXPECT_EQ(cap, 0) << image;
}

}  // namespace
}  // namespace geoloc::server
