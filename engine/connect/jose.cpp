#include "connect/jose.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>
#include <vector>

#include "common/json_text.hpp"

namespace spokeflow::connect::jose {
namespace {

// RAII for the OpenSSL handles used below.
struct BioFree { void operator()(BIO* p) const noexcept { BIO_free(p); } };
struct BnFree { void operator()(BIGNUM* p) const noexcept { BN_clear_free(p); } };
struct PkeyCtxFree { void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); } };
struct MdCtxFree { void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); } };
struct ParamBldFree { void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); } };
struct ParamFree { void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); } };
struct SigFree { void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); } };
struct PkeyFree { void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); } };
using Bio = std::unique_ptr<BIO, BioFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree>;
using Params = std::unique_ptr<OSSL_PARAM, ParamFree>;
using Sig = std::unique_ptr<ECDSA_SIG, SigFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Error key_error(std::string_view what, std::string_view problem) {
  // The OpenSSL error queue may describe the input; drop it rather than report it.
  ERR_clear_error();
  return Error::make(ErrorKind::auth, "private key from " + std::string(what) + ": " + std::string(problem));
}

std::string bn_bytes(const BIGNUM* bn, int pad = 0) {
  int n = pad > 0 ? pad : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(n), '\0');
  if (pad > 0)
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad);
  else
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

Bn bn_from(std::string_view bytes) {
  return Bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
}

Bn get_bn(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return nullptr;
  return Bn(bn);
}

// Which of the two algorithms this key signs with, or why it cannot be used.
Result<Algorithm> detect(EVP_PKEY* key, std::string_view what) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (EVP_PKEY_get_bits(key) < 2048)
      return key_error(what, "RSA key of " + std::to_string(EVP_PKEY_get_bits(key)) +
                                 " bits is too short; use at least 2048 bits");
    return Algorithm::RS256;
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {0};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1)
      return key_error(what, "EC key without a named curve; only P-256 (ES256) is supported");
    std::string g(group, len);
    if (g != "prime256v1" && g != "P-256")
      return key_error(what, "EC key on curve " + g + "; only P-256 (ES256) is supported");
    return Algorithm::ES256;
  }
  const char* type = EVP_PKEY_get0_type_name(key);
  return key_error(what, std::string("key type ") + (type ? type : "unknown") +
                             " is not supported; use an RSA (RS256) or P-256 EC (ES256) key");
}

int no_passphrase(char*, int, int, void*) { return -1; }

Result<Pkey> load_pem(std::string_view text, std::string_view what) {
  Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) return key_error(what, "out of memory");
  // No passphrase callback: an encrypted key must fail, never prompt on a terminal.
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (!key) {
    if (text.find("ENCRYPTED") != std::string_view::npos)
      return key_error(what, "the PEM key is encrypted; store it unencrypted (the vault encrypts it)");
    return key_error(what, "not a readable PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC expected)");
  }
  return Pkey(key);
}

Result<std::string> jwk_member(const Json& jwk, const char* name, std::string_view what) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return key_error(what, std::string("JWK lacks \"") + name + "\"");
  auto bytes = base64url_decode(it->get<std::string>());
  if (!bytes) return key_error(what, std::string("JWK member \"") + name + "\" is not base64url");
  return std::move(bytes).value();
}

Result<Pkey> from_params(const char* type, OSSL_PARAM_BLD* bld, std::string_view what) {
  Params params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return key_error(what, "cannot build the key");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) != 1 || !raw)
    return key_error(what, "the JWK does not describe a valid key");
  Pkey key(raw);
  // fromdata takes the members on trust; a private part not matching the public one would
  // only show up later as signatures the server rejects.
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_pairwise_check(check.get()) != 1)
    return key_error(what, "the JWK's private and public members do not belong together");
  return key;
}

