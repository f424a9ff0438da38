#include "common/regex.hpp"

#include <re2/re2.h>

#include <optional>

namespace spokeflow {
namespace {

// std::regex's ECMAScript `\s` for `char` in the "C" locale, as class members.
constexpr std::string_view kSpaceMembers = R"(\t\n\x0B\f\r )";

// The pattern in RE2's syntax with std::regex's meaning (see regex.hpp), or why it cannot be.
// Only what reads differently is rewritten; anything RE2 does not know is left for RE2 to refuse.
Result<std::string> to_re2_syntax(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  bool in_class = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[++i];
      if (e == 's') {
        out += in_class ? std::string(kSpaceMembers) : "[" + std::string(kSpaceMembers) + "]";
      } else if (e == 'S') {
        if (in_class) return Error::make(ErrorKind::validation, "\\S inside [ ] is not supported");
        out += "[^" + std::string(kSpaceMembers) + "]";
      } else if (e == 'b' && in_class) {
        out += "\\x08";  // a backspace inside brackets, in ECMAScript
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      if (c == '[') out += '\\';  // a plain '[' for ECMAScript; RE2 would read "[:alpha:]" as a class
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      // ECMAScript reads "[]" as matching nothing and "[^]" as matching anything; RE2 reads a
      // ']' there as a member.
      if (i + 1 < p.size() && p[i + 1] == ']')
        return Error::make(ErrorKind::validation, "an empty class ([] or [^]) is not supported");
      continue;
    }
    if (c == '.') {
      out += "[^\\n\\r]";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

Result<Regex> Regex::compile(std::string_view pattern) {
  auto fail = [&](const std::string& why) {
    return Error::make(ErrorKind::validation, "pattern '" + std::string(pattern) + "' cannot be used: " + why +
                                                  " (patterns run on RE2: no backreferences, no lookaround)");
  };
  auto translated = to_re2_syntax(pattern);
  if (!translated) return fail(translated.error().message);
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingLatin1);  // bytes, as std::regex read chars
  options.set_log_errors(false);
  auto re = std::make_shared<const RE2>(*translated, options);
  if (!re->ok()) return fail(re->error());
  Regex out;
  out.pattern_ = std::string(pattern);
  out.re_ = std::move(re);
  return out;
}

bool Regex::search(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

bool Regex::full_match(std::string_view text) const {
  return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

bool is_email_address(std::string_view text) {
  static const Regex email = *Regex::compile(kEmailPattern);
  return email.full_match(text);
}

}  // namespace spokeflow
