// The connections file: YAML -> located JSON -> connections.schema.json -> semantic checks ->
// ConnectionsConfig. Problems are collected, never only the first, each with file:line:col.
//
// The schema catches shapes (unknown keys, types, enums); this file catches what a schema cannot:
// references between sections, URLs and their transport rules, durations, which keys a credential
// type needs or ignores, and secrets written in clear.
#include "connect/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/duration.hpp"
#include "common/json_schema.hpp"
#include "common/suggest.hpp"
#include "common/text.hpp"
#include "common/utf8.hpp"
#include "connect/vault.hpp"
#include "flow/located.hpp"
#include "flow/schema_check.hpp"

namespace spokeflow::connect {
namespace {

using namespace spokeflow::flow::detail;

constexpr std::size_t kMaxConnectionsFileBytes = 4u << 20;

// Fields that hold a secret reference, in every credential type.
constexpr std::string_view kSecretFields[] = {"token", "client_secret", "private_key", "refresh_token", "password"};

bool valid_entry_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

// ---- URLs ----------------------------------------------------------------------------------

struct Url {
  std::string scheme;  // lowercased
  std::string host;    // without IPv6 brackets, lowercased
  std::string normalized;
};

// The loopback addresses a plain-http connection may use: nothing leaves the machine.
bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  unsigned char buf[16];
  if (::inet_pton(AF_INET, host.c_str(), buf) == 1) return buf[0] == 127;
  if (::inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    static const unsigned char kLoop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(buf, kLoop, 16) == 0;
  }
  return false;
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

// An absolute http(s) URL with a host, no user info, query or fragment. Returns a message on failure.
std::optional<std::string> parse_url(const std::string& text, Url& out) {
  const auto sep = text.find("://");
  if (sep == std::string::npos || sep == 0) return "must be an absolute URL such as https://example.okta.com";
  out.scheme = ascii_lower(text.substr(0, sep));
  if (out.scheme != "https" && out.scheme != "http")
    return "must start with https:// (got '" + text.substr(0, sep) + "://')";
  std::string rest = text.substr(sep + 3);
  if (rest.find_first_of(" \t\r\n") != std::string::npos) return "must not contain spaces";
  if (rest.find('?') != std::string::npos) return "must not have a query (?...)";
  if (rest.find('#') != std::string::npos) return "must not have a fragment (#...)";
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? std::string() : rest.substr(slash);
  if (authority.find('@') != std::string::npos)
    return "must not hold a user name or password; put credentials under `credentials` and reference secrets";
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) return "has an unclosed [ in its host";
    out.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "has characters after its IPv6 host";
      port = after.substr(1);
    }
    unsigned char buf[16];
    if (::inet_pton(AF_INET6, out.host.c_str(), buf) != 1) return "has an invalid IPv6 address '" + out.host + "'";
  } else {
    const auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
    if (!std::all_of(out.host.begin(), out.host.end(), host_char))
      return "has an invalid host '" + out.host + "'";
  }
  if (out.host.empty()) return "has no host";
  out.host = ascii_lower(out.host);
  if (!port.empty() || authority.back() == ':') {
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(port) < 1 || std::stoi(port) > 65535)
      return "has an invalid port '" + port + "'";
  }
  while (!path.empty() && path.back() == '/') path.pop_back();
  out.normalized = out.scheme + "://" + ascii_lower(authority) + path;
  return std::nullopt;
}

// ---- the builder ---------------------------------------------------------------------------

class Builder {
 public:
  Builder(const LocatedDoc& doc, Diagnostics& diags, ConnectionsConfig& cfg) : doc_(doc), diags_(diags), cfg_(cfg) {}

  void build() {
    const Json& root = doc_.root;
    read_section(root, "credentials", [&](const std::string& n, const Json& v, const std::string& p) { credential(n, v, p); });
    read_section(root, "connections", [&](const std::string& n, const Json& v, const std::string& p) { connection(n, v, p); });
    read_section(root, "aliases", [&](const std::string& n, const Json& v, const std::string& p) { alias(n, v, p); });
  }

