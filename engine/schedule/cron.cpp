#include "schedule/cron.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <vector>

namespace spokeflow::schedule {
namespace {

// Longer than any sensible cron (five lists of every value are about 400 characters); keeps
// messages and work small for junk.
constexpr std::size_t kMaxCronLength = 1000;

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
// Days in each month, February in a leap year: what decides whether a day can ever occur.
constexpr std::array<unsigned, 13> kMaxDays = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

struct Field {
  std::string_view name;   // as messages say it
  unsigned low;
  unsigned high;
  bool months;             // names JAN-DEC
  bool weekdays;           // names SUN-SAT, 7 = Sunday
  std::string_view expected;  // what a value looks like, for messages
};

constexpr std::array<Field, 5> kFields = {{
    {"minute", 0, 59, false, false, "a number 0-59"},
    {"hour", 0, 23, false, false, "a number 0-23"},
    {"day-of-month", 1, 31, false, false, "a number 1-31"},
    {"month", 1, 12, true, false, "a number 1-12 or a name JAN-DEC"},
    {"day-of-week", 0, 7, false, true, "a number 0-7 (0 and 7 are Sunday) or a name SUN-SAT"},
}};

// User text inside a message: ASCII only, short.
std::string shown(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < 32; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
  }
  if (s.size() > 32) out += "...";
  return out;
}

Error field_error(const Field& f, std::string message) {
  Error e = Error::make(ErrorKind::validation, std::move(message));
  e.details = Json{{"field", f.name}};
  return e;
}

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// One value of a field: a number or (in month and day-of-week) a name. Checked against the range.
Result<unsigned> parse_value(const Field& f, std::string_view token) {
  if (!token.empty() && std::all_of(token.begin(), token.end(), is_digit)) {
    unsigned long v = 0;
    auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
    if (ec != std::errc() || ptr != token.data() + token.size() || v < f.low || v > f.high)
      return field_error(f, std::string(f.name) + " " + shown(token) + " is out of range " + std::to_string(f.low) +
                                "-" + std::to_string(f.high));
    return static_cast<unsigned>(v);
  }
  if (token.size() == 3 && std::all_of(token.begin(), token.end(), is_letter)) {
    const std::string up{upper(token[0]), upper(token[1]), upper(token[2])};
    if (f.months)
      for (std::size_t i = 0; i < kMonthNames.size(); ++i)
        if (kMonthNames[i] == up) return static_cast<unsigned>(i + 1);
    if (f.weekdays)
      for (std::size_t i = 0; i < kDayNames.size(); ++i)
        if (kDayNames[i] == up) return static_cast<unsigned>(i);
  }
  if (token == "?")
    return field_error(f, std::string(f.name) + ": '?' is not cron syntax here; write '*' for any");
  return field_error(f, std::string(f.name) + " '" + shown(token) + "' is not " + std::string(f.expected));
}

// One item of a list: `*`, `N`, `A-B`, each optionally with `/STEP`, or `N/STEP` (N to the end).
// Sets the bits of the values it covers.
Result<Unit> parse_item(const Field& f, std::string_view item, std::uint64_t& bits) {
  std::string_view base = item;
  std::optional<unsigned> step;
  if (auto slash = item.find('/'); slash != std::string_view::npos) {
    base = item.substr(0, slash);
    const std::string_view s = item.substr(slash + 1);
    unsigned long v = 0;
    const unsigned max_step = f.high - f.low;
    const bool digits = !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!digits)
      return field_error(f, std::string(f.name) + " step '" + shown(s) + "' is not a number (in '" + shown(item) + "')");
    if (ec != std::errc() || ptr != s.data() + s.size() || v < 1 || v > max_step)
      return field_error(f, std::string(f.name) + " step " + shown(s) + " is out of range 1-" + std::to_string(max_step) +
                                " (in '" + shown(item) + "')");
    step = static_cast<unsigned>(v);
  }
  if (base.empty())
    return field_error(f, "bad " + std::string(f.name) + " item '" + shown(item) +
                              "': expected *, a value, a range A-B, or one of them with a step (*/15, 1-30/5)");
  unsigned first = f.low;
  unsigned last = f.high;
  if (base == "*") {
    // every value; with a step, every STEPth from the first
  } else if (auto dash = base.find('-'); dash != std::string_view::npos) {
    const std::string_view a = base.substr(0, dash);
    const std::string_view b = base.substr(dash + 1);
    if (a.empty() || b.empty() || a == "*" || b == "*")
      return field_error(f, "bad " + std::string(f.name) + " range '" + shown(base) + "': write it as A-B, e.g. " +
                                (f.weekdays ? "MON-FRI" : f.months ? "JAN-MAR" : "1-5"));
    auto va = parse_value(f, a);
    if (!va) return va.error();
    auto vb = parse_value(f, b);
    if (!vb) return vb.error();
    first = *va;
    last = *vb;
    // SAT-SUN, FRI-0: Sunday closes a week that starts on Monday.
    if (f.weekdays && last == 0 && first > 0) last = 7;
    if (first > last)
      return field_error(f, std::string(f.name) + " range " + shown(base) + " goes backwards; write it as two ranges, e.g. " +
                                std::to_string(first) + "-" + std::to_string(f.high) + "," + std::to_string(f.low) + "-" +
                                std::to_string(last));
  } else {
    auto v = parse_value(f, base);
    if (!v) return v.error();
    first = *v;
    last = step ? f.high : *v;  // `5/15` means 5-last/15
  }
  for (unsigned v = first; v <= last; v += step.value_or(1u)) {
    const unsigned bit = (f.weekdays && v == 7) ? 0u : v;
    bits |= std::uint64_t{1} << bit;
  }
  return Unit{};
}

