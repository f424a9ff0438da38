#include "server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <array>
#include <charconv>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <type_traits>
#include <string_view>
#include <memory>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

namespace oktasim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::shared_ptr<asio::ssl::context> make_tls_context(const std::string& cert_chain_file, const std::string& key_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                   asio::ssl::context::single_dh_use);
  beast::error_code ec;
  ctx->use_certificate_chain_file(cert_chain_file, ec);
  if (ec) throw std::runtime_error("--tls-cert " + cert_chain_file + ": cannot use it as a PEM certificate chain (" + ec.message() + ")");
  ctx->use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) throw std::runtime_error("--tls-key " + key_file + ": cannot use it as a PEM private key (" + ec.message() + ")");
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw std::runtime_error("--tls-key " + key_file + " is not the key of the certificate in " + cert_chain_file);
  return ctx;
}

Server::Server(asio::io_context& ioc, Sim& sim, unsigned short port, std::shared_ptr<asio::ssl::context> tls)
    : ioc_(ioc), sim_(sim), tls_(std::move(tls)), acceptor_(ioc) {
  const tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
}

void Server::start() {
  asio::co_spawn(ioc_, accept_loop(), [](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("accept loop ended: {}", ex.what());
      }
    }
  });
  asio::co_spawn(ioc_, hook_loop(), [](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("event hook delivery ended: {}", ex.what());
      }
    }
  });
}

void Server::stop() {
  stopping_ = true;
  beast::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> Server::accept_loop() {
  while (!stopping_) {
    auto [ec, sock] = co_await acceptor_.async_accept(use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping_) co_return;
      // Out of descriptors under a connection flood: pause briefly instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer t(ioc_, std::chrono::milliseconds(20));
      co_await t.async_wait(use_tuple);
      continue;
    }
    if (connections_ >= 10000) {
      beast::error_code ignored;
      sock.close(ignored);
      continue;
    }
    asio::co_spawn(ioc_, session(std::move(sock)), [](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::debug("session ended with exception: {}", ex.what());
        }
      }
    });
  }
}

