// The connections file loader (aliases -> connections -> credentials) and the secret resolver.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "common/ids.hpp"
#include "common/scrub.hpp"
#include "connect/config.hpp"
#include "connect/secrets.hpp"
#include "connect/vault.hpp"
#include "doctest_lines.hpp"
#include "test_util.hpp"

using namespace spokeflow;
using namespace spokeflow::connect;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

using EnvVar = spokeflow::test::EnvVar;

namespace {

struct TempDir : spokeflow::test::TempDir {
  TempDir() : spokeflow::test::TempDir("spokeflow-conncfg-") {}
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Every diagnostic, formatted "c.yaml:L:C: error: ...".
std::vector<std::string> errors(const std::string& text) {
  Diagnostics diags;
  auto r = load_connections_text(text, "c.yaml", diags);
  std::vector<std::string> out;
  for (const auto& d : diags.items()) out.push_back(d.format());
  if (r.ok()) CHECK(out.empty());
  else CHECK_FALSE(out.empty());
  return out;
}

ConnectionsConfig load_ok(const std::string& text, const std::string& file = "dir/c.yaml") {
  Diagnostics diags;
  auto r = load_connections_text(text, file, diags);
  INFO(diags.format());
  REQUIRE(r.ok());
  CHECK(diags.empty());
  return std::move(r).value();
}

// A valid credentials section, for tests about the other sections.
const std::string kCreds = R"(
credentials:
  tok: { type: okta_api_token, token: { env: OKTA_TOKEN } }
)";

}  // namespace

