#pragma once
// The last line of defence for secrets: every value known to be sensitive (inputs declared
// `sensitive`, action fields marked `x-sensitive`) is registered here, and records and log
// lines are scrubbed of it, so that a secret copied into a plain field (`core.echo`, a log
// message, an error text) still never reaches the store or stderr in clear.
#include <string>
#include <string_view>

#include "common/json.hpp"

namespace spokeflow {

class SecretScrubber {
 public:
  // Values shorter than this are not registered: scrubbing "a" or "no" would shred records.
  static constexpr std::size_t kMinLength = 4;

  static SecretScrubber& instance();
  void add(std::string_view secret);
  // Registers every string in a sensitive value (a string, or all strings inside it).
  void add_all(const Json& value);
  bool empty() const;
  // Each occurrence of a registered secret becomes "[REDACTED]".
  std::string scrub(std::string text) const;
  Json scrub(Json value) const;  // pass an rvalue to scrub without a copy
  void clear();  // for tests
};

}  // namespace spokeflow
