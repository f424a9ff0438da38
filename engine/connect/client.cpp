#include "connect/client.hpp"

#include "common/url_encode.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <random>

#include "common/json_text.hpp"
#include "common/log_fields.hpp"
#include "common/scrub.hpp"
#include "connect/cap.hpp"

namespace spokeflow::connect {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// A call's log line fields: the step run it is for (when the engine said), the connection alias
// and Okta's request id (to find the call in Okta's System Log).
Json call_log_fields(const ApiRequest& req, const std::string& alias, const std::string& request_id = {}) {
  Json f = req.activity && req.activity->log_fields.is_object() ? req.activity->log_fields : Json::object();
  f["connection"] = alias;
  if (!request_id.empty()) f["okta_request_id"] = request_id;
  return f;
}

std::string text_at(const Json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool icontains(std::string_view hay, std::string_view needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                     [](char x, char y) { return lower(x) == lower(y); }) != hay.end();
}

// "scheme://" at the start: an absolute URL rather than a path.
bool is_absolute_url(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ':') return s.substr(i, 3) == "://";
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  }
  return false;
}

struct Origin {
  std::string scheme, host, port;
  bool operator==(const Origin&) const = default;
  std::string str() const { return scheme + "://" + host + ":" + port; }
};

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

std::optional<Origin> origin_of(const std::string& url) {
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  auto part = [&](CURLUPart p, unsigned flags) -> std::optional<std::string> {
    char* v = nullptr;
    if (curl_url_get(u.get(), p, &v, flags) != CURLUE_OK || v == nullptr) return std::nullopt;
    std::string out(v);
    curl_free(v);
    return out;
  };
  auto scheme = part(CURLUPART_SCHEME, 0);
  auto host = part(CURLUPART_HOST, 0);
  auto port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!scheme || !host || !port) return std::nullopt;
  Origin o{*scheme, *host, *port};
  for (auto& c : o.scheme) c = lower(c);
  for (auto& c : o.host) c = lower(c);
  return o;
}

// The path of a URL or path, without query or fragment: what logs and error details show.
std::string path_only(std::string_view target) {
  if (is_absolute_url(target)) {
    auto slash = target.find('/', target.find("://") + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return std::string(target.substr(0, target.find_first_of("?#")));
}

// The URL of the first Link whose rel includes "next", across every Link header line.
std::string next_link(const http::HttpResponse& response) {
  for (const std::string& line : response.header_values("Link")) {
    std::string_view s(line);
    std::size_t i = 0;
    auto skip_ws = [&] {
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    };
    while (i < s.size()) {
      skip_ws();
      if (i < s.size() && s[i] == ',') {
        ++i;
        continue;
      }
      if (i >= s.size() || s[i] != '<') break;  // not a link-value: give up on this line
      const std::size_t close = s.find('>', i);
      if (close == std::string_view::npos) break;
      const std::string_view url = s.substr(i + 1, close - i - 1);
      i = close + 1;
      bool is_next = false;
      for (;;) {
        skip_ws();
        if (i >= s.size() || s[i] != ';') break;
        ++i;
        skip_ws();
        std::size_t name_end = i;
        while (name_end < s.size() && s[name_end] != '=' && s[name_end] != ';' && s[name_end] != ',') ++name_end;
        std::string_view name = s.substr(i, name_end - i);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        i = name_end;
        std::string value;
        if (i < s.size() && s[i] == '=') {
          ++i;
          skip_ws();
          if (i < s.size() && s[i] == '"') {
            ++i;
            while (i < s.size() && s[i] != '"') {
              if (s[i] == '\\' && i + 1 < s.size()) ++i;
              value.push_back(s[i++]);
            }
            if (i < s.size()) ++i;
          } else {
            while (i < s.size() && s[i] != ';' && s[i] != ',') value.push_back(s[i++]);
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
          }
        }
        if (iequals(name, "rel")) {
          // rel may hold several space-separated relation types.
          std::size_t p = 0;
          while (p < value.size()) {
            std::size_t q = value.find(' ', p);
            if (q == std::string::npos) q = value.size();
            if (iequals(std::string_view(value).substr(p, q - p), "next")) is_next = true;
            p = q + 1;
          }
        }
      }
      if (is_next) return std::string(url);
    }
  }
  return {};
}

bool is_json_type(const http::HttpResponse& r) {
  const std::string* ct = r.header("Content-Type");
  return ct != nullptr && icontains(*ct, "json");
}

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS";
}

// A short, single-line, scrubbed piece of a body for an error message.
std::string excerpt(std::string_view body) {
  constexpr std::size_t kMax = 200;
  std::string out;
  for (char c : body.substr(0, kMax)) out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  if (body.size() > kMax) out += "...";
  return SecretScrubber::instance().scrub(std::move(out));
}

// A parameter of a WWW-Authenticate challenge (`scope="okta.users.manage"`), "" when absent.
std::string challenge_param(std::string_view header, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = header.find(name, pos)) != std::string_view::npos) {
    const bool starts = pos == 0 || header[pos - 1] == ' ' || header[pos - 1] == ',';
    std::size_t after = pos + name.size();
    if (starts && after < header.size() && header[after] == '=') {
      ++after;
      if (after < header.size() && header[after] == '"') {
        const std::size_t end = header.find('"', after + 1);
        return std::string(header.substr(after + 1, end == std::string_view::npos ? std::string_view::npos : end - after - 1));
      }
      const std::size_t end = header.find_first_of(", ", after);
      return std::string(header.substr(after, end == std::string_view::npos ? std::string_view::npos : end - after));
    }
    pos = after;
  }
  return {};
}

