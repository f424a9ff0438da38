// Auth providers and JOSE against okta-sim: SSWS, private-key JWT service apps with and without
// DPoP, the token cache (single flight, renewal, 401 recovery), refresh tokens with rotation,
// and the authorization-code login with PKCE end to end.
#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/scrub.hpp"
#include "connect/auth.hpp"
#include "connect/jose.hpp"
#include "connect/secrets.hpp"
#include "connect/vault.hpp"
#include "http/http_client.hpp"
#include "sim_process.hpp"

using namespace spokeflow;
using namespace spokeflow::connect;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

namespace {

// ------------------------------------------------------------------ keys made for the tests

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string bn_param(EVP_PKEY* k, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(k, name, &bn) == 1);
  std::string out(static_cast<std::size_t>(pad ? pad : BN_num_bytes(bn)), '\0');
  if (pad)
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad);
  else
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_clear_free(bn);
  return jose::base64url_encode(out);
}

std::string pem_of(EVP_PKEY* k, bool traditional) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (traditional)
    REQUIRE(PEM_write_bio_PrivateKey_traditional(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  else
    REQUIRE(PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

struct TestKeys {
  Pkey ec, rsa;
  std::string ec_pkcs8, ec_sec1, ec_jwk;        // private key texts
  std::string rsa_pkcs8, rsa_pkcs1, rsa_jwk;
  Json ec_public, rsa_public;
};

const TestKeys& keys() {
  static const TestKeys k = [] {
    TestKeys t;
    t.ec.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    t.rsa.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
    REQUIRE(t.ec);
    REQUIRE(t.rsa);
    t.ec_pkcs8 = pem_of(t.ec.get(), false);
    t.ec_sec1 = pem_of(t.ec.get(), true);
    t.rsa_pkcs8 = pem_of(t.rsa.get(), false);
    t.rsa_pkcs1 = pem_of(t.rsa.get(), true);
    t.ec_public = Json{{"kty", "EC"}, {"crv", "P-256"}, {"x", bn_param(t.ec.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32)},
                       {"y", bn_param(t.ec.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32)}};
    Json ecj = t.ec_public;
    ecj["d"] = bn_param(t.ec.get(), OSSL_PKEY_PARAM_PRIV_KEY, 32);
    t.ec_jwk = ecj.dump();
    t.rsa_public = Json{{"kty", "RSA"}, {"n", bn_param(t.rsa.get(), OSSL_PKEY_PARAM_RSA_N)},
                        {"e", bn_param(t.rsa.get(), OSSL_PKEY_PARAM_RSA_E)}};
    Json rj = t.rsa_public;
    rj["d"] = bn_param(t.rsa.get(), OSSL_PKEY_PARAM_RSA_D);
    rj["p"] = bn_param(t.rsa.get(), OSSL_PKEY_PARAM_RSA_FACTOR1);
    rj["q"] = bn_param(t.rsa.get(), OSSL_PKEY_PARAM_RSA_FACTOR2);
    rj["dp"] = bn_param(t.rsa.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1);
    rj["dq"] = bn_param(t.rsa.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2);
    rj["qi"] = bn_param(t.rsa.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
    t.rsa_jwk = rj.dump();
    return t;
  }();
  return k;
}

// Base64 of the secret bytes in a PEM (what would leak if a key were ever echoed).
std::string pem_body_line(const std::string& pem) {
  auto start = pem.find('\n') + 1;
  return pem.substr(start, 40);
}

// ------------------------------------------------------------------ the simulated org

constexpr const char* kEcClient = "0oaes256dpop0000001";
constexpr const char* kRsaClient = "0oars256bearer00001";
constexpr const char* kWebClient = "0oawebapp0000000001";
constexpr const char* kWebSecret = "web-client-secret-0123456789";
constexpr const char* kSeedRefresh = "seeded-refresh-token-abcdefgh";

std::string seed_yaml(std::uint16_t redirect_port = 0) {
  const auto& k = keys();
  std::string s = "oauth_clients:\n";
  s += "  - client_id: " + std::string(kEcClient) +
       "\n    scopes: [okta.users.read, okta.users.manage, okta.groups.read]\n    dpop: true\n    public_jwk: " +
       k.ec_public.dump() + "\n";
  s += "  - client_id: " + std::string(kRsaClient) + "\n    scopes: [okta.users.read]\n    dpop: false\n    public_jwk: " +
       k.rsa_public.dump() + "\n";
  s += "  - client_id: " + std::string(kWebClient) +
       "\n    scopes: [okta.users.read, okta.groups.read]\n    dpop: false\n    client_secret: " + kWebSecret +
       "\n    refresh_token: " + kSeedRefresh + "\n    rotate_refresh_token: true\n";
  if (redirect_port)
    s += "    redirect_uris: [\"http://127.0.0.1:" + std::to_string(redirect_port) + "/callback\"]\n";
  return s;
}

struct Fixture {
  explicit Fixture(const std::string& config = {}, std::uint16_t redirect_port = 0)
      : sim(seed_yaml(redirect_port), config),
        http(std::make_shared<http::HttpClient>(io.get_executor())),
        secrets(nullptr, sim.dir().string()) {
    connection.name = "okta";
    connection.base_url = sim.base_url();
    connection.allow_insecure_http = true;
    connection.request_timeout = 10s;
  }

  // Writes a secret to a file in the sim's temp folder and returns a reference to it.
  SecretRef file_secret(const std::string& name, const std::string& value) {
    std::ofstream(sim.dir() / name) << value;
    SecretRef r;
    r.source = SecretRef::Source::file;
    r.name = name;
    return r;
  }

  Credential service(const std::string& client_id, const std::string& key_text, DpopMode dpop,
                     std::vector<std::string> scopes = {"okta.users.read"}) {
    Credential c;
    c.name = "svc";
    c.type = CredentialType::okta_oauth_service;
    c.client_id = client_id;
    c.private_key = file_secret("key-" + client_id, key_text);
    c.scopes = std::move(scopes);
    c.dpop = dpop;
    return c;
  }

  std::shared_ptr<AuthProvider> provider(const Credential& c) {
    auto p = make_auth_provider(connection, c, secrets, http);
    REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().message));
    return p.value();
  }

  // Runs one test coroutine to completion (bounded); rethrows its failures.
  void run(awaitable<void> body) {
    std::exception_ptr failure;
    bool done = false;
    asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
      failure = e;
      done = true;
    });
    io.run_for(40s);
    io.restart();
    REQUIRE_MESSAGE(done, "the test coroutine did not finish in time");
    if (failure) std::rethrow_exception(failure);
  }

  asio::io_context io;
  test::SimProcess sim;
  std::shared_ptr<http::HttpClient> http;
  SecretResolver secrets;
  Connection connection;
};

