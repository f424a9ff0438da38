// Evaluation of expression trees, the built-in functions, truthy() and to_text().
//
// Semantics worth knowing (also in docs):
// - `a && b` and `a || b` short-circuit and return the deciding operand itself, as in GitHub
//   Actions: `a || b` is `a` when `a` is truthy, else `b`; `a && b` is `a` when `a` is falsy,
//   else `b`. So `inputs.name || 'nobody'` is a default, and conditions just use truthy().
// - Access never fails: a missing key, an index out of range (negative indexes included), or
//   access on a value that is not an object/array gives null.
// - Arithmetic is on numbers only. Integers stay integers (int64; overflow is an error);
//   `/` gives an integer when the division is exact, else a double; `%` takes integers and
//   truncates like C++ and JavaScript (-7 % 3 == -1); dividing by zero is an error.
// - `==` is false between different JSON types, except that all numbers compare by value
//   (1 == 1.0); arrays and objects compare by content. `<` and friends take two numbers or
//   two strings (compared byte by byte); anything else is an error.
//
// - Sensitivity follows the data (see Scope in expr.hpp, Sensitivity in sensitive.cpp): each
//   step that makes a new text or number from a secret (upper, lower, toJSON and the JSON text
//   that interpolation, format() and join() make of arrays and objects, fromJSON, arithmetic)
//   tells the scope what it derived. Booleans and numbers that only describe a secret
//   (comparisons, contains/startsWith/endsWith, length) are not secrets and stay visible.
//
// Values are passed around as Val: either a pointer to a Json that outlives the evaluation
// (in the Scope or in the tree's literals) or an owned Json. A pure access path such as
// `steps.a.outputs.x` walks pointers and is copied once, by the caller, at the very end.
#include <charconv>
#include <cmath>
#include <compare>
#include <limits>

#include "common/ids.hpp"
#include "common/json_text.hpp"
#include "expr/ast.hpp"

namespace spokeflow::expr {
namespace {

const Json& null_json() {
  static const Json k;
  return k;
}

struct Val {
  const Json* ref = nullptr;
  Json own;
  const Json& get() const { return ref != nullptr ? *ref : own; }
};

Val ref_to(const Json* p) {
  Val v;
  v.ref = p;
  return v;
}

Val owned(Json j) {
  Val v;
  v.own = std::move(j);
  return v;
}

const char* type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "number";
    case Json::value_t::string: return "string";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "object";
    default: return "binary";
  }
}

std::string dump_compact(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// A number as the evaluator sees it: an int64, or a double for fractions and for unsigned
// values above INT64_MAX (which only arrive from outside, e.g. fromJSON).
struct Num {
  bool is_int = true;
  std::int64_t i = 0;
  double d = 0;
};

bool as_number(const Json& j, Num& n) {
  switch (j.type()) {
    case Json::value_t::number_integer:
      n.is_int = true;
      n.i = *j.get_ptr<const Json::number_integer_t*>();
      return true;
    case Json::value_t::number_unsigned: {
      const auto u = *j.get_ptr<const Json::number_unsigned_t*>();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        n.is_int = true;
        n.i = static_cast<std::int64_t>(u);
      } else {
        n.is_int = false;
        n.d = static_cast<double>(u);
      }
      return true;
    }
    case Json::value_t::number_float:
      n.is_int = false;
      n.d = *j.get_ptr<const Json::number_float_t*>();
      return true;
    default: return false;
  }
}

double to_double(const Num& n) { return n.is_int ? static_cast<double>(n.i) : n.d; }

std::partial_ordering compare_numbers(const Num& x, const Num& y) {
  if (x.is_int && y.is_int) return x.i <=> y.i;
  return to_double(x) <=> to_double(y);
}

bool equal(const Json& a, const Json& b) {
  Num x, y;
  if (as_number(a, x) && as_number(b, y)) return compare_numbers(x, y) == 0;
  if (a.type() != b.type()) return false;
  return a == b;  // deep for arrays and objects; nlohmann compares nested numbers by value
}

