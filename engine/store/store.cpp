#include "store/store.hpp"

namespace spokeflow::store {

Json cap_value(const Json& value, std::size_t cap, std::string* dumped) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() <= cap) {
    if (dumped) *dumped = std::move(text);
    return value;
  }
  std::size_t cut = std::min<std::size_t>(1024, text.size());
  // Do not cut a UTF-8 sequence in half.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  Json marker = {{"$truncated", true}, {"bytes", text.size()}, {"preview", text.substr(0, cut)}};
  if (dumped) *dumped = marker.dump();
  return marker;
}

}  // namespace spokeflow::store
