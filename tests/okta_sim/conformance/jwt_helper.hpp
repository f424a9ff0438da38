// okta-sim tests: keys, client assertions and DPoP proofs for the OAuth replay.
#pragma once

#include <chrono>
#include <random>
#include <string>

#include "jose.hpp"
#include "util.hpp"

namespace oktasim_test {

using json = nlohmann::ordered_json;

inline long long now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

inline std::string random_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  static const char* chars = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  for (int i = 0; i < 24; ++i) s.push_back(chars[rng() % 36]);
  return s;
}

struct KeyPair {
  oktasim::jose::Pkey key;
  std::string alg;
  static KeyPair generate_rsa() {
    KeyPair k{oktasim::jose::generate_rsa(2048), "RS256"};
    return k;
  }
  static KeyPair generate_ec() {
    KeyPair k{oktasim::jose::generate_ec_p256(), "ES256"};
    return k;
  }
  json public_jwk() const { return oktasim::jose::public_jwk(key.get()); }
};

inline std::string sign_jwt(const KeyPair& k, const json& header, const json& claims) {
  return oktasim::jose::sign_jws(k.key.get(), header, claims);
}

// A DPoP proof (RFC 9449) for method + URL (no query), with the nonce and ath when given.
inline std::string dpop_proof(const KeyPair& k, const std::string& method, const std::string& htu,
                              const std::string& nonce, const std::string& access_token) {
  json claims = {{"htm", method}, {"htu", htu}, {"iat", now_s()}, {"jti", random_id()}};
  if (!nonce.empty()) claims["nonce"] = nonce;
  if (!access_token.empty()) claims["ath"] = oktasim::jose::sha256_b64url(access_token);
  return sign_jwt(k, {{"typ", "dpop+jwt"}, {"alg", k.alg}, {"jwk", k.public_jwk()}}, claims);
}

}  // namespace oktasim_test
