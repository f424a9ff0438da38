// okta-sim behaviour test: drives a fresh simulator through the behaviours the conformance replay does
// not reach (status machine errors, pagination, rate limits, faults, admin endpoints, bad input,
// event hooks, System Log, OAuth scopes and DPoP checks).
//
//   okta_sim_behaviour --sim PATH/okta-sim
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "client.hpp"
#include "jwt_helper.hpp"

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using oktasim_test::HttpClient;
using oktasim_test::HttpResult;
using oktasim_test::SimProcess;

namespace {

int failures = 0;
int checks = 0;

#define CHECK(cond, what)                                                         \
  do {                                                                            \
    ++checks;                                                                     \
    if (!(cond)) {                                                                \
      ++failures;                                                                 \
      std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, std::string(what).c_str()); \
    }                                                                             \
  } while (0)

const std::string kToken = "behaviour-token";
const std::vector<std::pair<std::string, std::string>> kAuth = {{"Authorization", "SSWS " + kToken},
                                                                 {"Accept", "application/json"},
                                                                 {"Content-Type", "application/json"}};

json body_of(const HttpResult& r) { return json::parse(r.body, nullptr, false); }
std::string code_of(const HttpResult& r) {
  const json j = body_of(r);
  return j.is_object() && j.contains("errorCode") ? j["errorCode"].get<std::string>() : "";
}
std::string show(const HttpResult& r) { return std::to_string(r.status) + " " + r.body.substr(0, 300); }

// A loopback HTTP endpoint for event hooks: answers the verification challenge and records deliveries.
struct HookReceiver {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor{ioc, {boost::asio::ip::make_address_v4("127.0.0.1"), 0}};
  std::thread thread;
  std::atomic<int> verifications{0};
  std::atomic<int> deliveries{0};
  std::atomic<bool> auth_seen{false};
  std::atomic<bool> stop{false};

  unsigned short port() const { return acceptor.local_endpoint().port(); }
  void start() {
    thread = std::thread([this] {
      namespace http = boost::beast::http;
      while (!stop) {
        boost::system::error_code ec;
        boost::asio::ip::tcp::socket sock(ioc);
        acceptor.accept(sock, ec);
        if (ec || stop) break;
        boost::beast::flat_buffer buf;
        http::request<http::string_body> req;
        http::read(sock, buf, req, ec);
        if (ec) continue;
        http::response<http::string_body> res{http::status::ok, 11};
        res.set(http::field::content_type, "application/json");
        if (req[http::field::authorization] == "secret-value") auth_seen = true;
        if (req.method() == http::verb::get) {
          ++verifications;
          res.body() = json{{"verification", std::string(req["X-Okta-Verification-Challenge"])}}.dump();
        } else {
          ++deliveries;
          res.body() = "{}";
        }
        res.prepare_payload();
        http::write(sock, res, ec);
      }
    });
  }
  ~HookReceiver() {
    stop = true;
    boost::system::error_code ec;
    // wake the accept with a connection
    boost::asio::ip::tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address_v4("127.0.0.1"), port()}, ec);
    if (thread.joinable()) thread.join();
  }
};

std::string new_user_body(const std::string& login, bool password) {
  json b = {{"profile", {{"login", login}, {"email", login}, {"firstName", "Test"}, {"lastName", "User"}}}};
  if (password) b["credentials"] = {{"password", {{"value", "Xyz-Passw0rd-9"}}}};
  return b.dump();
}

}  // namespace

