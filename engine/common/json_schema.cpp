#include "common/json_schema.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "common/embedded_schemas.hpp"

namespace spokeflow {

struct JsonSchema::Impl {
  valijson::Schema schema;
};

JsonSchema::~JsonSchema() = default;

std::shared_ptr<const JsonSchema> JsonSchema::compile(const Json& schema) {
  std::shared_ptr<JsonSchema> out(new JsonSchema());
  out->impl_ = std::make_unique<Impl>();
  out->document_ = schema;
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  valijson::adapters::NlohmannJsonAdapter adapter(out->document_);
  parser.populateSchema(adapter, out->impl_->schema);
  return out;
}

const Json& embedded_schema_json(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, Json> parsed;
  std::lock_guard lock(mu);
  if (auto it = parsed.find(path); it != parsed.end()) return it->second;
  const auto& all = embedded_schemas();
  auto it = all.find(path);
  if (it == all.end()) throw std::runtime_error("no embedded schema named " + path);
  return parsed.emplace(path, Json::parse(it->second)).first->second;
}

std::shared_ptr<const JsonSchema> JsonSchema::embedded(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const JsonSchema>> cache;
  const Json& doc = embedded_schema_json(path);
  std::lock_guard lock(mu);
  if (auto it = cache.find(path); it != cache.end()) return it->second;
  auto compiled = compile(doc);
  cache.emplace(path, compiled);
  return compiled;
}

namespace {
// valijson names a location as ["<root>", "[steps]", "[0]", ...]; turn that into a JSON pointer.
std::string to_pointer(const std::vector<std::string>& context) {
  std::string out;
  for (const auto& part : context) {
    if (part == "<root>") continue;
    std::string token = part;
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') token = token.substr(1, token.size() - 2);
    if (token.size() >= 2 && token.front() == '"' && token.back() == '"') token = token.substr(1, token.size() - 2);
    std::string escaped;
    for (char c : token) {
      if (c == '~') escaped += "~0";
      else if (c == '/') escaped += "~1";
      else escaped += c;
    }
    out += "/" + escaped;
  }
  return out;
}
}  // namespace

std::vector<SchemaIssue> JsonSchema::validate(const Json& value) const {
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(value);
  std::vector<SchemaIssue> issues;
  if (validator.validate(impl_->schema, target, &results)) return issues;
  valijson::ValidationResults::Error err;
  while (results.popError(err)) issues.push_back({to_pointer(err.context), err.description});
  // valijson repeats each failure at every enclosing level ("Failed to validate against
  // schema associated with property name 'x'"); keep only the specific ones when there are.
  auto is_echo = [](const SchemaIssue& i) {
    return i.message.rfind("Failed to validate against schema associated with", 0) == 0 ||
           i.message.rfind("Failed to validate item #", 0) == 0;
  };
  if (std::any_of(issues.begin(), issues.end(), [&](const SchemaIssue& i) { return !is_echo(i); }))
    issues.erase(std::remove_if(issues.begin(), issues.end(), is_echo), issues.end());
  return issues;
}

}  // namespace spokeflow
