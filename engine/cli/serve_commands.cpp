#include "cli/serve_commands.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "common/embedded_schemas.hpp"
#include "common/ids.hpp"
#include "serve/access_log.hpp"
#include "serve/admin_api.hpp"
#include "serve/api.hpp"
#include "serve/config.hpp"
#include "serve/hooks.hpp"
#include "serve/http_server.hpp"
#include "serve/metrics.hpp"
#include "serve/retention.hpp"
#include "serve/scheduler.hpp"
#include "serve/tls.hpp"
#include "serve/tokens.hpp"
#include "serve/web_ui.hpp"

namespace spokeflow::cli {
namespace asio = boost::asio;
namespace fs = std::filesystem;

int cmd_serve(const GlobalOptions& g, const ServeFlags& flags, const ExtraActions& extra) {
  serve::ServeConfig config;
  if (!flags.config.empty()) {
    Diagnostics d;
    auto loaded = serve::load_serve_config(flags.config, d);
    if (!loaded) {
      std::cerr << d.format();
      return kExitInvalid;
    }
    config = std::move(*loaded);
  }
  if (!flags.listen.empty()) config.listen = flags.listen;
  if (!flags.flows_dir.empty()) config.flows_dir = flags.flows_dir;
  auto listen = serve::split_listen(config.listen);
  if (!listen) {
    std::cerr << "error: --listen '" << config.listen << "' must be ADDRESS:PORT (such as 127.0.0.1:8080)\n";
    return kExitInvalid;
  }
  if (!flags.tls_cert.empty()) {
    config.tls_cert = flags.tls_cert;
    config.tls_key = flags.tls_key;
  }
  // Checked before anything starts: a certificate or key that cannot serve stops here.
  std::shared_ptr<asio::ssl::context> tls;
  if (!config.tls_cert.empty()) {
    auto made = serve::make_server_tls(config.tls_cert, config.tls_key);
    if (!made.ok()) {
      std::cerr << "error: " << made.error().message << "\n";
      return kExitInvalid;
    }
    tls = *made;
  }

  // Before the shell: what reports to it (the runtime, the connections) goes first.
  serve::Metrics metrics;
  Shell shell(g, extra);
  QueueOptions q;
  q.on_step = [&metrics](const run::StepEvent& ev) { metrics.step_finished(ev); };
  q.flows_dir = config.flows_dir;
  q.concurrency = config.concurrency;
  q.lease = config.lease;
  q.park_after = config.park_after;
  if (int rc = shell.start(g, q, StepOutput::none, true, true); rc != kExitOk) return rc;
  runtime::Runtime& rt = *shell.runtime;
  rt.on_enqueued = [&metrics](const flow::Flow& f, const Json& trigger) { metrics.execution_started(f.name, trigger); };
  if (shell.connect.connections) shell.connect.connections->set_observer(&metrics);

  // Hook secrets: read once at start (a missing one stops the service from starting).
  const std::string config_dir = config.file.empty() ? "." : fs::path(config.file).parent_path().string();
  connect::SecretResolver resolver(shell.connect.vault, config_dir.empty() ? "." : config_dir, shell.connect.vault_problem);
  std::map<std::string, serve::HookConfig> hooks;
  for (const auto& [name, h] : config.hooks) {
    auto value = resolver.resolve(h.authorization);
    if (!value.ok()) {
      std::cerr << "error: event hook '" << name << "': " << value.error().message << "\n";
      return kExitEnvironment;
    }
    hooks[name] = serve::HookConfig{name, *value};
  }

  serve::FlowCatalog catalog(rt.options().flows_dir, shell.actions);
  if (!catalog.load()) {
    for (const auto& p : catalog.problems()) std::cerr << p.diagnostics.format();
    return kExitInvalid;
  }
  for (const auto& p : catalog.problems())
    spdlog::warn("flow file {} does not load ({} problems; see `spokeflow validate {}`)", p.file, p.diagnostics.size(), p.file);

  serve::ApiOptions api_options;
  api_options.max_wait = config.max_wait;
  api_options.unseal = rt.options().engine.unseal;
  const auto& schemas = embedded_schemas();
  if (auto it = schemas.find("api/openapi.json"); it != schemas.end()) api_options.openapi_document = std::string(it->second);
  serve::Api api(rt, shell.actions, catalog, std::move(api_options));
  serve::HookReceiver receiver(rt, catalog, std::move(hooks));
  receiver.on_enqueued = [&rt] { rt.worker().notify(); };
  receiver.on_delivery = [&metrics](const std::string& hook, std::string_view outcome, std::size_t events, int started) {
    metrics.hook_delivery(hook, outcome, events, started);
  };
  api.set_hooks(&receiver);
  api.set_metrics(&metrics);
  serve::AdminOptions admin_options;
  admin_options.unseal = rt.options().engine.unseal;
  admin_options.connections = shell.connect.connections;
  admin_options.connections_file = shell.connect.path;
  if (!shell.connect.ok()) admin_options.connections_problem = shell.connect.problems.format();
  else if (!shell.connect.connections) admin_options.connections_problem = "no connections file was found";
  serve::AdminApi admin(rt, catalog, std::move(admin_options));
  api.set_admin(&admin);
  serve::WebUiOptions ui_options;
  ui_options.secure_cookie = tls != nullptr;
  if (const char* dir = std::getenv("SPOKEFLOW_UI_DIR"); dir && *dir) {
    ui_options.dev_dir = dir;
    spdlog::warn("serving the web view's pages from {} (SPOKEFLOW_UI_DIR), not the binary's", ui_options.dev_dir);
  }
  serve::WebUi web_ui(rt.store(), std::move(ui_options));
  api.set_web_ui(&web_ui);
  rt.worker().on_outcome = [&api, &metrics](const run::ExecutionOutcome& o) {
    api.execution_stopped(o.id);
    metrics.execution_finished(o.flow, o.status);
  };
  serve::Scheduler scheduler(rt, catalog, [] { return now_unix_ms(); });
  scheduler.on_enqueued = [&rt] { rt.worker().notify(); };
  scheduler.on_fire = [&metrics](const std::string& flow, std::string_view outcome, std::int64_t count) {
    metrics.schedule_fire(flow, outcome, count);
  };

  std::unique_ptr<serve::HttpServer> server;
  try {
    server = std::make_unique<serve::HttpServer>(
        shell.io.get_executor(), listen->first, listen->second, config.limits,
        serve::observed([&api](const serve::HttpRequest& r) { return api.handle(r); }, &metrics));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitEnvironment;
  }
  if (tls) server->use_tls(tls);
  server->on_refusal(serve::refusals_observed(&metrics));
  const auto ep = server->local_endpoint();
  const std::string host = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
  if (!tls && !ep.address().is_loopback())
    spdlog::warn("serving plain HTTP on {}: tokens and hook secrets cross the network in clear; use --tls-cert and "
                 "--tls-key (Okta sends event hooks only to HTTPS) unless a TLS proxy is in front", host);
  std::cout << "listening on " << (tls ? "https" : "http") << "://" << host << ":" << ep.port() << std::endl;
  spdlog::info("serving {} flows from {} ({} hooks)", catalog.flows().size(), catalog.dir(), config.hooks.size());

  std::unique_ptr<serve::Retention> retention;
  if (config.retention.enabled)
    retention = std::make_unique<serve::Retention>(rt.store(), config.retention, [] { return now_unix_ms(); });

  bool stopping = false;
  auto stop = [&](Millis grace) {
    if (stopping) {
      rt.worker().drain(Millis(0));
      return;
    }
    stopping = true;
    spdlog::warn("stopping: no new requests; those in flight finish; the worker drains (grace {})", format_duration(grace));
    asio::co_spawn(shell.io, server->shutdown(Millis(5'000)), asio::detached);
    scheduler.stop();
    if (retention) retention->stop();
    rt.worker().drain(grace);
  };
  run_loop(
      shell,
      [&]() -> asio::awaitable<void> {
        server->start();
        asio::co_spawn(shell.io, scheduler.run(), asio::detached);
        if (retention) asio::co_spawn(shell.io, retention->run(), asio::detached);
        co_await rt.worker().run();
        // The worker has drained; requests still waiting (?wait=, event streams) end now.
        co_await server->shutdown(Millis(1'000));
      },
      [&](int) { stop(config.drain_grace); }, [&](int) { stop(Millis(0)); });
  spdlog::info("stopped");
  return kExitOk;
}

int cmd_tokens_create(const GlobalOptions& g, const std::string& name, const std::string& role, const std::string& expires) {
  auto made = serve::make_token(name, role, expires, now_unix_ms());
  if (!made.ok()) {
    std::cerr << "error: " << made.error().message << "\n";
    return kExitInvalid;
  }
  auto st = open_store_or_report(g);
  if (!st) return kExitEnvironment;
  const store::ApiToken& t = made->record;
  if (!st->add_token(t)) {
    std::cerr << "error: a token named '" << name << "' exists (revoke it, or choose another name)\n";
    return kExitInvalid;
  }
  std::cout << "token '" << name << "' (" << role << ")"
            << (t.expires_at ? ", expires " + format_timestamp(t.expires_at) : std::string(", never expires"))
            << ". It is shown once; only its hash is kept:\n"
            << made->token << std::endl;
  return kExitOk;
}

int cmd_tokens_list(const GlobalOptions& g, bool json) {
  auto st = open_store_or_report(g);
  if (!st) return kExitEnvironment;
  const std::int64_t now = now_unix_ms();
  Json out = Json::array();
  for (const auto& t : st->list_tokens()) out.push_back(serve::token_row(t, now));
  if (json) {
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::printf("%-32s  %-8s  %-8s  %-24s  %s\n", "NAME", "ROLE", "STATE", "CREATED", "EXPIRES");
  for (const auto& r : out)
    std::printf("%-32s  %-8s  %-8s  %-24s  %s\n", r["name"].get<std::string>().c_str(), r["role"].get<std::string>().c_str(),
                r["state"].get<std::string>().c_str(), r["created_at"].get<std::string>().c_str(),
                r["expires_at"].is_null() ? "never" : r["expires_at"].get<std::string>().c_str());
  return kExitOk;
}

int cmd_tokens_revoke(const GlobalOptions& g, const std::string& name) {
  auto st = open_store_or_report(g);
  if (!st) return kExitEnvironment;
  if (!st->revoke_token(name, now_unix_ms())) {
    std::cerr << "error: no active token named '" << name << "'\n";
    return kExitInvalid;
  }
  std::cout << "token '" << name << "' revoked\n";
  return kExitOk;
}

}  // namespace spokeflow::cli