 private:
  template <class F>
  void read_section(const Json& root, const std::string& section, F&& each) {
    auto it = root.find(section);
    if (it == root.end() || !it->is_object()) return;
    const std::string sp = child_pointer("", section);
    for (const auto& [name, value] : it->items()) {
      const std::string p = child_pointer(sp, name);
      if (!valid_entry_name(name))
        diags_.error(doc_.key(p), "bad name '" + name + "' in '" + section +
                                      "': use 1 to 128 letters, digits, '_', '.' or '-'");
      each(name, value, p);
    }
  }

  std::vector<std::string> names_in(const std::string& section) const {
    std::vector<std::string> out;
    if (auto it = doc_.root.find(section); it != doc_.root.end() && it->is_object())
      for (const auto& [k, _] : it->items()) out.push_back(k);
    return out;
  }

  static const Json* member(const Json& obj, std::string_view key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(std::string(key));
    return it == obj.end() ? nullptr : &*it;
  }

  static std::optional<std::string> string_of(const Json& obj, std::string_view key) {
    const Json* v = member(obj, key);
    if (v && v->is_string()) return v->get<std::string>();
    return std::nullopt;
  }

  static std::optional<long long> int_of(const Json& obj, std::string_view key) {
    const Json* v = member(obj, key);
    if (v && v->is_number_integer()) return v->get<long long>();
    return std::nullopt;
  }

  // Reads a duration; a bad one is reported (the schema's pattern lets "" through).
  std::optional<Millis> duration_of(const Json& obj, const std::string& p, std::string_view key) {
    const Json* v = member(obj, key);
    if (!v || !v->is_string()) return std::nullopt;
    const std::string& text = v->get_ref<const std::string&>();
    auto d = parse_duration(text);
    if (!d) diags_.error(doc_.pos(child_pointer(p, key)), bad_duration_message(text));
    return d;
  }

  // ---- aliases ----

  void alias(const std::string& name, const Json& v, const std::string& p) {
    Alias a;
    a.name = name;
    a.pos = doc_.key(p);
    std::string conn_ptr;
    if (v.is_string()) {
      a.connection = v.get<std::string>();
      conn_ptr = p;
    } else if (v.is_object()) {
      a.connection = string_of(v, "connection").value_or("");
      conn_ptr = child_pointer(p, "connection");
      if (auto n = int_of(v, "max_concurrency"); n && *n >= 1) a.max_concurrency = static_cast<int>(*n);
      if (const Json* r = member(v, "retry"); r && r->is_object()) retry(*r, child_pointer(p, "retry"), a.retry);
    } else {
      return;  // the schema reported the type
    }
    if (!a.connection.empty() && !names_in_contains("connections", a.connection)) {
      auto known = names_in("connections");
      std::string msg = "alias '" + name + "' uses connection '" + a.connection + "', which is not defined under 'connections'";
      if (known.empty()) msg += " (there are no connections)";
      else msg += did_you_mean(a.connection, known);
      diags_.error(doc_.pos(conn_ptr), msg);
    }
    cfg_.aliases.emplace(name, std::move(a));
  }

  bool names_in_contains(const std::string& section, const std::string& name) const {
    auto names = names_in(section);
    return std::find(names.begin(), names.end(), name) != names.end();
  }

  void retry(const Json& r, const std::string& p, AliasRetry& out) {
    if (auto n = int_of(r, "max_attempts"); n && *n >= 1 && *n <= 100) out.max_attempts = static_cast<int>(*n);
    if (const Json* m = member(r, "multiplier"); m && m->is_number() && m->get<double>() >= 1)
      out.multiplier = m->get<double>();
    if (const Json* j = member(r, "jitter"); j && j->is_boolean()) out.jitter = j->get<bool>();
    const auto initial = duration_of(r, p, "initial_interval");
    const auto max = duration_of(r, p, "max_interval");
    if (initial) out.initial_interval = *initial;
    if (max) out.max_interval = *max;
    if (initial && max && *max < *initial)
      diags_.error(doc_.pos(child_pointer(p, "max_interval")),
                   "max_interval (" + format_duration(*max) + ") is shorter than initial_interval (" +
                       format_duration(*initial) + ")");
  }

