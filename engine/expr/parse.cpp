// Tokenizer and recursive-descent parser for `${{ }}` expressions, and Template::parse.
//
// Grammar, loosest first (all binary operators are left-associative):
//   or       := and ( '||' and )*
//   and      := equality ( '&&' equality )*
//   equality := relation ( ( '==' | '!=' ) relation )*
//   relation := additive ( ( '<' | '<=' | '>' | '>=' ) additive )*
//   additive := product ( ( '+' | '-' ) product )*
//   product  := unary ( ( '*' | '/' | '%' ) unary )*
//   unary    := ( '!' | '-' ) unary | postfix
//   postfix  := primary ( '.' IDENT | '[' or ']' )*
//   primary  := NUMBER | STRING | 'true' | 'false' | 'null' | IDENT | IDENT '(' args ')' | '(' or ')'
//
// Identifiers are [A-Za-z_][A-Za-z0-9_-]* as in GitHub Actions, with one refinement: a hyphen
// belongs to an identifier only when a letter, digit or '_' follows it, so `a- 1` and `a -1` are
// subtractions while `a-1` is the identifier "a-1" (write spaces around '-' after a name).
#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <system_error>

#include "expr/ast.hpp"

namespace spokeflow::expr {
namespace {

// Bounds on nesting so that neither parsing nor evaluation can exhaust the stack.
constexpr unsigned kMaxNesting = 64;      // parentheses, brackets, call arguments, unary chains
constexpr std::uint32_t kMaxDepth = 256;  // height of the syntax tree

enum class Tok : std::uint8_t {
  end,
  ident,
  integer,
  decimal,
  string,
  dot,
  lbracket,
  rbracket,
  lparen,
  rparen,
  comma,
  bang,
  minus,
  plus,
  star,
  slash,
  percent,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  and_,
  or_,
};

struct Token {
  Tok kind = Tok::end;
  std::size_t offset = 0;
  std::string_view text;  // as written
  std::string str;        // the value of a string literal
  std::int64_t integer = 0;
  double decimal = 0;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

struct FunctionInfo {
  std::string_view name;
  Fn fn;
  std::size_t min_args;
  std::size_t max_args;  // kVariadic: no upper bound
};
constexpr std::size_t kVariadic = std::numeric_limits<std::size_t>::max();
constexpr FunctionInfo kFunctions[] = {
    {"contains", Fn::contains, 2, 2},      {"startsWith", Fn::starts_with, 2, 2},
    {"endsWith", Fn::ends_with, 2, 2},     {"format", Fn::format, 1, kVariadic},
    {"join", Fn::join, 1, 2},              {"length", Fn::length, 1, 1},
    {"lower", Fn::lower, 1, 1},            {"upper", Fn::upper, 1, 1},
    {"toJSON", Fn::to_json, 1, 1},         {"fromJSON", Fn::from_json, 1, 1},
    {"coalesce", Fn::coalesce, 1, kVariadic}, {"now", Fn::now, 0, 0},
};

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string arity_message(const FunctionInfo& f, std::size_t got) {
  std::string m = std::string(f.name) + "() takes ";
  auto count = [](std::size_t n) {
    return n == 0 ? std::string("no arguments") : std::to_string(n) + (n == 1 ? " argument" : " arguments");
  };
  if (f.max_args == kVariadic) m += "at least " + count(f.min_args);
  else if (f.min_args == f.max_args) m += count(f.min_args);
  else m += std::to_string(f.min_args) + " or " + count(f.max_args);
  return m + ", got " + std::to_string(got);
}

// `text` in single quotes. (Built by appending: GCC 12 at -O3 warns falsely on "'" + s + "'".)
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('\'');
  out.append(text);
  out.push_back('\'');
  return out;
}

// How an unexpected byte reads in a message: printable ASCII as itself, a UTF-8 sequence
// as its characters, anything else as a hex byte.
std::string describe_char(std::string_view text, std::size_t pos) {
  const auto c = static_cast<unsigned char>(text[pos]);
  if (c >= 0x20 && c < 0x7f) return quoted(text.substr(pos, 1));
  std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (len != 0 && pos + len <= text.size()) return quoted(text.substr(pos, len));
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("byte 0x") + kHex[c >> 4] + kHex[c & 0xF];
}

class Lexer {
 public:
  Lexer(std::string_view text, std::size_t begin, std::size_t end) : text_(text), pos_(begin), end_(end) {}

