#include "serve/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <chrono>
#include <optional>

#include "common/ids.hpp"
#include "common/log_fields.hpp"
#include "common/text.hpp"

namespace spokeflow::serve {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::ip::tcp;
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

bool sane_request_id(std::string_view v) {
  if (v.empty() || v.size() > 64) return false;
  for (char c : v)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

// What every answer carries, a refusal of a malformed request too.
void set_common_fields(http::response<http::string_body>& res, const std::string& request_id, const std::string& content_type) {
  res.set(http::field::server, "spokeflow");
  res.set("X-Request-Id", request_id);
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
}

std::string request_id_of(const HttpRequest& req) {
  const std::string* given = req.header("x-request-id");
  return given && sane_request_id(*given) ? *given : new_sortable_id();
}

// Method, target, path and headers of a parsed request head.
template <class Fields>
void read_head(const http::request_header<Fields>& msg, HttpRequest& req) {
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  const auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  for (const auto& f : msg) req.headers.emplace(ascii_lower(f.name_string()), std::string(f.value()));
}

}  // namespace

const std::string* HttpRequest::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? nullptr : &it->second;
}

HttpResponse error_response(unsigned status, const std::string& kind, const std::string& message, Json details) {
  Json body = {{"error", {{"kind", kind}, {"message", message}, {"details", std::move(details)}}}};
  return json_response(status, body);
}

HttpResponse json_response(unsigned status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  r.body += '\n';
  return r;
}

// Plain TCP or TLS over it; `io` runs an operation on whichever it is.
struct HttpServer::Connection {
  Connection(tcp::socket s, asio::ssl::context* tls_context) {
    if (tls_context) tls.emplace(beast::tcp_stream(std::move(s)), *tls_context);
    else plain.emplace(std::move(s));
  }
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  bool busy = false;  // a request is being handled
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  template <class Op>
  auto io(Op&& op) {
    return tls ? op(*tls) : op(*plain);
  }
};

