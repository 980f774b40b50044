// A program of another team, built against the installed geoloc package: it checks that the
// client's option validation works, then calls a geolocd that is not there and expects the clean
// UNAVAILABLE (or DEADLINE_EXCEEDED) status the client documents, not a hang or a crash.
// Exit status 0 when everything behaved as documented, 1 otherwise (with the reason on stderr).
#include <iostream>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/geoloc_client.h"
#include "geoloc/v1/geoloc.pb.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: geoloc_consumer TARGET   (a gRPC target where nothing listens)\n";
    return 2;
  }
  geoloc::client::ClientOptions empty;
  empty.target = "";
  const absl::Status refused = geoloc::client::Client::Connect(empty).status();
  if (refused.code() != absl::StatusCode::kInvalidArgument) {
    std::cerr << "an empty target was not refused as INVALID_ARGUMENT: " << refused << "\n";
    return 1;
  }

  geoloc::client::ClientOptions options;
  options.target = argv[1];
  absl::StatusOr<std::unique_ptr<geoloc::client::Client>> client =
      geoloc::client::Client::Connect(options);  // lazy: succeeds without a server
  if (!client.ok()) {
    std::cerr << "Connect failed: " << client.status() << "\n";
    return 1;
  }
  geoloc::v1::LocateRequest request;
  request.set_image("not an image: no server will ever read it");
  geoloc::client::CallOptions call;
  call.deadline = absl::Seconds(5);
  const absl::Status located = (*client)->Locate(request, call).status();
  if (located.code() != absl::StatusCode::kUnavailable &&
      located.code() != absl::StatusCode::kDeadlineExceeded) {
    std::cerr << "Locate against nothing: expected UNAVAILABLE, got " << located << "\n";
    return 1;
  }
  std::cout << "geoloc consumer: Locate against " << argv[1] << " failed cleanly (" << located
            << ")\n";
  return 0;
}
