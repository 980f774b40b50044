// geoloc's C++ client: a typed, thread-safe handle on one geolocd endpoint (or a load balancer in
// front of several), for back ends that link it and for the `geoloc` CLI.
//
//   ClientOptions options;
//   options.target = "geoloc.internal:50051";
//   GEOLOC_ASSIGN_OR_RETURN(options.token, LoadToken(token_file, "GEOLOC_TOKEN"));
//   GEOLOC_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Client::Connect(options));
//
//   geoloc::v1::LocateRequest request;
//   request.set_image(jpeg_bytes);
//   absl::StatusOr<geoloc::v1::LocateResponse> response = client->Locate(request);
//   if (!response.ok()) return response.status();  // gRPC code and server message, unchanged
//   Use(response->best().location());
//
// Lifetime and threading: a Client owns one gRPC channel; every method is thread-safe and may be
// called from any number of threads at once (calls multiplex over the channel's HTTP/2
// connection). Connect() checks the options and reads the certificate files but does not contact
// the server: gRPC connects lazily, so an unreachable server shows up as UNAVAILABLE on the first
// call (or call WaitForReady()). The Client must outlive every call made on it; destroying it
// while another thread is inside a method is undefined behaviour.
//
// Credentials: the Geolocator service gets `authorization: Bearer <token>`, IndexAdmin gets
// `authorization: Bearer <admin_token>`, and Health gets none (probes are unauthenticated).
// Tokens come from files or the environment (LoadToken), never from a command line, where process
// listings would show them. Without TLS they travel in clear text: use TLS off loopback.
//
// How outcomes map onto the returned absl::Status (gRPC and absl share google.rpc.Code numbering):
//
//   | what happened                              | returned status                              |
//   |--------------------------------------------|----------------------------------------------|
//   | server answered                            | OK, the response                             |
//   | server returned code C with message M      | code C, message M (binary details, if any,   |
//   |                                            | as payload kRpcStatusDetailsUrl)             |
//   | server down, refused, TLS handshake failed | UNAVAILABLE, gRPC's connection message       |
//   | deadline passed                            | DEADLINE_EXCEEDED                            |
//   | token missing/rejected                     | UNAUTHENTICATED / PERMISSION_DENIED (server) |
//   | bad ClientOptions (Connect)                | INVALID_ARGUMENT, or the file's error        |
#ifndef GEOLOC_CLIENT_GEOLOC_CLIENT_H_
#define GEOLOC_CLIENT_GEOLOC_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "geoloc/v1/geoloc.grpc.pb.h"
#include "geoloc/v1/geoloc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace geoloc::client {

// absl::Status payload URL under which a server's binary error details (a serialized
// google.rpc.Status, gRPC's "grpc-status-details-bin") are attached.
inline constexpr absl::string_view kRpcStatusDetailsUrl = "type.googleapis.com/google.rpc.Status";

struct ClientOptions {
  // "host:port", or any gRPC target ("dns:///geoloc.svc:50051", "unix:///run/geoloc.sock").
  std::string target = "localhost:50051";

  // TLS. With use_tls and no ca_cert_file, the system's root certificates verify the server.
  bool use_tls = false;
  std::string ca_cert_file;  // PEM roots that verify the server's certificate
  // Mutual TLS: both or neither. PEM certificate chain and its private key.
  std::string client_cert_file;
  std::string client_key_file;
  // Name checked against the server certificate instead of the target's host (and sent as SNI
  // and :authority), for servers reached by IP or through a tunnel.
  std::string server_name_override;

  // Bearer tokens (without the "Bearer " prefix); empty: no authorization metadata.
  std::string token;        // Geolocator (Locate, Explain, LocateStream)
  std::string admin_token;  // IndexAdmin (SwapIndex, GetStatus)

  // Deadline of every unary call that does not set its own. Must be positive.
  absl::Duration default_deadline = absl::Seconds(30);
  // Largest response accepted. Explain answers carry a PNG and a saliency map.
  int max_receive_message_bytes = 64 << 20;
};

struct CallOptions {
  // This call's deadline. ZeroDuration: ClientOptions::default_deadline; InfiniteDuration: none.
  absl::Duration deadline = absl::ZeroDuration();
  // Wait for the connection to come up instead of failing fast with UNAVAILABLE when the server
  // is unreachable (gRPC's wait_for_ready); the deadline still bounds the wait.
  bool wait_for_ready = false;
};