  // ---- connections ----

  void connection(const std::string& name, const Json& v, const std::string& p) {
    if (!v.is_object()) return;
    Connection c;
    c.name = name;
    c.pos = doc_.key(p);
    c.credential = string_of(v, "credential").value_or("");
    if (!c.credential.empty() && !names_in_contains("credentials", c.credential)) {
      auto known = names_in("credentials");
      std::string msg = "connection '" + name + "' uses credential '" + c.credential +
                        "', which is not defined under 'credentials'";
      if (known.empty()) msg += " (there are no credentials)";
      else msg += did_you_mean(c.credential, known);
      diags_.error(doc_.pos(child_pointer(p, "credential")), msg);
    }
    for (const char* key : {"connect_timeout", "request_timeout"}) {
      auto d = duration_of(v, p, key);
      if (!d) continue;
      if (d->count() <= 0) {
        diags_.error(doc_.pos(child_pointer(p, key)), std::string(key) + " must be more than 0");
        continue;
      }
      (std::string_view(key) == "connect_timeout" ? c.connect_timeout : c.request_timeout) = *d;
    }
    if (auto n = int_of(v, "max_concurrency"); n && *n >= 1) c.max_concurrency = static_cast<int>(std::min<long long>(*n, 1 << 20));
    if (const Json* b = member(v, "allow_insecure_http"); b && b->is_boolean()) c.allow_insecure_http = b->get<bool>();
    // Made absolute here so that whoever opens it need not know where this file was.
    if (auto ca = string_of(v, "ca_bundle")) {
      std::filesystem::path ca_path(*ca);
      if (ca_path.is_relative() && !cfg_.base_dir.empty()) ca_path = std::filesystem::path(cfg_.base_dir) / ca_path;
      c.ca_bundle = ca_path.lexically_normal().string();
    }
    if (auto proxy = string_of(v, "proxy")) {
      c.proxy = *proxy;
      if (!proxy->empty()) check_proxy(*proxy, child_pointer(p, "proxy"));
    }

    if (auto base = string_of(v, "base_url")) {
      const std::string bp = child_pointer(p, "base_url");
      Url url;
      if (auto problem = parse_url(*base, url)) {
        diags_.error(doc_.pos(bp), "base_url " + *problem);
      } else {
        c.base_url = url.normalized;
        const bool loopback = is_loopback_host(url.host);
        if (url.scheme == "http") {
          if (!loopback)
            diags_.error(doc_.pos(bp), "base_url uses http://, which is only allowed for a loopback host (127.0.0.1, ::1, "
                                       "localhost) with allow_insecure_http: true; '" + url.host +
                                           "' is not loopback: use https://");
          else if (!c.allow_insecure_http)
            diags_.error(doc_.pos(bp), "base_url uses http:// on a loopback host: add allow_insecure_http: true to "
                                       "connection '" + name + "' to permit it (or use https://)");
        }
        if (c.allow_insecure_http && !loopback)
          diags_.error(doc_.pos(child_pointer(p, "allow_insecure_http")),
                       "allow_insecure_http is only accepted for a loopback base_url (127.0.0.0/8, ::1, localhost); '" +
                           url.host + "' is not loopback: remove it and use https://");
      }
    }
    cfg_.connections.emplace(name, std::move(c));
  }

  void check_proxy(const std::string& proxy, const std::string& p) {
    const auto sep = proxy.find("://");
    const std::string scheme = sep == std::string::npos ? std::string() : ascii_lower(proxy.substr(0, sep));
    static const std::set<std::string> kSchemes = {"http", "https", "socks4", "socks4a", "socks5", "socks5h"};
    if (!kSchemes.count(scheme)) {
      diags_.error(doc_.pos(p), "proxy must be a URL such as http://proxy:3128 (schemes: http, https, socks4, "
                                "socks4a, socks5, socks5h), or \"\" for no proxy");
      return;
    }
    std::string authority = proxy.substr(sep + 3);
    authority = authority.substr(0, authority.find('/'));
    if (authority.find('@') != std::string::npos)
      diags_.error(doc_.pos(p), "proxy must not hold a user name or password: a secret must not be written in the "
                                "connections file");
    else if (authority.empty())
      diags_.error(doc_.pos(p), "proxy has no host");
  }

