// Auth providers against okta-sim: SSWS, bearer and basic headers, private-key JWT service apps
// with and without DPoP, and the token cache (single flight, renewal, 401 recovery).
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "auth_fixtures.hpp"
#include "common/scrub.hpp"
#include "connect/auth.hpp"
#include "connect/jose.hpp"
#include "http/http_client.hpp"
#include "sim_process.hpp"

using namespace spokeflow;
using namespace spokeflow::connect;
using namespace spokeflow::test::auth_fixtures;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

namespace {

// A client assertion for /oauth2/v1/revoke (aud = that endpoint, as Okta wants).
std::string revoke_assertion(const std::string& revoke_url) {
  auto key = jose::PrivateKey::load(keys().ec_jwk, "test");
  REQUIRE(key.ok());
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  Json claims = {{"iss", kEcClient}, {"sub", kEcClient}, {"aud", revoke_url},
                 {"iat", now},       {"exp", now + 60},  {"jti", jose::random_id()}};
  return jose::sign_jws(*key, Json::object(), claims).value();
}

// The sim's request log: how many calls were made to a path, and their statuses.
awaitable<std::vector<long>> statuses_of(Fixture& f, std::string path) {
  auto r = co_await f.http->request(plain("GET", f.sim.base_url() + "/__sim/requests"));
  REQUIRE(r.ok());
  Json log = Json::parse(r->body);
  if (log.is_object() && log.contains("requests")) log = log["requests"];
  std::vector<long> out;
  for (const auto& e : log)
    if (e.value("target", "").rfind(path, 0) == 0) out.push_back(e.value("status", 0L));
  co_return out;
}

awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(use_awaitable);
}

}  // namespace

// =================================================================== static providers

namespace {
awaitable<void> ssws_flow(Fixture& f) {
  Credential c;
  c.name = "api";
  c.type = CredentialType::okta_api_token;
  c.token = f.file_secret("token", test::SimProcess::token() + "\n");
  auto p = f.provider(c);
  auto h = co_await p->headers("GET", f.sim.base_url() + "/api/v1/users/me");
  REQUIRE(h.ok());
  REQUIRE(h->size() == 1);
  CHECK(h->at(0).first == "Authorization");
  CHECK(h->at(0).second == "SSWS " + test::SimProcess::token());
  auto r = co_await f.http->request(plain("GET", f.sim.base_url() + "/api/v1/users/me", *h));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(Json::parse(r->body)["status"] == "ACTIVE");
  CHECK_FALSE(p->on_response(*r));
  http::HttpResponse unauthorized;
  unauthorized.status = 401;
  CHECK_FALSE(p->on_response(unauthorized));
  CHECK(p->token_requests() == 0);

  // A wrong token is the server's 401, and the provider does not ask for a retry.
  Credential wrong = c;
  wrong.token = f.file_secret("wrong", "not-the-token-000");
  auto pw = f.provider(wrong);
  auto hw = co_await pw->headers("GET", f.sim.base_url() + "/api/v1/users/me");
  auto rw = co_await f.http->request(plain("GET", f.sim.base_url() + "/api/v1/users/me", *hw));
  REQUIRE(rw.ok());
  CHECK(rw->status == 401);
  CHECK_FALSE(pw->on_response(*rw));
}
}  // namespace