TEST_CASE("a full valid file parses into aliases, connections and credentials") {
  const std::string text = R"(aliases:
  okta: { connection: acme, retry: { max_attempts: 6, initial_interval: 250ms, max_interval: 1m, multiplier: 1.5, jitter: false }, max_concurrency: 10 }
  okta_emea: acme_emea            # shorthand
connections:
  acme:
    base_url: https://acme.okta.com/
    credential: acme_service
    connect_timeout: 5s
    request_timeout: 1m30s
    max_concurrency: 20
    proxy: http://proxy.internal:3128
    ca_bundle: certs/ca.pem
  acme_emea:
    base_url: HTTPS://Acme-EMEA.okta.com:8443/base/
    credential: acme_token
  sim:
    base_url: http://127.0.0.1:8008
    allow_insecure_http: true
    credential: acme_user
    proxy: ""
credentials:
  acme_token: { type: okta_api_token, token: { secret: acme_okta_token } }
  acme_service:
    type: okta_oauth_service
    client_id: 0oa1abcdEFGH
    private_key: { file: keys/acme.pem }
    key_id: kid1
    algorithm: ES256
    scopes: [okta.users.manage, okta.groups.read]
    dpop: on
    token_url: https://acme.okta.com/oauth2/v1/token
  acme_user: { type: okta_oauth_refresh, client_id: web1, client_secret: { env: WEB_SECRET }, scopes: [offline_access, okta.users.read],
               refresh_token: { secret: acme_refresh }, redirect_port: 8765, dpop: false }
  api: { type: oauth_client_secret, client_id: c1, client_secret: { secret: api_secret }, token_url: https://auth.example.com/token, scopes: [read] }
  basic1: { type: basic, username: u1, password: { secret: p1 } }
  bearer1: { type: bearer, token: { env: T1 } }
)";
  const ConnectionsConfig cfg = load_ok(text);
  CHECK(cfg.file == "dir/c.yaml");
  CHECK(cfg.base_dir == (fs::current_path() / "dir").string());
  REQUIRE(cfg.aliases.size() == 2);
  REQUIRE(cfg.connections.size() == 3);
  REQUIRE(cfg.credentials.size() == 6);

  const Alias* okta = cfg.alias("okta");
  REQUIRE(okta != nullptr);
  CHECK(okta->connection == "acme");
  CHECK(okta->pos.line == 2);
  CHECK(okta->pos.col == 3);
  CHECK(okta->retry.max_attempts == 6);
  CHECK(okta->retry.initial_interval == 250ms);
  CHECK(okta->retry.max_interval == 60s);
  CHECK(okta->retry.multiplier == 1.5);
  CHECK(okta->retry.jitter == false);
  CHECK(okta->max_concurrency == 10);
  CHECK(cfg.alias("nope") == nullptr);

  const Alias* emea = cfg.alias("okta_emea");
  REQUIRE(emea != nullptr);
  CHECK(emea->connection == "acme_emea");
  CHECK(emea->retry.max_attempts == 4);  // defaults
  CHECK(emea->retry.initial_interval == 500ms);
  CHECK(emea->retry.max_interval == 30s);
  CHECK(emea->retry.jitter == true);
  CHECK(emea->max_concurrency == 0);

  const Connection* acme = cfg.connection_of(*okta);
  REQUIRE(acme != nullptr);
  CHECK(acme->name == "acme");
  CHECK(acme->base_url == "https://acme.okta.com");
  CHECK(acme->connect_timeout == 5s);
  CHECK(acme->request_timeout == 90s);
  CHECK(acme->max_concurrency == 20);
  CHECK(acme->proxy == std::optional<std::string>("http://proxy.internal:3128"));
  CHECK(acme->ca_bundle == std::optional<std::string>((fs::current_path() / "dir/certs/ca.pem").string()));
  CHECK_FALSE(acme->allow_insecure_http);

  const Connection* e = cfg.connection_of(*emea);
  REQUIRE(e != nullptr);
  CHECK(e->base_url == "https://acme-emea.okta.com:8443/base");
  CHECK(e->connect_timeout == 10s);
  CHECK(e->request_timeout == 30s);
  CHECK_FALSE(e->proxy.has_value());
  CHECK_FALSE(e->ca_bundle.has_value());

  const Connection& sim = cfg.connections.at("sim");
  CHECK(sim.base_url == "http://127.0.0.1:8008");
  CHECK(sim.allow_insecure_http);
  CHECK(sim.proxy == std::optional<std::string>(""));

  const Credential* svc = cfg.credential_of(*acme);
  REQUIRE(svc != nullptr);
  CHECK(svc->type == CredentialType::okta_oauth_service);
  CHECK(svc->client_id == "0oa1abcdEFGH");
  REQUIRE(svc->private_key.has_value());
  CHECK(svc->private_key->source == SecretRef::Source::file);
  CHECK(svc->private_key->name == "keys/acme.pem");
  CHECK(svc->private_key->pos.line == 26);
  CHECK(svc->private_key->pos.col == 18);
  CHECK(svc->key_id == "kid1");
  CHECK(svc->algorithm == "ES256");
  CHECK(svc->scopes == std::vector<std::string>{"okta.users.manage", "okta.groups.read"});
  CHECK(svc->dpop == DpopMode::on);
  CHECK(svc->token_url == "https://acme.okta.com/oauth2/v1/token");

  const Credential& tok = *cfg.credential_of(*e);
  CHECK(tok.type == CredentialType::okta_api_token);
  REQUIRE(tok.token.has_value());
  CHECK(tok.token->source == SecretRef::Source::vault);
  CHECK(tok.token->name == "acme_okta_token");
  CHECK(tok.algorithm == "auto");
  CHECK(tok.dpop == DpopMode::auto_);

  const Credential& user = cfg.credentials.at("acme_user");
  CHECK(user.type == CredentialType::okta_oauth_refresh);
  CHECK(user.client_secret->source == SecretRef::Source::env);
  CHECK(user.client_secret->name == "WEB_SECRET");
  CHECK(user.refresh_token->source == SecretRef::Source::vault);
  CHECK(user.refresh_token->name == "acme_refresh");
  CHECK(user.redirect_port == 8765);
  CHECK(user.dpop == DpopMode::off);
  CHECK(user.token_url.empty());  // the client derives <base_url>/oauth2/v1/token

  const Credential& api = cfg.credentials.at("api");
  CHECK(api.type == CredentialType::oauth_client_secret);
  CHECK(api.token_url == "https://auth.example.com/token");
  CHECK(api.scopes == std::vector<std::string>{"read"});
  const Credential& basic = cfg.credentials.at("basic1");
  CHECK(basic.username == "u1");
  CHECK(basic.password->name == "p1");
  CHECK(cfg.credentials.at("bearer1").token->source == SecretRef::Source::env);
}

