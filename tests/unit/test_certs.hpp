#pragma once
// Certificates made at test time with OpenSSL's C API: a CA of the test's own and server
// certificates it issues (names, IP addresses and validity chosen per case). Nothing here is
// committed: keys live in memory and in the test's temporary folder only.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace spokeflow::test {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

inline void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what + " failed");
}

inline std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

inline std::string pem_of_cert(X509* x) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  require(PEM_write_bio_X509(bio.get(), x) == 1, "PEM_write_bio_X509");
  return bio_text(bio.get());
}

inline std::string pem_of_key(EVP_PKEY* k) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  require(PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr) == 1, "PEM_write_bio_PrivateKey");
  return bio_text(bio.get());
}

inline void add_extension(X509* subject, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, subject, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  require(ext != nullptr, "X509V3_EXT_conf_nid");
  const int added = X509_add_ext(subject, ext, -1);
  X509_EXTENSION_free(ext);
  require(added == 1, "X509_add_ext");
}

// What a server certificate says about itself.
struct CertSpec {
  std::string common_name = "localhost";
  std::vector<std::string> dns = {"localhost"};
  std::vector<std::string> ips = {"127.0.0.1"};
  std::chrono::seconds not_before{-3600};  // relative to now
  std::chrono::seconds not_after{86400};
};

struct IssuedCert {
  std::string cert_pem;  // leaf, then the issuing CA (a full chain for the server)
  std::string key_pem;
};

class TestCa {
 public:
  explicit TestCa(const std::string& name) : key_(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")), cert_(X509_new()) {
    require(key_ && cert_, "CA key generation");
    X509* x = cert_.get();
    start(x, name, std::chrono::seconds(-3600), std::chrono::seconds(2 * 86400), key_.get());
    require(X509_set_issuer_name(x, X509_get_subject_name(x)) == 1, "X509_set_issuer_name");
    add_extension(x, x, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(x, x, NID_subject_key_identifier, "hash");
    require(X509_sign(x, key_.get(), EVP_sha256()) > 0, "X509_sign (CA)");
    cert_pem_ = pem_of_cert(x);
  }

  const std::string& cert_pem() const { return cert_pem_; }

  IssuedCert issue(const CertSpec& spec) {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    X509Ptr cert(X509_new());
    require(key && cert, "server key generation");
    X509* x = cert.get();
    start(x, spec.common_name, spec.not_before, spec.not_after, key.get());
    require(X509_set_issuer_name(x, X509_get_subject_name(cert_.get())) == 1, "X509_set_issuer_name");
    std::string san;
    for (const auto& d : spec.dns) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
    for (const auto& ip : spec.ips) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
    if (!san.empty()) add_extension(x, cert_.get(), NID_subject_alt_name, san);
    add_extension(x, cert_.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_extension(x, cert_.get(), NID_key_usage, "critical,digitalSignature");
    add_extension(x, cert_.get(), NID_ext_key_usage, "serverAuth");
    add_extension(x, cert_.get(), NID_authority_key_identifier, "keyid:always");
    require(X509_sign(x, key_.get(), EVP_sha256()) > 0, "X509_sign (server)");
    return IssuedCert{pem_of_cert(x) + cert_pem_, pem_of_key(key.get())};
  }

 private:
  void start(X509* x, const std::string& cn, std::chrono::seconds not_before, std::chrono::seconds not_after,
             EVP_PKEY* key) {
    require(X509_set_version(x, 2) == 1, "X509_set_version");
    require(ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial_) == 1, "serial number");
    require(X509_gmtime_adj(X509_getm_notBefore(x), static_cast<long>(not_before.count())) != nullptr, "notBefore");
    require(X509_gmtime_adj(X509_getm_notAfter(x), static_cast<long>(not_after.count())) != nullptr, "notAfter");
    require(X509_set_pubkey(x, key) == 1, "X509_set_pubkey");
    X509_NAME* name = X509_get_subject_name(x);
    require(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()),
                                       -1, -1, 0) == 1,
            "subject name");
  }

  PkeyPtr key_;
  X509Ptr cert_;
  std::string cert_pem_;
  long serial_ = 0;
};

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace spokeflow::test
