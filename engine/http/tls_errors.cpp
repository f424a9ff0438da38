#include "http/tls_errors.hpp"

#include <curl/curl.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>

namespace spokeflow::http {

namespace {

// A CA bundle larger than this is not read whole to look for a certificate (the system's
// bundle is about 200 KB); the search stops there and curl has the last word.
constexpr std::size_t kMaxBundleScan = 16u << 20;

bool contains(std::string_view text, std::string_view what) { return text.find(what) != std::string_view::npos; }

// curl reports OpenSSL's X509_V_* codes only with its OpenSSL backend; with another, the
// verify result means something else and only curl's text is read.
bool openssl_backend() {
  static const bool yes = [] {
    const curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
    return v != nullptr && v->ssl_version != nullptr && std::string_view(v->ssl_version).find("OpenSSL") != std::string_view::npos;
  }();
  return yes;
}

struct Problem {
  std::string name;  // the code without its "tls_" prefix
  std::string says;  // what failed, for the message
  std::string hint;  // what to do about it
};

Problem classify(const TlsFailure& f) {
  const std::string trusted =
      f.ca_bundle.empty() ? std::string("the system's CA store") : "the CA bundle '" + f.ca_bundle + "'";
  Problem untrusted{"untrusted_issuer", "the server's certificate is not issued by a CA this connection trusts: none in " + trusted,
                    "if the server is the right one, set the connection's ca_bundle to a PEM file holding the CA that issued its certificate"};
  Problem expired{"certificate_expired", "the server's certificate has expired", "the server needs a renewed certificate"};
  Problem early{"certificate_not_yet_valid", "the server's certificate is not valid yet",
                "check the clocks of this machine and of the server"};
  Problem mismatch{"host_name_mismatch", "the server's certificate is not for host '" + f.host + "'",
                   "use in base_url the host name the certificate was issued for"};
  Problem revoked{"certificate_revoked", "the server's certificate has been revoked", "the server needs a new certificate"};
  Problem other{"verification_failed", "the server's certificate did not verify", "check the server's certificate chain"};

  if (openssl_backend()) {
    switch (f.verify_result) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
        return expired;
      case X509_V_ERR_CERT_NOT_YET_VALID:
        return early;
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      case X509_V_ERR_CERT_UNTRUSTED:
        return untrusted;
      case X509_V_ERR_HOSTNAME_MISMATCH:
      case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return mismatch;
      case X509_V_ERR_CERT_REVOKED:
        return revoked;
      default:
        break;
    }
  }
  // curl checks the name itself after OpenSSL accepted the chain (verify result 0).
  const std::string& d = f.curl_detail;
  if (contains(d, "subject name") || contains(d, "host name") || contains(d, "hostname")) return mismatch;
  if (contains(d, "expired")) return expired;
  if (contains(d, "not yet valid")) return early;
  if (contains(d, "issuer") || contains(d, "self-signed") || contains(d, "self signed")) return untrusted;
  return other;
}

Error make_tls(ErrorKind kind, const std::string& problem, std::string message, const TlsFailure& f) {
  Error e = Error::make(kind, std::move(message), "tls_" + problem);
  e.details = Json{{"curl_code", f.curl_code},
                   {"curl_error", curl_easy_strerror(static_cast<CURLcode>(f.curl_code))},
                   {"request_sent", f.request_sent},
                   {"tls",
                    {{"problem", problem},
                     {"host", f.host},
                     {"ca_bundle", f.ca_bundle.empty() ? Json() : Json(f.ca_bundle)},
                     {"verify_result", f.verify_result}}}};
  return e;
}

}  // namespace

std::optional<std::string> ca_bundle_problem(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec) return ec.message();
  if (fs::is_directory(st)) return std::string("it is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::generic_category().message(errno != 0 ? errno : EACCES);
  std::string text;
  char buf[64 * 1024];
  // Read in blocks; a marker cut between two blocks is found in the kept tail.
  while (in && text.size() < kMaxBundleScan) {
    in.read(buf, sizeof buf);
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (contains(text, "-----BEGIN CERTIFICATE-----") || contains(text, "-----BEGIN TRUSTED CERTIFICATE-----"))
      return std::nullopt;
    if (text.size() > 64) text.erase(0, text.size() - 64);
  }
  if (in.bad()) return std::string("it cannot be read");
  return std::string("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
}

Error ca_bundle_error(const std::string& what, const std::string& path, const std::string& problem) {
  Error e = Error::make(ErrorKind::validation,
                        what + ": cannot use the CA bundle '" + path + "': " + problem +
                            "; ca_bundle must name a readable PEM file of CA certificates",
                        "tls_ca_bundle_unreadable");
  e.details = Json{{"request_sent", false}, {"tls", {{"problem", "ca_bundle_unreadable"}, {"ca_bundle", path}}}};
  return e;
}

std::optional<Error> tls_error(const TlsFailure& f) {
  switch (static_cast<CURLcode>(f.curl_code)) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE: {
      const Problem p = classify(f);
      return make_tls(ErrorKind::network, p.name,
                      f.what + ": TLS verification failed: " + p.says + " (" + f.curl_detail + "); " + p.hint, f);
    }
    case CURLE_SSL_CACERT_BADFILE: {
      // Found usable before the transfer, so it changed since, or curl cannot parse what is in it.
      std::string problem = f.ca_bundle.empty() ? std::string() : ca_bundle_problem(f.ca_bundle).value_or("");
      if (problem.empty()) problem = "curl could not load it (" + f.curl_detail + ")";
      Error e = ca_bundle_error(f.what, f.ca_bundle.empty() ? "(the system's CA store)" : f.ca_bundle, problem);
      e.details["curl_code"] = f.curl_code;
      return e;
    }
    case CURLE_SSL_CONNECT_ERROR:
      return make_tls(ErrorKind::network, "handshake_failed",
                      f.what + ": the TLS handshake failed (" + f.curl_detail +
                          "); the server may not speak TLS on this port, or accept no TLS version or cipher "
                          "this client offers (TLS 1.2 or later)",
                      f);
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
      return make_tls(ErrorKind::network, "setup_failed", f.what + ": TLS could not be set up (" + f.curl_detail + ")", f);
    default:
      return std::nullopt;
  }
}

}  // namespace spokeflow::http