TEST_CASE("to_string(CredentialType) and SecretRef::describe") {
  CHECK(to_string(CredentialType::okta_api_token) == "okta_api_token");
  CHECK(to_string(CredentialType::okta_oauth_service) == "okta_oauth_service");
  CHECK(to_string(CredentialType::okta_oauth_refresh) == "okta_oauth_refresh");
  CHECK(to_string(CredentialType::oauth_client_secret) == "oauth_client_secret");
  CHECK(to_string(CredentialType::basic) == "basic");
  CHECK(to_string(CredentialType::bearer) == "bearer");
  CHECK(SecretRef{SecretRef::Source::vault, "okta_token", {}}.describe() == "secret 'okta_token'");
  CHECK(SecretRef{SecretRef::Source::env, "OKTA_TOKEN", {}}.describe() == "environment variable OKTA_TOKEN");
  CHECK(SecretRef{SecretRef::Source::file, "keys/x.pem", {}}.describe() == "file keys/x.pem");
}

TEST_CASE("references between sections: unknown connection and credential, with suggestions") {
  const std::string text = R"(aliases:
  okta: { connection: acmee }
  other: nowhere
connections:
  acme:
    base_url: https://acme.okta.com
    credential: tokk
)" + kCreds;
  CHECK(errors(text) == std::vector<std::string>{
                            "c.yaml:2:23: error: alias 'okta' uses connection 'acmee', which is not defined under "
                            "'connections'; did you mean 'acme'?",
                            "c.yaml:3:10: error: alias 'other' uses connection 'nowhere', which is not defined under "
                            "'connections'",
                            "c.yaml:7:17: error: connection 'acme' uses credential 'tokk', which is not defined under "
                            "'credentials'; did you mean 'tok'?",
                        });
  CHECK(errors("aliases:\n  okta: acme\n") ==
        std::vector<std::string>{"c.yaml:2:9: error: alias 'okta' uses connection 'acme', which is not defined under "
                                 "'connections' (there are no connections)"});
}

TEST_CASE("base_url: absolute http(s) URL with a host, no query, fragment or user info") {
  auto one = [](const std::string& url) {
    auto e = errors("connections:\n  c:\n    base_url: \"" + url + "\"\n    credential: tok\n" + kCreds);
    REQUIRE(e.size() == 1);
    CHECK(e[0].rfind("c.yaml:3:15: error: base_url ", 0) == 0);
    return e[0].substr(std::string("c.yaml:3:15: error: ").size());
  };
  CHECK(one("acme.okta.com") == "base_url must be an absolute URL such as https://example.okta.com");
  CHECK(one("ftp://acme.okta.com") == "base_url must start with https:// (got 'ftp://')");
  CHECK(one("https://acme.okta.com/?a=1") == "base_url must not have a query (?...)");
  CHECK(one("https://acme.okta.com/#x") == "base_url must not have a fragment (#...)");
  CHECK(one("https:///path") == "base_url has no host");
  CHECK(one("https://acme.okta.com:99999") == "base_url has an invalid port '99999'");
  CHECK(one("https://ac me.okta.com") == "base_url must not contain spaces");
  const std::string userinfo = one("https://admin:hunter2pass@acme.okta.com");
  CHECK(userinfo.find("must not hold a user name or password") != std::string::npos);
  CHECK(userinfo.find("hunter2pass") == std::string::npos);

  auto cfg = load_ok("connections:\n  c: { base_url: 'https://[::1]:8443//', credential: tok, allow_insecure_http: true }\n" + kCreds);
  CHECK(cfg.connections.at("c").base_url == "https://[::1]:8443");
}

TEST_CASE("plain http only for a loopback host with allow_insecure_http: true") {
  auto conn = [](const std::string& url, const std::string& extra) {
    return "connections:\n  c:\n    base_url: " + url + "\n    credential: tok\n" + extra + kCreds;
  };
  for (const char* url : {"http://127.0.0.1:8008", "http://127.1.2.3", "http://localhost:9000/x", "http://[::1]:8008"})
    CHECK(load_ok(conn(url, "    allow_insecure_http: true\n")).connections.at("c").allow_insecure_http);

  CHECK(errors(conn("http://127.0.0.1:8008", "")) ==
        std::vector<std::string>{"c.yaml:3:15: error: base_url uses http:// on a loopback host: add "
                                 "allow_insecure_http: true to connection 'c' to permit it (or use https://)"});
  CHECK(errors(conn("http://127.0.0.1:8008", "    allow_insecure_http: false\n")).size() == 1);
  CHECK(errors(conn("http://acme.okta.com", "")) ==
        std::vector<std::string>{"c.yaml:3:15: error: base_url uses http://, which is only allowed for a loopback host "
                                 "(127.0.0.1, ::1, localhost) with allow_insecure_http: true; 'acme.okta.com' is not "
                                 "loopback: use https://"});
  CHECK(errors(conn("http://128.0.0.1", "")).size() == 1);  // not 127/8
  CHECK(errors(conn("http://127.0.0.1.evil.com", "    allow_insecure_http: true\n")).size() == 2);
  // Asking for insecure http on a real host is an error even with https.
  CHECK(errors(conn("https://acme.okta.com", "    allow_insecure_http: true\n")) ==
        std::vector<std::string>{"c.yaml:5:26: error: allow_insecure_http is only accepted for a loopback base_url "
                                 "(127.0.0.0/8, ::1, localhost); 'acme.okta.com' is not loopback: remove it and use "
                                 "https://"});
}

