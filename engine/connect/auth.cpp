#include "connect/auth.hpp"

#include "common/json_text.hpp"
#include "common/url_encode.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>

#include "common/scrub.hpp"
#include "common/text.hpp"
#include "connect/jose.hpp"

namespace spokeflow::connect {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::use_awaitable;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kAssertionLifetime = std::chrono::seconds(300);
constexpr auto kLoginTimeout = std::chrono::minutes(5);
constexpr const char* kAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

Error auth_error(std::string message) { return Error::make(ErrorKind::auth, std::move(message)); }

std::int64_t epoch_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

using Params = std::vector<std::pair<std::string, std::string>>;

std::string encode_params(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += percent_encode(k) + "=" + percent_encode(v);
  }
  return out;
}

Params parse_params(std::string_view query) {
  Params out;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    out.emplace_back(percent_decode(part.substr(0, eq)),
                     eq == std::string_view::npos ? std::string() : percent_decode(part.substr(eq + 1)));
  }
  return out;
}

const std::string* param(const Params& params, std::string_view key) {
  for (const auto& [k, v] : params)
    if (k == key) return &v;
  return nullptr;
}

// RFC 9449 `htu`: the request URL without query and fragment.
std::string without_query(std::string_view url) { return std::string(url.substr(0, url.find_first_of("?#"))); }

bool icontains(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                                    std::tolower(static_cast<unsigned char>(b)); });
  return it != haystack.end();
}

// A secret reference resolved for a credential; failures name the credential and the reference.
Result<std::string> resolve_secret(const Credential& cred, const std::optional<SecretRef>& ref, std::string_view field,
                                   const SecretResolver& secrets) {
  if (!ref)
    return auth_error("credential '" + cred.name + "' (" + std::string(to_string(cred.type)) + ") has no `" +
                      std::string(field) + "`; add it to the connections file");
  auto value = secrets.resolve(*ref);
  if (!value) {
    Error e = value.error();
    e.kind = ErrorKind::auth;
    e.message = "credential '" + cred.name + "' `" + std::string(field) + "`: " + e.message;
    return e;
  }
  if (value->empty())
    return auth_error("credential '" + cred.name + "' `" + std::string(field) + "`: " + ref->describe() + " is empty");
  SecretScrubber::instance().add(*value);
  return value;
}

// ---------------------------------------------------------------------------------------------
// SSWS, Bearer and Basic: a fixed Authorization header, nothing to renew.
class StaticProvider final : public AuthProvider {
 public:
  explicit StaticProvider(std::string authorization) : authorization_(std::move(authorization)) {
    SecretScrubber::instance().add(authorization_);
  }
  asio::awaitable<Result<Headers>> headers(const std::string&, const std::string&) override {
    co_return Headers{{"Authorization", authorization_}};
  }
  bool on_response(const http::HttpResponse&) override { return false; }

 private:
  std::string authorization_;
};

// ---------------------------------------------------------------------------------------------
// How token endpoint calls are made: the connection's timeouts, proxy and CA rules.
struct Endpoint {
  std::shared_ptr<http::HttpClient> http;
  std::string token_url;
  std::chrono::milliseconds timeout{30000};
  bool allow_insecure_http = false;
  std::optional<std::string> proxy;
  std::optional<std::string> ca_bundle;

  static Endpoint of(const Connection& c, const Credential& cred, std::shared_ptr<http::HttpClient> http) {
    Endpoint e;
    e.http = std::move(http);
    e.token_url = cred.token_url.empty() ? c.base_url + "/oauth2/v1/token" : cred.token_url;
    e.timeout = c.request_timeout;
    e.allow_insecure_http = c.allow_insecure_http;
    e.proxy = c.proxy;
    e.ca_bundle = c.ca_bundle;
    return e;
  }

  http::HttpRequest post(const Params& form, Headers extra = {}) const {
    http::HttpRequest req;
    req.method = "POST";
    req.url = token_url;
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
    for (auto& h : extra) req.headers.push_back(std::move(h));
    req.body = encode_params(form);
    req.timeout = timeout;
    req.allow_insecure_http = allow_insecure_http;
    req.proxy = proxy;
    req.ca_bundle = ca_bundle;
    return req;
  }
};

