#include "common/json_schema.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/adapters/std_string_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/utils/utf8_utils.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "common/embedded_schemas.hpp"
#include "common/regex.hpp"

// ---- schema patterns on RE2 -----------------------------------------------------------------
//
// valijson 1.0 (Debian's) matches `pattern` and `patternProperties` with std::regex, which
// recursed once per character of the input and overflowed the stack on long strings; its
// visitor offers no way to plug another engine in. So the two members that match are given
// explicit specializations below, for the adapters used here (StdStringAdapter is what
// `propertyNames` checks keys with). They decide and report as valijson's own members do, but
// match with the patterns compiled by RE2 when the schema was compiled. valijson's `format`
// checks (date, time, date-time) use std::regex too: schemas using them are refused.
// An explicit specialization must be seen wherever the member would otherwise be instantiated:
// valijson is included nowhere but here, keep it so.

namespace spokeflow {
namespace {

// Every pattern of every compiled schema, compiled once. Entries are never removed, so the
// references handed out stay valid; validation runs on several threads.
struct PatternCache {
  std::shared_mutex mu;
  std::unordered_map<std::string, Regex> compiled;
};

// The compiled pattern. Throws std::runtime_error naming it when RE2 cannot take it.
const Regex& schema_pattern(const std::string& pattern) {
  static PatternCache cache;
  {
    std::shared_lock lock(cache.mu);
    if (auto it = cache.compiled.find(pattern); it != cache.compiled.end()) return it->second;
  }
  auto re = Regex::compile(pattern);
  if (!re) throw std::runtime_error("JSON Schema: " + re.error().message);
  std::unique_lock lock(cache.mu);
  return cache.compiled.try_emplace(pattern, std::move(*re)).first->second;
}

// valijson's PatternConstraint check: a string (or, with weak types, anything that may be one)
// must contain a match.
template <class Adapter>
bool matches_pattern(const Adapter& target, bool strict_types, const valijson::constraints::PatternConstraint& constraint,
                     valijson::ValidationResults* results, const std::vector<std::string>& context) {
  if ((strict_types && !target.isString()) || !target.maybeString()) return true;
  if (schema_pattern(constraint.getPattern<std::string::allocator_type>()).search(target.asString())) return true;
  if (results) results->pushError(context, "Failed to match regex specified by 'pattern' constraint.");
  return false;
}

// The `format` values valijson checks with std::regex.
bool format_uses_std_regex(const std::string& format) {
  return format == "date" || format == "time" || format == "date-time";
}

// Compiles every pattern `schema` holds (`pattern`, the names in `patternProperties`) and
// refuses the formats above, so that a schema RE2 cannot serve fails when it is compiled,
// naming the pattern, not when a value is checked. Schemas are the shipped ones: bounded.
void prepare_patterns(const Json& schema) {
  if (schema.is_array()) {
    for (const Json& item : schema) prepare_patterns(item);
    return;
  }
  if (!schema.is_object()) return;
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    const std::string& key = it.key();
    const Json& value = it.value();
    if (key == "enum" || key == "const" || key == "default" || key == "examples") continue;  // values, not schemas
    if (key == "pattern" && value.is_string()) {
      schema_pattern(value.get_ref<const std::string&>());
    } else if (key == "format" && value.is_string()) {
      if (format_uses_std_regex(value.get_ref<const std::string&>()))
        throw std::runtime_error("JSON Schema: format '" + value.get<std::string>() +
                                 "' is not supported (valijson checks it with std::regex, whose stack use grows "
                                 "with the length of the text)");
    } else if ((key == "properties" || key == "patternProperties" || key == "definitions" || key == "$defs" ||
                key == "dependencies") &&
               value.is_object()) {
      // Names to subschemas: a property called "pattern" or "default" is not a keyword.
      for (auto member = value.begin(); member != value.end(); ++member) {
        if (key == "patternProperties") schema_pattern(member.key());
        prepare_patterns(member.value());
      }
    } else {
      prepare_patterns(value);
    }
  }
}

}  // namespace
}  // namespace spokeflow

