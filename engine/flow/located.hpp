#pragma once
// Private to engine/flow: a YAML document as JSON plus the source position of every node.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/diagnostics.hpp"
#include "common/json.hpp"
#include "common/json_text.hpp"  // kMaxJsonDepth: the deepest nesting of mappings and lists accepted
#include "common/suggest.hpp"

namespace spokeflow::flow::detail {

// Most values a flow file may hold or expand to (aliases can multiply a small file).
inline constexpr std::size_t kMaxYamlNodes = 250'000;
// Most bytes of JSON pointers (one per value) a document may need: bounds deep alias expansions.
inline constexpr std::size_t kMaxPointerBytes = 16u << 20;

// "/a/b" pointer helpers (RFC 6901 escaping).
std::string pointer_escape(std::string_view token);
std::string child_pointer(const std::string& parent, std::string_view key);
std::string child_pointer(const std::string& parent, std::size_t index);
// Splits a pointer into unescaped tokens.
std::vector<std::string> pointer_tokens(std::string_view pointer);
// The value at `pointer`, or nullptr.
const Json* json_at(const Json& root, std::string_view pointer);

// Maps byte offsets of the text to 1-based lines and columns (columns count characters).
class SourceMap {
 public:
  explicit SourceMap(std::string_view text);
  std::string_view text() const { return text_; }
  SourcePos at(std::size_t offset) const;
  // A 0-based line and 0-based byte column, as yaml-cpp reports them.
  SourcePos at_line_col(int line, int byte_col) const;
  std::size_t line_start(int line0) const;

 private:
  std::size_t chars_before(std::size_t offset) const;

  std::string_view text_;
  std::vector<std::size_t> starts_;  // offset of each line
  std::vector<std::size_t> chars_;   // characters before each 64-byte block
};

// How a string scalar was written, to place positions inside it.
struct ScalarInfo {
  enum class Style { plain, single_quoted, double_quoted, literal, folded } style = Style::plain;
  std::size_t offset = 0;  // byte offset of the scalar (its quote or block indicator) in the text
};

struct LocatedDoc {
  Json root;
  std::unordered_map<std::string, SourcePos> value_pos;  // pointer -> the value
  std::unordered_map<std::string, SourcePos> key_pos;    // pointer -> the mapping key naming it
  std::unordered_map<std::string, ScalarInfo> scalars;   // pointer -> string scalars

  // Position of the value, else of the nearest ancestor that has one.
  SourcePos pos(const std::string& pointer) const;
  // Position of the key naming the value, else of the value.
  SourcePos key(const std::string& pointer) const;
};

// Parses one YAML document (UTF-8, BOM already removed) into `doc`. Returns false on a problem
// that leaves no usable tree; every problem is reported in `diags`.
bool parse_yaml(std::string_view text, const SourceMap& map, LocatedDoc& doc, Diagnostics& diags);

// Where byte `offset` of a string scalar's value lies in the source (approximate for escapes
// and folded lines; exact for expressions in plain, quoted and block scalars).
SourcePos value_offset_pos(const LocatedDoc& doc, const SourceMap& map, const std::string& pointer,
                           std::string_view value, std::size_t offset);

// "Did you mean" (common/suggest.hpp), as the loader's messages use it.
using spokeflow::closest_match;

// Offset of the opening quote of a quoted scalar that nothing closes before the end of the text
// (yaml-cpp reports such a quote where it gave up, at the end of the file, or not at all).
std::optional<std::size_t> unclosed_quote(std::string_view text);

// The message for a duration that does not parse.
std::string bad_duration_message(std::string_view text);

// JSON value described for messages: "a string ('x')", "an integer (5)", "a list", ...
std::string describe_value(const Json& v);
// "a string", "an integer", ... for a JSON Schema type name.
std::string describe_type(std::string_view type);
// A JSON value as short text for messages: strings quoted as 'x', others as compact JSON.
std::string short_value(const Json& v);

}  // namespace spokeflow::flow::detail
