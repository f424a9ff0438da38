#pragma once
// The flow builder (private to engine/flow): a checked, located JSON document -> an immutable
// Flow. Split by what it builds: loader_builder.cpp (ids, expressions and what they refer to,
// values), loader_declarations.cpp (inputs and triggers), loader_steps.cpp (steps).
//
// Every problem is collected (never only the first) with file:line:col, then sorted. The schema
// catches shapes (unknown keys, types, enums, patterns, a step's kind); this file catches what a
// schema cannot: durations, expressions and what they refer to, ids, actions and their inputs.
//
// Step visibility for `steps.ID` references (what the executor can rely on):
// - in a list, a step sees the steps before it (and what they export), plus what its enclosing
//   step sees; a step never sees itself or the steps enclosing it;
// - a block (`steps:`/`else:`) and a `try` step export their own id and every id inside them
//   (those steps may have been skipped: the executor reports them as not run);
// - for_each, until and parallel export only their own id: steps inside a loop body or a branch
//   are visible inside it only (the `until:` condition and `collect:` see the body's steps);
// - `else:` does not see the `steps:` block; `catch:` sees the `try:` block; `finally:` sees both;
// - `outputs:` see every step visible after the last top-level step.
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/diagnostics.hpp"
#include "common/duration.hpp"
#include "common/suggest.hpp"
#include "common/text.hpp"
#include "flow/loader.hpp"
#include "flow/located.hpp"

namespace spokeflow::flow::building {

using namespace detail;

bool contains_expression(const Json& v);
// Whether a constant fits a declared input type (an integral double counts as an integer).
bool matches_type(const Json& v, std::string_view type);
bool looks_like_email(std::string_view s);

inline constexpr std::array<std::string_view, 10> kKindKeys = {"action", "steps", "for_each", "parallel", "try",
                                                    "until",  "wait",  "set",      "flow",     "end"};

const char* kind_label(Step::Kind kind);

// Keys that belong to some kinds only, and the kinds they belong to.
struct KindKey {
  std::string_view key;
  std::vector<Step::Kind> kinds;
  std::string_view owners;
};
const std::vector<KindKey>& kind_keys();

// What an expression may refer to at one place of the flow.
struct ExprScope {
  enum class Where { steps, outputs, vars, trigger } where = Where::steps;
  std::vector<std::string> loop_names;    // for_each `as` names, outermost first
  bool in_loop = false;                   // `index` is defined
  bool in_catch = false;                  // `error` is defined
  std::set<std::string> containers;       // pointers of the loops and branches we are inside
  std::vector<std::string> building;      // ids of the enclosing steps, the innermost (self) last
};

struct IdInfo {
  std::string pointer;
  SourcePos pos;
  bool branch = false;
  std::vector<std::string> containers;  // loops / branches it sits in, outermost first
  std::string action;                   // an action step's action, whose outputs it has
};

class Builder {
 public:
  Builder(const LocatedDoc& doc, const SourceMap& map, Diagnostics& diags, const ActionRegistry& actions)
      : doc_(doc), map_(map), diags_(diags), actions_(actions) {}

  std::shared_ptr<Flow> build();

 private:
  // ------------------------------------------------------------------------------------------
  // First pass: every id (for "unknown" vs "not run yet") and every variable a set: assigns.

  void collect_ids(const Json& steps, const std::string& ptr, const std::vector<std::string>& containers);
  std::string step_label(const Json& step, const std::string& sp) const;
  void record_id(const std::string& id, const std::string& ptr, bool branch, const std::vector<std::string>& containers,
                 std::string action = {});

  // ------------------------------------------------------------------------------------------
  // Values and expressions

  SourcePos pos(const std::string& ptr) const { return doc_.pos(ptr); }

  // The keys of an object in the order they are written.
  std::vector<std::string> keys_in_order(const Json& obj, const std::string& ptr) const;
  void parse_error(const std::string& ptr, std::string_view text, const expr::ParseError& err);

