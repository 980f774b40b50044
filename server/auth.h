// Bearer-token access control for geolocd.
//
//   GEOLOC_ASSIGN_OR_RETURN(TokenSet tokens, TokenSet::Load(file_flag, "GEOLOC_TOKEN"));
//   absl::Status st = tokens.Check("Bearer s3cret", /*header_present=*/true);
//
// Tokens come from a file (one token per line; blank lines and '#' comments ignored) or from an
// environment variable (tokens separated by commas or newlines), never from a command-line flag,
// so they stay out of process listings. Several tokens may be valid at once, which is how a token
// is rotated without downtime (docs/SECURITY.md): add the new one, move callers, drop the old.
//
// Check() outcomes (case table):
//   no tokens configured                  -> OK (authentication disabled)
//   header missing or not "Bearer <...>"  -> UNAUTHENTICATED
//   token not in the set                  -> PERMISSION_DENIED
//   token in the set                      -> OK
// Comparison is constant-time: every configured token is compared, by SHA-256 digest, with
// CRYPTO_memcmp, so timing reveals neither length nor prefix.
//
// A TokenSet is immutable; AuthState holds the current sets and swaps them atomically when the
// files are reloaded (SIGHUP). Both are safe from any thread.
#ifndef GEOLOC_SERVER_AUTH_H_
#define GEOLOC_SERVER_AUTH_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/common/mutex.h"

namespace geoloc::server {

class TokenSet {
 public:
  TokenSet() = default;
  // From `file` when non-empty, else from the environment variable `env_var` when set, else empty.
  static absl::StatusOr<TokenSet> Load(const std::string& file, const std::string& env_var);
  static TokenSet FromTokens(const std::vector<std::string>& tokens);

  bool enabled() const { return !digests_.empty(); }
  size_t size() const { return digests_.size(); }
  absl::Status Check(absl::string_view authorization_header, bool header_present) const;

 private:
  std::vector<std::array<unsigned char, 32>> digests_;
};

// The live token sets for the Geolocator and IndexAdmin services, reloadable.
class AuthState {
 public:
  AuthState(std::string client_file, std::string client_env, std::string admin_file,
            std::string admin_env);
  // (Re)reads both sources; on error keeps the previous sets and returns the error.
  absl::Status Reload();
  std::shared_ptr<const TokenSet> client() const;
  std::shared_ptr<const TokenSet> admin() const;

 private:
  const std::string client_file_, client_env_, admin_file_, admin_env_;
  mutable Mutex mu_;  // held only to copy or replace the pointers
  std::shared_ptr<const TokenSet> client_ ABSL_GUARDED_BY(mu_) = std::make_shared<TokenSet>();
  std::shared_ptr<const TokenSet> admin_ ABSL_GUARDED_BY(mu_) = std::make_shared<TokenSet>();
};

// A call's authorization value (the `authorization` metadata or HTTP header; nullopt when not
// sent) checked for a role, the same for every transport:
//   AuthorizeClient   the client tokens (Check's case table)
//   AuthorizeAdmin    admin tokens configured: they are required; none, but client tokens
//                     configured: PERMISSION_DENIED (the admin API is off rather than open on an
//                     otherwise protected server); no tokens at all: open
absl::Status AuthorizeClient(const AuthState& auth,
                             const std::optional<std::string>& authorization);
absl::Status AuthorizeAdmin(const AuthState& auth, const std::optional<std::string>& authorization);

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_AUTH_H_
