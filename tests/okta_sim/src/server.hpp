// okta-sim: the HTTP/1.1 server (Boost.Beast, one io_context, coroutines), over plain TCP or TLS.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "sim.hpp"

namespace oktasim {

// A TLS server context from a PEM certificate chain (leaf first) and its PEM private key;
// TLS 1.2 or later. Throws std::runtime_error naming the file that could not be used.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_chain_file,
                                                            const std::string& key_file);

class Server {
 public:
  // Binds 127.0.0.1:port (0 = any free port). Throws on failure. With `tls`, every connection
  // is TLS (https://); without, plain HTTP.
  Server(boost::asio::io_context& ioc, Sim& sim, unsigned short port,
         std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  unsigned short port() const { return port_; }
  const char* scheme() const { return tls_ ? "https" : "http"; }
  // Event hooks at https URLs are called trusting this (see make_hook_client_tls).
  void set_hook_tls(std::shared_ptr<boost::asio::ssl::context> tls) { hook_tls_ = std::move(tls); }
  // Starts accepting and delivering event hooks.
  void start();
  void stop();

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket sock);
  template <class Stream>
  boost::asio::awaitable<void> serve(Stream& stream);
  boost::asio::awaitable<void> hook_loop();

  boost::asio::io_context& ioc_;
  Sim& sim_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::shared_ptr<boost::asio::ssl::context> hook_tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  int inflight_ = 0;
  int connections_ = 0;
  bool stopping_ = false;
};

// Answers the HTTP/1.1 requests in `bytes` as one connection of the server would, in process and
// at once (no added latency; an event hook verification is answered as if the hook did not
// answer): the bytes the server would write back. Stops where the server would close the
// connection or wait for more. For fuzzing and tests.
std::string answer_bytes(Sim& sim, std::string_view bytes, const std::string& base);

// A TLS client context for event hook calls over https: trusts the PEM CA certificates in
// `ca_file` (as Okta trusts public CAs), TLS 1.2 or later. Throws std::runtime_error naming
// the file when it holds no usable certificate.
std::shared_ptr<boost::asio::ssl::context> make_hook_client_tls(const std::string& ca_file);

// A minimal loopback-only HTTP(S) client used for event hook verification and delivery.
// Returns the status (0 on failure) and fills body. Refuses anything but
// http(s)://127.0.0.1|localhost|[::1]. An https URL needs `tls` (else it fails, as an
// untrusted server would); the server's certificate must chain to its CAs and name the host.
boost::asio::awaitable<unsigned> loopback_request(const std::string& method, const std::string& url,
                                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                                   const std::string& body, std::string& response_body,
                                                   boost::asio::ssl::context* tls = nullptr);

}  // namespace oktasim
