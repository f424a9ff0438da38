#include "jose.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <vector>

#include "util.hpp"

namespace oktasim::jose {

namespace {

struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;
struct MdFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdFree>;
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const noexcept { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};
struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};

std::string bn_bytes(const BIGNUM* bn, int pad = 0) {
  const int n = pad > 0 ? pad : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(n), '\0');
  if (pad > 0) BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad);
  else BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

Bn bn_from_b64(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return nullptr;
  std::string raw;
  if (!base64url_decode(j[key].get<std::string>(), raw) || raw.empty()) return nullptr;
  return Bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()), nullptr));
}

bool is_ec(const EVP_PKEY* key) { return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC; }

}  // namespace

Pkey generate_rsa(int bits) {
  return Pkey(EVP_RSA_gen(static_cast<unsigned>(bits)));
}

Pkey generate_ec_p256() { return Pkey(EVP_EC_gen("P-256")); }

std::string alg_for(const EVP_PKEY* key) { return is_ec(key) ? "ES256" : "RS256"; }

json public_jwk(const EVP_PKEY* key) {
  if (is_ec(key)) {
    BIGNUM* x = nullptr;
    BIGNUM* y = nullptr;
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x);
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
    Bn bx(x), by(y);
    if (!bx || !by) return json::object();
    return {{"kty", "EC"}, {"crv", "P-256"}, {"x", base64url_encode(bn_bytes(bx.get(), 32))},
            {"y", base64url_encode(bn_bytes(by.get(), 32))}};
  }
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
  EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e);
  Bn bn(n), be(e);
  if (!bn || !be) return json::object();
  return {{"kty", "RSA"}, {"n", base64url_encode(bn_bytes(bn.get()))}, {"e", base64url_encode(bn_bytes(be.get()))}};
}

Pkey from_jwk(const json& jwk, std::string& err) {
  if (!jwk.is_object() || !jwk.contains("kty") || !jwk["kty"].is_string()) {
    err = "the JWK has no kty";
    return nullptr;
  }
  const std::string kty = jwk["kty"].get<std::string>();
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  const char* type = nullptr;
  Bn a, b;
  std::string point;
  if (kty == "RSA") {
    a = bn_from_b64(jwk, "n");
    b = bn_from_b64(jwk, "e");
    if (!a || !b) {
      err = "the RSA JWK needs n and e";
      return nullptr;
    }
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, a.get());
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, b.get());
    type = "RSA";
  } else if (kty == "EC") {
    if (jwk.value("crv", "") != "P-256") {
      err = "only the P-256 curve is supported";
      return nullptr;
    }
    std::string x, y;
    if (!jwk.contains("x") || !jwk.contains("y") || !jwk["x"].is_string() || !jwk["y"].is_string() ||
        !base64url_decode(jwk["x"].get<std::string>(), x) || !base64url_decode(jwk["y"].get<std::string>(), y) ||
        x.size() != 32 || y.size() != 32) {
      err = "the EC JWK needs 32-byte x and y";
      return nullptr;
    }
    point = std::string(1, '\x04') + x + y;
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    type = "EC";
  } else {
    err = "unsupported kty " + kty;
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* out = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    err = "the JWK is not a valid public key";
    return nullptr;
  }
  return Pkey(out);
}

Pkey from_pem(const std::string& pem, std::string& err) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (!k) err = "not a PEM public key";
  return Pkey(k);
}

std::string sha256_b64url(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

std::string jwk_thumbprint(const json& jwk) {
  std::string canon;
  const std::string kty = jwk.value("kty", "");
  auto s = [&](const char* k) { return json(jwk.value(k, "")).dump(); };
  if (kty == "RSA") canon = "{\"e\":" + s("e") + ",\"kty\":\"RSA\",\"n\":" + s("n") + "}";
  else canon = "{\"crv\":" + s("crv") + ",\"kty\":\"EC\",\"x\":" + s("x") + ",\"y\":" + s("y") + "}";
  return sha256_b64url(canon);
}

std::string sign_jws(const EVP_PKEY* key, const json& header, const json& claims) {
  const std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  MdCtx md(EVP_MD_CTX_new());
  if (EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(key)) <= 0) return {};
  std::size_t len = 0;
  if (EVP_DigestSign(md.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) <= 0)
    return {};
  std::string sig(len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) <= 0)
    return {};
  sig.resize(len);
  if (is_ec(key)) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    std::unique_ptr<ECDSA_SIG, SigFree> es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
    if (!es) return {};
    sig = bn_bytes(ECDSA_SIG_get0_r(es.get()), 32) + bn_bytes(ECDSA_SIG_get0_s(es.get()), 32);
  }
  return input + "." + base64url_encode(sig);
}

bool decode_jws(const std::string& jws, json& header, json& claims) {
  const auto d1 = jws.find('.');
  const auto d2 = d1 == std::string::npos ? std::string::npos : jws.find('.', d1 + 1);
  if (d2 == std::string::npos) return false;
  std::string h, c;
  if (!base64url_decode(jws.substr(0, d1), h) || !base64url_decode(jws.substr(d1 + 1, d2 - d1 - 1), c)) return false;
  header = json::parse(h, nullptr, false);
  claims = json::parse(c, nullptr, false);
  return header.is_object() && claims.is_object();
}

bool verify_jws(const std::string& jws, const EVP_PKEY* key, json& header, json& claims, std::string& err) {
  if (!decode_jws(jws, header, claims)) {
    err = "malformed JWT";
    return false;
  }
  const std::string alg = header.value("alg", "");
  if (alg != alg_for(key)) {
    err = "unexpected alg " + alg;
    return false;
  }
  const auto d2 = jws.rfind('.');
  const std::string input = jws.substr(0, d2);
  std::string sig;
  if (!base64url_decode(jws.substr(d2 + 1), sig)) {
    err = "malformed signature";
    return false;
  }
  if (is_ec(key)) {
    if (sig.size() != 64) {
      err = "malformed ES256 signature";
      return false;
    }
    std::unique_ptr<ECDSA_SIG, SigFree> es(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data() + 32), 32, nullptr);
    ECDSA_SIG_set0(es.get(), r, s);
    unsigned char* der = nullptr;
    const int n = i2d_ECDSA_SIG(es.get(), &der);
    if (n <= 0) {
      err = "malformed ES256 signature";
      return false;
    }
    sig.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
  }
  MdCtx md(EVP_MD_CTX_new());
  if (EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(key)) <= 0 ||
      EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    err = "signature does not verify";
    return false;
  }
  return true;
}

}  // namespace oktasim::jose
