// Readable JSON Schema diagnostics (see schema_check.hpp).
//
// valijson reports each failure together with a chain of "Failed to validate against ..." wrappers
// and, for oneOf, the failures of every alternative. Here the wrappers are dropped, the schema
// node behind each issue's pointer is looked up to say what was expected, and a oneOf whose
// alternatives are `{required: [KEY]}` becomes "a step needs exactly one of: ...".
#include "flow/schema_check.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "common/text.hpp"

namespace spokeflow::flow::detail {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_index(std::string_view token) {
  return !token.empty() && std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string join_and(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

std::string number_text(const Json& v) {
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d == static_cast<double>(static_cast<long long>(d))) return std::to_string(static_cast<long long>(d));
  }
  return v.dump();
}

// A schema node with $ref followed; `ref` receives the last reference taken.
const Json* resolve(const Json& root, const Json* node, std::string* ref) {
  for (int guard = 0; node && node->is_object() && guard < 32; ++guard) {
    auto it = node->find("$ref");
    if (it == node->end() || !it->is_string()) break;
    const std::string r = it->get<std::string>();
    if (!starts_with(r, "#")) return nullptr;
    if (ref) *ref = r;
    node = json_at(root, std::string_view(r).substr(1));
  }
  return node;
}

const Json* member_schema(const Json& root, const Json& schema, const std::string& key, int depth = 0) {
  if (!schema.is_object() || depth > 8) return nullptr;
  if (auto props = schema.find("properties"); props != schema.end() && props->is_object()) {
    if (auto it = props->find(key); it != props->end()) return &*it;
  }
  if (auto add = schema.find("additionalProperties"); add != schema.end() && add->is_object()) return &*add;
  for (const char* combinator : {"allOf", "anyOf", "oneOf"}) {
    auto c = schema.find(combinator);
    if (c == schema.end() || !c->is_array()) continue;
    for (const auto& alt : *c) {
      const Json* r = resolve(root, &alt, nullptr);
      if (!r) continue;
      if (const Json* m = member_schema(root, *r, key, depth + 1)) return m;
    }
  }
  return nullptr;
}

const Json* item_schema(const Json& root, const Json& schema, std::size_t index) {
  auto items = schema.find("items");
  if (items == schema.end()) return nullptr;
  if (items->is_object()) return &*items;
  if (items->is_array() && index < items->size()) return &(*items)[index];
  (void)root;
  return nullptr;
}

struct Located {
  const Json* schema = nullptr;
  std::string ref;
};

Located schema_at(const Json& root, const Json& value, const std::string& pointer) {
  Located out;
  out.schema = resolve(root, &root, &out.ref);
  const Json* v = &value;
  for (const auto& token : pointer_tokens(pointer)) {
    if (!out.schema || !v) return {};
    const Json* next = nullptr;
    if (v->is_object()) {
      next = member_schema(root, *out.schema, token);
      auto it = v->find(token);
      v = it == v->end() ? nullptr : &*it;
    } else if (v->is_array()) {
      std::size_t index = 0;
      std::from_chars(token.data(), token.data() + token.size(), index);
      next = item_schema(root, *out.schema, index);
      v = index < v->size() ? &(*v)[index] : nullptr;
    } else {
      return {};
    }
    out.ref.clear();
    out.schema = resolve(root, next, &out.ref);
  }
  return out;
}

std::vector<std::string> property_names(const Json* schema) {
  std::vector<std::string> out;
  if (!schema || !schema->is_object()) return out;
  if (auto props = schema->find("properties"); props != schema->end() && props->is_object())
    for (const auto& [k, _] : props->items()) out.push_back(k);
  return out;
}

// The keys of a oneOf whose alternatives each require one key (a step's kinds, a trigger's kinds).
struct KindChoice {
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> excluded_by;  // per key: keys whose presence makes it not count
};

std::optional<KindChoice> kind_choice(const Json& root, const Json* schema) {
  if (!schema || !schema->is_object()) return std::nullopt;
  auto one = schema->find("oneOf");
  if (one == schema->end() || !one->is_array() || one->empty()) return std::nullopt;
  KindChoice choice;
  for (const auto& alt0 : *one) {
    const Json* alt = resolve(root, &alt0, nullptr);
    if (!alt || !alt->is_object()) return std::nullopt;
    auto req = alt->find("required");
    if (req == alt->end() || !req->is_array() || req->size() != 1 || !(*req)[0].is_string()) return std::nullopt;
    choice.keys.push_back((*req)[0].get<std::string>());
    std::vector<std::string> excluded;
    if (auto n = alt->find("not"); n != alt->end() && n->is_object()) {
      if (auto any = n->find("anyOf"); any != n->end() && any->is_array()) {
        for (const auto& a : *any)
          if (auto r = a.find("required"); r != a.end() && r->is_array())
            for (const auto& k : *r)
              if (k.is_string()) excluded.push_back(k.get<std::string>());
      }
    }
    choice.excluded_by.push_back(std::move(excluded));
  }
  return choice;
}

std::vector<std::string> kinds_found(const KindChoice& choice, const Json& value) {
  std::vector<std::string> found;
  if (!value.is_object()) return found;
  for (std::size_t i = 0; i < choice.keys.size(); ++i) {
    if (!value.contains(choice.keys[i])) continue;
    bool excluded = false;
    for (const auto& e : choice.excluded_by[i])
      if (value.contains(e)) excluded = true;
    if (!excluded) found.push_back(choice.keys[i]);
  }
  return found;
}

class Translator {
 public:
  Translator(const JsonSchema& schema, const Json& value, const SchemaCheck& check, const LocatedDoc& doc,
             Diagnostics& diags)
      : root_(schema.document()), value_(value), check_(check), doc_(doc), diags_(diags) {}

