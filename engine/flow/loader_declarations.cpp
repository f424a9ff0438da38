// The flow builder: a flow's declared inputs and its triggers (schedules with their time zones,
// Okta events), each checked with file:line:col.
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

void Builder::build_inputs(const Json& inputs, Flow& flow) {
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

const InputDecl* Builder::find_input(const Flow& flow, const std::string& name) const {
  for (const auto& in : flow.inputs)
    if (in.name == name) return &in;
  return nullptr;
}

std::optional<std::string> Builder::build_schedule(const Json& t, const std::string& ptr, Trigger& trigger) {
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

ValueTemplate Builder::trigger_inputs(const Json& inputs, const std::string& iptr, const Flow& flow, const ExprScope& scope) {
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

void Builder::build_triggers(const Json& triggers, Flow& flow) {
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

}  // namespace spokeflow::flow::building