namespace valijson {

template <>
bool ValidationVisitor<adapters::NlohmannJsonAdapter>::visit(const constraints::PatternConstraint& constraint) {
  return spokeflow::matches_pattern(m_target, m_strictTypes, constraint, m_results, m_context);
}

template <>
bool ValidationVisitor<adapters::StdStringAdapter>::visit(const constraints::PatternConstraint& constraint) {
  return spokeflow::matches_pattern(m_target, m_strictTypes, constraint, m_results, m_context);
}

// valijson's patternProperties check, member by member: every member whose name matches is
// checked against the subschema and counts as matched (additionalProperties then skips it).
template <>
template <>
bool ValidationVisitor<adapters::NlohmannJsonAdapter>::ValidatePatternPropertySubschemas::operator()(
    const constraints::PropertiesConstraint::String& pattern, const Subschema* subschema) const {
  const std::string text(pattern.c_str());
  const spokeflow::Regex& re = spokeflow::schema_pattern(text);
  bool any_matched = false;
  for (const auto member : m_object) {
    if (!re.search(member.first)) continue;
    any_matched = true;
    if (m_propertiesMatched) m_propertiesMatched->insert(member.first);
    std::vector<std::string> context = m_context;
    context.push_back("[" + member.first + "]");
    ValidationVisitor<adapters::NlohmannJsonAdapter> child(member.second, context, m_strictTypes, m_results,
                                                           m_regexesCache);
    if (child.validateSchema(*subschema)) continue;
    if (m_results)
      m_results->pushError(m_context, "Failed to validate against schema associated with pattern '" + text + "'.");
    if (m_validated) *m_validated = false;
    if (!m_continueOnFailure) return false;
  }
  if (!any_matched && !m_continueIfUnmatched) return false;
  return m_continueOnSuccess;
}

}  // namespace valijson

namespace spokeflow {

namespace {

// A second checker for the keywords the shipped action schemas use, for speed: an action's
// inputs and outputs are checked at every step, and valijson spends ~18,000 instructions on an
// Okta user object (a visitor, a copied context and a std::set entry per member). It says
// only "valid" or "invalid"; valijson remains the judge and the one that explains: a value the
// quick check finds invalid is checked again by valijson, whose verdict and messages stand.
// So the quick check must never accept what valijson rejects; it mirrors valijson's code
// (strong types) keyword by keyword, answers "invalid" where it is unsure, and a schema using
// any other keyword has no quick check.
class QuickCheck {
 public:
  // nullopt when the schema uses a keyword not mirrored here.
  static std::optional<QuickCheck> compile(const Json& schema) {
    QuickCheck q;
    if (!q.read(schema)) return std::nullopt;
    return q;
  }

  bool valid(const Json& v) const {
    if (types_ != 0 && (types_ & type_bit(v)) == 0) return false;
    switch (v.type()) {
      case Json::value_t::string: {
        const std::string& s = v.get_ref<const std::string&>();
        if (string_enum_ && std::find(string_enum_->begin(), string_enum_->end(), s) == string_enum_->end()) return false;
        if (!min_length_ && !max_length_) return true;
        const auto len = valijson::utils::u8_strlen(s.c_str());  // what valijson counts: code points before a NUL
        return (!min_length_ || len >= *min_length_) && (!max_length_ || len <= *max_length_);
      }
      case Json::value_t::number_integer:
      case Json::value_t::number_unsigned:
      case Json::value_t::number_float: {
        if (string_enum_) return false;
        // valijson reads an unsigned integer through int64_t: above INT64_MAX it compares a
        // wrapped, negative number. Not mirrored: left to valijson.
        if ((minimum_ || maximum_) && v.is_number_unsigned() && v.get<std::uint64_t>() > kInt64Max) return false;
        const double d = v.get<double>();
        return (!minimum_ || d >= *minimum_) && (!maximum_ || d <= *maximum_);
      }
      case Json::value_t::array: {
        if (string_enum_) return false;
        if (min_items_ && v.size() < *min_items_) return false;
        if (unique_items_ && !distinct_strings(v)) return false;
        if (items_)
          for (const Json& item : v)
            if (!items_->valid(item)) return false;
        return true;
      }
      case Json::value_t::object: {
        if (string_enum_) return false;
        for (const std::string& name : required_)
          if (!v.contains(name)) return false;
        for (const auto& [name, needs] : dependencies_)
          if (v.contains(name))
            for (const std::string& other : needs)
              if (!v.contains(other)) return false;
        std::size_t declared = 0;
        for (const auto& [name, sub] : properties_) {
          auto it = v.find(name);
          if (it == v.end()) continue;
          ++declared;
          if (!sub.valid(*it)) return false;
        }
        if (extra_ == Extra::any || declared == v.size()) return true;
        if (extra_ == Extra::none) return false;
        for (auto it = v.begin(); it != v.end(); ++it)
          if (properties_.find(it.key()) == properties_.end() && !extra_schema_->valid(it.value())) return false;
        return true;
      }
      default:
        return !string_enum_;
    }
  }

 private:
  enum TypeBit : unsigned { kNull = 1, kBoolean = 2, kInteger = 4, kNumber = 8, kString = 16, kArray = 32, kObject = 64 };
  enum class Extra { any, none, schema };
  static constexpr std::uint64_t kInt64Max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

