// okta-sim: small helpers (ids, time, URL coding, header maps).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oktasim {

struct CaseLess {
  bool operator()(std::string_view a, std::string_view b) const noexcept;
  using is_transparent = void;
};

bool iequals(std::string_view a, std::string_view b) noexcept;
std::string lower(std::string_view s);

using Clock = std::chrono::system_clock;

// ISO-8601 UTC with milliseconds, like Okta: 2025-09-29T03:47:07.000Z
std::string iso_time(Clock::time_point t);
std::string iso_now();
// Parses ISO-8601 (2025-09-29T03:47:07.000Z, fraction and Z optional). Returns false on error.
bool parse_iso(std::string_view s, Clock::time_point& out);
// RFC 7231 date for the Date header.
std::string http_date(Clock::time_point t);
std::int64_t epoch_seconds(Clock::time_point t);

class Random {
 public:
  Random();
  // prefix + base62 characters, total length 20 (Okta ids).
  std::string id(std::string_view prefix);
  // URL-safe token of n characters (base62 plus - and _).
  std::string token(std::size_t n);
  std::string base62(std::size_t n);
  double uniform();  // [0,1)
  std::uint64_t next();

 private:
  std::mt19937_64 rng_;
};

std::string url_decode(std::string_view s, bool plus_is_space, bool* ok = nullptr);
std::string url_encode(std::string_view s);

// Query parameters in order; duplicate keys are kept.
using Query = std::vector<std::pair<std::string, std::string>>;
Query parse_query(std::string_view q, bool* ok = nullptr);
const std::string* query_get(const Query& q, std::string_view key);

bool valid_utf8(std::string_view s) noexcept;

std::string base64url_encode(std::string_view bytes);
bool base64url_decode(std::string_view in, std::string& out);

std::string trim(std::string_view s);
bool starts_with_ci(std::string_view s, std::string_view prefix);

}  // namespace oktasim