namespace {

// Appends to `out` the bytes Beast would send for http::response<string_body> built from `r` after
// keep_alive(keep_alive), prepare_payload() and (for HEAD) clearing the body: Beast's basic_fields
// allocates every field separately and its serializer was a large share of the cost of a request.
// Status line, field order, value trimming, Connection and Content-Length are as Beast's. Answers are
// appended so that those to pipelined requests leave in one write. Returns false (and appends
// nothing) where Beast would throw (a body on 1xx/204/304, a field longer than 65533 bytes); the
// session then ends without an answer, as it did when the exception left the coroutine.
bool serialize_response(const Response& r, unsigned version, bool keep_alive, bool head, std::string& out) {
  const unsigned code = r.status;
  std::string_view body = r.body;
  if (r.truncate_body && body.size() > 1) body = body.substr(0, body.size() / 2);
  if ((code / 100 == 1 || code == 204 || code == 304) && !body.empty()) return false;

  // Beast trims optional whitespace (space, tab) around values.
  auto trimmed = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  // The sim never sets Connection, Content-Length or Transfer-Encoding itself.
  std::string_view connection;
  if (version < 11) {
    if (keep_alive) connection = "keep-alive";
  } else if (!keep_alive) {
    connection = "close";
  }
  char len_buf[24];
  const auto len_end = std::to_chars(len_buf, len_buf + sizeof len_buf, body.size()).ptr;
  const std::string_view len(len_buf, static_cast<std::size_t>(len_end - len_buf));
  const std::string_view reason = http::obsolete_reason(static_cast<http::status>(code));
  if (head) body = {};

  // First pass: the size, so that the buffer is filled with plain copies.
  std::size_t size = 13 + reason.size() + 2 + 2;
  for (const auto& [k, v] : r.headers) {
    if (k.size() + 2 > 0xffff || v.size() + 2 > 0xffff) return false;  // Beast: "field ... too large"
    size += k.size() + 2 + trimmed(v).size() + 2;
  }
  if (!connection.empty()) size += 10 + 2 + connection.size() + 2;
  size += 14 + 2 + len.size() + 2;
  size += body.size();

  const std::size_t start = out.size();
  out.resize(start + size);
  char* p = out.data() + start;
  auto put = [&p](std::string_view s) {
    if (s.empty()) return;  // an empty view may hold a null pointer, which memcpy must not get
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  const char status_line[13] = {'H', 'T', 'T', 'P', '/', static_cast<char>('0' + version / 10), '.',
                                static_cast<char>('0' + version % 10), ' ', static_cast<char>('0' + code / 100),
                                static_cast<char>('0' + (code / 10) % 10), static_cast<char>('0' + code % 10), ' '};
  put(std::string_view(status_line, 13));
  put(reason);
  put("\r\n");
  auto field = [&](std::string_view name, std::string_view value) {
    put(name);
    put(": ");
    put(value);
    put("\r\n");
  };
  for (const auto& [k, v] : r.headers) field(k, trimmed(v));
  if (!connection.empty()) field("Connection", connection);
  field("Content-Length", len);
  put("\r\n");
  put(body);
  return true;
}

// Sends and clears the answers collected in `out`; false when the connection failed.
template <class Stream>
asio::awaitable<bool> flush(Stream& sock, std::string& out) {
  if (out.empty()) co_return true;
  auto [ec, n] = co_await asio::async_write(sock, asio::buffer(out), use_tuple);
  (void)n;
  out.clear();
  // A large answer (a long list, the request log) does not keep its buffer for the connection's life.
  if (out.capacity() > (256u << 10)) std::string().swap(out);
  co_return !ec;
}

// Parses a request that is already complete in `buf` (a pipelined one) without waiting for the
// socket. Returns true when `parser` holds a whole message; false with `ec` clear when more bytes are
// needed (the caller then reads, continuing this parser), or false with `ec` set on a parse error.
bool parse_buffered(beast::flat_buffer& buf, http::request_parser<http::string_body>& parser, beast::error_code& ec) {
  parser.eager(true);
  while (buf.size() > 0 && !parser.is_done()) {
    const std::size_t used = parser.put(buf.data(), ec);
    buf.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec) return false;
    if (used == 0) return false;
  }
  return parser.is_done();
}

// The base URL links and OAuth audiences are made from over TLS: the Host header when it names
// this server as localhost or 127.0.0.1 (a TLS client checks the certificate against the name
// it used and refuses links to another origin), else `fallback`. Plain HTTP keeps 127.0.0.1.
std::string tls_request_base(const http::request<http::string_body>& req, const std::string& port_text,
                             const std::string& fallback) {
  const auto host = req.find(http::field::host);
  if (host != req.end()) {
    const std::string_view h = host->value();
    if (h.size() == 10 + port_text.size() && (h.starts_with("localhost:") || h.starts_with("127.0.0.1:")) &&
        h.ends_with(port_text))
      return "https://" + std::string(h);
  }
  return fallback;
}

// The request a parsed HTTP message is to the sim (its body moved out of the message).
Request to_request(http::request<http::string_body>& breq, const std::string& base) {
  Request req;
  req.method = std::string(breq.method_string());
  req.target = std::string(breq.target());
  const auto qpos = req.target.find('?');
  req.path = req.target.substr(0, qpos);
  if (qpos != std::string::npos) req.query = req.target.substr(qpos + 1);
  for (const auto& f : breq) req.headers[std::string(f.name_string())] = std::string(f.value());
  req.body = std::move(breq.body());
  req.base = base;
  if (req.method == "HEAD") req.method = "GET";
  return req;
}

// The answer to bytes that are not an acceptable HTTP request.
Response refusal(Sim& sim, const beast::error_code& ec) {
  if (ec == http::error::body_limit)
    return sim.transport_error(413, "E0000003", "The request body was not well-formed.",
                               {"The request body is larger than " + std::to_string(sim.config().max_body_bytes) +
                                " bytes."});
  return sim.transport_error(400, "E0000003", "The request body was not well-formed.", {ec.message()});
}

// The sim's answer; an exception it throws is a 500, as Okta would answer.
Response answer(Sim& sim, const Request& req, int inflight) {
  try {
    return sim.handle(req, inflight);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", req.method, req.target, e.what());
    return sim.transport_error(500, "E0000009", "Internal Server Error");
  }
}

void limit(http::request_parser<http::string_body>& parser, const Sim& sim) {
  parser.body_limit(sim.config().max_body_bytes);
  parser.header_limit(64 * 1024);
}

struct InflightGuard {
  int& n;
  explicit InflightGuard(int& c) : n(c) { ++n; }
  ~InflightGuard() { --n; }
  InflightGuard(const InflightGuard&) = delete;
  InflightGuard& operator=(const InflightGuard&) = delete;
};

}  // namespace