  // ---- credentials ----

  struct TypeRules {
    CredentialType type;
    std::vector<std::string> required;
    std::vector<std::string> optional;
  };

  static const std::vector<TypeRules>& rules() {
    static const std::vector<TypeRules> r = {
        {CredentialType::okta_api_token, {"token"}, {}},
        {CredentialType::okta_oauth_service,
         {"client_id", "private_key", "scopes"},
         {"key_id", "algorithm", "dpop", "token_url"}},
        {CredentialType::okta_oauth_refresh,
         {"client_id", "refresh_token"},
         {"client_secret", "scopes", "dpop", "token_url", "authorize_url", "redirect_port"}},
        {CredentialType::oauth_client_secret, {"client_id", "client_secret", "token_url"}, {"scopes"}},
        {CredentialType::basic, {"username", "password"}, {}},
        {CredentialType::bearer, {"token"}, {}},
    };
    return r;
  }

  // Reads {secret|env|file: NAME}. Names are checked here rather than by the schema, whose
  // messages quote the value: a token pasted in place of a name must not be echoed.
  std::optional<SecretRef> secret_ref(const Json& obj, const std::string& p, std::string_view key,
                                      const std::string& cred) {
    const Json* v = member(obj, key);
    if (!v || !v->is_object()) return std::nullopt;
    const std::string kp = child_pointer(p, key);
    std::vector<std::string> given;
    for (const auto& [k, _] : v->items())
      if (k == "secret" || k == "env" || k == "file") given.push_back(k);
    if (given.size() != 1) {
      if (given.empty() && !v->empty()) return std::nullopt;  // only unknown keys: the schema said so
      diags_.error(doc_.pos(kp), std::string(key) + " of credential '" + cred +
                                     "' needs exactly one of secret:, env: or file:" +
                                     (given.empty() ? std::string() : " (got " + join(given) + ")"));
      return std::nullopt;
    }
    const Json& name = (*v)[given[0]];
    if (!name.is_string()) return std::nullopt;
    SecretRef ref;
    ref.name = name.get<std::string>();
    ref.pos = doc_.pos(kp);
    const SourcePos name_pos = doc_.pos(child_pointer(kp, given[0]));
    if (given[0] == "secret") {
      ref.source = SecretRef::Source::vault;
      if (!valid_secret_name(ref.name))
        diags_.error(name_pos, "the vault name in " + std::string(key) + " of credential '" + cred +
                                   "' must be 1 to 128 letters, digits, '_', '.' or '-' (store the value with "
                                   "`spokeflow secrets set NAME` and write its name here)");
    } else if (given[0] == "env") {
      ref.source = SecretRef::Source::env;
      const bool ok = !ref.name.empty() && !(ref.name[0] >= '0' && ref.name[0] <= '9') &&
                      std::all_of(ref.name.begin(), ref.name.end(), [](char c) {
                        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                      });
      if (!ok)
        diags_.error(name_pos, "the environment variable name in " + std::string(key) + " of credential '" + cred +
                                   "' must use letters, digits and _, not starting with a digit");
    } else {
      ref.source = SecretRef::Source::file;
    }
    return ref;
  }

  std::optional<std::string> endpoint(const Json& v, const std::string& p, std::string_view key) {
    auto text = string_of(v, key);
    if (!text) return std::nullopt;
    const std::string kp = child_pointer(p, key);
    Url url;
    if (auto problem = parse_url(*text, url)) {
      diags_.error(doc_.pos(kp), std::string(key) + " " + *problem);
      return std::nullopt;
    }
    if (url.scheme == "http" && !is_loopback_host(url.host)) {
      diags_.error(doc_.pos(kp), std::string(key) + " uses http://, which is only allowed for a loopback host "
                                                    "(127.0.0.1, ::1, localhost): use https://");
      return std::nullopt;
    }
    return url.normalized;
  }