// Everything one call needs from its client (whose members are private to it).
struct CallEnv {
  asio::any_io_executor executor;
  const std::string& alias;
  const Connection& connection;
  const AliasRetry& retry;
  std::shared_ptr<AuthProvider> auth;
  std::shared_ptr<http::HttpClient> http;
  std::shared_ptr<http::RateGovernor> governor;
  CallStats& stats;
  http::CallObserver* observer = nullptr;
};

struct Target {
  std::string url;
  std::string path;  // without query: for logs, errors and the bucket
};

Result<Target> resolve_target(const CallEnv& env, const ApiRequest& req) {
  Target t;
  if (is_absolute_url(req.path)) {
    const auto base = origin_of(env.connection.base_url);
    const auto other = origin_of(req.path);
    if (!base || !other || !(*base == *other)) {
      const std::string shown = other ? other->str() : std::string("an unparsable URL");
      return Error::make(ErrorKind::validation,
                         "refusing to send the credential for alias '" + env.alias + "' to another host: " + shown +
                             " is not the connection's " + (base ? base->str() : env.connection.base_url) +
                             " (a path or URL given to the step, or a `next` link, points elsewhere)");
    }
    t.url = req.path;
  } else {
    t.url = env.connection.base_url;
    if (!t.url.empty() && t.url.back() == '/' && !req.path.empty() && req.path.front() == '/') t.url.pop_back();
    if (!req.path.empty() && req.path.front() != '/' && (t.url.empty() || t.url.back() != '/')) t.url.push_back('/');
    t.url += req.path;
  }
  // Curl sends the path as written, so a dot segment would be resolved (or not) by whatever
  // server or proxy reads it: then no one can say which resource the request names.
  const std::string_view url_path_part = url_path(t.url);
  if (has_dot_segment(url_path_part)) {
    std::string shown(url_path_part.substr(0, 200));
    return Error::make(ErrorKind::validation,
                       "refusing " + req.method + " " + SecretScrubber::instance().scrub(std::move(shown)) +
                           " on alias '" + env.alias +
                           "': its path holds a dot segment ('.' or '..', maybe percent-encoded), which could make "
                           "the server name another resource than the one meant");
  }
  // The credential is for the API under the base URL's path, not for the rest of the host.
  std::string_view base_path = url_path(env.connection.base_url);
  while (!base_path.empty() && base_path.back() == '/') base_path.remove_suffix(1);
  if (!base_path.empty() && url_path_part != base_path &&
      !(url_path_part.starts_with(base_path) && url_path_part.size() > base_path.size() &&
        url_path_part[base_path.size()] == '/')) {
    std::string shown(url_path_part.substr(0, 200));
    return Error::make(ErrorKind::validation,
                       "refusing to send the credential for alias '" + env.alias + "' to " +
                           SecretScrubber::instance().scrub(std::move(shown)) +
                           ": it is outside the connection's base path " + std::string(base_path) +
                           " (a path or URL given to the step, or a `next` link, points elsewhere)");
  }
  t.path = path_only(t.url);
  if (!req.query.empty()) {
    char sep = t.url.find('?') == std::string::npos ? '?' : '&';
    for (const auto& [k, v] : req.query) {
      t.url.push_back(sep);
      t.url += percent_encode(k);
      t.url.push_back('=');
      t.url += percent_encode(v);
      sep = '&';
    }
  }
  return t;
}

