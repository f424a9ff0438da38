// okta-sim tests: start the simulator as a child process and talk HTTP/1.1 to it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace oktasim_test {

class SimProcess {
 public:
  // Starts `exe` with args; waits for "listening on http://127.0.0.1:PORT". Throws on failure.
  SimProcess(const std::string& exe, const std::vector<std::string>& args);
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;
  unsigned short port() const { return port_; }
  bool alive();

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

struct HttpResult {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(const std::string& name) const;  // first match, case-insensitive
  std::vector<std::string> headers_named(const std::string& name) const;
};

class HttpClient {
 public:
  explicit HttpClient(unsigned short port);
  ~HttpClient();
  // Sends one request on a kept-alive connection (reconnects when needed). status 0 = transport failure.
  HttpResult request(const std::string& method, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers = {},
                     const std::string& body = "");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oktasim_test
