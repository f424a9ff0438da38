#pragma once
// The service's HTTPS: a server TLS context from a PEM certificate chain and its private key,
// checked before anything listens (a file that cannot be read or used, or a key that is not
// the certificate's, is an error naming the file). TLS 1.2 and later only.
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "common/error.hpp"

namespace spokeflow::serve {

// `cert_chain_file`: the server's certificate first, then its intermediates (PEM).
// `key_file`: its private key (PEM, not encrypted). Error kind validation; the message names
// the file and what is wrong with it, never its content.
Result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls(const std::string& cert_chain_file,
                                                                     const std::string& key_file);

}  // namespace spokeflow::serve