// An answer that is not one the caller expects, as an Error (see client.hpp).
Error error_for(const CallEnv& env, const std::string& method, const std::string& path, const http::HttpResponse& r,
                const Json& body, const std::string& request_id) {
  const int status = static_cast<int>(r.status);
  Error e;
  e.http_status = status;
  e.details = {{"status", status}, {"request_id", request_id}, {"method", method}, {"path", path}};
  const bool okta_body = body.is_object() && body.contains("errorCode") && body["errorCode"].is_string();
  const bool oauth_body = body.is_object() && body.contains("error") && body["error"].is_string();

  if (status == 403) {
    const std::string* challenge = r.header("WWW-Authenticate");
    if (challenge != nullptr && icontains(*challenge, "insufficient_scope")) {
      const std::string scope = challenge_param(*challenge, "scope");
      e.kind = ErrorKind::auth;
      e.code = "insufficient_scope";
      e.message = "the credential of alias '" + env.alias + "' lacks the scope " +
                  (scope.empty() ? std::string("needed") : "'" + scope + "' needed") + " for " + method + " " + path +
                  " (HTTP 403): grant it to the app in Okta and add it to the credential's `scopes:`";
      if (!scope.empty()) e.details["scope"] = scope;
      return e;
    }
  }

  if (okta_body) {
    const std::string code = body["errorCode"].get<std::string>();
    std::string summary = code;
    if (auto it = body.find("errorSummary"); it != body.end() && it->is_string()) summary = it->get<std::string>();
    e.code = code;
    e.message = summary + " (" + code + ", HTTP " + std::to_string(status) + ")";
    Json causes = Json::array();
    if (auto it = body.find("errorCauses"); it != body.end() && it->is_array()) {
      std::string text;
      for (const auto& c : *it) {
        causes.push_back(c);
        if (c.is_object() && c.contains("errorSummary") && c["errorSummary"].is_string()) {
          if (!text.empty()) text += "; ";
          text += c["errorSummary"].get<std::string>();
        }
      }
      if (!text.empty()) e.message += ": " + text;
    }
    e.details["errorCode"] = code;
    e.details["errorSummary"] = summary;
    e.details["errorCauses"] = std::move(causes);
    if (auto it = body.find("errorId"); it != body.end() && it->is_string()) e.details["errorId"] = *it;
  } else if (oauth_body) {
    e.code = body["error"].get<std::string>();
    e.message = e.code;
    if (auto it = body.find("error_description"); it != body.end() && it->is_string()) e.message += ": " + it->get<std::string>();
    e.message += " (HTTP " + std::to_string(status) + ")";
    e.details["error"] = body["error"];
    if (body.contains("error_description")) e.details["error_description"] = body["error_description"];
  } else {
    e.message = "HTTP " + std::to_string(status) + " from alias '" + env.alias + "' (" + method + " " + path + ")";
    if (!r.body.empty()) e.message += ": " + excerpt(r.body);
  }

  if (status == 401) {
    e.kind = ErrorKind::auth;
    e.message += "; check the credential '" + env.connection.credential + "' of connection '" + env.connection.name +
                 "' (alias '" + env.alias + "')";
  } else if (status == 429) {
    e.kind = ErrorKind::rate_limited;
  } else if (status >= 500) {
    e.kind = ErrorKind::server;
  } else if (okta_body) {
    e.kind = ErrorKind::okta;
  } else {
    e.kind = ErrorKind::http;
  }
  e.message = SecretScrubber::instance().scrub(std::move(e.message));
  return e;
}

