#pragma once
// The flow model: immutable after load, every node keeps its source position.
// A Flow is shared (std::shared_ptr<const Flow>) by every execution that runs it.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/diagnostics.hpp"
#include "common/duration.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "expr/expr.hpp"
#include "schedule/schedule.hpp"

namespace spokeflow::flow {

// A JSON value as written in YAML in which any string may hold `${{ }}` expressions
// (`with:`, `set:`, `outputs:`, `vars:`, `inputs:` of triggers). Object keys are literal.
class ValueTemplate {
 public:
  struct Node {
    enum class Kind { literal, expression, object, array } kind = Kind::literal;
    Json literal;                                        // kind literal
    expr::Template expression;                           // kind expression
    std::vector<std::pair<std::string, Node>> members;   // kind object, in source order
    std::vector<Node> items;                             // kind array
    SourcePos pos;

    // Defined in model.cpp, where Node is complete: clang with libstdc++ cannot make them for a
    // pair holding the class being defined.
    Node();
    Node(const Node&);
    Node(Node&&) noexcept;
    Node& operator=(const Node&);
    Node& operator=(Node&&) noexcept;
    ~Node();
  };

  ValueTemplate() = default;
  explicit ValueTemplate(Node root);

  // Evaluates every expression; a literal-only value is returned as is (no evaluation).
  Result<Json> evaluate(const expr::Scope& scope) const;
  bool is_constant() const { return constant_; }
  const Json& constant_value() const { return root_.literal; }  // when is_constant()
  const Node& root() const { return root_; }
  bool empty() const { return root_.kind == Node::Kind::literal && root_.literal.is_null(); }
  // Every expression in the tree with its position, for static checks.
  std::vector<std::pair<const expr::Template*, SourcePos>> expressions() const;
  // The node that made the value at a JSON pointer ("/profile/email"): the node itself, or the
  // expression that produced the object or list it lies in. Null when the pointer leads nowhere.
  const Node* node_at(const std::string& pointer) const;

 private:
  Node root_;
  bool constant_ = true;
};

struct RetryPolicy {
  enum class Backoff { constant, exponential };
  int max_attempts = 1;
  Backoff backoff = Backoff::exponential;
  Millis initial_interval{1000};
  Millis max_interval{30000};
  double multiplier = 2.0;
  bool jitter = true;
  // Which failures are retried: error kinds and/or "okta:E0000009"-style codes (stored without
  // the "okta:" prefix). Both empty means the transient kinds (network, timeout, rate_limited, server).
  std::vector<ErrorKind> on_kinds;
  std::vector<std::string> on_okta_codes;
  SourcePos pos;

  bool retries(const Error& error) const;
  // Delay before attempt `next_attempt` (2 for the first retry), before jitter. Capped at max_interval.
  Millis delay_before(int next_attempt) const;
};

struct Step;
using StepList = std::vector<Step>;

struct InputDecl {
  std::string name;
  std::string type;                // string integer number boolean object array
  bool required = false;
  std::optional<Json> default_value;
  std::vector<Json> enum_values;
  std::string format;              // "email" or empty
  bool sensitive = false;
  std::string description;
  SourcePos pos;
};

struct Branch {
  std::string id;                  // optional; the branch's index names it otherwise
  StepList steps;
  SourcePos pos;
};

struct Step {
  enum class Kind { action, block, for_each, parallel, try_catch, until, wait, set, subflow, end };
  Kind kind = Kind::action;
  SourcePos pos;                   // of the step's mapping
  std::string id;                  // "" when the author gave none
  std::string name;
  // The step's segment in paths: its id, or "#N" (1-based position in its list) without one.
  std::string path_name;

  // Common keys.
  std::optional<expr::Template> condition;   // `if`
  std::optional<Millis> timeout;
  std::optional<RetryPolicy> retry;
  bool continue_on_error = false;
  std::string connection;                    // alias; "" = the flow's default

  // action / subflow: `action: NAME` or `flow: NAME`, with `with:`
  std::string action;
  std::string flow_name;
  ValueTemplate with;
  // Engine-internal: one page fetched for a `for_each: {action}` source. Its record keeps the
  // page's count and cursor, not its items (a resume fetches the page again from its cursor).
  bool stream_page = false;

  // block: `steps:` (+ `else:`); for_each, until: `steps:`
  StepList steps;
  StepList else_steps;

  // for_each: an expression giving a list, or a paginated list action (`for_each: {action, with}`)
  std::optional<expr::Template> items;
  std::string items_action;
  ValueTemplate items_with;
  std::string as = "item";
  int concurrency = 1;
  std::optional<ValueTemplate> collect;

  // parallel
  std::vector<Branch> branches;

  // try / catch / finally
  StepList try_steps;
  StepList catch_steps;
  StepList finally_steps;

  // until
  std::optional<expr::Template> until;
  int max_iterations = 100;
  std::optional<Millis> delay;

  // wait: a fixed duration, or a duration (`wait: "${{ expr }}"`) or a point in time
  // (`wait: {until: ...}`, ISO 8601 or Unix ms) evaluated when the wait starts.
  Millis wait{0};
  std::optional<ValueTemplate> wait_for;
  std::optional<ValueTemplate> wait_until;

  // set: variable name -> value, in source order
  std::vector<std::pair<std::string, ValueTemplate>> assignments;

  // end
  std::string end_status = "succeeded";      // succeeded | failed
  std::optional<ValueTemplate> end_message;
};

struct Trigger {
  Json spec;                       // the trigger as written (schedule / okta_event / if / inputs)
  SourcePos pos;

  // Schedule triggers, once checked (both forms: `schedule: "CRON"` with an optional
  // `timezone:` beside it, or `schedule: {cron, timezone, inputs, catchup, overlap}`). Unset
  // for okta_event triggers and for a schedule the loader refused.
  std::optional<schedule::Schedule> schedule;
  schedule::Catchup catchup = schedule::kDefaultCatchup;
  schedule::Overlap overlap = schedule::kDefaultOverlap;
  // The inputs the trigger gives the flow, wherever they were written (beside `schedule:` or
  // `okta_event:`, or inside the long form); expressions checked. Empty when none.
  ValueTemplate inputs;
};

struct Flow {
  std::string name;
  std::string description;
  std::string source_file;         // as given to the loader (relative paths stay relative)
  std::string source_text;         // the YAML, kept with each execution
  std::string source_hash;         // SHA-256 of source_text, hex
  std::vector<InputDecl> inputs;
  std::optional<ValueTemplate> vars;   // initial flow variables (an object)
  std::vector<Trigger> triggers;
  std::string connection = "okta";
  std::optional<Millis> timeout;
  StepList steps;
  std::vector<std::pair<std::string, ValueTemplate>> outputs;
  SourcePos pos;

  // Names of subflows this flow calls (directly), for cycle checks and loading.
  std::vector<std::string> subflow_names() const;
};

using FlowPtr = std::shared_ptr<const Flow>;

}  // namespace spokeflow::flow
