// Flow files: YAML -> located JSON -> flow.schema.json -> checked, immutable Flow.
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
#include "flow/loader.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <system_error>

#include "common/duration.hpp"
#include "common/json_schema.hpp"
#include "common/utf8.hpp"
#include "flow/located.hpp"
#include "flow/schema_check.hpp"

namespace spokeflow::flow {
namespace {

using namespace detail;

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string match = closest_match(word, candidates);
  return match.empty() ? std::string() : "; did you mean '" + match + "'?";
}

bool contains_expression(const Json& v) { return v.is_string() && v.get_ref<const std::string&>().find("${{") != std::string::npos; }

bool matches_type(const Json& v, std::string_view type) {
  if (type == "string") return v.is_string();
  if (type == "integer")
    return v.is_number_integer() || (v.is_number_float() && std::isfinite(v.get<double>()) &&
                                     v.get<double>() == static_cast<double>(static_cast<long long>(v.get<double>())));
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  return true;
}

bool looks_like_email(std::string_view s) {
  auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) return false;
  std::string_view domain = s.substr(at + 1);
  auto dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || domain.back() == '.') return false;
  for (char c : s)
    if (c == ' ' || c == '\t' || c == '\n') return false;
  return true;
}

const std::array<std::string_view, 10> kKindKeys = {"action", "steps", "for_each", "parallel", "try",
                                                    "until",  "wait",  "set",      "flow",     "end"};

const char* kind_label(Step::Kind kind) {
  switch (kind) {
    case Step::Kind::action: return "an action step";
    case Step::Kind::block: return "a steps block";
    case Step::Kind::for_each: return "a for_each step";
    case Step::Kind::parallel: return "a parallel step";
    case Step::Kind::try_catch: return "a try step";
    case Step::Kind::until: return "an until step";
    case Step::Kind::wait: return "a wait step";
    case Step::Kind::set: return "a set step";
    case Step::Kind::subflow: return "a flow step";
    case Step::Kind::end: return "an end step";
  }
  return "a step";
}

// Keys that belong to some kinds only, and the kinds they belong to.
struct KindKey {
  std::string_view key;
  std::vector<Step::Kind> kinds;
  std::string_view owners;
};
const std::vector<KindKey>& kind_keys() {
  static const std::vector<KindKey> keys = {
      {"with", {Step::Kind::action, Step::Kind::subflow}, "action and flow steps"},
      {"else", {Step::Kind::block}, "steps blocks"},
      {"as", {Step::Kind::for_each}, "for_each steps"},
      {"concurrency", {Step::Kind::for_each}, "for_each steps"},
      {"collect", {Step::Kind::for_each}, "for_each steps"},
      {"catch", {Step::Kind::try_catch}, "try steps"},
      {"finally", {Step::Kind::try_catch}, "try steps"},
      {"max_iterations", {Step::Kind::until}, "until steps"},
      {"delay", {Step::Kind::until}, "until steps"},
  };
  return keys;
}

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
};

class Builder {
 public:
  Builder(const LocatedDoc& doc, const SourceMap& map, Diagnostics& diags, const ActionRegistry& actions)
      : doc_(doc), map_(map), diags_(diags), actions_(actions) {}

  std::shared_ptr<Flow> build() {
    auto flow = std::make_shared<Flow>();
    const Json& root = doc_.root;
    flow->pos = SourcePos{1, 1};
    collect_ids(root.contains("steps") ? root["steps"] : Json(), "/steps", {});
    if (auto it = root.find("vars"); it != root.end() && it->is_object())
      for (const auto& [k, _] : it->items()) var_names_.insert(k);

    if (auto it = root.find("name"); it != root.end() && it->is_string()) flow->name = it->get<std::string>();
    if (auto it = root.find("description"); it != root.end() && it->is_string())
      flow->description = it->get<std::string>();
    if (auto it = root.find("inputs"); it != root.end() && it->is_object()) build_inputs(*it, *flow);
    if (auto it = root.find("vars"); it != root.end() && it->is_object()) {
      ExprScope scope;
      scope.where = ExprScope::Where::vars;
      flow->vars = value_template(*it, "/vars", scope);
    }
    if (auto it = root.find("triggers"); it != root.end() && it->is_array()) build_triggers(*it, *flow);
    if (auto it = root.find("connection"); it != root.end() && it->is_string()) {
      flow->connection = it->get<std::string>();
      check_plain(*it, "/connection");
    }
    flow->timeout = timeout_at(root, "", "timeout");

    ExprScope top;
    if (auto it = root.find("steps"); it != root.end()) build_steps(*it, "/steps", top, flow->steps);

    // What the top-level steps export stays visible: the outputs see all of it.
    if (auto it = root.find("outputs"); it != root.end() && it->is_object()) {
      ExprScope scope;
      scope.where = ExprScope::Where::outputs;
      for (const auto& key : keys_in_order(*it, "/outputs"))
        flow->outputs.emplace_back(key, value_template((*it)[key], child_pointer("/outputs", key), scope));
    }
    return flow;
  }

 private:
  // ------------------------------------------------------------------------------------------
  // First pass: every id (for "unknown" vs "not run yet") and every variable a set: assigns.