asio::awaitable<void> Server::session(tcp::socket sock) {
  if (!tls_) {
    co_await serve(sock);
    co_return;
  }
  asio::ssl::stream<tcp::socket> stream(std::move(sock), *tls_);
  co_await serve(stream);
}

// One connection: `stream` is the TCP socket itself or a TLS stream over it (handshake not yet made).
template <class Stream>
asio::awaitable<void> Server::serve(Stream& stream) {
  constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;
  tcp::socket& sock = beast::get_lowest_layer(stream);
  InflightGuard conn_guard(connections_);
  beast::error_code ignored;
  sock.set_option(tcp::no_delay(true), ignored);
  // Idle connections are closed by a watchdog rather than a timer per operation (cheaper at high rates).
  auto last_activity = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  auto closed = std::make_shared<bool>(false);
  asio::steady_timer watchdog(ioc_);
  auto arm = std::make_shared<std::function<void()>>();
  *arm = [&watchdog, &sock, last_activity, closed, arm_weak = std::weak_ptr<std::function<void()>>(arm)]() {
    watchdog.expires_after(std::chrono::seconds(30));
    watchdog.async_wait([&sock, last_activity, closed, arm_weak](const beast::error_code& ec) {
      if (ec || *closed) return;
      if (std::chrono::steady_clock::now() - *last_activity > std::chrono::seconds(120)) {
        beast::error_code e;
        sock.close(e);
        return;
      }
      if (auto a = arm_weak.lock()) (*a)();
    });
  };
  (*arm)();

  bool handshaken = true;
  if constexpr (kTls) {
    // A client that refuses the certificate (unknown CA, expired, wrong name) ends here with an alert.
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (hec) {
      spdlog::debug("TLS handshake failed: {}", hec.message());
      handshaken = false;
    }
    *last_activity = std::chrono::steady_clock::now();
  }

  beast::flat_buffer buf;
  // Serialized answers not yet sent: answers to pipelined requests already in `buf` are collected
  // and leave in one write (one wake-up of the client) instead of one write each.
  std::string out;
  out.reserve(4096);
  constexpr std::size_t kMaxBatch = 64 * 1024;
  const std::string port_text = std::to_string(port_);
  const std::string base = std::string(kTls ? "https" : "http") + "://127.0.0.1:" + port_text;
  for (; handshaken;) {
    http::request_parser<http::string_body> parser;
    limit(parser, sim_);
    beast::error_code ec;
    if (!parse_buffered(buf, parser, ec) && !ec) {
      // Nothing complete is buffered: the client waits for the answers before it sends more.
      if (!co_await flush(stream, out)) break;
      auto [rec, n] = co_await http::async_read(stream, buf, parser, use_tuple);
      (void)n;
      ec = rec;
    }
    *last_activity = std::chrono::steady_clock::now();
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||
        ec == asio::ssl::error::stream_truncated) {
      co_await flush(stream, out);
      break;
    }
    if (ec) {
      serialize_response(refusal(sim_, ec), 11, false, false, out);
      co_await flush(stream, out);
      // The client may still be sending the rest of what was refused (a body over the
      // limit). Closing with unread input makes the kernel send a reset that can destroy
      // the answer before the client reads it, so stop sending and drain (bounded) first.
      // Over TLS the raw records are drained: nothing of them is needed.
      sock.shutdown(tcp::socket::shutdown_send, ignored);
      std::array<char, 16 * 1024> scratch;
      for (std::size_t drained = 0; drained < (8u << 20);) {
        auto [rec, got] = co_await sock.async_read_some(asio::buffer(scratch), use_tuple);
        if (rec) break;
        drained += got;
        *last_activity = std::chrono::steady_clock::now();
      }
      break;
    }
    auto& breq = parser.get();
    InflightGuard guard(inflight_);

    const bool keep_alive = breq.keep_alive();
    const bool head = breq.method_string() == "HEAD";
    Request req = to_request(breq, kTls ? tls_request_base(breq, port_text, base) : base);

    const bool is_admin = req.path.rfind("/__sim", 0) == 0;
    if (!is_admin) {
      const int latency = sim_.pick_latency_ms();
      if (latency > 0) {
        // Earlier answers are not held back by this one's added latency.
        if (!co_await flush(stream, out)) break;
        asio::steady_timer t(ioc_, std::chrono::milliseconds(latency));
        co_await t.async_wait(use_tuple);
      }
    }

    Response r;
    if (auto plan = sim_.verify_plan(req)) {
      if (!co_await flush(stream, out)) break;
      std::string body;
      auto headers = plan->headers;
      headers.emplace_back("X-Okta-Verification-Challenge", plan->challenge);
      const unsigned st = co_await loopback_request("GET", plan->url, headers, "", body, hook_tls_.get());
      bool ok = false;
      if (st == 200) {
        const auto j = nlohmann::json::parse(body, nullptr, false);
        ok = j.is_object() && j.contains("verification") && j["verification"] == plan->challenge;
      }
      r = sim_.verify_finish(req, *plan, ok);
    } else {
      r = answer(sim_, req, inflight_);
    }

    if (r.reset_connection) {
      // The answers to earlier pipelined requests go out first; this one gets none.
      co_await flush(stream, out);
      sock.set_option(asio::socket_base::linger(true, 0), ignored);
      sock.close(ignored);
      break;
    }
    if (!serialize_response(r, breq.version(), keep_alive, head, out)) {
      co_await flush(stream, out);
      break;
    }
    if (!keep_alive || r.truncate_body || out.size() >= kMaxBatch) {
      const bool sent = co_await flush(stream, out);
      *last_activity = std::chrono::steady_clock::now();
      if (!sent || !keep_alive || r.truncate_body) break;
    }
  }
  *closed = true;
  watchdog.cancel();
  if (sock.is_open()) {
    sock.shutdown(tcp::socket::shutdown_send, ignored);
    sock.close(ignored);
  }
}

