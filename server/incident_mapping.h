// An incident's answer out: engine::IncidentResult -> geoloc.v1.LocateIncidentResponse (the
// combined answer through ToLocateResponse, then each photo's part).
//
//   ToLocateIncidentResponse(incident, photo_results, params, request, *snapshot, times,
//                            total_ms, &response);
//
// Pure function; safe from any thread.
#ifndef GEOLOC_SERVER_INCIDENT_MAPPING_H_
#define GEOLOC_SERVER_INCIDENT_MAPPING_H_

#include <vector>

#include "core/engine/incident.h"
#include "core/engine/locator.h"
#include "geoloc/v1/geoloc.pb.h"
#include "server/locate_pipeline.h"

namespace geoloc::server {

// `photo_results[i]` and `photo_times[i]` are photo i's own answer and stage times (filled into
// IncidentPhoto.answer when request.return_photo_answers()).
void ToLocateIncidentResponse(const engine::IncidentResult& incident,
                              const std::vector<engine::LocateResult>& photo_results,
                              const std::vector<StageTimes>& photo_times,
                              const engine::LocateParams& params,
                              const geoloc::v1::LocateIncidentRequest& request,
                              const engine::Locator& locator, double total_ms,
                              geoloc::v1::LocateIncidentResponse* response);

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_INCIDENT_MAPPING_H_
