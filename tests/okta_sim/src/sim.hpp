// okta-sim: the simulated org (state and request handling), independent of the network layer.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "util.hpp"

namespace oktasim {

class Filter;

using json = nlohmann::ordered_json;

struct Request {
  std::string method;  // upper case
  std::string target;  // raw request target (path and query)
  std::string path;    // raw path (not decoded)
  std::string query;   // raw query string (without '?')
  std::map<std::string, std::string, CaseLess> headers;
  std::string body;
  std::string base;  // http://127.0.0.1:PORT (from the listening port)

  const std::string* header(std::string_view name) const {
    auto it = headers.find(name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

struct Response {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Fault directives for the network layer.
  bool reset_connection = false;
  bool truncate_body = false;
  void set_json(const json& j) { body = j.dump(-1, ' ', false, json::error_handler_t::replace); }
};

struct FaultConfig {
  int latency_ms = 0;         // fixed added latency
  int latency_jitter_ms = 0;  // plus uniform random [0, jitter]
  double error_500_rate = 0;  // share of requests answered 500
  double error_503_rate = 0;  // share answered 503
  double reset_rate = 0;      // share where the connection is reset without an answer
  double truncate_rate = 0;   // share where the JSON body is cut short
};

struct LimitConfig {
  int window_seconds = 60;
  int concurrency = 75;
  std::map<std::string, int> buckets;  // bucket name -> requests per window
  int default_limit = 1200;
};

struct Config {
  LimitConfig limits;
  FaultConfig faults;
  int token_lifetime_seconds = 3600;
  std::size_t max_body_bytes = 1 << 20;
};

// Throws std::runtime_error with a clear message on unknown keys / bad types.
void apply_config_json(Config& cfg, const json& j, const std::string& where);
json config_to_json(const Config& cfg);
LimitConfig default_limits();

struct User {
  std::string id;
  std::uint64_t seq = 0;
  std::string status;
  std::optional<std::string> transitioning;
  std::string created, lastUpdated;
  std::optional<std::string> activated, statusChanged, lastLogin, passwordChanged;
  json profile = json::object();
  std::optional<std::string> password;  // plain value, the sim is not a vault
  bool password_hashed = false;
  std::optional<std::string> recovery_question, recovery_answer;
  std::string provider_type = "OKTA", provider_name = "OKTA";
  std::string type_id;
  // Serialized single-user answer, valid while the sim's generation is unchanged.
  mutable std::uint64_t cache_gen = 0;
  mutable std::string cache_body;
};

struct Group {
  std::string id;
  std::uint64_t seq = 0;
  std::string type = "OKTA_GROUP";
  std::string created, lastUpdated, lastMembershipUpdated;
  json profile = json::object();
  std::map<std::uint64_t, std::string> members;  // user seq -> user id
};

struct AppUser {
  std::string user_id;
  std::uint64_t seq = 0;
  std::string created, lastUpdated, statusChanged;
  std::string scope = "USER";
  json credentials = json::object();
  json profile = json::object();
};

struct AppGroup {
  std::string group_id;
  std::uint64_t seq = 0;
  std::string lastUpdated;
  int priority = 0;
  json profile = json::object();
};

struct App {
  std::string id;
  std::uint64_t seq = 0;
  json body = json::object();  // everything but id/status/dates/_links
  std::string status = "ACTIVE";
  std::string created, lastUpdated;
  std::string access_policy;
  std::map<std::uint64_t, AppUser> users;  // by user seq
  std::map<std::uint64_t, AppGroup> groups;  // by group seq
};

struct Factor {
  std::string id;
  std::uint64_t seq = 0;
  std::string user_id;
  json body;
  std::string status = "PENDING_ACTIVATION";
  std::string created, lastUpdated;
};

struct EventHook {
  std::string id;
  std::uint64_t seq = 0;
  std::string status = "ACTIVE";
  std::string verificationStatus = "UNVERIFIED";
  std::string name;
  std::string created, lastUpdated;
  json events;   // {type: EVENT_TYPE, items: [...]}
  json channel;  // {type, version, config: {uri, headers, authScheme}}
};

struct LogEvent {
  std::uint64_t seq = 0;
  std::string uuid, type, display, outcome, transaction;
  Clock::time_point published;
  std::vector<json> targets;
};

struct OAuthClient {
  std::string client_id;
  std::string public_key_pem;  // PEM of the registered public key (RSA or EC)
  json jwk;                    // or a JWK
  std::set<std::string> scopes;
  bool dpop = true;
  std::string refresh_token;  // a web app's refresh token accepted by grant_type=refresh_token
  std::string client_secret;  // a web app's secret (client_secret_post or Basic); "" = none
  std::vector<std::string> redirect_uris;  // loopback only; enables /oauth2/v1/authorize
  bool rotate_refresh_token = false;       // each refresh_token grant issues a new refresh token
};

// An authorization code from /oauth2/v1/authorize, redeemed once within 60 s.
struct AuthCode {
  std::string client_id, redirect_uri, code_challenge, user_id;
  std::set<std::string> scopes;
  std::int64_t expires_at = 0;
};

// A refresh token (seeded, or issued by the authorization_code / refresh_token grants).
struct RefreshGrant {
  std::string client_id;
  std::set<std::string> scopes;
  std::string user_id;
  std::int64_t expires_at = 0;  // 0 = no expiry; set to the grace period's end once rotated
};

struct IssuedToken {
  std::string client_id;
  std::set<std::string> scopes;
  std::int64_t expires_at = 0;
  std::optional<std::string> jkt;  // DPoP key thumbprint
  std::string user_id;             // the signed-in user (code / refresh grants); "" for client_credentials
};

struct RoleAssignment {
  std::string id, type, created, lastUpdated;
  std::vector<std::string> target_groups;
};

struct GroupRule {
  std::string id;
  std::uint64_t seq = 0;
  std::string status = "INACTIVE";
  std::string name, created, lastUpdated;
  json conditions = json::object();
  json actions = json::object();
  std::vector<std::pair<std::string, std::string>> added;  // (group id, user id) added by this rule
};

struct OutgoingHook {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct LogEntry {
  Clock::time_point time;
  std::string method;
  std::string target;
  unsigned status = 0;
  std::string request_body;
  std::string request_id;  // the X-Okta-Request-Id answered: how a client's record names the call
};

class Sim {
 public:
  Sim(Config cfg, std::string api_token);

  // Loads seed data (YAML or JSON text already parsed into json). Throws on bad input.
  void load_seed(const json& seed);
  // Restores the state the sim started with (the seed).
  void reset();

  // Handles one request. `inflight` is the number of requests being served now (this one included).
  Response handle(const Request& req, int inflight);

  // Decides a fault for this request before it is handled (latency in ms); called by the server.
  int pick_latency_ms();

  // Event hook deliveries waiting to be sent by the network layer.
  std::deque<OutgoingHook>& outbox() { return outbox_; }
  // Event hook verification: network layer performs the GET; see server.cpp.
  struct VerifyPlan {
    std::string hook_id, url, challenge;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  // If req is an event hook verify call for an existing hook, returns the plan (else nullopt).
  std::optional<VerifyPlan> verify_plan(const Request& req);
  Response verify_finish(const Request& req, const VerifyPlan& plan, bool ok);

  const Config& config() const { return cfg_; }
  // An Okta-shaped error answer with the common headers, for the network layer (413, 400 on bad HTTP).
  Response transport_error(unsigned status, const std::string& code, const std::string& summary,
                           const std::vector<std::string>& causes = {});

 private:
  // --- infrastructure
  Response dispatch(const Request& req, const std::vector<std::string>& seg, const Query& q);
  Response admin(const Request& req, const std::vector<std::string>& seg, const Query& q);
  std::string bucket_for(const std::string& method, const std::vector<std::string>& seg) const;
  bool auth_ok(const Request& req, const std::vector<std::string>& seg, Response& out);
  std::string required_scope(const std::string& method, const std::vector<std::string>& seg) const;

  // --- errors
  Response error(unsigned status, const std::string& code, const std::string& summary,
                 const std::vector<std::string>& causes = {});
  Response not_found(const std::string& what, const std::string& type);
  Response validation(const std::string& summary_arg, const std::vector<std::string>& causes);
  Response method_not_allowed();
  // Okta's 404 for a path no route answers, naming the path.
  Response no_such_path(const std::vector<std::string>& seg);

  // --- users
  Response users_collection(const Request& req, const Query& q);
  Response user_item(const Request& req, const std::vector<std::string>& seg, const Query& q);
  Response create_user(const Request& req, const Query& q);
  Response list_users(const Request& req, const Query& q);
  Response update_user(const Request& req, User& u, bool replace);
  Response user_lifecycle(const Request& req, User& u, const std::string& op, const Query& q);
  Response user_credentials(const Request& req, User& u, const std::string& op, const Query& q);
  Response user_factors(const Request& req, User& u, const std::vector<std::string>& seg);
  User* find_user(const std::string& id_or_login);
  json user_json(const User& u, bool with_links) const;
  bool validate_profile(const json& profile, std::vector<std::string>& causes, bool require_base) const;
  void set_status(User& u, const std::string& st);
  void delete_user(const std::string& id);
  std::vector<std::string> user_group_ids(const User& u) const;

  // --- groups
  Response groups_collection(const Request& req, const Query& q);
  Response group_item(const Request& req, const std::vector<std::string>& seg, const Query& q);
  json group_json(const Group& g) const;
  Group* find_group(const std::string& id);
  Group& create_group_internal(const json& profile, const std::string& type, const std::string& id = {});

  // --- apps
  Response apps_collection(const Request& req, const Query& q);
  Response app_item(const Request& req, const std::vector<std::string>& seg, const Query& q);
  json app_json(const App& a) const;
  json app_user_json(const App& a, const AppUser& au) const;
  json app_group_json(const App& a, const AppGroup& ag) const;
  App* find_app(const std::string& id);
  App& create_app_internal(json body, bool activate, const std::string& id = {});
  // /api/v1/internal/apps/{id}/settings/oauth/idToken: an OIDC app's ID token issuer settings.
  Response internal_api(const Request& req, const std::vector<std::string>& seg);

  // --- logs, hooks, schema, oauth
  Response logs(const Request& req, const Query& q);
  Response hooks_collection(const Request& req);
  Response hook_item(const Request& req, const std::vector<std::string>& seg);
  json hook_json(const EventHook& h) const;
  Response schema(const Request& req, const std::vector<std::string>& seg);
  json schema_json() const;
  Response oauth_token(const Request& req);
  Response oauth_authorize(const Request& req, const Query& q);
  Response oauth_revoke(const Request& req);
  // Client authentication at the OAuth endpoints: a private-key JWT (aud = the endpoint's URL)
  // or client_id + client_secret (form or Basic). Sets `client`; false with the error in `err`.
  bool oauth_client_auth(const Request& req, const Query& form, const std::string& path, const OAuthClient*& client,
                         Response& err);
  // Checks a client assertion; the client it names in `client`. Returns false with `err` set.
  bool check_client_assertion(const std::string& assertion, const std::string& form_client_id, const std::string& path,
                              const OAuthClient*& client, Response& err);
  void seed_refresh_tokens();
  // `me` in /api/v1/users/me: the API token's owner, or the user an OAuth token was issued for.
  User* me_user(const Request& req);
  bool verify_dpop_for_api(const Request& req, const IssuedToken& tok, const std::string& token, Response& out);
  Response sessions(const Request& req, const std::vector<std::string>& seg);
  Response org_factor(const Request& req, const std::vector<std::string>& seg);
  Response policies(const Request& req, const std::vector<std::string>& seg, const Query& q);
  json policy_json(const json& p) const;
  Response roles(const Request& req, const std::string& owner, bool group_owner, const std::vector<std::string>& seg,
                 std::size_t at);
  Response group_rules(const Request& req, const std::vector<std::string>& seg, const Query& q);
  json rule_json(const GroupRule& g) const;
  void apply_rule(GroupRule& rule, bool on);

  // --- events
  void emit(const std::string& type, const std::string& display, const std::vector<json>& targets,
            const std::string& outcome = "SUCCESS");
  json actor() const;
  json event_json(const LogEvent& e) const;

  // --- pagination
  struct Page {
    std::size_t limit = 200;
    std::optional<std::uint64_t> after_seq;
  };
  bool parse_page(const Query& q, std::size_t def_limit, std::size_t max_limit, Page& page, Response& err);
  void add_links(Response& r, const Request& req, const Query& q, const std::optional<std::string>& next_after,
                 std::size_t limit);
  // The `filter` / `search` parameter of a list call (the last one given wins). False with
  // a 400 E0000031 in `err` when it does not parse; `has_expr` says whether there was one.
  bool parse_filter(const Query& q, Filter& filter, bool& has_expr, Response& err);
  // One page of `items` (a map keyed by creation sequence) after the page's cursor. `pick`
  // turns an entry into a pointer, or null to leave it out. Returns the page and whether
  // more entries follow it.
  template <class Map, class Pick>
  static auto page_of(const Map& items, const Page& page, Pick pick) {
    using Ptr = decltype(pick(*items.begin()));
    std::vector<Ptr> out;
    for (auto it = page.after_seq ? items.upper_bound(*page.after_seq) : items.begin(); it != items.end(); ++it) {
      Ptr p = pick(*it);
      if (!p) continue;
      out.push_back(p);
      if (out.size() > page.limit) break;
    }
    const bool more = out.size() > page.limit;
    if (more) out.resize(page.limit);
    return std::pair<std::vector<Ptr>, bool>(std::move(out), more);
  }

  // --- rate limits
  struct BucketState {
    std::int64_t window_start = 0;
    int used = 0;
  };
  bool rate_check(const std::string& bucket, Response& headers_out);

  std::string href(const std::string& path) const { return base_ + path; }
  std::uint64_t next_seq() { return ++seq_; }
  std::string new_id(const std::string& prefix);

  Config cfg_;
  Config initial_cfg_;
  std::string api_token_;
  json seed_ = json::object();
  Random rng_;
  std::string base_;  // base URL of the current request (for links)

  std::uint64_t seq_ = 0;
  std::uint64_t gen_ = 1;  // bumped by every request that may change state
  std::unordered_map<std::string, std::uint64_t> seq_of_;  // every id ever issued -> seq
  std::unordered_map<std::string, User> users_;
  std::map<std::uint64_t, std::string> user_order_;
  std::unordered_map<std::string, std::string> login_index_;  // lower(login) -> id
  std::unordered_map<std::string, Group> groups_;
  std::map<std::uint64_t, std::string> group_order_;
  std::string everyone_id_;
  std::unordered_map<std::string, App> apps_;
  std::map<std::uint64_t, std::string> app_order_;
  std::unordered_map<std::string, Factor> factors_;
  std::unordered_map<std::string, EventHook> hooks_;
  std::map<std::uint64_t, std::string> hook_order_;
  std::deque<LogEvent> events_;
  std::map<std::string, std::vector<RoleAssignment>> roles_;  // user or group id -> roles
  std::unordered_map<std::string, GroupRule> rules_;
  std::map<std::uint64_t, std::string> rule_order_;
  json custom_schema_ = json::object();  // name -> property definition
  std::map<std::string, std::string> org_factors_;
  std::vector<json> policies_;  // built-in policies: {id, type, name, description, system, priority, created}  // factor id (okta_question, ...) -> ACTIVE/INACTIVE
  std::string admin_user_id_;
  std::string org_type_id_, org_schema_id_, org_id_;

  std::map<std::string, OAuthClient> clients_;
  std::unordered_map<std::string, IssuedToken> tokens_;
  std::set<std::string> used_jtis_;
  std::set<std::string> dpop_nonces_;
  std::set<std::string> dpop_jtis_;
  std::unordered_map<std::string, AuthCode> auth_codes_;
  std::unordered_map<std::string, RefreshGrant> refresh_tokens_;

  std::map<std::string, BucketState> buckets_;
  std::deque<LogEntry> request_log_;
  std::int64_t date_second_ = 0;
  std::string date_cache_;
  const std::string& date_header();
  std::deque<OutgoingHook> outbox_;
};

}  // namespace oktasim