  // Reads the next token into `t`; for a malformed token fills `err` and returns false.
  bool next(Token& t, ParseError& err) {
    while (pos_ < end_ && is_space(text_[pos_])) ++pos_;
    t.str.clear();
    t.offset = pos_;
    t.text = {};
    if (pos_ >= end_) {
      t.kind = Tok::end;
      return true;
    }
    const std::size_t start = pos_;
    const char c = text_[pos_];
    auto take = [&](Tok kind, std::size_t len) {
      t.kind = kind;
      t.text = text_.substr(start, len);
      pos_ += len;
      return true;
    };
    auto fail = [&](std::size_t offset, std::string message) {
      err = ParseError{offset, std::move(message)};
      return false;
    };
    const char next = pos_ + 1 < end_ ? text_[pos_ + 1] : '\0';

    if (is_ident_start(c)) {
      std::size_t p = pos_ + 1;
      while (p < end_) {
        if (is_ident_char(text_[p])) ++p;
        else if (text_[p] == '-' && p + 1 < end_ && is_ident_char(text_[p + 1])) ++p;
        else break;
      }
      return take(Tok::ident, p - start);
    }
    if (is_digit(c)) return number(t, err);
    if (c == '\'') return string(t, err);

    switch (c) {
      case '.': return take(Tok::dot, 1);
      case '[': return take(Tok::lbracket, 1);
      case ']': return take(Tok::rbracket, 1);
      case '(': return take(Tok::lparen, 1);
      case ')': return take(Tok::rparen, 1);
      case ',': return take(Tok::comma, 1);
      case '+': return take(Tok::plus, 1);
      case '-': return take(Tok::minus, 1);
      case '*': return take(Tok::star, 1);
      case '/': return take(Tok::slash, 1);
      case '%': return take(Tok::percent, 1);
      case '!': return next == '=' ? take(Tok::ne, 2) : take(Tok::bang, 1);
      case '<': return next == '=' ? take(Tok::le, 2) : take(Tok::lt, 1);
      case '>': return next == '=' ? take(Tok::ge, 2) : take(Tok::gt, 1);
      case '=':
        if (next == '=') return take(Tok::eq, 2);
        return fail(start, "unexpected '='; compare with '=='");
      case '&':
        if (next == '&') return take(Tok::and_, 2);
        return fail(start, "unexpected '&'; the logical and is '&&'");
      case '|':
        if (next == '|') return take(Tok::or_, 2);
        return fail(start, "unexpected '|'; the logical or is '||'");
      case '"':
        return fail(start, "strings use single quotes: 'text' (write '' for a quote inside)");
      case '$':
        if (next == '{' && pos_ + 2 < end_ && text_[pos_ + 2] == '{')
          return fail(start, "'${{' cannot appear inside an expression");
        break;
      default: break;
    }
    return fail(start, "unexpected character " + describe_char(text_.substr(0, end_), start));
  }

 private:
  bool number(Token& t, ParseError& err) {
    const std::size_t start = pos_;
    std::size_t p = pos_;
    while (p < end_ && is_digit(text_[p])) ++p;
    bool decimal = false;
    if (p + 1 < end_ && text_[p] == '.' && is_digit(text_[p + 1])) {
      decimal = true;
      ++p;
      while (p < end_ && is_digit(text_[p])) ++p;
    }
    if (p < end_ && (text_[p] == 'e' || text_[p] == 'E')) {
      std::size_t q = p + 1;
      if (q < end_ && (text_[q] == '+' || text_[q] == '-')) ++q;
      if (q < end_ && is_digit(text_[q])) {
        decimal = true;
        p = q;
        while (p < end_ && is_digit(text_[p])) ++p;
      }
    }
    if (p < end_ && is_ident_char(text_[p])) {
      while (p < end_ && is_ident_char(text_[p])) ++p;
      err = ParseError{start, "invalid number '" + std::string(text_.substr(start, p - start)) + "'"};
      return false;
    }
    const std::string_view lexeme = text_.substr(start, p - start);
    const char* first = lexeme.data();
    const char* last = lexeme.data() + lexeme.size();
    if (decimal) {
      double d = 0;
      auto [ptr, ec] = std::from_chars(first, last, d);
      if (ec != std::errc() || ptr != last) {
        err = ParseError{start, "number '" + std::string(lexeme) + "' is out of range"};
        return false;
      }
      t.kind = Tok::decimal;
      t.decimal = d;
    } else {
      std::int64_t i = 0;
      auto [ptr, ec] = std::from_chars(first, last, i);
      if (ec != std::errc() || ptr != last) {
        err = ParseError{start, "integer '" + std::string(lexeme) +
                                    "' is too large (the largest is 9223372036854775807)"};
        return false;
      }
      t.kind = Tok::integer;
      t.integer = i;
    }
    t.text = lexeme;
    pos_ = p;
    return true;
  }

