#include "http/http_client.hpp"

#include "http/tls_errors.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>

namespace spokeflow::http {

namespace asio = boost::asio;

// ---------------------------------------------------------------------------------------------
// Headers

namespace {
char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const noexcept {
  if (a.size() != b.size()) return a.size() < b.size();
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](char x, char y) { return lower_ascii(x) < lower_ascii(y); });
}

const std::string* HttpResponse::header(std::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? nullptr : &it->second;
}

std::vector<std::string> HttpResponse::header_values(std::string_view name) const {
  std::vector<std::string> out;
  auto [b, e] = headers.equal_range(name);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

// ---------------------------------------------------------------------------------------------
// RAII for curl handles

namespace {

struct EasyDeleter {
  void operator()(CURL* e) const noexcept { curl_easy_cleanup(e); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const noexcept { curl_multi_cleanup(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
struct UrlDeleter {
  void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};
struct CurlFree {
  void operator()(char* p) const noexcept { curl_free(p); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;
using MultiPtr = std::unique_ptr<CURLM, MultiDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;
using UrlPtr = std::unique_ptr<CURLU, UrlDeleter>;
using CurlString = std::unique_ptr<char, CurlFree>;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

// The awaiting operation's completion handler, type-erased (move-only).
struct Completion {
  virtual ~Completion() = default;
  // Queues the handler on `ex` (and so on its own associated executor); never runs it inline.
  virtual void post(const asio::any_io_executor& ex, Result<HttpResponse> result) = 0;
};
template <class H>
struct CompletionImpl final : Completion {
  explicit CompletionImpl(H h) : handler(std::move(h)) {}
  void post(const asio::any_io_executor& ex, Result<HttpResponse> result) override {
    asio::post(ex, asio::append(std::move(handler), std::move(result)));
  }
  H handler;
};
using Handler = std::unique_ptr<Completion>;

Error validation(std::string message) { return Error::make(ErrorKind::validation, std::move(message)); }

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

bool is_loopback_host(std::string host) {
  for (auto& c : host) c = lower_ascii(c);
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
  return false;
}

// A URL fit for an error message: no query or fragment, no user:password.
std::string redacted_url(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  std::string out(url);
  auto scheme_end = out.find("://");
  auto at = out.rfind('@');
  if (scheme_end != std::string::npos && at != std::string::npos && at > scheme_end)
    out.replace(scheme_end + 3, at - scheme_end - 3, "***");
  return out;
}

std::string url_part(CURLU* u, CURLUPart part) {
  char* raw = nullptr;
  if (curl_url_get(u, part, &raw, 0) != CURLUE_OK || raw == nullptr) return {};
  CurlString owned(raw);
  return std::string(raw);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// One transfer: the easy handle and everything curl points into while it runs.

namespace {

struct Transfer {
  std::uint64_t id = 0;
  UrlPtr url;  // parsed once, handed to curl (CURLOPT_CURLU); outlives `easy`
  EasyPtr easy;
  SlistPtr header_list;
  std::string method;
  std::string safe_url;  // scheme://host[:port]/path: no credentials, no query
  std::string host;      // as the URL names it (what the server's certificate must be for)
  std::string ca_bundle; // the CA bundle trusted for https ("" = the system's store)
  std::string body;      // curl reads POSTFIELDS from here: never moved while the transfer runs
  std::chrono::milliseconds timeout{0};
  std::size_t cap = kDefaultMaxResponseBytes;
  std::size_t header_bytes = 0;
  bool too_big = false;
  HttpResponse response;
  HeaderMap::iterator last_header{};  // for obsolete line folding
  bool has_last_header = false;
  char errbuf[CURL_ERROR_SIZE] = {};
  Handler handler;
  asio::cancellation_slot slot;
  bool added = false;
  // Curl had a connection and was about to send the request (CURLOPT_PREREQFUNCTION): from
  // then on, a failure may come after the server received it.
  bool request_started = false;

  std::string what() const { return method + " " + safe_url; }
};

size_t on_body(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  const size_t len = size * n;
  if (t->response.body.size() + len > t->cap) {
    t->too_big = true;
    return 0;  // != len: curl stops with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, len);
  return len;
}

int on_prereq(void* userp, char*, char*, int, int) {
  static_cast<Transfer*>(userp)->request_started = true;
  return CURL_PREREQFUNC_OK;
}

size_t on_header(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  const size_t len = size * n;
  t->header_bytes += len;
  if (t->header_bytes > std::max<std::size_t>(t->cap, 64 * 1024)) {
    t->too_big = true;
    return 0;
  }
  std::string_view line(data, len);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.empty()) return len;  // end of a header block
  if (line.starts_with("HTTP/")) {
    // A new response (after 1xx, or a proxy's CONNECT answer): keep the final one's headers.
    t->response.headers.clear();
    t->has_last_header = false;
    return len;
  }
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  if (line.front() == ' ' || line.front() == '\t') {  // obsolete line folding
    if (t->has_last_header) {
      t->last_header->second += " ";
      t->last_header->second += trim(line);
    }
    return len;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  t->last_header =
      t->response.headers.emplace(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  t->has_last_header = true;
  return len;
}

Error transfer_error(const Transfer& t, CURLcode rc) {
  std::string detail = t.errbuf[0] != '\0' ? std::string(t.errbuf) : std::string(curl_easy_strerror(rc));
  TlsFailure tls;
  tls.curl_code = static_cast<int>(rc);
  if (t.easy) curl_easy_getinfo(t.easy.get(), CURLINFO_SSL_VERIFYRESULT, &tls.verify_result);
  tls.curl_detail = detail;
  tls.what = t.what();
  tls.host = t.host;
  tls.ca_bundle = t.ca_bundle;
  tls.request_sent = t.request_started;
  if (auto e = tls_error(tls)) return std::move(*e);
  Error e;
  e.details = Json{{"curl_code", static_cast<int>(rc)},
                   {"curl_error", curl_easy_strerror(rc)},
                   {"request_sent", t.request_started}};
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      e.kind = ErrorKind::timeout;
      e.message = t.what() + " timed out" +
                  (t.timeout.count() > 0 ? " after " + std::to_string(t.timeout.count()) + " ms" : std::string()) +
                  " (" + detail + ")";
      return e;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
      if (t.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        e.kind = ErrorKind::http;
        e.message = t.what() + ": the response is larger than the limit of " + std::to_string(t.cap) +
                    " bytes; raise max_response_bytes if such a response is expected";
        return e;
      }
      break;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      e.kind = ErrorKind::validation;
      e.message = t.what() + ": " + detail;
      return e;
    case CURLE_ABORTED_BY_CALLBACK:
      e.kind = ErrorKind::cancelled;
      e.message = t.what() + " cancelled";
      return e;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_UNKNOWN_OPTION:
      e.kind = ErrorKind::internal;
      e.message = t.what() + ": " + detail;
      return e;
    default:
      break;
  }
  e.kind = ErrorKind::network;
  e.message = t.what() + " failed: " + detail;
  return e;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The engine: multi handle, one timer, one stream_descriptor per socket curl asks about.

struct SocketCtx {
  SocketCtx(const asio::any_io_executor& ex, curl_socket_t s) : desc(ex), fd(s) {}
  asio::posix::stream_descriptor desc;
  curl_socket_t fd;
  int what = 0;  // CURL_POLL_IN / OUT / INOUT; 0 while its connection waits in curl's cache
  bool read_armed = false;
  bool write_armed = false;
  bool active = true;
};

struct HttpClient::Impl : std::enable_shared_from_this<HttpClient::Impl> {
  asio::any_io_executor ex;
  HttpClientOptions opts;
  asio::steady_timer timer;
  bool timer_armed = false;     // a wait on `timer` is pending
  bool timeout_posted = false;  // an immediate on_timeout is queued
  std::map<curl_socket_t, std::shared_ptr<SocketCtx>> sockets;
  std::set<curl_socket_t> opened;  // by open_socket_cb, not yet closed by close_socket_cb
  std::map<std::uint64_t, std::unique_ptr<Transfer>> transfers;
  // Easy handles of finished transfers, reset to curl's defaults: a new handle allocates
  // curl's buffers (tens of KB) on every request, and freeing them made malloc consolidate.
  static constexpr std::size_t kMaxSpareEasy = 64;
  std::vector<EasyPtr> spare_easy;
  std::uint64_t next_id = 1;
  // CA bundles already found to hold a certificate: each is read once per client, not per request.
  std::set<std::string, std::less<>> ca_bundles_checked;
  MultiPtr multi;  // declared last: cleaned up first, while the maps above still exist

  Impl(asio::any_io_executor e, HttpClientOptions o) : ex(std::move(e)), opts(std::move(o)), timer(ex) {
    global_init();
    multi.reset(curl_multi_init());
    if (!multi) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi.get(), CURLMOPT_SOCKETFUNCTION, &Impl::socket_cb);
    curl_multi_setopt(multi.get(), CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi.get(), CURLMOPT_TIMERFUNCTION, &Impl::timer_cb);
    curl_multi_setopt(multi.get(), CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi.get(), CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi.get(), CURLMOPT_MAX_HOST_CONNECTIONS, opts.max_host_connections);
    curl_multi_setopt(multi.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS, opts.max_total_connections);
    if (opts.max_cached_connections > 0) curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, opts.max_cached_connections);
  }

  ~Impl() { shutdown(); }

  void shutdown() {
    if (!multi) return;
    while (!transfers.empty())
      finish(transfers.begin()->first, Error::make(ErrorKind::cancelled, "HTTP client shut down"));
    timer.cancel();
    spare_easy.clear();
    multi.reset();  // closes cached connections through close_socket_cb
    for (auto& [fd, ctx] : sockets) release(*ctx);
    sockets.clear();
  }

  // --- curl callbacks: they only touch Asio objects, never curl itself ---

  // CURL_POLL_REMOVE comes after every transfer, when its connection goes back to curl's cache
  // to be reused by the next one. A connection's socket then stays known and registered with
  // the reactor, only wanted for nothing: forgetting it meant three epoll_ctl calls per request
  // (add, add writing, delete), 3.5% of the loop thread's time at concurrency 64. A wait still
  // pending fires into on_socket, which ignores what curl no longer wants. Only sockets opened
  // by open_socket_cb are kept so: curl closes those through close_socket_cb, which forgets
  // them before their number can be reused. Others (the threaded resolver's socketpair, which
  // curl closes itself) are forgotten at once, as they must be.
  static int socket_cb(CURL*, curl_socket_t s, int what, void* userp, void*) {
    auto* self = static_cast<Impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
      if (self->opened.contains(s)) {
        if (auto it = self->sockets.find(s); it != self->sockets.end()) it->second->what = 0;
      } else {
        self->forget_socket(s);
      }
      return 0;
    }
    std::shared_ptr<SocketCtx> ctx;
    if (auto it = self->sockets.find(s); it != self->sockets.end()) {
      ctx = it->second;
    } else {
      ctx = std::make_shared<SocketCtx>(self->ex, s);
      boost::system::error_code ec;
      ctx->desc.assign(s, ec);
      if (ec) return 0;  // cannot watch it: the transfer will end by its timeout
      self->sockets.emplace(s, ctx);
    }
    ctx->what = what;
    self->arm(ctx);
    return 0;
  }

  // Re-arming a timer costs a timerfd_settime system call (about 10 us on a VM; 10% of the
  // engine's CPU in the Okta throughput benchmark), and curl asks for a new timeout several
  // times per transfer. So "now" is a post, and a timer already due no later than asked is
  // kept: firing early is harmless, curl then asks again for what is left.
  static int timer_cb(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (timeout_ms < 0) {
      if (self->timer_armed) self->timer.cancel();
      self->timer_armed = false;
      return 0;
    }
    if (timeout_ms == 0) {
      if (!self->timeout_posted) {
        self->timeout_posted = true;
        asio::post(self->timer.get_executor(), [w = self->weak_from_this()] {
          if (auto s = w.lock()) {
            s->timeout_posted = false;
            s->on_timeout();
          }
        });
      }
      return 0;
    }
    const auto deadline = asio::steady_timer::clock_type::now() + std::chrono::milliseconds(timeout_ms);
    if (self->timer_armed && self->timer.expiry() <= deadline) return 0;
    self->timer.expires_at(deadline);
    self->timer_armed = true;
    self->timer.async_wait([w = self->weak_from_this()](boost::system::error_code ec) {
      if (ec) return;  // cancelled or re-armed
      if (auto s = w.lock()) {
        s->timer_armed = false;
        s->on_timeout();
      }
    });
    return 0;
  }

  // The sockets of curl's connections are opened here, so that socket_cb knows which ones
  // curl will close through close_socket_cb.
  static curl_socket_t open_socket_cb(void* clientp, curlsocktype, curl_sockaddr* address) {
    const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    static_cast<Impl*>(clientp)->opened.insert(fd);
    return fd;
  }

  // Curl closes its own sockets; Asio must forget one before the descriptor number is reused.
  static int close_socket_cb(void* clientp, curl_socket_t s) {
    auto* self = static_cast<Impl*>(clientp);
    self->opened.erase(s);
    self->forget_socket(s);
    return ::close(s);
  }

  static void release(SocketCtx& ctx) {
    ctx.active = false;
    if (ctx.desc.is_open()) (void)ctx.desc.release();  // cancels pending waits; never closes
  }

  void forget_socket(curl_socket_t s) {
    auto it = sockets.find(s);
    if (it == sockets.end()) return;
    release(*it->second);
    sockets.erase(it);
  }

  void arm(const std::shared_ptr<SocketCtx>& ctx) {
    if (!ctx->active) return;
    if ((ctx->what & CURL_POLL_IN) && !ctx->read_armed) {
      ctx->read_armed = true;
      ctx->desc.async_wait(asio::posix::descriptor_base::wait_read,
                           [w = weak_from_this(), ctx](boost::system::error_code ec) {
                             ctx->read_armed = false;
                             if (ec == asio::error::operation_aborted || !ctx->active) return;
                             if (auto s = w.lock()) s->on_socket(ctx, CURL_POLL_IN, ec ? CURL_CSELECT_ERR : CURL_CSELECT_IN);
                           });
    }
    if ((ctx->what & CURL_POLL_OUT) && !ctx->write_armed) {
      ctx->write_armed = true;
      ctx->desc.async_wait(asio::posix::descriptor_base::wait_write,
                           [w = weak_from_this(), ctx](boost::system::error_code ec) {
                             ctx->write_armed = false;
                             if (ec == asio::error::operation_aborted || !ctx->active) return;
                             if (auto s = w.lock()) s->on_socket(ctx, CURL_POLL_OUT, ec ? CURL_CSELECT_ERR : CURL_CSELECT_OUT);
                           });
    }
  }

  // --- event handlers: run from the Asio loop, outside any curl call ---

  void on_socket(const std::shared_ptr<SocketCtx>& ctx, int interest, int event) {
    if (!multi) return;
    if ((ctx->what & interest) == 0) return;  // curl no longer wants this; the wait is not re-armed
    int running = 0;
    curl_multi_socket_action(multi.get(), ctx->fd, event, &running);
    check_done();
    arm(ctx);  // re-arm whatever curl still wants on this socket
  }

  void on_timeout() {
    if (!multi) return;
    int running = 0;
    curl_multi_socket_action(multi.get(), CURL_SOCKET_TIMEOUT, 0, &running);
    check_done();
  }

  void check_done() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode rc = msg->data.result;
      char* priv = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
      auto* t = reinterpret_cast<Transfer*>(priv);
      if (t == nullptr) continue;
      if (rc == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        t->response.status = status;
        finish(t->id, std::move(t->response));
      } else {
        finish(t->id, transfer_error(*t, rc));
      }
    }
  }

  // Removes the transfer from the multi handle and delivers its result, exactly once.
  void finish(std::uint64_t id, Result<HttpResponse> result) {
    auto it = transfers.find(id);
    if (it == transfers.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers.erase(it);
    if (t->added && multi) {
      curl_multi_remove_handle(multi.get(), t->easy.get());
      if (spare_easy.size() < kMaxSpareEasy) {
        curl_easy_reset(t->easy.get());  // forgets every option, and so every pointer into `t`
        spare_easy.push_back(std::move(t->easy));
      }
    }
    t->added = false;
    if (t->slot.is_connected()) t->slot.clear();
    Handler h = std::move(t->handler);
    t.reset();  // the easy handle is reset or cleaned up: no curl callback can reach this transfer again
    // Never inline: the awaiting coroutine resumes on its own executor after this returns.
    if (h) h->post(ex, std::move(result));
  }

  struct CancelFn {
    std::weak_ptr<Impl> impl;
    std::uint64_t id;
    void operator()(asio::cancellation_type type) const {
      if (type == asio::cancellation_type::none) return;
      auto s = impl.lock();
      if (!s) return;
      // Deferred: finishing clears the slot this handler lives in.
      asio::post(s->ex, [w = impl, id = id] {
        if (auto self = w.lock()) {
          auto it = self->transfers.find(id);
          if (it == self->transfers.end()) return;
          std::string what = it->second->what();
          self->finish(id, Error::make(ErrorKind::cancelled, what + " cancelled"));
        }
      });
    }
  };

  void start(std::unique_ptr<Transfer> t, Handler handler, asio::cancellation_slot slot) {
    t->handler = std::move(handler);
    const std::uint64_t id = t->id;
    Transfer& ref = *t;
    transfers.emplace(id, std::move(t));
    if (!multi) {
      finish(id, Error::make(ErrorKind::cancelled, "HTTP client shut down"));
      return;
    }
    if (slot.is_connected()) {
      ref.slot = slot;
      slot.template emplace<CancelFn>(CancelFn{weak_from_this(), id});
    }
    const CURLMcode mc = curl_multi_add_handle(multi.get(), ref.easy.get());
    if (mc != CURLM_OK) {
      finish(id, Error::make(ErrorKind::internal, ref.what() + ": cannot start the transfer: " + curl_multi_strerror(mc)));
      return;
    }
    ref.added = true;  // curl arms the timer (0 ms) and the transfer starts on the next loop turn
  }

  Result<std::unique_ptr<Transfer>> prepare(HttpRequest req) {
    auto t = std::make_unique<Transfer>();
    t->id = next_id++;
    t->method = req.method;
    for (auto& c : t->method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!is_token(t->method)) return validation("HTTP method '" + req.method + "' is not a valid method name");

    UrlPtr url(curl_url());
    if (!url) return Error::make(ErrorKind::internal, "out of memory");
    // CURLU_PATH_AS_IS: curl would otherwise resolve "/a/../b" to "/b" while parsing, and a
    // value placed in a path could then name another resource.
    if (CURLUcode uc = curl_url_set(url.get(), CURLUPART_URL, req.url.c_str(), CURLU_PATH_AS_IS); uc != CURLUE_OK)
      return validation("'" + redacted_url(req.url) + "' is not a valid absolute URL (" + curl_url_strerror(uc) + ")");
    std::string scheme = url_part(url.get(), CURLUPART_SCHEME);
    for (auto& c : scheme) c = lower_ascii(c);
    const std::string host = url_part(url.get(), CURLUPART_HOST);
    const std::string port = url_part(url.get(), CURLUPART_PORT);
    t->safe_url = scheme + "://" + host + (port.empty() ? "" : ":" + port) + url_part(url.get(), CURLUPART_PATH);
    if (scheme == "http") {
      if (!req.allow_insecure_http)
        return validation(t->safe_url + ": plain http:// is refused; use https://, or allow_insecure_http for a loopback test server");
      if (!is_loopback_host(host))
        return validation(t->safe_url + ": plain http:// is allowed only to a loopback host (127.0.0.1, ::1, localhost)");
    } else if (scheme != "https") {
      return validation(t->safe_url + ": only https:// URLs are supported");
    }
    if (!url_part(url.get(), CURLUPART_USER).empty() || !url_part(url.get(), CURLUPART_PASSWORD).empty())
      return validation(t->safe_url + ": credentials in the URL are refused; send them in a header");
    t->host = host;
    // A CA bundle that cannot be used is said so before connecting, not as a failed verification.
    const std::optional<std::string>& ca = req.ca_bundle ? req.ca_bundle : opts.ca_bundle;
    if (scheme == "https" && ca && !ca->empty()) {
      t->ca_bundle = *ca;
      if (!ca_bundles_checked.contains(*ca)) {
        if (auto problem = ca_bundle_problem(*ca)) return ca_bundle_error(t->what(), *ca, *problem);
        ca_bundles_checked.insert(*ca);
      }
    }

    SlistPtr list;
    auto append = [&](const std::string& line) {
      curl_slist* next = curl_slist_append(list.get(), line.c_str());
      if (next == nullptr) return false;
      (void)list.release();
      list.reset(next);
      return true;
    };
    for (const auto& [name, value] : req.headers) {
      if (!is_token(name)) return validation(t->what() + ": request header name '" + name + "' is not valid");
      if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        return validation(t->what() + ": the value of request header '" + name + "' contains a line break or NUL");
      // "Name;" is curl's way to send a header with an empty value.
      if (!append(value.empty() ? name + ";" : name + ": " + value)) return Error::make(ErrorKind::internal, "out of memory");
    }
    if (!append("Expect:")) return Error::make(ErrorKind::internal, "out of memory");  // no 100-continue pause

    t->body = std::move(req.body);
    t->timeout = req.timeout;
    t->cap = req.max_response_bytes;
    t->header_list = std::move(list);
    t->url = std::move(url);
    if (spare_easy.empty()) {
      t->easy.reset(curl_easy_init());
    } else {
      t->easy = std::move(spare_easy.back());
      spare_easy.pop_back();
    }
    if (!t->easy) return Error::make(ErrorKind::internal, "curl_easy_init failed");
    CURL* e = t->easy.get();

    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption opt, auto value) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, value);
    };
    set(CURLOPT_CURLU, t->url.get());
    set(CURLOPT_PRIVATE, static_cast<void*>(t.get()));
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_ERRORBUFFER, t->errbuf);
    set(CURLOPT_WRITEFUNCTION, &on_body);
    set(CURLOPT_WRITEDATA, static_cast<void*>(t.get()));
    set(CURLOPT_HEADERFUNCTION, &on_header);
    set(CURLOPT_HEADERDATA, static_cast<void*>(t.get()));
    set(CURLOPT_OPENSOCKETFUNCTION, &Impl::open_socket_cb);
    set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(this));
    set(CURLOPT_CLOSESOCKETFUNCTION, &Impl::close_socket_cb);
    set(CURLOPT_CLOSESOCKETDATA, static_cast<void*>(this));
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_PATH_AS_IS, 1L);
    set(CURLOPT_PREREQFUNCTION, &on_prereq);
    set(CURLOPT_PREREQDATA, static_cast<void*>(t.get()));
    set(CURLOPT_PROTOCOLS_STR, scheme == "http" ? "http" : "https");
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    set(CURLOPT_PIPEWAIT, 1L);
    set(CURLOPT_TCP_KEEPALIVE, 1L);
    set(CURLOPT_ACCEPT_ENCODING, "");  // the cap applies to the decoded body
    set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(t->cap));
    if (!opts.user_agent.empty()) set(CURLOPT_USERAGENT, opts.user_agent.c_str());
    if (req.timeout.count() > 0) set(CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
    auto connect_ms = opts.connect_timeout;
    if (req.timeout.count() > 0 && (connect_ms.count() <= 0 || req.timeout < connect_ms)) connect_ms = req.timeout;
    if (connect_ms.count() > 0) set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_ms.count()));
    // curl copies string options. A connection's CA bundle replaces the system's store: the
    // default CA folder (CAPATH) is dropped too, or its CAs would still be trusted.
    if (!t->ca_bundle.empty()) {
      set(CURLOPT_CAINFO, t->ca_bundle.c_str());
      set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));
    }
    const std::optional<std::string>& proxy = req.proxy ? req.proxy : opts.proxy;
    if (proxy) set(CURLOPT_PROXY, proxy->c_str());
    set(CURLOPT_HTTPHEADER, t->header_list.get());

    const std::string& m = t->method;
    const bool has_body = !t->body.empty() || m == "POST" || m == "PUT" || m == "PATCH";
    if (m == "HEAD") {
      set(CURLOPT_NOBODY, 1L);
    } else if (has_body) {
      set(CURLOPT_POSTFIELDS, t->body.data());
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
      if (m != "POST") set(CURLOPT_CUSTOMREQUEST, m.c_str());
    } else if (m == "GET") {
      set(CURLOPT_HTTPGET, 1L);
    } else {
      set(CURLOPT_CUSTOMREQUEST, m.c_str());
    }
    if (rc != CURLE_OK)
      return Error::make(ErrorKind::internal, t->what() + ": cannot configure the transfer: " + curl_easy_strerror(rc));
    return t;
  }
};

