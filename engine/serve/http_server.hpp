#pragma once
// The service's HTTP/1.1 server (Boost.Beast, coroutines, one event loop): keep-alive
// connections with a cap on their number, on header and body sizes, and on how long a request
// may take to arrive, so that a slow or hostile client cannot hold the service. Each request
// goes to one handler; a malformed one gets a 4xx and closes only its own connection.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/duration.hpp"
#include "common/json.hpp"

namespace spokeflow::serve {

struct HttpLimits {
  std::size_t max_body = 1u << 20;         // bytes; larger bodies get 413
  std::size_t max_header = 16u << 10;      // bytes of request line and headers; more gets 431
  Millis read_timeout{30'000};             // for a whole request to arrive (and a keep-alive idle)
  int max_connections = 1024;              // more are closed as soon as they are accepted
  Millis handshake_timeout{10'000};        // HTTPS: for the TLS handshake to end
};

struct HttpRequest {
  std::string method;                      // GET, POST, ... (HEAD is answered as GET without body)
  std::string target;                      // as sent: path and query
  std::string path;                        // decoded only by the router, per segment
  std::string query;                       // after '?', without it
  std::multimap<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string request_id;                  // the caller's X-Request-Id when it looks sane, else a new one
  std::string peer;                        // remote address
  // The API token's name once the handler accepted one (for the access log; never the token).
  mutable std::string token_name;
  const std::string* header(const std::string& lower_name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Server-sent events: after the head, `stream` is called with a writer until it returns;
  // the connection then closes. The writer returns false once the client is gone.
  std::function<boost::asio::awaitable<void>(std::function<boost::asio::awaitable<bool>(std::string)>)> stream;
};

using HttpHandler = std::function<boost::asio::awaitable<HttpResponse>(const HttpRequest&)>;
// Told of each request the server answers itself, before any handler (a 400, 413 or 431): what
// could be read of it (method and path empty when not even the request line could), the answer
// and the seconds it took to write.
using RefusalObserver = std::function<void(const HttpRequest&, const HttpResponse&, double seconds)>;

class HttpServer {
 public:
  // Binds `address`:`port` (0 = a free port). Throws std::runtime_error saying why it cannot.
  HttpServer(boost::asio::any_io_executor executor, const std::string& address, unsigned short port, HttpLimits limits,
             HttpHandler handler);
  ~HttpServer();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // HTTPS on every connection (before start()). A client that does not complete its handshake
  // within limits.handshake_timeout, or fails it, loses only its own connection; plain HTTP
  // sent to it gets a 400 saying so.
  void use_tls(std::shared_ptr<boost::asio::ssl::context> tls) { tls_ = std::move(tls); }
  bool tls() const { return tls_ != nullptr; }
  void on_refusal(RefusalObserver observer) { on_refusal_ = std::move(observer); }
  void start();
  // Stops accepting, closes idle connections, lets requests in flight be answered (at most
  // `grace`), then closes what is left.
  boost::asio::awaitable<void> shutdown(Millis grace);
  int in_flight() const { return in_flight_; }

 private:
  struct Connection;
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> session(std::shared_ptr<Connection> conn);
  // Answers `req` with `err` before any handler saw it, tells the observer; the connection closes.
  template <class Stream>
  boost::asio::awaitable<void> refuse(Stream& stream, Connection& conn, HttpRequest req, HttpResponse err);

  boost::asio::any_io_executor executor_;
  HttpLimits limits_;
  HttpHandler handler_;
  RefusalObserver on_refusal_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::map<Connection*, std::weak_ptr<Connection>> connections_;
  int in_flight_ = 0;
  bool stopping_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// `{"error": {"kind", "message", "details"}}` with its status.
HttpResponse error_response(unsigned status, const std::string& kind, const std::string& message,
                            Json details = Json::object());
HttpResponse json_response(unsigned status, const Json& body);

}  // namespace spokeflow::serve