  bool string(Token& t, ParseError& err) {
    const std::size_t start = pos_;
    std::size_t p = pos_ + 1;
    std::size_t chunk = p;  // start of the text not yet copied into t.str
    for (;;) {
      if (p >= end_) {
        err = ParseError{start, "unterminated string literal"};
        return false;
      }
      if (text_[p] == '\'') {
        t.str.append(text_.substr(chunk, p - chunk));
        if (p + 1 < end_ && text_[p + 1] == '\'') {  // '' is one quote
          t.str.push_back('\'');
          p += 2;
          chunk = p;
          continue;
        }
        ++p;
        break;
      }
      ++p;
    }
    t.kind = Tok::string;
    t.text = text_.substr(start, p - start);
    pos_ = p;
    return true;
  }

  std::string_view text_;
  std::size_t pos_;
  std::size_t end_;
};

std::unique_ptr<Node> make_literal(Json value, std::size_t offset) {
  auto n = std::make_unique<Node>();
  n->kind = NodeKind::literal;
  n->literal = std::move(value);
  n->offset = offset;
  return n;
}

class Parser {
 public:
  Parser(std::string_view text, std::size_t begin, std::size_t end, bool in_template)
      : text_(text), lex_(text, begin, end), in_template_(in_template) {}

  // Parses the whole range as one expression. On failure returns nullptr and fills error().
  std::unique_ptr<Node> parse_all(std::size_t empty_offset) {
    if (!advance()) return nullptr;
    if (tok_.kind == Tok::end) return fail(empty_offset, "empty expression");
    auto node = parse_binary(0);
    if (!node) return nullptr;
    if (tok_.kind == Tok::lparen)
      return fail(tok_.offset, "unexpected '('; only the built-in functions can be called, by name: length(x)");
    if (tok_.kind != Tok::end)
      return fail(tok_.offset, "unexpected " + describe(tok_) + " after a complete expression; expected an operator" +
                                   (in_template_ ? " or '}}'" : ""));
    return node;
  }

  const ParseError& error() const { return error_; }

 private:
  // Counts nesting while a parse function recurses; see kMaxNesting.
  struct Nest {
    explicit Nest(unsigned& n) : n_(n) { ++n_; }
    ~Nest() { --n_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;
    unsigned& n_;
  };

  std::nullptr_t fail(std::size_t offset, std::string message) {
    if (!failed_) {
      failed_ = true;
      error_ = ParseError{offset, std::move(message)};
    }
    return nullptr;
  }

  bool advance() {
    ParseError err;
    if (lex_.next(tok_, err)) return true;
    fail(err.offset, std::move(err.message));
    return false;
  }

  std::string describe(const Token& t) const {
    switch (t.kind) {
      case Tok::end: return in_template_ ? "'}}'" : "the end of the expression";
      case Tok::string: return "a string";
      default: return quoted(t.text);
    }
  }

  bool too_deep(const Node& n) { return n.depth > kMaxDepth; }
  std::nullptr_t nested_too_deeply(std::size_t offset) {
    return fail(offset, "expression is nested too deeply");
  }

