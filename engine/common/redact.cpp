#include "common/redact.hpp"

namespace spokeflow {

bool schema_has_sensitive(const Json& schema) {
  if (!schema.is_object()) return false;
  if (auto it = schema.find("x-sensitive"); it != schema.end() && it->is_boolean() && it->get<bool>()) return true;
  for (const char* key : {"properties", "patternProperties"})
    if (auto it = schema.find(key); it != schema.end() && it->is_object())
      for (const auto& [_, sub] : it->items())
        if (schema_has_sensitive(sub)) return true;
  for (const char* key : {"items", "additionalProperties"})
    if (auto it = schema.find(key); it != schema.end() && schema_has_sensitive(*it)) return true;
  for (const char* key : {"oneOf", "anyOf", "allOf"})
    if (auto it = schema.find(key); it != schema.end() && it->is_array())
      for (const auto& sub : *it)
        if (schema_has_sensitive(sub)) return true;
  return false;
}

void collect_sensitive(const Json& value, const Json& schema, std::vector<const Json*>& out) {
  if (!schema.is_object() || value.is_null()) return;
  if (auto it = schema.find("x-sensitive"); it != schema.end() && it->is_boolean() && it->get<bool>()) {
    out.push_back(&value);
    return;
  }
  for (const char* key : {"oneOf", "anyOf", "allOf"})
    if (auto it = schema.find(key); it != schema.end() && it->is_array())
      for (const auto& sub : *it) collect_sensitive(value, sub, out);
  if (value.is_object()) {
    const Json* props = nullptr;
    if (auto it = schema.find("properties"); it != schema.end() && it->is_object()) props = &*it;
    const Json* extra = nullptr;
    if (auto it = schema.find("additionalProperties"); it != schema.end() && it->is_object()) extra = &*it;
    for (const auto& [key, v] : value.items()) {
      if (props && props->contains(key)) collect_sensitive(v, (*props)[key], out);
      else if (extra) collect_sensitive(v, *extra, out);
    }
  } else if (value.is_array()) {
    if (auto it = schema.find("items"); it != schema.end() && it->is_object())
      for (const auto& v : value) collect_sensitive(v, *it, out);
  }
}

Json redact_by_schema(const Json& value, const Json& schema) {
  if (!schema.is_object()) return value;
  if (auto it = schema.find("x-sensitive"); it != schema.end() && it->is_boolean() && it->get<bool>())
    return value.is_null() ? value : Json(kRedacted);
  Json out = value;
  // Alternatives: apply each, since any of them may describe the value.
  for (const char* key : {"oneOf", "anyOf", "allOf"})
    if (auto it = schema.find(key); it != schema.end() && it->is_array())
      for (const auto& sub : *it) out = redact_by_schema(out, sub);
  if (out.is_object()) {
    const Json* props = nullptr;
    if (auto it = schema.find("properties"); it != schema.end() && it->is_object()) props = &*it;
    const Json* extra = nullptr;
    if (auto it = schema.find("additionalProperties"); it != schema.end() && it->is_object()) extra = &*it;
    for (auto& [key, v] : out.items()) {
      if (props && props->contains(key)) v = redact_by_schema(v, (*props)[key]);
      else if (extra) v = redact_by_schema(v, *extra);
    }
  } else if (out.is_array()) {
    if (auto it = schema.find("items"); it != schema.end() && it->is_object())
      for (auto& v : out) v = redact_by_schema(v, *it);
  }
  return out;
}

}  // namespace spokeflow