// A token endpoint answer, successful or not.
struct TokenAnswer {
  long status = 0;
  std::string error;        // OAuth `error` ("" on success)
  std::string description;  // OAuth `error_description`
  Json body;
};

TokenAnswer read_answer(const http::HttpResponse& resp) {
  TokenAnswer a;
  a.status = resp.status;
  // Nested at most kMaxJsonDepth levels, as every answer read; anything else reads as no body.
  if (auto parsed = parse_json(resp.body)) a.body = std::move(parsed).value();
  if (a.body.is_object()) {
    if (a.body.contains("error") && a.body["error"].is_string()) a.error = a.body["error"].get<std::string>();
    if (a.body.contains("error_description") && a.body["error_description"].is_string())
      a.description = a.body["error_description"].get<std::string>();
  }
  if (resp.status != 200 && a.error.empty()) a.error = "HTTP " + std::to_string(resp.status);
  return a;
}

// The Error for a failed token request. Only the server's error and description are quoted:
// the request carried secrets (assertion, client secret, refresh token) and is never echoed.
Error token_error(const std::string& url, const TokenAnswer& a, const std::vector<std::string>& scopes) {
  std::string msg = "OAuth token request to " + url + " failed: " + a.error;
  if (!a.description.empty()) msg += ": " + a.description;
  if (a.error == "invalid_scope")
    msg += " (requested scopes: " + (scopes.empty() ? std::string("none") : join(scopes, " ")) +
           "; grant them to the app in Okta (Okta API Scopes) or remove them from the credential)";
  else if (a.error == "invalid_client")
    msg += " (check the client_id, and that the app's registered key and key_id match the credential's key)";
  ErrorKind kind = ErrorKind::auth;
  if (a.status == 429) kind = ErrorKind::rate_limited;
  else if (a.status >= 500) kind = ErrorKind::server;
  Error e = Error::make(kind, SecretScrubber::instance().scrub(std::move(msg)), a.error);
  e.http_status = static_cast<int>(a.status);
  return e;
}

Error transport_error(const std::string& url, Error e) {
  e.message = "OAuth token request to " + url + ": " + e.message;
  return e;
}

// ---------------------------------------------------------------------------------------------
// The token cache shared by the OAuth providers: renewal ahead of expiry, single-flight token
// requests, DPoP proofs and nonces, and the reaction to 401 / use_dpop_nonce answers.
class OAuthProvider : public AuthProvider {
 public:
  asio::awaitable<Result<Headers>> headers(const std::string& method, const std::string& url) override {
    auto token = co_await current_token();
    if (!token) co_return token.error();
    Headers h;
    if (token->dpop) {
      auto proof = dpop_proof(method, url, &token->value, api_nonce_);
      if (!proof) co_return proof.error();
      h.emplace_back("Authorization", "DPoP " + token->value);
      h.emplace_back("DPoP", std::move(proof).value());
    } else {
      h.emplace_back("Authorization", "Bearer " + token->value);
    }
    co_return h;
  }

  bool on_response(const http::HttpResponse& resp) override {
    const std::string* nonce = resp.header("DPoP-Nonce");
    const std::string* www = resp.header("WWW-Authenticate");
    // RFC 9449 §9: a resource server may hand out a new nonce with any answer.
    if (nonce && !nonce->empty()) api_nonce_ = *nonce;
    if ((resp.status == 401 || resp.status == 400) && www && icontains(*www, "use_dpop_nonce")) return nonce != nullptr;
    if (resp.status != 401) return false;
    // The token was refused (revoked, expired early, server restarted). Drop it so the retry
    // fetches a new one. Right after such a drop, 401s of requests that were already in flight
    // with the old token must not throw away the brand new token as well.
    const auto now = SteadyClock::now();
    const bool in_drop_wave = now - last_drop_ < std::chrono::seconds(5);
    if (token_ && !(in_drop_wave && now - token_->obtained < std::chrono::seconds(1))) {
      token_.reset();
      last_drop_ = now;
    }
    return true;
  }

  std::string granted_scopes() const override { return token_ ? token_->scope : std::string(); }
  int token_requests() const override { return token_requests_; }

 protected:
  struct Token {
    std::string value;
    bool dpop = false;
    std::string scope;
    std::optional<std::string> refresh_token;
    SteadyClock::time_point obtained, renew_at, expires_at;
  };