std::string answer_bytes(Sim& sim, std::string_view bytes, const std::string& base) {
  beast::flat_buffer buf;
  buf.commit(asio::buffer_copy(buf.prepare(bytes.size()), asio::buffer(bytes.data(), bytes.size())));
  std::string out;
  while (buf.size() > 0) {
    http::request_parser<http::string_body> parser;
    limit(parser, sim);
    beast::error_code ec;
    if (!parse_buffered(buf, parser, ec) && !ec) break;  // no whole request left: the client closed
    if (ec) {
      serialize_response(refusal(sim, ec), 11, false, false, out);
      break;
    }
    auto& breq = parser.get();
    const bool keep_alive = breq.keep_alive();
    const bool head = breq.method_string() == "HEAD";
    Request req = to_request(breq, base);
    Response r;
    if (auto plan = sim.verify_plan(req)) r = sim.verify_finish(req, *plan, false);  // no hook to call here
    else r = answer(sim, req, 1);
    if (r.reset_connection || !serialize_response(r, breq.version(), keep_alive, head, out)) break;
    if (!keep_alive || r.truncate_body) break;
  }
  return out;
}

asio::awaitable<void> Server::hook_loop() {
  asio::steady_timer timer(ioc_);
  while (!stopping_) {
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(use_tuple);
    auto& box = sim_.outbox();
    while (!box.empty() && !stopping_) {
      OutgoingHook o = std::move(box.front());
      box.pop_front();
      auto headers = o.headers;
      headers.emplace_back("Content-Type", "application/json");
      std::string ignored;
      const unsigned st = co_await loopback_request("POST", o.url, headers, o.body, ignored, hook_tls_.get());
      if (st < 200 || st >= 300) spdlog::debug("event hook delivery to {} answered {}", o.url, st);
    }
  }
}