TEST_CASE("a secret written in clear is refused and never echoed") {
  const std::string text = R"(credentials:
  a: { type: okta_api_token, token: 00abcSecretTokenValue }
  b:
    type: basic
    username: admin
    password: 123456789
  c: sneaky-secret-value-here
)";
  const auto e = errors(text);
  const std::string advice = "a secret must not be written in the connections file; store it with `spokeflow secrets "
                             "set NAME` and write {secret: NAME} (or {env: VAR} / {file: PATH})";
  CHECK(e == std::vector<std::string>{
                 "c.yaml:2:37: error: token of credential 'a' is written in clear: " + advice,
                 "c.yaml:6:15: error: password of credential 'b' is written in clear: " + advice,
                 "c.yaml:7:6: error: credential 'c' must be a mapping with type: and its keys; " + advice,
             });
  for (const auto& line : e) {
    CHECK(line.find("00abcSecretTokenValue") == std::string::npos);
    CHECK(line.find("123456789") == std::string::npos);
    CHECK(line.find("sneaky-secret") == std::string::npos);
  }
}

TEST_CASE("unknown keys are rejected at their position, with a suggestion") {
  const std::string text = R"(aliases:
  okta: { conection: acme }
connections:
  acme:
    base_url: https://acme.okta.com
    credential: tok
    timeout: 5s
credentials:
  tok: { type: okta_api_token, token: { secrt: x } }
conections: {}
)";
  CHECK(errors(text) == std::vector<std::string>{
                            "c.yaml:2:9: error: missing required key 'connection' in 'okta'",
                            "c.yaml:2:11: error: unknown key 'conection' in 'okta' (expected one of: connection, "
                            "description, max_concurrency, retry); did you mean 'connection'?",
                            "c.yaml:7:5: error: unknown key 'timeout' in 'acme' (expected one of: allow_insecure_http, "
                            "base_url, ca_bundle, connect_timeout, credential, description, max_concurrency, proxy, "
                            "request_timeout)",
                            "c.yaml:9:41: error: unknown key 'secrt' in 'token' (expected one of: env, file, secret); "
                            "did you mean 'secret'?",
                            "c.yaml:10:1: error: unknown key 'conections' at the top level (expected one of: aliases, "
                            "connections, credentials); did you mean 'connections'?",
                        });
}