TEST_CASE("okta_api_token: SSWS header accepted by okta-sim; bearer and basic headers") {
  Fixture f;
  f.run(ssws_flow(f));
  CHECK(SecretScrubber::instance().scrub("x " + test::SimProcess::token()) == "x [REDACTED]");

  ::setenv("AUTH_TEST_BEARER", "bearer-token-value-42", 1);
  Credential b;
  b.name = "b";
  b.type = CredentialType::bearer;
  b.token = SecretRef{SecretRef::Source::env, "AUTH_TEST_BEARER", {}};
  auto pb = f.provider(b);
  Credential basic;
  basic.name = "basic";
  basic.type = CredentialType::basic;
  basic.username = "Aladdin";
  ::setenv("AUTH_TEST_PASSWORD", "open sesame", 1);
  basic.password = SecretRef{SecretRef::Source::env, "AUTH_TEST_PASSWORD", {}};
  auto pbasic = f.provider(basic);
  Headers hb{{"", ""}}, hbasic{{"", ""}};
  f.run([](std::shared_ptr<AuthProvider> a, std::shared_ptr<AuthProvider> b2, Headers& o1,
           Headers& o2) -> awaitable<void> {
    o1 = (co_await a->headers("GET", "https://example.com/x")).value();
    o2 = (co_await b2->headers("GET", "https://example.com/x")).value();
  }(pb, pbasic, hb, hbasic));
  CHECK(hb == Headers{{"Authorization", "Bearer bearer-token-value-42"}});
  CHECK(hbasic == Headers{{"Authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}});  // RFC 7617's example

  // A reference that does not resolve is an auth error naming the credential and reference.
  ::unsetenv("AUTH_TEST_MISSING");
  b.token = SecretRef{SecretRef::Source::env, "AUTH_TEST_MISSING", {}};
  auto missing = make_auth_provider(f.connection, b, f.secrets, f.http);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::auth);
  CHECK(missing.error().message.find("credential 'b'") != std::string::npos);
  CHECK(missing.error().message.find("AUTH_TEST_MISSING") != std::string::npos);
}

// =================================================================== service apps

namespace {
awaitable<void> dpop_flow(Fixture& f, std::shared_ptr<AuthProvider> p) {
  const std::string url = f.sim.base_url() + "/api/v1/users?limit=1";
  auto h = co_await p->headers("GET", url);
  REQUIRE_MESSAGE(h.ok(), (h.ok() ? "" : h.error().message));
  const std::string* authz = find_header(*h, "Authorization");
  const std::string* proof = find_header(*h, "DPoP");
  REQUIRE(authz);
  REQUIRE(proof);
  CHECK(authz->rfind("DPoP ", 0) == 0);
  const std::string token = authz->substr(5);
  Json ph = jwt_part(*proof, 0), pc = jwt_part(*proof, 1);
  CHECK(ph["typ"] == "dpop+jwt");
  CHECK(ph["alg"] == "ES256");
  CHECK(ph["jwk"]["kty"] == "EC");
  CHECK_FALSE(ph["jwk"].contains("d"));
  CHECK(pc["htm"] == "GET");
  CHECK(pc["htu"] == f.sim.base_url() + "/api/v1/users");  // without the query
  CHECK(pc["ath"] == jose::base64url_encode(jose::sha256(token)));
  CHECK(p->token_requests() == 1);
  CHECK(p->granted_scopes() == "okta.users.read");
  // The token endpoint answered the nonce challenge first, then the token.
  auto token_calls = co_await statuses_of(f, "/oauth2/v1/token");
  CHECK(token_calls == std::vector<long>{400, 200});

  auto r = co_await f.http->request(plain("GET", url, *h));
  REQUIRE(r.ok());
  CHECK_MESSAGE(r->status == 200, r->body);
  CHECK_FALSE(p->on_response(*r));
  // Further calls reuse the token with a fresh proof each.
  for (int i = 0; i < 3; ++i) {
    auto again = co_await api_call(f, *p, "GET", "/api/v1/users?limit=2");
    CHECK(again.status == 200);
  }
  auto post = co_await api_call(f, *p, "POST", "/api/v1/groups");
  CHECK(post.status == 403);  // okta.groups.manage was not requested: the sim's scope check
  CHECK(p->token_requests() == 1);

  // A resource server nonce challenge: the nonce is remembered and the request retried.
  http::HttpResponse challenge;
  challenge.status = 401;
  challenge.headers.emplace("WWW-Authenticate", "DPoP error=\"use_dpop_nonce\", error_description=\"Resource server requires nonce in DPoP proof\"");
  challenge.headers.emplace("DPoP-Nonce", "api-nonce-1234");
  CHECK(p->on_response(challenge));
  auto h2 = co_await p->headers("GET", url);
  REQUIRE(h2.ok());
  CHECK(jwt_part(*find_header(*h2, "DPoP"), 1)["nonce"] == "api-nonce-1234");
  CHECK(*find_header(*h2, "Authorization") == *authz);  // the token was kept
  CHECK(p->token_requests() == 1);
}
}  // namespace

TEST_CASE("okta_oauth_service with DPoP (ES256 key as JWK): nonce dance, DPoP-bound token, API calls") {
  Fixture f;
  auto p = f.provider(f.service(kEcClient, keys().ec_jwk, DpopMode::auto_));
  f.run(dpop_flow(f, p));
  // The same app with dpop: on and the key as PKCS#8 PEM.
  Fixture g;
  auto q = g.provider(g.service(kEcClient, keys().ec_pkcs8, DpopMode::on));
  g.run(dpop_flow(g, q));
}

namespace {
awaitable<void> bearer_flow(Fixture& f, std::shared_ptr<AuthProvider> p) {
  auto r = co_await api_call(f, *p, "GET", "/api/v1/users?limit=1");
  CHECK_MESSAGE(r.status == 200, r.body);
  auto h = co_await p->headers("GET", f.sim.base_url() + "/api/v1/users");
  REQUIRE(h.ok());
  CHECK(find_header(*h, "Authorization")->rfind("Bearer ", 0) == 0);
  CHECK(find_header(*h, "DPoP") == nullptr);
  CHECK(p->token_requests() == 1);
}

awaitable<void> dpop_required_flow(Fixture& f, std::shared_ptr<AuthProvider> p) {
  auto h = co_await p->headers("GET", f.sim.base_url() + "/api/v1/users");
  REQUIRE_FALSE(h.ok());
  CHECK(h.error().kind == ErrorKind::auth);
  CHECK(h.error().code == "invalid_dpop_proof");
  CHECK_MESSAGE(h.error().message.find("dpop: on") != std::string::npos, h.error().message);
  check_no_secret(h.error().message);
}
}  // namespace

TEST_CASE("okta_oauth_service without DPoP (RS256 key as PEM, and as JWK): Bearer tokens") {
  Fixture f;
  f.run(bearer_flow(f, f.provider(f.service(kRsaClient, keys().rsa_pkcs1, DpopMode::off))));
  Fixture g;  // auto: a proof is offered, the app does not bind, the token is Bearer
  g.run(bearer_flow(g, g.provider(g.service(kRsaClient, keys().rsa_jwk, DpopMode::auto_))));
  // An explicit algorithm that does not fit the key is refused when the provider is built.
  Credential mismatch = f.service(kEcClient, keys().ec_pkcs8, DpopMode::on);
  mismatch.algorithm = "RS256";
  auto refused = make_auth_provider(f.connection, mismatch, f.secrets, f.http);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::auth);
  CHECK(refused.error().message.find("signs ES256") != std::string::npos);
  check_no_secret(refused.error().message);
  // dpop: off for an app that requires DPoP: a clear error saying what to change.
  Fixture h;
  h.run(dpop_required_flow(h, h.provider(h.service(kEcClient, keys().ec_pkcs8, DpopMode::off))));
}

namespace {
awaitable<void> one_header(std::shared_ptr<AuthProvider> p, std::string url, int& ok) {
  auto h = co_await p->headers("GET", url);
  if (h.ok() && find_header(*h, "DPoP")) ++ok;
}

awaitable<void> concurrent_flow(Fixture& f, std::shared_ptr<AuthProvider> p) {
  int ok = 0;
  auto ex = co_await asio::this_coro::executor;
  for (int i = 0; i < 100; ++i)
    asio::co_spawn(ex, one_header(p, f.sim.base_url() + "/api/v1/users", ok), [](std::exception_ptr) {});
  for (int i = 0; i < 400 && ok < 100; ++i) co_await sleep_for(20ms);
  CHECK(ok == 100);
  CHECK(p->token_requests() == 1);
  auto token_calls = co_await statuses_of(f, "/oauth2/v1/token");
  CHECK(token_calls == std::vector<long>{400, 200});  // one token request (with its nonce round)
}
}  // namespace

TEST_CASE("token cache: 100 concurrent headers() with an empty cache make exactly one token request") {
  Fixture f;
  auto p = f.provider(f.service(kEcClient, keys().ec_jwk, DpopMode::on));
  f.run(concurrent_flow(f, p));
}

namespace {
awaitable<void> renewal_flow(Fixture& f, std::shared_ptr<AuthProvider> p) {
  auto r = co_await api_call(f, *p, "GET", "/api/v1/users?limit=1");
  CHECK(r.status == 200);
  auto r1 = co_await api_call(f, *p, "GET", "/api/v1/users?limit=1");
  CHECK(r1.status == 200);
  CHECK(p->token_requests() == 1);  // a 2 s token is reused for its first half
  co_await sleep_for(3s);
  auto h2 = co_await p->headers("GET", f.sim.base_url() + "/api/v1/users");
  REQUIRE(h2.ok());
  auto r2 = co_await f.http->request(plain("GET", f.sim.base_url() + "/api/v1/users?limit=1", *h2));
  REQUIRE(r2.ok());
  CHECK(r2->status == 200);  // renewed before use: no 401 first
  CHECK(p->token_requests() == 2);
}
}  // namespace

TEST_CASE("token cache: a short-lived token is renewed ahead of expiry without a failed call") {
  Fixture f("token_lifetime_seconds: 2\n");
  f.run(renewal_flow(f, f.provider(f.service(kRsaClient, keys().rsa_pkcs8, DpopMode::off))));
}

namespace {
awaitable<void> revoke_flow(Fixture& f, std::shared_ptr<AuthProvider> p) {
  auto h = co_await p->headers("GET", f.sim.base_url() + "/api/v1/users");
  REQUIRE(h.ok());
  const std::string token = find_header(*h, "Authorization")->substr(5);
  // The app revokes its token (client authentication by a private-key JWT for /revoke).
  const std::string revoke_url = f.sim.base_url() + "/oauth2/v1/revoke";
  const std::string form = "token=" + token + "&token_type_hint=access_token&client_assertion_type=" +
                           "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=" +
                           revoke_assertion(revoke_url);
  auto rv = co_await f.http->request(form_post(revoke_url, form));
  REQUIRE(rv.ok());
  CHECK(rv->status == 200);

  auto r = co_await f.http->request(plain("GET", f.sim.base_url() + "/api/v1/users", *h));
  REQUIRE(r.ok());
  CHECK(r->status == 401);
  CHECK(p->on_response(*r));  // drop the token, retry once
  auto h2 = co_await p->headers("GET", f.sim.base_url() + "/api/v1/users");
  REQUIRE(h2.ok());
  CHECK(find_header(*h2, "Authorization")->substr(5) != token);
  auto r2 = co_await f.http->request(plain("GET", f.sim.base_url() + "/api/v1/users", *h2));
  REQUIRE(r2.ok());
  CHECK(r2->status == 200);
  CHECK(p->token_requests() == 2);
}

awaitable<void> scope_flow(Fixture& f, std::shared_ptr<AuthProvider> p) {
  auto h = co_await p->headers("GET", f.sim.base_url() + "/api/v1/users");
  REQUIRE_FALSE(h.ok());
  CHECK(h.error().kind == ErrorKind::auth);
  CHECK(h.error().code == "invalid_scope");
  CHECK_MESSAGE(h.error().message.find("okta.apps.manage") != std::string::npos, h.error().message);
  CHECK(h.error().message.find("OAuth token request to " + f.sim.base_url() + "/oauth2/v1/token failed: invalid_scope") !=
        std::string::npos);
  check_no_secret(h.error().message);
  // The failure is not cached as a token: the next call asks again (and fails again).
  auto h2 = co_await p->headers("GET", f.sim.base_url() + "/api/v1/users");
  CHECK_FALSE(h2.ok());
  CHECK(p->token_requests() == 2);
}
}  // namespace

TEST_CASE("token cache: a revoked token's 401 drops it, and the renewed token works") {
  Fixture f;
  f.run(revoke_flow(f, f.provider(f.service(kEcClient, keys().ec_sec1, DpopMode::on))));
}

TEST_CASE("okta_oauth_service: a scope the app lacks is an auth error naming the scope") {
  Fixture f;
  f.run(scope_flow(f, f.provider(f.service(kEcClient, keys().ec_jwk, DpopMode::auto_,
                                           {"okta.users.read", "okta.apps.manage"}))));
  // A key the app does not have registered: invalid_client, with a hint.
  Fixture g;
  Pkey other(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  auto p = g.provider(g.service(kEcClient, pem_of(other.get(), false), DpopMode::auto_));
  g.run([](std::shared_ptr<AuthProvider> a, std::string url) -> awaitable<void> {
    auto h = co_await a->headers("GET", url);
    REQUIRE_FALSE(h.ok());
    CHECK(h.error().code == "invalid_client");
    CHECK(h.error().message.find("registered key") != std::string::npos);
    check_no_secret(h.error().message);
  }(p, g.sim.base_url() + "/api/v1/users"));
}