  void run(const std::vector<SchemaIssue>& issues) {
    std::set<std::pair<std::string, std::string>> seen;
    const std::size_t before = diags_.size();
    std::optional<std::string> deepest_wrapper;
    for (const auto& issue : issues) {
      if (hidden_by_expression(issue)) continue;
      if (is_wrapper(issue.message)) {
        const std::string at = wrapped_pointer(issue);
        if (!deepest_wrapper || at.size() > deepest_wrapper->size()) deepest_wrapper = at;
        continue;
      }
      if (!seen.emplace(issue.pointer, issue.message).second) continue;
      translate(issue);
    }
    // Some failures come with wrappers only (a `not`, a `propertyNames`): the value is invalid all
    // the same, and must not pass for want of a message.
    if (diags_.size() == before && deepest_wrapper) {
      const std::string& p = *deepest_wrapper;
      const Json* s = schema_at(root_, value_, p).schema;
      std::string why;
      if (s && s->contains("description") && (*s)["description"].is_string())
        why = " (" + (*s)["description"].get<std::string>() + ")";
      diags_.error(pos(p), subject(p, s) + " does not fit its schema" + why);
    }
  }

 private:
  // Where a wrapper's failure is: its pointer, or the member it names ("... associated with
  // property name 'headers'." at "" is about "/headers").
  static std::string wrapped_pointer(const SchemaIssue& issue) {
    static constexpr std::string_view kMember = "Failed to validate against schema associated with property name '";
    const std::string& m = issue.message;
    if (!starts_with(m, std::string(kMember))) return issue.pointer;
    const std::size_t end = m.rfind('\'');
    if (end == std::string::npos || end < kMember.size()) return issue.pointer;
    return child_pointer(issue.pointer, m.substr(kMember.size(), end - kMember.size()));
  }

  static bool is_wrapper(const std::string& m) {
    return starts_with(m, "Failed to validate against schema associated with") ||
           starts_with(m, "Failed to validate item #") || starts_with(m, "Failed to validate against child schema") ||
           starts_with(m, "Failed to validate against additional properties schema") ||
           starts_with(m, "Failed to validate against dependent schema") ||
           starts_with(m, "Failed to validate against a conditional schema") || starts_with(m, "Cannot validate item #") ||
           starts_with(m, "Target should not validate against schema specified in 'not'");
  }

  static bool is_structural(const std::string& m) {
    return starts_with(m, "Missing required property") || starts_with(m, "Object contains a property");
  }

