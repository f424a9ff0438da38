#include "filter.hpp"

#include <cctype>
#include <vector>

#include "util.hpp"

namespace oktasim {

struct FilterNode {
  enum class Kind { And, Or, Not, Present, Compare } kind = Kind::Compare;
  std::unique_ptr<FilterNode> left, right;
  std::string attr;
  std::string op;
  nlohmann::ordered_json value;
};

namespace {

struct Token {
  enum class T { Word, String, LParen, RParen, End } t = T::End;
  std::string text;
};

bool tokenize(std::string_view s, std::vector<Token>& out, std::string& err) {
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '(') {
      out.push_back({Token::T::LParen, "("});
      ++i;
    } else if (c == ')') {
      out.push_back({Token::T::RParen, ")"});
      ++i;
    } else if (c == '"') {
      std::string v;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          v.push_back(s[i + 1]);
          i += 2;
        } else if (s[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          v.push_back(s[i++]);
        }
      }
      if (!closed) {
        err = "unterminated string";
        return false;
      }
      out.push_back({Token::T::String, v});
    } else {
      std::string w;
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])) && s[i] != '(' && s[i] != ')' &&
             s[i] != '"')
        w.push_back(s[i++]);
      out.push_back({Token::T::Word, w});
    }
  }
  out.push_back({Token::T::End, ""});
  return true;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> t) : toks_(std::move(t)) {}

  std::unique_ptr<FilterNode> parse_or(std::string& err, int depth) {
    if (depth > 64) {
      err = "expression too deep";
      return nullptr;
    }
    auto left = parse_and(err, depth);
    if (!left) return nullptr;
    while (peek_word("or")) {
      ++pos_;
      auto right = parse_and(err, depth);
      if (!right) return nullptr;
      auto n = std::make_unique<FilterNode>();
      n->kind = FilterNode::Kind::Or;
      n->left = std::move(left);
      n->right = std::move(right);
      left = std::move(n);
    }
    return left;
  }

  bool at_end() const { return toks_[pos_].t == Token::T::End; }

 private:
  bool peek_word(std::string_view w) const {
    return toks_[pos_].t == Token::T::Word && iequals(toks_[pos_].text, w);
  }

  std::unique_ptr<FilterNode> parse_and(std::string& err, int depth) {
    auto left = parse_unary(err, depth);
    if (!left) return nullptr;
    while (peek_word("and")) {
      ++pos_;
      auto right = parse_unary(err, depth);
      if (!right) return nullptr;
      auto n = std::make_unique<FilterNode>();
      n->kind = FilterNode::Kind::And;
      n->left = std::move(left);
      n->right = std::move(right);
      left = std::move(n);
    }
    return left;
  }

  std::unique_ptr<FilterNode> parse_unary(std::string& err, int depth) {
    if (peek_word("not")) {
      ++pos_;
      auto inner = parse_unary(err, depth + 1);
      if (!inner) return nullptr;
      auto n = std::make_unique<FilterNode>();
      n->kind = FilterNode::Kind::Not;
      n->left = std::move(inner);
      return n;
    }
    if (toks_[pos_].t == Token::T::LParen) {
      ++pos_;
      auto inner = parse_or(err, depth + 1);
      if (!inner) return nullptr;
      if (toks_[pos_].t != Token::T::RParen) {
        err = "missing )";
        return nullptr;
      }
      ++pos_;
      return inner;
    }
    if (toks_[pos_].t != Token::T::Word) {
      err = "attribute expected";
      return nullptr;
    }
    auto n = std::make_unique<FilterNode>();
    n->attr = toks_[pos_++].text;
    if (toks_[pos_].t != Token::T::Word) {
      err = "operator expected after " + n->attr;
      return nullptr;
    }
    const std::string op = lower(toks_[pos_++].text);
    if (op == "pr") {
      n->kind = FilterNode::Kind::Present;
      return n;
    }
    static const char* ops[] = {"eq", "ne", "gt", "ge", "lt", "le", "sw", "co", "ew"};
    bool known = false;
    for (const char* o : ops) known = known || op == o;
    if (!known) {
      err = "unknown operator " + op;
      return nullptr;
    }
    n->kind = FilterNode::Kind::Compare;
    n->op = op;
    const Token& v = toks_[pos_];
    if (v.t == Token::T::String) {
      n->value = v.text;
    } else if (v.t == Token::T::Word) {
      if (iequals(v.text, "true")) n->value = true;
      else if (iequals(v.text, "false")) n->value = false;
      else if (iequals(v.text, "null")) n->value = nullptr;
      else {
        char* end = nullptr;
        const double d = std::strtod(v.text.c_str(), &end);
        if (end == v.text.c_str() || *end != '\0') {
          err = "value expected for " + n->attr;
          return nullptr;
        }
        n->value = d;
      }
    } else {
      err = "value expected for " + n->attr;
      return nullptr;
    }
    ++pos_;
    return n;
  }

  std::vector<Token> toks_;
  std::size_t pos_ = 0;
};

