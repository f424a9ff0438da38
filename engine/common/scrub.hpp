#pragma once
// The last line of defence for secrets: every value known to be sensitive (inputs declared
// `sensitive`, action fields marked `x-sensitive`) is registered here, and records and log
// lines are scrubbed of it, so that a secret copied into a plain field (`core.echo`, a log
// message, an error text) still never reaches the store or stderr in clear.
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"

namespace spokeflow {

class SecretScrubber {
 public:
  // Secrets of one execution (its sensitive inputs and outputs): registered while it runs and
  // forgotten when it ends, so that what the scrubber holds is bounded by the live executions
  // and the process's own credentials, however long the process runs.
  class Scope {
   public:
    Scope() = default;
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope();
    void add(std::string_view secret);
    void add_all(const Json& value);

   private:
    std::vector<std::string> added_;
  };

  // Values shorter than this are not registered: scrubbing "a" or "no" would shred records.
  static constexpr std::size_t kMinLength = 4;

  static SecretScrubber& instance();
  // Registers a secret for the life of the process (credentials, tokens).
  void add(std::string_view secret);
  // Registers every string in a sensitive value (a string, or all strings inside it).
  void add_all(const Json& value);
  bool empty() const;
  // Each occurrence of a registered secret becomes "[REDACTED]".
  std::string scrub(std::string text) const;
  Json scrub(Json value) const;  // pass an rvalue to scrub without a copy
  std::size_t size() const;  // how many secrets are registered
  void clear();  // for tests
};

}  // namespace spokeflow