  // An expression's value is unknown before running: drop what depends on it.
  bool hidden_by_expression(const SchemaIssue& issue) const {
    if (check_.expressions.empty() || is_structural(issue.message)) return false;
    for (const auto& e : check_.expressions) {
      const std::string& p = issue.pointer;
      if (p == e) return true;
      if (starts_with(e, p + "/") || p.empty()) return true;  // the issue is about what holds an expression
      if (starts_with(p, e + "/")) return true;
    }
    return false;
  }

  SourcePos pos(const std::string& pointer) const { return doc_.pos(check_.base + pointer); }
  SourcePos key_pos(const std::string& pointer) const { return doc_.key(check_.base + pointer); }

  const Json* value_at(const std::string& pointer) const { return json_at(value_, pointer); }

  bool action_mode() const { return check_.mode == SchemaCheck::Mode::action_inputs; }

  // "'timeout'", "item 2 of 'on'", "step 3 of 'steps'", "input 'profile.login' of okta.create_user".
  std::string subject(const std::string& pointer, const Json* schema) const {
    auto tokens = pointer_tokens(pointer);
    if (action_mode()) {
      if (tokens.empty()) return "the inputs of " + check_.action;
      std::string path;
      for (const auto& t : tokens) {
        if (is_index(t)) path += "[" + t + "]";
        else path += (path.empty() ? "" : ".") + t;
      }
      return "input '" + path + "' of " + check_.action;
    }
    if (tokens.empty()) return "the flow";
    const std::string& last = tokens.back();
    const Json* parent = value_at(pointer.substr(0, pointer.rfind('/')));
    if (is_index(last) && parent && parent->is_array()) {
      std::string n = std::to_string(std::stoull(last) + 1);
      std::string owner = tokens.size() >= 2 ? "'" + tokens[tokens.size() - 2] + "'" : "the list";
      if (schema && schema->contains("title") && (*schema)["title"].is_string())
        return (*schema)["title"].get<std::string>() + " " + n + " of " + owner;
      return "item " + n + " of " + owner;
    }
    return "'" + last + "'";
  }

  // Where an object sits, for "unknown key 'x' in step".
  std::string where(const std::string& pointer, const Json* schema) const {
    if (action_mode()) return "in " + subject(pointer, schema);
    if (pointer.empty()) return "at the top level";
    if (schema && schema->contains("title") && (*schema)["title"].is_string())
      return "in " + (*schema)["title"].get<std::string>();
    auto tokens = pointer_tokens(pointer);
    return "in '" + tokens.back() + "'";
  }

  std::string title_or(const Json* schema, const std::string& fallback) const {
    if (schema && schema->contains("title") && (*schema)["title"].is_string()) return (*schema)["title"].get<std::string>();
    return fallback;
  }