  void credential(const std::string& name, const Json& v, const std::string& p) {
    if (!v.is_object()) return;
    auto type_text = string_of(v, "type");
    const TypeRules* rule = nullptr;
    for (const auto& r : rules())
      if (type_text && *type_text == to_string(r.type)) rule = &r;
    if (!rule) return;  // missing or unknown type: the schema reported it

    Credential c;
    c.name = name;
    c.type = rule->type;
    c.pos = doc_.key(p);
    const std::string type_name(to_string(c.type));
    const std::string a_type = (type_name[0] == 'o' ? "an " : "a ") + type_name;

    for (const auto& key : rule->required) {
      if (!member(v, key))
        diags_.error(c.pos, "credential '" + name + "' (" + type_name + ") needs '" + key + "'" + required_hint(key));
    }
    std::vector<std::string> allowed = rule->required;
    allowed.insert(allowed.end(), rule->optional.begin(), rule->optional.end());
    for (const auto& [key, _] : v.items()) {
      if (key == "type" || key == "description") continue;
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      // Keys the schema does not know at all are reported there, once.
      if (!known_credential_key(key)) continue;
      diags_.error(doc_.key(child_pointer(p, key)), "'" + key + "' does not apply to " + a_type +
                                                        " credential (its keys: " + join(allowed) + ")");
    }

    c.token = secret_ref(v, p, "token", name);
    c.client_secret = secret_ref(v, p, "client_secret", name);
    c.private_key = secret_ref(v, p, "private_key", name);
    c.refresh_token = secret_ref(v, p, "refresh_token", name);
    c.password = secret_ref(v, p, "password", name);
    c.client_id = string_of(v, "client_id").value_or("");
    c.key_id = string_of(v, "key_id").value_or("");
    c.username = string_of(v, "username").value_or("");
    c.algorithm = string_of(v, "algorithm").value_or("auto");
    if (const Json* d = member(v, "dpop")) {
      if (d->is_boolean()) c.dpop = d->get<bool>() ? DpopMode::on : DpopMode::off;
      else if (*d == "on") c.dpop = DpopMode::on;
      else if (*d == "off") c.dpop = DpopMode::off;
    }
    if (const Json* s = member(v, "scopes"); s && s->is_array()) {
      for (const auto& item : *s)
        if (item.is_string()) c.scopes.push_back(item.get<std::string>());
      if (s->empty() && c.type == CredentialType::okta_oauth_service)
        diags_.error(doc_.pos(child_pointer(p, "scopes")),
                     "scopes of credential '" + name + "' must not be empty: list the Okta scopes granted to the app, "
                                                       "e.g. [okta.users.manage, okta.groups.read]");
    }
    if (auto port = int_of(v, "redirect_port"); port && *port >= 0 && *port <= 65535)
      c.redirect_port = static_cast<std::uint16_t>(*port);
    c.token_url = endpoint(v, p, "token_url").value_or("");
    c.authorize_url = endpoint(v, p, "authorize_url").value_or("");

    if (c.type == CredentialType::okta_oauth_refresh && member(v, "refresh_token") && member(v, "refresh_token")->is_object() &&
        (!c.refresh_token || c.refresh_token->source != SecretRef::Source::vault))
      diags_.error(doc_.pos(child_pointer(p, "refresh_token")),
                   "refresh_token of credential '" + name + "' must be a vault reference {secret: NAME}: "
                   "`spokeflow auth login` stores the refresh token there (and renews it)");
    cfg_.credentials.emplace(name, std::move(c));
  }

  static std::string required_hint(const std::string& key) {
    if (key == "token" || key == "client_secret" || key == "private_key" || key == "password")
      return " (a reference such as {secret: NAME}, {env: VAR} or {file: PATH})";
    if (key == "refresh_token") return " (a vault reference {secret: NAME}, filled by `spokeflow auth login`)";
    if (key == "scopes") return " (a list such as [okta.users.manage])";
    return "";
  }