  void collect_ids(const Json& steps, const std::string& ptr, const std::vector<std::string>& containers) {
    if (!steps.is_array()) return;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const Json& step = steps[i];
      const std::string sp = child_pointer(ptr, i);
      if (!step.is_object()) continue;
      if (auto id = step.find("id"); id != step.end() && id->is_string()) record_id(id->get<std::string>(), sp, false, containers);
      if (auto set = step.find("set"); set != step.end() && set->is_object())
        for (const auto& [k, _] : set->items()) var_names_.insert(k);
      if (step.contains("for_each")) {
        auto as = step.find("as");
        loop_names_.insert(as != step.end() && as->is_string() ? as->get<std::string>() : std::string("item"));
      }
      const bool loop = step.contains("for_each") || step.contains("until");
      std::vector<std::string> inner = containers;
      if (loop) {
        inner.push_back(sp);
        container_names_[sp] = std::string(step.contains("for_each") ? "for_each" : "until") + " step" +
                               step_label(step, sp);
      }
      if (auto s = step.find("steps"); s != step.end()) collect_ids(*s, child_pointer(sp, "steps"), loop ? inner : containers);
      for (const char* key : {"else", "try", "catch", "finally"})
        if (auto s = step.find(key); s != step.end()) collect_ids(*s, child_pointer(sp, key), containers);
      if (auto par = step.find("parallel"); par != step.end() && par->is_array()) {
        for (std::size_t j = 0; j < par->size(); ++j) {
          const Json& branch = (*par)[j];
          const std::string bp = child_pointer(child_pointer(sp, "parallel"), j);
          if (!branch.is_object()) continue;
          std::vector<std::string> in_branch = containers;
          in_branch.push_back(bp);
          container_names_[bp] = "branch " + std::to_string(j + 1) + " of parallel step" + step_label(step, sp);
          if (auto id = branch.find("id"); id != branch.end() && id->is_string())
            record_id(id->get<std::string>(), bp, true, containers);
          if (auto s = branch.find("steps"); s != branch.end())
            collect_ids(*s, child_pointer(bp, "steps"), in_branch);
        }
      }
    }
  }

  std::string step_label(const Json& step, const std::string& sp) const {
    if (auto id = step.find("id"); id != step.end() && id->is_string()) return " '" + id->get<std::string>() + "'";
    return " at line " + std::to_string(doc_.pos(sp).line);
  }

  void record_id(const std::string& id, const std::string& ptr, bool branch, const std::vector<std::string>& containers) {
    SourcePos pos = doc_.pos(child_pointer(ptr, "id"));
    auto [it, inserted] = ids_.emplace(id, IdInfo{ptr, pos, branch, containers});
    if (!inserted) {
      diags_.error(pos, std::string("duplicate ") + (branch ? "branch" : "step") + " id '" + id +
                            "' (first used at line " + std::to_string(it->second.pos.line) + ")");
      return;
    }
    if (!branch) step_ids_.push_back(id);
  }

  // ------------------------------------------------------------------------------------------
  // Values and expressions

  SourcePos pos(const std::string& ptr) const { return doc_.pos(ptr); }

  // The keys of an object in the order they are written.
  std::vector<std::string> keys_in_order(const Json& obj, const std::string& ptr) const {
    std::vector<std::string> keys;
    for (const auto& [k, _] : obj.items()) keys.push_back(k);
    std::stable_sort(keys.begin(), keys.end(), [&](const std::string& a, const std::string& b) {
      SourcePos pa = doc_.key(child_pointer(ptr, a)), pb = doc_.key(child_pointer(ptr, b));
      return std::tie(pa.line, pa.col) < std::tie(pb.line, pb.col);
    });
    return keys;
  }

  void parse_error(const std::string& ptr, std::string_view text, const expr::ParseError& err) {
    diags_.error(value_offset_pos(doc_, map_, ptr, text, err.offset), "invalid expression: " + err.message);
  }

  // A string value that holds `${{`: parsed, its references checked.
  std::optional<expr::Template> parse_template(const std::string& text, const std::string& ptr, const ExprScope& scope) {
    auto parsed = expr::Template::parse(text);
    if (auto* err = std::get_if<expr::ParseError>(&parsed)) {
      parse_error(ptr, text, *err);
      return std::nullopt;
    }
    auto& t = std::get<expr::Template>(parsed);
    check_references(t, ptr, text, scope);
    return std::move(t);
  }

  // `if:`, `until:`, `for_each:`: a bare expression or one `${{ }}`; YAML booleans are fine.
  std::optional<expr::Template> condition_at(const Json& obj, std::string_view key, const std::string& obj_ptr,
                                             const ExprScope& scope) {
    auto it = obj.find(key);
    if (it == obj.end()) return std::nullopt;
    const std::string ptr = child_pointer(obj_ptr, key);
    std::string text;
    if (it->is_boolean()) text = it->get<bool>() ? "true" : "false";
    else if (it->is_string()) text = it->get<std::string>();
    else return std::nullopt;  // the schema reports the type
    auto parsed = expr::Template::parse_condition(text);
    if (auto* err = std::get_if<expr::ParseError>(&parsed)) {
      parse_error(ptr, text, *err);
      return std::nullopt;
    }
    auto& t = std::get<expr::Template>(parsed);
    check_references(t, ptr, text, scope);
    return std::move(t);
  }

  ValueTemplate::Node template_node(const Json& v, const std::string& ptr, const ExprScope& scope) {
    using Kind = ValueTemplate::Node::Kind;
    ValueTemplate::Node node;
    node.pos = pos(ptr);
    if (v.is_object()) {
      node.kind = Kind::object;
      for (const auto& key : keys_in_order(v, ptr))
        node.members.emplace_back(key, template_node(v[key], child_pointer(ptr, key), scope));
    } else if (v.is_array()) {
      node.kind = Kind::array;
      for (std::size_t i = 0; i < v.size(); ++i) node.items.push_back(template_node(v[i], child_pointer(ptr, i), scope));
    } else if (contains_expression(v)) {
      const std::string& text = v.get_ref<const std::string&>();
      auto t = parse_template(text, ptr, scope);
      if (t && t->has_expressions()) {
        node.kind = Kind::expression;
        node.expression = std::move(*t);
      } else {
        node.literal = v;
      }
    } else {
      node.literal = v;
    }
    return node;
  }

  ValueTemplate value_template(const Json& v, const std::string& ptr, const ExprScope& scope) {
    return ValueTemplate(template_node(v, ptr, scope));
  }

  // ------------------------------------------------------------------------------------------
  // References

  void check_references(const expr::Template& t, const std::string& ptr, std::string_view text, const ExprScope& scope) {
    for (const auto& ref : t.references()) {
      if (ref.root.empty()) continue;
      check_reference(ref, value_offset_pos(doc_, map_, ptr, text, ref.offset), scope);
    }
  }

  std::vector<std::string> roots_available(const ExprScope& scope) const {
    switch (scope.where) {
      case ExprScope::Where::vars: return {"inputs", "event", "execution"};
      case ExprScope::Where::trigger: return {"event", "execution"};
      case ExprScope::Where::outputs: return {"inputs", "vars", "steps", "event", "execution"};
      case ExprScope::Where::steps: break;
    }
    std::vector<std::string> roots = {"inputs", "vars", "steps", "event", "execution"};
    if (scope.in_catch) roots.push_back("error");
    std::set<std::string> seen;
    for (auto it = scope.loop_names.rbegin(); it != scope.loop_names.rend(); ++it)
      if (seen.insert(*it).second) roots.push_back(*it);
    if (scope.in_loop) roots.push_back("index");
    return roots;
  }

  void check_reference(const expr::Reference& ref, SourcePos at, const ExprScope& scope) {
    const std::string& root = ref.root;
    std::vector<std::string> roots = roots_available(scope);
    if (std::find(roots.begin(), roots.end(), root) == roots.end()) {
      std::string message;
      if (scope.where == ExprScope::Where::vars && (root == "steps" || root == "vars")) {
        message = "'" + root + "' is not available in vars: (initial values are set before any step runs)";
      } else if (scope.where == ExprScope::Where::trigger &&
                 (root == "inputs" || root == "vars" || root == "steps")) {
        message = "'" + root + "' is not available in a trigger (only event and execution are)";
      } else if (root == "error") {
        message = "'error' is only available in a catch block";
      } else if (root == "index") {
        message = "'index' is only available inside a for_each";
      } else if (root == "item" && !scope.loop_names.empty()) {
        message = "'item' is not defined here: this for_each names its element '" + scope.loop_names.back() + "'";
      } else if (root == "item") {
        message = "'item' is only available inside a for_each";
      } else if (loop_names_.count(root)) {
        message = "'" + root + "' is only available inside the for_each that names it (as: " + root + ")";
      } else {
        message = "unknown name '" + root + "' in expression (available here: " + join(roots) + ")" +
                  did_you_mean(root, roots);
      }
      diags_.error(at, message);
      return;
    }
    if (root == "inputs" && !ref.path.empty()) {
      const std::string& name = ref.path[0];
      if (std::find(input_names_.begin(), input_names_.end(), name) == input_names_.end()) {
        if (input_names_.empty()) diags_.error(at, "unknown input '" + name + "' (the flow declares no inputs)");
        else
          diags_.error(at, "unknown input '" + name + "' (inputs: " + join(input_names_) + ")" +
                               did_you_mean(name, input_names_));
      }
    } else if (root == "vars" && !ref.path.empty()) {
      const std::string& name = ref.path[0];
      if (!var_names_.count(name)) {
        std::vector<std::string> names(var_names_.begin(), var_names_.end());
        diags_.error(at, "unknown variable '" + name + "' (neither in vars: nor assigned by a set: step)" +
                             did_you_mean(name, names));
      }
    } else if (root == "steps" && !ref.path.empty()) {
      if (!check_step_reference(ref.path[0], at, scope)) return;
      if (ref.path.size() >= 2) {
        static const std::vector<std::string> kFields = {"status", "outputs", "error"};
        const std::string& field = ref.path[1];
        if (std::find(kFields.begin(), kFields.end(), field) == kFields.end())
          diags_.error(at, "steps." + ref.path[0] + " has no field '" + field + "' (use status, outputs or error)" +
                               did_you_mean(field, kFields));
      }
    }
  }

  bool check_step_reference(const std::string& id, SourcePos at, const ExprScope& scope) {
    auto it = ids_.find(id);
    if (it == ids_.end()) {
      diags_.error(at, "unknown step '" + id + "'" + did_you_mean(id, step_ids_));
      return false;
    }
    const IdInfo& info = it->second;
    if (info.branch) {
      diags_.error(at, "'" + id + "' names a parallel branch, not a step; refer to the steps inside it");
      return false;
    }
    if (visible_.count(id)) return true;
    if (!scope.building.empty() && scope.building.back() == id) {
      diags_.error(at, "step '" + id + "' has not run yet at this point (a step cannot use its own results)");
      return false;
    }
    if (std::find(scope.building.begin(), scope.building.end(), id) != scope.building.end()) {
      diags_.error(at, "step '" + id + "' has not run yet at this point (this expression is inside it)");
      return false;
    }
    for (const auto& c : info.containers) {
      if (!scope.containers.count(c)) {
        diags_.error(at, "step '" + id + "' is inside " + container_names_[c] + " and is visible only inside it");
        return false;
      }
    }
    bool later = std::tie(info.pos.line, info.pos.col) > std::tie(at.line, at.col);
    diags_.error(at, "step '" + id + "' has not run yet at this point" + std::string(later ? " (it runs later)" : ""));
    return false;
  }

  // Values read as written (aliases): an expression there would silently stay text.
  void check_plain(const Json& v, const std::string& ptr) {
    if (contains_expression(v))
      diags_.error(pos(ptr), "'" + pointer_tokens(ptr).back() +
                                 "' names a connection alias as written; expressions are not evaluated here");
  }

  // ------------------------------------------------------------------------------------------
  // Durations

  std::optional<Millis> duration_at(const Json& obj, std::string_view key, const std::string& obj_ptr) {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) return std::nullopt;  // the schema reports other types
    auto d = parse_duration(it->get_ref<const std::string&>());
    if (!d) diags_.error(pos(child_pointer(obj_ptr, key)), bad_duration_message(it->get_ref<const std::string&>()));
    return d;
  }

  std::optional<Millis> timeout_at(const Json& obj, const std::string& obj_ptr, std::string_view key) {
    auto d = duration_at(obj, key, obj_ptr);
    if (d && d->count() == 0) {
      diags_.error(pos(child_pointer(obj_ptr, key)), "a timeout of 0 would fail at once; give a positive duration");
      return std::nullopt;
    }
    return d;
  }

  // ------------------------------------------------------------------------------------------
  // Inputs and triggers

  void build_inputs(const Json& inputs, Flow& flow) {
    for (const auto& name : keys_in_order(inputs, "/inputs")) {
      const Json& spec = inputs[name];
      const std::string ptr = child_pointer("/inputs", name);
      input_names_.push_back(name);
      InputDecl decl;
      decl.name = name;
      decl.pos = doc_.key(ptr);
      if (!spec.is_object()) {
        flow.inputs.push_back(std::move(decl));
        continue;
      }
      if (auto it = spec.find("type"); it != spec.end() && it->is_string()) decl.type = it->get<std::string>();
      if (auto it = spec.find("required"); it != spec.end() && it->is_boolean()) decl.required = it->get<bool>();
      if (auto it = spec.find("format"); it != spec.end() && it->is_string()) decl.format = it->get<std::string>();
      if (auto it = spec.find("sensitive"); it != spec.end() && it->is_boolean()) decl.sensitive = it->get<bool>();
      if (auto it = spec.find("description"); it != spec.end() && it->is_string())
        decl.description = it->get<std::string>();
      static const std::set<std::string> kTypes = {"string", "integer", "number", "boolean", "object", "array"};
      const bool typed = kTypes.count(decl.type) > 0;
      if (auto it = spec.find("enum"); it != spec.end() && it->is_array()) {
        for (std::size_t i = 0; i < it->size(); ++i) {
          const Json& e = (*it)[i];
          if (typed && !matches_type(e, decl.type))
            diags_.error(pos(child_pointer(child_pointer(ptr, "enum"), i)),
                         "enum value " + short_value(e) + " of input '" + name + "' is not " + describe_type(decl.type));
          decl.enum_values.push_back(e);
        }
      }
      if (!decl.format.empty() && typed && decl.type != "string")
        diags_.error(pos(child_pointer(ptr, "format")), "format '" + decl.format + "' applies to string inputs only");
      if (auto it = spec.find("default"); it != spec.end()) {
        const std::string dptr = child_pointer(ptr, "default");
        const Json& d = *it;
        if (contains_expression(d)) {
          diags_.error(pos(dptr), "the default of input '" + name + "' cannot hold an expression (defaults are plain values)");
        } else if (typed && !matches_type(d, decl.type)) {
          diags_.error(pos(dptr), "the default of input '" + name + "' should be " + describe_type(decl.type) + ", not " +
                                      describe_value(d));
        } else if (!decl.enum_values.empty() &&
                   std::find(decl.enum_values.begin(), decl.enum_values.end(), d) == decl.enum_values.end()) {
          std::vector<std::string> options;
          for (const auto& e : decl.enum_values) options.push_back(short_value(e));
          diags_.error(pos(dptr), "the default of input '" + name + "' is not one of its enum values (" + join(options) + ")");
        } else if (decl.format == "email" && d.is_string() && !looks_like_email(d.get<std::string>())) {
          diags_.error(pos(dptr), "the default of input '" + name + "' is not an email address");
        }
        decl.default_value = d;
      }
      flow.inputs.push_back(std::move(decl));
    }
  }

  const InputDecl* find_input(const Flow& flow, const std::string& name) const {
    for (const auto& in : flow.inputs)
      if (in.name == name) return &in;
    return nullptr;
  }

  // A schedule trigger: the cron and the time zone checked by meaning, the parsed schedule
  // kept on the trigger. The schema has checked the shapes (unknown keys, catchup and overlap
  // values, types). Returns the pointer of the inputs the trigger gives inside its long form.
  std::optional<std::string> build_schedule(const Json& t, const std::string& ptr, Trigger& trigger) {
    const Json& s = t["schedule"];
    const std::string sptr = child_pointer(ptr, "schedule");
    const Json* cron = nullptr;
    std::string cron_ptr;
    const Json* zone = nullptr;
    std::string zone_ptr;
    std::optional<std::string> inner_inputs;
    if (s.is_string()) {
      cron = &s;
      cron_ptr = sptr;
      if (auto it = t.find("timezone"); it != t.end()) {
        zone = &*it;
        zone_ptr = child_pointer(ptr, "timezone");
      }
    } else if (s.is_object()) {
      if (auto it = s.find("cron"); it != s.end()) {
        cron = &*it;
        cron_ptr = child_pointer(sptr, "cron");
      }
      if (auto it = s.find("timezone"); it != s.end()) {
        zone = &*it;
        zone_ptr = child_pointer(sptr, "timezone");
      }
      if (t.contains("timezone"))
        diags_.error(doc_.key(child_pointer(ptr, "timezone")),
                     "'timezone' goes inside 'schedule:' when it is a mapping (next to 'cron')");
      if (s.contains("inputs")) {
        inner_inputs = child_pointer(sptr, "inputs");
        if (t.contains("inputs"))
          diags_.error(doc_.key(*inner_inputs), "the trigger gives 'inputs' twice (inside 'schedule:' and beside it); keep one");
      }
      if (auto it = s.find("catchup"); it != s.end() && it->is_string())
        if (auto c = schedule::catchup_from_string(it->get_ref<const std::string&>())) trigger.catchup = *c;
      if (auto it = s.find("overlap"); it != s.end() && it->is_string())
        if (auto o = schedule::overlap_from_string(it->get_ref<const std::string&>())) trigger.overlap = *o;
    } else {
      return inner_inputs;  // the schema says what it should be
    }

    bool ok = cron && cron->is_string();
    if (ok) {
      auto parsed = schedule::parse_cron(cron->get_ref<const std::string&>());
      if (!parsed) {
        diags_.error(pos(cron_ptr), "bad schedule " + short_value(*cron) + ": " + parsed.error().message);
        ok = false;
      }
    }
    std::string zone_name = "UTC";
    if (zone) {
      if (!zone->is_string() || zone->get_ref<const std::string&>().empty()) {
        ok = false;  // the schema reports it
      } else {
        zone_name = zone->get<std::string>();
        if (auto checked = schedule::check_time_zone(zone_name); !checked) {
          diags_.error(pos(zone_ptr), checked.error().message + did_you_mean(zone_name, schedule::time_zone_names()));
          ok = false;
        }
      }
    }
    if (ok) {
      auto made = schedule::Schedule::make(cron->get_ref<const std::string&>(), zone_name);
      if (made) trigger.schedule = std::move(*made);
      else diags_.error(pos(cron_ptr), "bad schedule " + short_value(*cron) + ": " + made.error().message);
    }
    return inner_inputs;
  }

  // The inputs a trigger gives: expressions checked, names and literal types against the
  // flow's declarations.
  ValueTemplate trigger_inputs(const Json& inputs, const std::string& iptr, const Flow& flow, const ExprScope& scope) {
    for (const auto& [name, value] : inputs.items()) {
      const std::string vptr = child_pointer(iptr, name);
      const InputDecl* decl = find_input(flow, name);
      if (!decl) {
        diags_.error(doc_.key(vptr), "the trigger gives input '" + name + "', which the flow does not declare" +
                                         (input_names_.empty() ? std::string(" (it has no inputs)")
                                                               : " (inputs: " + join(input_names_) + ")") +
                                         did_you_mean(name, input_names_));
      } else if (!contains_expression(value) && !decl->type.empty() && !matches_type(value, decl->type)) {
        diags_.error(pos(vptr), "input '" + name + "' should be " + describe_type(decl->type) + ", not " +
                                    describe_value(value));
      }
    }
    return value_template(inputs, iptr, scope);  // parses and checks the expressions
  }

  void build_triggers(const Json& triggers, Flow& flow) {
    for (std::size_t i = 0; i < triggers.size(); ++i) {
      const Json& t = triggers[i];
      const std::string ptr = child_pointer("/triggers", i);
      Trigger trigger;
      trigger.spec = t;
      trigger.pos = pos(ptr);
      if (t.is_object()) {
        ExprScope scope;
        scope.where = ExprScope::Where::trigger;
        const bool schedule = t.contains("schedule");
        std::optional<std::string> inner_inputs;
        if (schedule) inner_inputs = build_schedule(t, ptr, trigger);
        if (t.contains("timezone") && !schedule)
          diags_.error(doc_.key(child_pointer(ptr, "timezone")), "'timezone' applies to schedule triggers only");
        if (t.contains("if") && schedule)
          diags_.error(doc_.key(child_pointer(ptr, "if")), "'if' applies to okta_event triggers only (a schedule has no event)");
        condition_at(t, "if", ptr, scope);
        if (auto it = t.find("inputs"); it != t.end() && it->is_object())
          trigger.inputs = trigger_inputs(*it, child_pointer(ptr, "inputs"), flow, scope);
        if (inner_inputs) {
          const Json& inner = t["schedule"]["inputs"];
          if (inner.is_object()) {
            ValueTemplate v = trigger_inputs(inner, *inner_inputs, flow, scope);
            if (!t.contains("inputs")) trigger.inputs = std::move(v);
          }
        }
      }
      flow.triggers.push_back(std::move(trigger));
    }
  }

  // ------------------------------------------------------------------------------------------
  // Steps

  // Builds a list of steps; each sees what the ones before it export. Returns what the list
  // exports, and leaves it visible (the caller rolls back what must not stay visible).
  std::set<std::string> build_steps(const Json& list, const std::string& ptr, const ExprScope& scope, StepList& out) {
    std::set<std::string> exported;
    if (!list.is_array()) return exported;
    for (std::size_t i = 0; i < list.size(); ++i) {
      Step step;
      auto ex = build_step(list[i], child_pointer(ptr, i), i, scope, step);
      for (const auto& id : ex) show(id);
      if (exported.empty()) exported = std::move(ex);
      else exported.insert(ex.begin(), ex.end());
      out.push_back(std::move(step));
    }
    return exported;
  }

  // Visibility is one set with an undo log: cheaper than a copy per step.
  void show(const std::string& id) {
    if (visible_.insert(id).second) shown_.push_back(id);
  }
  std::size_t mark() const { return shown_.size(); }
  void rollback(std::size_t to) {
    while (shown_.size() > to) {
      visible_.erase(shown_.back());
      shown_.pop_back();
    }
  }

  std::set<std::string> build_step(const Json& v, const std::string& ptr, std::size_t index, const ExprScope& outer,
                                   Step& step) {
    std::set<std::string> exported;
    step.pos = pos(ptr);
    step.path_name = "#" + std::to_string(index + 1);
    if (!v.is_object()) return exported;  // the schema reports it
    if (auto it = v.find("id"); it != v.end() && it->is_string()) {
      step.id = it->get<std::string>();
      step.path_name = step.id;
      exported.insert(step.id);
    }
    if (auto it = v.find("name"); it != v.end() && it->is_string()) step.name = it->get<std::string>();

    // The kind: exactly one kind key (`steps` also serves for_each and until as their body).
    std::vector<std::string_view> kinds;
    for (auto k : kKindKeys)
      if (v.contains(k)) kinds.push_back(k);
    if (v.contains("steps") && (v.contains("for_each") || v.contains("until")))
      kinds.erase(std::find(kinds.begin(), kinds.end(), "steps"));
    if (kinds.size() != 1) return exported;  // the schema reports it ("a step needs exactly one of: ...")
    const std::string_view kind = kinds[0];
    if (kind == "action") step.kind = Step::Kind::action;
    else if (kind == "steps") step.kind = Step::Kind::block;
    else if (kind == "for_each") step.kind = Step::Kind::for_each;
    else if (kind == "parallel") step.kind = Step::Kind::parallel;
    else if (kind == "try") step.kind = Step::Kind::try_catch;
    else if (kind == "until") step.kind = Step::Kind::until;
    else if (kind == "wait") step.kind = Step::Kind::wait;
    else if (kind == "set") step.kind = Step::Kind::set;
    else if (kind == "flow") step.kind = Step::Kind::subflow;
    else step.kind = Step::Kind::end;

    for (const auto& kk : kind_keys()) {
      if (!v.contains(kk.key)) continue;
      if (std::find(kk.kinds.begin(), kk.kinds.end(), step.kind) == kk.kinds.end())
        diags_.error(doc_.key(child_pointer(ptr, kk.key)), "'" + std::string(kk.key) + "' has no meaning in " +
                                                               kind_label(step.kind) + " (it belongs to " +
                                                               std::string(kk.owners) + ")");
    }
    if (v.contains("steps") && step.kind != Step::Kind::block && step.kind != Step::Kind::for_each &&
        step.kind != Step::Kind::until)
      diags_.error(doc_.key(child_pointer(ptr, "steps")),
                   std::string("'steps' has no meaning in ") + kind_label(step.kind) +
                       " (it belongs to steps blocks, for_each and until)");

    ExprScope scope = outer;
    if (!step.id.empty()) scope.building.push_back(step.id);
    else scope.building.push_back("");

    // Common keys.
    step.condition = condition_at(v, "if", ptr, scope);
    step.timeout = timeout_at(v, ptr, "timeout");
    if (auto it = v.find("retry"); it != v.end() && it->is_object()) step.retry = build_retry(*it, child_pointer(ptr, "retry"));
    if (auto it = v.find("continue_on_error"); it != v.end() && it->is_boolean()) step.continue_on_error = it->get<bool>();
    if (auto it = v.find("connection"); it != v.end() && it->is_string()) {
      step.connection = it->get<std::string>();
      check_plain(*it, child_pointer(ptr, "connection"));
    }

    auto with_template = [&](const Json& obj, const std::string& obj_ptr) {
      if (auto it = obj.find("with"); it != obj.end() && it->is_object())
        return value_template(*it, child_pointer(obj_ptr, "with"), scope);
      return ValueTemplate();
    };
    auto body = [&](const std::string& key, const ExprScope& s, StepList& list) {
      if (auto it = v.find(key); it != v.end()) return build_steps(*it, child_pointer(ptr, key), s, list);
      return std::set<std::string>();
    };
    auto add = [&](const std::set<std::string>& ids) { exported.insert(ids.begin(), ids.end()); };

    switch (step.kind) {
      case Step::Kind::action: {
        if (auto it = v.find("action"); it != v.end() && it->is_string()) {
          step.action = it->get<std::string>();
          check_action(step.action, v, ptr);
        }
        step.with = with_template(v, ptr);
        break;
      }
      case Step::Kind::block: {
        if (v.contains("else") && !v.contains("if"))
          diags_.error(doc_.key(child_pointer(ptr, "else")), "'else' needs an 'if' on the same step");
        const std::size_t m = mark();
        add(body("steps", scope, step.steps));
        rollback(m);  // `else:` runs instead of `steps:`
        add(body("else", scope, step.else_steps));
        rollback(m);
        break;
      }
      case Step::Kind::for_each: {
        const std::string fptr = child_pointer(ptr, "for_each");
        const Json& items = v["for_each"];
        if (items.is_string()) {
          step.items = condition_at(v, "for_each", ptr, scope);
        } else if (items.is_object()) {
          if (auto it = items.find("action"); it != items.end() && it->is_string()) {
            step.items_action = it->get<std::string>();
            check_action(step.items_action, items, fptr);
          }
          step.items_with = with_template(items, fptr);
        }
        if (auto it = v.find("as"); it != v.end() && it->is_string()) {
          step.as = it->get<std::string>();
          static const std::set<std::string> kReserved = {"inputs", "vars", "steps", "event", "execution", "error", "index"};
          if (kReserved.count(step.as))
            diags_.error(pos(child_pointer(ptr, "as")),
                         "'as: " + step.as + "' would hide the " + step.as + " context; choose another name");
        }
        if (auto it = v.find("concurrency"); it != v.end() && it->is_number_integer() && it->get<long long>() >= 1)
          step.concurrency = static_cast<int>(std::min<long long>(it->get<long long>(), 1'000'000));
        if (!v.contains("steps"))
          diags_.error(pos(ptr), "a for_each step needs 'steps' (the loop body)");
        ExprScope inner = scope;
        inner.containers.insert(ptr);
        inner.loop_names.push_back(step.as);
        inner.in_loop = true;
        const std::size_t m = mark();
        body("steps", inner, step.steps);
        if (auto it = v.find("collect"); it != v.end())  // per iteration, after the body
          step.collect = value_template(*it, child_pointer(ptr, "collect"), inner);
        rollback(m);  // the body is visible inside the loop only
        break;
      }
      case Step::Kind::parallel: {
        const Json& branches = v["parallel"];
        if (!branches.is_array()) break;
        for (std::size_t j = 0; j < branches.size(); ++j) {
          const Json& b = branches[j];
          const std::string bptr = child_pointer(child_pointer(ptr, "parallel"), j);
          Branch branch;
          branch.pos = pos(bptr);
          if (b.is_object()) {
            if (auto it = b.find("id"); it != b.end() && it->is_string()) branch.id = it->get<std::string>();
            ExprScope inner = scope;
            inner.containers.insert(bptr);
            const std::size_t m = mark();
            if (auto it = b.find("steps"); it != b.end()) build_steps(*it, child_pointer(bptr, "steps"), inner, branch.steps);
            rollback(m);
          }
          step.branches.push_back(std::move(branch));
        }
        break;
      }
      case Step::Kind::try_catch: {
        if (!v.contains("catch") && !v.contains("finally"))
          diags_.error(pos(ptr), "a try step needs 'catch' and/or 'finally'");
        const std::size_t m = mark();
        add(body("try", scope, step.try_steps));
        ExprScope in_catch = scope;
        in_catch.in_catch = true;
        add(body("catch", in_catch, step.catch_steps));  // sees the try block
        add(body("finally", scope, step.finally_steps));  // sees both
        rollback(m);
        break;
      }
      case Step::Kind::until: {
        if (!v.contains("steps")) diags_.error(pos(ptr), "an until step needs 'steps' (the loop body)");
        ExprScope inner = scope;
        inner.containers.insert(ptr);
        const std::size_t m = mark();
        body("steps", inner, step.steps);
        step.until = condition_at(v, "until", ptr, inner);  // after the body, inside the loop
        rollback(m);
        if (auto it = v.find("max_iterations"); it != v.end() && it->is_number_integer() && it->get<long long>() >= 1)
          step.max_iterations = static_cast<int>(std::min<long long>(it->get<long long>(), 1'000'000'000));
        step.delay = duration_at(v, "delay", ptr);
        break;
      }
      case Step::Kind::wait: {
        const Json& w = v["wait"];
        if (w.is_object()) {
          if (auto it = w.find("until"); it != w.end())
            step.wait_until = value_template(*it, child_pointer(child_pointer(ptr, "wait"), "until"), scope);
        } else if (contains_expression(w)) {
          step.wait_for = value_template(w, child_pointer(ptr, "wait"), scope);
        } else if (auto d = duration_at(v, "wait", ptr)) {
          step.wait = *d;
        }
        break;
      }
      case Step::Kind::set: {
        const Json& set = v["set"];
        if (!set.is_object()) break;
        const std::string sptr = child_pointer(ptr, "set");
        for (const auto& name : keys_in_order(set, sptr))
          step.assignments.emplace_back(name, value_template(set[name], child_pointer(sptr, name), scope));
        break;
      }
      case Step::Kind::subflow: {
        if (auto it = v.find("flow"); it != v.end() && it->is_string()) step.flow_name = it->get<std::string>();
        step.with = with_template(v, ptr);
        break;
      }
      case Step::Kind::end: {
        const Json& end = v["end"];
        if (!end.is_object()) break;
        if (auto it = end.find("status"); it != end.end() && it->is_string() &&
                                          (*it == "succeeded" || *it == "failed"))
          step.end_status = it->get<std::string>();
        if (auto it = end.find("message"); it != end.end())
          step.end_message = value_template(*it, child_pointer(child_pointer(ptr, "end"), "message"), scope);
        break;
      }
    }
    return exported;
  }

  RetryPolicy build_retry(const Json& r, const std::string& ptr) {
    RetryPolicy policy;
    policy.pos = pos(ptr);
    if (auto it = r.find("max_attempts"); it != r.end() && it->is_number_integer() && it->get<long long>() >= 1)
      policy.max_attempts = static_cast<int>(std::min<long long>(it->get<long long>(), 1'000'000));
    if (auto it = r.find("backoff"); it != r.end() && it->is_string())
      policy.backoff = *it == "constant" ? RetryPolicy::Backoff::constant : RetryPolicy::Backoff::exponential;
    if (auto d = duration_at(r, "initial_interval", ptr)) policy.initial_interval = *d;
    if (auto d = duration_at(r, "max_interval", ptr)) policy.max_interval = *d;
    if (auto it = r.find("multiplier"); it != r.end() && it->is_number() && it->get<double>() >= 1)
      policy.multiplier = it->get<double>();
    if (auto it = r.find("jitter"); it != r.end() && it->is_boolean()) policy.jitter = it->get<bool>();
    if (auto it = r.find("on"); it != r.end() && it->is_array()) {
      for (const auto& item : *it) {
        if (!item.is_string()) continue;
        const std::string& s = item.get_ref<const std::string&>();
        if (s.rfind("okta:", 0) == 0) policy.on_okta_codes.push_back(s.substr(5));
        else if (auto kind = error_kind_from_string(s)) policy.on_kinds.push_back(*kind);
      }
    }
    return policy;
  }

  // An `action:` names a registered action, and `with:` fits its input schema as far as known.
  void check_action(const std::string& name, const Json& obj, const std::string& obj_ptr) {
    const std::string aptr = child_pointer(obj_ptr, "action");
    const Action* action = actions_.find(name);
    if (!action) {
      std::vector<std::string> names;
      for (const Action* a : actions_.list()) names.push_back(a->info().name);
      diags_.error(pos(aptr), "unknown action '" + name + "'" + did_you_mean(name, names));
      return;
    }
    const ActionInfo& info = action->info();
    if (!info.inputs_checker) return;
    const std::string wptr = child_pointer(obj_ptr, "with");
    Json view = Json::object();
    if (auto it = obj.find("with"); it != obj.end()) {
      if (!it->is_object()) return;  // the schema reports it
      view = *it;
    }
    SchemaCheck check;
    check.mode = SchemaCheck::Mode::action_inputs;
    check.action = name;
    check.base = wptr;
    hide_expressions(view, "", check.expressions);
    check_schema(*info.inputs_checker, view, check, doc_, diags_);
  }

  static void hide_expressions(Json& v, const std::string& ptr, std::set<std::string>& out) {
    if (v.is_object()) {
      for (auto& [k, member] : v.items()) hide_expressions(member, child_pointer(ptr, k), out);
    } else if (v.is_array()) {
      for (std::size_t i = 0; i < v.size(); ++i) hide_expressions(v[i], child_pointer(ptr, i), out);
    } else if (contains_expression(v)) {
      v = nullptr;
      out.insert(ptr);
    }
  }

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

std::string format_size(std::size_t bytes) {
  std::ostringstream out;
  if (bytes >= (1u << 20)) out << (bytes >> 20) << " MiB";
  else if (bytes >= 1024) out << (bytes >> 10) << " KiB";
  else out << bytes << " bytes";
  return out.str();
}

std::string too_large_message(std::size_t bytes) {
  return "the flow file is too large (" + std::to_string(bytes) + " bytes; the limit is " +
         format_size(kMaxFlowFileBytes) + ")";
}

}  // namespace

// ---------------------------------------------------------------------------------------------

LoadResult load_flow_text(std::string_view text, const std::string& display_name, const ActionRegistry& actions) {
  LoadResult result;
  result.diagnostics = Diagnostics(display_name);
  Diagnostics& diags = result.diagnostics;
  if (text.size() > kMaxFlowFileBytes) {
    diags.error({}, too_large_message(text.size()));
    return result;
  }
  std::string_view body = text;
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // a UTF-8 byte order mark
  SourceMap map(body);
  if (auto bad = find_invalid_utf8(body)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(body[*bad])));
    diags.error(map.at(*bad), std::string("the file is not valid UTF-8 (byte ") + hex + " here); save it as UTF-8");
    return result;
  }

  try {
    LocatedDoc doc;
    if (!parse_yaml(body, map, doc, diags)) {
      diags.sort_unique();
      return result;
    }
    if (!doc.root.is_object()) {
      diags.error(SourcePos{1, 1}, "a flow file is a mapping with name:, steps: and more, not " + describe_value(doc.root));
      diags.sort_unique();
      return result;
    }
    SchemaCheck check;
    check_schema(*JsonSchema::embedded("flow.schema.json"), doc.root, check, doc, diags);

    Builder builder(doc, map, diags, actions);
    std::shared_ptr<Flow> flow = builder.build();
    flow->source_file = display_name;
    flow->source_text = std::string(text);
    flow->source_hash = sha256_hex(text);
    diags.sort_unique();
    if (diags.empty()) result.flow = std::move(flow);
  } catch (const std::exception& e) {
    // Loading is pure input checking: reaching this is a bug, reported rather than crashing.
    diags.error({}, std::string("internal error while loading the flow: ") + e.what());
    diags.sort_unique();
  }
  return result;
}

