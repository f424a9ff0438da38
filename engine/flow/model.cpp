#include "flow/model.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/json_text.hpp"

namespace spokeflow::flow {

ValueTemplate::Node::Node() = default;
ValueTemplate::Node::Node(const Node&) = default;
ValueTemplate::Node::Node(Node&&) noexcept = default;
ValueTemplate::Node& ValueTemplate::Node::operator=(const Node&) = default;
ValueTemplate::Node& ValueTemplate::Node::operator=(Node&&) noexcept = default;
ValueTemplate::Node::~Node() = default;

namespace {

// True when no expression sits anywhere in the tree; fills `out` with the plain value then.
bool collapse(const ValueTemplate::Node& node, Json& out) {
  using Kind = ValueTemplate::Node::Kind;
  switch (node.kind) {
    case Kind::literal: out = node.literal; return true;
    case Kind::expression: return false;
    case Kind::object: {
      out = Json::object();
      for (const auto& [key, member] : node.members) {
        Json v;
        if (!collapse(member, v)) return false;
        out[key] = std::move(v);
      }
      return true;
    }
    case Kind::array: {
      out = Json::array();
      for (const auto& item : node.items) {
        Json v;
        if (!collapse(item, v)) return false;
        out.push_back(std::move(v));
      }
      return true;
    }
  }
  return false;
}

Result<Json> evaluate_node(const ValueTemplate::Node& node, const expr::Scope& scope) {
  using Kind = ValueTemplate::Node::Kind;
  switch (node.kind) {
    case Kind::literal: return node.literal;
    case Kind::expression: return node.expression.evaluate(scope);
    case Kind::object: {
      Json out = Json::object();
      for (const auto& [key, member] : node.members) {
        auto v = evaluate_node(member, scope);
        if (!v) return std::move(v).error();
        out[key] = std::move(v).value();
      }
      return out;
    }
    case Kind::array: {
      Json out = Json::array();
      for (const auto& item : node.items) {
        auto v = evaluate_node(item, scope);
        if (!v) return std::move(v).error();
        out.push_back(std::move(v).value());
      }
      return out;
    }
  }
  return Json(nullptr);
}

void collect_expressions(const ValueTemplate::Node& node,
                         std::vector<std::pair<const expr::Template*, SourcePos>>& out) {
  using Kind = ValueTemplate::Node::Kind;
  switch (node.kind) {
    case Kind::literal: break;
    case Kind::expression: out.emplace_back(&node.expression, node.pos); break;
    case Kind::object:
      for (const auto& [_, member] : node.members) collect_expressions(member, out);
      break;
    case Kind::array:
      for (const auto& item : node.items) collect_expressions(item, out);
      break;
  }
}

void collect_subflows(const StepList& steps, std::vector<std::string>& out, std::set<std::string>& seen) {
  for (const auto& step : steps) {
    if (step.kind == Step::Kind::subflow && !step.flow_name.empty() && seen.insert(step.flow_name).second)
      out.push_back(step.flow_name);
    collect_subflows(step.steps, out, seen);
    collect_subflows(step.else_steps, out, seen);
    collect_subflows(step.try_steps, out, seen);
    collect_subflows(step.catch_steps, out, seen);
    collect_subflows(step.finally_steps, out, seen);
    for (const auto& branch : step.branches) collect_subflows(branch.steps, out, seen);
  }
}

}  // namespace

ValueTemplate::ValueTemplate(Node root) : root_(std::move(root)) {
  Json value;
  constant_ = collapse(root_, value);
  if (constant_) root_.literal = std::move(value);
}

Result<Json> ValueTemplate::evaluate(const expr::Scope& scope) const {
  if (constant_) return root_.literal;
  return evaluate_node(root_, scope);
}

const ValueTemplate::Node* ValueTemplate::node_at(const std::string& pointer) const {
  std::vector<std::string> tokens;
  try {
    tokens = pointer_tokens(pointer);
  } catch (const std::exception&) {
    return nullptr;
  }
  const Node* node = &root_;
  for (const std::string& token : tokens) {
    // An expression or a literal made everything below it.
    if (node->kind == Node::Kind::expression || node->kind == Node::Kind::literal) break;
    const Node* next = nullptr;
    if (node->kind == Node::Kind::object) {
      for (const auto& [key, member] : node->members)
        if (key == token) next = &member;
    } else if (!token.empty() && token.size() < 10 && token.find_first_not_of("0123456789") == std::string::npos) {
      const std::size_t index = std::stoul(token);
      if (index < node->items.size()) next = &node->items[index];
    }
    if (!next) return nullptr;
    node = next;
  }
  return node;
}

std::vector<std::pair<const expr::Template*, SourcePos>> ValueTemplate::expressions() const {
  std::vector<std::pair<const expr::Template*, SourcePos>> out;
  collect_expressions(root_, out);
  return out;
}

bool RetryPolicy::retries(const Error& error) const {
  if (error.kind == ErrorKind::cancelled) return false;  // a cancelled step is never tried again
  if (on_kinds.empty() && on_okta_codes.empty()) return is_transient(error.kind);
  if (std::find(on_kinds.begin(), on_kinds.end(), error.kind) != on_kinds.end()) return true;
  if (error.kind == ErrorKind::okta && !error.code.empty() &&
      std::find(on_okta_codes.begin(), on_okta_codes.end(), error.code) != on_okta_codes.end())
    return true;
  return false;
}

Millis RetryPolicy::delay_before(int next_attempt) const {
  if (next_attempt < 2) return Millis(0);
  if (backoff == Backoff::constant) return initial_interval;
  const double cap = static_cast<double>(max_interval.count());
  double delay = static_cast<double>(initial_interval.count()) * std::pow(multiplier, next_attempt - 2);
  if (!std::isfinite(delay) || delay > cap) delay = cap;
  if (delay < 0) delay = 0;
  return Millis(static_cast<Millis::rep>(delay));
}

std::vector<std::string> Flow::subflow_names() const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  collect_subflows(steps, out, seen);
  return out;
}

}  // namespace spokeflow::flow
