// Sensitivity follows the data through evaluation (issue 16): whatever a step makes from a
// secret that is not the secret's own bytes (an upper-cased copy, a JSON-escaped one, a value
// read from a JSON text holding one, a number computed from one) is handed to the scope, which
// registers it (the engine's Frame: for the run's life). Copies need nothing: the secret is in
// them as it is, and the scrubber finds it.
#include <algorithm>

#include "common/json_text.hpp"
#include "expr/ast.hpp"

namespace spokeflow::expr {
namespace {

// The text a string has inside a JSON text, without the quotes.
std::string json_inner(std::string_view s) {
  std::string d = dump_json(Json(std::string(s)));
  return d.substr(1, d.size() - 2);
}

bool overlaps(const Scope::Span& span, std::size_t begin, std::size_t end) {
  return span.begin < end && span.end > begin;
}

bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool number_char(char c) { return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }

}  // namespace

const std::vector<Scope::Span>& Sensitivity::secrets_in(std::string_view text) {
  spans_.clear();
  scope_.find_sensitive(text, spans_);
  return spans_;
}

void Sensitivity::mapped(std::string_view in, std::string_view out) {
  if (!track_) return;
  for (const Scope::Span& sp : secrets_in(in)) {
    const std::string_view from = in.substr(sp.begin, sp.end - sp.begin);
    const std::string_view to = out.substr(sp.begin, sp.end - sp.begin);
    if (to != from) scope_.derived_sensitive(to);
  }
}

void Sensitivity::escaped(const Json& v) {
  if (!track_) return;
  auto note = [this](const std::string& s) {
    for (const Scope::Span& sp : secrets_in(s)) {
      const std::string_view secret = std::string_view(s).substr(sp.begin, sp.end - sp.begin);
      const std::string e = json_inner(secret);  // escaping is byte by byte: the secret's part of the whole
      if (e != secret) scope_.derived_sensitive(e);
    }
  };
  std::vector<const Json*> todo{&v};  // iterative: values may be nested deeply
  while (!todo.empty()) {
    const Json* x = todo.back();
    todo.pop_back();
    if (x->is_string()) {
      note(x->get_ref<const std::string&>());
    } else if (x->is_object()) {
      for (auto it = x->begin(); it != x->end(); ++it) {
        note(it.key());
        todo.push_back(&it.value());
      }
    } else if (x->is_array()) {
      for (const Json& item : *x) todo.push_back(&item);
    }
  }
}

// Each string value and number whose token in `text` overlaps a secret is one, or a part of one
// (a sensitive JSON text). A secret wholly inside a string token gives the string its unescaped
// copy, registered when the escapes change it. Object keys are the structure of a sensitive text
// and are left out, as they are from sensitive values (a secret wholly inside a key is covered
// by its unescaped copy all the same).
void Sensitivity::parsed(std::string_view text) {
  if (!track_) return;
  const std::vector<Scope::Span> spans = secrets_in(text);
  if (spans.empty()) return;
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const char c = text[i];
    if (c == '"') {
      std::size_t j = i + 1;
      while (j < n && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
      const std::size_t end = std::min(j + 1, n);  // past the closing quote
      std::size_t k = end;
      while (k < n && json_space(text[k])) ++k;
      const bool is_key = k < n && text[k] == ':';
      bool whole = false;
      for (const Scope::Span& sp : spans) {
        if (!overlaps(sp, i, end)) continue;
        if (sp.begin > i && sp.end < end) {
          const std::string_view fragment = text.substr(sp.begin, sp.end - sp.begin);
          auto decoded = parse_json("\"" + std::string(fragment) + "\"");
          if (decoded.ok() && decoded->is_string()) {
            if (decoded->get_ref<const std::string&>() != fragment) scope_.derived_sensitive(decoded->get_ref<const std::string&>());
            continue;
          }
        }
        whole = true;  // the secret crosses the token's quotes, or cuts one of its escapes
      }
      if (whole && !is_key) {
        auto decoded = parse_json(text.substr(i, end - i));
        if (decoded.ok() && decoded->is_string()) scope_.derived_sensitive(decoded->get_ref<const std::string&>());
      }
      i = end;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t j = i;
      while (j < n && number_char(text[j])) ++j;
      if (std::any_of(spans.begin(), spans.end(), [&](const Scope::Span& sp) { return overlaps(sp, i, j); })) {
        auto number = parse_json(text.substr(i, j - i));
        if (number.ok() && number->is_number()) derive_number(*number);
      }
      i = j;
    } else {
      ++i;
    }
  }
}

bool Sensitivity::number_holds_secret(const Json& v) { return v.is_number() && !secrets_in(to_text(v)).empty(); }

// A number made from a secret: its text as interpolation writes it, and as a record does.
void Sensitivity::derive_number(const Json& n) {
  const std::string text = to_text(n);
  scope_.derived_sensitive(text);
  if (n.is_number_float())
    if (std::string dumped = n.dump(); dumped != text) scope_.derived_sensitive(dumped);
}

void Sensitivity::computed(const Json& result, const Json& a, const Json* b) {
  if (!track_ || !result.is_number()) return;
  if (number_holds_secret(a) || (b != nullptr && number_holds_secret(*b))) derive_number(result);
}

}  // namespace spokeflow::expr