LoadResult load_flow_file(const std::string& path, const ActionRegistry& actions) {
  LoadResult result;
  result.diagnostics = Diagnostics(path);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    result.diagnostics.error({}, "is a directory, not a flow file");
    return result;
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    result.diagnostics.error({}, "cannot read the flow file: " + ec.message());
    return result;
  }
  if (size > kMaxFlowFileBytes) {
    result.diagnostics.error({}, too_large_message(static_cast<std::size_t>(size)));
    return result;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    result.diagnostics.error({}, "cannot open the flow file");
    return result;
  }
  std::string text;
  text.resize(static_cast<std::size_t>(size));
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  // The file may have grown since file_size(): read what is left, up to the limit.
  char extra[4096];
  while (in.read(extra, sizeof extra) || in.gcount() > 0) {
    text.append(extra, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxFlowFileBytes) {
      result.diagnostics.error({}, too_large_message(text.size()));
      return result;
    }
  }
  return load_flow_text(text, path, actions);
}

// ---------------------------------------------------------------------------------------------
// FlowLibrary

FlowLibrary::FlowLibrary(std::string dir, const ActionRegistry& actions) : dir_(std::move(dir)), actions_(actions) {}

namespace {
// The `name:` of a flow file, read cheaply (no checks), or "".
std::string peek_name(const std::filesystem::path& file) {
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec || size > kMaxFlowFileBytes) return "";
  std::ifstream in(file, std::ios::binary);
  std::string line;
  // Only a top-level `name:` line counts: no indentation.
  while (std::getline(in, line)) {
    if (line.rfind("name:", 0) != 0) continue;
    std::string value = line.substr(5);
    if (auto hash = value.find(" #"); hash != std::string::npos) value.resize(hash);
    auto b = value.find_first_not_of(" \t\r");
    auto e = value.find_last_not_of(" \t\r");
    if (b == std::string::npos) return "";
    value = value.substr(b, e - b + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    return value;
  }
  return "";
}
}  // namespace