  static unsigned type_bit(const Json& v) {
    switch (v.type()) {
      case Json::value_t::null: return kNull;
      case Json::value_t::boolean: return kBoolean;
      case Json::value_t::number_integer:
      case Json::value_t::number_unsigned: return kInteger | kNumber;
      case Json::value_t::number_float: return kNumber;
      case Json::value_t::string: return kString;
      case Json::value_t::array: return kArray;
      case Json::value_t::object: return kObject;
      default: return 0;
    }
  }
  static unsigned named_type(const Json& name) {
    static const std::map<std::string, unsigned, std::less<>> names = {
        {"null", kNull}, {"boolean", kBoolean}, {"integer", kInteger}, {"number", kNumber},
        {"string", kString}, {"array", kArray}, {"object", kObject}};
    if (!name.is_string()) return 0;
    auto it = names.find(name.get_ref<const std::string&>());
    return it == names.end() ? 0 : it->second;
  }
  // True when the items are strings, all different. Other items are left to valijson (false):
  // its notion of equal numbers or objects is not mirrored here.
  static bool distinct_strings(const Json& items) {
    std::vector<std::string_view> seen;
    seen.reserve(items.size());
    for (const Json& item : items) {
      if (!item.is_string()) return false;
      seen.push_back(item.get_ref<const std::string&>());
    }
    std::sort(seen.begin(), seen.end());
    return std::adjacent_find(seen.begin(), seen.end()) == seen.end();
  }
  static std::optional<std::size_t> count(const Json& n) {
    if (!n.is_number_unsigned()) return std::nullopt;
    return n.get<std::size_t>();
  }

  bool read(const Json& schema) {
    if (!schema.is_object()) return false;
    for (auto it = schema.begin(); it != schema.end(); ++it) {
      const std::string& key = it.key();
      const Json& val = it.value();
      if (key == "description" || key == "default" || key == "title" || key == "examples" || key == "$comment" ||
          key.rfind("x-", 0) == 0) {
        continue;  // annotations: no bearing on validity
      } else if (key == "type") {
        for (const Json& name : val.is_array() ? val : Json::array({val})) {
          const unsigned bit = named_type(name);
          if (bit == 0) return false;
          types_ |= bit;
        }
      } else if (key == "required") {
        if (!val.is_array()) return false;
        for (const Json& name : val) {
          if (!name.is_string()) return false;
          required_.push_back(name.get<std::string>());
        }
      } else if (key == "properties") {
        if (!val.is_object()) return false;
        for (auto p = val.begin(); p != val.end(); ++p) {
          QuickCheck sub;
          if (!sub.read(p.value())) return false;
          properties_.emplace(p.key(), std::move(sub));
        }
      } else if (key == "additionalProperties") {
        if (val.is_boolean()) {
          extra_ = val.get<bool>() ? Extra::any : Extra::none;
        } else {
          extra_schema_ = std::make_shared<QuickCheck>();
          if (!extra_schema_->read(val)) return false;
          extra_ = Extra::schema;
        }
      } else if (key == "items") {
        if (!val.is_object()) return false;  // the tuple form is not mirrored
        items_ = std::make_shared<QuickCheck>();
        if (!items_->read(val)) return false;
      } else if (key == "enum") {
        if (!val.is_array()) return false;
        string_enum_.emplace();
        for (const Json& e : val) {
          if (!e.is_string()) return false;  // only enums of strings are mirrored
          string_enum_->push_back(e.get<std::string>());
        }
      } else if (key == "uniqueItems") {
        if (!val.is_boolean()) return false;
        unique_items_ = val.get<bool>();
      } else if (key == "dependencies") {
        if (!val.is_object()) return false;
        for (auto d = val.begin(); d != val.end(); ++d) {
          if (!d.value().is_array()) return false;  // a schema dependency is not mirrored
          std::vector<std::string> needs;
          for (const Json& other : d.value()) {
            if (!other.is_string()) return false;
            needs.push_back(other.get<std::string>());
          }
          dependencies_.emplace_back(d.key(), std::move(needs));
        }
      } else if (key == "minLength" || key == "maxLength" || key == "minItems") {
        auto n = count(val);
        if (!n) return false;
        (key == "minLength" ? min_length_ : key == "maxLength" ? max_length_ : min_items_) = n;
      } else if (key == "minimum" || key == "maximum") {
        if (!val.is_number() || (val.is_number_unsigned() && val.get<std::uint64_t>() > kInt64Max)) return false;
        (key == "minimum" ? minimum_ : maximum_) = val.get<double>();
      } else {
        return false;
      }
    }
    return true;
  }

