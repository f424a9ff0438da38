#pragma once
// The little JOSE the OAuth providers need: base64url, SHA-256, private keys from PEM or JWK,
// compact JWS signing (RS256 / ES256), public JWKs and ephemeral P-256 keys for DPoP.
// Built on OpenSSL 3's EVP APIs; every handle is owned by an RAII wrapper.
// Private key text is a secret: it never appears in an error message.
#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/json.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace spokeflow::connect::jose {

std::string base64_encode(std::string_view bytes);     // standard alphabet, padded
std::string base64url_encode(std::string_view bytes);  // URL alphabet, no padding
// Accepts both alphabets, with or without padding; nullopt-like error on bad input.
Result<std::string> base64url_decode(std::string_view text);
std::string sha256(std::string_view bytes);             // raw 32 bytes
std::string random_bytes(std::size_t n);                // from OpenSSL's CSPRNG
std::string random_id(std::size_t n_bytes = 16);        // base64url of random bytes (jti, state, nonce)

enum class Algorithm { RS256, ES256 };
std::string_view to_string(Algorithm a);

// A private key with the algorithm it signs with. Move-only; frees the EVP_PKEY.
class PrivateKey {
 public:
  // PEM (PKCS#8 "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY") or a JWK as
  // JSON text (RSA with n,e,d,p,q,dp,dq,qi; EC P-256 with crv,x,y,d). RSA keys sign RS256
  // (at least 2048 bits), P-256 keys ES256; anything else is refused, naming what it is.
  // `what` names the key's origin for messages ("file keys/app.pem").
  static Result<PrivateKey> load(std::string_view text, std::string_view what);
  // A fresh P-256 key (DPoP proofs).
  static Result<PrivateKey> generate_p256();

  PrivateKey(PrivateKey&&) noexcept = default;
  PrivateKey& operator=(PrivateKey&&) noexcept = default;
  ~PrivateKey();

  Algorithm algorithm() const { return alg_; }
  // Public part as a JWK: EC {kty, crv, x, y} / RSA {kty, n, e} (members in RFC 7638 order).
  Json public_jwk() const;
  // Signature over `input` as JWS wants it: RSASSA-PKCS1-v1_5 SHA-256, or ES256 raw r||s (64 bytes).
  Result<std::string> sign(std::string_view input) const;
  EVP_PKEY* get() const { return key_.get(); }

 private:
  struct Free {
    void operator()(EVP_PKEY* k) const noexcept;
  };
  PrivateKey(EVP_PKEY* key, Algorithm alg) : key_(key), alg_(alg) {}
  std::unique_ptr<EVP_PKEY, Free> key_;
  Algorithm alg_ = Algorithm::RS256;
};

// Compact JWS: base64url(header) . base64url(claims) . base64url(signature).
// `header` gets "alg" set from the key; the caller adds typ, kid, jwk.
Result<std::string> sign_jws(const PrivateKey& key, Json header, const Json& claims);

// RFC 7638 thumbprint (base64url SHA-256 of the required members), for tests and logs.
std::string jwk_thumbprint(const Json& public_jwk);

}  // namespace spokeflow::connect::jose
