#pragma once
// What went wrong with TLS, said so that a person can act on it: which check refused the
// server's certificate (an issuer not trusted, expired, not valid yet, another host name), or
// why the CA bundle cannot be used. Used by the HTTP client; kept apart from its event loop.
#include <optional>
#include <string>

#include "common/error.hpp"

namespace spokeflow::http {

// Why `path` cannot serve as a CA bundle (missing, unreadable, a folder, no PEM certificate in
// it), or nullopt when it holds at least one PEM certificate. Never quotes the file's content.
std::optional<std::string> ca_bundle_problem(const std::string& path);

// A transfer that failed in TLS, as curl reported it.
struct TlsFailure {
  int curl_code = 0;         // CURLcode
  long verify_result = 0;    // CURLINFO_SSL_VERIFYRESULT (OpenSSL's X509_V_* code)
  std::string curl_detail;   // curl's error text
  std::string what;          // "GET https://host/path"
  std::string host;          // the host name or address the URL names
  std::string ca_bundle;     // the trusted bundle; "" = the system's CA store
  bool request_sent = false; // curl had begun sending the request (never so for a refused certificate)
};

// The Error for a TLS failure, or nullopt when `curl_code` is no TLS failure. Verification
// failures are ErrorKind::network with code tls_untrusted_issuer, tls_certificate_expired,
// tls_certificate_not_yet_valid, tls_host_name_mismatch, tls_certificate_revoked or
// tls_verification_failed; a failed handshake is tls_handshake_failed; a CA bundle curl
// cannot load is ErrorKind::validation, tls_ca_bundle_unreadable. details.tls holds
// {problem, host, ca_bundle (null for the system's store), verify_result}.
std::optional<Error> tls_error(const TlsFailure& f);

// The Error for a CA bundle found unusable before any connection was made.
Error ca_bundle_error(const std::string& what, const std::string& path, const std::string& problem);

}  // namespace spokeflow::http
