#pragma once
// The web view's side of the service: its page files under /ui/ (compiled into the binary) and
// browser sessions. A person signs in with an API token; the browser then holds only a random
// session id in an HttpOnly, SameSite=Strict cookie, and every state-changing call made with
// that cookie must also carry the session's CSRF token in X-CSRF-Token. The session keeps the
// token's hash, not the token: each request judges the token again, so a revoked or expired
// token ends its sessions at once. Sessions are kept in the store (only the hash of their id):
// they outlive a restart and hold on every service sharing the store.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "serve/http_server.hpp"
#include "serve/tokens.hpp"
#include "store/store.hpp"

namespace spokeflow::serve {

struct WebUiOptions {
  // Read the page files from this folder at each request instead of the binary's copies ("" =
  // the binary's): for working on the pages without rebuilding.
  std::string dev_dir;
  bool secure_cookie = false;          // set over TLS: the cookie is never sent over plain HTTP
  std::int64_t session_ttl_ms = 12LL * 3600 * 1000;  // a session ends this long after sign-in
  std::size_t max_sessions = 10'000;   // past this, the oldest sessions end
};

// The page files compiled into the binary, keyed by file name ("index.html", "app.js").
const std::map<std::string, std::string_view>& embedded_ui_files();

class WebUi {
 public:
  static constexpr const char* kCookie = "spokeflow_session";

  WebUi(store::ExecutionStore& store, WebUiOptions options);

  // /ui, /ui/<file>, /ui/session (GET: who is signed in; POST: sign in), /ui/session/sign-out.
  boost::asio::awaitable<HttpResponse> handle(const HttpRequest& req, const std::vector<std::string>& seg);

  // The caller a request's session cookie stands for (role none when there is no live session
  // or its token no longer holds), with `session` set and the session's csrf.
  boost::asio::awaitable<Caller> authenticate(const HttpRequest& req);

  // Whether a state-changing request made with a session carries that session's CSRF token.
  static bool csrf_ok(const HttpRequest& req, const Caller& caller);

 private:
  struct Found {
    store::UiSession session;
    std::string csrf;
  };
  // The live session named by the request's cookie (an expired one is ended).
  boost::asio::awaitable<std::optional<Found>> find_session(const HttpRequest& req);
  boost::asio::awaitable<void> end_session(const std::string& id_hash);
  boost::asio::awaitable<Caller> judge(const std::string& token_hash);
  boost::asio::awaitable<HttpResponse> sign_in(const HttpRequest& req);
  boost::asio::awaitable<HttpResponse> current(const HttpRequest& req);
  boost::asio::awaitable<HttpResponse> sign_out(const HttpRequest& req);
  HttpResponse file(const std::string& name, const HttpRequest& req) const;

  store::ExecutionStore& store_;
  WebUiOptions options_;
};

}  // namespace spokeflow::serve
