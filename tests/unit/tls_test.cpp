// TLS end to end: okta-sim serves HTTPS with certificates from a CA this test makes; the HTTP
// client verifies the chain and the host name against the connection's CA bundle and refuses a
// certificate from another CA, an expired or not yet valid one and one for another name, each
// with an error that says which; an unreadable CA bundle is named. API-token and OAuth
// (private-key JWT, with and without DPoP) connections work over TLS through the connection
// client, and a wrong CA stops the token request too.
#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "client_test_util.hpp"
#include "test_certs.hpp"

using namespace client_test;
using spokeflow::test::CertSpec;
using spokeflow::test::IssuedCert;
using spokeflow::test::TestCa;
using spokeflow::test::write_file;
namespace fs = std::filesystem;

namespace {

// A folder of this test's own, removed at exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() / ("spokeflow-tls-" + std::to_string(getpid()) + "-" + std::to_string(++n));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

TestCa& good_ca() {
  static TestCa ca("spokeflow test CA");
  return ca;
}
TestCa& other_ca() {
  static TestCa ca("another test CA");
  return ca;
}

// okta-sim over HTTPS with `cert` (and an optional seed); base_url() names it as localhost.
struct TlsSim {
  TempDir dir;
  std::unique_ptr<SimProcess> sim;
  std::string ca_file;        // the CA that issued the certificates of these tests
  std::string other_ca_file;  // a CA that did not
  std::string base;           // https://localhost:PORT

  explicit TlsSim(const IssuedCert& cert, const std::string& seed = {}) {
    const fs::path cert_file = dir.path / "server.pem", key_file = dir.path / "server.key";
    write_file(cert_file, cert.cert_pem);
    write_file(key_file, cert.key_pem);
    fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write);
    ca_file = (dir.path / "ca.pem").string();
    other_ca_file = (dir.path / "other-ca.pem").string();
    write_file(ca_file, good_ca().cert_pem());
    write_file(other_ca_file, other_ca().cert_pem());
    sim = std::make_unique<SimProcess>(seed, std::string(),
                                       std::vector<std::string>{"--tls-cert", cert_file.string(), "--tls-key", key_file.string()});
    REQUIRE_MESSAGE(sim->base_url().rfind("https://127.0.0.1:", 0) == 0, sim->base_url());
    base = "https://localhost:" + std::to_string(sim->port());
  }
  std::string ip_base() const { return "https://127.0.0.1:" + std::to_string(sim->port()); }
};

Result<http::HttpResponse> fetch(asio::io_context& io, const std::string& url, std::optional<std::string> ca_bundle) {
  http::HttpClient client(io.get_executor());
  http::HttpRequest req;
  req.url = url;
  req.ca_bundle = std::move(ca_bundle);
  req.timeout = milliseconds(20000);
  return run<Result<http::HttpResponse>>(io, [&client, req]() -> awaitable<Result<http::HttpResponse>> {
    auto r = co_await client.request(req);
    co_return r;
  });
}

std::string tls_problem(const Error& e) {
  if (e.details.is_object() && e.details.contains("tls") && e.details["tls"].contains("problem"))
    return e.details["tls"]["problem"].get<std::string>();
  return "(none)";
}

// A refusal: a network error that left no request, with the code, the problem in details and
// the words that say what failed.
void check_refused(const Result<http::HttpResponse>& r, const std::string& code, const std::string& says) {
  REQUIRE_FALSE(r.ok());
  const Error& e = r.error();
  INFO(e.message);
  CHECK(e.kind == ErrorKind::network);
  CHECK(e.code == code);
  CHECK(tls_problem(e) == code.substr(4));
  CHECK(e.message.find(says) != std::string::npos);
  CHECK(e.message.find("TLS") != std::string::npos);
  CHECK(e.details["request_sent"] == false);
}

}  // namespace

