#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/common/file_util.h"
#include "core/common/status_macros.h"

namespace geoloc::server {
namespace {

std::array<unsigned char, 32> Digest(absl::string_view token) {
  std::array<unsigned char, 32> out;
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), out.data());
  return out;
}

std::vector<std::string> ParseTokens(absl::string_view text, bool comments) {
  std::vector<std::string> tokens;
  for (absl::string_view line : absl::StrSplit(text, absl::ByAnyChar(comments ? "\n" : ",\n"))) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || (comments && line[0] == '#')) continue;
    tokens.emplace_back(line);
  }
  return tokens;
}

}  // namespace

TokenSet TokenSet::FromTokens(const std::vector<std::string>& tokens) {
  TokenSet set;
  for (const auto& t : tokens) set.digests_.push_back(Digest(t));
  return set;
}

absl::StatusOr<TokenSet> TokenSet::Load(const std::string& file, const std::string& env_var) {
  if (!file.empty()) {
    GEOLOC_ASSIGN_OR_RETURN(std::string text, ReadFileToString(file));
    std::vector<std::string> tokens = ParseTokens(text, /*comments=*/true);
    if (tokens.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("token file ", file, " holds no token"));
    }
    return FromTokens(tokens);
  }
  if (!env_var.empty()) {
    if (const char* value = std::getenv(env_var.c_str()); value != nullptr && *value != '\0') {
      std::vector<std::string> tokens = ParseTokens(value, /*comments=*/false);
      if (tokens.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("$", env_var, " holds no token"));
      }
      return FromTokens(tokens);
    }
  }
  return TokenSet();
}

absl::Status TokenSet::Check(absl::string_view header, bool header_present) const {
  if (digests_.empty()) return absl::OkStatus();
  if (!header_present) {
    return absl::UnauthenticatedError(
        "missing credentials: send metadata 'authorization: Bearer <token>'");
  }
  constexpr absl::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(header.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError(
        "malformed authorization metadata: expected 'Bearer <token>'");
  }
  const auto digest = Digest(absl::StripAsciiWhitespace(header.substr(kScheme.size())));
  int matches = 0;
  for (const auto& d : digests_) {  // no early exit: constant time in the position of the match
    matches |= (CRYPTO_memcmp(d.data(), digest.data(), d.size()) == 0) ? 1 : 0;
  }
  if (matches == 0) return absl::PermissionDeniedError("the bearer token is not valid here");
  return absl::OkStatus();
}

AuthState::AuthState(std::string client_file, std::string client_env, std::string admin_file,
                     std::string admin_env)
    : client_file_(std::move(client_file)),
      client_env_(std::move(client_env)),
      admin_file_(std::move(admin_file)),
      admin_env_(std::move(admin_env)) {}

absl::Status AuthState::Reload() {
  auto client = TokenSet::Load(client_file_, client_env_);
  if (!client.ok()) return Annotate(client.status(), "client tokens");
  auto admin = TokenSet::Load(admin_file_, admin_env_);
  if (!admin.ok()) return Annotate(admin.status(), "admin tokens");
  MutexLock lock(&mu_);
  client_ = std::make_shared<const TokenSet>(*std::move(client));
  admin_ = std::make_shared<const TokenSet>(*std::move(admin));
  return absl::OkStatus();
}

std::shared_ptr<const TokenSet> AuthState::client() const {
  MutexLock lock(&mu_);
  return client_;
}

std::shared_ptr<const TokenSet> AuthState::admin() const {
  MutexLock lock(&mu_);
  return admin_;
}

namespace {
absl::Status CheckRole(const TokenSet& tokens, const std::optional<std::string>& authorization) {
  return tokens.Check(authorization.value_or(""), authorization.has_value());
}
}  // namespace

absl::Status AuthorizeClient(const AuthState& auth,
                             const std::optional<std::string>& authorization) {
  return CheckRole(*auth.client(), authorization);
}

absl::Status AuthorizeAdmin(const AuthState& auth,
                            const std::optional<std::string>& authorization) {
  auto admin = auth.admin();
  if (!admin->enabled() && auth.client()->enabled()) {
    return absl::PermissionDeniedError(
        "the admin API is disabled: this server has client tokens but no admin token "
        "(--admin_token_file or $GEOLOC_ADMIN_TOKEN)");
  }
  return CheckRole(*admin, authorization);
}

}  // namespace geoloc::server
