#include "test_actions.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <cstdlib>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/redact.hpp"

namespace spokeflow::testing {
namespace asio = boost::asio;
namespace {

ActionInfo make_info() {
  ActionInfo info;
  info.name = "test.side_effect";
  info.description = "Appends a line naming the step run to a file (tests only).";
  info.input_schema = Json::parse(R"({
    "type": "object",
    "properties": {
      "file": {"type": "string"},
      "delay_ms": {"type": "integer", "minimum": 0},
      "secret": {"type": "string", "x-sensitive": true}
    },
    "required": ["file"],
    "additionalProperties": false
  })");
  info.output_schema = Json::parse(R"({
    "type": "object",
    "properties": {"line": {"type": "string"}, "token": {"type": "string", "x-sensitive": true}},
    "required": ["line"],
    "additionalProperties": false
  })");
  info.inputs_checker = JsonSchema::compile(info.input_schema);
  info.outputs_checker = JsonSchema::compile(info.output_schema);
  info.inputs_sensitive = true;
  info.outputs_sensitive = true;
  return info;
}

class SideEffect final : public Action {
 public:
  const ActionInfo& info() const override { return info_; }
  asio::awaitable<Result<Json>> invoke(ActionContext& ctx) const override {
    std::string line = std::string(ctx.execution_id) + " " + std::string(ctx.step_path) + " " + std::to_string(ctx.attempt) + "\n";
    std::string file = ctx.inputs.at("file").get<std::string>();
    int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) co_return Error::make(ErrorKind::action, "cannot open " + file);
    ssize_t n = ::write(fd, line.data(), line.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(line.size())) co_return Error::make(ErrorKind::action, "short write to " + file);
    if (int delay = ctx.inputs.value("delay_ms", 0); delay > 0) {
      asio::steady_timer t(ctx.executor, std::chrono::milliseconds(delay));
      auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return Error::make(ErrorKind::cancelled, "cancelled");
    }
    Json out = {{"line", line.substr(0, line.size() - 1)}};
    if (ctx.inputs.contains("secret")) out["token"] = "tok-" + ctx.inputs["secret"].get<std::string>();
    co_return out;
  }

 private:
  ActionInfo info_ = make_info();
};

ActionInfo file_action_info(const char* name, const char* description) {
  ActionInfo info;
  info.name = name;
  info.description = description;
  info.input_schema = Json::parse(R"({
    "type": "object", "properties": {"file": {"type": "string"}}, "required": ["file"], "additionalProperties": false
  })");
  info.output_schema = Json::parse(R"({"type": "object"})");
  info.inputs_checker = JsonSchema::compile(info.input_schema);
  info.outputs_checker = JsonSchema::compile(info.output_schema);
  return info;
}

// Kills the process running it (as a crash would) while `file` exists: the poison a worker
// must not keep claiming forever.
class Crash final : public Action {
 public:
  const ActionInfo& info() const override { return info_; }
  asio::awaitable<Result<Json>> invoke(ActionContext& ctx) const override {
    if (::access(ctx.inputs.at("file").get<std::string>().c_str(), F_OK) == 0) std::_Exit(134);
    co_return Json::object();
  }

 private:
  ActionInfo info_ = file_action_info("test.crash", "Ends the process at once while FILE exists (tests only).");
};

// Fails while `file` exists: a step an operator's retry can make pass by removing it.
class FailWhile final : public Action {
 public:
  const ActionInfo& info() const override { return info_; }
  asio::awaitable<Result<Json>> invoke(ActionContext& ctx) const override {
    const std::string file = ctx.inputs.at("file").get<std::string>();
    if (::access(file.c_str(), F_OK) == 0) co_return Error::make(ErrorKind::action, "failing while " + file + " exists");
    co_return Json{{"attempt", ctx.attempt}};
  }

 private:
  ActionInfo info_ = file_action_info("test.fail_while", "Fails while FILE exists (tests only).");
};

}  // namespace

void register_test_actions(ActionRegistry& registry) {
  registry.add(std::make_unique<SideEffect>());
  registry.add(std::make_unique<Crash>());
  registry.add(std::make_unique<FailWhile>());
}

}  // namespace spokeflow::testing
