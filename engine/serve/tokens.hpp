#pragma once
// API tokens and roles. A token is shown once when made; the store keeps only its SHA-256, so
// a copy of the store gives no one a way in. Every `serve` sharing the store knows every token.
#include <optional>
#include <string>

#include "common/error.hpp"
#include "store/store.hpp"

namespace spokeflow::serve {

enum class Role { none = 0, viewer = 1, operator_ = 2, admin = 3 };

std::optional<Role> parse_role(std::string_view name);
std::string to_string(Role role);

// A new random token: "sft_" and 43 characters of base64url (256 random bits).
std::string new_token();
// What the store keeps of a token.
std::string token_hash(std::string_view token);
// Whether two secrets are equal, in a time that depends neither on where they differ nor on
// their lengths (hook secrets, CSRF tokens).
bool same_secret(std::string_view given, std::string_view expected);
// Whether `name` may name a token: 1-64 of [A-Za-z0-9._-].
bool valid_token_name(std::string_view name);

// Who a caller is, from the token it presented (none = no usable token).
struct Caller {
  Role role = Role::none;
  std::string token_name;
  std::string problem;  // why the token was refused ("" when no token was presented)
  // Presented by a browser session's cookie (web_ui.hpp): its changes must carry `csrf`.
  bool session = false;
  std::string csrf;
};

// Judges a presented token against its stored record at `now_ms`.
Caller judge_token(const std::optional<store::ApiToken>& record, std::int64_t now_ms);

// A token about to be made: the record the store keeps and the token itself (shown once).
struct NewToken {
  store::ApiToken record;
  std::string token;
};
// The rules `tokens create` and the API share: the name's form, the role, `expires` as a
// duration ("" = never). A validation Error says which is wrong; nothing is stored here.
Result<NewToken> make_token(const std::string& name, const std::string& role, const std::string& expires,
                            std::int64_t now_ms);
// active, revoked or expired at `now_ms`.
std::string token_state(const store::ApiToken& token, std::int64_t now_ms);
// A token as lists show it: never its hash.
Json token_row(const store::ApiToken& token, std::int64_t now_ms);

}  // namespace spokeflow::serve