  OAuthProvider(Endpoint endpoint, std::vector<std::string> scopes, DpopMode dpop, bool dpop_first)
      : endpoint_(std::move(endpoint)), scopes_(std::move(scopes)), dpop_mode_(dpop) {
    use_dpop_ = dpop == DpopMode::on || (dpop == DpopMode::auto_ && dpop_first);
  }

  Result<Unit> init_dpop_key() {
    auto key = jose::PrivateKey::generate_p256();
    if (!key) return key.error();
    dpop_key_.emplace(std::move(key).value());
    return Unit{};
  }

  // The grant's own form fields (grant_type, client authentication, ...) for one attempt.
  virtual Result<Params> grant_form() = 0;
  // Called with a successful answer, before the token is cached (refresh token rotation).
  virtual void on_tokens(const Token&) {}

  const std::string& token_url() const { return endpoint_.token_url; }

 private:
  struct Round {
    explicit Round(const asio::any_io_executor& ex) : done_signal(ex, SteadyClock::time_point::max()) {}
    asio::steady_timer done_signal;  // cancelled when the token request finishes: wakes every waiter
    bool done = false;
    std::optional<Error> error;
  };

  // Ends a round however the fetching coroutine leaves (value, error or exception).
  struct RoundGuard {
    OAuthProvider* self;
    std::shared_ptr<Round> round;
    ~RoundGuard() {
      round->done = true;
      if (self->round_ == round) self->round_.reset();
      round->done_signal.cancel();
    }
  };

  static bool usable(const std::optional<Token>& t, SteadyClock::time_point now) { return t && now < t->expires_at; }

