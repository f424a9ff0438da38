#include "util.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace oktasim {

namespace {
// ASCII lower case: what std::tolower does in the "C" locale the sim runs in (it never calls setlocale),
// without the library call per character (header lookups compare case-insensitively).
char lc(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool CaseLess::operator()(std::string_view a, std::string_view b) const noexcept {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const char x = lc(a[i]);
    const char y = lc(b[i]);
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lc(a[i]) != lc(b[i])) return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = lc(c);
  return r;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string iso_time(Clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int frac = static_cast<int>(ms % 1000);
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  // gmtime_r and snprintf only when the second changes (every lifecycle change stamps the user).
  thread_local std::time_t cached_secs = 0;
  thread_local bool cached = false;
  thread_local char prefix[96];
  thread_local std::size_t prefix_len = 0;
  if (!cached || secs != cached_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    const int n = std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    prefix_len = n < 0 ? 0 : std::min(static_cast<std::size_t>(n), sizeof prefix - 1);
    cached_secs = secs;
    cached = true;
  }
  std::string out;
  out.reserve(prefix_len + 4);
  out.append(prefix, prefix_len);
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + (frac / 10) % 10);
  out += static_cast<char>('0' + frac % 10);
  out += 'Z';
  return out;
}

std::string iso_now() { return iso_time(Clock::now()); }

bool parse_iso(std::string_view s, Clock::time_point& out) {
  int Y = 0, M = 0, D = 0, h = 0, m = 0, sec = 0;
  if (s.size() < 19) return false;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &Y, &M, &D, &h, &m, &sec) != 6) return false;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return false;
  int ms = 0;
  std::size_t i = 19;
  if (i < str.size() && str[i] == '.') {
    ++i;
    int digits = 0;
    while (i < str.size() && std::isdigit(static_cast<unsigned char>(str[i]))) {
      if (digits < 3) ms = ms * 10 + (str[i] - '0');
      ++digits;
      ++i;
    }
    for (int d = digits; d < 3; ++d) ms *= 10;
  }
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  const std::time_t t = timegm(&tm);
  // The clock counts nanoseconds in 64 bits (years 1678 to 2262): a time outside that is taken
  // as the earliest or latest it holds (before or after every event anyway), not overflowed.
  using std::chrono::seconds;
  constexpr auto kLatest = std::chrono::duration_cast<seconds>(Clock::duration::max()).count() - 1;
  constexpr auto kEarliest = std::chrono::duration_cast<seconds>(Clock::duration::min()).count() + 1;
  if (t > kLatest) out = Clock::time_point::max();
  else if (t < kEarliest) out = Clock::time_point::min();
  else out = Clock::time_point(seconds(t)) + std::chrono::milliseconds(ms);
  return true;
}

std::string http_date(Clock::time_point t) {
  std::time_t secs = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
                months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::int64_t epoch_seconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

namespace {
constexpr std::string_view kB62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kTok = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
}  // namespace

Random::Random() : rng_(std::random_device{}()) {}

std::uint64_t Random::next() { return rng_(); }

double Random::uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

// Several characters from each 64-bit draw (8 base62 digits, 10 six-bit groups) rather than one draw
// and a division per character: request ids, error ids and event ids are made on every request.
std::string Random::base62(std::size_t n) {
  std::string r(n, '0');
  std::size_t i = 0;
  while (i < n) {
    std::uint64_t x = rng_();
    for (int k = 0; k < 8 && i < n; ++k, x /= 62) r[i++] = kB62[x % 62];
  }
  return r;
}

std::string Random::id(std::string_view prefix) {
  std::string r(prefix);
  if (r.size() < 20) r += base62(20 - r.size());
  return r;
}

std::string Random::token(std::size_t n) {
  static_assert(kTok.size() == 64);
  std::string r(n, '0');
  std::size_t i = 0;
  while (i < n) {
    std::uint64_t x = rng_();
    for (int k = 0; k < 10 && i < n; ++k, x >>= 6) r[i++] = kTok[x & 63];
  }
  return r;
}

namespace {
int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string url_decode(std::string_view s, bool plus_is_space, bool* ok) {
  // Most path segments and query values hold nothing to decode.
  if (s.find('%') == std::string_view::npos && (!plus_is_space || s.find('+') == std::string_view::npos)) {
    if (ok) *ok = true;
    return std::string(s);
  }
  std::string r;
  r.reserve(s.size());
  if (ok) *ok = true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 < s.size()) {
        const int a = hexval(s[i + 1]);
        const int b = hexval(s[i + 2]);
        if (a >= 0 && b >= 0) {
          r.push_back(static_cast<char>(a * 16 + b));
          i += 2;
          continue;
        }
      }
      if (ok) *ok = false;
      r.push_back(c);
    } else if (c == '+' && plus_is_space) {
      r.push_back(' ');
    } else {
      r.push_back(c);
    }
  }
  return r;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string r;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      r.push_back(static_cast<char>(c));
    } else {
      r.push_back('%');
      r.push_back(hex[c >> 4]);
      r.push_back(hex[c & 15]);
    }
  }
  return r;
}

Query parse_query(std::string_view q, bool* ok) {
  Query out;
  if (ok) *ok = true;
  std::size_t pos = 0;
  while (pos <= q.size()) {
    std::size_t amp = q.find('&', pos);
    if (amp == std::string_view::npos) amp = q.size();
    const std::string_view part = q.substr(pos, amp - pos);
    if (!part.empty()) {
      const std::size_t eq = part.find('=');
      bool k_ok = true, v_ok = true;
      std::string k = url_decode(part.substr(0, eq), true, &k_ok);
      std::string v = eq == std::string_view::npos ? std::string() : url_decode(part.substr(eq + 1), true, &v_ok);
      if ((!k_ok || !v_ok) && ok) *ok = false;
      out.emplace_back(std::move(k), std::move(v));
    }
    pos = amp + 1;
  }
  return out;
}

const std::string* query_get(const Query& q, std::string_view key) {
  for (const auto& [k, v] : q)
    if (k == key) return &v;
  return nullptr;
}

bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

std::string base64url_encode(std::string_view bytes) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  while (i + 2 < bytes.size()) {
    const std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(tbl[(v >> 18) & 63]);
    out.push_back(tbl[(v >> 12) & 63]);
    out.push_back(tbl[(v >> 6) & 63]);
    out.push_back(tbl[v & 63]);
    i += 3;
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    out.push_back(tbl[(v >> 18) & 63]);
    out.push_back(tbl[(v >> 12) & 63]);
  } else if (rest == 2) {
    const std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out.push_back(tbl[(v >> 18) & 63]);
    out.push_back(tbl[(v >> 12) & 63]);
    out.push_back(tbl[(v >> 6) & 63]);
  }
  return out;
}

bool base64url_decode(std::string_view in, std::string& out) {
  out.clear();
  std::uint32_t buf = 0;
  int bits = 0;
  for (const char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-' || c == '+') v = 62;
    else if (c == '_' || c == '/') v = 63;
    else if (c == '=') break;
    else return false;
    buf = (buf << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xFF));
    }
  }
  return true;
}

}  // namespace oktasim