milliseconds backoff(const AliasRetry& retry, int failed_attempts, std::mt19937_64& rng) {
  double ms = static_cast<double>(retry.initial_interval.count());
  for (int i = 1; i < failed_attempts; ++i) ms *= retry.multiplier;
  ms = std::min(ms, static_cast<double>(retry.max_interval.count()));
  if (retry.jitter) ms = std::uniform_real_distribution<double>(ms / 2, ms)(rng);
  return milliseconds(static_cast<long long>(std::max(0.0, ms)));
}

// Retry-After in seconds (a generic API's hint; Okta sends none).
std::optional<milliseconds> retry_after_header(const http::HttpResponse& r) {
  const std::string* v = r.header("Retry-After");
  if (v == nullptr) return std::nullopt;
  long long s = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), s);
  if (ec != std::errc() || p != v->data() + v->size() || s < 0) return std::nullopt;
  return milliseconds(std::min<long long>(s, 300) * 1000);
}

asio::awaitable<bool> sleep_for(asio::any_io_executor ex, milliseconds d) {
  asio::steady_timer timer(ex, d);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return !ec;
}

Error cancelled_error(const CallEnv& env, const std::string& method, const std::string& path) {
  return Error::make(ErrorKind::cancelled, method + " " + path + " on alias '" + env.alias + "' cancelled");
}