LoadResult FlowLibrary::load(const std::string& name) {
  if (auto it = cache_.find(name); it != cache_.end()) {
    LoadResult cached;
    cached.flow = it->second;
    cached.diagnostics = Diagnostics(it->second->source_file);
    return cached;
  }
  namespace fs = std::filesystem;
  std::vector<std::string> tried;
  std::optional<LoadResult> mismatch;
  auto accept = [&](LoadResult r) {
    if (r.ok()) cache_[name] = r.flow;
    return r;
  };
  for (const char* ext : {".yaml", ".yml"}) {
    fs::path p = fs::path(dir_) / (name + ext);
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) continue;
    tried.push_back(p.string());
    LoadResult r = load_flow_file(p.string(), actions_);
    if (!r.ok()) {
      // A broken file under the flow's own name: most likely the flow itself.
      if (peek_name(p) == name || peek_name(p).empty()) return r;
      continue;
    }
    if (r.flow->name == name) return accept(std::move(r));
    if (!mismatch) {
      mismatch.emplace();
      mismatch->diagnostics = Diagnostics(p.string());
      mismatch->diagnostics.error({}, "this file holds flow '" + r.flow->name + "', not '" + name +
                                          "' (a flow file is best named after its flow)");
    }
  }
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    std::error_code fec;
    if (!fs::is_regular_file(p, fec)) continue;
    if (p.extension() != ".yaml" && p.extension() != ".yml") continue;
    files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    if (std::find(tried.begin(), tried.end(), p.string()) != tried.end()) continue;
    if (peek_name(p) != name) continue;
    LoadResult r = load_flow_file(p.string(), actions_);
    if (!r.ok() || r.flow->name == name) return accept(std::move(r));
  }
  if (mismatch) return std::move(*mismatch);
  LoadResult missing;
  missing.diagnostics = Diagnostics(dir_);
  missing.diagnostics.error({}, "no flow named '" + name + "' (looked for " + name + ".yaml and " + name +
                                    ".yml, and at the name: of every .yaml/.yml file in " + dir_ + ")");
  return missing;
}