TEST_CASE("credential types: required keys, keys that do not apply, scopes, refresh token in the vault") {
  const std::string text = R"(credentials:
  t: { type: okta_api_token }
  s: { type: okta_oauth_service, client_id: x, private_key: { file: k.pem }, scopes: [] }
  s2: { type: okta_oauth_service, client_id: x, private_key: { file: k.pem }, scopes: [a], password: { env: P } }
  r: { type: okta_oauth_refresh, client_id: y, refresh_token: { env: R } }
  o: { type: oauth_client_secret, client_id: c, client_secret: { env: S } }
  b: { type: basic, username: u }
  x: { type: bearer, token: { secret: a, env: B } }
  y: { type: bearer, token: {} }
  z: { type: bearer, token: { secret: "not a name" } }
  w: { type: bearer, token: { env: 9X } }
  v: { token: { env: X } }
  u: { type: okta_token }
)";
  CHECK(errors(text) ==
        std::vector<std::string>{
            "c.yaml:2:3: error: credential 't' (okta_api_token) needs 'token' (a reference such as {secret: NAME}, "
            "{env: VAR} or {file: PATH})",
            "c.yaml:3:86: error: scopes of credential 's' must not be empty: list the Okta scopes granted to the app, "
            "e.g. [okta.users.manage, okta.groups.read]",
            "c.yaml:4:92: error: 'password' does not apply to an okta_oauth_service credential (its keys: client_id, "
            "private_key, scopes, key_id, algorithm, dpop, token_url)",
            "c.yaml:5:63: error: refresh_token of credential 'r' must be a vault reference {secret: NAME}: `spokeflow "
            "auth login` stores the refresh token there (and renews it)",
            "c.yaml:6:3: error: credential 'o' (oauth_client_secret) needs 'token_url'",
            "c.yaml:7:3: error: credential 'b' (basic) needs 'password' (a reference such as {secret: NAME}, {env: "
            "VAR} or {file: PATH})",
            "c.yaml:8:29: error: token of credential 'x' needs exactly one of secret:, env: or file: (got env, secret)",
            "c.yaml:9:29: error: token of credential 'y' needs exactly one of secret:, env: or file:",
            "c.yaml:10:39: error: the vault name in token of credential 'z' must be 1 to 128 letters, digits, '_', "
            "'.' or '-' (store the value with `spokeflow secrets set NAME` and write its name here)",
            "c.yaml:11:36: error: the environment variable name in token of credential 'w' must use letters, digits "
            "and _, not starting with a digit",
            "c.yaml:12:6: error: missing required key 'type' in 'v'",
            "c.yaml:13:14: error: 'type' must be one of: okta_api_token, okta_oauth_service, okta_oauth_refresh, "
            "oauth_client_secret, basic, bearer (got 'okta_token')",
        });
  // The refresh credential needs its vault entry, named.
  CHECK(errors("credentials:\n  r: { type: okta_oauth_refresh, client_id: y }\n") ==
        std::vector<std::string>{"c.yaml:2:3: error: credential 'r' (okta_oauth_refresh) needs 'refresh_token' (a "
                                 "vault reference {secret: NAME}, filled by `spokeflow auth login`)"});
}

TEST_CASE("durations, retry policy, token endpoints, names, proxy") {
  const std::string text = R"(aliases:
  a: { connection: c, retry: { max_attempts: 0, initial_interval: 5s, max_interval: 1s } }
  "bad name": c
connections:
  c:
    base_url: https://acme.okta.com
    credential: tok
    connect_timeout: 10x
    request_timeout: 0s
    proxy: "http://user:pw@proxy:3128"
  d: { base_url: https://acme.okta.com, credential: tok, proxy: "proxy:3128" }
credentials:
  tok: { type: okta_api_token, token: { env: OKTA_TOKEN } }
  o: { type: oauth_client_secret, client_id: c, client_secret: { env: S }, token_url: http://auth.example.com/token }
  s: { type: okta_oauth_service, client_id: x, private_key: { file: k.pem }, scopes: ["a b"], dpop: maybe }
)";
  CHECK(errors(text) ==
        std::vector<std::string>{
            "c.yaml:2:46: error: 'max_attempts' must be at least 1 (got 0)",
            "c.yaml:2:85: error: max_interval (1s) is shorter than initial_interval (5s)",
            "c.yaml:3:3: error: bad name 'bad name' in 'aliases': use 1 to 128 letters, digits, '_', '.' or '-'",
            "c.yaml:8:22: error: bad duration '10x' (use 250ms, 10s, 5m, 2h, 1d or sums like 1h30m)",
            "c.yaml:9:22: error: request_timeout must be more than 0",
            "c.yaml:10:12: error: proxy must not hold a user name or password: a secret must not be written in the "
            "connections file",
            "c.yaml:11:65: error: proxy must be a URL such as http://proxy:3128 (schemes: http, https, socks4, "
            "socks4a, socks5, socks5h), or \"\" for no proxy",
            "c.yaml:14:87: error: token_url uses http://, which is only allowed for a loopback host (127.0.0.1, ::1, "
            "localhost): use https://",
            "c.yaml:15:87: error: bad 'a b' in 'scopes': a scope is one word of printable ASCII, e.g. okta.users.manage",
            "c.yaml:15:101: error: 'dpop' must be one of: auto, on, off, true, false (got 'maybe')",
        });
}

TEST_CASE("YAML errors, empty or non-mapping files, non-UTF-8, size limit") {
  auto e = errors("connections: [\n");
  REQUIRE_FALSE(e.empty());
  CHECK(e[0].rfind("c.yaml:", 0) == 0);
  CHECK(errors("# nothing\n") ==
        std::vector<std::string>{"c.yaml:1:1: error: the connections file is empty (it needs connections: and "
                                 "credentials:, and aliases: for flows to use them)"});
  CHECK(errors("a: 1\n---\nb: 2\n") ==
        std::vector<std::string>{"c.yaml:1:1: error: unknown key 'a' at the top level (expected one of: aliases, "
                                 "connections, credentials)",
                                 "c.yaml:2:1: error: a connections file holds one YAML document; remove the '---' "
                                 "separator and what follows"});
  CHECK(errors("- a\n") == std::vector<std::string>{"c.yaml:1:1: error: a connections file is a mapping with "
                                                   "aliases:, connections: and credentials:, not a list"});
  CHECK(errors("aliases:\n  a: \"\xff\"\n") ==
        std::vector<std::string>{"c.yaml:2:7: error: the file is not valid UTF-8 (byte 0xFF here); save it as UTF-8"});
  CHECK(load_ok("\xEF\xBB\xBF" "aliases: {}\n").aliases.empty());  // a byte order mark is fine
  const auto big = errors("# " + std::string(4u << 20, 'x') + "\n");
  REQUIRE(big.size() == 1);
  CHECK(big[0].find("too large") != std::string::npos);

  Diagnostics diags("caller.yaml");
  auto r = load_connections_text("aliases:\n  okta: nowhere\n", "c.yaml", diags);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::validation);
  CHECK(r.error().message.rfind("c.yaml:2:9: error: alias 'okta'", 0) == 0);
  CHECK(diags.size() == 1);
}