  static std::optional<NodeKind> binary_kind(int level, Tok t) {
    switch (level) {
      case 0: if (t == Tok::or_) return NodeKind::logical_or; break;
      case 1: if (t == Tok::and_) return NodeKind::logical_and; break;
      case 2:
        if (t == Tok::eq) return NodeKind::eq;
        if (t == Tok::ne) return NodeKind::ne;
        break;
      case 3:
        if (t == Tok::lt) return NodeKind::lt;
        if (t == Tok::le) return NodeKind::le;
        if (t == Tok::gt) return NodeKind::gt;
        if (t == Tok::ge) return NodeKind::ge;
        break;
      case 4:
        if (t == Tok::plus) return NodeKind::add;
        if (t == Tok::minus) return NodeKind::sub;
        break;
      case 5:
        if (t == Tok::star) return NodeKind::mul;
        if (t == Tok::slash) return NodeKind::div;
        if (t == Tok::percent) return NodeKind::mod;
        break;
      default: break;
    }
    return std::nullopt;
  }
  static constexpr int kUnaryLevel = 6;

  std::unique_ptr<Node> parse_expression() {
    Nest nest(nesting_);
    if (nesting_ > kMaxNesting) return nested_too_deeply(tok_.offset);
    return parse_binary(0);
  }

  std::unique_ptr<Node> parse_binary(int level) {
    if (level == kUnaryLevel) return parse_unary();
    auto lhs = parse_binary(level + 1);
    if (!lhs) return nullptr;
    while (auto kind = binary_kind(level, tok_.kind)) {
      const std::size_t op_offset = tok_.offset;
      if (!advance()) return nullptr;
      auto rhs = parse_binary(level + 1);
      if (!rhs) return nullptr;
      auto n = std::make_unique<Node>();
      n->kind = *kind;
      n->offset = lhs->offset;
      n->depth = 1 + std::max(lhs->depth, rhs->depth);
      n->args.push_back(std::move(lhs));
      n->args.push_back(std::move(rhs));
      if (too_deep(*n)) return nested_too_deeply(op_offset);
      lhs = std::move(n);
    }
    return lhs;
  }

  std::unique_ptr<Node> parse_unary() {
    if (tok_.kind != Tok::bang && tok_.kind != Tok::minus) return parse_postfix();
    Nest nest(nesting_);
    const Tok op = tok_.kind;
    const std::size_t offset = tok_.offset;
    if (nesting_ > kMaxNesting) return nested_too_deeply(offset);
    if (!advance()) return nullptr;
    auto operand = parse_unary();
    if (!operand) return nullptr;
    // Fold `-` on a number literal, so `-1` is a constant (also as an index: `a[-1]`).
    if (op == Tok::minus && operand->kind == NodeKind::literal && operand->literal.is_number()) {
      if (operand->literal.is_number_integer())
        operand->literal = -operand->literal.get<std::int64_t>();  // literals lie within +-INT64_MAX
      else
        operand->literal = -operand->literal.get<double>();
      operand->offset = offset;
      return operand;
    }
    auto n = std::make_unique<Node>();
    n->kind = op == Tok::bang ? NodeKind::logical_not : NodeKind::negate;
    n->offset = offset;
    n->depth = operand->depth + 1;
    n->args.push_back(std::move(operand));
    if (too_deep(*n)) return nested_too_deeply(offset);
    return n;
  }

  std::unique_ptr<Node> parse_postfix() {
    auto node = parse_primary();
    if (!node) return nullptr;
    for (;;) {
      Step step;
      std::uint32_t step_depth = 0;
      if (tok_.kind == Tok::dot) {
        if (!advance()) return nullptr;
        if (tok_.kind != Tok::ident) {
          if (tok_.kind == Tok::end && in_template_) return fail(tok_.offset, "expected an identifier after '.'");
          return fail(tok_.offset, "expected an identifier after '.', found " + describe(tok_));
        }
        step.kind = Step::Kind::key;
        step.key = std::string(tok_.text);
        if (!advance()) return nullptr;
      } else if (tok_.kind == Tok::lbracket) {
        const std::size_t open = tok_.offset;
        if (!advance()) return nullptr;
        if (tok_.kind == Tok::rbracket) return fail(tok_.offset, "expected an index or a key inside '[ ]'");
        auto index = parse_expression();
        if (!index) return nullptr;
        if (tok_.kind != Tok::rbracket)
          return fail(tok_.offset, "expected ']' to close the '[' at offset " + std::to_string(open) + ", found " +
                                       describe(tok_));
        if (!advance()) return nullptr;
        if (index->kind == NodeKind::literal && index->literal.is_string()) {
          step.kind = Step::Kind::key;
          step.key = index->literal.get<std::string>();
        } else if (index->kind == NodeKind::literal && index->literal.is_number_integer()) {
          step.kind = Step::Kind::index;
          step.index = index->literal.get<std::int64_t>();
        } else {
          step.kind = Step::Kind::dynamic;
          step_depth = index->depth;
          step.expr = std::move(index);
        }
      } else {
        return node;
      }
      if (node->kind != NodeKind::path) {
        auto wrapper = std::make_unique<Node>();
        wrapper->kind = NodeKind::path;
        wrapper->offset = node->offset;
        wrapper->depth = node->depth + 1;
        wrapper->base = std::move(node);
        node = std::move(wrapper);
      }
      node->depth = std::max(node->depth, step_depth + 1);
      node->steps.push_back(std::move(step));
      if (too_deep(*node)) return nested_too_deeply(node->offset);
    }
  }

