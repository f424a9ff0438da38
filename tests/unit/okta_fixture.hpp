#pragma once
// A fresh okta-sim plus the Okta spoke wired to it through an API-token alias `okta`, for
// action tests: run an action the way the engine does (inputs checked against the action's
// input schema, outputs against its output schema) and look at the simulator's state.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "action/action.hpp"
#include "connect/client.hpp"
#include "connect/secrets.hpp"
#include "http/http_client.hpp"
#include "okta/okta.hpp"
#include "sim_connections.hpp"
#include "sim_process.hpp"

namespace spokeflow::test {

class OktaFixture {
 public:
  explicit OktaFixture(const std::string& seed_yaml = {}, const std::string& config_yaml = {})
      : sim(seed_yaml, config_yaml) {
    setenv("SPOKEFLOW_TEST_OKTA_TOKEN", SimProcess::token().c_str(), 1);
    connections = std::make_shared<connect::Connections>(
        io.get_executor(), sim_connections(sim.base_url()), std::make_shared<connect::SecretResolver>(nullptr, "."));
    okta::register_actions(registry, connections);
    http = std::make_shared<http::HttpClient>(io.get_executor());
  }

  // Runs one action to completion. Inputs that fail the input schema fail the test; outputs
  // that fail the output schema fail the test too (the engine would refuse them).
  Result<Json> run(const std::string& name, const Json& inputs) {
    const Action* action = registry.find(name);
    REQUIRE_MESSAGE(action != nullptr, "no action " << name);
    auto in_issues = action->info().inputs_checker->validate(inputs);
    for (const auto& i : in_issues) FAIL_CHECK(name << " inputs " << i.pointer << ": " << i.message);
    std::optional<Result<Json>> out;
    Json in = inputs;
    ActionContext ctx{in, "01TESTEXECUTION", name, 1, "okta", io.get_executor()};
    boost::asio::co_spawn(
        io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await action->invoke(ctx)); },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    io.restart();
    io.run();
    REQUIRE(out.has_value());
    if (out->ok()) {
      auto issues = action->info().outputs_checker->validate(**out);
      for (const auto& i : issues) FAIL_CHECK(name << " outputs " << i.pointer << ": " << i.message << "\n" << out->value().dump());
    }
    return std::move(*out);
  }

  // A raw request to the simulator (SSWS), to set up or check state without the spoke.
  http::HttpResponse raw(const std::string& method, const std::string& path, const std::string& body = {}) {
    http::HttpRequest req;
    req.method = method;
    req.url = sim.base_url() + path;
    req.allow_insecure_http = true;
    req.headers = {{"Authorization", "SSWS " + SimProcess::token()}, {"Accept", "application/json"}};
    if (!body.empty()) {
      req.headers.emplace_back("Content-Type", "application/json");
      req.body = body;
    }
    std::optional<Result<http::HttpResponse>> out;
    boost::asio::co_spawn(
        io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await http->request(req)); },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    io.restart();
    io.run();
    REQUIRE(out.has_value());
    REQUIRE_MESSAGE(out->ok(), out->error().message);
    return std::move(out->value());
  }
  Json raw_json(const std::string& method, const std::string& path, const Json& body = nullptr) {
    auto r = raw(method, path, body.is_null() ? std::string() : body.dump());
    return r.body.empty() ? Json() : Json::parse(r.body);
  }

  SimProcess sim;
  boost::asio::io_context io;
  std::shared_ptr<connect::Connections> connections;
  std::shared_ptr<http::HttpClient> http;
  ActionRegistry registry;
};

// The outputs of a run that must succeed (the test stops with the error otherwise).
inline Json ok(Result<Json> r) {
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  return std::move(*r);
}

// The error of a run that must fail.
inline const Error& failed(const Result<Json>& r) {
  REQUIRE_MESSAGE(!r.ok(), "expected a failure, got " << r.value().dump());
  return r.error();
}

// The `id`s of a list of Okta objects.
inline std::set<std::string> ids_of(const Json& items) {
  std::set<std::string> out;
  for (const auto& i : items) out.insert(i.value("id", std::string()));
  return out;
}

}  // namespace spokeflow::test