TEST_CASE("okta-sim over HTTPS: the chain and the host name (localhost, and 127.0.0.1 by its IP SAN) verify") {
  TlsSim s(good_ca().issue({}));
  asio::io_context io;
  for (const std::string& base : {s.base, s.ip_base()}) {
    auto r = fetch(io, base + "/__sim/health", s.ca_file);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(r->status == 200);
    CHECK(r->body.find("\"ok\"") != std::string::npos);
  }
  // The bundle given to the client as a whole, not per request, works the same.
  http::HttpClientOptions opts;
  opts.ca_bundle = s.ca_file;
  http::HttpClient client(io.get_executor(), opts);
  http::HttpRequest req;
  req.url = s.base + "/__sim/health";
  auto r = run<Result<http::HttpResponse>>(io, [&client, req]() -> awaitable<Result<http::HttpResponse>> {
    auto x = co_await client.request(req);
    co_return x;
  });
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->status == 200);
}

TEST_CASE("a certificate from a CA the connection does not trust is refused, saying so") {
  TlsSim s(good_ca().issue({}));
  asio::io_context io;
  check_refused(fetch(io, s.base + "/__sim/health", s.other_ca_file), "tls_untrusted_issuer",
                "not issued by a CA this connection trusts");
  // Nor does the system's store know the test's CA.
  auto r = fetch(io, s.base + "/__sim/health", std::nullopt);
  check_refused(r, "tls_untrusted_issuer", "not issued by a CA this connection trusts");
  CHECK(r.error().message.find("the system's CA store") != std::string::npos);
}

TEST_CASE("an expired certificate, and one not valid yet, are refused, saying so") {
  CertSpec expired;
  expired.not_before = std::chrono::seconds(-2 * 86400);
  expired.not_after = std::chrono::seconds(-3600);
  TlsSim old(good_ca().issue(expired));
  asio::io_context io;
  check_refused(fetch(io, old.base + "/__sim/health", old.ca_file), "tls_certificate_expired", "has expired");

  CertSpec early;
  early.not_before = std::chrono::seconds(86400);
  early.not_after = std::chrono::seconds(2 * 86400);
  TlsSim future(good_ca().issue(early));
  check_refused(fetch(io, future.base + "/__sim/health", future.ca_file), "tls_certificate_not_yet_valid",
                "not valid yet");
}

TEST_CASE("a certificate for another name is refused, by DNS name and by IP address, naming the host") {
  CertSpec other;
  other.common_name = "other.example";
  other.dns = {"other.example"};
  other.ips = {};
  TlsSim s(good_ca().issue(other));
  asio::io_context io;
  auto by_name = fetch(io, s.base + "/__sim/health", s.ca_file);
  check_refused(by_name, "tls_host_name_mismatch", "is not for host 'localhost'");
  auto by_ip = fetch(io, s.ip_base() + "/__sim/health", s.ca_file);
  check_refused(by_ip, "tls_host_name_mismatch", "is not for host '127.0.0.1'");

  // A certificate for localhost only (no IP SAN) does not cover 127.0.0.1 either.
  CertSpec name_only;
  name_only.ips = {};
  TlsSim t(good_ca().issue(name_only));
  CHECK(fetch(io, t.base + "/__sim/health", t.ca_file).ok());
  check_refused(fetch(io, t.ip_base() + "/__sim/health", t.ca_file), "tls_host_name_mismatch",
                "is not for host '127.0.0.1'");
}

TEST_CASE("a CA bundle that is missing, a folder or holds no certificate is a validation error naming it") {
  TlsSim s(good_ca().issue({}));
  asio::io_context io;
  const std::string missing = (s.dir.path / "no-such-ca.pem").string();
  const std::string folder = s.dir.path.string();
  const std::string junk = (s.dir.path / "junk.pem").string();
  write_file(junk, "this is not a certificate\n");
  const std::string key_only = (s.dir.path / "server.key").string();
  struct Case {
    std::string path, says;
  };
  for (const auto& c : {Case{missing, "No such file"}, Case{folder, "is a folder"}, Case{junk, "holds no PEM certificate"},
                        Case{key_only, "holds no PEM certificate"}}) {
    auto r = fetch(io, s.base + "/__sim/health", c.path);
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().kind == ErrorKind::validation);
    CHECK(r.error().code == "tls_ca_bundle_unreadable");
    CHECK(r.error().message.find("CA bundle '" + c.path + "'") != std::string::npos);
    CHECK(r.error().message.find(c.says) != std::string::npos);
    // Nothing of a key file is ever quoted.
    CHECK(r.error().message.find("PRIVATE KEY") == std::string::npos);
  }
}

// ------------------------------------------------------------------ connections over TLS

