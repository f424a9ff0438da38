// Refresh tokens with rotation (okta_oauth_refresh, and oauth_client_secret's errors), the
// authorization-code login with PKCE end to end, and okta-sim's own authorize / code / revoke edges.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "auth_fixtures.hpp"
#include "common/scrub.hpp"
#include "connect/auth.hpp"
#include "connect/jose.hpp"
#include "connect/secrets.hpp"
#include "connect/vault.hpp"
#include "http/http_client.hpp"

using namespace spokeflow;
using namespace spokeflow::connect;
using namespace spokeflow::test::auth_fixtures;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

// =================================================================== refresh tokens and login

namespace {
struct VaultSetup {
  explicit VaultSetup(const std::filesystem::path& dir) {
    auto key = MasterKey::from_text(std::string(64, 'a'));
    REQUIRE(key.ok());
    auto v = Vault::open((dir / "vault.json").string(), key.value());
    REQUIRE(v.ok());
    vault = std::make_shared<Vault>(std::move(v).value());
  }
  std::shared_ptr<Vault> vault;
};

Credential refresh_credential(Fixture& f, const std::string& secret) {
  Credential c;
  c.name = "web";
  c.type = CredentialType::okta_oauth_refresh;
  c.client_id = kWebClient;
  c.client_secret = f.file_secret("web-secret", secret);
  c.refresh_token = SecretRef{SecretRef::Source::vault, "okta_refresh", {}};
  c.scopes = {"okta.users.read"};
  return c;
}

awaitable<void> refresh_flow(Fixture& f, std::shared_ptr<AuthProvider> p, std::shared_ptr<Vault> vault) {
  auto r = co_await api_call(f, *p, "GET", "/api/v1/users?limit=1");
  CHECK_MESSAGE(r.status == 200, r.body);
  auto h = co_await p->headers("GET", f.sim.base_url() + "/api/v1/users");
  CHECK(find_header(*h, "Authorization")->rfind("Bearer ", 0) == 0);
  CHECK(p->token_requests() == 1);
  CHECK(p->granted_scopes() == "offline_access okta.users.read");  // offline_access kept on refresh
  // The sim rotates refresh tokens: the new one is in the vault.
  auto stored = vault->get("okta_refresh");
  REQUIRE(stored.ok());
  CHECK(*stored != kSeedRefresh);
  CHECK(stored->size() >= 40);
  CHECK(SecretScrubber::instance().scrub(*stored) == "[REDACTED]");
}

awaitable<void> bad_secret_flow(Fixture& f, std::shared_ptr<AuthProvider> p) {
  auto h = co_await p->headers("GET", f.sim.base_url() + "/api/v1/users");
  REQUIRE_FALSE(h.ok());
  CHECK(h.error().kind == ErrorKind::auth);
  CHECK(h.error().code == "invalid_client");
  CHECK(h.error().message.find("wrong-secret-value") == std::string::npos);
  check_no_secret(h.error().message);
}
}  // namespace

TEST_CASE("okta_oauth_refresh: refresh_token grant with a client secret; a rotated token is stored") {
  Fixture f;
  VaultSetup v(f.sim.dir());
  REQUIRE(v.vault->set("okta_refresh", kSeedRefresh).ok());
  f.secrets = SecretResolver(v.vault, f.sim.dir().string());
  auto p = f.provider(refresh_credential(f, kWebSecret));
  f.run(refresh_flow(f, p, v.vault));
  // A second provider (a later process) starts from the rotated token in the vault.
  auto p2 = f.provider(refresh_credential(f, kWebSecret));
  f.run([](Fixture& fx, std::shared_ptr<AuthProvider> a) -> awaitable<void> {
    auto r = co_await api_call(fx, *a, "GET", "/api/v1/users?limit=1");
    CHECK(r.status == 200);
  }(f, p2));

  auto wrong = f.provider(refresh_credential(f, "wrong-secret-value"));
  f.run(bad_secret_flow(f, wrong));

  // oauth_client_secret against Okta's org server (which wants private-key JWTs): the error
  // is the server's, and the secret is not in it.
  Credential cs;
  cs.name = "generic";
  cs.type = CredentialType::oauth_client_secret;
  cs.client_id = kWebClient;
  cs.client_secret = f.file_secret("cs", "wrong-secret-value");
  f.run(bad_secret_flow(f, f.provider(cs)));

  // Without a refresh token in the vault the message says to log in.
  REQUIRE(v.vault->remove("okta_refresh").ok());
  auto none = make_auth_provider(f.connection, refresh_credential(f, kWebSecret), f.secrets, f.http);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message.find("auth login") != std::string::npos);
}