asio::awaitable<Result<ApiResponse>> run_call(CallEnv env, ApiRequest req) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  ++env.stats.calls;
  for (auto& c : req.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto target = resolve_target(env, req);
  if (!target.ok()) co_return target.error();
  const std::string& url = target->url;
  const std::string& path = target->path;
  const std::string bucket = http::okta_bucket(req.method, path);
  // A request that may have reached the server is sent again only when a second copy cannot
  // do more than the first: an idempotent method, or a call its caller marks safe to repeat.
  const bool may_repeat = idempotent(req.method) || req.safe_to_repeat;

  http::HttpRequest base;
  base.method = req.method;
  base.url = url;
  base.timeout = req.timeout.value_or(env.connection.request_timeout);
  base.allow_insecure_http = env.connection.allow_insecure_http;
  base.headers.emplace_back("Accept", "application/json");
  if (req.json_body) {
    base.body = req.json_body->dump();
    base.headers.emplace_back("Content-Type", "application/json");
  } else {
    base.body = req.raw_body;
  }
  for (const auto& h : req.headers) {
    // The credential's headers are the provider's alone.
    if (iequals(h.first, "Authorization") || iequals(h.first, "DPoP")) continue;
    if (iequals(h.first, "Accept") || (req.json_body && iequals(h.first, "Content-Type"))) {
      std::erase_if(base.headers, [&](const auto& x) { return iequals(x.first, h.first); });
    }
    base.headers.push_back(h);
  }

  for (int attempt = 1;; ++attempt) {
    Result<http::HttpResponse> res = Error::make(ErrorKind::internal, "no answer");
    auto started = Clock::now();
    bool auth_resent = false;
    bool sent = false;  // the request may have reached the server
    for (;;) {
      const auto asked = Clock::now();
      http::RateGovernor::Permit permit = co_await env.governor->acquire(bucket);
      if (req.activity) req.activity->rate_wait_ms += std::chrono::duration_cast<milliseconds>(Clock::now() - asked).count();
      auto auth_headers = co_await env.auth->headers(req.method, url);
      if (!auth_headers.ok()) {
        res = auth_headers.error();  // the API request itself was never sent
        break;
      }
      http::HttpRequest hreq = base;
      for (auto& h : *auth_headers) hreq.headers.push_back(std::move(h));
      started = Clock::now();
      res = co_await env.http->request(std::move(hreq));
      ++env.stats.http_requests;
      if (!res.ok()) {
        // The HTTP layer knows when a failure came before any byte of the request left (no
        // connection, no name); anything else may have been carried out.
        const Json& d = res.error().details;
        sent = !(d.is_object() && d.contains("request_sent") && d["request_sent"] == false);
        if (env.observer && res.error().kind != ErrorKind::cancelled)
          env.observer->answered(env.connection.name, bucket, 0, std::nullopt);
        break;
      }
      sent = true;
      env.governor->observe(bucket, *res);
      if (env.observer)
        env.observer->answered(env.connection.name, bucket, static_cast<int>(res->status),
                               http::header_integer(*res, "X-Rate-Limit-Remaining"));
      // A DPoP nonce challenge or a stale token: once more at once, with fresh headers.
      if (!auth_resent && env.auth->on_response(*res)) {
        auth_resent = true;
        continue;
      }
      break;
    }
    const auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();

    std::optional<Error> failure;
    bool retryable = false;
    bool throttled = false;
    if (!res.ok()) {
      failure = std::move(res).error();
      if (failure->kind == ErrorKind::cancelled) {
        if (spdlog::should_log(spdlog::level::debug))
          log_with(spdlog::level::debug, call_log_fields(req, env.alias), "{} {} {} cancelled after {} ms", env.alias,
                   req.method, path, ms);
        co_return *failure;
      }
      retryable = is_transient(failure->kind) && (!sent || may_repeat);
      if (!failure->details.is_object()) failure->details = Json::object();
      failure->details["method"] = req.method;
      failure->details["path"] = path;
      if (spdlog::should_log(spdlog::level::debug))
        log_with(spdlog::level::debug, call_log_fields(req, env.alias), "{} {} {} failed after {} ms: {}", env.alias,
                 req.method, path, ms, to_string(failure->kind));
    } else {
      http::HttpResponse& r = *res;
      std::string request_id;
      if (const std::string* id = r.header("X-Okta-Request-Id")) request_id = *id;
      if (spdlog::should_log(spdlog::level::debug))
        log_with(spdlog::level::debug, call_log_fields(req, env.alias, request_id), "{} {} {} -> {} in {} ms{}{}",
                 env.alias, req.method, path, r.status, ms, request_id.empty() ? "" : ", request id ", request_id);
      const int status = static_cast<int>(r.status);
      const bool success = req.expect.empty() ? (status >= 200 && status < 300)
                                              : std::find(req.expect.begin(), req.expect.end(), status) != req.expect.end();
      Json body;
      bool malformed = false;
      std::string parse_error;
      if (!r.body.empty() && req.method != "HEAD") {
        const bool json_type = is_json_type(r);
        if (json_type || !r.header("Content-Type")) {
          if (auto parsed = parse_json(r.body); parsed.ok()) {
            body = std::move(*parsed);
          } else {
            malformed = json_type;
            parse_error = std::move(parsed).error().message;
          }
        }
      }
      if (success && !malformed) {
        ApiResponse out;
        out.status = status;
        out.json = std::move(body);
        out.body = std::move(r.body);
        out.next_url = next_link(r);
        out.headers = std::move(r.headers);
        out.request_id = std::move(request_id);
        out.attempts = attempt;
        co_return out;
      }
      if (success) {
        Error e = Error::make(ErrorKind::http, "malformed JSON from alias '" + env.alias + "' (" + req.method + " " + path +
                                                   ", HTTP " + std::to_string(status) + "): " + parse_error);
        e.http_status = status;
        e.details = {{"status", status}, {"request_id", request_id}, {"method", req.method}, {"path", path}};
        failure = std::move(e);
        // A body cut short by the network: repeating the request is harmless only when idempotent.
        retryable = may_repeat;
      } else {
        failure = error_for(env, req.method, path, r, body, request_id);
        // A 429 was refused before any work (Okta counts it against no change); a 5xx may
        // have failed after the change was made.
        retryable = status == 429 || (status >= 500 && may_repeat);
        throttled = status == 429;
        if (throttled) {
          auto wait = env.governor->retry_after(bucket);
          if (auto hint = retry_after_header(r)) wait = std::max(wait, *hint);
          failure->details["retry_after_ms"] = static_cast<long long>(wait.count());
        }
      }
    }

    failure->details["attempts"] = attempt;
    if (!retryable || attempt >= env.retry.max_attempts) {
      if (retryable && attempt > 1) failure->message += " (gave up after " + std::to_string(attempt) + " attempts)";
      if (!retryable && sent && !may_repeat && is_transient(failure->kind) && attempt < env.retry.max_attempts)
        failure->message += " (not retried: the " + req.method +
                            " may have reached the server, and it is repeated only when marked safe to repeat)";
      co_return *failure;
    }
    ++env.stats.retries;
    milliseconds wait = throttled ? milliseconds(failure->details["retry_after_ms"].get<long long>())
                                  : backoff(env.retry, attempt, rng);
    if (spdlog::should_log(spdlog::level::debug))
      log_with(spdlog::level::debug, call_log_fields(req, env.alias, text_at(failure->details, "request_id")),
               "{} {} {}: attempt {} failed ({}), retrying in {} ms", env.alias, req.method, path, attempt,
               to_string(failure->kind), wait.count());
    if (req.activity)
      req.activity->retried(req.method, path, attempt, failure->http_status, to_string(failure->kind), failure->code,
                            wait.count());
    const bool slept = co_await sleep_for(env.executor, wait);
    if (!slept) co_return cancelled_error(env, req.method, path);
  }
}