namespace {

struct Keys {
  std::string ec_private, ec_public, rsa_private, rsa_public;  // PEM
};

std::string public_pem(EVP_PKEY* k) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  REQUIRE(PEM_write_bio_PUBKEY(bio.get(), k) == 1);
  return spokeflow::test::bio_text(bio.get());
}

const Keys& keys() {
  static const Keys k = [] {
    Keys out;
    spokeflow::test::PkeyPtr ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    spokeflow::test::PkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
    REQUIRE(ec);
    REQUIRE(rsa);
    out.ec_private = spokeflow::test::pem_of_key(ec.get());
    out.ec_public = public_pem(ec.get());
    out.rsa_private = spokeflow::test::pem_of_key(rsa.get());
    out.rsa_public = public_pem(rsa.get());
    return out;
  }();
  return k;
}

constexpr const char* kDpopClient = "0oatlsdpop000000001";
constexpr const char* kBearerClient = "0oatlsbearer0000001";

std::string yaml_block(const std::string& pem) {
  std::string out = "|\n";
  std::size_t start = 0;
  while (start < pem.size()) {
    auto nl = pem.find('\n', start);
    if (nl == std::string::npos) nl = pem.size();
    out += "      " + pem.substr(start, nl - start) + "\n";
    start = nl + 1;
  }
  return out;
}

std::string oauth_seed() {
  std::string s = users_seed(3);
  s += "oauth_clients:\n";
  s += "  - client_id: " + std::string(kDpopClient) + "\n    scopes: [okta.users.read]\n    dpop: true\n"
       "    public_key_pem: " + yaml_block(keys().ec_public);
  s += "  - client_id: " + std::string(kBearerClient) + "\n    scopes: [okta.users.read]\n    dpop: false\n"
       "    public_key_pem: " + yaml_block(keys().rsa_public);
  return s;
}

// Aliases over one HTTPS connection each: `token` (API token), `dpop` (ES256 private-key JWT,
// DPoP on) and `bearer` (RS256 private-key JWT, no DPoP); all trust `ca_file`.
connect::ConnectionsConfig tls_connections(const TlsSim& s, const std::string& ca_file) {
  setenv(kTokenEnv, SimProcess::token().c_str(), 1);
  write_file(s.dir.path / "ec.key", keys().ec_private);
  write_file(s.dir.path / "rsa.key", keys().rsa_private);
  connect::ConnectionsConfig cfg;
  cfg.base_dir = s.dir.path.string();
  connect::Credential token;
  token.name = "token";
  token.type = connect::CredentialType::okta_api_token;
  token.token = connect::SecretRef{connect::SecretRef::Source::env, kTokenEnv, {}};
  cfg.credentials[token.name] = token;
  for (auto [name, client, key, dpop] :
       {std::tuple{"dpop", kDpopClient, "ec.key", connect::DpopMode::on},
        std::tuple{"bearer", kBearerClient, "rsa.key", connect::DpopMode::off}}) {
    connect::Credential c;
    c.name = name;
    c.type = connect::CredentialType::okta_oauth_service;
    c.client_id = client;
    c.private_key = connect::SecretRef{connect::SecretRef::Source::file, key, {}};
    c.scopes = {"okta.users.read"};
    c.dpop = dpop;
    cfg.credentials[c.name] = c;
  }
  for (const char* name : {"token", "dpop", "bearer"}) {
    connect::Connection conn;
    conn.name = name;
    conn.base_url = s.base;
    conn.credential = name;
    conn.ca_bundle = ca_file;
    conn.request_timeout = milliseconds(20000);
    cfg.connections[conn.name] = conn;
    connect::Alias alias;
    alias.name = name;
    alias.connection = name;
    alias.retry = quick_retry(1);
    cfg.aliases[alias.name] = alias;
  }
  return cfg;
}

struct TlsEnv {
  asio::io_context io;
  std::shared_ptr<connect::Connections> connections;
  TlsEnv(const TlsSim& s, const std::string& ca_file)
      : connections(std::make_shared<connect::Connections>(io.get_executor(), tls_connections(s, ca_file),
                                                           std::make_shared<connect::SecretResolver>(nullptr, s.dir.path.string()))) {}
  Result<connect::ApiResponse> get_users(const std::string& alias, const std::string& limit) {
    auto c = connections->client(alias);
    REQUIRE_MESSAGE(c.ok(), c.error().message);
    return call(io, **c, get("/api/v1/users", {{"limit", limit}}));
  }
};