  asio::awaitable<Result<Token>> current_token() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      const auto now = SteadyClock::now();
      if (token_ && now < token_->renew_at) co_return *token_;
      if (round_) {
        // A renewal is in flight. A token that is due for renewal but not expired still works.
        if (usable(token_, now)) co_return *token_;
        auto round = round_;
        co_await round->done_signal.async_wait(asio::as_tuple(use_awaitable));
        if (!round->done)
          co_return Error::make(ErrorKind::cancelled, "cancelled while waiting for an OAuth token from " + token_url());
        if (round->error && round->error->kind != ErrorKind::cancelled) co_return *round->error;
        continue;  // a token is cached now (or the fetcher was cancelled: fetch ourselves)
      }
      auto round = std::make_shared<Round>(co_await asio::this_coro::executor);
      round_ = round;
      RoundGuard guard{this, round};
      ++token_requests_;
      auto fetched = co_await fetch();
      if (!fetched) {
        round->error = fetched.error();
        co_return fetched.error();
      }
      token_ = std::move(fetched).value();
      co_return *token_;
    }
    co_return Error::make(ErrorKind::auth, "no OAuth token could be obtained from " + token_url() +
                                                " (token requests kept being cancelled)");
  }

  Result<std::string> dpop_proof(const std::string& method, const std::string& url, const std::string* access_token,
                                 const std::string& nonce) const {
    Json header = {{"typ", "dpop+jwt"}, {"jwk", dpop_key_->public_jwk()}};
    Json claims = {{"htm", method}, {"htu", without_query(url)}, {"iat", epoch_now()}, {"jti", jose::random_id()}};
    if (!nonce.empty()) claims["nonce"] = nonce;
    if (access_token) claims["ath"] = jose::base64url_encode(jose::sha256(*access_token));
    return jose::sign_jws(*dpop_key_, std::move(header), claims);
  }

  // One token: the grant, the DPoP nonce challenge, and switching DPoP on or off when the
  // server says it needs it / refuses it (dpop: auto). At most a handful of requests.
  asio::awaitable<Result<Token>> fetch() {
    bool nonce_retried = false;
    bool dpop_switched = false;
    for (int attempt = 0; attempt < 4; ++attempt) {
      auto form = grant_form();
      if (!form) co_return form.error();
      if (!scopes_.empty()) form->emplace_back("scope", join(scopes_, " "));
      Headers extra;
      if (use_dpop_) {
        if (!dpop_key_) {
          auto made = init_dpop_key();
          if (!made) co_return made.error();
        }
        auto proof = dpop_proof("POST", token_url(), nullptr, token_nonce_);
        if (!proof) co_return proof.error();
        extra.emplace_back("DPoP", std::move(proof).value());
      }
      auto resp = co_await endpoint_.http->request(endpoint_.post(*form, std::move(extra)));
      if (!resp) co_return transport_error(token_url(), std::move(resp).error());
      if (const std::string* n = resp->header("DPoP-Nonce"); n && use_dpop_) token_nonce_ = *n;
      TokenAnswer answer = read_answer(*resp);
      if (resp->status == 200) {
        auto token = parse_token(answer);
        if (!token) co_return token.error();
        on_tokens(*token);
        co_return token;
      }
      if (use_dpop_ && answer.error == "use_dpop_nonce" && !nonce_retried && resp->header("DPoP-Nonce")) {
        nonce_retried = true;
        continue;
      }
      const bool proof_missing = answer.error == "invalid_dpop_proof" && icontains(answer.description, "missing");
      if (!use_dpop_ && proof_missing) {
        if (dpop_mode_ == DpopMode::off) {
          Error e = token_error(token_url(), answer, scopes_);
          e.message += " (the app requires DPoP; set `dpop: on` or `dpop: auto` on the credential)";
          co_return e;
        }
        if (!dpop_switched) {
          spdlog::info("OAuth token endpoint {} requires DPoP; using DPoP-bound tokens", token_url());
          use_dpop_ = dpop_switched = true;
          continue;
        }
      }
      // auto mode guessed DPoP but this server or app does not accept proofs: go without.
      if (use_dpop_ && dpop_mode_ == DpopMode::auto_ && !dpop_switched && !proof_missing &&
          (answer.error == "invalid_dpop_proof" || (answer.error == "invalid_request" && icontains(answer.description, "dpop")))) {
        spdlog::info("OAuth token endpoint {} refused a DPoP proof ({}); retrying without DPoP", token_url(),
                     answer.error);
        use_dpop_ = false;
        dpop_switched = true;
        continue;
      }
      co_return token_error(token_url(), answer, scopes_);
    }
    co_return auth_error("OAuth token request to " + token_url() + " failed: too many challenges from the server");
  }

  Result<Token> parse_token(const TokenAnswer& a) const {
    const Json& b = a.body;
    if (!b.is_object() || !b.contains("access_token") || !b["access_token"].is_string() ||
        b["access_token"].get<std::string>().empty())
      return auth_error("OAuth token request to " + token_url() + " answered 200 without an access_token");
    Token t;
    t.value = b["access_token"].get<std::string>();
    SecretScrubber::instance().add(t.value);
    std::string type = b.value("token_type", "Bearer");
    t.dpop = icontains(type, "dpop");
    if (t.dpop && !dpop_key_)
      return auth_error("OAuth token request to " + token_url() + " answered a DPoP token to a request without a proof");
    t.scope = b.contains("scope") && b["scope"].is_string() ? b["scope"].get<std::string>() : join(scopes_, " ");
    if (b.contains("refresh_token") && b["refresh_token"].is_string() && !b["refresh_token"].get<std::string>().empty()) {
      t.refresh_token = b["refresh_token"].get<std::string>();
      SecretScrubber::instance().add(*t.refresh_token);
    }
    double lifetime_s = 3600;
    if (b.contains("expires_in") && b["expires_in"].is_number() && b["expires_in"].get<double>() > 0)
      lifetime_s = b["expires_in"].get<double>();
    const auto lifetime = std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(lifetime_s));
    // Renew 60 s or 10% of the lifetime before expiry, whichever comes first; never earlier
    // than half-way, so short-lived tokens are still reused.
    auto margin = std::max<SteadyClock::duration>(std::chrono::seconds(60), lifetime / 10);
    margin = std::min<SteadyClock::duration>(margin, lifetime / 2);
    t.obtained = SteadyClock::now();
    t.expires_at = t.obtained + lifetime;
    t.renew_at = t.expires_at - margin;
    return t;
  }

  Endpoint endpoint_;
  std::vector<std::string> scopes_;
  DpopMode dpop_mode_;
  bool use_dpop_ = false;
  std::optional<jose::PrivateKey> dpop_key_;
  std::string token_nonce_;  // nonce of the authorization server
  std::string api_nonce_;    // nonce of the resource server (RFC 9449 keeps them apart)
  std::optional<Token> token_;
  std::shared_ptr<Round> round_;
  int token_requests_ = 0;
  SteadyClock::time_point last_drop_{};
};