  std::unique_ptr<Node> parse_primary() {
    const std::size_t offset = tok_.offset;
    switch (tok_.kind) {
      case Tok::integer: {
        auto n = make_literal(Json(tok_.integer), offset);
        if (!advance()) return nullptr;
        return n;
      }
      case Tok::decimal: {
        auto n = make_literal(Json(tok_.decimal), offset);
        if (!advance()) return nullptr;
        return n;
      }
      case Tok::string: {
        auto n = make_literal(Json(std::move(tok_.str)), offset);
        if (!advance()) return nullptr;
        return n;
      }
      case Tok::ident: {
        const std::string name(tok_.text);
        if (!advance()) return nullptr;
        if (name == "true") return make_literal(Json(true), offset);
        if (name == "false") return make_literal(Json(false), offset);
        if (name == "null") return make_literal(Json(nullptr), offset);
        if (tok_.kind == Tok::lparen) return parse_call(name, offset);
        auto n = std::make_unique<Node>();
        n->kind = NodeKind::path;
        n->root = name;
        n->offset = offset;
        return n;
      }
      case Tok::lparen: {
        if (!advance()) return nullptr;
        auto inner = parse_expression();
        if (!inner) return nullptr;
        if (tok_.kind != Tok::rparen)
          return fail(tok_.offset, "expected ')' to close the '(' at offset " + std::to_string(offset) + ", found " +
                                       describe(tok_));
        if (!advance()) return nullptr;
        return inner;
      }
      default:
        return fail(offset, "expected an expression, found " + describe(tok_));
    }
  }

  // At '(' after the function name.
  std::unique_ptr<Node> parse_call(const std::string& name, std::size_t offset) {
    const FunctionInfo* info = nullptr;
    for (const auto& f : kFunctions)
      if (f.name == name) info = &f;
    if (info == nullptr) {
      for (const auto& f : kFunctions)
        if (iequals_ascii(f.name, name))
          return fail(offset, "unknown function '" + name + "'; did you mean '" + std::string(f.name) +
                                  "'? (function names are case-sensitive)");
      std::string known;
      for (const auto& f : kFunctions) known += (known.empty() ? "" : ", ") + std::string(f.name);
      return fail(offset, "unknown function '" + name + "' (the functions are " + known + ")");
    }
    auto n = std::make_unique<Node>();
    n->kind = NodeKind::call;
    n->fn = info->fn;
    n->offset = offset;
    if (!advance()) return nullptr;  // '('
    if (tok_.kind != Tok::rparen) {
      for (;;) {
        auto arg = parse_expression();
        if (!arg) return nullptr;
        n->depth = std::max(n->depth, arg->depth + 1);
        n->args.push_back(std::move(arg));
        if (tok_.kind == Tok::comma) {
          if (!advance()) return nullptr;
          continue;
        }
        if (tok_.kind == Tok::rparen) break;
        return fail(tok_.offset, "expected ',' or ')' after an argument of " + name + "(), found " + describe(tok_));
      }
    }
    if (!advance()) return nullptr;  // ')'
    const std::size_t argc = n->args.size();
    if (argc < info->min_args || argc > info->max_args) return fail(offset, arity_message(*info, argc));
    if (info->fn == Fn::format && n->args[0]->kind == NodeKind::literal && n->args[0]->literal.is_string()) {
      std::string problem = check_format_pattern(n->args[0]->literal.get_ref<const std::string&>(), argc - 1);
      if (!problem.empty()) return fail(n->args[0]->offset, std::move(problem));
    }
    if (too_deep(*n)) return nested_too_deeply(offset);
    return n;
  }

