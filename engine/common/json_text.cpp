#include "common/json_text.hpp"

// Boost.JSON is used header-only: its definitions are compiled here, in this one file.
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/src.hpp>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace spokeflow {

namespace bj = boost::json;

namespace {

// Builds the Json straight from the parser's events, without a document in between.
// Numbers other than 64-bit integers are read again from their text with from_chars: Boost
// 1.81's own conversion of decimals can be off by one unit in the last place.
class JsonBuilder {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  Json root;
  bool number_out_of_range = false;

  bool on_document_begin(bj::error_code&) { return true; }
  bool on_document_end(bj::error_code&) { return true; }
  bool on_array_begin(bj::error_code&) {
    open_.push_back(&place(Json::array()));
    return true;
  }
  bool on_array_end(std::size_t, bj::error_code&) {
    open_.pop_back();
    return true;
  }
  bool on_object_begin(bj::error_code&) {
    open_.push_back(&place(Json::object()));
    return true;
  }
  bool on_object_end(std::size_t, bj::error_code&) {
    open_.pop_back();
    return true;
  }
  bool on_string_part(bj::string_view s, std::size_t, bj::error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(bj::string_view s, std::size_t, bj::error_code&) {
    text_.append(s.data(), s.size());
    place(Json(std::move(text_)));
    text_.clear();
    return true;
  }
  bool on_key_part(bj::string_view s, std::size_t, bj::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(bj::string_view s, std::size_t, bj::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_number_part(bj::string_view s, bj::error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, bj::string_view s, bj::error_code&) {
    const bool minus = text_.empty() ? (!s.empty() && s.front() == '-') : text_.front() == '-';
    text_.clear();
    // Json::parse reads an integer written without a minus as unsigned ("-0" stays signed).
    if (!minus)
      place(Json(static_cast<std::uint64_t>(i)));
    else
      place(Json(i));
    return true;
  }
  bool on_uint64(std::uint64_t u, bj::string_view, bj::error_code&) {
    text_.clear();
    place(Json(u));
    return true;
  }
  bool on_double(double, bj::string_view s, bj::error_code& ec) {
    text_.append(s.data(), s.size());
    double d = 0;
    const char* first = text_.data();
    const char* last = first + text_.size();
    auto [end, err] = std::from_chars(first, last, d);
    if (err == std::errc::result_out_of_range) d = std::strtod(text_.c_str(), nullptr);  // underflow reads as 0
    text_.clear();
    if ((err != std::errc() && err != std::errc::result_out_of_range) || !std::isfinite(d)) {
      number_out_of_range = true;
      ec = bj::error::exponent_overflow;
      return false;
    }
    place(Json(d));
    return true;
  }
  bool on_bool(bool b, bj::error_code&) {
    place(Json(b));
    return true;
  }
  bool on_null(bj::error_code&) {
    place(Json(nullptr));
    return true;
  }
  bool on_comment_part(bj::string_view, bj::error_code&) { return true; }
  bool on_comment(bj::string_view, bj::error_code&) { return true; }

 private:
  // Puts `v` where the document is at (the root, the end of the open array, or the open
  // object's current key; a repeated key keeps its last value) and returns where it went.
  // Pointers to open containers stay valid: nothing is added beside a container while it is open.
  Json& place(Json v) {
    if (open_.empty()) {
      root = std::move(v);
      return root;
    }
    Json& parent = *open_.back();
    if (parent.is_array()) {
      auto& items = parent.get_ref<Json::array_t&>();
      items.push_back(std::move(v));
      return items.back();
    }
    auto& slot = parent.get_ref<Json::object_t&>()[std::move(key_)];
    key_.clear();
    slot = std::move(v);
    return slot;
  }

  std::vector<Json*> open_;
  std::string text_;  // a string or number read in parts
  std::string key_;
};

// True when the string needs none of what Json::dump does to strings: escapes, checking UTF-8.
bool plain_ascii(const std::string& s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

// A string value or key, quoted; anything but plain ASCII as Json::dump writes it.
void dump_string(const std::string& s, std::string& out) {
  if (plain_ascii(s)) {
    out += '"';
    out += s;
    out += '"';
  } else {
    out += Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

void dump_into(const Json& v, std::string& out) {
  switch (v.type()) {
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      char digits[24];
      const auto r = v.is_number_unsigned() ? std::to_chars(digits, digits + sizeof digits, v.get<std::uint64_t>())
                                            : std::to_chars(digits, digits + sizeof digits, v.get<std::int64_t>());
      out.append(digits, r.ptr);
      return;
    }
    case Json::value_t::string:
      dump_string(v.get_ref<const std::string&>(), out);
      return;
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const Json& item : v) {
        if (!first) out += ',';
        first = false;
        dump_into(item, out);
      }
      out += ']';
      return;
    }
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.get_ref<const Json::object_t&>()) {
        if (!first) out += ',';
        first = false;
        dump_string(key, out);
        out += ':';
        dump_into(item, out);
      }
      out += '}';
      return;
    }
    default:  // doubles (their shortest form is Json's own), binary, discarded: as Json writes them
      out += v.dump(-1, ' ', false, Json::error_handler_t::replace);
      return;
  }
}

}  // namespace

std::string dump_json(const Json& value) {
  std::string out;
  dump_into(value, out);
  return out;
}

std::vector<std::string> pointer_tokens(const std::string& pointer) {
  std::vector<std::string> tokens;
  for (Json::json_pointer p(pointer); !p.empty(); p.pop_back()) tokens.push_back(p.back());
  return {tokens.rbegin(), tokens.rend()};
}

std::string too_deep_message(std::size_t limit) {
  return "values are nested more than " + std::to_string(limit) + " levels deep";
}

bool nested_deeper_than(const Json& value, std::size_t limit) {
  if (!value.is_structured()) return false;
  if (limit == 0) return true;
  if (value.is_array()) {
    for (const Json& item : value.get_ref<const Json::array_t&>())
      if (nested_deeper_than(item, limit - 1)) return true;
  } else {
    for (const auto& [_, item] : value.get_ref<const Json::object_t&>())
      if (nested_deeper_than(item, limit - 1)) return true;
  }
  return false;
}

Result<Json> parse_json(std::string_view text, std::size_t max_depth) {
  bj::parse_options opts;
  opts.max_depth = max_depth;
  bj::basic_parser<JsonBuilder> p(opts);
  bj::error_code ec;
  const std::size_t used = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = bj::error::extra_data;
  // Json::parse also takes a few things Boost.JSON refuses: a leading byte-order mark, a NUL
  // byte ending the text early, exponents beyond int's range that read as 0. On those rare
  // texts its verdict is the one to keep (not past the depth limit, which is ours).
  if (ec && ec != bj::error::too_deep) {
    try {
      Json value = Json::parse(text);
      // Json::parse itself has no depth limit (its parser and destructor do not recurse).
      if (nested_deeper_than(value, max_depth))
        return Error::make(ErrorKind::validation, too_deep_message(max_depth), kTooDeepCode);
      return value;
    } catch (const Json::exception&) {
      // refused by both: the error below says where Boost.JSON stopped
    }
  }
  if (ec) {
    const std::string where = "at byte " + std::to_string(used) + " of " + std::to_string(text.size());
    if (ec == bj::error::too_deep)
      return Error::make(ErrorKind::validation, too_deep_message(max_depth) + " (" + where + ")", kTooDeepCode);
    std::string what = p.handler().number_out_of_range ? "a number is out of the range of a double" : ec.message();
    return Error::make(ErrorKind::validation, "invalid JSON: " + what + " " + where);
  }
  return std::move(p.handler().root);
}

}  // namespace spokeflow
