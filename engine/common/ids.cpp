#include "common/ids.hpp"

#include <date/date.h>

#include <array>
#include <chrono>
#include <ctime>
#include <mutex>
#include <random>
#include <sstream>

namespace spokeflow {

std::int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_timestamp(std::int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

std::optional<std::int64_t> parse_timestamp(std::string_view text) {
  using namespace std::chrono;
  std::string s(text);
  if (s.size() == 10) s += "T00:00:00Z";
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) s.replace(s.size() - 1, 1, "+00:00");
  std::istringstream in(s);
  date::sys_time<milliseconds> tp;
  in >> date::parse("%FT%T%Ez", tp);
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) return std::nullopt;
  return tp.time_since_epoch().count();
}

namespace {
constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}  // namespace

bool is_sortable_id(std::string_view s) {
  if (s.size() != 26 || s[0] > '7') return false;
  for (char c : s)
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  return true;
}

std::string new_sortable_id() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  static std::uint64_t last_ms = 0;
  static std::array<std::uint8_t, 10> last_rand{};

  std::lock_guard lock(mu);
  std::uint64_t ms = static_cast<std::uint64_t>(now_unix_ms());
  std::array<std::uint8_t, 10> rnd{};
  if (ms <= last_ms) {
    // Same (or earlier) millisecond: keep the time and count the random part up by one.
    ms = last_ms;
    rnd = last_rand;
    for (int i = 9; i >= 0; --i)
      if (++rnd[i] != 0) break;
  } else {
    std::uint64_t a = rng(), b = rng();
    for (int i = 0; i < 8; ++i) rnd[i] = static_cast<std::uint8_t>(a >> (8 * i));
    rnd[8] = static_cast<std::uint8_t>(b);
    rnd[9] = static_cast<std::uint8_t>(b >> 8);
    rnd[0] &= 0x7f;  // room to count up within the millisecond
  }
  last_ms = ms;
  last_rand = rnd;

  // 128 bits: 48 of time then 80 of randomness, written as 26 base32 digits (130 bits, top 2 zero).
  std::array<std::uint8_t, 16> bytes{};
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
  for (int i = 0; i < 10; ++i) bytes[6 + i] = rnd[i];
  std::string out(26, '0');
  for (int d = 25; d >= 0; --d) {
    int bit = (25 - d) * 5;  // bit offset from the least significant end
    unsigned v = 0;
    for (int k = 0; k < 5; ++k) {
      int b = bit + k;
      if (b >= 128) break;
      int byte = 15 - b / 8;
      if ((bytes[byte] >> (b % 8)) & 1) v |= 1u << k;
    }
    out[d] = kAlphabet[v];
  }
  return out;
}

}  // namespace spokeflow