namespace {
std::uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// What a browser does: open the authorize URL, follow the redirect to the loopback listener.
awaitable<void> browser(std::shared_ptr<http::HttpClient> http, std::string url, std::string& page, long& status,
                        std::string& location) {
  auto r = co_await http->request(plain("GET", url));
  REQUIRE(r.ok());
  CHECK_MESSAGE(r->status == 302, r->body);
  REQUIRE(r->header("Location"));
  location = *r->header("Location");
  // A forged redirect with another state is refused and the login keeps waiting.
  const std::string forged = location.substr(0, location.find('?')) + "?code=forged&state=wrong";
  auto bad = co_await http->request(plain("GET", forged));
  REQUIRE(bad.ok());
  CHECK(bad->status == 400);
  auto cb = co_await http->request(plain("GET", location));
  REQUIRE(cb.ok());
  status = cb->status;
  page = cb->body;
}

awaitable<void> login_flow(Fixture& f, Credential cred, std::shared_ptr<Vault> vault) {
  std::string shown, page, location;
  long status = 0;
  auto ex = co_await asio::this_coro::executor;
  // A named std::function capturing only references: GCC 12 destroys a temporary lambda that
  // is converted to a coroutine argument twice.
  std::function<void(const std::string&)> show = [&shown, &page, &status, &location, &f, ex](const std::string& url) {
    shown = url;
    asio::co_spawn(ex, browser(f.http, url, page, status, location), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  };
  auto refresh = co_await authorization_code_login(f.connection, cred, f.secrets, f.http, show);
  REQUIRE_MESSAGE(refresh.ok(), (refresh.ok() ? "" : refresh.error().message));
  CHECK(shown.rfind(f.sim.base_url() + "/oauth2/v1/authorize?response_type=code&client_id=" + kWebClient, 0) == 0);
  CHECK(shown.find("code_challenge_method=S256") != std::string::npos);
  CHECK(shown.find("offline_access") != std::string::npos);
  CHECK(shown.find("redirect_uri=http%3A%2F%2F127.0.0.1%3A" + std::to_string(cred.redirect_port) + "%2Fcallback") !=
        std::string::npos);
  CHECK(location.find("code=") != std::string::npos);
  CHECK(status == 200);
  CHECK(page.find("You can close this window") != std::string::npos);
  CHECK(refresh->size() >= 40);
  CHECK(SecretScrubber::instance().scrub(*refresh) == "[REDACTED]");

  // The refresh token from the login works with the refresh provider.
  REQUIRE(vault->set("okta_refresh", *refresh).ok());
  auto p = f.provider(cred);
  auto r = co_await api_call(f, *p, "GET", "/api/v1/users/me");  // acts for the user who signed in
  CHECK(r.status == 200);
  // The code was single use.
  auto replay = co_await f.http->request(form_post(f.sim.base_url() + "/oauth2/v1/token",
                                               "grant_type=authorization_code&client_id=" + std::string(kWebClient) +
                                                   "&client_secret=" + kWebSecret + "&" +
                                                   location.substr(location.find('?') + 1)));
  REQUIRE(replay.ok());
  CHECK(replay->status == 400);
  CHECK(replay->body.find("invalid_grant") != std::string::npos);
}
}  // namespace

TEST_CASE("authorization_code_login: PKCE, loopback redirect, code exchange, refresh token usable") {
  const std::uint16_t port = free_port();
  Fixture f({}, port);
  VaultSetup v(f.sim.dir());
  f.secrets = SecretResolver(v.vault, f.sim.dir().string());
  Credential c = refresh_credential(f, kWebSecret);
  c.redirect_port = port;
  f.run(login_flow(f, c, v.vault));
}

// =================================================================== okta-sim's authorize / code / revoke edges

namespace {
std::string authorize_url(const std::string& base, std::uint16_t port, const std::string& challenge,
                          const std::string& extra = {}) {
  return base + "/oauth2/v1/authorize?response_type=code&client_id=" + kWebClient +
         "&redirect_uri=http%3A%2F%2F127.0.0.1%3A" + std::to_string(port) +
         "%2Fcallback&scope=okta.users.read%20offline_access&state=s1&code_challenge_method=S256&code_challenge=" +
         challenge + extra;
}

std::string code_form(const std::string& code, std::uint16_t port, const std::string& verifier,
                      const std::string& secret = kWebSecret) {
  return "grant_type=authorization_code&client_id=" + std::string(kWebClient) + "&client_secret=" + secret +
         "&code=" + code + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A" + std::to_string(port) +
         "%2Fcallback&code_verifier=" + verifier;
}

std::string refresh_form(const std::string& token) {
  return "grant_type=refresh_token&client_id=" + std::string(kWebClient) + "&client_secret=" + kWebSecret +
         "&refresh_token=" + token;
}

std::string revoke_form(const std::string& token) {
  return "token=" + token + "&token_type_hint=refresh_token&client_id=" + std::string(kWebClient) +
         "&client_secret=" + kWebSecret;
}

std::string code_of(const http::HttpResponse& r) {
  const std::string* loc = r.header("Location");
  REQUIRE(loc);
  auto at = loc->find("code=");
  REQUIRE(at != std::string::npos);
  return loc->substr(at + 5, loc->find('&', at) - at - 5);
}

awaitable<void> sim_edges(Fixture& f, std::uint16_t port) {
  const std::string base = f.sim.base_url();
  const std::string token_url = base + "/oauth2/v1/token";
  const std::string verifier(50, 'v');
  const std::string challenge = jose::base64url_encode(jose::sha256(verifier));

  auto unknown = co_await f.http->request(plain("GET", base + "/oauth2/v1/authorize?client_id=0oanobody&response_type=code"));
  CHECK(unknown->status == 400);
  CHECK(unknown->body.find("invalid_client") != std::string::npos);
  auto bad_redirect = co_await f.http->request(
      plain("GET", authorize_url(base, static_cast<std::uint16_t>(port + 1), challenge)));
  CHECK(bad_redirect->status == 400);  // never redirected to an unregistered URI
  CHECK(bad_redirect->body.find("redirect_uri") != std::string::npos);
  auto token_rt = co_await f.http->request(
      plain("GET", base + "/oauth2/v1/authorize?response_type=token&client_id=" + kWebClient +
                       "&redirect_uri=http%3A%2F%2F127.0.0.1%3A" + std::to_string(port) + "%2Fcallback&state=s1"));
  CHECK(token_rt->status == 302);
  CHECK(token_rt->header("Location")->find("error=unsupported_response_type") != std::string::npos);
  CHECK(token_rt->header("Location")->find("state=s1") != std::string::npos);
  auto scope_rt = co_await f.http->request(
      plain("GET", base + "/oauth2/v1/authorize?response_type=code&client_id=" + kWebClient +
                       "&redirect_uri=http%3A%2F%2F127.0.0.1%3A" + std::to_string(port) +
                       "%2Fcallback&state=s1&scope=okta.apps.manage&code_challenge_method=S256&code_challenge=" + challenge));
  CHECK(scope_rt->header("Location")->find("error=invalid_scope") != std::string::npos);

  // PKCE: a wrong verifier is refused, and the code is spent by the attempt.
  auto a1 = co_await f.http->request(plain("GET", authorize_url(base, port, challenge)));
  REQUIRE(a1->status == 302);
  const std::string code1 = code_of(*a1);
  auto wrong_verifier = co_await f.http->request(form_post(token_url, code_form(code1, port, std::string(50, 'w'))));
  CHECK(wrong_verifier->status == 400);
  CHECK(wrong_verifier->body.find("PKCE") != std::string::npos);
  auto spent = co_await f.http->request(form_post(token_url, code_form(code1, port, verifier)));
  CHECK(spent->status == 400);
  CHECK(spent->body.find("invalid_grant") != std::string::npos);
  // A wrong client secret.
  auto a2 = co_await f.http->request(plain("GET", authorize_url(base, port, challenge)));
  auto bad_secret = co_await f.http->request(form_post(token_url, code_form(code_of(*a2), port, verifier, "nope-nope")));
  CHECK(bad_secret->status == 401);
  CHECK(bad_secret->body.find("invalid_client") != std::string::npos);
  // The right exchange gives access and refresh tokens.
  auto a3 = co_await f.http->request(plain("GET", authorize_url(base, port, challenge)));
  auto ok = co_await f.http->request(form_post(token_url, code_form(code_of(*a3), port, verifier)));
  REQUIRE(ok->status == 200);
  Json tokens = Json::parse(ok->body);
  CHECK(tokens["token_type"] == "Bearer");
  const std::string refresh = tokens["refresh_token"].get<std::string>();

  // Rotation: a new refresh token each time; the previous one still works during the grace period.
  auto r1 = co_await f.http->request(form_post(token_url, refresh_form(refresh)));
  REQUIRE(r1->status == 200);
  const std::string refresh2 = Json::parse(r1->body)["refresh_token"].get<std::string>();
  CHECK(refresh2 != refresh);
  auto grace = co_await f.http->request(form_post(token_url, refresh_form(refresh)));
  CHECK(grace->status == 200);
  // Revoking a refresh token ends it.
  auto rv = co_await f.http->request(form_post(base + "/oauth2/v1/revoke", revoke_form(refresh2)));
  CHECK(rv->status == 200);
  CHECK(rv->body.empty());
  auto after = co_await f.http->request(form_post(token_url, refresh_form(refresh2)));
  CHECK(after->status == 400);
  CHECK(after->body.find("invalid_grant") != std::string::npos);
  // Revoke needs client authentication.
  auto anon = co_await f.http->request(form_post(base + "/oauth2/v1/revoke", "token=" + refresh));
  CHECK(anon->status == 401);
}
}  // namespace

TEST_CASE("okta-sim: authorize validation, PKCE and secret checks, refresh rotation and revocation") {
  const std::uint16_t port = free_port();
  Fixture f({}, port);
  f.run(sim_edges(f, port));
}
