#include "server/incident_mapping.h"

#include <algorithm>

#include "server/response_mapping.h"

namespace geoloc::server {

void ToLocateIncidentResponse(const engine::IncidentResult& incident,
                              const std::vector<engine::LocateResult>& photo_results,
                              const std::vector<StageTimes>& photo_times,
                              const engine::LocateParams& params,
                              const geoloc::v1::LocateIncidentRequest& request,
                              const engine::Locator& locator, double total_ms,
                              geoloc::v1::LocateIncidentResponse* response) {
  const bool neighbors = request.options().return_neighbors();
  // The combined answer's stage times: every photo's work, summed; the largest batch it rode in.
  StageTimes sum;
  for (const StageTimes& t : photo_times) {
    sum.decode_ms += t.decode_ms;
    sum.queue_ms += t.queue_ms;
    sum.encode_ms += t.encode_ms;
    sum.search_ms += t.search_ms;
    sum.estimate_ms += t.estimate_ms;
    sum.classify_ms += t.classify_ms;
    sum.calibrate_ms += t.calibrate_ms;
    sum.batch_size = std::max(sum.batch_size, t.batch_size);
  }
  sum.estimate_ms += incident.combined.estimate_ms;
  sum.classify_ms += incident.combined.classify_ms;
  sum.calibrate_ms += incident.combined.calibrate_ms;
  ToLocateResponse(incident.combined, params, neighbors, locator, sum, total_ms,
                   response->mutable_combined());
  for (size_t i = 0; i < incident.photos.size(); ++i) {
    const engine::IncidentResult::Photo& p = incident.photos[i];
    geoloc::v1::IncidentPhoto* out = response->add_photos();
    out->set_index(static_cast<uint32_t>(i));
    out->set_exponent(p.exponent);
    for (double s : p.peak_support) out->add_peak_support(s);
    out->set_best_support(p.best_support);
    out->set_dissents(p.dissents);
    if (request.return_photo_answers() && i < photo_results.size()) {
      ToLocateResponse(photo_results[i], params, neighbors, locator,
                       i < photo_times.size() ? photo_times[i] : StageTimes{}, /*total_ms=*/0,
                       out->mutable_answer());
    }
  }
  response->set_effective_photos(incident.effective_photos);
}

}  // namespace geoloc::server