std::string resolve_file(const std::string& base_dir, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
  return p.string();
}

}  // namespace

std::string escape_path_segment(std::string_view segment) {
  // '.' is unreserved, so "." and ".." would pass percent_encode unchanged and then step
  // within the path; encoded, they are a name like any other.
  if (segment == ".") return "%2E";
  if (segment == "..") return "%2E%2E";
  return percent_encode(segment);
}

ConnectionClient::ConnectionClient(asio::any_io_executor executor, std::string alias, Connection connection,
                                   AliasRetry retry, std::shared_ptr<AuthProvider> auth,
                                   std::shared_ptr<http::HttpClient> http, std::shared_ptr<http::RateGovernor> governor)
    : executor_(std::move(executor)),
      alias_(std::move(alias)),
      connection_(std::move(connection)),
      retry_(retry),
      auth_(std::move(auth)),
      http_(std::move(http)),
      governor_(std::move(governor)) {
  if (retry_.max_attempts < 1) retry_.max_attempts = 1;
}

asio::awaitable<Result<ApiResponse>> ConnectionClient::call(ApiRequest request) {
  CallEnv env{executor_, alias_, connection_, retry_, auth_, http_, governor_, stats_, observer_};
  const std::string method = request.method;
  const std::string path = path_only(request.path);
  std::optional<Result<ApiResponse>> out;
  try {
    auto r = co_await run_call(env, std::move(request));
    out.emplace(std::move(r));
  } catch (const boost::system::system_error& e) {
    // Cancelled while waiting for the rate governor (or any co_await after a cancellation).
    if (e.code() != asio::error::operation_aborted) throw;
  }
  if (!out) co_return cancelled_error(env, method, path);
  co_return std::move(*out);
}

asio::awaitable<Result<ApiResponse>> ConnectionClient::next_page(const std::string& next_url) {
  ApiRequest req;
  req.method = "GET";
  req.path = next_url;
  auto r = co_await call(std::move(req));
  co_return r;
}

Connections::Connections(asio::any_io_executor executor, ConnectionsConfig config, std::shared_ptr<SecretResolver> secrets)
    : executor_(std::move(executor)), config_(std::move(config)), secrets_(std::move(secrets)) {}

