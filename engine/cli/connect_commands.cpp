#include "cli/connect_commands.hpp"

#include <termios.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <iostream>
#include <optional>

#include "cli/connect_setup.hpp"
#include "connect/cap.hpp"
#include "connect/probe.hpp"
#include "common/scrub.hpp"

namespace spokeflow::cli {
namespace asio = boost::asio;

namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kInvalid = 2;
constexpr int kEnvironment = 3;

// The vault with the environment's master key, or null after saying why not.
std::optional<connect::Vault> open_vault() {
  auto key = connect::MasterKey::from_environment();
  if (!key.ok()) {
    std::cerr << "error: " << key.error().message << "\n";
    return std::nullopt;
  }
  auto vault = connect::Vault::open(connect::Vault::default_path(), *key);
  if (!vault.ok()) {
    std::cerr << "error: " << vault.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*vault);
}

// Turns terminal echo off while it lives (for secret prompts).
class NoEcho {
 public:
  NoEcho() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios t = saved_;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
  }
  ~NoEcho() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  bool active() const { return active_; }

 private:
  termios saved_{};
  bool active_ = false;
};

// Runs one coroutine to its end on `io`.
template <class T>
T run_on(asio::io_context& io, asio::awaitable<T> work) {
  std::optional<T> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(work)); },
                 [](std::exception_ptr e) {
                   if (e) std::rethrow_exception(e);
                 });
  io.run();
  return std::move(*out);
}

}  // namespace

int cmd_secrets_init() {
  std::string path = connect::MasterKey::default_key_file();
  if (const char* env = std::getenv("SPOKEFLOW_MASTER_KEY_FILE"); env && *env) path = env;
  auto key = connect::MasterKey::generate_file(path);
  if (!key.ok()) {
    std::cerr << "error: " << key.error().message << "\n";
    return kEnvironment;
  }
  std::cout << "master key written to " << path << " (mode 0600). Keep it apart from the vault ("
            << connect::Vault::default_path() << ") and back it up: without it, secrets cannot be read.\n";
  return kOk;
}

