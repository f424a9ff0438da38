#pragma once
// The service as `spokeflow serve` assembles it (store, runtime, flow catalog, API, event-hook
// receiver), for the serve targets: flows with event triggers, an admin token and a hook secret,
// on an SQLite store in a fresh folder. The worker is never started: executions stay queued, so
// an input can only enqueue, never run anything.
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "fuzz_actions.hpp"
#include "fuzz_support.hpp"
#include "runtime/runtime.hpp"
#include "serve/api.hpp"
#include "serve/catalog.hpp"
#include "serve/hooks.hpp"
#include "serve/tokens.hpp"
#include "store/store.hpp"

namespace spokeflow::fuzz {

// What the seeds send; a fuzzer finds them there and in the dictionary.
inline constexpr const char* kAdminToken = "sft_fuzzadmintoken0000000000000000000000000000000";
inline constexpr const char* kHookSecret = "Bearer fuzz-hook-secret";

inline constexpr const char* kRigFlows[][2] = {
    {"greet.yaml", R"(name: greet
inputs:
  who: { type: string, required: true }
  times: { type: integer, default: 1 }
  note: { type: string, sensitive: true }
triggers:
  - okta_event: [user.lifecycle.create, user.lifecycle.activate]
    if: ${{ event.target[0].type == 'User' }}
    inputs:
      who: ${{ event.target[0].alternateId }}
  - schedule: "0 6 * * 1-5"
    inputs: { who: cron }
steps:
  - id: say
    action: core.echo
    with: { greeting: "${{ format('hello {0}', inputs.who) }}" }
)"},
    {"on_any.yaml", R"(name: on_any
triggers:
  - okta_event: user.session.start
steps:
  - id: note
    action: core.echo
    with: { uuid: "${{ event.uuid }}", when: "${{ event.published }}", who: "${{ event.actor.alternateId }}" }
)"},
    {"by_group.yaml", R"(name: by_group
inputs:
  group: { type: string, required: true }
  users: { type: array, default: [] }
triggers:
  - okta_event: group.user_membership.add
    if: ${{ length(event.target) > 1 && event.target[1].type == 'UserGroup' }}
    inputs:
      group: ${{ event.target[1].displayName }}
      users: ${{ event.target }}
steps:
  - id: each
    for_each: ${{ inputs.users }}
    steps:
      - id: n
        action: core.noop
)"},
};

struct ServeRig {
  std::filesystem::path dir;
  boost::asio::io_context io;
  std::unique_ptr<runtime::Runtime> runtime;
  std::unique_ptr<serve::FlowCatalog> catalog;
  std::unique_ptr<serve::Api> api;
  std::unique_ptr<serve::HookReceiver> hooks;

  ServeRig() {
    namespace fs = std::filesystem;
    // In memory when the machine has /dev/shm: every enqueue is a durable commit.
    std::string base = fs::is_directory("/dev/shm") ? "/dev/shm" : fs::temp_directory_path().string();
    std::string templ = base + "/spokeflow-serve-fuzz-XXXXXX";
    if (!mkdtemp(templ.data())) broken("the serve rig makes its folder");
    dir = templ;
    fs::create_directories(dir / "flows");
    for (const auto& [file, text] : kRigFlows) std::ofstream(dir / "flows" / file) << text;

    auto st = store::open_sqlite_store((dir / "store.db").string());
    store::ApiToken admin{"fuzz-admin", "admin", serve::token_hash(kAdminToken), 1, 0, 0};
    if (!st->add_token(admin)) broken("the serve rig stores its token");
    const std::string flows_dir = (dir / "flows").string();
    runtime::RuntimeOptions o;
    o.flows_dir = flows_dir;
    runtime = std::make_unique<runtime::Runtime>(io.get_executor(), shipped_actions(), std::move(st), std::move(o));
    catalog = std::make_unique<serve::FlowCatalog>(flows_dir, shipped_actions());
    if (!catalog->load() || catalog->flows().size() != std::size(kRigFlows)) {
      std::string why;
      for (const auto& p : catalog->problems()) why += p.diagnostics.format();
      broken("the serve rig's flows load", why);
    }
    serve::ApiOptions api_options;
    api_options.max_wait = Millis(20);  // ?wait= answers in time; a longer one is refused
    api_options.openapi_document = R"({"openapi": "3.1.0"})";
    api = std::make_unique<serve::Api>(*runtime, shipped_actions(), *catalog, std::move(api_options));
    std::map<std::string, serve::HookConfig> configured{{"okta", {"okta", kHookSecret}}};
    hooks = std::make_unique<serve::HookReceiver>(*runtime, *catalog, std::move(configured));
    api->set_hooks(hooks.get());
    // The folder goes with the process (libFuzzer exits through exit() too).
    std::atexit([] { std::error_code ec; std::filesystem::remove_all(instance_dir(), ec); });
    instance_dir() = dir;
  }

  static std::filesystem::path& instance_dir() {
    static std::filesystem::path d;
    return d;
  }

  // Runs the event loop until `work` ends; its result.
  template <class T>
  T run(boost::asio::awaitable<T> work) {
    std::optional<T> out;
    std::exception_ptr failed;
    boost::asio::co_spawn(io, std::move(work), [&](std::exception_ptr e, T v) {
      failed = e;
      if (!e) out.emplace(std::move(v));
    });
    io.restart();
    while (!out && !failed) io.run_one();
    if (failed) std::rethrow_exception(failed);
    return std::move(*out);
  }
};

inline ServeRig& serve_rig() {
  static ServeRig* rig = new ServeRig();  // never destroyed: coroutines may still hold parts of it
  return *rig;
}

}  // namespace spokeflow::fuzz
