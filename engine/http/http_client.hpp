#pragma once
// Async HTTP client: libcurl's multi_socket interface driven by the Asio event loop.
//
// One HttpClient owns one curl multi handle, so connections are kept alive and reused
// (HTTP/2 multiplexed where the server offers it). Every request is an awaitable that
// completes with a response or an Error; it is cancelled through the awaiting coroutine's
// cancellation slot (e.g. a step timeout built with awaitable_operators `||`), which removes
// the transfer from the multi handle. Single-threaded: use the client from the one thread
// that runs its io_context.
//
// Security rules enforced here: TLS verification (chain and host name) is always on, TLS 1.2
// or later; a CA bundle, when given, replaces the system's CA store; redirects are never
// followed (the caller decides, so credentials never reach another host); plain http:// only
// when the request says allow_insecure_http and the host is loopback; request headers never
// appear in error messages.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace spokeflow::http {

// Ordering for header names that ignores ASCII case; transparent, so lookups take string_view.
// Shorter names come first, so that most comparisons end at the lengths; nothing relies on
// headers being in alphabetical order.
struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept;
};

// Response headers: every header line kept (repeated ones such as Link or Set-Cookie too),
// in arrival order among equal names, looked up without regard to case.
using HeaderMap = std::multimap<std::string, std::string, CaseInsensitiveLess>;

inline constexpr std::size_t kDefaultMaxResponseBytes = 16u * 1024u * 1024u;

struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS...
  std::string url;             // https://...; http:// only with allow_insecure_http on loopback
  std::vector<std::pair<std::string, std::string>> headers;  // sent in this order
  std::string body;            // sent when non-empty (or when the method is POST/PUT/PATCH)
  std::chrono::milliseconds timeout{30000};  // whole transfer; <= 0 means no limit
  std::size_t max_response_bytes = kDefaultMaxResponseBytes;  // body cap; over it -> Error
  bool allow_insecure_http = false;  // permit http:// to a loopback host
  // Per-request overrides of the client's options (a connection's own proxy / CA bundle).
  std::optional<std::string> proxy;      // "" = no proxy at all
  std::optional<std::string> ca_bundle;  // path to a PEM bundle
};

struct HttpResponse {
  long status = 0;
  HeaderMap headers;
  std::string body;

  // First value of a header, or nullptr.
  const std::string* header(std::string_view name) const;
  // Every value of a header, in arrival order.
  std::vector<std::string> header_values(std::string_view name) const;
};

// Connections curl opens to one host at once unless told otherwise; beyond them requests queue,
// so it bounds the calls in flight of a connection that sets no max_concurrency.
inline constexpr long kDefaultMaxHostConnections = 16;

struct HttpClientOptions {
  long max_host_connections = kDefaultMaxHostConnections;   // CURLMOPT_MAX_HOST_CONNECTIONS (0 = unlimited)
  long max_total_connections = 0;   // CURLMOPT_MAX_TOTAL_CONNECTIONS (0 = unlimited)
  long max_cached_connections = 64; // CURLMOPT_MAXCONNECTS: idle connections kept alive
  std::chrono::milliseconds connect_timeout{10000};
  // nullopt: curl's default (the usual *_proxy environment variables); "" disables proxies.
  std::optional<std::string> proxy;
  std::optional<std::string> ca_bundle;  // default: the system's CA store
  std::string user_agent = "spokeflow/0.1";
};

class HttpClient {
 public:
  explicit HttpClient(boost::asio::any_io_executor executor, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs one request. Completes with:
  //  - the response, whatever its status (3xx included: redirects are not followed);
  //  - ErrorKind::validation for a bad request (URL, scheme, method, header with CR/LF);
  //  - ErrorKind::timeout when `timeout` elapses;
  //  - ErrorKind::network for connection, TLS and protocol failures; a refused certificate has
  //    code tls_untrusted_issuer, tls_certificate_expired, tls_certificate_not_yet_valid,
  //    tls_host_name_mismatch (see tls_errors.hpp) and details.tls saying what was checked;
  //  - ErrorKind::validation, code tls_ca_bundle_unreadable, for a CA bundle that is missing,
  //    unreadable or holds no PEM certificate (checked before connecting, once per client);
  //  - ErrorKind::http when the body exceeds max_response_bytes;
  //  - ErrorKind::cancelled when the awaiting operation is cancelled (the transfer is removed).
  // A transfer's error has details.request_sent: false when no connection was ready for the
  // request (it certainly never left: refused, unresolved, connect timeout), true when it may
  // have reached the server. The URL's path is sent as written: dot segments are not resolved.
  boost::asio::awaitable<Result<HttpResponse>> request(HttpRequest request);

  // Transfers in flight (for tests and metrics).
  std::size_t active_transfers() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace spokeflow::http