template <class Stream>
awaitable<void> HttpServer::refuse(Stream& stream, Connection& conn, HttpRequest req, HttpResponse err) {
  const auto started = std::chrono::steady_clock::now();
  auto alive = std::weak_ptr<bool>(alive_);
  req.request_id = request_id_of(req);
  http::response<http::string_body> res{static_cast<http::status>(err.status), 11};
  set_common_fields(res, req.request_id, err.content_type);
  res.set(http::field::connection, "close");
  res.body() = err.body;
  res.prepare_payload();
  conn.lowest().expires_after(Millis(5'000));
  co_await http::async_write(stream, res, use_tuple);
  if (alive.expired() || !on_refusal_) co_return;
  on_refusal_(req, err, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

HttpServer::HttpServer(asio::any_io_executor executor, const std::string& address, unsigned short port,
                       HttpLimits limits, HttpHandler handler)
    : executor_(std::move(executor)), limits_(limits), handler_(std::move(handler)), acceptor_(executor_) {
  beast::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) throw std::runtime_error("cannot listen on '" + address + "': not an IP address");
  tcp::endpoint ep(ip, port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
}

HttpServer::~HttpServer() { *alive_ = false; }

tcp::endpoint HttpServer::local_endpoint() const { return acceptor_.local_endpoint(); }

void HttpServer::start() { asio::co_spawn(executor_, accept_loop(), asio::detached); }

awaitable<void> HttpServer::accept_loop() {
  auto alive = std::weak_ptr<bool>(alive_);
  while (!stopping_) {
    auto [ec, sock] = co_await acceptor_.async_accept(use_tuple);
    if (alive.expired() || stopping_) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    if (static_cast<int>(connections_.size()) >= limits_.max_connections) {
      spdlog::warn("connection refused: {} connections open (the limit)", connections_.size());
      beast::error_code ignored;
      sock.close(ignored);
      continue;
    }
    auto conn = std::make_shared<Connection>(std::move(sock), tls_.get());
    connections_[conn.get()] = conn;
    asio::co_spawn(executor_, session(conn), asio::detached);
  }
}

awaitable<void> HttpServer::session(std::shared_ptr<Connection> conn) {
  auto alive = std::weak_ptr<bool>(alive_);
  beast::error_code ignored;
  conn->lowest().socket().set_option(tcp::no_delay(true), ignored);
  std::string peer;
  if (auto ep = conn->lowest().socket().remote_endpoint(ignored); !ignored) peer = ep.address().to_string();
  beast::flat_buffer buf;
  bool handshaken = false;
  if (conn->tls) {
    // The whole handshake (and the first bytes before it) within its own time limit.
    conn->lowest().expires_after(limits_.handshake_timeout);
    auto [dec, is_tls] = co_await beast::async_detect_ssl(conn->lowest(), buf, use_tuple);
    if (alive.expired()) co_return;
    if (!dec && !is_tls && buf.size() > 0) {
      // Plain HTTP to the HTTPS port: said in plain HTTP, then closed.
      HttpRequest req;
      req.peer = peer;
      co_await refuse(conn->lowest(), *conn, std::move(req),
                      error_response(400, "validation", "this port speaks HTTPS: use https://"));
      if (alive.expired()) co_return;
    } else if (!dec && is_tls) {
      auto [hec, used] = co_await conn->tls->async_handshake(asio::ssl::stream_base::server, buf.data(), use_tuple);
      if (alive.expired()) co_return;
      buf.consume(used);
      if (hec) spdlog::info("TLS handshake with {} failed: {}", peer, hec.message());
      handshaken = !hec;
    }
  }
  for (; handshaken || !conn->tls;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(limits_.max_body);
    parser.header_limit(static_cast<std::uint32_t>(limits_.max_header));
    conn->lowest().expires_after(limits_.read_timeout);
    auto [ec, n] = co_await conn->io([&](auto& s) { return http::async_read(s, buf, parser, use_tuple); });
    (void)n;
    if (alive.expired()) co_return;
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == beast::error::timeout || stopping_)
        break;
      HttpResponse err;
      if (ec == http::error::body_limit)
        err = error_response(413, "validation", "the request body is larger than " + std::to_string(limits_.max_body) + " bytes");
      else if (ec == http::error::header_limit)
        err = error_response(431, "validation", "the request's headers are larger than " + std::to_string(limits_.max_header) + " bytes");
      else
        err = error_response(400, "validation", "malformed HTTP request: " + ec.message());
      HttpRequest req;
      req.peer = peer;
      // A body over the cap is found once the whole head is read (its Content-Length): the head
      // says which route was refused. Other refusals come from a head that is not whole.
      if (ec == http::error::body_limit || parser.is_header_done()) read_head(parser.get(), req);
      co_await conn->io([&](auto& s) { return refuse(s, *conn, std::move(req), std::move(err)); });
      break;
    }
    auto& msg = parser.get();
    HttpRequest req;
    read_head(msg, req);
    req.body = std::move(msg.body());
    req.peer = peer;
    req.request_id = request_id_of(req);
    const bool head = req.method == "HEAD";
    if (head) req.method = "GET";
    const bool keep_alive = msg.keep_alive() && !stopping_;

    conn->busy = true;
    ++in_flight_;
    HttpResponse r;
    try {
      r = co_await handler_(req);
    } catch (const std::exception& e) {
      const Json fields = {{"request_id", req.request_id}};
      log_with(spdlog::level::err, fields, "{} {}: internal error: {}", req.method, req.path, e.what());
      r = error_response(500, "internal", "internal error (see the service's log, request " + req.request_id + ")");
    }
    if (alive.expired()) co_return;
    --in_flight_;
    conn->busy = false;

    http::response<http::string_body> res{static_cast<http::status>(r.status), msg.version()};
    set_common_fields(res, req.request_id, r.content_type);
    for (auto& [k, v] : r.headers) res.set(k, v);
    if (r.stream) {
      // Server-sent events: no length, the connection carries the stream until it ends.
      res.set(http::field::connection, "close");
      http::response_serializer<http::string_body> sr{res};
      conn->lowest().expires_never();
      auto [wec, wn] = co_await conn->io([&](auto& s) { return http::async_write_header(s, sr, use_tuple); });
      (void)wn;
      if (wec || alive.expired()) break;
      ++in_flight_;
      auto write = [conn](std::string chunk) -> awaitable<bool> {
        conn->lowest().expires_after(Millis(10'000));
        auto [e, m] = co_await conn->io([&](auto& s) { return asio::async_write(s, asio::buffer(chunk), use_tuple); });
        (void)m;
        // The deadline is the stream's, so it bounds the watching read too: a quiet stream has none.
        conn->lowest().expires_never();
        co_return !e;
      };
      // The stream ends when the client leaves (or the service closes the connection): a
      // stream whose execution waits for days writes nothing that could notice it.
      auto watch = [conn]() -> awaitable<void> {
        char sink[512];
        for (;;) {
          auto [e, m] = co_await conn->io([&](auto& s) { return s.async_read_some(asio::buffer(sink), use_tuple); });
          (void)m;
          if (e) co_return;
        }
      };
      try {
        using namespace asio::experimental::awaitable_operators;
        co_await (r.stream(std::move(write)) || watch());
      } catch (const boost::system::system_error& e) {
        if (e.code() != asio::error::operation_aborted)
          spdlog::warn("event stream of {} ended on an error: {}", req.path, e.what());
      } catch (const std::exception& e) {
        spdlog::warn("event stream of {} ended on an error: {}", req.path, e.what());
      }
      if (alive.expired()) co_return;
      --in_flight_;
      break;
    }
    res.keep_alive(keep_alive);
    if (!head) res.body() = std::move(r.body);
    res.prepare_payload();
    if (head) res.body().clear();
    conn->lowest().expires_after(limits_.read_timeout);
    auto [wec, wn] = co_await conn->io([&](auto& s) { return http::async_write(s, res, use_tuple); });
    (void)wn;
    if (alive.expired()) co_return;
    if (wec || !keep_alive || stopping_) break;
  }
  if (alive.expired()) co_return;
  if (handshaken && !stopping_) {
    // close_notify: a client reading to the end of the connection (an event stream) sees a
    // clean end, not a truncation.
    conn->lowest().expires_after(Millis(2'000));
    co_await conn->tls->async_shutdown(use_tuple);
    if (alive.expired()) co_return;
  }
  conn->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  conn->lowest().close();
  connections_.erase(conn.get());
}

awaitable<void> HttpServer::shutdown(Millis grace) {
  stopping_ = true;
  beast::error_code ignored;
  acceptor_.close(ignored);
  auto close_idle = [this, &ignored](bool all) {
    for (auto& [_, weak] : connections_)
      if (auto c = weak.lock(); c && (all || !c->busy)) c->lowest().socket().cancel(ignored);
  };
  close_idle(false);
  asio::steady_timer t(executor_);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (in_flight_ > 0 && std::chrono::steady_clock::now() < deadline) {
    t.expires_after(Millis(20));
    co_await t.async_wait(use_tuple);
    close_idle(false);
  }
  close_idle(true);
}

}  // namespace spokeflow::serve