const Json* child_by_key(const Json& v, const std::string& key) {
  if (!v.is_object()) return nullptr;
  const auto& obj = *v.get_ptr<const Json::object_t*>();
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &it->second;
}

const Json* child_by_index(const Json& v, std::int64_t i) {
  if (!v.is_array()) return nullptr;
  const auto& arr = *v.get_ptr<const Json::array_t*>();
  if (i < 0 || static_cast<std::uint64_t>(i) >= arr.size()) return nullptr;
  return &arr[static_cast<std::size_t>(i)];
}

const Json* child_by_value(const Json& v, const Json& key) {
  if (key.is_string()) return child_by_key(v, key.get_ref<const std::string&>());
  Num n;
  if (!as_number(key, n)) return nullptr;
  if (n.is_int) return child_by_index(v, n.i);
  // A double index counts when it is a whole number: a[4 / 2.0].
  if (!(n.d >= 0 && n.d < 9.0e15) || std::floor(n.d) != n.d) return nullptr;
  return child_by_index(v, static_cast<std::int64_t>(n.d));
}

void append_double(std::string& out, double d) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest form that reads back the same
  out.append(buf, r.ptr);
}

template <class Int>
void append_int(std::string& out, Int i) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, r.ptr);
}

void append_text(std::string& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return;
    case Json::value_t::string: out += v.get_ref<const std::string&>(); return;
    case Json::value_t::boolean: out += *v.get_ptr<const Json::boolean_t*>() ? "true" : "false"; return;
    case Json::value_t::number_integer: append_int(out, *v.get_ptr<const Json::number_integer_t*>()); return;
    case Json::value_t::number_unsigned: append_int(out, *v.get_ptr<const Json::number_unsigned_t*>()); return;
    case Json::value_t::number_float: append_double(out, *v.get_ptr<const Json::number_float_t*>()); return;
    default: out += dump_compact(v); return;
  }
}

