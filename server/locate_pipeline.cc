#include "server/locate_pipeline.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/model/image_decoder.h"
#include "core/model/preprocess.h"

namespace geoloc::server {
namespace {

double MsBetween(absl::Time a, absl::Time b) { return absl::ToDoubleMilliseconds(b - a); }

}  // namespace

struct LocatePipeline::Work {
  LocateJob job;
  std::shared_ptr<const engine::Locator> snapshot;
  std::vector<float> pixels;  // the preprocessed image
  absl::Time enqueued;        // handed to the batcher
  StageTimes times;
  bool counted = true;        // still counted in admitted_
};

class LocatePipeline::WorkItem {
 public:
  WorkItem() = default;
  explicit WorkItem(std::shared_ptr<Work> work) : work_(std::move(work)) {}
  absl::Time deadline() const { return work_->job.deadline; }
  bool cancelled() const { return work_->job.cancelled && work_->job.cancelled(); }
  const std::shared_ptr<Work>& work() const { return work_; }

 private:
  std::shared_ptr<Work> work_;
};

LocatePipeline::LocatePipeline(const ServerConfig& config,
                               SnapshotManager<engine::Locator>* snapshots, ServerMetrics* metrics)
    : config_(config), snapshots_(snapshots), metrics_(metrics) {
  decode_pool_ = std::make_unique<ThreadPool>(config_.decode_threads);
  estimate_pool_ = std::make_unique<ThreadPool>(config_.estimate_threads);
  BatcherOptions options;
  options.max_batch = config_.max_batch;
  options.max_wait = absl::Microseconds(static_cast<int64_t>(config_.max_batch_wait_ms * 1000));
  // Admission (admitted_) already bounds what can reach the batcher; this is a second guard.
  options.queue_capacity = config_.queue_capacity;
  batcher_ = std::make_unique<DynamicBatcher<WorkItem>>(
      options, [this](std::vector<WorkItem>& batch) { RunBatch(batch); },
      [this](WorkItem& item, absl::Status reason) { Fail(*item.work(), std::move(reason)); });
}

LocatePipeline::~LocatePipeline() { Stop(); }

void LocatePipeline::Stop() {
  if (stopping_.exchange(true)) return;
  decode_pool_.reset();  // runs the decodes already scheduled; they feed the batcher
  batcher_->Stop();      // processes every queued item
  estimate_pool_.reset();  // finishes every estimate
}

void LocatePipeline::Release() {
  admitted_.fetch_sub(1);
  PublishQueueDepth();
}

void LocatePipeline::PublishQueueDepth() {
  // admitted_ changes on many threads at once. Publishing the value each thread computed could
  // leave the gauge at a stale value when two updates land out of order (e.g. 1 after 0 with the
  // queue empty, until the next call); re-reading the counter under a lock makes the last
  // publication see the last change.
  std::lock_guard<std::mutex> lock(depth_mu_);
  metrics_->SetQueueDepth(admitted_.load());
}

void LocatePipeline::Fail(Work& work, absl::Status status) {
  if (work.counted) {
    work.counted = false;
    Release();
  }
  work.job.done(std::move(status), work.snapshot, work.times);
}

void LocatePipeline::Submit(LocateJob job) {
  if (stopping_.load() || draining_.load()) {
    job.done(absl::UnavailableError(kDrainingMessage), nullptr, StageTimes{});
    return;
  }
  std::shared_ptr<const engine::Locator> snapshot = snapshots_->Current();
  if (snapshot == nullptr) {
    job.done(absl::UnavailableError("the server is still loading its model and index"), nullptr,
             StageTimes{});
    return;
  }
  // Take a slot only if one is free: the count never exceeds the capacity, not even for a moment
  // (a refused call would otherwise show up briefly in the depth others read and publish).
  int before = admitted_.load();
  do {
    if (before >= config_.queue_capacity) {
      job.done(absl::ResourceExhaustedError(absl::StrCat(
                   "the server is at capacity (", config_.queue_capacity,
                   " images waiting for the encoder); retry with backoff")),
               snapshot, StageTimes{});
      return;
    }
  } while (!admitted_.compare_exchange_weak(before, before + 1));
  PublishQueueDepth();
  auto work = std::make_shared<Work>();
  work->job = std::move(job);
  work->snapshot = std::move(snapshot);
  decode_pool_->Schedule([this, work] { Decode(work); });
}

void LocatePipeline::Decode(std::shared_ptr<Work> work) {
  const absl::Time start = absl::Now();
  // The deadline first: gRPC cancels a call whose deadline passes, and that is an expiry.
  if (work->job.deadline <= start) {
    Fail(*work, absl::DeadlineExceededError("deadline passed before the image was decoded"));
    return;
  }
  if (work->job.cancelled && work->job.cancelled()) {
    Fail(*work, absl::CancelledError("the caller cancelled the request"));
    return;
  }
  const model::ModelInfo& info = work->snapshot->model_info();
  model::DecodeOptions options;
  options.max_pixels = config_.max_image_pixels;
  options.target_min_side = std::min(info.input_height, info.input_width);
  absl::StatusOr<cv::Mat> bgr = model::DecodeImage(work->job.image, options);
  if (!bgr.ok()) {
    absl::Status st = bgr.status();
    // Formats OpenCV cannot decode (e.g. GIF) are the caller's input problem.
    if (st.code() == absl::StatusCode::kUnimplemented) st = absl::InvalidArgumentError(st.message());
    Fail(*work, st);
    return;
  }
  work->pixels.resize(model::PreprocessedSize(info));
  if (absl::Status st = model::PreprocessInto(*bgr, info, work->pixels.data()); !st.ok()) {
    Fail(*work, absl::InvalidArgumentError(st.message()));
    return;
  }
  std::string().swap(work->job.image);  // the bytes are no longer needed: free them now
  const absl::Time end = absl::Now();
  work->times.decode_ms = MsBetween(start, end);
  metrics_->RecordStage("decode", work->times.decode_ms / 1000.0);
  work->enqueued = end;
  WorkItem rejected;
  if (absl::Status st = batcher_->Submit(WorkItem(work), &rejected); !st.ok()) {
    Fail(*work, st);
  }
}

void LocatePipeline::RunBatch(std::vector<WorkItem>& batch) {
  const absl::Time formed = absl::Now();
  for (auto& item : batch) {
    Work& w = *item.work();
    if (w.counted) {
      w.counted = false;
      Release();
    }
    w.times.queue_ms = MsBetween(w.enqueued, formed);
    metrics_->RecordStage("queue", w.times.queue_ms / 1000.0);
  }
  metrics_->RecordBatch(static_cast<int>(batch.size()));

  // Group by snapshot (more than one only while a swap is happening), keeping arrival order.
  std::vector<std::vector<std::shared_ptr<Work>>> groups;
  for (auto& item : batch) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) {
      return g.front()->snapshot == item.work()->snapshot;
    });
    if (it == groups.end()) {
      groups.push_back({item.work()});
    } else {
      it->push_back(item.work());
    }
  }

  for (auto& group : groups) {
    const engine::Locator& locator = *group.front()->snapshot;
    const int n = static_cast<int>(group.size());
    const size_t image_floats = group.front()->pixels.size();
    const int dim = locator.model_info().dim;
    std::vector<float> images(image_floats * n);
    int k = 1, nprobe = 0, ef_search = 0;
    for (int i = 0; i < n; ++i) {
      std::memcpy(images.data() + i * image_floats, group[i]->pixels.data(),
                  image_floats * sizeof(float));
      std::vector<float>().swap(group[i]->pixels);
      k = std::max(k, group[i]->job.params.k);
      nprobe = std::max(nprobe, group[i]->job.params.nprobe);
      ef_search = std::max(ef_search, group[i]->job.params.ef_search);
    }
    auto descriptors = std::make_shared<std::vector<float>>(static_cast<size_t>(n) * dim);
    const absl::Time t0 = absl::Now();
    absl::Status encoded = locator.Encode(images.data(), n, descriptors->data());
    const absl::Time t1 = absl::Now();
    if (!encoded.ok()) {
      for (auto& w : group) Fail(*w, absl::InternalError(absl::StrCat("encoder: ", encoded.message())));
      continue;
    }
    auto hits = locator.Search(*descriptors, k, nprobe, ef_search);
    const absl::Time t2 = absl::Now();
    if (!hits.ok()) {
      for (auto& w : group) Fail(*w, absl::InternalError(absl::StrCat("search: ", hits.status().message())));
      continue;
    }
    metrics_->RecordStage("encode", absl::ToDoubleSeconds(t1 - t0));
    metrics_->RecordStage("search", absl::ToDoubleSeconds(t2 - t1));
    for (int i = 0; i < n; ++i) {
      std::shared_ptr<Work> w = group[i];
      w->times.encode_ms = MsBetween(t0, t1);
      w->times.search_ms = MsBetween(t1, t2);
      w->times.batch_size = static_cast<int>(batch.size());
      auto neighbors = std::make_shared<std::vector<index::Neighbor>>(std::move((*hits)[i]));
      estimate_pool_->Schedule([this, w, descriptors, neighbors, i, dim] {
        const engine::Locator& loc = *w->snapshot;
        absl::StatusOr<engine::LocateResult> result = loc.Finish(
            absl::MakeConstSpan(*descriptors).subspan(static_cast<size_t>(i) * dim, dim),
            std::move(*neighbors), w->job.params);
        if (result.ok()) {
          w->times.estimate_ms = result->estimate_ms;
          metrics_->RecordStage("estimate", result->estimate_ms / 1000.0);
          if (result->classifier.has_value()) {
            w->times.classify_ms = result->classify_ms;
            metrics_->RecordStage("classify", result->classify_ms / 1000.0);
          }
        }
        w->job.done(std::move(result), w->snapshot, w->times);
      });
    }
  }
}

}  // namespace geoloc::server
