#include "serve/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace spokeflow::serve {
namespace ssl = boost::asio::ssl;
namespace {

// OpenSSL's reason for the last failure (its queue is cleared): "no start line", "key values
// mismatch", ... Reasons never carry key material.
std::string openssl_reason(const boost::system::error_code& ec) {
  std::string out;
  unsigned long e = 0;
  while (unsigned long next = ERR_get_error()) e = next;
  if (e) {
    if (const char* r = ERR_reason_error_string(e)) out = r;
  }
  if (out.empty()) out = ec.message();
  return out;
}

std::optional<std::string> unreadable(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::string(std::strerror(errno));
  return std::nullopt;
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_server_tls(const std::string& cert, const std::string& key) {
  auto fail = [](std::string msg) { return Error::make(ErrorKind::validation, std::move(msg), "tls_config"); };
  if (auto why = unreadable(cert)) return fail("cannot read the TLS certificate '" + cert + "': " + *why);
  if (auto why = unreadable(key)) return fail("cannot read the TLS key '" + key + "': " + *why);
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ERR_clear_error();
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert, ec);
  if (ec) return fail("the TLS certificate '" + cert + "' is not a PEM certificate chain (" + openssl_reason(ec) + ")");
  ctx->use_private_key_file(key, ssl::context::pem, ec);
  if (ec) {
    const std::string why = openssl_reason(ec);
    if (why.find("mismatch") != std::string::npos)
      return fail("the TLS key '" + key + "' is not the private key of the certificate in '" + cert + "'");
    return fail("the TLS key '" + key + "' is not a PEM private key (" + why + ")");
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    return fail("the TLS key '" + key + "' is not the private key of the certificate in '" + cert + "'");
  }
  return ctx;
}

}  // namespace spokeflow::serve
