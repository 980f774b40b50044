#include "client/geoloc_client.h"

#include <chrono>
#include <cstdlib>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/health_codec.h"
#include "core/common/file_util.h"
#include "core/common/mutex.h"
#include "core/common/status_macros.h"
#include "grpcpp/channel.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/channel_arguments.h"

namespace geoloc::client {
namespace {

constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";
constexpr char kUserAgent[] = "geoloc-client/0.1";

// A token goes into an HTTP/2 header value: visible ASCII only, and no spaces so that
// "Bearer <token>" stays two words.
absl::Status CheckToken(absl::string_view name, absl::string_view token) {
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrCat(name,
                       " holds a character that cannot travel in an HTTP header (only "
                       "visible ASCII without spaces is allowed)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadPemFile(absl::string_view what, const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFileToString(path);
  if (!pem.ok()) return Annotate(pem.status(), what);
  if (!absl::StrContains(*pem, "-----BEGIN ")) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", path, " is not a PEM file"));
  }
  return pem;
}

absl::Status ValidateOptions(const ClientOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("no server target given");
  if (!options.use_tls &&
      (!options.ca_cert_file.empty() || !options.client_cert_file.empty() ||
       !options.client_key_file.empty() || !options.server_name_override.empty())) {
    // Refuse rather than silently talking plaintext to a caller who asked for certificates.
    return absl::InvalidArgumentError(
        "CA certificate, client certificate/key and server name override need TLS turned on");
  }
  if (options.client_cert_file.empty() != options.client_key_file.empty()) {
    return absl::InvalidArgumentError(
        "mutual TLS needs both a client certificate and its private key");
  }
  if (options.default_deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the default deadline must be positive");
  }
  if (options.max_receive_message_bytes <= 0) {
    return absl::InvalidArgumentError("max_receive_message_bytes must be positive");
  }
  GEOLOC_RETURN_IF_ERROR(CheckToken("token", options.token));
  GEOLOC_RETURN_IF_ERROR(CheckToken("admin token", options.admin_token));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const ClientOptions& options) {
  if (!options.use_tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_cert_file.empty()) {
    GEOLOC_ASSIGN_OR_RETURN(ssl.pem_root_certs,
                            ReadPemFile("CA certificate", options.ca_cert_file));
  }
  if (!options.client_cert_file.empty()) {
    GEOLOC_ASSIGN_OR_RETURN(ssl.pem_cert_chain,
                            ReadPemFile("client certificate", options.client_cert_file));
    GEOLOC_ASSIGN_OR_RETURN(ssl.pem_private_key,
                            ReadPemFile("client key", options.client_key_file));
  }
  return grpc::SslCredentials(ssl);
}

std::chrono::system_clock::time_point ToDeadline(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromByteBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

}  // namespace

absl::string_view ServingStatusName(ServingStatus status) {
  switch (status) {
    case ServingStatus::kUnknown:
      return "UNKNOWN";
    case ServingStatus::kServing:
      return "SERVING";
    case ServingStatus::kNotServing:
      return "NOT_SERVING";
    case ServingStatus::kServiceUnknown:
      return "SERVICE_UNKNOWN";
  }
  return "UNKNOWN";
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  // Both follow google.rpc.Code, so the numbers carry over one to one.
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  if (!status.error_details().empty()) {
    out.SetPayload(kRpcStatusDetailsUrl, absl::Cord(status.error_details()));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  GEOLOC_RETURN_IF_ERROR(ValidateOptions(options));
  GEOLOC_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                          MakeCredentials(options));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  args.SetUserAgentPrefix(kUserAgent);
  if (!options.server_name_override.empty()) {
    args.SetSslTargetNameOverride(options.server_name_override);
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.target, credentials, args);
  if (channel == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot create a channel to ", options.target));
  }
  return std::unique_ptr<Client>(new Client(options, std::move(channel)));
}

Client::Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      geolocator_(v1::Geolocator::NewStub(channel_)),
      admin_(v1::IndexAdmin::NewStub(channel_)) {}

Client::~Client() = default;

absl::Status Client::WaitForReady(absl::Duration timeout) {
  if (channel_->WaitForConnected(ToDeadline(timeout))) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("could not connect to ", options_.target, " within ",
                                             absl::FormatDuration(timeout)));
}

absl::Duration Client::EffectiveDeadline(const CallOptions& call) const {
  return call.deadline == absl::ZeroDuration() ? options_.default_deadline : call.deadline;
}

void Client::PrepareContext(grpc::ClientContext* context, absl::Duration deadline,
                            bool wait_for_ready, const std::string& token) const {
  if (deadline != absl::InfiniteDuration()) context->set_deadline(ToDeadline(deadline));
  context->set_wait_for_ready(wait_for_ready);
  if (!token.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

absl::StatusOr<v1::LocateResponse> Client::Locate(const v1::LocateRequest& request,
                                                  const CallOptions& call) {
  grpc::ClientContext context;
  PrepareContext(&context, EffectiveDeadline(call), call.wait_for_ready, options_.token);
  v1::LocateResponse response;
  GEOLOC_RETURN_IF_ERROR(FromGrpcStatus(geolocator_->Locate(&context, request, &response)));
  return response;
}

absl::StatusOr<v1::ExplainResponse> Client::Explain(const v1::ExplainRequest& request,
                                                    const CallOptions& call) {
  grpc::ClientContext context;
  PrepareContext(&context, EffectiveDeadline(call), call.wait_for_ready, options_.token);
  v1::ExplainResponse response;
  GEOLOC_RETURN_IF_ERROR(FromGrpcStatus(geolocator_->Explain(&context, request, &response)));
  return response;
}

absl::StatusOr<v1::LocateIncidentResponse> Client::LocateIncident(
    const v1::LocateIncidentRequest& request, const CallOptions& call) {
  grpc::ClientContext context;
  PrepareContext(&context, EffectiveDeadline(call), call.wait_for_ready, options_.token);
  v1::LocateIncidentResponse response;
  GEOLOC_RETURN_IF_ERROR(
      FromGrpcStatus(geolocator_->LocateIncident(&context, request, &response)));
  return response;
}

absl::StatusOr<v1::SwapIndexResponse> Client::SwapIndex(const v1::SwapIndexRequest& request,
                                                        const CallOptions& call) {
  grpc::ClientContext context;
  PrepareContext(&context, EffectiveDeadline(call), call.wait_for_ready, options_.admin_token);
  v1::SwapIndexResponse response;
  GEOLOC_RETURN_IF_ERROR(FromGrpcStatus(admin_->SwapIndex(&context, request, &response)));
  return response;
}

absl::StatusOr<v1::GetStatusResponse> Client::GetStatus(const CallOptions& call) {
  grpc::ClientContext context;
  PrepareContext(&context, EffectiveDeadline(call), call.wait_for_ready, options_.admin_token);
  v1::GetStatusResponse response;
  GEOLOC_RETURN_IF_ERROR(
      FromGrpcStatus(admin_->GetStatus(&context, v1::GetStatusRequest(), &response)));
  return response;
}

absl::StatusOr<ServingStatus> Client::Health(const std::string& service, const CallOptions& call) {
  grpc::ClientContext context;
  PrepareContext(&context, EffectiveDeadline(call), call.wait_for_ready, /*token=*/"");
  grpc::TemplatedGenericStub<grpc::ByteBuffer, grpc::ByteBuffer> stub(channel_);
  const grpc::ByteBuffer request = ToByteBuffer(internal::EncodeHealthCheckRequest(service));
  grpc::ByteBuffer response;
  grpc::Status rpc_status;
  absl::Notification done;
  stub.UnaryCall(&context, kHealthCheckMethod, grpc::StubOptions(), &request, &response,
                 [&rpc_status, &done](grpc::Status status) {
                   rpc_status = std::move(status);
                   done.Notify();
                 });
  done.WaitForNotification();
  GEOLOC_RETURN_IF_ERROR(FromGrpcStatus(rpc_status));
  GEOLOC_ASSIGN_OR_RETURN(int status,
                          internal::DecodeHealthCheckResponse(FromByteBuffer(response)));
  if (status < 0 || status > static_cast<int>(ServingStatus::kServiceUnknown)) {
    return ServingStatus::kUnknown;
  }
  return static_cast<ServingStatus>(status);
}

absl::StatusOr<StreamSummary> Client::LocateStream(const StreamSource& next,
                                                   const StreamSink& on_response,
                                                   const StreamOptions& options) {
  if (options.max_in_flight < 1) {
    return absl::InvalidArgumentError("max_in_flight must be at least 1");
  }
  grpc::ClientContext context;
  PrepareContext(&context, options.deadline, options.wait_for_ready, options_.token);
  std::unique_ptr<grpc::ClientReaderWriter<v1::LocateStreamRequest, v1::LocateStreamResponse>>
      stream = geolocator_->LocateStream(&context);

  // The writer thread sends while this thread reads: a response frees a slot, and the writer
  // sends the next item only when a slot is free, so at most max_in_flight are unanswered.
  struct Shared {
    Mutex mu;
    CondVar slot_freed;  // signalled when in_flight drops or reading_done is set
    int64_t in_flight ABSL_GUARDED_BY(mu) = 0;
    bool reading_done ABSL_GUARDED_BY(mu) = false;
    StreamSummary summary ABSL_GUARDED_BY(mu);
  } shared;

  std::thread writer([&] {
    for (;;) {
      {
        MutexLock lock(&shared.mu);
        while (!shared.reading_done && shared.in_flight >= options.max_in_flight) {
          shared.slot_freed.Wait(&shared.mu);
        }
        if (shared.reading_done) break;  // the stream is over: nothing more will be read
      }
      std::optional<v1::LocateStreamRequest> item = next();
      if (!item.has_value()) break;
      {
        // Counted before Write(): the answer may arrive before Write() returns.
        MutexLock lock(&shared.mu);
        ++shared.in_flight;
        ++shared.summary.sent;
      }
      // A failed Write means the stream is broken; Read() below sees the final status.
      if (!stream->Write(*item)) break;
    }
    stream->WritesDone();
  });

  v1::LocateStreamResponse response;
  while (stream->Read(&response)) {
    {
      MutexLock lock(&shared.mu);
      --shared.in_flight;
      ++shared.summary.received;
      if (response.status().code() != 0) ++shared.summary.item_errors;
    }
    shared.slot_freed.Signal();
    on_response(response);
  }
  {
    MutexLock lock(&shared.mu);
    shared.reading_done = true;
  }
  shared.slot_freed.Signal();
  writer.join();
  StreamSummary summary;
  {
    MutexLock lock(&shared.mu);
    summary = shared.summary;
  }

  GEOLOC_RETURN_IF_ERROR(FromGrpcStatus(stream->Finish()));
  if (summary.received < summary.sent) {
    return absl::DataLossError(absl::StrCat("the server ended the stream with ",
                                            summary.sent - summary.received, " of ", summary.sent,
                                            " items unanswered"));
  }
  return summary;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFileToString(path);
  if (!contents.ok()) return Annotate(contents.status(), "token file");
  absl::string_view token = absl::StripAsciiWhitespace(*contents);
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("token file ", path, " is empty"));
  }
  for (char c : token) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("token file ", path,
                       " holds more than one word; it must hold only the "
                       "token (no \"Bearer \" prefix)"));
    }
  }
  return std::string(token);
}

absl::StatusOr<std::string> LoadToken(const std::string& file_path, const char* env_var) {
  if (!file_path.empty()) return ReadTokenFile(file_path);
  if (env_var == nullptr) return std::string();
  const char* value = std::getenv(env_var);
  if (value == nullptr) return std::string();
  return std::string(absl::StripAsciiWhitespace(value));
}

}  // namespace geoloc::client
