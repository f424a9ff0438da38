// Fuzz target: an inputs file, as `spokeflow run --inputs-file` reads it: UTF-8 check, JSON text
// (engine/common/json_text) and the engine's check of the inputs against a flow that declares one
// input of every kind, then the record a new execution would get.
// Properties: no crash; parse_json agrees with nlohmann's parser and dump_json with its dump, as
// json_text.hpp promises; checked inputs keep the declared types; a sensitive input's value shows
// neither in a refusal nor in the record.
#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>

#include "common/json_text.hpp"
#include "common/redact.hpp"
#include "common/utf8.hpp"
#include "flow/loader.hpp"
#include "forwarding_store.hpp"
#include "fuzz_actions.hpp"
#include "fuzz_support.hpp"
#include "run/engine.hpp"

using namespace spokeflow;

namespace {

constexpr const char* kFlow = R"(name: fuzz_inputs
inputs:
  email:   { type: string, format: email, required: true }
  name:    { type: string, default: Ada }
  count:   { type: integer, default: 1 }
  ratio:   { type: number }
  enabled: { type: boolean, default: false }
  tags:    { type: array, default: [] }
  profile: { type: object }
  level:   { type: string, enum: [low, high] }
  size:    { type: integer, enum: [1, 2, 3] }
  token:   { type: string, sensitive: true }
steps:
  - id: s
    action: core.noop
)";

// The engine only checks inputs and makes records here: a store with nothing in it (it only
// commits, when the engine goes); any other call would reach a null store and fail.
struct EmptyStore : test::ForwardingStore {
  EmptyStore() : ForwardingStore(nullptr) {}
  std::vector<std::string> flush() override { return {}; }
  bool has_batched() const override { return false; }
};

struct Setup {
  flow::FlowPtr flow;
  boost::asio::io_context io;
  EmptyStore store;
  run::Engine engine{io.get_executor(), fuzz::shipped_actions(), store, nullptr};
  Setup() {
    auto loaded = flow::load_flow_text(kFlow, "fuzz_inputs.yaml", fuzz::shipped_actions());
    if (!loaded.ok()) fuzz::broken("the inputs target's flow loads", loaded.diagnostics.format());
    flow = loaded.flow;
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

bool has_type(const Json& v, const std::string& type) {
  return (type == "string" && v.is_string()) || (type == "integer" && v.is_number_integer()) ||
         (type == "number" && v.is_number()) || (type == "boolean" && v.is_boolean()) ||
         (type == "object" && v.is_object()) || (type == "array" && v.is_array());
}

// The parser's promises (json_text.hpp): same value and same verdict as Json::parse, within the
// depth limit; dump_json makes Json::dump's text byte for byte.
void check_json_text(std::string_view text, const Result<Json>& parsed) {
  if (!parsed.ok() && parsed.error().code == kTooDeepCode) return;
  Json reference = Json::parse(text, nullptr, false);
  if (!parsed.ok()) {
    fuzz::check(reference.is_discarded(), "parse_json refuses only what Json::parse refuses", parsed.error().message);
    fuzz::check(parsed.error().kind == ErrorKind::validation, "a JSON refusal is a validation error");
    return;
  }
  fuzz::check(!reference.is_discarded(), "parse_json accepts only what Json::parse accepts");
  fuzz::check(reference == *parsed, "parse_json gives Json::parse's value", parsed->dump());
  const std::string dumped = dump_json(*parsed);
  fuzz::check(dumped == parsed->dump(-1, ' ', false, Json::error_handler_t::replace), "dump_json is Json::dump", dumped);
  auto again = parse_json(dumped);
  fuzz::check(again.ok() && *again == *parsed, "dump_json's text parses back to the same value", dumped);
}

// A value of the same JSON type as `v` that holds nothing of it.
Json plain_value_like(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string: return "plain";
    case Json::value_t::number_integer: return -1;
    case Json::value_t::number_unsigned: return 1u;
    case Json::value_t::number_float: return 0.5;
    case Json::value_t::boolean: return !v.get<bool>();
    case Json::value_t::array: return Json::array();
    case Json::value_t::object: return Json::object();
    default: return v;  // null: given as missing
  }
}

std::size_t occurrences(std::string_view text, std::string_view part) {
  if (part.empty()) return 0;
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string_view::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  Setup& s = setup();
  if (find_invalid_utf8(text)) return 0;  // refused before parsing, as the CLI does
  auto parsed = parse_json(text);
  check_json_text(text, parsed);
  if (!parsed.ok() || !parsed->is_object()) return 0;
  const Json& given = *parsed;

  // The same inputs with the sensitive one replaced by a plain value of the same type: what the
  // engine says and records must not depend on which value a sensitive input holds.
  std::optional<Json> twin;
  std::string secret;
  if (auto it = given.find("token"); it != given.end()) {
    secret = it->is_string() ? it->get<std::string>() : it->dump();
    twin = given;
    (*twin)["token"] = plain_value_like(*it);
  }

  for (bool from_text : {true, false}) {
    Result<Json> inputs = s.engine.check_inputs(*s.flow, given, from_text);
    std::optional<Result<Json>> twin_inputs;
    if (twin) twin_inputs = s.engine.check_inputs(*s.flow, *twin, from_text);
    if (!inputs.ok()) {
      fuzz::check(inputs.error().kind == ErrorKind::validation, "refused inputs are a validation error");
      if (twin_inputs && !secret.empty()) {
        const std::string plain = twin_inputs->ok() ? std::string() : twin_inputs->error().message;
        fuzz::check(occurrences(inputs.error().message, secret) <= occurrences(plain, secret),
                    "a sensitive input does not show in a refusal", inputs.error().message);
      }
      continue;
    }
    for (const auto& d : s.flow->inputs) {
      auto it = inputs->find(d.name);
      if (it == inputs->end()) {
        fuzz::check(!d.required, "a required input is there", d.name);
        continue;
      }
      fuzz::check(has_type(*it, d.type), "a checked input has its declared type", d.name);
    }
    Result<store::ExecutionRecord> record = s.engine.new_execution(s.flow, *inputs, Json{{"type", "cli"}});
    if (!record.ok()) {
      fuzz::check(record.error().kind == ErrorKind::validation, "a refused record is a validation error");
      continue;
    }
    if (!inputs->contains("token")) continue;
    fuzz::check(record->inputs.value("token", Json()) == kRedacted, "a sensitive input is redacted in the record");
    if (twin_inputs && twin_inputs->ok()) {
      auto twin_record = s.engine.new_execution(s.flow, **twin_inputs, Json{{"type", "cli"}});
      fuzz::check(twin_record.ok() && twin_record->inputs == record->inputs,
                  "a record does not depend on a sensitive input's value", record->inputs.dump());
    }
  }
  return 0;
}