Result<Pkey> load_jwk(std::string_view text, std::string_view what) {
  auto parsed = parse_json(text);  // nested at most kMaxJsonDepth levels
  if (!parsed && parsed.error().code == kTooDeepCode) return key_error(what, parsed.error().message);
  if (!parsed || !parsed->is_object()) return key_error(what, "not valid JSON (a JWK object was expected)");
  Json jwk = std::move(parsed).value();
  // A JWK set with one key is what some consoles download.
  if (jwk.contains("keys") && jwk["keys"].is_array()) {
    if (jwk["keys"].size() != 1) return key_error(what, "a JWK set must hold exactly one key");
    Json only = jwk["keys"][0];
    jwk = std::move(only);
  }
  std::string kty = jwk.value("kty", "");
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld) return key_error(what, "out of memory");
  std::vector<Bn> keep;  // the builder references these until to_param
  auto push = [&](const char* param, std::string_view bytes) {
    keep.push_back(bn_from(bytes));
    return keep.back() && OSSL_PARAM_BLD_push_BN(bld.get(), param, keep.back().get()) == 1;
  };
  if (kty == "RSA") {
    if (!jwk.contains("d")) return key_error(what, "the JWK is a public key; the private key (with \"d\") is needed");
    static constexpr std::array<std::pair<const char*, const char*>, 3> required = {{
        {"n", OSSL_PKEY_PARAM_RSA_N}, {"e", OSSL_PKEY_PARAM_RSA_E}, {"d", OSSL_PKEY_PARAM_RSA_D}}};
    for (auto [member, param] : required) {
      auto v = jwk_member(jwk, member, what);
      if (!v) return v.error();
      if (!push(param, *v)) return key_error(what, "out of memory");
    }
    static constexpr std::array<std::pair<const char*, const char*>, 5> crt = {{
        {"p", OSSL_PKEY_PARAM_RSA_FACTOR1}, {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
        {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1}, {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
        {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}}};
    int present = 0;
    for (auto [member, param] : crt) present += jwk.contains(member) ? 1 : 0;
    if (present != 0 && present != 5) return key_error(what, "the JWK has some of p, q, dp, dq, qi but not all");
    if (present == 5) {
      for (auto [member, param] : crt) {
        auto v = jwk_member(jwk, member, what);
        if (!v) return v.error();
        if (!push(param, *v)) return key_error(what, "out of memory");
      }
    }
    return from_params("RSA", bld.get(), what);
  }
  if (kty == "EC") {
    std::string crv = jwk.value("crv", "");
    if (crv != "P-256") return key_error(what, "EC JWK on curve \"" + crv + "\"; only P-256 (ES256) is supported");
    if (!jwk.contains("d")) return key_error(what, "the JWK is a public key; the private key (with \"d\") is needed");
    auto x = jwk_member(jwk, "x", what);
    if (!x) return x.error();
    auto y = jwk_member(jwk, "y", what);
    if (!y) return y.error();
    auto d = jwk_member(jwk, "d", what);
    if (!d) return d.error();
    if (x->size() != 32 || y->size() != 32 || d->size() != 32)
      return key_error(what, "P-256 JWK members x, y and d must be 32 bytes each");
    std::string point = "\x04" + *x + *y;
    if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1 ||
        !push(OSSL_PKEY_PARAM_PRIV_KEY, *d))
      return key_error(what, "out of memory");
    return from_params("EC", bld.get(), what);
  }
  if (kty.empty()) return key_error(what, "the JSON has no \"kty\"; it is not a JWK");
  return key_error(what, "JWK key type \"" + kty + "\" is not supported; use RSA (RS256) or EC P-256 (ES256)");
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string encode(std::string_view in, bool url) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto ch = [&](unsigned v) {
    char c = kB64[v & 63];
    if (url && c == '+') c = '-';
    if (url && c == '/') c = '_';
    out.push_back(c);
  };
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    ch(v >> 18), ch(v >> 12), ch(v >> 6), ch(v);
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    ch(v >> 18), ch(v >> 12);
    if (!url) out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    ch(v >> 18), ch(v >> 12), ch(v >> 6);
    if (!url) out += "=";
  }
  return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) { return encode(bytes, false); }
std::string base64url_encode(std::string_view bytes) { return encode(bytes, true); }

