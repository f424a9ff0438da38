#pragma once
// The `${{ }}` expression language (see FLOW-LANGUAGE.md, "Expressions").
//
// A Template is a YAML string value that may hold `${{ EXPR }}` parts. When the value is
// exactly one expression (surrounding whitespace allowed), evaluation keeps the JSON type of
// the result; otherwise each part is converted to text and interpolated.
// Parsing happens once, at load time; evaluation is cheap and never touches the environment.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"

namespace spokeflow::expr {

// A parse problem; `offset` is a byte offset into the text given to parse().
struct ParseError {
  std::size_t offset = 0;
  std::string message;
};

// Where evaluation finds the roots: inputs, vars, steps, item, index, error, event,
// execution, or a for_each `as` name. nullptr means "not defined here" and evaluates to null.
class Scope {
 public:
  virtual ~Scope() = default;
  virtual const Json* lookup(std::string_view root) const = 0;
  // `root.key` (or `root['key']`): a scope that keeps a root in pieces answers without
  // building the whole root. By default, lookup(root) then its member.
  virtual const Json* lookup_member(std::string_view root, std::string_view key) const;

  // Sensitive values (docs/FLOW-LANGUAGE-NOTES.md, "Sensitive values"). A scope that tracks
  // them says where known secrets lie in a text, and is given each secret the evaluator derives
  // from one (an upper-cased copy, a JSON-escaped one, a string or number read from a JSON text
  // that holds one, a number computed from one), so that it is kept out of records too.
  // Values copied as they are (access, interpolation, format(), join(), coalesce(), ||) hold
  // the secret itself and need no telling. By default nothing is tracked.
  struct Span {
    std::size_t begin = 0, end = 0;
  };
  virtual bool tracks_sensitive() const { return false; }
  // Appends where secrets occur in `text` (every occurrence, in any order).
  virtual void find_sensitive(std::string_view text, std::vector<Span>& out) const;
  virtual void derived_sensitive(std::string_view secret) const;
};

// A root name followed by the constant part of its access path, for static checks:
// `steps.create.outputs.user['id']` gives {root "steps", path {"create","outputs","user","id"}};
// `steps[x].outputs` gives {root "steps", path {}} (the path stops at the first non-constant access).
struct Reference {
  std::string root;
  std::vector<std::string> path;
  std::size_t offset = 0;  // byte offset of the root identifier in the parsed text
};

struct Node;  // the syntax tree, private to the implementation

class Template {
 public:
  // A string value that may contain `${{ }}` parts. `$${{` is not special; an unterminated
  // `${{` or a broken expression is a ParseError.
  static std::variant<Template, ParseError> parse(std::string_view text);
  // For `if:`, `until:` and `for_each:` values: either a `${{ }}` template or a bare
  // expression (`steps.a.outputs.ok && inputs.n > 2`); the result is always whole-value.
  static std::variant<Template, ParseError> parse_condition(std::string_view text);

  Template();
  bool has_expressions() const;  // false for plain text
  bool is_whole() const;         // exactly one expression and nothing else but whitespace
  const std::string& source() const;

  // Errors (kind validation) say what went wrong, e.g. "cannot multiply string by number in '${{ a * 2 }}'".
  Result<Json> evaluate(const Scope& scope) const;
  std::vector<Reference> references() const;

 private:
  struct Part;
  std::shared_ptr<const std::vector<Part>> parts_;
  std::string source_;
};

// Truthiness for conditions: false, null, 0, "" are false; everything else is true.
bool truthy(const Json& value);
// How a value reads when interpolated into text: strings as they are, null as "",
// integers without a fraction, other numbers in shortest form, objects and arrays as compact JSON.
std::string to_text(const Json& value);

}  // namespace spokeflow::expr
