#include "serve/tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cctype>
#include <stdexcept>

#include "common/duration.hpp"
#include "common/ids.hpp"
#include "flow/loader.hpp"

namespace spokeflow::serve {

std::optional<Role> parse_role(std::string_view name) {
  if (name == "viewer") return Role::viewer;
  if (name == "operator") return Role::operator_;
  if (name == "admin") return Role::admin;
  return std::nullopt;
}

std::string to_string(Role role) {
  switch (role) {
    case Role::viewer: return "viewer";
    case Role::operator_: return "operator";
    case Role::admin: return "admin";
    case Role::none: break;
  }
  return "none";
}

std::string new_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("the system's random source failed");
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out = "sft_";
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::string token_hash(std::string_view token) { return flow::sha256_hex(token); }

bool same_secret(std::string_view given, std::string_view expected) {
  const std::string a = flow::sha256_hex(given), b = flow::sha256_hex(expected);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool valid_token_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

Caller judge_token(const std::optional<store::ApiToken>& record, std::int64_t now_ms) {
  Caller c;
  if (!record) {
    c.problem = "the token is not known";
    return c;
  }
  c.token_name = record->name;
  if (record->revoked_at > 0) {
    c.problem = "the token '" + record->name + "' was revoked";
    return c;
  }
  if (record->expires_at > 0 && now_ms >= record->expires_at) {
    c.problem = "the token '" + record->name + "' has expired";
    return c;
  }
  auto role = parse_role(record->role);
  if (!role) {
    c.problem = "the token '" + record->name + "' has an unknown role";
    return c;
  }
  c.role = *role;
  return c;
}

Result<NewToken> make_token(const std::string& name, const std::string& role, const std::string& expires,
                            std::int64_t now_ms) {
  if (!valid_token_name(name))
    return Error::make(ErrorKind::validation,
                       "token name '" + name + "' must be 1-64 of letters, digits, '.', '_' and '-'");
  if (!parse_role(role)) return Error::make(ErrorKind::validation, "the role must be viewer, operator or admin");
  NewToken out;
  if (!expires.empty()) {
    auto d = parse_duration(expires);
    if (!d || d->count() <= 0)
      return Error::make(ErrorKind::validation, "expires '" + expires + "' is not a duration (such as 90d, 12h)");
    out.record.expires_at = now_ms + d->count();
  }
  out.token = new_token();
  out.record.name = name;
  out.record.role = role;
  out.record.hash = token_hash(out.token);
  out.record.created_at = now_ms;
  return out;
}

std::string token_state(const store::ApiToken& t, std::int64_t now_ms) {
  if (t.revoked_at) return "revoked";
  if (t.expires_at && now_ms >= t.expires_at) return "expired";
  return "active";
}

Json token_row(const store::ApiToken& t, std::int64_t now_ms) {
  Json row = {{"name", t.name}, {"role", t.role}, {"state", token_state(t, now_ms)},
              {"created_at", format_timestamp(t.created_at)}};
  row["expires_at"] = t.expires_at ? Json(format_timestamp(t.expires_at)) : Json();
  row["revoked_at"] = t.revoked_at ? Json(format_timestamp(t.revoked_at)) : Json();
  row["last_used_at"] = t.last_used_at ? Json(format_timestamp(t.last_used_at)) : Json();
  return row;
}

}  // namespace spokeflow::serve