http::HttpRequest plain(std::string method, std::string url, Headers headers = {}, std::string body = {}) {
  http::HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.headers = std::move(headers);
  r.body = std::move(body);
  r.allow_insecure_http = true;
  r.timeout = 10s;
  return r;
}

// One API call authenticated by the provider, with its one retry when it asks for one.
awaitable<http::HttpResponse> api_call(Fixture& f, AuthProvider& auth, std::string method, std::string path) {
  const std::string url = f.sim.base_url() + path;
  http::HttpResponse last;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto h = co_await auth.headers(method, url);
    REQUIRE_MESSAGE(h.ok(), (h.ok() ? "" : h.error().message));
    auto r = co_await f.http->request(plain(method, url, h.value()));
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    last = std::move(r).value();
    if (!auth.on_response(last)) break;
  }
  co_return last;
}

// Kept out of coroutines: GCC 12 miscompiles braced lists of string literals inside them.
http::HttpRequest form_post(std::string url, std::string body) {
  return plain("POST", std::move(url), {{"Content-Type", "application/x-www-form-urlencoded"}}, std::move(body));
}

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

const std::string* find_header(const Headers& h, const std::string& name) {
  for (const auto& [k, v] : h)
    if (k == name) return &v;
  return nullptr;
}

Json jwt_part(const std::string& jws, int index) {
  std::size_t a = 0;
  for (int i = 0; i < index; ++i) a = jws.find('.', a) + 1;
  std::size_t b = jws.find('.', a);
  auto text = jose::base64url_decode(jws.substr(a, b == std::string::npos ? std::string::npos : b - a));
  REQUIRE(text.ok());
  return Json::parse(text.value());
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

void check_no_secret(const std::string& text) {
  const auto& k = keys();
  for (const std::string* key : {&k.ec_pkcs8, &k.rsa_pkcs8, &k.ec_jwk, &k.rsa_jwk})
    CHECK(text.find(pem_body_line(*key)) == std::string::npos);
  CHECK(text.find(kWebSecret) == std::string::npos);
  CHECK(text.find(kSeedRefresh) == std::string::npos);
  CHECK(text.find(test::SimProcess::token()) == std::string::npos);
}

}  // namespace

// =================================================================== JOSE