int compare_scalar(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b, bool& comparable) {
  comparable = true;
  if (a.is_string() && b.is_string()) {
    const std::string x = lower(a.get<std::string>());
    const std::string y = lower(b.get<std::string>());
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_boolean() && b.is_boolean()) return a.get<bool>() == b.get<bool>() ? 0 : 1;
  if (a.is_null() && b.is_null()) return 0;
  if (a.is_string() && b.is_number()) {
    // numbers stored as strings
    comparable = false;
    return 1;
  }
  comparable = false;
  return 1;
}

bool compare_one(const nlohmann::ordered_json& v, const std::string& op, const nlohmann::ordered_json& want) {
  if (op == "sw" || op == "co" || op == "ew") {
    if (!v.is_string() || !want.is_string()) return false;
    const std::string x = lower(v.get<std::string>());
    const std::string y = lower(want.get<std::string>());
    if (op == "sw") return x.rfind(y, 0) == 0;
    if (op == "ew") return x.size() >= y.size() && x.compare(x.size() - y.size(), y.size(), y) == 0;
    return x.find(y) != std::string::npos;
  }
  bool comparable = false;
  const int c = compare_scalar(v, want, comparable);
  if (op == "eq") return comparable && c == 0;
  if (op == "ne") return !comparable || c != 0;
  if (!comparable) return false;
  if (op == "gt") return c > 0;
  if (op == "ge") return c >= 0;
  if (op == "lt") return c < 0;
  if (op == "le") return c <= 0;
  return false;
}

// Every value at a dotted path, going into each element of a list on the way: System Log
// events have a list of targets, and `target.id eq "x"` matches when any target's id does.
void values_at(const nlohmann::ordered_json& cur, std::string_view path, std::vector<const nlohmann::ordered_json*>& out) {
  if (cur.is_array() && !path.empty()) {
    for (const auto& e : cur) values_at(e, path, out);
    return;
  }
  if (path.empty()) {
    out.push_back(&cur);
    return;
  }
  const std::size_t dot = path.find('.');
  const std::string_view head = path.substr(0, dot);
  const std::string_view rest = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  if (const auto* v = json_path(cur, head)) values_at(*v, rest, out);
}

bool eval(const FilterNode& n, const nlohmann::ordered_json& obj) {
  switch (n.kind) {
    case FilterNode::Kind::And:
      return eval(*n.left, obj) && eval(*n.right, obj);
    case FilterNode::Kind::Or:
      return eval(*n.left, obj) || eval(*n.right, obj);
    case FilterNode::Kind::Not:
      return !eval(*n.left, obj);
    case FilterNode::Kind::Present: {
      std::vector<const nlohmann::ordered_json*> found;
      values_at(obj, n.attr, found);
      for (const auto* v : found)
        if (!v->is_null() && !(v->is_string() && v->get<std::string>().empty())) return true;
      return false;
    }
    case FilterNode::Kind::Compare: {
      std::vector<const nlohmann::ordered_json*> found;
      values_at(obj, n.attr, found);
      if (found.empty()) return n.op == "ne" || (n.op == "eq" && n.value.is_null());
      for (const auto* v : found) {
        if (v->is_array()) {
          for (const auto& e : *v)
            if (compare_one(e, n.op, n.value)) return true;
        } else if (compare_one(*v, n.op, n.value)) {
          return true;
        }
      }
      return false;
    }
  }
  return false;
}

}  // namespace

const nlohmann::ordered_json* json_path(const nlohmann::ordered_json& obj, std::string_view path) {
  const nlohmann::ordered_json* cur = &obj;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t dot = path.find('.', pos);
    if (dot == std::string_view::npos) dot = path.size();
    const std::string key(path.substr(pos, dot - pos));
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) {
      // attribute names are case-insensitive in Okta expressions
      const nlohmann::ordered_json* found = nullptr;
      for (auto jt = cur->begin(); jt != cur->end(); ++jt)
        if (iequals(jt.key(), key)) found = &jt.value();
      if (!found) return nullptr;
      cur = found;
    } else {
      cur = &*it;
    }
    pos = dot + 1;
  }
  return cur;
}

Filter::Filter() = default;
Filter::~Filter() = default;
Filter::Filter(Filter&&) noexcept = default;
Filter& Filter::operator=(Filter&&) noexcept = default;

bool Filter::parse(std::string_view text, std::string& error) {
  std::vector<Token> toks;
  if (!tokenize(text, toks, error)) return false;
  if (toks.size() == 1) {
    error = "empty expression";
    return false;
  }
  Parser p(std::move(toks));
  auto root = p.parse_or(error, 0);
  if (!root) return false;
  if (!p.at_end()) {
    error = "unexpected trailing input";
    return false;
  }
  root_ = std::move(root);
  return true;
}

bool Filter::matches(const nlohmann::ordered_json& obj) const { return !root_ || eval(*root_, obj); }

}  // namespace oktasim