namespace {
void subflow_steps(const StepList& steps, std::vector<const Step*>& out) {
  for (const auto& step : steps) {
    if (step.kind == Step::Kind::subflow) out.push_back(&step);
    subflow_steps(step.steps, out);
    subflow_steps(step.else_steps, out);
    subflow_steps(step.try_steps, out);
    subflow_steps(step.catch_steps, out);
    subflow_steps(step.finally_steps, out);
    for (const auto& b : step.branches) subflow_steps(b.steps, out);
  }
}

// `with:` of a flow step against the subflow's declared inputs.
void check_subflow_inputs(const Flow& caller, const Step& step, const Flow& callee, Diagnostics& diags) {
  std::vector<std::string> names;
  for (const auto& in : callee.inputs) names.push_back(in.name);
  std::set<std::string> given;
  const auto& root = step.with.root();
  if (root.kind == ValueTemplate::Node::Kind::object) {
    for (const auto& [key, node] : root.members) {
      given.insert(key);
      const InputDecl* decl = nullptr;
      for (const auto& in : callee.inputs)
        if (in.name == key) decl = &in;
      if (!decl) {
        diags.add({caller.source_file, node.pos,
                   "flow '" + callee.name + "' has no input '" + key + "'" +
                       (names.empty() ? std::string(" (it takes no inputs)") : " (inputs: " + join(names) + ")") +
                       did_you_mean(key, names)});
        continue;
      }
      if (node.kind == ValueTemplate::Node::Kind::expression || decl->type.empty()) continue;
      Json value;
      ValueTemplate constant(node);
      if (!constant.is_constant()) continue;
      value = constant.constant_value();
      if (!matches_type(value, decl->type))
        diags.add({caller.source_file, node.pos,
                   "input '" + key + "' of flow '" + callee.name + "' should be " + describe_type(decl->type) +
                       ", not " + describe_value(value)});
      else if (!decl->enum_values.empty() &&
               std::find(decl->enum_values.begin(), decl->enum_values.end(), value) == decl->enum_values.end())
        diags.add({caller.source_file, node.pos,
                   "input '" + key + "' of flow '" + callee.name + "' must be one of its enum values (got " +
                       short_value(value) + ")"});
    }
  }
  for (const auto& in : callee.inputs)
    if (in.required && !in.default_value && !given.count(in.name))
      diags.add({caller.source_file, step.pos, "flow '" + callee.name + "' needs input '" + in.name + "'"});
}
}  // namespace