  void translate(const SchemaIssue& issue) {
    const std::string& p = issue.pointer;
    const std::string& m = issue.message;
    Located at = schema_at(root_, value_, p);
    const Json* v = value_at(p);
    const Json* s = at.schema;

    if (starts_with(m, "Object contains a property")) return unknown_keys(p, s, v);
    if (starts_with(m, "Missing required property")) {
      std::string key = m.substr(m.find('\'') + 1);
      key = key.substr(0, key.rfind('\''));
      if (auto choice = kind_choice(root_, s))
        if (std::find(choice->keys.begin(), choice->keys.end(), key) != choice->keys.end()) return;  // see oneOf
      return missing_key(p, s, key);
    }
    if (starts_with(m, "Failed to validate against any child schemas allowed by oneOf") ||
        starts_with(m, "Failed to validate against exactly one child schema")) {
      if (auto choice = kind_choice(root_, s)) return wrong_kinds(p, s, v, *choice);
      return diags_.error(pos(p), subject(p, s) + " does not match any of its allowed forms");
    }
    if (starts_with(m, "Failed to validate against any schemas allowed by anyOf"))
      return diags_.error(pos(p), subject(p, s) + " does not match any of its allowed forms");
    if (!v) return diags_.error(pos(p), subject(p, s) + ": " + lower_first(m));

    if (starts_with(m, "Value type not permitted")) {
      std::string expected;
      if (at.ref == "#/definitions/duration") {
        expected = "a duration such as 30s or 1h30m";
      } else if (at.ref == "#/definitions/condition") {
        expected = "an expression or true/false";
      } else if (s && s->contains("type")) {
        const Json& t = (*s)["type"];
        std::vector<std::string> names;
        if (t.is_string()) names.push_back(describe_type(t.get<std::string>()));
        if (t.is_array())
          for (const auto& x : t)
            if (x.is_string()) names.push_back(describe_type(x.get<std::string>()));
        expected = join(names, " or ");
      }
      if (expected.empty()) expected = "something else";
      return diags_.error(pos(p), subject(p, s) + " should be " + expected + ", not " + describe_value(*v));
    }
    if (starts_with(m, "Failed to match against any enum values")) {
      std::vector<std::string> options;
      if (s && s->contains("enum") && (*s)["enum"].is_array())
        for (const auto& e : (*s)["enum"]) options.push_back(e.is_string() ? e.get<std::string>() : e.dump());
      return diags_.error(pos(p), subject(p, s) + " must be one of: " + join(options, ", ") + " (got " +
                                      short_value(*v) + ")");
    }
    if (starts_with(m, "Failed to match regex")) {
      if (at.ref == "#/definitions/duration" && v->is_string())
        return diags_.error(pos(p), bad_duration_message(v->get<std::string>()));
      if (s && s->contains("patternErrorMessage") && !action_mode()) {
        auto tokens = pointer_tokens(p);
        std::string label = tokens.empty() ? "value" : tokens.back();
        std::string hint = (*s)["patternErrorMessage"].get<std::string>();
        if (is_index(label) && tokens.size() >= 2)
          return diags_.error(pos(p), "bad " + short_value(*v) + " in '" + tokens[tokens.size() - 2] + "': " + hint);
        return diags_.error(pos(p), "bad " + label + " " + short_value(*v) + ": " + hint);
      }
      std::string pattern = s && s->contains("pattern") && (*s)["pattern"].is_string()
                                ? (*s)["pattern"].get<std::string>()
                                : std::string("its pattern");
      return diags_.error(pos(p), subject(p, s) + " (" + short_value(*v) + ") does not match the pattern " + pattern);
    }
    if (starts_with(m, "Expected number greater than or equal to") && s && s->contains("minimum"))
      return diags_.error(pos(p), subject(p, s) + " must be at least " + number_text((*s)["minimum"]) + " (got " +
                                      short_value(*v) + ")");
    if (starts_with(m, "Expected number greater than") && s && s->contains("exclusiveMinimum"))
      return diags_.error(pos(p), subject(p, s) + " must be more than " + number_text((*s)["exclusiveMinimum"]) +
                                      " (got " + short_value(*v) + ")");
    if (starts_with(m, "Expected number less than or equal to") && s && s->contains("maximum"))
      return diags_.error(pos(p), subject(p, s) + " must be at most " + number_text((*s)["maximum"]) + " (got " +
                                      short_value(*v) + ")");
    if (starts_with(m, "Expected number less than") && s && s->contains("exclusiveMaximum"))
      return diags_.error(pos(p), subject(p, s) + " must be less than " + number_text((*s)["exclusiveMaximum"]) +
                                      " (got " + short_value(*v) + ")");
    if (starts_with(m, "Array should contain no fewer than") || starts_with(m, "Object should have no fewer than") ||
        starts_with(m, "String should be no fewer than")) {
      const char* key = v->is_array() ? "minItems" : v->is_object() ? "minProperties" : "minLength";
      long long n = s && s->contains(key) && (*s)[key].is_number() ? (*s)[key].get<long long>() : 1;
      if (n <= 1) return diags_.error(pos(p), subject(p, s) + " must not be empty");
      const char* unit = v->is_array() ? " items" : v->is_object() ? " entries" : " characters";
      return diags_.error(pos(p), subject(p, s) + " needs at least " + std::to_string(n) + unit);
    }
    if (starts_with(m, "Array should contain no more than") || starts_with(m, "Object should have no more than") ||
        starts_with(m, "String should be no more than")) {
      const char* key = v->is_array() ? "maxItems" : v->is_object() ? "maxProperties" : "maxLength";
      long long n = s && s->contains(key) && (*s)[key].is_number() ? (*s)[key].get<long long>() : 0;
      const char* unit = v->is_array() ? " items" : v->is_object() ? " entries" : " characters";
      return diags_.error(pos(p), subject(p, s) + " may hold at most " + std::to_string(n) + unit);
    }
    if (starts_with(m, "Failed to match expected value set by 'const'") && s && s->contains("const"))
      return diags_.error(pos(p), subject(p, s) + " must be " + short_value((*s)["const"]) + " (got " +
                                      short_value(*v) + ")");
    diags_.error(pos(p), subject(p, s) + ": " + lower_first(m));
  }