// ---------------------------------------------------------------------------------------------

HttpClient::HttpClient(asio::any_io_executor executor, HttpClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {}

HttpClient::~HttpClient() {
  if (impl_) impl_->shutdown();
}

std::size_t HttpClient::active_transfers() const { return impl_ ? impl_->transfers.size() : 0; }

namespace {
// Hands the prepared transfer and the awaiting operation's handler to the engine.
struct Initiate {
  std::shared_ptr<HttpClient::Impl> impl;
  std::shared_ptr<std::unique_ptr<Transfer>> transfer;
  template <class H>
  void operator()(H handler) const {
    auto slot = asio::get_associated_cancellation_slot(handler);
    impl->start(std::move(*transfer), std::make_unique<CompletionImpl<H>>(std::move(handler)), slot);
  }
};
}  // namespace

asio::awaitable<Result<HttpResponse>> HttpClient::request(HttpRequest req) {
  auto prepared = impl_->prepare(std::move(req));
  if (!prepared.ok()) co_return std::move(prepared).error();
  // Named locals, not temporaries in a `co_return co_await` expression: GCC 12 destroys such
  // temporaries twice.
  Initiate init{impl_, std::make_shared<std::unique_ptr<Transfer>>(std::move(prepared).value())};
  Result<HttpResponse> result =
      co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<HttpResponse>)>(init, asio::use_awaitable);
  co_return result;
}

}  // namespace spokeflow::http
