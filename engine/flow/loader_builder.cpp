// The flow builder: the whole flow, step ids and their visibility, expressions and what they
// refer to, and the checks of plain values every part uses (see loader_builder.hpp).
#include "flow/loader_builder.hpp"

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

namespace spokeflow::flow::building {

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


std::shared_ptr<Flow> Builder::build() {
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

void Builder::collect_ids(const Json& steps, const std::string& ptr, const std::vector<std::string>& containers) {
  if (!steps.is_array()) return;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Json& step = steps[i];
    const std::string sp = child_pointer(ptr, i);
    if (!step.is_object()) continue;
    if (auto id = step.find("id"); id != step.end() && id->is_string()) {
      // Only a plain action step has its action's outputs (a for_each over an action collects).
      std::string action;
      if (auto a = step.find("action"); a != step.end() && a->is_string() && !step.contains("for_each") &&
                                        !step.contains("until") && !step.contains("steps"))
        action = a->get<std::string>();
      record_id(id->get<std::string>(), sp, false, containers, std::move(action));
    }
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

std::string Builder::step_label(const Json& step, const std::string& sp) const {
  if (auto id = step.find("id"); id != step.end() && id->is_string()) return " '" + id->get<std::string>() + "'";
  return " at line " + std::to_string(doc_.pos(sp).line);
}

void Builder::record_id(const std::string& id, const std::string& ptr, bool branch, const std::vector<std::string>& containers,
                        std::string action) {
  SourcePos pos = doc_.pos(child_pointer(ptr, "id"));
  auto [it, inserted] = ids_.emplace(id, IdInfo{ptr, pos, branch, containers, std::move(action)});
  if (!inserted) {
    diags_.error(pos, std::string("duplicate ") + (branch ? "branch" : "step") + " id '" + id +
                          "' (first used at line " + std::to_string(it->second.pos.line) + ")");
    return;
  }
  if (!branch) step_ids_.push_back(id);
}

std::vector<std::string> Builder::keys_in_order(const Json& obj, const std::string& ptr) const {
  std::vector<std::string> keys;
  for (const auto& [k, _] : obj.items()) keys.push_back(k);
  std::stable_sort(keys.begin(), keys.end(), [&](const std::string& a, const std::string& b) {
    SourcePos pa = doc_.key(child_pointer(ptr, a)), pb = doc_.key(child_pointer(ptr, b));
    return std::tie(pa.line, pa.col) < std::tie(pb.line, pb.col);
  });
  return keys;
}

void Builder::parse_error(const std::string& ptr, std::string_view text, const expr::ParseError& err) {
  diags_.error(value_offset_pos(doc_, map_, ptr, text, err.offset), "invalid expression: " + err.message);
}

std::optional<expr::Template> Builder::parse_template(const std::string& text, const std::string& ptr, const ExprScope& scope) {
  return checked(expr::Template::parse(text), ptr, text, scope);
}

std::optional<expr::Template> Builder::checked(std::variant<expr::Template, expr::ParseError> parsed,
                                               const std::string& ptr, std::string_view text, const ExprScope& scope) {
  if (auto* err = std::get_if<expr::ParseError>(&parsed)) {
    parse_error(ptr, text, *err);
    return std::nullopt;
  }
  auto& t = std::get<expr::Template>(parsed);
  check_references(t, ptr, text, scope);
  return std::move(t);
}

std::optional<expr::Template> Builder::condition_at(const Json& obj, std::string_view key, const std::string& obj_ptr,
                                           const ExprScope& scope) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  const std::string ptr = child_pointer(obj_ptr, key);
  std::string text;
  if (it->is_boolean()) text = it->get<bool>() ? "true" : "false";
  else if (it->is_string()) text = it->get<std::string>();
  else return std::nullopt;  // the schema reports the type
  return checked(expr::Template::parse_condition(text), ptr, text, scope);
}

ValueTemplate::Node Builder::template_node(const Json& v, const std::string& ptr, const ExprScope& scope) {
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

ValueTemplate Builder::value_template(const Json& v, const std::string& ptr, const ExprScope& scope) {
  return ValueTemplate(template_node(v, ptr, scope));
}

void Builder::check_references(const expr::Template& t, const std::string& ptr, std::string_view text, const ExprScope& scope) {
  for (const auto& ref : t.references()) {
    if (ref.root.empty()) continue;
    check_reference(ref, value_offset_pos(doc_, map_, ptr, text, ref.offset), scope);
  }
}

std::vector<std::string> Builder::roots_available(const ExprScope& scope) const {
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

void Builder::check_reference(const expr::Reference& ref, SourcePos at, const ExprScope& scope) {
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
      else if (field == "outputs" && ref.path.size() >= 3)
        check_output_field(ref.path[0], ref.path[2], at);
    }
  }
}

// An action whose output schema is closed has only the outputs it lists: another name would be
// null at run time, and fail far from the typo.
void Builder::check_output_field(const std::string& id, const std::string& field, SourcePos at) {
  auto it = ids_.find(id);
  if (it == ids_.end() || it->second.action.empty()) return;
  const Action* action = actions_.find(it->second.action);
  if (!action) return;  // the step reports its unknown action
  const Json& schema = action->info().output_schema;
  if (!schema.is_object()) return;
  auto closed = schema.find("additionalProperties");
  auto props = schema.find("properties");
  if (closed == schema.end() || *closed != false || props == schema.end() || !props->is_object()) return;
  if (props->contains(field)) return;
  std::vector<std::string> names;
  for (const auto& [name, _] : props->items()) names.push_back(name);
  diags_.error(at, "step '" + id + "' (" + it->second.action + ") has no output '" + field + "' (its outputs: " +
                       join(names) + ")" + did_you_mean(field, names));
}

bool Builder::check_step_reference(const std::string& id, SourcePos at, const ExprScope& scope) {
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

void Builder::check_plain(const Json& v, const std::string& ptr) {
  if (contains_expression(v))
    diags_.error(pos(ptr), "'" + pointer_tokens(ptr).back() +
                               "' names a connection alias as written; expressions are not evaluated here");
}

std::optional<Millis> Builder::duration_at(const Json& obj, std::string_view key, const std::string& obj_ptr) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return std::nullopt;  // the schema reports other types
  auto d = parse_duration(it->get_ref<const std::string&>());
  if (!d) diags_.error(pos(child_pointer(obj_ptr, key)), bad_duration_message(it->get_ref<const std::string&>()));
  return d;
}

std::optional<Millis> Builder::timeout_at(const Json& obj, const std::string& obj_ptr, std::string_view key) {
  auto d = duration_at(obj, key, obj_ptr);
  if (d && d->count() == 0) {
    diags_.error(pos(child_pointer(obj_ptr, key)), "a timeout of 0 would fail at once; give a positive duration");
    return std::nullopt;
  }
  return d;
}

}  // namespace spokeflow::flow::building
