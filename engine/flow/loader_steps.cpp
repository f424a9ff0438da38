// The flow builder: steps of every kind, their retry policies, and actions' `with:` checked
// against the action's input schema.
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

std::set<std::string> Builder::build_steps(const Json& list, const std::string& ptr, const ExprScope& scope, StepList& out) {
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

void Builder::show(const std::string& id) {
  if (visible_.insert(id).second) shown_.push_back(id);
}

void Builder::rollback(std::size_t to) {
  while (shown_.size() > to) {
    visible_.erase(shown_.back());
    shown_.pop_back();
  }
}

std::set<std::string> Builder::build_step(const Json& v, const std::string& ptr, std::size_t index, const ExprScope& outer,
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

RetryPolicy Builder::build_retry(const Json& r, const std::string& ptr) {
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

void Builder::check_action(const std::string& name, const Json& obj, const std::string& obj_ptr) {
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

void Builder::hide_expressions(Json& v, const std::string& ptr, std::set<std::string>& out) {
  if (v.is_object()) {
    for (auto& [k, member] : v.items()) hide_expressions(member, child_pointer(ptr, k), out);
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) hide_expressions(v[i], child_pointer(ptr, i), out);
  } else if (contains_expression(v)) {
    v = nullptr;
    out.insert(ptr);
  }
}

}  // namespace spokeflow::flow::building