// okta_oauth_service: client_credentials, authenticated by a private-key JWT (RFC 7523).
class ServiceProvider final : public OAuthProvider {
 public:
  ServiceProvider(Endpoint endpoint, const Credential& cred, jose::PrivateKey key)
      : OAuthProvider(std::move(endpoint), cred.scopes, cred.dpop, /*dpop_first=*/true),
        client_id_(cred.client_id),
        key_id_(cred.key_id),
        key_(std::move(key)) {}

  using OAuthProvider::init_dpop_key;

 protected:
  Result<Params> grant_form() override {
    Json header = {{"typ", "JWT"}};
    if (!key_id_.empty()) header["kid"] = key_id_;
    const auto iat = epoch_now();
    Json claims = {{"iss", client_id_},
                   {"sub", client_id_},
                   {"aud", token_url()},
                   {"iat", iat},
                   {"exp", iat + kAssertionLifetime.count()},
                   {"jti", jose::random_id()}};
    auto assertion = jose::sign_jws(key_, std::move(header), claims);
    if (!assertion) return assertion.error();
    return Params{{"grant_type", "client_credentials"},
                  {"client_assertion_type", kAssertionType},
                  {"client_assertion", std::move(assertion).value()}};
  }

 private:
  std::string client_id_;
  std::string key_id_;
  jose::PrivateKey key_;
};

// A refresh grant may narrow the scopes; keeping offline_access keeps the refresh token alive.
std::vector<std::string> with_offline_access(std::vector<std::string> scopes) {
  if (!scopes.empty() && std::find(scopes.begin(), scopes.end(), "offline_access") == scopes.end())
    scopes.push_back("offline_access");
  return scopes;
}

// okta_oauth_refresh: the refresh_token grant; a rotated refresh token is written back.
class RefreshProvider final : public OAuthProvider {
 public:
  RefreshProvider(Endpoint endpoint, const Credential& cred, std::optional<std::string> client_secret,
                  std::string refresh_token, SecretResolver secrets)
      : OAuthProvider(std::move(endpoint), with_offline_access(cred.scopes), cred.dpop, /*dpop_first=*/false),
        credential_name_(cred.name),
        client_id_(cred.client_id),
        client_secret_(std::move(client_secret)),
        refresh_ref_(*cred.refresh_token),
        refresh_token_(std::move(refresh_token)),
        secrets_(std::move(secrets)) {}

 protected:
  Result<Params> grant_form() override {
    Params p{{"grant_type", "refresh_token"}, {"client_id", client_id_}, {"refresh_token", refresh_token_}};
    if (client_secret_) p.emplace_back("client_secret", *client_secret_);
    return p;
  }

  void on_tokens(const Token& t) override {
    if (!t.refresh_token || *t.refresh_token == refresh_token_) return;
    refresh_token_ = *t.refresh_token;  // the old one stops working soon: use the new one from now on
    auto stored = secrets_.store(refresh_ref_, refresh_token_);
    if (!stored)
      spdlog::warn("credential '{}': the server rotated the refresh token but it could not be stored in {}: {}; "
                   "run `spokeflow auth login` again after a restart",
                   credential_name_, refresh_ref_.describe(), stored.error().message);
  }

 private:
  std::string credential_name_;
  std::string client_id_;
  std::optional<std::string> client_secret_;
  SecretRef refresh_ref_;
  std::string refresh_token_;
  SecretResolver secrets_;
};

// oauth_client_secret: client_credentials with client_secret_post.
class ClientSecretProvider final : public OAuthProvider {
 public:
  ClientSecretProvider(Endpoint endpoint, const Credential& cred, std::string secret)
      : OAuthProvider(std::move(endpoint), cred.scopes, cred.dpop, /*dpop_first=*/false),
        client_id_(cred.client_id),
        secret_(std::move(secret)) {}

 protected:
  Result<Params> grant_form() override {
    return Params{{"grant_type", "client_credentials"}, {"client_id", client_id_}, {"client_secret", secret_}};
  }

