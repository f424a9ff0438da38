#pragma once
// What the auth tests share: keys made for the tests (EC P-256 and RSA, as PEM and JWK), an
// okta-sim seeded with the OAuth apps they sign in as, a fixture that builds providers and runs
// test coroutines, and helpers that call the API through an AuthProvider, read JWTs and check
// that no secret shows in a text.
#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "connect/auth.hpp"
#include "connect/jose.hpp"
#include "connect/secrets.hpp"
#include "http/http_client.hpp"
#include "sim_process.hpp"

namespace spokeflow::test::auth_fixtures {
using namespace spokeflow::connect;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::awaitable;

// ------------------------------------------------------------------ keys made for the tests

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

inline std::string bn_param(EVP_PKEY* k, const char* name, int pad = 0) {
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

inline std::string pem_of(EVP_PKEY* k, bool traditional) {
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

inline const TestKeys& keys() {
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
inline std::string pem_body_line(const std::string& pem) {
  auto start = pem.find('\n') + 1;
  return pem.substr(start, 40);
}

// ------------------------------------------------------------------ the simulated org

inline constexpr const char* kEcClient = "0oaes256dpop0000001";
inline constexpr const char* kRsaClient = "0oars256bearer00001";
inline constexpr const char* kWebClient = "0oawebapp0000000001";
inline constexpr const char* kWebSecret = "web-client-secret-0123456789";
inline constexpr const char* kSeedRefresh = "seeded-refresh-token-abcdefgh";

inline std::string seed_yaml(std::uint16_t redirect_port = 0) {
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

inline http::HttpRequest plain(std::string method, std::string url, Headers headers = {}, std::string body = {}) {
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
inline awaitable<http::HttpResponse> api_call(Fixture& f, AuthProvider& auth, std::string method, std::string path) {
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
inline http::HttpRequest form_post(std::string url, std::string body) {
  return plain("POST", std::move(url), {{"Content-Type", "application/x-www-form-urlencoded"}}, std::move(body));
}

inline const std::string* find_header(const Headers& h, const std::string& name) {
  for (const auto& [k, v] : h)
    if (k == name) return &v;
  return nullptr;
}

inline Json jwt_part(const std::string& jws, int index) {
  std::size_t a = 0;
  for (int i = 0; i < index; ++i) a = jws.find('.', a) + 1;
  std::size_t b = jws.find('.', a);
  auto text = jose::base64url_decode(jws.substr(a, b == std::string::npos ? std::string::npos : b - a));
  REQUIRE(text.ok());
  return Json::parse(text.value());
}

inline void check_no_secret(const std::string& text) {
  const auto& k = keys();
  for (const std::string* key : {&k.ec_pkcs8, &k.rsa_pkcs8, &k.ec_jwk, &k.rsa_jwk})
    CHECK(text.find(pem_body_line(*key)) == std::string::npos);
  CHECK(text.find(kWebSecret) == std::string::npos);
  CHECK(text.find(kSeedRefresh) == std::string::npos);
  CHECK(text.find(test::SimProcess::token()) == std::string::npos);
}

}  // namespace spokeflow::test::auth_fixtures
