#pragma once
// JSON Schema checking (draft 7 subset that valijson implements), compiled once, used many times.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"

namespace spokeflow {

struct SchemaIssue {
  std::string pointer;  // JSON pointer to the offending value, "" for the root
  std::string message;
};

class JsonSchema {
 public:
  // Throws std::runtime_error when the schema itself is malformed (a bug in a shipped schema).
  static std::shared_ptr<const JsonSchema> compile(const Json& schema);
  // Looks the schema up in embedded_schemas() by its path relative to schemas/.
  static std::shared_ptr<const JsonSchema> embedded(const std::string& path);

  ~JsonSchema();
  // Empty when valid. Most schemas have a quick check for the common case of a valid value;
  // valijson decides and explains otherwise.
  std::vector<SchemaIssue> validate(const Json& value) const;
  // For the tests that hold the two checkers to the same verdicts.
  bool has_quick_check() const;
  std::optional<bool> valid_by_quick_check(const Json& value) const;
  bool valid_by_valijson(const Json& value) const;
  const Json& document() const { return document_; }

 private:
  JsonSchema() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Json document_;
};

// Parses one embedded schema file; throws when missing (a build problem, not a user error).
const Json& embedded_schema_json(const std::string& path);

}  // namespace spokeflow
