#pragma once
// What the fuzz targets share: the libFuzzer entry point's signature and a way to report a
// broken property (an abort, which libFuzzer and the replay test both count as a failure).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace spokeflow::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A property every input must keep was broken: say which, then abort.
[[noreturn]] inline void broken(const char* property, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz: property broken: %s\n", property);
  // Enough of what was wrong to see it, not a whole input.
  const int shown = static_cast<int>(std::min<std::size_t>(detail.size(), 2000));
  if (!detail.empty()) std::fprintf(stderr, "fuzz: detail: %.*s\n", shown, detail.data());
  std::abort();
}

inline void check(bool ok, const char* property, std::string_view detail = {}) {
  if (!ok) broken(property, detail);
}

}  // namespace spokeflow::fuzz
