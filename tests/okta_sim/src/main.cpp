// okta-sim: a stateful Okta org on loopback.
#include <csignal>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "server.hpp"
#include "sim.hpp"
#include "yaml_json.hpp"

int main(int argc, char** argv) {
  CLI::App app{"okta-sim: a stateful Okta org simulator on 127.0.0.1"};
  unsigned short port = 0;
  std::string token, seed_path, config_path, log_level = "warn", tls_cert, tls_key, hook_ca;
  app.add_option("--port", port, "TCP port on 127.0.0.1 (0 picks a free one)");
  app.add_option("--api-token", token, "the SSWS API token clients must send")->required();
  app.add_option("--seed", seed_path, "YAML or JSON file preloading users, groups, apps, OAuth clients");
  app.add_option("--config", config_path, "YAML or JSON file with rate limits, faults, token lifetime");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  auto* cert_opt = app.add_option("--tls-cert", tls_cert, "PEM certificate chain (leaf first): serve HTTPS instead of HTTP");
  auto* key_opt = app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert");
  app.add_option("--hook-ca", hook_ca, "PEM CA certificates trusted for event hooks at https:// URLs");
  cert_opt->needs(key_opt);
  key_opt->needs(cert_opt);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));
  std::signal(SIGPIPE, SIG_IGN);

  try {
    oktasim::Config cfg;
    cfg.limits = oktasim::default_limits();
    if (!config_path.empty()) {
      try {
        oktasim::apply_config_json(cfg, oktasim::load_yaml_or_json_file(config_path), "config");
      } catch (const std::exception& e) {
        throw std::runtime_error(config_path + ": " + e.what());
      }
    }
    oktasim::Sim sim(cfg, token);
    if (!seed_path.empty()) {
      try {
        sim.load_seed(oktasim::load_yaml_or_json_file(seed_path));
      } catch (const std::exception& e) {
        throw std::runtime_error(seed_path + ": " + e.what());
      }
    }

    std::shared_ptr<boost::asio::ssl::context> tls;
    if (!tls_cert.empty()) tls = oktasim::make_tls_context(tls_cert, tls_key);

    boost::asio::io_context ioc(1);
    oktasim::Server server(ioc, sim, port, tls);
    if (!hook_ca.empty()) server.set_hook_tls(oktasim::make_hook_client_tls(hook_ca));
    server.start();
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
      server.stop();
      ioc.stop();
    });
    std::printf("listening on %s://127.0.0.1:%u\n", server.scheme(), static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    ioc.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "okta-sim: %s\n", e.what());
    return 1;
  }
  return 0;
}
