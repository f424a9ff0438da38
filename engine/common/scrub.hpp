#pragma once
// The last line of defence for secrets: every value known to be sensitive (inputs declared
// `sensitive`, action fields marked `x-sensitive`, credentials, and what expressions compute
// from any of these) is registered here, and records and log lines are scrubbed of it, so that
// a secret copied into a plain field (`core.echo`, a log message, an error text) still never
// reaches the store or stderr in clear.
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/json.hpp"

namespace spokeflow {

class SecretScrubber {
 public:
  // Where a secret occurs in a text: [begin, end).
  struct Span {
    std::size_t begin = 0, end = 0;
  };

  // Secrets of one execution (its sensitive inputs and outputs, and what its expressions
  // compute from them): registered while it runs and forgotten when it ends, so that what the
  // scrubber holds is bounded by the live executions and the process's own credentials,
  // however long the process runs.
  class Scope {
   public:
    Scope() = default;
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope();
    // Registers `secret` with its forms (see add() below); adding it again changes nothing.
    void add(std::string_view secret);
    // Every string in a sensitive value, and every number as its text (object keys are its
    // structure and are not registered).
    void add_all(const Json& value);
    // What a record's redaction hid, from the record as it was shown and its clear copy (a
    // sealed record opened by a resume, whose secrets a process that is gone had registered):
    // each string and number of `clear` that `shown` does not hold as is, and each key it lacks.
    void add_hidden(const Json& shown, const Json& clear);

   private:
    std::unordered_set<std::string> added_;
  };

  // Values shorter than this are not registered: scrubbing "a" or "no" would shred records.
  static constexpr std::size_t kMinLength = 4;

  static SecretScrubber& instance();
  // Registers a secret for the life of the process (credentials, tokens), with the forms the
  // engine or a flow may write it in: upper- and lower-case (ASCII), JSON-escaped (as inside a
  // JSON string) and percent-encoded (as in a URL path or query).
  void add(std::string_view secret);
  // Registers every string in a sensitive value (a string, or all strings inside it).
  void add_all(const Json& value);
  bool empty() const;
  // Each occurrence of a registered secret becomes "[REDACTED]". In JSON, object keys too, and
  // a number whose text holds a registered secret (a sensitive number) becomes "[REDACTED]".
  std::string scrub(std::string text) const;
  Json scrub(Json value) const;  // pass an rvalue to scrub without a copy
  // Where registered secrets occur in `text`: every occurrence, overlapping ones too, appended
  // to `out` in no particular order.
  void find(std::string_view text, std::vector<Span>& out) const;
  bool holds_secret(std::string_view text) const;
  std::size_t size() const;  // how many strings are registered (forms included)
  void clear();  // for tests
};

}  // namespace spokeflow