std::size_t count_code_points(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// Walks a format() pattern. With `out`, writes the text and calls put(out, i) for each {i};
// without, only checks. Returns the problem, or an empty string.
template <class Put>
std::string run_format(std::string_view pattern, std::size_t arg_count, std::string* out, Put put) {
  const std::size_t n = pattern.size();
  std::size_t run = 0;  // start of literal text not yet written
  auto flush = [&](std::size_t upto) {
    if (out != nullptr) out->append(pattern.substr(run, upto - run));
  };
  for (std::size_t i = 0; i < n;) {
    const char c = pattern[i];
    if (c == '{') {
      flush(i);
      if (i + 1 < n && pattern[i + 1] == '{') {
        if (out != nullptr) out->push_back('{');
        i += 2;
        run = i;
        continue;
      }
      std::size_t j = i + 1;
      while (j < n && pattern[j] >= '0' && pattern[j] <= '9') ++j;
      if (j == i + 1 || j >= n || pattern[j] != '}')
        return "format() pattern has a '{' at position " + std::to_string(i) +
               " that does not start a placeholder like {0}; write '{{' for a literal brace";
      const std::string_view digits = pattern.substr(i + 1, j - i - 1);
      std::size_t index = std::numeric_limits<std::size_t>::max();
      if (digits.size() <= 9) std::from_chars(digits.data(), digits.data() + digits.size(), index);
      if (index >= arg_count)
        return "format() pattern uses {" + std::string(digits) + "} but " +
               (arg_count == 0 ? std::string("no arguments follow the pattern")
                               : "only " + std::to_string(arg_count) + " argument" + (arg_count == 1 ? "" : "s") +
                                     " follow the pattern ({0} to {" + std::to_string(arg_count - 1) + "})");
      if (out != nullptr) put(*out, index);
      i = j + 1;
      run = i;
      continue;
    }
    if (c == '}') {
      flush(i);
      if (i + 1 < n && pattern[i + 1] == '}') {
        if (out != nullptr) out->push_back('}');
        i += 2;
        run = i;
        continue;
      }
      return "format() pattern has a lone '}' at position " + std::to_string(i) + "; write '}}' for a literal brace";
    }
    ++i;
  }
  flush(n);
  return {};
}

class Evaluator {
 public:
  explicit Evaluator(const Scope& scope) : scope_(scope), sensitive_(scope) {}

  bool failed() const { return failed_; }
  std::string& message() { return message_; }

  // Appends the text form of `v` (see to_text): arrays and objects as JSON text, whose strings
  // are escaped copies.
  void append(std::string& out, const Json& v) {
    if (v.is_array() || v.is_object()) sensitive_.escaped(v);
    append_text(out, v);
  }

  Val eval(const Node& n) {
    switch (n.kind) {
      case NodeKind::literal: return ref_to(&n.literal);
      case NodeKind::path: return path(n);
      case NodeKind::logical_not: {
        Val a = eval(*n.args[0]);
        if (failed_) return {};
        return owned(Json(!truthy(a.get())));
      }
      case NodeKind::negate: {
        Val a = eval(*n.args[0]);
        if (failed_) return {};
        Val r = negate(a.get());
        if (!failed_) sensitive_.computed(r.get(), a.get());
        return r;
      }
      case NodeKind::logical_or: {  // returns the deciding operand, see the top of this file
        Val a = eval(*n.args[0]);
        if (failed_ || truthy(a.get())) return a;
        return eval(*n.args[1]);
      }
      case NodeKind::logical_and: {
        Val a = eval(*n.args[0]);
        if (failed_ || !truthy(a.get())) return a;
        return eval(*n.args[1]);
      }
      case NodeKind::call: return call(n);
      default: break;
    }
    Val a = eval(*n.args[0]);
    if (failed_) return {};
    Val b = eval(*n.args[1]);
    if (failed_) return {};
    switch (n.kind) {
      case NodeKind::eq: return owned(Json(equal(a.get(), b.get())));
      case NodeKind::ne: return owned(Json(!equal(a.get(), b.get())));
      case NodeKind::lt:
      case NodeKind::le:
      case NodeKind::gt:
      case NodeKind::ge: return relation(n.kind, a.get(), b.get());
      default: {
        Val r = arithmetic(n.kind, a.get(), b.get());
        if (!failed_) sensitive_.computed(r.get(), a.get(), &b.get());
        return r;
      }
    }
  }

 private:
  Val fail(std::string message) {
    if (!failed_) {
      failed_ = true;
      message_ = std::move(message);
    }
    return {};
  }

  Val path(const Node& n) {
    Val v;
    if (n.base) {
      v = eval(*n.base);
      if (failed_) return {};
    }
    std::size_t first = 0;
    if (!n.base) {
      const Json* root = nullptr;
      if (!n.steps.empty() && n.steps[0].kind == Step::Kind::key) {
        root = scope_.lookup_member(n.root, n.steps[0].key);
        first = 1;
      } else {
        root = scope_.lookup(n.root);
      }
      v.ref = root != nullptr ? root : &null_json();
    }
    for (std::size_t i = first; i < n.steps.size(); ++i) {
      const Step& s = n.steps[i];
      const Json* child = nullptr;
      switch (s.kind) {
        case Step::Kind::key: child = child_by_key(v.get(), s.key); break;
        case Step::Kind::index: child = child_by_index(v.get(), s.index); break;
        case Step::Kind::dynamic: {
          Val key = eval(*s.expr);
          if (failed_) return {};
          child = child_by_value(v.get(), key.get());
          break;
        }
      }
      if (child == nullptr) {
        v.ref = &null_json();
        v.own = nullptr;
      } else if (v.ref != nullptr) {
        v.ref = child;
      } else {
        // `child` points into v.own, which this evaluation owns (never const): move it out.
        Json taken = std::move(*const_cast<Json*>(child));
        v.own = std::move(taken);
      }
    }
    return v;
  }

  Val negate(const Json& a) {
    Num x;
    if (!as_number(a, x)) return fail(std::string("cannot negate ") + type_name(a));
    if (x.is_int) {
      if (x.i == std::numeric_limits<std::int64_t>::min()) return fail("integer overflow in '-'");
      return owned(Json(-x.i));
    }
    return owned(Json(-x.d));
  }

  Val relation(NodeKind kind, const Json& a, const Json& b) {
    std::partial_ordering order = std::partial_ordering::unordered;
    Num x, y;
    if (as_number(a, x) && as_number(b, y)) {
      order = compare_numbers(x, y);
    } else if (a.is_string() && b.is_string()) {
      order = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>()) <=> 0;
    } else {
      const char* op = kind == NodeKind::lt ? "<" : kind == NodeKind::le ? "<=" : kind == NodeKind::gt ? ">" : ">=";
      return fail(std::string("cannot compare ") + type_name(a) + " with " + type_name(b) + " using '" + op +
                  "' (it takes two numbers or two strings)");
    }
    bool r = false;
    switch (kind) {
      case NodeKind::lt: r = order < 0; break;
      case NodeKind::le: r = order <= 0; break;
      case NodeKind::gt: r = order > 0; break;
      default: r = order >= 0; break;
    }
    return owned(Json(r));
  }

  Val arithmetic(NodeKind kind, const Json& a, const Json& b) {
    Num x, y;
    if (!as_number(a, x) || !as_number(b, y)) {
      const std::string ta = type_name(a), tb = type_name(b);
      switch (kind) {
        case NodeKind::add: {
          std::string m = "cannot add " + ta + " and " + tb;
          if (a.is_string() || b.is_string()) m += " (joining text is format() or interpolation)";
          return fail(std::move(m));
        }
        case NodeKind::sub: return fail("cannot subtract " + tb + " from " + ta);
        case NodeKind::mul: return fail("cannot multiply " + ta + " by " + tb);
        case NodeKind::div: return fail("cannot divide " + ta + " by " + tb);
        default: return fail("cannot take the remainder of " + ta + " divided by " + tb);
      }
    }
    if (x.is_int && y.is_int) {
      std::int64_t r = 0;
      switch (kind) {
        case NodeKind::add:
          if (__builtin_add_overflow(x.i, y.i, &r)) return fail("integer overflow in '+'");
          return owned(Json(r));
        case NodeKind::sub:
          if (__builtin_sub_overflow(x.i, y.i, &r)) return fail("integer overflow in '-'");
          return owned(Json(r));
        case NodeKind::mul:
          if (__builtin_mul_overflow(x.i, y.i, &r)) return fail("integer overflow in '*'");
          return owned(Json(r));
        case NodeKind::div:
          if (y.i == 0) return fail("division by zero");
          if (y.i == -1) {
            if (x.i == std::numeric_limits<std::int64_t>::min()) return fail("integer overflow in '/'");
            return owned(Json(-x.i));
          }
          if (x.i % y.i == 0) return owned(Json(x.i / y.i));
          return owned(Json(static_cast<double>(x.i) / static_cast<double>(y.i)));
        default:
          if (y.i == 0) return fail("modulo by zero");
          if (y.i == -1) return owned(Json(std::int64_t{0}));
          return owned(Json(x.i % y.i));
      }
    }
    if (kind == NodeKind::mod) return fail("'%' takes two integers, got a number with a fraction");
    const double p = to_double(x), q = to_double(y);
    double r = 0;
    const char* op = "+";
    switch (kind) {
      case NodeKind::add: r = p + q; break;
      case NodeKind::sub: r = p - q; op = "-"; break;
      case NodeKind::mul: r = p * q; op = "*"; break;
      default:
        if (q == 0) return fail("division by zero");
        r = p / q;
        op = "/";
        break;
    }
    if (!std::isfinite(r)) return fail(std::string("the result of '") + op + "' is out of range");
    return owned(Json(r));
  }

  Val call(const Node& n) {
    switch (n.fn) {
      case Fn::contains: {
        Val hay = eval(*n.args[0]);
        if (failed_) return {};
        Val needle = eval(*n.args[1]);
        if (failed_) return {};
        const Json& h = hay.get();
        const Json& x = needle.get();
        if (h.is_string()) {
          if (!x.is_string())
            return fail(std::string("contains() looks for a string inside a string, got ") + type_name(x));
          return owned(Json(h.get_ref<const std::string&>().find(x.get_ref<const std::string&>()) !=
                            std::string::npos));
        }
        if (h.is_array()) {
          for (const Json& e : *h.get_ptr<const Json::array_t*>())
            if (equal(e, x)) return owned(Json(true));
          return owned(Json(false));
        }
        if (h.is_null()) return owned(Json(false));
        return fail(std::string("contains() searches a string or an array, got ") + type_name(h));
      }
      case Fn::starts_with:
      case Fn::ends_with: {
        const char* name = n.fn == Fn::starts_with ? "startsWith()" : "endsWith()";
        Val sv = eval(*n.args[0]);
        if (failed_) return {};
        Val pv = eval(*n.args[1]);
        if (failed_) return {};
        const Json& s = sv.get();
        const Json& p = pv.get();
        if (!p.is_string()) return fail(std::string(name) + " needs a string to look for, got " + type_name(p));
        if (s.is_null()) return owned(Json(false));
        if (!s.is_string()) return fail(std::string(name) + " needs a string, got " + type_name(s));
        const std::string_view text = s.get_ref<const std::string&>();
        const std::string_view part = p.get_ref<const std::string&>();
        return owned(Json(n.fn == Fn::starts_with ? text.starts_with(part) : text.ends_with(part)));
      }
      case Fn::format: {
        Val pattern = eval(*n.args[0]);
        if (failed_) return {};
        if (!pattern.get().is_string())
          return fail(std::string("format() needs a string pattern first, got ") + type_name(pattern.get()));
        std::vector<Val> args;
        args.reserve(n.args.size() - 1);
        for (std::size_t i = 1; i < n.args.size(); ++i) {
          args.push_back(eval(*n.args[i]));
          if (failed_) return {};
        }
        std::string out;
        std::string problem =
            run_format(pattern.get().get_ref<const std::string&>(), args.size(), &out,
                       [&](std::string& o, std::size_t i) { append(o, args[i].get()); });
        if (!problem.empty()) return fail(std::move(problem));
        return owned(Json(std::move(out)));
      }
      case Fn::join: {
        Val list = eval(*n.args[0]);
        if (failed_) return {};
        std::string sep = ",";
        if (n.args.size() > 1) {
          Val s = eval(*n.args[1]);
          if (failed_) return {};
          if (!s.get().is_string())
            return fail(std::string("join() needs a string separator, got ") + type_name(s.get()));
          sep = s.get().get_ref<const std::string&>();
        }
        const Json& l = list.get();
        if (l.is_string()) return list;
        if (l.is_null()) return owned(Json(std::string()));
        if (!l.is_array()) return fail(std::string("join() needs an array, got ") + type_name(l));
        std::string out;
        bool first = true;
        for (const Json& e : *l.get_ptr<const Json::array_t*>()) {
          if (!first) out += sep;
          first = false;
          append(out, e);
        }
        return owned(Json(std::move(out)));
      }
      case Fn::length: {
        Val v = eval(*n.args[0]);
        if (failed_) return {};
        const Json& x = v.get();
        if (x.is_string()) return owned(Json(static_cast<std::int64_t>(count_code_points(x.get_ref<const std::string&>()))));
        if (x.is_array() || x.is_object()) return owned(Json(static_cast<std::int64_t>(x.size())));
        if (x.is_null()) return owned(Json(std::int64_t{0}));
        return fail(std::string("length() needs a string, an array or an object, got ") + type_name(x));
      }
      case Fn::lower:
      case Fn::upper: {
        Val v = eval(*n.args[0]);
        if (failed_) return {};
        const Json& x = v.get();
        if (x.is_null()) return v;
        if (!x.is_string())
          return fail(std::string(n.fn == Fn::lower ? "lower()" : "upper()") + " needs a string, got " + type_name(x));
        const std::string& in = x.get_ref<const std::string&>();
        std::string s = in;
        for (char& c : s) {
          if (n.fn == Fn::lower && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
          if (n.fn == Fn::upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        }
        sensitive_.mapped(in, s);
        return owned(Json(std::move(s)));
      }
      case Fn::to_json: {
        Val v = eval(*n.args[0]);
        if (failed_) return {};
        sensitive_.escaped(v.get());
        return owned(Json(dump_compact(v.get())));
      }
      case Fn::from_json: {
        Val v = eval(*n.args[0]);
        if (failed_) return {};
        const Json& x = v.get();
        if (x.is_null()) return v;
        if (!x.is_string()) return fail(std::string("fromJSON() needs a string, got ") + type_name(x));
        // Text from outside: nested at most kMaxJsonDepth levels, like every value read.
        auto parsed = parse_json(x.get_ref<const std::string&>());
        if (!parsed) return fail("fromJSON() could not read its argument as JSON: " + parsed.error().message);
        sensitive_.parsed(x.get_ref<const std::string&>());
        return owned(std::move(parsed).value());
      }
      case Fn::coalesce: {
        for (const auto& arg : n.args) {
          Val v = eval(*arg);
          if (failed_) return {};
          if (!v.get().is_null()) return v;
        }
        return ref_to(&null_json());
      }
      case Fn::now: return owned(Json(format_timestamp(now_unix_ms())));
    }
    return {};
  }

  const Scope& scope_;
  Sensitivity sensitive_;
  bool failed_ = false;
  std::string message_;
};

}  // namespace

const Json* Scope::lookup_member(std::string_view root, std::string_view key) const {
  const Json* r = lookup(root);
  if (r == nullptr || !r->is_object()) return nullptr;
  auto it = r->find(key);
  return it == r->end() ? nullptr : &*it;
}

void Scope::find_sensitive(std::string_view, std::vector<Span>&) const {}

void Scope::derived_sensitive(std::string_view) const {}

std::string check_format_pattern(std::string_view pattern, std::size_t arg_count) {
  return run_format(pattern, arg_count, nullptr, [](std::string&, std::size_t) {});
}

EvalOutcome evaluate_node(const Node& node, const Scope& scope, Json& out) {
  Evaluator ev(scope);
  Val v = ev.eval(node);
  if (ev.failed()) return EvalOutcome{false, std::move(ev.message())};
  if (v.ref != nullptr) out = *v.ref;
  else out = std::move(v.own);
  return {};
}

EvalOutcome append_node_text(const Node& node, const Scope& scope, std::string& out) {
  Evaluator ev(scope);
  Val v = ev.eval(node);
  if (ev.failed()) return EvalOutcome{false, std::move(ev.message())};
  ev.append(out, v.get());
  return {};
}

bool truthy(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return false;
    case Json::value_t::boolean: return *value.get_ptr<const Json::boolean_t*>();
    case Json::value_t::number_integer: return *value.get_ptr<const Json::number_integer_t*>() != 0;
    case Json::value_t::number_unsigned: return *value.get_ptr<const Json::number_unsigned_t*>() != 0;
    case Json::value_t::number_float: {
      const double d = *value.get_ptr<const Json::number_float_t*>();
      return d != 0 && !std::isnan(d);
    }
    case Json::value_t::string: return !value.get_ref<const std::string&>().empty();
    case Json::value_t::discarded: return false;
    default: return true;  // arrays and objects, even empty ones
  }
}

std::string to_text(const Json& value) {
  if (value.is_string()) return value.get_ref<const std::string&>();
  std::string out;
  append_text(out, value);
  return out;
}

}  // namespace spokeflow::expr
