#pragma once
// Regular expressions that meet input (schema `pattern`s, the email format check), run by RE2:
// its matching takes time linear in the text and a bounded stack, where libstdc++'s std::regex
// recursed once per character and overflowed the stack on strings of 50,000 characters.
//
// Patterns are written as for std::regex's ECMAScript grammar (JSON Schema's dialect) and mean
// what they meant there, byte by byte as std::regex read `char`s: `.` matches anything but \n
// and \r, and `\s` is [ \t\n\v\f\r] (RE2's own `.` takes \r and its `\s` leaves out \v, so both
// are rewritten). What RE2 cannot run — backreferences, lookahead and lookbehind, `\S` inside
// brackets, repetitions above 1000 — is refused at compile time with the reason.
#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace re2 {
class RE2;
}

namespace spokeflow {

class Regex {
 public:
  // The error (ErrorKind::validation) names the pattern and says what RE2 could not take.
  static Result<Regex> compile(std::string_view pattern);

  // True when the pattern matches somewhere in `text` (std::regex_search; JSON Schema's `pattern`).
  bool search(std::string_view text) const;
  // True when the pattern matches all of `text` (std::regex_match).
  bool full_match(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;                 // as written
  std::shared_ptr<const re2::RE2> re_;  // compiled from the rewritten pattern; shared, RE2 is thread-safe
};

// The email format check of flow inputs: something@something.something, no whitespace, one @.
inline constexpr std::string_view kEmailPattern = R"(^[^@\s]+@[^@\s]+\.[^@\s]+$)";
bool is_email_address(std::string_view text);

}  // namespace spokeflow