  unsigned types_ = 0;  // 0: any type
  std::vector<std::string> required_;
  std::vector<std::pair<std::string, std::vector<std::string>>> dependencies_;
  bool unique_items_ = false;
  std::map<std::string, QuickCheck, std::less<>> properties_;
  Extra extra_ = Extra::any;
  std::shared_ptr<QuickCheck> extra_schema_;
  std::shared_ptr<QuickCheck> items_;
  std::optional<std::vector<std::string>> string_enum_;
  std::optional<std::size_t> min_length_, max_length_, min_items_;
  std::optional<double> minimum_, maximum_;
};

}  // namespace

struct JsonSchema::Impl {
  valijson::Schema schema;
  std::optional<QuickCheck> quick;
};

JsonSchema::~JsonSchema() = default;

std::shared_ptr<const JsonSchema> JsonSchema::compile(const Json& schema) {
  std::shared_ptr<JsonSchema> out(new JsonSchema());
  out->impl_ = std::make_unique<Impl>();
  out->document_ = schema;
  prepare_patterns(out->document_);
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  valijson::adapters::NlohmannJsonAdapter adapter(out->document_);
  parser.populateSchema(adapter, out->impl_->schema);
  out->impl_->quick = QuickCheck::compile(out->document_);
  return out;
}

const Json& embedded_schema_json(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, Json> parsed;
  std::lock_guard lock(mu);
  if (auto it = parsed.find(path); it != parsed.end()) return it->second;
  const auto& all = embedded_schemas();
  auto it = all.find(path);
  if (it == all.end()) throw std::runtime_error("no embedded schema named " + path);
  return parsed.emplace(path, Json::parse(it->second)).first->second;
}

std::shared_ptr<const JsonSchema> JsonSchema::embedded(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const JsonSchema>> cache;
  const Json& doc = embedded_schema_json(path);
  std::lock_guard lock(mu);
  if (auto it = cache.find(path); it != cache.end()) return it->second;
  auto compiled = compile(doc);
  cache.emplace(path, compiled);
  return compiled;
}

namespace {
// valijson names a location as ["<root>", "[steps]", "[0]", ...]; turn that into a JSON pointer.
std::string to_pointer(const std::vector<std::string>& context) {
  std::string out;
  for (const auto& part : context) {
    if (part == "<root>") continue;
    std::string token = part;
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') token = token.substr(1, token.size() - 2);
    if (token.size() >= 2 && token.front() == '"' && token.back() == '"') token = token.substr(1, token.size() - 2);
    std::string escaped;
    for (char c : token) {
      if (c == '~') escaped += "~0";
      else if (c == '/') escaped += "~1";
      else escaped += c;
    }
    out += "/" + escaped;
  }
  return out;
}

// The value at `pointer` as short text for a message ('x' for strings), if it is there.
std::optional<std::string> value_at(const Json& value, const std::string& pointer) {
  constexpr std::size_t kMax = 60;
  try {
    const Json& v = value.at(Json::json_pointer(pointer));
    std::string text = v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, Json::error_handler_t::replace);
    if (text.size() > kMax) text = text.substr(0, kMax - 3) + "...";
    return v.is_string() ? "'" + text + "'" : text;
  } catch (const std::exception&) {
    return std::nullopt;  // a pointer valijson built that JSON pointers do not read: no value shown
  }
}
}  // namespace

bool JsonSchema::has_quick_check() const { return impl_->quick.has_value(); }

bool JsonSchema::valid_by_valijson(const Json& value) const {
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::adapters::NlohmannJsonAdapter target(value);
  return validator.validate(impl_->schema, target, nullptr);
}

std::optional<bool> JsonSchema::valid_by_quick_check(const Json& value) const {
  if (!impl_->quick) return std::nullopt;
  return impl_->quick->valid(value);
}

std::vector<SchemaIssue> JsonSchema::validate(const Json& value) const {
  if (impl_->quick && impl_->quick->valid(value)) return {};
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(value);
  std::vector<SchemaIssue> issues;
  if (validator.validate(impl_->schema, target, &results)) return issues;
  valijson::ValidationResults::Error err;
  while (results.popError(err)) issues.push_back({to_pointer(err.context), err.description});
  // valijson fails some checks (propertyNames) without a message: invalid all the same.
  if (issues.empty()) issues.push_back({"", "Failed to validate against the schema."});
  // valijson repeats each failure at every enclosing level ("Failed to validate against
  // schema associated with property name 'x'"); keep only the specific ones when there are.
  auto is_echo = [](const SchemaIssue& i) {
    return i.message.rfind("Failed to validate against schema associated with", 0) == 0 ||
           i.message.rfind("Failed to validate item #", 0) == 0;
  };
  if (std::any_of(issues.begin(), issues.end(), [&](const SchemaIssue& i) { return !is_echo(i); }))
    issues.erase(std::remove_if(issues.begin(), issues.end(), is_echo), issues.end());
  // valijson's enum failure names neither the value nor the allowed ones: add the value given.
  for (auto& issue : issues)
    if (issue.message.rfind("Failed to match against any enum values", 0) == 0)
      if (auto given = value_at(value, issue.pointer)) issue.message += " (got " + *given + ")";
  return issues;
}

}  // namespace spokeflow