TEST_CASE("jose: base64url and sha256") {
  CHECK(jose::base64url_encode("") == "");
  CHECK(jose::base64url_encode("f") == "Zg");
  CHECK(jose::base64url_encode("fo") == "Zm8");
  CHECK(jose::base64url_encode("foo") == "Zm9v");
  CHECK(jose::base64_encode("fo") == "Zm8=");
  CHECK(jose::base64url_encode(std::string("\xfb\xff", 2)) == "-_8");
  CHECK(jose::base64url_decode("-_8").value() == std::string("\xfb\xff", 2));
  CHECK(jose::base64url_decode("Zm9vYg==").value() == "foob");
  CHECK_FALSE(jose::base64url_decode("a b").ok());
  CHECK_FALSE(jose::base64url_decode("A").ok());
  // RFC 7636 appendix B
  CHECK(jose::base64url_encode(jose::sha256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")) ==
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  CHECK(jose::random_id().size() == 22);
  CHECK(jose::random_id() != jose::random_id());
}

TEST_CASE("jose: keys from PEM and JWK, algorithm detection, ES256 signatures as raw r||s") {
  const auto& k = keys();
  struct Case {
    const std::string* text;
    jose::Algorithm alg;
  } cases[] = {{&k.ec_pkcs8, jose::Algorithm::ES256}, {&k.ec_sec1, jose::Algorithm::ES256},
               {&k.ec_jwk, jose::Algorithm::ES256},   {&k.rsa_pkcs8, jose::Algorithm::RS256},
               {&k.rsa_pkcs1, jose::Algorithm::RS256}, {&k.rsa_jwk, jose::Algorithm::RS256}};
  for (const auto& c : cases) {
    auto key = jose::PrivateKey::load(*c.text, "test key");
    REQUIRE_MESSAGE(key.ok(), (key.ok() ? "" : key.error().message));
    CHECK(key->algorithm() == c.alg);
    const Json pub = key->public_jwk();
    CHECK(pub == (c.alg == jose::Algorithm::ES256 ? k.ec_public : k.rsa_public));
    CHECK_FALSE(pub.contains("d"));
    auto jws = jose::sign_jws(*key, Json{{"typ", "JWT"}}, Json{{"iss", "x"}});
    REQUIRE(jws.ok());
    CHECK(jwt_part(*jws, 0)["alg"] == std::string(jose::to_string(c.alg)));
    // Verify the signature with OpenSSL directly.
    const std::string input = jws->substr(0, jws->rfind('.'));
    std::string sig = jose::base64url_decode(jws->substr(jws->rfind('.') + 1)).value();
    EVP_PKEY* verify_key = c.alg == jose::Algorithm::ES256 ? k.ec.get() : k.rsa.get();
    if (c.alg == jose::Algorithm::ES256) {
      REQUIRE(sig.size() == 64);
      ECDSA_SIG* es = ECDSA_SIG_new();
      ECDSA_SIG_set0(es, BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr),
                     BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr));
      unsigned char* der = nullptr;
      int n = i2d_ECDSA_SIG(es, &der);
      sig.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
      OPENSSL_free(der);
      ECDSA_SIG_free(es);
    } else {
      CHECK(sig.size() == 256);
    }
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    REQUIRE(EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, verify_key) == 1);
    CHECK(EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1);
    EVP_MD_CTX_free(md);
  }
  // RFC 7638 §3.1 example thumbprint.
  Json rfc = {{"kty", "RSA"},
              {"n", "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
              {"e", "AQAB"}};
  CHECK(jose::jwk_thumbprint(rfc) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");

  auto eph = jose::PrivateKey::generate_p256();
  REQUIRE(eph.ok());
  CHECK(eph->algorithm() == jose::Algorithm::ES256);
  CHECK(eph->public_jwk()["crv"] == "P-256");
}

TEST_CASE("jose: unusable keys are refused with a clear message that never quotes the key") {
  auto refused = [](const std::string& text, const std::string& expect) {
    auto key = jose::PrivateKey::load(text, "file k.pem");
    REQUIRE_FALSE(key.ok());
    CHECK(key.error().kind == ErrorKind::auth);
    CHECK_MESSAGE(key.error().message.find(expect) != std::string::npos, key.error().message);
    CHECK(key.error().message.find("file k.pem") != std::string::npos);
    if (text.size() > 60) CHECK(key.error().message.find(pem_body_line(text)) == std::string::npos);
  };
  Pkey p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  refused(pem_of(p384.get(), false), "only P-256");
  Pkey ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  refused(pem_of(ed.get(), false), "not supported");
  Pkey small(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024)));
  refused(pem_of(small.get(), false), "too short");
  refused("-----BEGIN PRIVATE KEY-----\nMIIBVwIBADANBgkqhkiG9w0BAQEFAASCAUEwggE9AgEAAkEA\n-----END PRIVATE KEY-----\n",
          "not a readable PEM");
  refused("", "empty");
  refused("{\"kty\":\"oct\",\"k\":\"c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw\"}", "\"oct\" is not supported");
  refused(keys().ec_public.dump(), "public key");
  Json bad = Json::parse(keys().ec_jwk);
  bad["d"] = Json::parse(keys().ec_jwk)["x"];  // a private scalar not matching the public point
  refused(bad.dump(), "do not belong together");
  // An encrypted PEM fails without prompting for a passphrase.
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio.get(), keys().ec.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                        const_cast<char*>("passphrase")) == 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  refused(std::string(data, static_cast<std::size_t>(n)), "encrypted");
}

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
