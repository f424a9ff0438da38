#include "store/store.hpp"

#include "common/json_text.hpp"

namespace spokeflow::store {

void ExecutionStore::flush_async(std::function<void(std::exception_ptr)> done) {
  std::exception_ptr failure;
  try {
    flush();
  } catch (...) {
    failure = std::current_exception();
  }
  done(failure);
}

std::string capped_dump(const Json& value, std::size_t cap) {
  std::string text = dump_json(value);
  if (text.size() <= cap) return text;
  std::size_t cut = std::min<std::size_t>(1024, text.size());
  // Do not cut a UTF-8 sequence in half.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  Json marker = {{"$truncated", true}, {"bytes", text.size()}, {"preview", text.substr(0, cut)}};
  return marker.dump();
}

}  // namespace spokeflow::store