Result<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-' || c == '+') v = 62;
    else if (c == '_' || c == '/') v = 63;
    else return Error::make(ErrorKind::validation, "invalid base64url text");
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6) return Error::make(ErrorKind::validation, "invalid base64url length");
  return out;
}

std::string sha256(std::string_view bytes) {
  std::string out(32, '\0');
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(out.data()), &len, EVP_sha256(),
                 nullptr) != 1 ||
      len != 32)
    throw std::runtime_error("SHA-256 failed");  // only when OpenSSL is broken
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("the random generator failed");
  return out;
}

std::string random_id(std::size_t n_bytes) { return base64url_encode(random_bytes(n_bytes)); }

std::string_view to_string(Algorithm a) { return a == Algorithm::ES256 ? "ES256" : "RS256"; }

void PrivateKey::Free::operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
PrivateKey::~PrivateKey() = default;

Result<PrivateKey> PrivateKey::load(std::string_view text, std::string_view what) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return key_error(what, "it is empty");
  Result<Pkey> key = text[first] == '{' ? load_jwk(text, what) : load_pem(text, what);
  if (!key) return key.error();
  auto alg = detect(key->get(), what);
  if (!alg) return alg.error();
  return PrivateKey(key->release(), *alg);
}

Result<PrivateKey> PrivateKey::generate_p256() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (!key) return key_error("a new DPoP key", "P-256 key generation failed");
  return PrivateKey(key, Algorithm::ES256);
}

Json PrivateKey::public_jwk() const {
  if (alg_ == Algorithm::ES256) {
    auto x = get_bn(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X);
    auto y = get_bn(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
    if (!x || !y) throw std::runtime_error("cannot read an EC public key");
    return Json{{"crv", "P-256"}, {"kty", "EC"}, {"x", base64url_encode(bn_bytes(x.get(), 32))},
                {"y", base64url_encode(bn_bytes(y.get(), 32))}};
  }
  auto n = get_bn(key_.get(), OSSL_PKEY_PARAM_RSA_N);
  auto e = get_bn(key_.get(), OSSL_PKEY_PARAM_RSA_E);
  if (!n || !e) throw std::runtime_error("cannot read an RSA public key");
  return Json{{"e", base64url_encode(bn_bytes(e.get()))}, {"kty", "RSA"}, {"n", base64url_encode(bn_bytes(n.get()))}};
}

Result<std::string> PrivateKey::sign(std::string_view input) const {
  MdCtx ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    ERR_clear_error();
    return Error::make(ErrorKind::internal, "signing with the " + std::string(to_string(alg_)) + " key failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    ERR_clear_error();
    return Error::make(ErrorKind::internal, "signing with the " + std::string(to_string(alg_)) + " key failed");
  }
  sig.resize(len);
  if (alg_ == Algorithm::RS256) return sig;
  // OpenSSL gives ECDSA as DER; JWS wants the fixed-width r || s.
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  Sig der(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!der) {
    ERR_clear_error();
    return Error::make(ErrorKind::internal, "ES256 signature could not be decoded");
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(der.get(), &r, &s);
  return bn_bytes(r, 32) + bn_bytes(s, 32);
}

Result<std::string> sign_jws(const PrivateKey& key, Json header, const Json& claims) {
  header["alg"] = std::string(to_string(key.algorithm()));
  std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  auto sig = key.sign(input);
  if (!sig) return sig.error();
  return input + "." + base64url_encode(*sig);
}

std::string jwk_thumbprint(const Json& jwk) {
  Json required;
  if (jwk.value("kty", "") == "EC")
    required = Json{{"crv", jwk.at("crv")}, {"kty", "EC"}, {"x", jwk.at("x")}, {"y", jwk.at("y")}};
  else
    required = Json{{"e", jwk.at("e")}, {"kty", "RSA"}, {"n", jwk.at("n")}};
  return base64url_encode(sha256(required.dump()));  // nlohmann orders keys, as RFC 7638 wants
}

}  // namespace spokeflow::connect::jose