std::shared_ptr<asio::ssl::context> make_hook_client_tls(const std::string& ca_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  beast::error_code ec;
  ctx->load_verify_file(ca_file, ec);
  if (ec) throw std::runtime_error("--hook-ca " + ca_file + ": cannot use it as PEM CA certificates (" + ec.message() + ")");
  ctx->set_verify_mode(asio::ssl::verify_peer);
  return ctx;
}

namespace {

// One request and its answer on an open stream (plain or TLS).
template <class Stream>
asio::awaitable<unsigned> exchange(Stream& stream, const std::string& method, const std::string& hostport,
                                   const std::string& target,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   const std::string& body, std::string& response_body) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, hostport);
  req.set(http::field::user_agent, "okta-sim");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
  (void)wn;
  if (wec) co_return 0;
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  auto [rec, rn] = co_await http::async_read(stream, buf, parser, use_tuple);
  (void)rn;
  if (rec) co_return 0;
  response_body = parser.get().body();
  co_return parser.get().result_int();
}

}  // namespace

asio::awaitable<unsigned> loopback_request(const std::string& method, const std::string& url,
                                           const std::vector<std::pair<std::string, std::string>>& headers,
                                           const std::string& body, std::string& response_body,
                                           asio::ssl::context* tls) {
  // Only http(s)://127.0.0.1[:port]/..., localhost and [::1].
  const bool https = url.rfind("https://", 0) == 0;
  const std::string pfx = https ? "https://" : "http://";
  if (url.rfind(pfx, 0) != 0) co_return 0;
  if (https && !tls) co_return 0;  // no CA to trust it with
  const std::string rest = url.substr(pfx.size());
  const auto slash = rest.find('/');
  const std::string hostport = rest.substr(0, slash);
  const std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string host = hostport;
  unsigned short port = https ? 443 : 80;
  if (!hostport.empty() && hostport[0] == '[') {
    const auto close = hostport.find(']');
    if (close == std::string::npos) co_return 0;
    host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') port = static_cast<unsigned short>(std::atoi(hostport.c_str() + close + 2));
  } else if (const auto colon = hostport.find(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = static_cast<unsigned short>(std::atoi(hostport.c_str() + colon + 1));
  }
  asio::ip::address addr;
  if (host == "127.0.0.1" || host == "localhost") addr = asio::ip::make_address_v4("127.0.0.1");
  else if (host == "::1") addr = asio::ip::make_address_v6("::1");
  else co_return 0;
  if (port == 0) co_return 0;

  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  stream.expires_after(std::chrono::seconds(5));
  auto [cec] = co_await stream.async_connect(tcp::endpoint(addr, port), use_tuple);
  if (cec) co_return 0;
  if (!https) {
    const unsigned st = co_await exchange(stream, method, hostport, target, headers, body, response_body);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return st;
  }
  asio::ssl::stream<beast::tcp_stream> tls_stream(std::move(stream), *tls);
  // The certificate must name the host the URL names (a name, or an IP address SAN).
  if (host == "localhost") SSL_set_tlsext_host_name(tls_stream.native_handle(), host.c_str());
  tls_stream.set_verify_callback(asio::ssl::host_name_verification(host));
  auto [hec] = co_await tls_stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (hec) {
    spdlog::info("event hook call to {}: TLS handshake failed: {}", url, hec.message());
    co_return 0;
  }
  const unsigned st = co_await exchange(tls_stream, method, hostport, target, headers, body, response_body);
  tls_stream.next_layer().expires_after(std::chrono::seconds(2));
  co_await tls_stream.async_shutdown(use_tuple);
  co_return st;
}

}  // namespace oktasim
