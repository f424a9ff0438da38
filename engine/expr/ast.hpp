#pragma once
// The syntax tree of `${{ }}` expressions. Private to engine/expr: parse.cpp builds it,
// eval.cpp walks it, expr.cpp holds the public Template glue.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "expr/expr.hpp"

namespace spokeflow::expr {

// The built-in functions. Names are case-sensitive, as listed in kFunctions (parse.cpp).
enum class Fn : std::uint8_t {
  contains,
  starts_with,
  ends_with,
  format,
  join,
  length,
  lower,
  upper,
  to_json,
  from_json,
  coalesce,
  now,
};

enum class NodeKind : std::uint8_t {
  literal,      // `literal`
  path,         // a root identifier (or `base`) followed by `steps`
  logical_not,  // args[0]
  negate,       // args[0]
  logical_or,   // args[0], args[1]
  logical_and,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  add,
  sub,
  mul,
  div,
  mod,
  call,  // fn(args...)
};

// One access after a path's root: `.name` / `['name']` (key), `[3]` (index), `[expr]` (dynamic).
struct Step {
  enum class Kind : std::uint8_t { key, index, dynamic };
  Kind kind = Kind::key;
  std::string key;
  std::int64_t index = 0;
  std::unique_ptr<Node> expr;
};

struct Node {
  NodeKind kind = NodeKind::literal;
  Fn fn = Fn::now;          // call
  std::uint32_t depth = 1;  // height of this subtree; bounded so evaluation cannot exhaust the stack
  std::size_t offset = 0;   // byte offset of the node's first token (the root identifier for paths)
  Json literal;             // literal
  std::string root;         // path: the root identifier, empty when `base` is set
  std::unique_ptr<Node> base;  // path over another expression: `(a || b).c`, `fromJSON(x).y`
  std::vector<Step> steps;     // path
  std::vector<std::unique_ptr<Node>> args;  // operands of operators, arguments of calls
};

// A template is a sequence of parts. A whole-value template holds exactly one expression part.
struct Template::Part {
  bool is_expr = false;
  std::size_t offset = 0;  // where the part starts in the parsed text
  // Text parts: the literal text. Expression parts: the expression as written
  // (`${{ a * 2 }}`, or the bare condition), quoted in evaluation errors.
  std::string text;
  std::unique_ptr<Node> expr;
};

// sensitive.cpp: what evaluation tells a Scope that tracks secrets (see Scope in expr.hpp).
// Each call does nothing when the scope does not track them.
class Sensitivity {
 public:
  explicit Sensitivity(const Scope& scope) : scope_(scope), track_(scope.tracks_sensitive()) {}
  // `out` is `in` with each byte mapped on its own (upper, lower): the copy of each secret.
  void mapped(std::string_view in, std::string_view out);
  // `v` is written as JSON text (toJSON, interpolated arrays and objects): each secret in its
  // strings and keys as escaped there.
  void escaped(const Json& v);
  // `text` was read by fromJSON: the strings and numbers it gave from a secret's part of it.
  void parsed(std::string_view text);
  // The number `result` was computed from `a` (and `b`): its text, when either is a sensitive number.
  void computed(const Json& result, const Json& a, const Json* b = nullptr);

 private:
  const std::vector<Scope::Span>& secrets_in(std::string_view text);
  bool number_holds_secret(const Json& v);
  void derive_number(const Json& n);

  const Scope& scope_;
  const bool track_;
  std::vector<Scope::Span> spans_;  // scratch
};

// eval.cpp
struct EvalOutcome {
  bool ok = true;
  std::string message;  // without the " in '...'" suffix
};
// Evaluates `node` and stores the result in `out` (whole-value: keeps the JSON type).
EvalOutcome evaluate_node(const Node& node, const Scope& scope, Json& out);
// Evaluates `node` and appends its text form (see to_text) to `out`.
EvalOutcome append_node_text(const Node& node, const Scope& scope, std::string& out);
// Checks a format() pattern against the number of arguments; empty when fine.
std::string check_format_pattern(std::string_view pattern, std::size_t arg_count);

}  // namespace spokeflow::expr
