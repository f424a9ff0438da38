#include "core.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/duration.hpp"
#include "common/log_fields.hpp"

namespace spokeflow::actions {
namespace asio = boost::asio;

namespace {

// An action defined by its schema file and a function.
template <class Fn>
class SimpleAction final : public Action {
 public:
  SimpleAction(ActionInfo info, Fn fn) : info_(std::move(info)), fn_(std::move(fn)) {}
  const ActionInfo& info() const override { return info_; }
  asio::awaitable<Result<Json>> invoke(ActionContext& ctx) const override { co_return fn_(ctx); }

 private:
  ActionInfo info_;
  Fn fn_;
};

template <class Fn>
std::unique_ptr<Action> simple(const char* schema, bool local, Fn fn) {
  return std::make_unique<SimpleAction<Fn>>(ActionInfo::from_embedded(schema, local), std::move(fn));
}

class WaitAction final : public Action {
 public:
  WaitAction() : info_(ActionInfo::from_embedded("actions/core/wait.json")) {}
  const ActionInfo& info() const override { return info_; }
  asio::awaitable<Result<Json>> invoke(ActionContext& ctx) const override {
    auto text = ctx.inputs.at("duration").get<std::string>();
    auto d = parse_duration(text);
    if (!d) co_return Error::make(ErrorKind::validation, "bad duration '" + text + "'");
    asio::steady_timer timer(ctx.executor, *d);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return Error::make(ErrorKind::cancelled, "wait cancelled");
    co_return Json{{"waited_ms", d->count()}};
  }

 private:
  ActionInfo info_;
};

}  // namespace

void register_core_actions(ActionRegistry& registry) {
  registry.add(simple("actions/core/noop.json", true, [](ActionContext&) -> Result<Json> { return Json::object(); }));
  registry.add(simple("actions/core/echo.json", true, [](ActionContext& ctx) -> Result<Json> { return ctx.inputs; }));
  registry.add(simple("actions/core/log.json", true, [](ActionContext& ctx) -> Result<Json> {
    std::string message = ctx.inputs.at("message").get<std::string>();
    std::string level = ctx.inputs.value("level", "info");
    // The execution, step and the flow's own fields go beside the message (JSON logs: keys).
    Json fields = execution_fields(ctx.execution_id, ctx.flow, ctx.step_path);
    if (auto it = ctx.inputs.find("fields"); it != ctx.inputs.end()) fields["fields"] = *it;
    auto lvl = level == "debug" ? spdlog::level::debug
               : level == "warn" ? spdlog::level::warn
               : level == "error" ? spdlog::level::err
                                  : spdlog::level::info;
    log_with(lvl, fields, "{}", message);
    return Json{{"message", message}, {"level", level}};
  }));
  registry.add(simple("actions/core/fail.json", true, [](ActionContext& ctx) -> Result<Json> {
    Error e;
    e.kind = error_kind_from_string(ctx.inputs.value("kind", "action")).value_or(ErrorKind::action);
    e.message = ctx.inputs.at("message").get<std::string>();
    e.code = ctx.inputs.value("code", "");
    return e;
  }));
  registry.add(std::make_unique<WaitAction>());
}

}  // namespace spokeflow::actions
