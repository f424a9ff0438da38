// JOSE (connect/jose.hpp): base64url and SHA-256, private keys from PEM and JWK with their
// algorithm, JWS signatures checked with OpenSSL directly, and keys that cannot be used refused
// with a clear message that never quotes the key.
#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "auth_fixtures.hpp"
#include "connect/jose.hpp"

using namespace spokeflow;
using namespace spokeflow::connect;
using namespace spokeflow::test::auth_fixtures;

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