  static bool known_credential_key(const std::string& key) {
    static const std::set<std::string> kKnown = {"token",   "client_id", "client_secret", "private_key", "key_id",
                                                 "algorithm", "scopes",  "dpop",          "token_url",   "authorize_url",
                                                 "refresh_token", "redirect_port", "username", "password"};
    return kKnown.count(key) > 0;
  }

  const LocatedDoc& doc_;
  Diagnostics& diags_;
  ConnectionsConfig& cfg_;
};

// A secret written in clear is reported, and replaced in the copy the schema checks, so that no
// schema message can echo it ("should be an object, not a string ('s3cr3t')").
Json without_literal_secrets(const LocatedDoc& doc, Diagnostics& diags) {
  Json copy = doc.root;
  auto creds = copy.find("credentials");
  if (creds == copy.end() || !creds->is_object()) return copy;
  for (auto& [name, cred] : creds->items()) {
    if (cred.is_string() || cred.is_number()) {
      // `name: <token>`: said without quoting it, and the schema checks a harmless stand-in.
      diags.error(doc.pos(child_pointer(child_pointer("", "credentials"), name)),
                  "credential '" + name + "' must be a mapping with type: and its keys; a secret must not be "
                  "written in the connections file; store it with `spokeflow secrets set NAME` and write "
                  "{secret: NAME} (or {env: VAR} / {file: PATH})");
      cred = Json{{"type", "bearer"}, {"token", {{"secret", "redacted"}}}};
      continue;
    }
    if (!cred.is_object()) continue;
    for (std::string_view field : kSecretFields) {
      auto it = cred.find(std::string(field));
      if (it == cred.end() || it->is_object() || it->is_array() || it->is_null()) continue;
      const std::string p = child_pointer(child_pointer(child_pointer("", "credentials"), name), field);
      diags.error(doc.pos(p), std::string(field) + " of credential '" + name +
                                  "' is written in clear: a secret must not be written in the connections file; "
                                  "store it with `spokeflow secrets set NAME` and write {secret: NAME} "
                                  "(or {env: VAR} / {file: PATH})");
      *it = Json{{"secret", "redacted"}};
    }
  }
  return copy;
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string folder_of(const std::string& file) {
  if (file.empty()) return ".";
  std::filesystem::path p(file);
  std::filesystem::path dir = p.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  auto abs = std::filesystem::absolute(dir, ec);
  if (ec) return dir.string();
  std::string out = abs.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

Result<ConnectionsConfig> failed(Diagnostics& local, Diagnostics& diags) {
  local.sort_unique();
  diags.append(local);
  std::string message = local.format();
  if (!message.empty() && message.back() == '\n') message.pop_back();
  return Error::make(ErrorKind::validation, std::move(message));
}

// The YAML reader is shared with flow files; its few messages that name the kind of file are
// reworded for this one.
std::string for_connections(std::string message) {
  if (message.rfind("the flow file is empty", 0) == 0)
    return "the connections file is empty (it needs connections: and credentials:, and aliases: for flows to use "
           "them)";
  for (auto [from, to] : {std::pair<std::string_view, std::string_view>{"the flow file", "the connections file"},
                          {"a flow file", "a connections file"},
                          {"flow files use", "connections files use"}}) {
    if (auto at = message.find(from); at != std::string::npos) message.replace(at, from.size(), to);
  }
  return message;
}

std::string size_text(std::size_t bytes) { return std::to_string(bytes) + " bytes; the limit is 4 MiB"; }

}  // namespace

std::string_view to_string(CredentialType t) {
  switch (t) {
    case CredentialType::okta_api_token: return "okta_api_token";
    case CredentialType::okta_oauth_service: return "okta_oauth_service";
    case CredentialType::okta_oauth_refresh: return "okta_oauth_refresh";
    case CredentialType::oauth_client_secret: return "oauth_client_secret";
    case CredentialType::basic: return "basic";
    case CredentialType::bearer: return "bearer";
  }
  return "unknown";
}

const Alias* ConnectionsConfig::alias(std::string_view name) const {
  auto it = aliases.find(std::string(name));
  return it == aliases.end() ? nullptr : &it->second;
}

const Connection* ConnectionsConfig::connection_of(const Alias& a) const {
  auto it = connections.find(a.connection);
  return it == connections.end() ? nullptr : &it->second;
}

const Credential* ConnectionsConfig::credential_of(const Connection& c) const {
  auto it = credentials.find(c.credential);
  return it == credentials.end() ? nullptr : &it->second;
}

Result<ConnectionsConfig> load_connections_text(std::string_view text, const std::string& file, Diagnostics& diags) {
  Diagnostics local(file);
  if (text.size() > kMaxConnectionsFileBytes) {
    local.error({}, "the connections file is too large (" + size_text(text.size()) + ")");
    return failed(local, diags);
  }
  std::string_view body = text;
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // a UTF-8 byte order mark
  SourceMap map(body);
  if (auto bad = find_invalid_utf8(body)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(body[*bad])));
    local.error(map.at(*bad), std::string("the file is not valid UTF-8 (byte ") + hex + " here); save it as UTF-8");
    return failed(local, diags);
  }

  ConnectionsConfig cfg;
  cfg.file = file;
  cfg.base_dir = folder_of(file);
  try {
    LocatedDoc doc;
    Diagnostics yaml(file);
    const bool parsed = parse_yaml(body, map, doc, yaml);
    for (Diagnostic d : yaml.items()) {
      d.message = for_connections(std::move(d.message));
      local.add(std::move(d));
    }
    if (!parsed) return failed(local, diags);
    if (!doc.root.is_object()) {
      local.error(SourcePos{1, 1}, "a connections file is a mapping with aliases:, connections: and credentials:, not " +
                                       describe_value(doc.root));
      return failed(local, diags);
    }
    const Json checked = without_literal_secrets(doc, local);
    SchemaCheck check;
    check_schema(*JsonSchema::embedded("connections.schema.json"), checked, check, doc, local);
    Builder(doc, local, cfg).build();
  } catch (const std::exception& e) {
    // Loading only checks input: reaching this is a bug, reported rather than crashing.
    local.error({}, std::string("internal error while loading the connections file: ") + e.what());
  }
  if (!local.empty()) return failed(local, diags);
  return cfg;
}