 private:
  std::string client_id_;
  std::string secret_;
};

Result<Unit> need_client_id(const Credential& cred) {
  if (cred.client_id.empty())
    return auth_error("credential '" + cred.name + "' (" + std::string(to_string(cred.type)) +
                      ") has no `client_id`; add the app's client ID to the connections file");
  return Unit{};
}

// ---------------------------------------------------------------------------------------------
// authorization_code_login: the loopback redirect listener.

struct LoginState {
  explicit LoginState(const asio::any_io_executor& ex)
      : acceptor(ex), finished(ex, SteadyClock::now() + kLoginTimeout) {}
  asio::ip::tcp::acceptor acceptor;
  asio::steady_timer finished;  // expiry = the login timeout; cancelled when the callback came
  std::string state;
  std::optional<Result<std::string>> outcome;  // the code, or the error the callback carried
  std::vector<std::weak_ptr<beast::tcp_stream>> streams;
};

std::string page(std::string_view title, std::string_view text) {
  return "<!doctype html><html><head><meta charset=\"utf-8\"><title>spokeflow</title></head><body><h1>" +
         std::string(title) + "</h1><p>" + std::string(text) + "</p></body></html>";
}

asio::awaitable<void> serve_callback(std::shared_ptr<beast::tcp_stream> stream, std::shared_ptr<LoginState> st) {
  namespace bhttp = beast::http;
  beast::flat_buffer buffer;
  bhttp::request<bhttp::string_body> req;
  stream->expires_after(std::chrono::seconds(30));
  auto [ec, n] = co_await bhttp::async_read(*stream, buffer, req, asio::as_tuple(use_awaitable));
  (void)n;
  if (ec) co_return;
  bhttp::response<bhttp::string_body> res;
  res.version(req.version());
  res.keep_alive(false);
  res.set(bhttp::field::content_type, "text/html; charset=utf-8");
  res.set(bhttp::field::cache_control, "no-store");
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  Params q = parse_params(target.find('?') == std::string_view::npos ? std::string_view{}
                                                                    : target.substr(target.find('?') + 1));
  const std::string* state = param(q, "state");
  if (req.method() != bhttp::verb::get || path != "/callback") {
    res.result(bhttp::status::not_found);
    res.body() = page("Not found", "This address only takes the sign-in redirect.");
  } else if (st->outcome) {
    res.result(bhttp::status::ok);
    res.body() = page("Already done", "The sign-in has already completed. You can close this window.");
  } else if (!state || *state != st->state) {
    // Not our redirect (stale tab, forged link): refuse it and keep waiting for the real one.
    res.result(bhttp::status::bad_request);
    res.body() = page("Sign-in refused", "The state parameter does not match this login. Start `spokeflow auth login` again.");
  } else if (const std::string* err = param(q, "error")) {
    const std::string* desc = param(q, "error_description");
    st->outcome = auth_error("authorization failed: " + *err + (desc ? ": " + *desc : std::string()));
    res.result(bhttp::status::ok);
    res.body() = page("Sign-in failed", "The authorization server answered an error. See the terminal.");
  } else if (const std::string* code = param(q, "code"); code && !code->empty()) {
    st->outcome = *code;
    res.result(bhttp::status::ok);
    res.body() = page("Signed in", "spokeflow received the authorization. You can close this window.");
  } else {
    res.result(bhttp::status::bad_request);
    res.body() = page("Sign-in refused", "The redirect carries no code.");
  }
  res.prepare_payload();
  co_await bhttp::async_write(*stream, res, asio::as_tuple(use_awaitable));
  beast::error_code ignored;
  stream->socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream->close();
  if (st->outcome) st->finished.cancel();
}