TEST_CASE("load_connections_file: missing file, directory, oversized file, base_dir") {
  TempDir dir;
  Diagnostics d1;
  const std::string missing = dir.file("nope.yaml");
  auto r = load_connections_file(missing, d1);
  REQUIRE_FALSE(r.ok());
  REQUIRE(d1.size() == 1);
  CHECK(d1.items()[0].message.rfind("cannot read connections file " + missing + ": No such file or directory", 0) == 0);

  Diagnostics d2;
  CHECK_FALSE(load_connections_file(dir.path.string(), d2).ok());
  CHECK(d2.items().at(0).message.find("is a directory") != std::string::npos);

  const std::string big = dir.file("big.yaml");
  write_file(big, "# " + std::string((4u << 20) + 10, 'x'));
  Diagnostics d3;
  CHECK_FALSE(load_connections_file(big, d3).ok());
  CHECK(d3.items().at(0).message.find("too large") != std::string::npos);

  const std::string good = dir.file("sub/conn.yaml");
  fs::create_directories(dir.path / "sub");
  write_file(good, "connections:\n  c: { base_url: https://a.okta.com, credential: tok }\n" + kCreds);
  Diagnostics d4;
  auto ok = load_connections_file(good, d4);
  REQUIRE(ok.ok());
  CHECK(ok->file == good);
  CHECK(ok->base_dir == (dir.path / "sub").string());
}

TEST_CASE("default_connections_path: SPOKEFLOW_CONNECTIONS, ./connections.yaml, XDG config") {
  TempDir dir;
  {
    EnvVar v("SPOKEFLOW_CONNECTIONS", "/etc/sf/conn.yaml");
    CHECK(default_connections_path() == "/etc/sf/conn.yaml");
  }
  EnvVar v("SPOKEFLOW_CONNECTIONS", nullptr);
  const fs::path old = fs::current_path();
  fs::current_path(dir.path);
  {
    EnvVar x("XDG_CONFIG_HOME", "/cfg");
    CHECK(default_connections_path() == "/cfg/spokeflow/connections.yaml");
    EnvVar h("HOME", "/home/u");
    EnvVar x2("XDG_CONFIG_HOME", nullptr);
    CHECK(default_connections_path() == "/home/u/.config/spokeflow/connections.yaml");
    write_file(dir.file("connections.yaml"), "{}\n");
    CHECK(default_connections_path() == "connections.yaml");
  }
  fs::current_path(old);
}

