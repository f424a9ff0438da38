// okta-sim tests: checks an answer body against the response schema of its operation in Okta's OpenAPI file.
// A small validator: $ref, allOf, oneOf/anyOf, type, nullable, properties, required, items, enum.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace oktasim_test {

class OpenApi {
 public:
  using json = nlohmann::ordered_json;
  explicit OpenApi(json spec) : spec_(std::move(spec)) {
    for (auto it = spec_["paths"].begin(); it != spec_["paths"].end(); ++it) paths_.push_back(it.key());
  }

  // Finds the schema for (method, path, status). Returns false when the spec has no JSON schema for it.
  bool find_schema(const std::string& method, const std::string& path, unsigned status, json& schema,
                   std::string& op_name) const {
    const std::vector<std::string> want = split(path);
    const std::string* best = nullptr;
    int best_literals = -1;
    for (const auto& p : paths_) {
      const auto segs = split(p);
      if (segs.size() != want.size()) continue;
      int literals = 0;
      bool ok = true;
      for (std::size_t i = 0; i < segs.size() && ok; ++i) {
        if (!segs[i].empty() && segs[i].front() == '{') continue;
        if (segs[i] != want[i]) ok = false;
        else ++literals;
      }
      if (ok && literals > best_literals) {
        best = &p;
        best_literals = literals;
      }
    }
    if (!best) return false;
    std::string m = method;
    for (char& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const json& item = spec_["paths"][*best];
    if (!item.contains(m)) return false;
    op_name = m + " " + *best;
    const json& responses = item[m].value("responses", json::object());
    const std::string code = std::to_string(status);
    json resp;
    if (responses.contains(code)) resp = responses[code];
    else if (responses.contains("default")) resp = responses["default"];
    else return false;
    resp = deref(resp);
    if (!resp.contains("content")) return false;
    const json& content = resp["content"];
    for (auto it = content.begin(); it != content.end(); ++it)
      if (it.key().find("json") != std::string::npos && it.value().contains("schema")) {
        schema = it.value()["schema"];
        return true;
      }
    return false;
  }

  // Validates; appends problems (with a JSON pointer) to errors. depth bounds recursion.
  void validate(const json& schema_in, const json& v, const std::string& where, std::vector<std::string>& errors,
                int depth = 0) const {
    if (depth > 40 || errors.size() > 20) return;
    const json& schema = *deref_ptr(schema_in);
    if (v.is_null()) {
      if (schema.value("nullable", false) || !schema.contains("type")) return;
    }
    if (schema.contains("allOf"))
      for (const auto& s : schema["allOf"]) validate(s, v, where, errors, depth + 1);
    for (const char* key : {"oneOf", "anyOf"}) {
      if (!schema.contains(key)) continue;
      bool any = false;
      for (const auto& s : schema[key]) {
        std::vector<std::string> e;
        validate(s, v, where, e, depth + 1);
        if (e.empty()) {
          any = true;
          break;
        }
      }
      if (!any) errors.push_back(where + ": matches none of " + key);
    }
    if (schema.contains("type") && schema["type"].is_string()) {
      const std::string t = schema["type"].get<std::string>();
      bool ok = true;
      if (t == "object") ok = v.is_object();
      else if (t == "array") ok = v.is_array();
      else if (t == "string") ok = v.is_string();
      else if (t == "integer") ok = v.is_number_integer();
      else if (t == "number") ok = v.is_number();
      else if (t == "boolean") ok = v.is_boolean();
      if (!ok) {
        if (v.is_null()) {
          // Okta answers null for many optional properties the spec does not mark nullable; tolerated.
          return;
        }
        errors.push_back(where + ": is " + type_name(v) + ", schema says " + t);
        return;
      }
    }
    if (schema.contains("enum") && schema["enum"].is_array() && v.is_string()) {
      bool found = false;
      for (const auto& e : schema["enum"]) found = found || e == v;
      if (!found) errors.push_back(where + ": value " + v.dump() + " is not in the enum");
    }
    if (v.is_object()) {
      if (schema.contains("required") && schema["required"].is_array())
        for (const auto& r : schema["required"])
          if (r.is_string() && !v.contains(r.get<std::string>()))
            errors.push_back(where + ": missing required property " + r.get<std::string>());
      if (schema.contains("properties") && schema["properties"].is_object())
        for (auto it = schema["properties"].begin(); it != schema["properties"].end(); ++it)
          if (v.contains(it.key())) validate(it.value(), v[it.key()], where + "/" + it.key(), errors, depth + 1);
    }
    if (v.is_array() && schema.contains("items")) {
      std::size_t i = 0;
      for (const auto& e : v) {
        validate(schema["items"], e, where + "/" + std::to_string(i++), errors, depth + 1);
        if (i >= 5) break;
      }
    }
  }

 private:
  static std::vector<std::string> split(const std::string& p) {
    std::vector<std::string> r;
    std::size_t i = 0;
    while (i < p.size()) {
      auto j = p.find('/', i);
      if (j == std::string::npos) j = p.size();
      if (j > i) r.push_back(p.substr(i, j - i));
      i = j + 1;
    }
    return r;
  }
  static std::string type_name(const json& v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "boolean";
    if (v.is_number_integer()) return "integer";
    if (v.is_number()) return "number";
    if (v.is_string()) return "string";
    if (v.is_array()) return "array";
    return "object";
  }
  const json* deref_ptr(const json& j) const {
    const json* cur = &j;
    for (int guard = 0; guard < 20 && cur->is_object() && cur->contains("$ref"); ++guard) {
      const std::string ref = (*cur)["$ref"].get<std::string>();
      if (ref.rfind("#/", 0) != 0) return &empty_;
      json::json_pointer ptr(ref.substr(1));
      if (!spec_.contains(ptr)) return &empty_;
      cur = &spec_.at(ptr);
    }
    return cur;
  }
  json deref(const json& j) const {
    json cur = j;
    for (int guard = 0; guard < 20 && cur.is_object() && cur.contains("$ref"); ++guard) {
      const std::string ref = cur["$ref"].get<std::string>();
      if (ref.rfind("#/", 0) != 0) return json::object();
      json::json_pointer ptr(ref.substr(1));
      if (!spec_.contains(ptr)) return json::object();
      cur = spec_.at(ptr);
    }
    return cur;
  }

  json spec_;
  json empty_ = json::object();
  std::vector<std::string> paths_;
};

}  // namespace oktasim_test
