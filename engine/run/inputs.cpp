// Inputs: checked against the flow's declarations, redacted and sealed for the record.
#include <algorithm>

#include "common/ids.hpp"
#include "common/json_text.hpp"
#include "common/redact.hpp"
#include "common/regex.hpp"
#include "run/engine_impl.hpp"

namespace spokeflow::run {

bool valid_email(const std::string& s) { return is_email_address(s); }  // RE2: linear time, bounded stack

Result<Json> Engine::Impl::check_inputs(const flow::Flow& flow, const Json& given, bool from_text) const {
  if (!given.is_object()) return Error::make(ErrorKind::validation, "inputs must be an object");
  Json out = Json::object();
  std::vector<std::string> problems;
  for (const auto& [name, _] : given.items()) {
    bool known = false;
    for (const auto& d : flow.inputs) known = known || d.name == name;
    if (!known) {
      std::string names;
      for (const auto& d : flow.inputs) names += (names.empty() ? "" : ", ") + d.name;
      problems.push_back("unknown input '" + name + "' (" + (names.empty() ? "the flow declares no inputs" : "declared: " + names) + ")");
    }
  }
  for (const auto& d : flow.inputs) {
    auto it = given.find(d.name);
    if (it == given.end() || it->is_null()) {
      if (d.default_value) out[d.name] = *d.default_value;
      else if (d.required) problems.push_back("missing required input '" + d.name + "'");
      continue;
    }
    Json v = *it;
    if (from_text && v.is_string() && d.type != "string") {
      // Nested at most kMaxJsonDepth levels, as everything read from outside; text that is
      // not JSON stays text (and fails the type check below).
      auto parsed = parse_json(v.get_ref<const std::string&>());
      if (parsed.ok()) {
        v = std::move(*parsed);
      } else if (parsed.error().code == kTooDeepCode) {
        problems.push_back("input '" + d.name + "': " + parsed.error().message);
        continue;
      }
    }
    bool ok = (d.type == "string" && v.is_string()) || (d.type == "integer" && v.is_number_integer()) ||
              (d.type == "number" && v.is_number()) || (d.type == "boolean" && v.is_boolean()) ||
              (d.type == "object" && v.is_object()) || (d.type == "array" && v.is_array());
    if (!ok) {
      problems.push_back("input '" + d.name + "' must be " + (d.type == "integer" || d.type == "array" || d.type == "object" ? "an " : "a ") + d.type +
                         (d.sensitive ? "" : ", got " + v.dump()));
      continue;
    }
    if (!d.enum_values.empty() && std::find(d.enum_values.begin(), d.enum_values.end(), v) == d.enum_values.end()) {
      std::string allowed;
      for (const auto& e : d.enum_values) allowed += (allowed.empty() ? "" : ", ") + e.dump();
      problems.push_back("input '" + d.name + "' must be one of " + allowed);
      continue;
    }
    if (d.format == "email" && !valid_email(v.get<std::string>())) {
      problems.push_back("input '" + d.name + "' must be an email address" + (d.sensitive ? "" : ", got " + v.dump()));
      continue;
    }
    out[d.name] = std::move(v);
  }
  if (!problems.empty()) {
    std::string msg = "flow '" + flow.name + "': ";
    for (std::size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    return Error::make(ErrorKind::validation, msg);
  }
  return out;
}

Json Engine::Impl::redacted_inputs(const flow::Flow& flow, const Json& inputs) const {
  Json out = inputs;
  for (const auto& d : flow.inputs)
    if (d.sensitive && out.contains(d.name) && !out[d.name].is_null()) out[d.name] = kRedacted;
  return out;
}

store::ExecutionRecord Engine::Impl::make_record(const flow::FlowPtr& flow, const Json& inputs, const Json& trigger,
                                                 const std::string& id) const {
  store::ExecutionRecord rec;
  rec.id = id;
  rec.flow_name = flow->name;
  rec.flow_file = flow->source_file;
  rec.flow_source = flow->source_text;
  rec.flow_hash = flow->source_hash;
  // Sensitive inputs are stored redacted, and sealed when a sealer is set. Other inputs are
  // scrubbed like every record: a subflow's plain input may be given its parent's secret.
  rec.inputs = sealed_copy(inputs, SecretScrubber::instance().scrub(redacted_inputs(*flow, inputs)), rec.id + "/inputs");
  rec.trigger = trigger;
  rec.created_at = now_unix_ms();
  rec.status = "queued";
  return rec;
}

}  // namespace spokeflow::run