Result<std::shared_ptr<ConnectionClient>> Connections::client(std::string_view alias_name) {
  if (auto it = clients_.find(alias_name); it != clients_.end()) return it->second;
  const std::string where = config_.file.empty() ? std::string("the connections") : config_.file;
  const Alias* alias = config_.alias(alias_name);
  if (alias == nullptr) {
    std::string known;
    for (const auto& [name, a] : config_.aliases) known += (known.empty() ? "" : ", ") + name;
    return Error::make(ErrorKind::validation, "unknown connection alias '" + std::string(alias_name) + "' in " + where +
                                                  (known.empty() ? std::string(" (it defines no aliases)")
                                                                 : " (known aliases: " + known + ")"));
  }
  const Connection* conn = config_.connection_of(*alias);
  if (conn == nullptr)
    return Error::make(ErrorKind::validation, "alias '" + alias->name + "' names connection '" + alias->connection +
                                                  "', which " + where + " does not define");
  const Credential* cred = config_.credential_of(*conn);
  if (cred == nullptr)
    return Error::make(ErrorKind::validation, "connection '" + conn->name + "' names credential '" + conn->credential +
                                                  "', which " + where + " does not define");

  auto& http = http_[conn->name];
  if (!http) {
    http::HttpClientOptions opts;
    opts.connect_timeout = conn->connect_timeout;
    opts.proxy = conn->proxy;
    if (conn->ca_bundle && !conn->ca_bundle->empty()) opts.ca_bundle = resolve_file(config_.base_dir, *conn->ca_bundle);
    // Enough connections for the concurrency the connection allows, so requests do not queue in curl.
    // (connect/cap.hpp's effective_call_cap states the resulting cap; keep the two in step.)
    opts.max_host_connections = std::max<long>(opts.max_host_connections, conn->max_concurrency);
    http = std::make_shared<http::HttpClient>(executor_, std::move(opts));
  }
  auto auth_it = auth_.find(conn->name);
  if (auth_it == auth_.end()) {
    auto made = make_auth_provider(*conn, *cred, *secrets_, http);
    if (!made.ok()) return made.error();
    auth_it = auth_.emplace(conn->name, std::move(*made)).first;
  }
  auto& governor = governors_[conn->name];
  if (!governor) {
    governor = std::make_shared<http::RateGovernor>(executor_, conn->max_concurrency);
    if (budget_for_) governor->share_budget(budget_for_(org_key(conn->base_url)));
  }
  // An alias whose own max_concurrency is its cap gets a governor of its own under the
  // connection's (effective_call_cap: the one account of the cap, shown by `connections list`).
  std::shared_ptr<http::RateGovernor> alias_governor = governor;
  if (const CallCap cap = effective_call_cap(*alias, conn); cap.source == CallCap::Source::alias)
    alias_governor = std::make_shared<http::RateGovernor>(governor, cap.calls);

  auto client = std::make_shared<ConnectionClient>(executor_, alias->name, *conn, alias->retry, auth_it->second, http,
                                                   std::move(alias_governor));
  client->set_observer(observer_);
  clients_.emplace(alias->name, client);
  return client;
}

void Connections::share_rate_budget(BudgetFor budget_for) {
  budget_for_ = std::move(budget_for);
  if (!budget_for_) return;
  for (auto& [name, governor] : governors_)
    if (const auto it = config_.connections.find(name); it != config_.connections.end())
      governor->share_budget(budget_for_(org_key(it->second.base_url)));
}

std::string org_key(const std::string& base_url) {
  std::string_view s(base_url);
  if (auto scheme = s.find("://"); scheme != std::string_view::npos) s.remove_prefix(scheme + 3);
  s = s.substr(0, s.find_first_of("/?#"));
  if (auto at = s.rfind('@'); at != std::string_view::npos) s.remove_prefix(at + 1);  // no user part
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void Connections::set_observer(http::CallObserver* observer) {
  observer_ = observer;
  for (auto& [_, c] : clients_) c->set_observer(observer);
}

}  // namespace spokeflow::connect