Result<ConnectionsConfig> load_connections_file(const std::string& path, Diagnostics& diags) {
  Diagnostics local(path);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    local.error({}, "cannot read connections file " + path + ": it is a directory");
    return failed(local, diags);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    std::string msg = "cannot read connections file " + path + ": " + std::strerror(err);
    if (err == ENOENT)
      msg += " (write one, see examples/connections/, or point SPOKEFLOW_CONNECTIONS at it)";
    local.error({}, msg);
    return failed(local, diags);
  }
  // Read at most one byte over the limit: a huge file is refused without loading it.
  std::string text(kMaxConnectionsFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    local.error({}, "cannot read connections file " + path + ": read error");
    return failed(local, diags);
  }
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxConnectionsFileBytes) {
    local.error({}, "the connections file is too large (more than 4 MiB)");
    return failed(local, diags);
  }
  return load_connections_text(text, path, diags);
}

std::string default_connections_path() {
  if (std::string v = env_or_empty("SPOKEFLOW_CONNECTIONS"); !v.empty()) return v;
  std::error_code ec;
  if (std::filesystem::is_regular_file("connections.yaml", ec)) return "connections.yaml";
  std::string config = env_or_empty("XDG_CONFIG_HOME");
  if (config.empty() || config.front() != '/') {
    std::string home = env_or_empty("HOME");
    config = (home.empty() ? std::string(".") : home) + "/.config";
  }
  return config + "/spokeflow/connections.yaml";
}

}  // namespace spokeflow::connect