Result<std::uint64_t> parse_field(const Field& f, std::string_view text) {
  std::uint64_t bits = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty())
      return field_error(f, std::string(f.name) + " '" + shown(text) + "' has an empty item in its list");
    auto r = parse_item(f, item, bits);
    if (!r) return r.error();
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return bits;
}

std::string list_text(std::uint64_t bits, unsigned low, unsigned high, bool month_names) {
  std::string out;
  int shown_count = 0;
  for (unsigned v = low; v <= high; ++v) {
    if (!((bits >> v) & 1u)) continue;
    if (shown_count++ == 8) {
      out += ", ...";
      break;
    }
    if (!out.empty()) out += ", ";
    out += month_names ? std::string(kMonthNames[v - 1]) : std::to_string(v);
  }
  return out;
}

// Whether some allowed month has some allowed day of the month. With the OR rule, any weekday
// will do, and every weekday falls on every possible (month, day) sooner or later.
std::optional<Error> never_fires(const Cron& c) {
  if (!c.days_star && !c.weekdays_star) return std::nullopt;
  for (unsigned m = 1; m <= 12; ++m) {
    if (!c.month_matches(m)) continue;
    for (unsigned d = 1; d <= kMaxDays[m]; ++d)
      if ((c.days >> d) & 1u) return std::nullopt;
  }
  Error e = Error::make(ErrorKind::validation,
                        "it never fires: no day-of-month it allows (" + list_text(c.days, 1, 31, false) +
                            ") occurs in a month it allows (" + list_text(c.months, 1, 12, true) + ")");
  e.details = Json{{"field", "day-of-month"}};
  return e;
}

struct Macro {
  std::string_view name;
  std::string_view fields;
};
constexpr std::array<Macro, 7> kMacros = {{{"@yearly", "0 0 1 1 *"},
                                           {"@annually", "0 0 1 1 *"},
                                           {"@monthly", "0 0 1 * *"},
                                           {"@weekly", "0 0 * * 0"},
                                           {"@daily", "0 0 * * *"},
                                           {"@midnight", "0 0 * * *"},
                                           {"@hourly", "0 * * * *"}}};

bool is_space(char c) { return c == ' ' || c == '\t'; }

}  // namespace

bool Cron::day_matches(unsigned day, unsigned weekday) const {
  const bool d = (days >> day) & 1u;
  const bool w = (weekdays >> weekday) & 1u;
  return (days_star || weekdays_star) ? (d && w) : (d || w);
}

Result<Cron> parse_cron(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.empty())
    return Error::make(ErrorKind::validation,
                       "the cron expression is empty; give five fields (minute hour day-of-month month day-of-week), "
                       "e.g. \"0 6 * * 1-5\"");
  if (text.size() > kMaxCronLength)
    return Error::make(ErrorKind::validation, "the cron expression is too long (" + std::to_string(text.size()) +
                                                  " characters; the limit is " + std::to_string(kMaxCronLength) + ")");
  std::string_view fields_text = text;
  if (text.front() == '@') {
    std::string lower;
    for (char c : text) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    fields_text = {};
    for (const auto& m : kMacros)
      if (m.name == lower) fields_text = m.fields;
    if (fields_text.empty()) {
      if (lower == "@reboot")
        return Error::make(ErrorKind::validation, "@reboot is not supported: a schedule fires at times of day, not at start-up");
      return Error::make(ErrorKind::validation, "unknown cron macro '" + shown(text) +
                                                    "' (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or "
                                                    "@hourly)");
    }
  }

  std::vector<std::string_view> parts;
  for (std::size_t i = 0; i < fields_text.size();) {
    while (i < fields_text.size() && is_space(fields_text[i])) ++i;
    const std::size_t start = i;
    while (i < fields_text.size() && !is_space(fields_text[i])) ++i;
    if (i > start) parts.push_back(fields_text.substr(start, i - start));
  }
  if (parts.size() != 5)
    return Error::make(ErrorKind::validation,
                       "cron needs five fields (minute hour day-of-month month day-of-week), e.g. \"0 6 * * 1-5\"; found " +
                           std::to_string(parts.size()) +
                           (parts.size() > 5 ? " (seconds and years are not supported)" : std::string()));

  Cron c;
  c.text = std::string(text);
  std::array<std::uint64_t, 5> bits{};
  for (std::size_t i = 0; i < 5; ++i) {
    auto r = parse_field(kFields[i], parts[i]);
    if (!r) return r.error();
    bits[i] = *r;
  }
  c.minutes = bits[0];
  c.hours = static_cast<std::uint32_t>(bits[1]);
  c.days = static_cast<std::uint32_t>(bits[2]);
  c.months = static_cast<std::uint16_t>(bits[3]);
  c.weekdays = static_cast<std::uint8_t>(bits[4]);
  c.days_star = parts[2].front() == '*';
  c.weekdays_star = parts[4].front() == '*';
  if (auto e = never_fires(c)) return *e;
  return c;
}

}  // namespace spokeflow::schedule