  static std::string lower_first(std::string m) {
    if (!m.empty() && m[0] >= 'A' && m[0] <= 'Z' && !(m.size() > 1 && m[1] >= 'A' && m[1] <= 'Z')) m[0] = static_cast<char>(m[0] - 'A' + 'a');
    if (!m.empty() && m.back() == '.') m.pop_back();
    return m;
  }

  void unknown_keys(const std::string& p, const Json* s, const Json* v) {
    if (!v || !v->is_object()) return;
    if (!unknown_done_.insert(p).second) return;
    std::vector<std::string> known = property_names(s);
    for (const auto& [key, _] : v->items()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string suggestion = closest_match(key, known);
      std::string message;
      if (action_mode() && p.empty()) {
        if (known.empty()) message = "action " + check_.action + " takes no inputs, but 'with' gives '" + key + "'";
        else message = "action " + check_.action + " has no input '" + key + "' (inputs: " + join(known, ", ") + ")";
      } else {
        message = "unknown key '" + key + "' " + where(p, s);
        if (!known.empty()) message += " (expected one of: " + join(known, ", ") + ")";
      }
      if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
      diags_.error(key_pos(child_pointer(p, key)), message);
    }
  }

  void missing_key(const std::string& p, const Json* s, const std::string& key) {
    if (action_mode()) {
      if (p.empty()) return diags_.error(pos(p), "action " + check_.action + " needs input '" + key + "'");
      return diags_.error(pos(p), "missing required key '" + key + "' in " + subject(p, s));
    }
    if (p.empty()) return diags_.error(pos(p), "the flow has no '" + key + "' (every flow needs name: and steps:)");
    diags_.error(pos(p), "missing required key '" + key + "' " + where(p, s));
  }

  void wrong_kinds(const std::string& p, const Json* s, const Json* v, const KindChoice& choice) {
    if (!v || !v->is_object()) return;  // the type error says it all
    std::vector<std::string> found = kinds_found(choice, *v);
    if (found.empty()) {
      // "acton:" already reads "unknown key 'acton' ...; did you mean 'action'?": say nothing more.
      std::vector<std::string> known = property_names(s);
      for (const auto& [key, _] : v->items()) {
        if (std::find(known.begin(), known.end(), key) != known.end()) continue;
        std::string suggestion = closest_match(key, known);
        if (std::find(choice.keys.begin(), choice.keys.end(), suggestion) != choice.keys.end()) return;
      }
    }
    if (action_mode() && p.empty())
      return diags_.error(pos(p), "action " + check_.action + " needs exactly one of the inputs: " +
                                      join(choice.keys, ", ") + " (found " +
                                      (found.empty() ? std::string("none") : join_and(found)) + ")");
    std::string noun = title_or(s, "value");
    std::string article = (!noun.empty() && std::string("aeiou").find(noun[0]) != std::string::npos) ? "an " : "a ";
    diags_.error(pos(p), article + noun + " needs exactly one of: " + join(choice.keys, ", ") + " (found " +
                             (found.empty() ? std::string("none") : join_and(found)) + ")");
  }

  const Json& root_;
  const Json& value_;
  const SchemaCheck& check_;
  const LocatedDoc& doc_;
  Diagnostics& diags_;
  std::set<std::string> unknown_done_;
};

}  // namespace

void check_schema(const JsonSchema& schema, const Json& value, const SchemaCheck& check, const LocatedDoc& doc,
                  Diagnostics& diags) {
  std::vector<SchemaIssue> issues;
  try {
    issues = schema.validate(value);
  } catch (const std::exception& e) {
    diags.error(doc.pos(check.base), std::string("cannot check this value against its schema: ") + e.what());
    return;
  }
  Translator(schema, value, check, doc, diags).run(issues);
}

}  // namespace spokeflow::flow::detail