TEST_CASE("secret resolution: env, file (relative to the file's folder), vault; every value scrubbed") {
  TempDir dir;
  SecretScrubber::instance().clear();
  auto key = MasterKey::from_text("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  REQUIRE(key.ok());
  auto v = Vault::open(dir.file("vault.json"), *key);
  REQUIRE(v.ok());
  REQUIRE(v->set("acme_okta_token", "vault-token-value-1").ok());
  auto vault = std::make_shared<Vault>(std::move(*v));

  fs::create_directories(dir.path / "keys");
  write_file(dir.file("keys/k.pem"), "file-secret-value-2\r\n");
  write_file(dir.file("two_newlines"), "abcd-value\n\n");
  write_file(dir.file("big"), std::string((1u << 20) + 1, 'a'));
  write_file(dir.file("c.yaml"), R"(credentials:
  a: { type: okta_api_token, token: { secret: acme_okta_token } }
  b: { type: okta_oauth_service, client_id: x, private_key: { file: keys/k.pem }, scopes: [s] }
  c: { type: bearer, token: { env: H1_TEST_TOKEN } }
)");
  Diagnostics diags;
  auto cfg = load_connections_file(dir.file("c.yaml"), diags);
  REQUIRE(cfg.ok());
  const SecretResolver resolver(vault, cfg->base_dir);

  auto a = resolver.resolve(*cfg->credentials.at("a").token);
  REQUIRE(a.ok());
  CHECK(*a == "vault-token-value-1");

  auto b = resolver.resolve(*cfg->credentials.at("b").private_key);
  REQUIRE(b.ok());
  CHECK(*b == "file-secret-value-2");  // CRLF trimmed

  const SecretRef env_ref = *cfg->credentials.at("c").token;
  {
    EnvVar t("H1_TEST_TOKEN", "env-secret-value-3");
    auto c = resolver.resolve(env_ref);
    REQUIRE(c.ok());
    CHECK(*c == "env-secret-value-3");
  }
  const std::string scrubbed =
      SecretScrubber::instance().scrub(std::string("vault-token-value-1 file-secret-value-2 env-secret-value-3"));
  CHECK(scrubbed == "[REDACTED] [REDACTED] [REDACTED]");

  auto two = resolver.resolve(SecretRef{SecretRef::Source::file, "two_newlines", {}});
  REQUIRE(two.ok());
  CHECK(*two == "abcd-value\n");  // only one newline is trimmed

  {
    EnvVar t("H1_TEST_TOKEN", nullptr);
    auto missing = resolver.resolve(env_ref);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == ErrorKind::auth);
    CHECK(missing.error().message.find("environment variable H1_TEST_TOKEN is not set") != std::string::npos);
  }
  {
    EnvVar t("H1_TEST_TOKEN", "");
    auto empty = resolver.resolve(env_ref);
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().message.find("H1_TEST_TOKEN is empty") != std::string::npos);
  }
  auto nofile = resolver.resolve(SecretRef{SecretRef::Source::file, "keys/none.pem", {}});
  REQUIRE_FALSE(nofile.ok());
  CHECK(nofile.error().kind == ErrorKind::auth);
  CHECK(nofile.error().message.find(dir.file("keys/none.pem")) != std::string::npos);

  auto big = resolver.resolve(SecretRef{SecretRef::Source::file, "big", {}});
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().message.find("larger than 1 MiB") != std::string::npos);

  auto absent = resolver.resolve(SecretRef{SecretRef::Source::vault, "not_there", {}});
  REQUIRE_FALSE(absent.ok());
  CHECK(absent.error().message.find("spokeflow secrets set not_there") != std::string::npos);

  auto stored = resolver.store(SecretRef{SecretRef::Source::vault, "acme_refresh", {}}, "refresh-value-4");
  REQUIRE(stored.ok());
  CHECK(*vault->get("acme_refresh") == "refresh-value-4");
  CHECK(SecretScrubber::instance().scrub(std::string("refresh-value-4")) == "[REDACTED]");
  SecretScrubber::instance().clear();
}

TEST_CASE("every example in examples/connections loads") {
  const fs::path dir = fs::path(SPOKEFLOW_TEST_DIR) / "../../examples/connections";
  int count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    ++count;
    Diagnostics diags;
    auto r = load_connections_file(entry.path().string(), diags);
    INFO(entry.path().string() << "\n" << diags.format());
    CHECK(r.ok());
    if (r.ok()) {
      const Alias* okta = r->alias("okta");
      REQUIRE(okta != nullptr);
      const Connection* c = r->connection_of(*okta);
      REQUIRE(c != nullptr);
      CHECK(r->credential_of(*c) != nullptr);
    }
  }
  CHECK(count >= 4);
}
