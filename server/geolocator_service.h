// The geoloc.v1.Geolocator service (gRPC callback API): Locate, Explain and LocateStream.
//
//   GeolocatorService service(&calls);  // GeolocatorCalls (geolocator_calls.h), shared with HTTP
//   builder.RegisterService(&service);
//
// Locate and Explain are GeolocatorCalls' (authorisation, limits, admission), called with the
// call's metadata and deadline. LocateStream authorises once, then validates each item and feeds
// the same pipeline. Handlers never block a gRPC thread on inference: reactors finish from the
// pipeline's threads.
//
// LocateStream flow control: at most max_stream_in_flight images of one stream are in the
// pipeline; reading pauses until answers are written, so a fast sender cannot queue unbounded
// work. Each answer carries the item's id and status; one bad image does not end the stream.
// More than max_stream_images items end the stream with RESOURCE_EXHAUSTED.
//
// Thread-safe; `calls` must outlive the service (and the gRPC server).
#ifndef GEOLOC_SERVER_GEOLOCATOR_SERVICE_H_
#define GEOLOC_SERVER_GEOLOCATOR_SERVICE_H_

#include "geoloc/v1/geoloc.grpc.pb.h"
#include "server/geolocator_calls.h"

namespace geoloc::server {

class GeolocatorService final : public geoloc::v1::Geolocator::CallbackService {
 public:
  explicit GeolocatorService(GeolocatorCalls* calls);

  grpc::ServerUnaryReactor* Locate(grpc::CallbackServerContext* ctx,
                                   const geoloc::v1::LocateRequest* request,
                                   geoloc::v1::LocateResponse* response) override;
  grpc::ServerUnaryReactor* Explain(grpc::CallbackServerContext* ctx,
                                    const geoloc::v1::ExplainRequest* request,
                                    geoloc::v1::ExplainResponse* response) override;
  grpc::ServerBidiReactor<geoloc::v1::LocateStreamRequest, geoloc::v1::LocateStreamResponse>*
  LocateStream(grpc::CallbackServerContext* ctx) override;

  GeolocatorCalls* calls() const { return calls_; }

 private:
  GeolocatorCalls* const calls_;
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_GEOLOCATOR_SERVICE_H_
