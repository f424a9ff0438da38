// Template: the public face of the expression language (see expr.hpp). Parsing lives in
// parse.cpp, evaluation in eval.cpp; this file holds the glue and references().
#include "expr/expr.hpp"

#include <algorithm>

#include "common/json_text.hpp"
#include "expr/ast.hpp"

namespace spokeflow::expr {
namespace {

Error evaluation_error(std::string problem, const std::string& source) {
  Error e = Error::make(ErrorKind::validation, std::move(problem) + " in '" + source + "'");
  e.details = Json{{"expression", source}};
  return e;
}

void collect_references(const Node& n, std::vector<Reference>& out) {
  if (n.kind == NodeKind::path) {
    if (n.base) {
      collect_references(*n.base, out);
    } else {
      Reference ref;
      ref.root = n.root;
      ref.offset = n.offset;
      for (const Step& s : n.steps) {  // the constant prefix of the access path
        if (s.kind == Step::Kind::key) ref.path.push_back(s.key);
        else if (s.kind == Step::Kind::index) ref.path.push_back(std::to_string(s.index));
        else break;
      }
      out.push_back(std::move(ref));
    }
    for (const Step& s : n.steps)
      if (s.expr) collect_references(*s.expr, out);
  }
  for (const auto& arg : n.args) collect_references(*arg, out);
}

}  // namespace

Template::Template() = default;

bool Template::has_expressions() const {
  if (!parts_) return false;
  return std::any_of(parts_->begin(), parts_->end(), [](const Part& p) { return p.is_expr; });
}

bool Template::is_whole() const { return parts_ && parts_->size() == 1 && (*parts_)[0].is_expr; }

const std::string& Template::source() const { return source_; }

Result<Json> Template::evaluate(const Scope& scope) const {
  if (!parts_ || parts_->empty()) return Json(std::string());
  const std::vector<Part>& parts = *parts_;
  if (parts.size() == 1) {
    const Part& p = parts[0];
    if (!p.is_expr) return Json(p.text);
    Json value;
    EvalOutcome r = evaluate_node(*p.expr, scope, value);
    if (!r.ok) return evaluation_error(std::move(r.message), p.text);
    // Values in the scope can be deeper than any that came from outside (a flow nests them in
    // `with:`, `set:` in a loop wraps a variable once more each time): an expression hands on
    // at most the limit, so that no value grows without bound.
    if (nested_deeper_than(value))
      return evaluation_error("its value is nested more than " + std::to_string(kMaxJsonDepth) + " levels deep", p.text);
    return value;
  }
  std::string text;
  for (const Part& p : parts) {
    if (!p.is_expr) {
      text += p.text;
      continue;
    }
    EvalOutcome r = append_node_text(*p.expr, scope, text);
    if (!r.ok) return evaluation_error(std::move(r.message), p.text);
  }
  return Json(std::move(text));
}

std::vector<Reference> Template::references() const {
  std::vector<Reference> out;
  if (!parts_) return out;
  for (const Part& p : *parts_)
    if (p.is_expr) collect_references(*p.expr, out);
  std::stable_sort(out.begin(), out.end(), [](const Reference& a, const Reference& b) { return a.offset < b.offset; });
  return out;
}

}  // namespace spokeflow::expr