  // A string value that holds `${{`: parsed, its references checked.
  std::optional<expr::Template> parse_template(const std::string& text, const std::string& ptr, const ExprScope& scope);
  // A parsed template with its references checked, or its parse error reported.
  std::optional<expr::Template> checked(std::variant<expr::Template, expr::ParseError> parsed, const std::string& ptr,
                                        std::string_view text, const ExprScope& scope);

  // `if:`, `until:`, `for_each:`: a bare expression or one `${{ }}`; YAML booleans are fine.
  std::optional<expr::Template> condition_at(const Json& obj, std::string_view key, const std::string& obj_ptr,
                                             const ExprScope& scope);
  ValueTemplate::Node template_node(const Json& v, const std::string& ptr, const ExprScope& scope);
  ValueTemplate value_template(const Json& v, const std::string& ptr, const ExprScope& scope);

  // ------------------------------------------------------------------------------------------
  // References

  void check_references(const expr::Template& t, const std::string& ptr, std::string_view text, const ExprScope& scope);
  std::vector<std::string> roots_available(const ExprScope& scope) const;
  void check_reference(const expr::Reference& ref, SourcePos at, const ExprScope& scope);
  bool check_step_reference(const std::string& id, SourcePos at, const ExprScope& scope);
  void check_output_field(const std::string& id, const std::string& field, SourcePos at);

  // Values read as written (aliases): an expression there would silently stay text.
  void check_plain(const Json& v, const std::string& ptr);

  // ------------------------------------------------------------------------------------------
  // Durations

  std::optional<Millis> duration_at(const Json& obj, std::string_view key, const std::string& obj_ptr);
  std::optional<Millis> timeout_at(const Json& obj, const std::string& obj_ptr, std::string_view key);

  // ------------------------------------------------------------------------------------------
  // Inputs and triggers

  void build_inputs(const Json& inputs, Flow& flow);
  const InputDecl* find_input(const Flow& flow, const std::string& name) const;

  // A schedule trigger: the cron and the time zone checked by meaning, the parsed schedule
  // kept on the trigger. The schema has checked the shapes (unknown keys, catchup and overlap
  // values, types). Returns the pointer of the inputs the trigger gives inside its long form.
  std::optional<std::string> build_schedule(const Json& t, const std::string& ptr, Trigger& trigger);

  // The inputs a trigger gives: expressions checked, names and literal types against the
  // flow's declarations.
  ValueTemplate trigger_inputs(const Json& inputs, const std::string& iptr, const Flow& flow, const ExprScope& scope);
  void build_triggers(const Json& triggers, Flow& flow);

  // ------------------------------------------------------------------------------------------
  // Steps

  // Builds a list of steps; each sees what the ones before it export. Returns what the list
  // exports, and leaves it visible (the caller rolls back what must not stay visible).
  std::set<std::string> build_steps(const Json& list, const std::string& ptr, const ExprScope& scope, StepList& out);

  // Visibility is one set with an undo log: cheaper than a copy per step.
  void show(const std::string& id);
  std::size_t mark() const { return shown_.size(); }
  void rollback(std::size_t to);

  std::set<std::string> build_step(const Json& v, const std::string& ptr, std::size_t index, const ExprScope& outer,
                                   Step& step);
  RetryPolicy build_retry(const Json& r, const std::string& ptr);

  // An `action:` names a registered action, and `with:` fits its input schema as far as known.
  void check_action(const std::string& name, const Json& obj, const std::string& obj_ptr);
  static void hide_expressions(Json& v, const std::string& ptr, std::set<std::string>& out);
  const LocatedDoc& doc_;
  const SourceMap& map_;
  Diagnostics& diags_;
  const ActionRegistry& actions_;
  std::map<std::string, IdInfo> ids_;
  std::vector<std::string> step_ids_;
  std::map<std::string, std::string> container_names_;
  std::set<std::string> var_names_;
  std::set<std::string> loop_names_;
  std::vector<std::string> input_names_;
  std::set<std::string> visible_;    // step ids that have run (or been passed) at this point
  std::vector<std::string> shown_;   // undo log of visible_
};

}  // namespace spokeflow::flow::building