// The sim's own request log, read over HTTPS.
std::vector<Json> logged(TlsEnv& env, const TlsSim& s, const std::string& prefix) {
  auto r = fetch(env.io, s.base + "/__sim/requests", s.ca_file);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  std::vector<Json> out;
  for (auto& e : Json::parse(r->body))
    if (e["target"].get<std::string>().rfind(prefix, 0) == 0) out.push_back(e);
  return out;
}

}  // namespace

TEST_CASE("an API-token connection over HTTPS: calls and Link rel=next pages stay on the verified origin") {
  TlsSim s(good_ca().issue({}), users_seed(3));
  TlsEnv env(s, s.ca_file);
  auto c = env.connections->client("token");
  REQUIRE_MESSAGE(c.ok(), c.error().message);
  auto client = *c;
  int pages = 0;
  std::size_t users = 0;
  auto r = call(env.io, *client, get("/api/v1/users", {{"limit", "2"}}));
  for (;;) {
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    ++pages;
    users += r->json.size();
    if (r->next_url.empty()) break;
    CHECK(r->next_url.rfind(s.base + "/", 0) == 0);
    const std::string next = r->next_url;
    r = run<Result<connect::ApiResponse>>(env.io, [&client, next]() -> awaitable<Result<connect::ApiResponse>> {
      auto x = co_await client->next_page(next);
      co_return x;
    });
  }
  CHECK(users == 4);  // three seeded users and the admin
  CHECK(pages == 2);
}

TEST_CASE("OAuth service apps over HTTPS: private-key JWT with DPoP (ES256) and without (RS256)") {
  TlsSim s(good_ca().issue({}), oauth_seed());
  TlsEnv env(s, s.ca_file);
  auto dpop = env.get_users("dpop", "2");
  REQUIRE_MESSAGE(dpop.ok(), dpop.error().message);
  CHECK(dpop->status == 200);
  CHECK(dpop->json.size() == 2);
  // The token endpoint asked for a nonce first, then issued a DPoP-bound token, whose audience
  // and proof URLs the sim checked against its https:// address.
  std::vector<int> token_statuses;
  for (const auto& e : logged(env, s, "/oauth2/v1/token")) token_statuses.push_back(e["status"].get<int>());
  CHECK(token_statuses == std::vector<int>{400, 200});

  auto bearer = env.get_users("bearer", "1");
  REQUIRE_MESSAGE(bearer.ok(), bearer.error().message);
  CHECK(bearer->json.size() == 1);
  token_statuses.clear();
  for (const auto& e : logged(env, s, "/oauth2/v1/token")) token_statuses.push_back(e["status"].get<int>());
  CHECK(token_statuses == std::vector<int>{400, 200, 200});
  int api_ok = 0;
  for (const auto& e : logged(env, s, "/api/v1/users")) api_ok += e["status"].get<int>() == 200 ? 1 : 0;
  CHECK(api_ok == 2);
}

TEST_CASE("connections trusting another CA: the API call and the OAuth token request are refused before sending") {
  TlsSim s(good_ca().issue({}), oauth_seed());
  TlsEnv env(s, s.other_ca_file);
  for (const char* alias : {"token", "dpop", "bearer"}) {
    auto r = env.get_users(alias, "1");
    REQUIRE_FALSE(r.ok());
    const std::string context = std::string(alias) + ": " + r.error().message;
    INFO(context);
    CHECK(r.error().kind == ErrorKind::network);
    CHECK(r.error().code == "tls_untrusted_issuer");
    CHECK(r.error().message.find("not issued by a CA this connection trusts") != std::string::npos);
    CHECK(r.error().message.find(s.other_ca_file) != std::string::npos);
    if (std::string(alias) != "token")
      CHECK(r.error().message.find("OAuth token request to " + s.base + "/oauth2/v1/token") != std::string::npos);
    CHECK(r.error().message.find(SimProcess::token()) == std::string::npos);
  }
  // Nothing reached the sim: no token request, no API call.
  CHECK(logged(env, s, "/oauth2/").empty());
  CHECK(logged(env, s, "/api/").empty());
}