  std::string_view text_;
  Lexer lex_;
  Token tok_;
  bool in_template_;
  unsigned nesting_ = 0;
  bool failed_ = false;
  ParseError error_;
};

bool all_space(std::string_view s) {
  for (char c : s)
    if (!is_space(c)) return false;
  return true;
}

}  // namespace

std::variant<Template, ParseError> Template::parse(std::string_view text) {
  auto parts = std::make_shared<std::vector<Part>>();
  const std::size_t n = text.size();
  std::size_t pos = 0;
  std::size_t expressions = 0;
  while (pos < n) {
    const std::size_t open = text.find("${{", pos);
    if (open == std::string_view::npos) {
      parts->push_back(Part{false, pos, std::string(text.substr(pos)), nullptr});
      break;
    }
    if (open > pos) parts->push_back(Part{false, pos, std::string(text.substr(pos, open - pos)), nullptr});

    // The closing '}}' is the first one outside a string literal: `${{ '}}' }}` is fine.
    std::size_t close = std::string_view::npos;
    for (std::size_t i = open + 3; i < n;) {
      if (text[i] == '\'') {
        const std::size_t quote = i++;
        bool closed = false;
        while (i < n) {
          if (text[i] == '\'') {
            if (i + 1 < n && text[i + 1] == '\'') {
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          ++i;
        }
        if (!closed) return ParseError{quote, "unterminated string literal"};
        continue;
      }
      if (text[i] == '}' && i + 1 < n && text[i + 1] == '}') {
        close = i;
        break;
      }
      ++i;
    }
    if (close == std::string_view::npos) return ParseError{open, "'${{' without a closing '}}'"};

    Parser parser(text, open + 3, close, /*in_template=*/true);
    auto node = parser.parse_all(open);
    if (!node) return parser.error();
    parts->push_back(Part{true, open, std::string(text.substr(open, close + 2 - open)), std::move(node)});
    ++expressions;
    pos = close + 2;
  }

  // Whole value: one expression and only whitespace around it. Keep just the expression.
  if (expressions == 1) {
    bool whole = true;
    for (const auto& p : *parts)
      if (!p.is_expr && !all_space(p.text)) whole = false;
    if (whole) std::erase_if(*parts, [](const Part& p) { return !p.is_expr; });
  }

  Template t;
  t.parts_ = std::move(parts);
  t.source_ = std::string(text);
  return t;
}

std::variant<Template, ParseError> Template::parse_condition(std::string_view text) {
  std::size_t b = 0, e = text.size();
  while (b < e && is_space(text[b])) ++b;
  while (e > b && is_space(text[e - 1])) --e;
  if (b == e) return ParseError{0, "empty expression"};

  if (text.substr(b).starts_with("${{")) {
    auto parsed = parse(text);
    if (auto* err = std::get_if<ParseError>(&parsed)) return *err;
    Template& t = std::get<Template>(parsed);
    if (t.is_whole()) return parsed;
    // Find what sits beside the first expression.
    std::size_t where = 0;
    bool seen_expr = false;
    for (const auto& p : *t.parts_) {
      if (p.is_expr) {
        if (seen_expr) {
          where = p.offset;
          break;
        }
        seen_expr = true;
        continue;
      }
      if (!all_space(p.text)) {
        std::size_t k = 0;
        while (is_space(p.text[k])) ++k;
        where = p.offset + k;
        break;
      }
    }
    return ParseError{where,
                      "a condition is one expression: write it bare (a && b) or as a single '${{ }}' "
                      "with nothing beside it"};
  }

  Parser parser(text, 0, text.size(), /*in_template=*/false);
  auto node = parser.parse_all(b);
  if (!node) return parser.error();
  auto parts = std::make_shared<std::vector<Part>>();
  parts->push_back(Part{true, b, std::string(text.substr(b, e - b)), std::move(node)});
  Template t;
  t.parts_ = std::move(parts);
  t.source_ = std::string(text);
  return t;
}

}  // namespace spokeflow::expr