int cmd_secrets_set(const std::string& name) {
  if (!connect::valid_secret_name(name)) {
    std::cerr << "error: bad secret name '" << name << "': use 1-128 of A-Z a-z 0-9 _ . -\n";
    return kInvalid;
  }
  auto vault = open_vault();
  if (!vault) return kEnvironment;
  std::string value;
  {
    NoEcho no_echo;
    if (no_echo.active()) std::cerr << "value for " << name << " (not shown): " << std::flush;
    if (no_echo.active()) {
      std::getline(std::cin, value);
      std::cerr << "\n";
    } else {
      // Piped: the whole of stdin, so multi-line values (PEM keys) work.
      value.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
  }
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  if (value.empty()) {
    std::cerr << "error: empty value: nothing stored\n";
    return kInvalid;
  }
  auto r = vault->set(name, value);
  if (!r.ok()) {
    std::cerr << "error: " << r.error().message << "\n";
    return kEnvironment;
  }
  std::cout << "stored secret '" << name << "' in " << vault->path() << "\n";
  return kOk;
}

int cmd_secrets_list(bool json) {
  auto vault = open_vault();
  if (!vault) return kEnvironment;
  auto names = vault->names();
  if (json) {
    std::cout << Json(names).dump(2) << "\n";
  } else {
    for (const auto& n : names) std::cout << n << "\n";
  }
  return kOk;
}

int cmd_secrets_rm(const std::string& name) {
  auto vault = open_vault();
  if (!vault) return kEnvironment;
  auto r = vault->remove(name);
  if (!r.ok()) {
    std::cerr << "error: " << r.error().message << "\n";
    return kEnvironment;
  }
  if (!*r) {
    std::cerr << "error: no secret named '" << name << "'\n";
    return kInvalid;
  }
  std::cout << "removed secret '" << name << "'\n";
  return kOk;
}

namespace {

// The loaded connections file, or an exit code after printing why there is none.
std::optional<ConnectSetup> load_or_report(const std::string& path, asio::io_context& io, int& code) {
  ConnectSetup s = ConnectSetup::load(path, io.get_executor());
  // The connections file is the environment's, not input to this command: exit 3.
  if (!s.ok()) {
    std::cerr << s.problems.format();
    code = kEnvironment;
    return std::nullopt;
  }
  if (!s.config) {
    std::cerr << "error: no connections file found (give --connections FILE, set SPOKEFLOW_CONNECTIONS or create "
                 "./connections.yaml; see examples/connections/)\n";
    code = kEnvironment;
    return std::nullopt;
  }
  return s;
}

}  // namespace

int cmd_connections_list(const std::string& path, bool json) {
  asio::io_context io;
  int code = kOk;
  auto s = load_or_report(path, io, code);
  if (!s) return code;
  Json rows = Json::array();
  for (const auto& [name, alias] : s->config->aliases) {
    const connect::Connection* c = s->config->connection_of(alias);
    const connect::Credential* cred = c ? s->config->credential_of(*c) : nullptr;
    const connect::CallCap cap = connect::effective_call_cap(alias, c);
    rows.push_back({{"alias", name},
                    {"connection", alias.connection},
                    {"base_url", c ? Json(c->base_url) : Json()},
                    {"credential", c ? Json(c->credential) : Json()},
                    {"credential_type", cred ? Json(std::string(connect::to_string(cred->type))) : Json()},
                    {"max_attempts", alias.retry.max_attempts},
                    {"max_concurrency", alias.max_concurrency ? alias.max_concurrency : (c ? c->max_concurrency : 0)},
                    // What actually bounds the alias's calls in flight, including curl's default.
                    {"max_calls_in_flight", cap.calls},
                    {"max_calls_in_flight_source", std::string(connect::to_string(cap.source))}});
  }
  if (json) {
    std::cout << Json{{"file", s->path}, {"aliases", rows}}.dump(2) << "\n";
    return kOk;
  }
  std::cout << "connections file: " << s->path << "\n";
  std::printf("%-16s  %-16s  %-40s  %-18s  %s\n", "ALIAS", "CONNECTION", "BASE URL", "CALLS IN FLIGHT", "CREDENTIAL");
  for (const auto& r : rows) {
    const std::string cap = std::to_string(r["max_calls_in_flight"].get<int>()) + " (" +
                            r["max_calls_in_flight_source"].get<std::string>() + ")";
    std::printf("%-16s  %-16s  %-40s  %-18s  %s (%s)\n", r["alias"].get<std::string>().c_str(),
                r["connection"].get<std::string>().c_str(), r.value("base_url", "").c_str(), cap.c_str(),
                r.value("credential", "").c_str(), r.value("credential_type", "").c_str());
  }
  return kOk;
}

int cmd_connections_test(const std::string& path, const std::string& alias_name, bool json) {
  asio::io_context io;
  int code = kOk;
  auto s = load_or_report(path, io, code);
  if (!s) return code;
  const connect::Alias* alias = s->config->alias(alias_name);
  if (!alias) {
    std::cerr << "error: no alias '" << alias_name << "' in " << s->path << " (see `spokeflow connections list`)\n";
    return kInvalid;
  }
  connect::ConnectionTest rep = run_on(io, connect::test_connection(*s->connections, alias_name));
  if (json) {
    rep.details["ok"] = rep.ok;
    std::cout << rep.details.dump(2) << "\n";
  } else if (rep.ok) {
    std::cout << "ok: " << alias_name << " -> " << rep.details.value("base_url", "") << " ("
              << rep.details.value("request", "") << ", HTTP " << rep.details.value("status", 0) << ", "
              << rep.details.value("ms", 0) << " ms)\n";
    if (rep.details.contains("authenticated_as"))
      std::cout << "   authenticated as " << rep.details["authenticated_as"].get<std::string>() << "\n";
    if (rep.details.contains("granted_scopes"))
      std::cout << "   granted scopes: " << rep.details["granted_scopes"].get<std::string>() << "\n";
  } else {
    std::cout << "FAILED: " << alias_name << ": " << rep.summary << "\n";
    if (rep.details.contains("granted_scopes"))
      std::cout << "   granted scopes: " << rep.details["granted_scopes"].get<std::string>() << "\n";
  }
  // What the probe can fail on (host, TLS, credential, secrets, Okta itself) is all the
  // environment's: 3, as a run that fails on it.
  return rep.ok ? kOk : kEnvironment;
}

int cmd_auth_login(const std::string& path, const std::string& alias_name) {
  asio::io_context io;
  int code = kOk;
  auto s = load_or_report(path, io, code);
  if (!s) return code;
  const connect::Alias* alias = s->config->alias(alias_name);
  const connect::Connection* conn = alias ? s->config->connection_of(*alias) : nullptr;
  const connect::Credential* cred = conn ? s->config->credential_of(*conn) : nullptr;
  if (!cred) {
    std::cerr << "error: no alias '" << alias_name << "' in " << s->path << "\n";
    return kInvalid;
  }
  if (cred->type != connect::CredentialType::okta_oauth_refresh || !cred->refresh_token) {
    std::cerr << "error: alias '" << alias_name << "' uses credential '" << cred->name << "' of type "
              << connect::to_string(cred->type) << "; `auth login` is for okta_oauth_refresh credentials\n";
    return kInvalid;
  }
  http::HttpClientOptions hopts;
  hopts.connect_timeout = conn->connect_timeout;
  if (conn->proxy) hopts.proxy = conn->proxy;
  if (conn->ca_bundle) hopts.ca_bundle = conn->ca_bundle;
  auto http = std::make_shared<http::HttpClient>(io.get_executor(), hopts);
  auto token = run_on(io, connect::authorization_code_login(*conn, *cred, *s->secrets, http, [](const std::string& url) {
    std::cout << "Open this URL in a browser and sign in:\n\n  " << url << "\n\nwaiting for the redirect...\n"
              << std::flush;
  }));
  if (!token.ok()) {
    std::cerr << "error: " << SecretScrubber::instance().scrub(token.error().message) << "\n";
    // Okta refusing the client or the grant, a host out of reach, the redirect port taken, no
    // sign-in within the wait: the environment's (3). Only a sign-in the person cancelled is 1.
    const ErrorKind kind = token.error().kind;
    return kind == ErrorKind::auth || kind == ErrorKind::network ? kEnvironment : kFailed;
  }
  auto stored = s->secrets->store(*cred->refresh_token, *token);
  if (!stored.ok()) {
    std::cerr << "error: " << stored.error().message << "\n";
    return kEnvironment;
  }
  std::cout << "signed in: the refresh token is stored as " << cred->refresh_token->describe() << "\n";
  return kOk;
}

}  // namespace spokeflow::cli
