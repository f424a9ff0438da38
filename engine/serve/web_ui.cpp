#include "serve/web_ui.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

#include "common/ids.hpp"
#include "common/json_text.hpp"
#include "flow/loader.hpp"
#include "serve/api.hpp"
#include "store/async.hpp"

namespace spokeflow::serve {
namespace asio = boost::asio;
using asio::awaitable;
namespace {

// The pages load only their own files and talk only to this service: no inline script, no
// other origin, no framing (clickjacking).
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

void add_page_headers(HttpResponse& r) {
  r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
}

// A session answer must never be kept by a cache along the way.
HttpResponse no_store(HttpResponse r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

std::string content_type_of(const std::string& name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".json")) return "application/json";
  return "text/plain; charset=utf-8";
}

// Page file names are flat and plain: nothing that could leave the folder.
bool plain_file_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  for (unsigned char c : name)
    if (!(std::islower(c) || std::isdigit(c) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

std::optional<std::string> cookie_value(const HttpRequest& req, std::string_view name) {
  auto [from, to] = req.headers.equal_range("cookie");
  for (auto it = from; it != to; ++it) {
    std::string_view rest = it->second;
    while (!rest.empty()) {
      const std::size_t semi = std::min(rest.find(';'), rest.size());
      std::string_view pair = rest.substr(0, semi);
      rest = semi < rest.size() ? rest.substr(semi + 1) : std::string_view();
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      const std::size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
    }
  }
  return std::nullopt;
}

std::string random_text() {
  std::string t = new_token();
  return t.substr(4);  // without "sft_": a session id is not an API token
}

// The session's CSRF token, derived from its id: the store keeps neither (only the id's hash),
// and a page of another origin can read neither (the id is in an HttpOnly cookie).
std::string csrf_of(const std::string& session_id) { return token_hash("spokeflow-csrf:" + session_id); }

Json caller_json(const Caller& c) {
  return {{"name", c.token_name}, {"role", to_string(c.role)}, {"csrf", c.csrf}};
}

}  // namespace

WebUi::WebUi(store::ExecutionStore& store, WebUiOptions options) : store_(store), options_(std::move(options)) {}

bool WebUi::csrf_ok(const HttpRequest& req, const Caller& caller) {
  if (!caller.session || req.method == "GET" || req.method == "HEAD") return true;
  const std::string* given = req.header("x-csrf-token");
  return given && !caller.csrf.empty() && same_secret(*given, caller.csrf);
}

awaitable<std::optional<WebUi::Found>> WebUi::find_session(const HttpRequest& req) {
  auto id = cookie_value(req, kCookie);
  if (!id || id->empty() || id->size() > 128) co_return std::nullopt;
  const std::string key = token_hash(*id);
  auto read = [key](store::ExecutionStore& s) { return s.ui_session(key); };
  auto found = co_await store::on_store(store_, std::move(read));
  if (!found) co_return std::nullopt;
  if (now_unix_ms() >= found->expires_at) {
    co_await end_session(key);
    co_return std::nullopt;
  }
  co_return Found{std::move(*found), csrf_of(*id)};
}

awaitable<void> WebUi::end_session(const std::string& key) {
  auto end = [key](store::ExecutionStore& s) { return s.end_ui_session(key); };
  co_await store::on_store(store_, std::move(end));
}

awaitable<Caller> WebUi::judge(const std::string& hash) {
  auto find = [hash](store::ExecutionStore& s) { return s.token_by_hash(hash); };
  auto record = co_await store::on_store(store_, std::move(find));
  co_return judge_token(record, now_unix_ms());
}

awaitable<Caller> WebUi::authenticate(const HttpRequest& req) {
  auto found = co_await find_session(req);
  if (!found) co_return Caller{};
  Caller c = co_await judge(found->session.token_hash);
  if (c.role == Role::none) {
    co_await end_session(found->session.id_hash);
    c.problem = "the session's token is no longer valid (" + c.problem + "): sign in again";
    co_return c;
  }
  c.session = true;
  c.csrf = found->csrf;
  co_return c;
}

awaitable<HttpResponse> WebUi::sign_in(const HttpRequest& req) {
  auto body = parse_json(req.body);
  if (!body.ok() || !body->is_object() || !body->contains("token") || !(*body)["token"].is_string())
    co_return error_response(400, "validation", "the body must be {\"token\": \"<API token>\"}");
  const std::string token = (*body)["token"].get<std::string>();
  if (token.empty() || token.size() > 256)
    co_return error_response(401, "auth", "that is not an API token");
  Caller c = co_await judge(token_hash(token));
  if (c.role == Role::none)
    co_return error_response(401, "auth", c.problem.empty() ? "no such API token" : c.problem);
  const std::string id = random_text();
  const std::int64_t now = now_unix_ms();
  store::UiSession session{token_hash(id), token_hash(token), now, now + options_.session_ttl_ms};
  auto add = [session, keep = options_.max_sessions](store::ExecutionStore& s) {
    s.add_ui_session(session, keep);
    return true;
  };
  co_await store::on_store(store_, std::move(add));
  c.session = true;
  c.csrf = csrf_of(id);
  req.token_name = c.token_name;
  HttpResponse r = no_store(json_response(200, caller_json(c)));
  std::string cookie = std::string(kCookie) + "=" + id + "; Path=/; HttpOnly; SameSite=Strict";
  if (options_.secure_cookie) cookie += "; Secure";
  r.headers.emplace_back("Set-Cookie", cookie);
  co_return r;
}

awaitable<HttpResponse> WebUi::current(const HttpRequest& req) {
  Caller c = co_await authenticate(req);
  if (c.role == Role::none)
    co_return no_store(error_response(401, "auth", c.problem.empty() ? "not signed in" : c.problem));
  req.token_name = c.token_name;
  co_return no_store(json_response(200, caller_json(c)));
}

awaitable<HttpResponse> WebUi::sign_out(const HttpRequest& req) {
  auto found = co_await find_session(req);
  if (!found) co_return no_store(error_response(401, "auth", "not signed in"));
  const std::string* given = req.header("x-csrf-token");
  if (!given || !same_secret(*given, found->csrf))
    co_return error_response(403, "csrf", "a signed-in browser's change must carry its X-CSRF-Token");
  co_await end_session(found->session.id_hash);
  HttpResponse r;
  r.status = 204;
  r.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" +
                                           (options_.secure_cookie ? "; Secure" : ""));
  co_return no_store(std::move(r));
}

HttpResponse WebUi::file(const std::string& name, const HttpRequest& req) const {
  if (!plain_file_name(name)) return error_response(404, "not_found", "no such page file: " + name);
  std::string content;
  if (!options_.dev_dir.empty()) {
    std::ifstream in(options_.dev_dir + "/" + name, std::ios::binary);
    if (!in) return error_response(404, "not_found", "no such page file: " + name);
    std::ostringstream ss;
    ss << in.rdbuf();
    content = ss.str();
  } else {
    const auto& files = embedded_ui_files();
    auto it = files.find(name);
    if (it == files.end()) return error_response(404, "not_found", "no such page file: " + name);
    content = std::string(it->second);
  }
  // The files change only with the binary (or the dev folder): the browser asks each time and
  // gets 304 while the content is the same.
  const std::string etag = "\"" + flow::sha256_hex(content).substr(0, 32) + "\"";
  HttpResponse r;
  add_page_headers(r);
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.content_type = content_type_of(name);
  if (const std::string* match = req.header("if-none-match"); match && *match == etag) {
    r.status = 304;
    return r;
  }
  r.body = std::move(content);
  return r;
}

awaitable<HttpResponse> WebUi::handle(const HttpRequest& req, const std::vector<std::string>& seg) {
  const std::string& m = req.method;
  if (seg.size() >= 2 && seg[1] == "session") {
    if (seg.size() == 2) {
      if (m == "GET") co_return co_await current(req);
      if (m == "POST") co_return co_await sign_in(req);
      co_return method_not_allowed("GET, POST");
    }
    if (seg.size() == 3 && seg[2] == "sign-out") {
      if (m != "POST") co_return method_not_allowed("POST");
      co_return co_await sign_out(req);
    }
    co_return error_response(404, "not_found", "no such route: " + req.path);
  }
  if (m != "GET") co_return method_not_allowed("GET");
  if (seg.size() == 1) co_return file("index.html", req);
  if (seg.size() == 2) co_return file(seg[1], req);
  co_return error_response(404, "not_found", "no such page file: " + req.path);
}

}  // namespace spokeflow::serve