void FlowLibrary::check_subflows(const Flow& flow, Diagnostics& diagnostics) {
  std::set<std::string> done;  // flows whose calls were checked
  std::vector<std::string> stack;
  std::function<void(const Flow&)> visit = [&](const Flow& f) {
    if (stack.size() > 64) return;
    stack.push_back(f.name);
    done.insert(f.name);
    std::vector<const Step*> calls;
    subflow_steps(f.steps, calls);
    for (const Step* step : calls) {
      const std::string& callee = step->flow_name;
      if (callee.empty()) continue;
      if (auto at = std::find(stack.begin(), stack.end(), callee); at != stack.end()) {
        std::string cycle;
        for (auto it = at; it != stack.end(); ++it) cycle += *it + " -> ";
        cycle += callee;
        diagnostics.add({f.source_file, step->pos, "subflow cycle: " + cycle});
        continue;
      }
      LoadResult r = load(callee);
      if (!r.ok()) {
        bool missing = !r.diagnostics.empty() && r.diagnostics.items().front().file == dir_;
        if (missing) {
          diagnostics.add({f.source_file, step->pos, r.diagnostics.items().front().message});
        } else {
          diagnostics.add({f.source_file, step->pos,
                           "subflow '" + callee + "' has errors (in " +
                               (r.diagnostics.empty() ? dir_ : r.diagnostics.items().front().file) + ")"});
          diagnostics.append(r.diagnostics);
        }
        continue;
      }
      check_subflow_inputs(f, *step, *r.flow, diagnostics);
      if (!done.count(callee)) visit(*r.flow);
    }
    stack.pop_back();
  };
  visit(flow);
  diagnostics.sort_unique();
}

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

}  // namespace spokeflow::flow
