// okta-sim: the small part of JOSE the token endpoint needs (RS256/ES256 JWS, JWK, thumbprints).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

namespace oktasim::jose {

using json = nlohmann::ordered_json;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey generate_rsa(int bits = 2048);
Pkey generate_ec_p256();
// Public JWK (kty RSA with n/e, or kty EC crv P-256 with x/y).
json public_jwk(const EVP_PKEY* key);
// Builds a public key from a JWK or a PEM; nullptr and err on failure.
Pkey from_jwk(const json& jwk, std::string& err);
Pkey from_pem(const std::string& pem, std::string& err);
// "RS256" for RSA keys, "ES256" for P-256 keys.
std::string alg_for(const EVP_PKEY* key);

std::string sign_jws(const EVP_PKEY* key, const json& header, const json& claims);
// Splits and decodes without verifying.
bool decode_jws(const std::string& jws, json& header, json& claims);
// Verifies the signature with key (alg from the header must fit the key). Fills header and claims.
bool verify_jws(const std::string& jws, const EVP_PKEY* key, json& header, json& claims, std::string& err);
// RFC 7638 thumbprint, base64url.
std::string jwk_thumbprint(const json& jwk);
std::string sha256_b64url(std::string_view data);

}  // namespace oktasim::jose