struct StreamOptions {
  // Items sent but not yet answered, at most (>= 1). Bounds memory on both sides and keeps the
  // server's queue from filling with one caller's work.
  int max_in_flight = 16;
  // Deadline for the whole stream. InfiniteDuration: none (a folder of images may take hours).
  absl::Duration deadline = absl::InfiniteDuration();
  bool wait_for_ready = false;
};

struct StreamSummary {
  int64_t sent = 0;
  int64_t received = 0;
  int64_t item_errors = 0;  // responses whose status.code is not 0
};

// grpc.health.v1.HealthCheckResponse.ServingStatus.
enum class ServingStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };
// "SERVING", "NOT_SERVING", ... as in the health proto.
absl::string_view ServingStatusName(ServingStatus status);

class Client {
 public:
  // Checks `options` (target set; TLS files only with use_tls; client cert and key together;
  // PEM files readable; tokens printable ASCII without spaces) and creates the channel.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const ClientOptions& options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Waits until the channel is connected, up to `timeout`. UNAVAILABLE if it is not by then.
  absl::Status WaitForReady(absl::Duration timeout);

  // geoloc.v1.Geolocator.
  absl::StatusOr<v1::LocateResponse> Locate(const v1::LocateRequest& request,
                                            const CallOptions& call = {});
  absl::StatusOr<v1::ExplainResponse> Explain(const v1::ExplainRequest& request,
                                              const CallOptions& call = {});
  // Several photos of one place, one answer (docs/INCIDENTS.md).
  absl::StatusOr<v1::LocateIncidentResponse> LocateIncident(
      const v1::LocateIncidentRequest& request, const CallOptions& call = {});

  // Streams items through geoloc.v1.Geolocator.LocateStream and blocks until every item sent
  // has been answered or the stream fails.
  //
  // `next` is called for the next item whenever fewer than max_in_flight items are unanswered,
  // and returns std::nullopt when there are no more; it runs on an internal thread, one call at a
  // time. `on_response` runs on the calling thread for each response, in arrival order (not
  // sending order: match by item_id). The two may run concurrently with each other.
  //
  //   | outcome                                       | returns                                |
  //   |-----------------------------------------------|----------------------------------------|
  //   | every item answered (some with item errors)   | OK summary; item_errors counts them    |
  //   | stream failed (deadline, auth, server down)   | the stream's status; responses already |
  //   |                                               | delivered stay delivered               |
  //   | server closed OK with items unanswered        | DATA_LOSS                              |
  //   | max_in_flight < 1                             | INVALID_ARGUMENT, nothing sent         |
  using StreamSource = std::function<std::optional<v1::LocateStreamRequest>()>;
  using StreamSink = std::function<void(const v1::LocateStreamResponse&)>;
  absl::StatusOr<StreamSummary> LocateStream(const StreamSource& next,
                                             const StreamSink& on_response,
                                             const StreamOptions& options = {});

  // geoloc.v1.IndexAdmin (admin token).
  absl::StatusOr<v1::SwapIndexResponse> SwapIndex(const v1::SwapIndexRequest& request,
                                                  const CallOptions& call = {});
  absl::StatusOr<v1::GetStatusResponse> GetStatus(const CallOptions& call = {});

  // grpc.health.v1.Health/Check for `service` ("" = the whole server). A service the server
  // does not know is NOT_FOUND, as the health protocol specifies.
  absl::StatusOr<ServingStatus> Health(const std::string& service = "",
                                       const CallOptions& call = {});

  const ClientOptions& options() const { return options_; }

 private:
  Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel);
  // Sets the deadline, wait_for_ready and the authorization header on a fresh context.
  void PrepareContext(grpc::ClientContext* context, absl::Duration deadline, bool wait_for_ready,
                      const std::string& token) const;
  absl::Duration EffectiveDeadline(const CallOptions& call) const;

  const ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Geolocator::Stub> geolocator_;
  std::unique_ptr<v1::IndexAdmin::Stub> admin_;
};

// Reads a bearer token from a file (a Kubernetes secret mount, a file with mode 0600): surrounding
// whitespace, including the trailing newline, is dropped. An empty file, or one holding more than
// one word, is INVALID_ARGUMENT; an unreadable one keeps the file error's code.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// The token to use, by precedence:
//   | file_path non-empty                   | ReadTokenFile(file_path) (errors are returned)   |
//   | else env_var set and non-empty        | its value, surrounding whitespace dropped         |
//   | else                                  | "" (no authorization header)                      |
absl::StatusOr<std::string> LoadToken(const std::string& file_path, const char* env_var);

// Converts a gRPC status to an absl::Status with the same code and message.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace geoloc::client

#endif  // GEOLOC_CLIENT_GEOLOC_CLIENT_H_