asio::awaitable<void> accept_loop(std::shared_ptr<LoginState> st) {
  for (;;) {
    auto [ec, socket] = co_await st->acceptor.async_accept(asio::as_tuple(use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !st->acceptor.is_open()) co_return;
      continue;  // a transient accept failure (e.g. EMFILE): keep listening
    }
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    st->streams.push_back(stream);
    asio::co_spawn(st->acceptor.get_executor(), serve_callback(stream, st), [](std::exception_ptr e) {
      if (e) spdlog::debug("auth login: a redirect connection ended with an exception");
    });
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<std::shared_ptr<AuthProvider>> make_auth_provider(const Connection& connection, const Credential& credential,
                                                         const SecretResolver& secrets,
                                                         std::shared_ptr<http::HttpClient> http) {
  switch (credential.type) {
    case CredentialType::okta_api_token:
    case CredentialType::bearer: {
      auto token = resolve_secret(credential, credential.token, "token", secrets);
      if (!token) return token.error();
      const char* scheme = credential.type == CredentialType::okta_api_token ? "SSWS " : "Bearer ";
      return std::shared_ptr<AuthProvider>(std::make_shared<StaticProvider>(scheme + *token));
    }
    case CredentialType::basic: {
      auto password = resolve_secret(credential, credential.password, "password", secrets);
      if (!password) return password.error();
      if (credential.username.find(':') != std::string::npos)
        return auth_error("credential '" + credential.name + "': a Basic username cannot contain ':'");
      return std::shared_ptr<AuthProvider>(
          std::make_shared<StaticProvider>("Basic " + jose::base64_encode(credential.username + ":" + *password)));
    }
    case CredentialType::okta_oauth_service: {
      if (auto ok = need_client_id(credential); !ok) return ok.error();
      auto text = resolve_secret(credential, credential.private_key, "private_key", secrets);
      if (!text) return text.error();
      auto key = jose::PrivateKey::load(*text, credential.private_key->describe());
      if (!key) {
        Error e = key.error();
        e.message = "credential '" + credential.name + "': " + e.message;
        return e;
      }
      if (credential.algorithm != "auto" && credential.algorithm != jose::to_string(key->algorithm()))
        return auth_error("credential '" + credential.name + "': `algorithm: " + credential.algorithm +
                          "` does not fit its key, which signs " + std::string(jose::to_string(key->algorithm())) +
                          "; set `algorithm: auto` or use a matching key");
      auto p = std::make_shared<ServiceProvider>(Endpoint::of(connection, credential, std::move(http)), credential,
                                                 std::move(key).value());
      if (credential.dpop != DpopMode::off)
        if (auto made = p->init_dpop_key(); !made) return made.error();
      return std::shared_ptr<AuthProvider>(p);
    }
    case CredentialType::okta_oauth_refresh: {
      if (auto ok = need_client_id(credential); !ok) return ok.error();
      std::optional<std::string> secret;
      if (credential.client_secret) {
        auto s = resolve_secret(credential, credential.client_secret, "client_secret", secrets);
        if (!s) return s.error();
        secret = std::move(s).value();
      }
      if (!credential.refresh_token)
        return auth_error("credential '" + credential.name + "' has no `refresh_token` reference; add one "
                          "(e.g. {secret: okta_refresh}) and run `spokeflow auth login`");
      auto refresh = secrets.resolve(*credential.refresh_token);
      if (!refresh || refresh->empty())
        return auth_error("credential '" + credential.name + "': no refresh token in " +
                          credential.refresh_token->describe() + (refresh ? "" : " (" + refresh.error().message + ")") +
                          "; run `spokeflow auth login` for this connection first");
      SecretScrubber::instance().add(*refresh);
      return std::shared_ptr<AuthProvider>(std::make_shared<RefreshProvider>(
          Endpoint::of(connection, credential, std::move(http)), credential, std::move(secret),
          std::move(refresh).value(), secrets));
    }
    case CredentialType::oauth_client_secret: {
      if (auto ok = need_client_id(credential); !ok) return ok.error();
      auto secret = resolve_secret(credential, credential.client_secret, "client_secret", secrets);
      if (!secret) return secret.error();
      return std::shared_ptr<AuthProvider>(std::make_shared<ClientSecretProvider>(
          Endpoint::of(connection, credential, std::move(http)), credential, std::move(secret).value()));
    }
  }
  return auth_error("credential '" + credential.name + "': unknown credential type");
}

boost::asio::awaitable<Result<std::string>> authorization_code_login(
    const Connection& connection, const Credential& credential, const SecretResolver& secrets,
    std::shared_ptr<http::HttpClient> http, std::function<void(const std::string& url)> show_url) {
  if (credential.type != CredentialType::okta_oauth_refresh)
    co_return auth_error("credential '" + credential.name + "' is " + std::string(to_string(credential.type)) +
                         "; `auth login` is for okta_oauth_refresh credentials");
  if (auto ok = need_client_id(credential); !ok) co_return ok.error();
  std::optional<std::string> secret;
  if (credential.client_secret) {
    auto s = resolve_secret(credential, credential.client_secret, "client_secret", secrets);
    if (!s) co_return s.error();
    secret = std::move(s).value();
  }

  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<LoginState>(ex);
  st->state = jose::random_id(24);
  const std::string verifier = jose::random_id(48);  // 64 characters, within PKCE's 43..128
  const std::string challenge = jose::base64url_encode(jose::sha256(verifier));

  boost::system::error_code ec;
  const asio::ip::tcp::endpoint where(asio::ip::make_address_v4("127.0.0.1"), credential.redirect_port);
  st->acceptor.open(where.protocol(), ec);
  if (!ec) st->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) st->acceptor.bind(where, ec);
  if (!ec) st->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    co_return auth_error("auth login: cannot listen on 127.0.0.1:" + std::to_string(credential.redirect_port) +
                         " for the redirect: " + ec.message() +
                         (credential.redirect_port ? "; free the port or change `redirect_port`" : ""));
  const auto port = st->acceptor.local_endpoint().port();
  const std::string redirect_uri = "http://127.0.0.1:" + std::to_string(port) + "/callback";

  std::vector<std::string> scopes = credential.scopes;
  if (std::find(scopes.begin(), scopes.end(), "offline_access") == scopes.end()) scopes.push_back("offline_access");
  const std::string authorize =
      credential.authorize_url.empty() ? connection.base_url + "/oauth2/v1/authorize" : credential.authorize_url;
  const Params query{{"response_type", "code"},       {"client_id", credential.client_id},
                     {"redirect_uri", redirect_uri},  {"scope", join(scopes, " ")},
                     {"state", st->state},            {"code_challenge", challenge},
                     {"code_challenge_method", "S256"}};
  const std::string url = authorize + (authorize.find('?') == std::string::npos ? "?" : "&") + encode_params(query);

  asio::co_spawn(ex, accept_loop(st), [](std::exception_ptr e) {
    if (e) spdlog::debug("auth login: the redirect listener ended with an exception");
  });
  show_url(url);
  co_await st->finished.async_wait(asio::as_tuple(use_awaitable));
  st->acceptor.close(ec);
  for (auto& w : st->streams)
    if (auto s = w.lock()) s->close();
  if (!st->outcome && SteadyClock::now() < st->finished.expiry())
    co_return Error::make(ErrorKind::cancelled, "auth login cancelled before the sign-in completed");
  if (!st->outcome)
    co_return auth_error("auth login: no sign-in arrived at " + redirect_uri + " within 5 minutes; run it again");
  if (!*st->outcome) co_return st->outcome->error();
  const std::string code = st->outcome->value();

  Endpoint endpoint = Endpoint::of(connection, credential, std::move(http));
  Params form{{"grant_type", "authorization_code"}, {"code", code},           {"redirect_uri", redirect_uri},
              {"code_verifier", verifier},          {"client_id", credential.client_id}};
  if (secret) form.emplace_back("client_secret", *secret);
  auto resp = co_await endpoint.http->request(endpoint.post(form));
  if (!resp) co_return transport_error(endpoint.token_url, std::move(resp).error());
  TokenAnswer answer = read_answer(*resp);
  if (resp->status != 200) co_return token_error(endpoint.token_url, answer, scopes);
  if (answer.body.contains("access_token") && answer.body["access_token"].is_string())
    SecretScrubber::instance().add(answer.body["access_token"].get<std::string>());
  if (!answer.body.contains("refresh_token") || !answer.body["refresh_token"].is_string() ||
      answer.body["refresh_token"].get<std::string>().empty())
    co_return auth_error("auth login: " + endpoint.token_url +
                         " issued no refresh token; allow the Refresh Token grant on the app and the offline_access scope");
  std::string refresh = answer.body["refresh_token"].get<std::string>();
  SecretScrubber::instance().add(refresh);
  co_return refresh;
}

}  // namespace spokeflow::connect