int main(int argc, char** argv) {
  std::string sim_exe, examples;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--sim" && i + 1 < argc) sim_exe = argv[++i];
    else if (std::string(argv[i]) == "--examples" && i + 1 < argc) examples = argv[++i];
  }
  if (sim_exe.empty()) {
    std::cerr << "usage: okta_sim_behaviour --sim PATH\n";
    return 2;
  }

  auto rsa = oktasim_test::KeyPair::generate_rsa();
  auto ec = oktasim_test::KeyPair::generate_ec();
  auto other = oktasim_test::KeyPair::generate_ec();
  const std::string client_id = "0oabehaviour000000x7";
  const fs::path dir = fs::temp_directory_path() / ("okta_sim_behaviour_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    json seed = {{"schema", {{"custom", {{"employeeCode", {{"type", "string"}, {"title", "Employee code"}}}}}}},
                 {"groups", json::array({{{"name", "Engineering"}}})},
                 {"users", json::array({{{"login", "alice@example.com"}, {"firstName", "Alice"}, {"lastName", "Smith"},
                                         {"password", "Alice-Passw0rd"}, {"groups", {"Engineering"}},
                                         {"profile", {{"employeeCode", "E1"}}}}})},
                 {"apps", json::array({{{"label", "Wiki"}, {"url", "https://wiki.example.com"}, {"users", {"alice@example.com"}}}})},
                 {"oauth_clients", json::array({{{"client_id", client_id},
                                                 {"public_jwk", rsa.public_jwk()},
                                                 {"scopes", {"okta.users.read", "okta.groups.read"}},
                                                 {"dpop", true}},
                                                {{"client_id", "0oaweb00000000000x7"},
                                                 {"scopes", {"okta.users.read"}},
                                                 {"dpop", false},
                                                 {"refresh_token", "refresh-me"}}})}};
    std::ofstream(dir / "seed.json") << seed.dump(2);
    std::ofstream(dir / "bad.yaml") << "rate_limits:\n  window_seconds: 2\n  bogus: 1\n";
  }

  // A config with an unknown key is refused at start with a message naming the key.
  {
    bool refused = false;
    try {
      SimProcess bad(sim_exe, {"--port", "0", "--api-token", kToken, "--config", (dir / "bad.yaml").string()});
    } catch (const std::exception& e) {
      refused = true;
    }
    CHECK(refused, "a config with an unknown key must be refused");
  }

  // The shipped examples load and mean what they say.
  if (!examples.empty()) {
    SimProcess ex(sim_exe, {"--port", "0", "--api-token", kToken, "--seed", examples + "/seed.example.yaml", "--config",
                            examples + "/config.example.yaml"});
    HttpClient xc(ex.port());
    auto r = xc.request("GET", "/api/v1/users/alice@example.com", kAuth);
    CHECK(r.status == 200 && body_of(r)["profile"]["employeeCode"] == "E-001", "example seed user: " + show(r));
    r = xc.request("GET", "/api/v1/users?filter=status+eq+%22SUSPENDED%22", kAuth);
    CHECK(r.status == 200 && body_of(r).size() == 1, "example seed statuses: " + show(r));
    r = xc.request("GET", "/api/v1/groups?q=Eng", kAuth);
    CHECK(r.status == 200 && body_of(r).size() == 1 && r.header("X-Rate-Limit-Limit") == "500", "example groups + limits: " + show(r));
  }

  SimProcess sim(sim_exe, {"--port", "0", "--api-token", kToken, "--seed", (dir / "seed.json").string()});
  HttpClient c(sim.port());
  const std::string base = "http://127.0.0.1:" + std::to_string(sim.port());

  // --- auth, errors, headers
  {
    auto r = c.request("GET", "/api/v1/users", {{"Authorization", "SSWS wrong"}});
    CHECK(r.status == 401 && code_of(r) == "E0000011", "wrong token: " + show(r));
    const json j = body_of(r);
    CHECK(j.is_object() && j.contains("errorSummary") && j.contains("errorLink") && j.contains("errorCauses") &&
              j["errorId"].get<std::string>().rfind("oae", 0) == 0,
          "error body shape: " + r.body);
    CHECK(!r.header("Date").empty() && !r.header("X-Rate-Limit-Limit").empty() &&
              !r.header("X-Rate-Limit-Remaining").empty() && !r.header("X-Rate-Limit-Reset").empty(),
          "Date and X-Rate-Limit-* on every answer");
    r = c.request("GET", "/api/v1/nothing-here", kAuth);
    CHECK(r.status == 404 && code_of(r) == "E0000007", "unknown path: " + show(r));
    r = c.request("PATCH", "/api/v1/users", kAuth);
    CHECK(r.status == 405 && code_of(r) == "E0000022", "wrong method: " + show(r));
    r = c.request("POST", "/api/v1/users", kAuth, "{\"profile\": ");
    CHECK(r.status == 400 && code_of(r) == "E0000003", "malformed JSON: " + show(r));
    r = c.request("POST", "/api/v1/users", kAuth, std::string("{\"profile\":{\"login\":\"\xff\xfe\"}}"));
    CHECK(r.status == 400 && code_of(r) == "E0000003", "invalid UTF-8: " + show(r));
    r = c.request("POST", "/api/v1/users", kAuth, std::string(1100000, 'x'));
    CHECK(r.status == 413, "body over 1 MiB: " + show(r));
    r = c.request("GET", "/api/v1/users/..%2Fgroups", kAuth);
    CHECK(r.status == 404 && code_of(r) == "E0000007", "path trick ..%2F: " + show(r));
    r = c.request("GET", "/api/v1/users/abc%00def", kAuth);
    CHECK(r.status == 404 && !code_of(r).empty(), "path trick %00: " + show(r));
    r = c.request("GET", "/api/v1/users/00unotthere0000000x", kAuth);
    CHECK(r.status == 404 && body_of(r)["errorSummary"].get<std::string>().find("(User)") != std::string::npos,
          "E0000007 names User: " + show(r));
    r = c.request("GET", "/api/v1/groups/00gnotthere0000000x", kAuth);
    CHECK(r.status == 404 && body_of(r)["errorSummary"].get<std::string>().find("(UserGroup)") != std::string::npos,
          "E0000007 names UserGroup: " + show(r));
    r = c.request("GET", "/api/v1/apps/0oanotthere0000000x", kAuth);
    CHECK(r.status == 404 && body_of(r)["errorSummary"].get<std::string>().find("(AppInstance)") != std::string::npos,
          "E0000007 names AppInstance: " + show(r));
  }

  // --- users: create rules, lookups, profile validation
  std::string staged, active, provisioned;
  {
    auto r = c.request("POST", "/api/v1/users?activate=false", kAuth, new_user_body("staged@example.com", true));
    CHECK(r.status == 200 && body_of(r)["status"] == "STAGED", "activate=false -> STAGED: " + show(r));
    staged = body_of(r).value("id", "");
    CHECK(staged.rfind("00u", 0) == 0 && staged.size() == 20, "user id shape " + staged);
    r = c.request("POST", "/api/v1/users?activate=true", kAuth, new_user_body("active@example.com", true));
    CHECK(r.status == 200 && body_of(r)["status"] == "ACTIVE", "activate with password -> ACTIVE: " + show(r));
    active = body_of(r).value("id", "");
    r = c.request("POST", "/api/v1/users?activate=true", kAuth, new_user_body("prov@example.com", false));
    CHECK(r.status == 200 && body_of(r)["status"] == "PROVISIONED", "activate without password -> PROVISIONED: " + show(r));
    provisioned = body_of(r).value("id", "");
    r = c.request("POST", "/api/v1/users", kAuth, new_user_body("ACTIVE@example.com", true));
    CHECK(r.status == 400 && code_of(r) == "E0000001", "duplicate login: " + show(r));
    json bad = json::parse(new_user_body("x@example.com", false));
    bad["profile"]["notValid"] = "x";
    r = c.request("POST", "/api/v1/users", kAuth, bad.dump());
    CHECK(r.status == 400 && code_of(r) == "E0000001" && r.body.find("notValid") != std::string::npos,
          "unknown profile property: " + show(r));
    json custom = json::parse(new_user_body("custom@example.com", false));
    custom["profile"]["employeeCode"] = "E2";
    r = c.request("POST", "/api/v1/users", kAuth, custom.dump());
    CHECK(r.status == 200, "seeded custom property accepted: " + show(r));
    r = c.request("GET", "/api/v1/users/active@example.com", kAuth);
    CHECK(r.status == 200 && body_of(r)["id"] == active, "get by login: " + show(r));
    r = c.request("GET", "/api/v1/users/" + staged, kAuth);
    CHECK(body_of(r)["_links"].contains("activate") && !body_of(r)["_links"].contains("suspend"),
          "STAGED links: " + r.body.substr(0, 200));
    r = c.request("GET", "/api/v1/users/" + active, kAuth);
    CHECK(body_of(r)["_links"].contains("suspend") && body_of(r)["_links"].contains("deactivate"), "ACTIVE links");
    // groupIds at create
    r = c.request("GET", "/api/v1/groups?q=Engineering", kAuth);
    const std::string eng = body_of(r)[0].value("id", "");
    json g = json::parse(new_user_body("grouped@example.com", true));
    g["groupIds"] = {eng};
    r = c.request("POST", "/api/v1/users", kAuth, g.dump());
    const std::string grouped = body_of(r).value("id", "");
    r = c.request("GET", "/api/v1/users/" + grouped + "/groups", kAuth);
    CHECK(r.status == 200 && body_of(r).size() == 2, "groupIds + Everyone: " + show(r));
    // partial update keeps other properties; replace removes them
    r = c.request("POST", "/api/v1/users/" + active, kAuth, R"({"profile":{"nickName":"Acty"}})");
    CHECK(r.status == 200 && body_of(r)["profile"]["nickName"] == "Acty" && body_of(r)["profile"]["firstName"] == "Test",
          "partial update: " + show(r));
    r = c.request("PUT", "/api/v1/users/" + active, kAuth, new_user_body("active@example.com", false));
    CHECK(r.status == 200 && !body_of(r)["profile"].contains("nickName"), "replace removes: " + show(r));
  }

  // --- status machine
  {
    auto lc = [&](const std::string& id, const std::string& op, const std::string& q = "") {
      return c.request("POST", "/api/v1/users/" + id + "/lifecycle/" + op + q, kAuth);
    };
    auto r = lc(active, "activate");
    CHECK(r.status == 403 && code_of(r) == "E0000016", "activate ACTIVE: " + show(r));
    r = lc(staged, "reactivate");
    CHECK(r.status == 403 && code_of(r) == "E0000038", "reactivate STAGED: " + show(r));
    r = lc(active, "unlock");
    CHECK(r.status == 403 && code_of(r) == "E0000032" && r.body.find("not locked out") != std::string::npos,
          "unlock not locked: " + show(r));
    r = lc(staged, "suspend");
    CHECK(r.status == 400 && code_of(r) == "E0000001", "suspend STAGED: " + show(r));
    r = lc(active, "unsuspend");
    CHECK(r.status == 400 && code_of(r) == "E0000001", "unsuspend ACTIVE: " + show(r));
    r = lc(staged, "activate", "?sendEmail=false");
    CHECK(r.status == 200 && body_of(r).contains("activationUrl") && body_of(r).contains("activationToken"),
          "activate sendEmail=false: " + show(r));
    r = lc(provisioned, "reactivate", "?sendEmail=false");
    CHECK(r.status == 200 && body_of(r).contains("activationToken"), "reactivate PROVISIONED: " + show(r));
    // sendEmail defaults to false for reactivate (Okta's spec), unlike activate: the link comes back.
    r = lc(provisioned, "reactivate");
    CHECK(r.status == 200 && body_of(r).contains("activationUrl") && body_of(r).contains("activationToken"),
          "reactivate without sendEmail: " + show(r));
    r = lc(active, "suspend");
    CHECK(r.status == 200 && r.body == "{}", "suspend: " + show(r));
    r = c.request("GET", "/api/v1/users?filter=status+eq+%22SUSPENDED%22", kAuth);
    CHECK(r.status == 200 && body_of(r).size() == 1, "filter SUSPENDED: " + show(r));
    r = lc(active, "unsuspend");
    CHECK(r.status == 200, "unsuspend: " + show(r));
    r = c.request("POST", "/__sim/users/" + active + "/lock");
    CHECK(r.status == 200 && body_of(r)["status"] == "LOCKED_OUT", "admin lock: " + show(r));
    r = lc(active, "unlock");
    CHECK(r.status == 200, "unlock LOCKED_OUT: " + show(r));
    r = lc(active, "expire_password");
    CHECK(r.status == 200 && body_of(r)["status"] == "PASSWORD_EXPIRED", "expire_password: " + show(r));
    r = lc(active, "expire_password_with_temp_password");
    CHECK(r.status == 200 && body_of(r).contains("tempPassword"), "temp password: " + show(r));
    r = lc(active, "reset_password", "?sendEmail=false");
    CHECK(r.status == 200 && body_of(r).contains("resetPasswordUrl"), "reset_password: " + show(r));
    r = c.request("GET", "/api/v1/users/" + active, kAuth);
    CHECK(body_of(r)["status"] == "RECOVERY", "RECOVERY after reset_password: " + show(r));
    r = lc(active, "reset_factors");
    CHECK(r.status == 200 && r.body == "{}", "reset_factors: " + show(r));
    r = c.request("DELETE", "/api/v1/users/" + provisioned, kAuth);
    CHECK(r.status == 204, "first DELETE deactivates: " + show(r));
    r = c.request("GET", "/api/v1/users/" + provisioned, kAuth);
    CHECK(body_of(r)["status"] == "DEPROVISIONED", "DEPROVISIONED after first delete");
    r = c.request("DELETE", "/api/v1/users/" + provisioned, kAuth);
    CHECK(r.status == 204, "second DELETE removes: " + show(r));
    r = c.request("GET", "/api/v1/users/" + provisioned, kAuth);
    CHECK(r.status == 404 && code_of(r) == "E0000007", "gone: " + show(r));
    r = c.request("DELETE", "/api/v1/users/" + active + "/sessions", kAuth);
    CHECK(r.status == 204, "sessions delete: " + show(r));
    r = c.request("GET", "/api/v1/users/" + active + "/factors", kAuth);
    CHECK(r.status == 200 && body_of(r).is_array(), "factors list: " + show(r));
    r = c.request("GET", "/api/v1/users/alice@example.com/appLinks", kAuth);
    CHECK(r.status == 200 && body_of(r).size() == 1, "app links: " + show(r));
  }

  // --- pagination
  {
    for (int i = 0; i < 5; ++i)
      c.request("POST", "/api/v1/users", kAuth, new_user_body("page" + std::to_string(i) + "@example.com", true));
    std::string target = "/api/v1/users?limit=2";
    int pages = 0, seen = 0;
    while (!target.empty() && pages < 50) {
      auto r = c.request("GET", target, kAuth);
      ++pages;
      seen += static_cast<int>(body_of(r).size());
      const auto links = r.headers_named("Link");
      CHECK(!links.empty() && links[0].find("rel=\"self\"") != std::string::npos, "self link first");
      target.clear();
      for (const auto& l : links)
        if (l.find("rel=\"next\"") != std::string::npos) {
          const auto s = l.find('<'), e = l.find('>');
          target = l.substr(s + 1, e - s - 1).substr(base.size());
        }
    }
    auto all = c.request("GET", "/api/v1/users", kAuth);
    CHECK(seen == static_cast<int>(body_of(all).size()) && pages >= 3,
          "paging visits every user once (" + std::to_string(seen) + " vs " + std::to_string(body_of(all).size()) + ")");
    auto r = c.request("GET", "/api/v1/users?after=bogus", kAuth);
    CHECK(r.status == 400 && code_of(r) == "E0000029", "invalid cursor: " + show(r));
    r = c.request("GET", "/api/v1/users?search=profile.lastName+eq+%22Smith%22+and+status+eq+%22ACTIVE%22", kAuth);
    CHECK(r.status == 200 && body_of(r).size() == 1, "search: " + show(r));
    r = c.request("GET", "/api/v1/users?search=profile.lastName+eq", kAuth);
    CHECK(r.status == 400 && code_of(r) == "E0000031", "bad search: " + show(r));
    r = c.request("GET", "/api/v1/users?q=ali", kAuth);
    CHECK(r.status == 200 && body_of(r).size() == 1, "q: " + show(r));
  }

  // --- groups and apps
  {
    auto r = c.request("POST", "/api/v1/groups", kAuth, R"({"profile":{"name":"Ops","description":"d"}})");
    CHECK(r.status == 200 && body_of(r)["type"] == "OKTA_GROUP", "group create: " + show(r));
    const std::string gid = body_of(r).value("id", "");
    r = c.request("PUT", "/api/v1/groups/" + gid + "/users/" + staged, kAuth);
    CHECK(r.status == 204 && r.body.empty(), "member add 204: " + show(r));
    r = c.request("GET", "/api/v1/groups/" + gid + "/users", kAuth);
    CHECK(r.status == 200 && body_of(r).size() == 1, "members: " + show(r));
    r = c.request("DELETE", "/api/v1/groups/" + gid + "/users/" + staged, kAuth);
    CHECK(r.status == 204, "member remove: " + show(r));
    r = c.request("POST", "/api/v1/apps", kAuth,
                  R"({"name":"template_basic_auth","label":"Basic","signOnMode":"BASIC_AUTH","settings":{"app":{"url":"https://b.example.com/login","authURL":"https://b.example.com/auth"}}})");
    CHECK(r.status == 200 && body_of(r)["status"] == "ACTIVE", "basic auth app: " + show(r));
    const std::string aid = body_of(r).value("id", "");
    r = c.request("PUT", "/api/v1/apps/" + aid + "/groups/" + gid, kAuth, "{}");
    CHECK(r.status == 200 && body_of(r)["id"] == gid, "app group assign 200 with body: " + show(r));
    r = c.request("GET", "/api/v1/apps?filter=group.id+eq+%22" + gid + "%22", kAuth);
    CHECK(r.status == 200 && body_of(r).size() == 1, "apps by group filter: " + show(r));
    r = c.request("DELETE", "/api/v1/apps/" + aid, kAuth);
    CHECK(r.status == 403 && code_of(r) == "E0000056", "delete active app: " + show(r));
    c.request("POST", "/api/v1/apps/" + aid + "/lifecycle/deactivate", kAuth);
    r = c.request("DELETE", "/api/v1/apps/" + aid, kAuth);
    CHECK(r.status == 204, "delete inactive app: " + show(r));
    // The internal ID token settings of an OIDC app (as the Terraform provider uses them).
    r = c.request("POST", "/api/v1/apps?activate=true", kAuth,
                  R"({"name":"oidc_client","label":"Oidc","signOnMode":"OPENID_CONNECT","settings":{"oauthClient":{"application_type":"web","redirect_uris":["http://127.0.0.1:1/cb"]}}})");
    CHECK(r.status == 200, "oidc app: " + show(r));
    const std::string oidc = body_of(r).value("id", "");
    const std::string id_token = "/api/v1/internal/apps/" + oidc + "/settings/oauth/idToken";
    r = c.request("POST", id_token, kAuth, R"({"issuerMode":"DYNAMIC"})");
    CHECK(r.status == 200 && body_of(r)["issuerMode"] == "DYNAMIC" && body_of(r)["issuer"].is_null() &&
              body_of(r)["audience"].is_null(),
          "idToken POST: " + show(r));
    r = c.request("GET", id_token, kAuth);
    CHECK(r.status == 200 && body_of(r)["issuerMode"] == "DYNAMIC" && body_of(r)["audience"] == oidc &&
              body_of(r)["issuer"] == "http://127.0.0.1:" + std::to_string(sim.port()) && body_of(r)["orgUrl"].is_null(),
          "idToken GET: " + show(r));
    r = c.request("GET", "/api/v1/apps/" + oidc, kAuth);
    CHECK(body_of(r)["settings"]["oauthClient"]["issuer_mode"] == "DYNAMIC", "issuer_mode on the app: " + show(r));
    r = c.request("POST", id_token, kAuth, R"({"issuerMode":"NOPE"})");
    CHECK(r.status == 400 && code_of(r) == "E0000001", "idToken bad mode: " + show(r));
    r = c.request("POST", id_token, kAuth, "{");
    CHECK(r.status == 400 && code_of(r) == "E0000003", "idToken malformed: " + show(r));
    r = c.request("DELETE", id_token, kAuth);
    CHECK(r.status == 405 && code_of(r) == "E0000022", "idToken DELETE: " + show(r));
    r = c.request("GET", "/api/v1/internal/apps/0oanotthere0000000x/settings/oauth/idToken", kAuth);
    CHECK(r.status == 404 && code_of(r) == "E0000007", "idToken unknown app: " + show(r));
    r = c.request("GET", "/api/v1/meta/schemas/user/default", kAuth);
    CHECK(r.status == 200 && body_of(r)["definitions"]["custom"]["properties"].contains("employeeCode"),
          "schema custom property from seed: " + show(r));
  }

  // --- System Log
  {
    auto r = c.request("GET", "/api/v1/logs?filter=eventType+eq+%22user.lifecycle.suspend%22", kAuth);
    CHECK(r.status == 200 && body_of(r).size() == 1, "logs filter: " + show(r));
    r = c.request("GET", "/api/v1/logs?q=group.user_membership.add&limit=1", kAuth);
    CHECK(r.status == 200 && body_of(r).size() == 1, "logs q + limit: " + show(r));
    r = c.request("GET", "/api/v1/logs?since=not-a-date", kAuth);
    CHECK(r.status == 400, "logs since invalid: " + show(r));
    // target is a list: target.id / target.alternateId match an event when any of its targets
    // does (Okta documents both filters; okta.list_logs names them).
    r = c.request("GET", "/api/v1/logs?filter=eventType+eq+%22user.lifecycle.suspend%22", kAuth);
    const json suspended = body_of(r).is_array() && !body_of(r).empty() ? body_of(r)[0] : json::object();
    const json first_target = suspended.value("target", json::array()).empty() ? json::object() : suspended["target"][0];
    const std::string target_id = first_target.value("id", ""), target_alt = first_target.value("alternateId", "");
    CHECK(!target_id.empty() && !target_alt.empty(), "the suspend event has a target: " + show(r));
    auto has_target = [](const json& events, const std::string& field, const std::string& value) {
      if (!events.is_array() || events.empty()) return false;
      for (const auto& e : events) {
        bool found = false;
        for (const auto& t : e.value("target", json::array())) found = found || t.value(field, "") == value;
        if (!found) return false;
      }
      return true;
    };
    auto encode = [](const std::string& v) {
      std::string out;
      for (char ch : v) out += ch == '@' ? std::string("%40") : ch == '+' ? std::string("%2B") : std::string(1, ch);
      return out;
    };
    r = c.request("GET", "/api/v1/logs?filter=target.id+eq+%22" + target_id + "%22", kAuth);
    CHECK(r.status == 200 && has_target(body_of(r), "id", target_id), "logs filter target.id: " + show(r));
    r = c.request("GET", "/api/v1/logs?filter=target.alternateId+eq+%22" + encode(target_alt) + "%22", kAuth);
    CHECK(r.status == 200 && has_target(body_of(r), "alternateId", target_alt), "logs filter target.alternateId: " + show(r));
    r = c.request("GET", "/api/v1/logs?filter=eventType+eq+%22user.lifecycle.suspend%22+and+target.id+eq+%22" + target_id +
                             "%22", kAuth);
    CHECK(r.status == 200 && body_of(r).size() == 1 && body_of(r)[0]["uuid"] == suspended["uuid"],
          "logs filter eventType and target.id: " + show(r));
    r = c.request("GET", "/api/v1/logs?filter=target.id+eq+%2200unobody000000000x%22", kAuth);
    CHECK(r.status == 200 && body_of(r).is_array() && body_of(r).empty(), "logs filter target.id of nobody: " + show(r));
  }

  // --- event hooks: verify with a real loopback GET, then deliveries
  {
    HookReceiver rx;
    rx.start();
    json hook = {{"name", "h"},
                 {"events", {{"type", "EVENT_TYPE"}, {"items", {"user.lifecycle.create"}}}},
                 {"channel", {{"type", "HTTP"}, {"version", "1.0.0"},
                              {"config", {{"uri", "http://127.0.0.1:" + std::to_string(rx.port()) + "/hook"},
                                          {"authScheme", {{"type", "HEADER"}, {"key", "Authorization"}, {"value", "secret-value"}}}}}}}};
    auto r = c.request("POST", "/api/v1/eventHooks", kAuth, hook.dump());
    CHECK(r.status == 200 && r.body.find("secret-value") == std::string::npos, "hook create hides secret: " + show(r));
    const std::string hid = body_of(r).value("id", "");
    r = c.request("POST", "/api/v1/eventHooks/" + hid + "/lifecycle/verify", kAuth);
    CHECK(r.status == 200 && body_of(r)["verificationStatus"] == "VERIFIED", "verify: " + show(r));
    CHECK(rx.verifications == 1, "one verification GET");
    c.request("POST", "/api/v1/users", kAuth, new_user_body("hooked@example.com", true));
    for (int i = 0; i < 100 && rx.deliveries == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(rx.deliveries >= 1 && rx.auth_seen, "delivery with the auth header");
    json remote = hook;
    remote["channel"]["config"]["uri"] = "https://example.com/hook";
    r = c.request("POST", "/api/v1/eventHooks", kAuth, remote.dump());
    const std::string rid = body_of(r).value("id", "");
    r = c.request("POST", "/api/v1/eventHooks/" + rid + "/lifecycle/verify", kAuth);
    CHECK(r.status == 400, "verify of a non-loopback hook fails without contacting it: " + show(r));
  }

  // --- OAuth: private-key JWT, DPoP nonce, scopes, proofs
  {
    auto assertion = [&](const std::string& jti) {
      return oktasim_test::sign_jwt(rsa, {{"alg", "RS256"}, {"typ", "JWT"}},
                                    {{"iss", client_id}, {"sub", client_id}, {"aud", base + "/oauth2/v1/token"},
                                     {"iat", oktasim_test::now_s()}, {"exp", oktasim_test::now_s() + 300}, {"jti", jti}});
    };
    auto form = [&](const std::string& a, const std::string& scope) {
      return "grant_type=client_credentials&scope=" + scope +
             "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=" + a;
    };
    const std::vector<std::pair<std::string, std::string>> fh = {{"Content-Type", "application/x-www-form-urlencoded"}};
    auto with = [&](std::vector<std::pair<std::string, std::string>> h, const std::string& k, const std::string& v) {
      h.emplace_back(k, v);
      return h;
    };
    const std::string tok_url = base + "/oauth2/v1/token";
    auto r = c.request("POST", "/oauth2/v1/token", fh, form(assertion("j1"), "okta.users.read"));
    CHECK(r.status == 400 && body_of(r)["error"] == "invalid_dpop_proof", "no DPoP header: " + show(r));
    r = c.request("POST", "/oauth2/v1/token", with(fh, "DPoP", oktasim_test::dpop_proof(ec, "POST", tok_url, "", "")),
                  form(assertion("j2"), "okta.users.read"));
    const std::string nonce = r.header("DPoP-Nonce");
    CHECK(r.status == 400 && body_of(r)["error"] == "use_dpop_nonce" && !nonce.empty(), "nonce challenge: " + show(r));
    r = c.request("POST", "/oauth2/v1/token", with(fh, "DPoP", oktasim_test::dpop_proof(ec, "POST", tok_url, nonce, "")),
                  form(assertion("j3"), "okta.users.read"));
    CHECK(r.status == 200 && body_of(r)["token_type"] == "DPoP" && body_of(r)["expires_in"] == 3600, "DPoP token: " + show(r));
    const std::string at = body_of(r).value("access_token", "");
    r = c.request("POST", "/oauth2/v1/token", with(fh, "DPoP", oktasim_test::dpop_proof(ec, "POST", tok_url, nonce, "")),
                  form(assertion("j3"), "okta.users.read"));
    CHECK(r.status == 401 && body_of(r)["error"] == "invalid_client", "replayed jti: " + show(r));
    auto bad_sig = assertion("j4");
    {
      const std::size_t mid = bad_sig.rfind('.') + 20;  // a character inside the signature
      bad_sig[mid] = bad_sig[mid] == 'A' ? 'B' : 'A';
    }
    r = c.request("POST", "/oauth2/v1/token", with(fh, "DPoP", oktasim_test::dpop_proof(ec, "POST", tok_url, nonce, "")),
                  form(bad_sig, "okta.users.read"));
    CHECK(r.status == 401, "bad signature: " + show(r));
    r = c.request("POST", "/oauth2/v1/token", with(fh, "DPoP", oktasim_test::dpop_proof(ec, "POST", tok_url, nonce, "")),
                  form(assertion("j5"), "okta.apps.manage"));
    CHECK(r.status == 400 && body_of(r)["error"] == "invalid_scope", "scope not granted to client: " + show(r));

    auto api = [&](const std::string& method, const std::string& path, const oktasim_test::KeyPair& key,
                   const std::string& token) {
      return c.request(method, path,
                       {{"Authorization", "DPoP " + token},
                        {"DPoP", oktasim_test::dpop_proof(key, method, base + path.substr(0, path.find('?')), "", token)}});
    };
    r = api("GET", "/api/v1/users?limit=1", ec, at);
    CHECK(r.status == 200, "DPoP API call: " + show(r));
    r = api("GET", "/api/v1/users?limit=1", other, at);
    CHECK(r.status != 200, "proof from another key refused: " + show(r));
    r = c.request("GET", "/api/v1/users", {{"Authorization", "DPoP " + at},
                                           {"DPoP", oktasim_test::dpop_proof(ec, "GET", base + "/api/v1/users", "", "other-token")}});
    CHECK(r.status != 200, "ath mismatch refused: " + show(r));
    r = api("POST", "/api/v1/groups", ec, at);
    CHECK(r.status == 403 && r.header("WWW-Authenticate").find("insufficient_scope") != std::string::npos,
          "insufficient scope: " + show(r));
    r = c.request("POST", "/oauth2/v1/token", fh, "grant_type=refresh_token&client_id=0oaweb00000000000x7&refresh_token=refresh-me");
    CHECK(r.status == 200 && body_of(r)["token_type"] == "Bearer", "refresh_token grant: " + show(r));
    const std::string bearer = body_of(r).value("access_token", "");
    r = c.request("GET", "/api/v1/users?limit=1", {{"Authorization", "Bearer " + bearer}});
    CHECK(r.status == 200, "Bearer API call: " + show(r));
  }

  // --- rate limits with a 2 s window, concurrency answer shape, faults at runtime
  {
    auto r = c.request("PUT", "/__sim/config", {{"Content-Type", "application/json"}},
                       R"({"rate_limits":{"window_seconds":2,"buckets":{"groups":3}}})");
    CHECK(r.status == 200, "runtime config: " + show(r));
    r = c.request("PUT", "/__sim/config", {}, R"({"rate_limits":{"nope":1}})");
    CHECK(r.status == 400 && r.body.find("nope") != std::string::npos, "unknown config key at runtime: " + show(r));
    int ok = 0, limited = 0;
    HttpResult last;
    for (int i = 0; i < 5; ++i) {
      last = c.request("GET", "/api/v1/groups", kAuth);
      if (last.status == 200) ++ok;
      if (last.status == 429) {
        ++limited;
        CHECK(code_of(last) == "E0000047" && last.header("X-Rate-Limit-Remaining") == "0", "429 shape: " + show(last));
      }
    }
    CHECK(ok == 3 && limited == 2, "3 allowed then 429 (" + std::to_string(ok) + "/" + std::to_string(limited) + ")");
    const long long reset = std::stoll(last.header("X-Rate-Limit-Reset"));
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    r = c.request("GET", "/api/v1/groups", kAuth);
    CHECK(r.status == 200 && std::stoll(r.header("X-Rate-Limit-Reset")) > reset, "new window after reset: " + show(r));

    c.request("PUT", "/__sim/config", {}, R"({"faults":{"error_500_rate":1.0}})");
    r = c.request("GET", "/api/v1/groups", kAuth);
    CHECK(r.status == 500 && code_of(r) == "E0000009", "500 fault: " + show(r));
    c.request("PUT", "/__sim/config", {}, R"({"faults":{"error_500_rate":0,"error_503_rate":1.0}})");
    r = c.request("GET", "/api/v1/users", kAuth);
    CHECK(r.status == 503, "503 fault: " + show(r));
    c.request("PUT", "/__sim/config", {}, R"({"faults":{"error_503_rate":0,"reset_rate":1.0}})");
    r = c.request("GET", "/api/v1/users", kAuth);
    CHECK(r.status == 0, "connection reset fault");
    c.request("PUT", "/__sim/config", {}, R"({"faults":{"reset_rate":0,"truncate_rate":1.0}})");
    r = c.request("GET", "/api/v1/users", kAuth);
    CHECK(r.status == 200 && body_of(r).is_discarded(), "truncated body fault: " + show(r));
    c.request("PUT", "/__sim/config", {}, R"({"faults":{"truncate_rate":0,"latency_ms":150}})");
    const auto t0 = std::chrono::steady_clock::now();
    r = c.request("GET", "/api/v1/users?limit=1", kAuth);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    CHECK(r.status == 200 && ms >= 140, "latency fault (" + std::to_string(ms) + " ms)");
    c.request("PUT", "/__sim/config", {}, R"({"faults":{"latency_ms":0},"rate_limits":{"concurrency":1}})");
    // concurrency: two requests in flight at once (with latency) -> one 429 with Limit 0
    c.request("PUT", "/__sim/config", {}, R"({"faults":{"latency_ms":300}})");
    HttpResult a, b;
    std::thread t1([&] {
      HttpClient c1(sim.port());
      a = c1.request("GET", "/api/v1/users?limit=1", kAuth);
    });
    std::thread t2([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      HttpClient c2(sim.port());
      b = c2.request("GET", "/api/v1/users?limit=1", kAuth);
    });
    t1.join();
    t2.join();
    const bool one_limited = (a.status == 429) != (b.status == 429);
    const HttpResult& lim = a.status == 429 ? a : b;
    CHECK(one_limited && lim.header("X-Rate-Limit-Limit") == "0", "concurrency cap 429 with Limit 0: " + show(a) + " / " + show(b));
    c.request("PUT", "/__sim/config", {}, R"({"faults":{"latency_ms":0},"rate_limits":{"concurrency":75}})");
  }

  // --- admin: request log and reset
  {
    auto r = c.request("GET", "/__sim/requests");
    CHECK(r.status == 200 && body_of(r).size() > 20, "request log");
    r = c.request("POST", "/__sim/reset");
    CHECK(r.status == 204, "reset: " + show(r));
    r = c.request("GET", "/api/v1/users/active@example.com", kAuth);
    CHECK(r.status == 404, "reset drops created users: " + show(r));
    r = c.request("GET", "/api/v1/users/alice@example.com", kAuth);
    CHECK(r.status == 200, "reset keeps the seed: " + show(r));
  }

  // --- HTTP/1.1 pipelining: several requests in one write are answered in order, each answer
  // reflecting the requests before it, and a bad request at the end still gets its error.
  {
    auto created = c.request("POST", "/api/v1/users?activate=true", kAuth, new_user_body("pipe@example.com", true));
    CHECK(created.status == 200, "pipelining user: " + show(created));
    const std::string uid = body_of(created).value("id", "");
    auto req = [](const std::string& method, const std::string& target, const std::string& body = "") {
      std::string s = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: SSWS " + kToken +
                      "\r\nAccept: application/json\r\n";
      if (!body.empty()) s += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
      return s + "\r\n" + body;
    };
    const std::string batch = req("GET", "/api/v1/users/" + uid) + req("HEAD", "/api/v1/users/" + uid) +
                              req("POST", "/api/v1/users/" + uid + "/lifecycle/suspend") +
                              req("GET", "/api/v1/users/pipe@example.com") + req("GET", "/api/v1/users/nobody-here") +
                              req("POST", "/api/v1/users/" + uid, R"({"profile":{"nickName":"Piped"}})") +
                              req("POST", "/api/v1/users/" + uid + "/lifecycle/unsuspend") + req("GET", "/api/v1/users/" + uid) +
                              "NOT HTTP AT ALL\r\n\r\n";
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket s(io);
    boost::system::error_code e;
    s.connect({boost::asio::ip::make_address_v4("127.0.0.1"), sim.port()}, e);
    boost::asio::write(s, boost::asio::buffer(batch), e);
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buf;
    std::vector<std::pair<unsigned, json>> got;
    std::size_t head_length = 0;
    for (int i = 0; i < 9 && !e; ++i) {
      http::response_parser<http::string_body> res;
      res.skip(i == 1);  // the answer to HEAD announces a length but has no body
      http::read(s, buf, res, e);
      if (i == 1 && !e && res.get().has_content_length()) head_length = std::stoul(std::string(res.get()[http::field::content_length]));
      if (!e) got.emplace_back(res.get().result_int(), json::parse(res.get().body(), nullptr, false));
    }
    CHECK(got.size() == 9, "pipelining: 9 answers, got " + std::to_string(got.size()));
    if (got.size() == 9) {
      CHECK(got[0].first == 200 && got[0].second["status"] == "ACTIVE", "pipelined 1: GET before suspend");
      CHECK(got[1].first == 200 && head_length > 100, "pipelined HEAD: the GET's length, no body");
      got.erase(got.begin() + 1);
      CHECK(got[1].first == 200 && got[1].second == json::object(), "pipelined 2: suspend");
      CHECK(got[2].first == 200 && got[2].second["status"] == "SUSPENDED", "pipelined 3: GET by login after suspend");
      CHECK(got[3].first == 404 && got[3].second["errorCode"] == "E0000007", "pipelined 4: unknown user");
      CHECK(got[4].first == 200 && got[4].second["profile"]["nickName"] == "Piped", "pipelined 5: update");
      CHECK(got[5].first == 200, "pipelined 6: unsuspend");
      CHECK(got[6].first == 200 && got[6].second["status"] == "ACTIVE" && got[6].second["profile"]["nickName"] == "Piped",
            "pipelined 7: GET sees both changes");
      CHECK(got[7].first == 400 && got[7].second["errorCode"] == "E0000003", "pipelined 8: malformed request");
    }
  }

  // --- a flood of connections and garbage does not take the server down
  {
    std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> socks;
    boost::asio::io_context io;
    for (int i = 0; i < 300; ++i) {
      auto s = std::make_unique<boost::asio::ip::tcp::socket>(io);
      boost::system::error_code e;
      s->connect({boost::asio::ip::make_address_v4("127.0.0.1"), sim.port()}, e);
      if (!e && i % 3 == 0) boost::asio::write(*s, boost::asio::buffer(std::string("GARBAGE / HTTP/9.9\r\n\r\n")), e);
      socks.push_back(std::move(s));
    }
    socks.clear();
    auto r = c.request("GET", "/api/v1/users?limit=1", kAuth);
    CHECK(r.status == 200 && sim.alive(), "alive after a connection flood: " + show(r));
  }

  std::error_code ec2;
  fs::remove_all(dir, ec2);
  std::printf("okta_sim_behaviour: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
