// Fuzz target: raw bytes sent to `serve`'s HTTP server over a loopback connection (one or more
// requests, pipelined, whole or cut), with the API and the event-hook receiver behind it as
// `serve` assembles them. The client sends the bytes, closes its sending side and reads until the
// server closes.
// Properties: no crash; the server answers or closes within 10 s; every answer is a well-formed
// HTTP/1.1 response with X-Request-Id, and a JSON error answer is in the API's error shape
// ({"error": {"kind", "message"}}); the admin token, its hash and the hook secret never show in
// an answer to an input that does not hold them; a clean GET /healthz on a new connection
// answers 200 after every input.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

#include "serve/http_server.hpp"
#include "serve_rig.hpp"

using namespace spokeflow;
namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct Server {
  fuzz::ServeRig& rig = fuzz::serve_rig();
  std::unique_ptr<serve::HttpServer> http;
  tcp::endpoint endpoint;
  Server() {
    serve::HttpLimits limits;
    limits.max_body = 256 * 1024;
    limits.read_timeout = Millis(1'000);
    limits.max_connections = 64;
    http = std::make_unique<serve::HttpServer>(rig.io.get_executor(), "127.0.0.1", 0, limits,
                                               [this](const serve::HttpRequest& r) { return rig.api->handle(r); });
    http->start();
    endpoint = http->local_endpoint();
  }
};

Server& server() {
  static Server* s = new Server();  // never destroyed: its connections end with the process
  return *s;
}

// Sends `bytes`, closes the sending side, reads to the end. nullopt when 10 s pass first.
asio::awaitable<std::optional<std::string>> exchange(tcp::endpoint ep, std::string bytes) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket sock(ex);
  auto [cec] = co_await sock.async_connect(ep, use_tuple);
  if (cec) fuzz::broken("the client connects to the server", cec.message());
  auto talk = [&]() -> asio::awaitable<std::string> {
    auto [wec, wn] = co_await asio::async_write(sock, asio::buffer(bytes), use_tuple);
    (void)wn;
    boost::system::error_code ignored;
    if (!wec) sock.shutdown(tcp::socket::shutdown_send, ignored);
    std::string got;
    char buf[16 * 1024];
    for (;;) {
      auto [rec, n] = co_await sock.async_read_some(asio::buffer(buf), use_tuple);
      got.append(buf, n);
      if (rec) break;
    }
    co_return got;
  };
  auto deadline = [&]() -> asio::awaitable<void> {
    asio::steady_timer t(ex, std::chrono::seconds(10));
    co_await t.async_wait(use_tuple);
  };
  using namespace asio::experimental::awaitable_operators;
  auto done = co_await (talk() || deadline());
  if (done.index() == 1) co_return std::nullopt;
  co_return std::get<0>(std::move(done));
}

// Every response in `got`, in order; the last may be cut only where the server gave up.
void check_answers(const std::string& got) {
  beast::flat_buffer buf;
  buf.commit(asio::buffer_copy(buf.prepare(got.size()), asio::buffer(got)));
  while (buf.size() > 0) {
    beast::http::response_parser<beast::http::string_body> p;
    p.body_limit(64u << 20);
    p.eager(true);
    beast::error_code ec;
    const std::size_t used = p.put(buf.data(), ec);
    if (ec == beast::http::error::need_more) {
      // An event stream (no length) is read to the end of the connection.
      p.put_eof(ec);
      if (ec) fuzz::broken("every answer is a whole HTTP response", got.substr(0, 2000));
    } else if (ec) {
      fuzz::broken("every answer is a well-formed HTTP response", ec.message() + "\n" + got.substr(0, 2000));
    }
    buf.consume(used);
    if (!p.is_done()) fuzz::broken("every answer is a whole HTTP response", got.substr(0, 2000));
    const auto& res = p.get();
    fuzz::check(res.find("X-Request-Id") != res.end(), "every answer carries X-Request-Id", got.substr(0, 2000));
    const unsigned status = res.result_int();
    const bool json = res[beast::http::field::content_type] == "application/json";
    if (status >= 400 && json && !res.body().empty()) {
      const Json body = Json::parse(res.body(), nullptr, false);
      fuzz::check(body.is_object() && body["error"]["kind"].is_string() && body["error"]["message"].is_string(),
                  "a JSON error answer is in the error shape", res.body());
    }
    if (res[beast::http::field::content_type] == "text/event-stream") break;  // the rest is the stream
    if (used == 0) break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 300 * 1024) return -1;
  Server& s = server();
  const std::string input(fuzz::as_text(data, size));
  auto got = s.rig.run(exchange(s.endpoint, input));
  if (!got) fuzz::broken("the server answers or closes within 10 s", input.substr(0, 2000));
  // A HEAD answer has a length but no body: pipelined answers cannot be told apart then.
  if (input.find("HEAD") == std::string::npos) check_answers(*got);
  else fuzz::check(got->empty() || got->rfind("HTTP/1.", 0) == 0, "the answer is HTTP/1.x", got->substr(0, 200));
  static const std::string token_hash = serve::token_hash(fuzz::kAdminToken);
  for (const std::string& secret : {std::string(fuzz::kAdminToken), token_hash, std::string("fuzz-hook-secret")})
    if (input.find(secret) == std::string::npos)
      fuzz::check(got->find(secret) == std::string::npos, "the service's secrets never show in an answer", secret);
  auto health = s.rig.run(exchange(s.endpoint, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  fuzz::check(health && health->rfind("HTTP/1.1 200", 0) == 0, "the server still answers a clean request",
              health ? health->substr(0, 500) : "no answer within 10 s");
  return 0;
}
