#include "client.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace oktasim_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

SimProcess::SimProcess(const std::string& exe, const std::vector<std::string>& args) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    std::perror("execv");
    _exit(127);
  }
  close(fds[1]);
  std::string line;
  char c;
  while (read(fds[0], &c, 1) == 1) {
    if (c == '\n') break;
    line.push_back(c);
  }
  close(fds[0]);
  const std::string pfx = "listening on http://127.0.0.1:";
  if (line.rfind(pfx, 0) != 0) throw std::runtime_error("okta-sim did not start; first line: '" + line + "'");
  port_ = static_cast<unsigned short>(std::stoi(line.substr(pfx.size())));
}

SimProcess::~SimProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int st = 0;
    waitpid(pid_, &st, 0);
  }
}

bool SimProcess::alive() {
  if (pid_ <= 0) return false;
  int st = 0;
  return waitpid(pid_, &st, WNOHANG) == 0;
}

namespace {
bool ieq(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}
}  // namespace

std::string HttpResult::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (ieq(k, name)) return v;
  return {};
}

std::vector<std::string> HttpResult::headers_named(const std::string& name) const {
  std::vector<std::string> r;
  for (const auto& [k, v] : headers)
    if (ieq(k, name)) r.push_back(v);
  return r;
}

struct HttpClient::Impl {
  asio::io_context ioc;
  unsigned short port;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buf;
};

HttpClient::HttpClient(unsigned short port) : impl_(std::make_unique<Impl>()) { impl_->port = port; }
HttpClient::~HttpClient() = default;

HttpResult HttpClient::request(const std::string& method, const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               const std::string& body) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (!impl_->stream) {
        impl_->stream = std::make_unique<beast::tcp_stream>(impl_->ioc);
        impl_->stream->connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), impl_->port));
        impl_->buf.clear();
      }
      http::request<http::string_body> req;
      req.method_string(method);
      req.target(target);
      req.version(11);
      req.set(http::field::host, "127.0.0.1:" + std::to_string(impl_->port));
      for (const auto& [k, v] : headers) req.set(k, v);
      req.body() = body;
      if (!body.empty() || method == "POST" || method == "PUT") req.prepare_payload();
      http::write(*impl_->stream, req);
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 << 20);
      if (method == "HEAD") parser.skip(true);
      http::read(*impl_->stream, impl_->buf, parser);
      auto& res = parser.get();
      HttpResult out;
      out.status = res.result_int();
      for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      out.body = res.body();
      if (!res.keep_alive()) impl_->stream.reset();
      return out;
    } catch (const std::exception&) {
      impl_->stream.reset();
      if (attempt == 1) return HttpResult{};
    }
  }
  return HttpResult{};
}

}  // namespace oktasim_test
