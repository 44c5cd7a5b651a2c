// Clocks (system and manual) and the time formats Airlock reads and writes: RFC 3339 and the
// HTTP date.

#include <airlock/util/time.hpp>

#include <fmt/core.h>

#include <charconv>

namespace airlock {

Time
SystemClock::now() const
{
  return std::chrono::floor<Seconds>(std::chrono::system_clock::now());
}

ManualClock::ManualClock(Time start) : m_now(start.time_since_epoch().count())
{
}

Time
ManualClock::now() const
{
  return Time{Seconds{m_now.load()}};
}

void
ManualClock::set(Time t)
{
  m_now.store(t.time_since_epoch().count());
}

void
ManualClock::advance(Seconds d)
{
  m_now.fetch_add(d.count());
}

std::string
format_rfc3339(Time t)
{
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                     static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()),
                     hms.hours().count(),
                     hms.minutes().count(),
                     hms.seconds().count());
}

std::string
format_http_date(Time t)
{
  static constexpr const char* k_days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* k_months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::weekday wd{day};
  const std::chrono::hh_mm_ss hms{t - day};
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
                     k_days[wd.c_encoding()],
                     static_cast<unsigned>(ymd.day()),
                     k_months[static_cast<unsigned>(ymd.month()) - 1],
                     static_cast<int>(ymd.year()),
                     hms.hours().count(),
                     hms.minutes().count(),
                     hms.seconds().count());
}

namespace {

// Reads exactly `width` digits at text[pos].
std::optional<int>
digits(std::string_view text, size_t pos, size_t width)
{
  if (pos + width > text.size()) {
    return std::nullopt;
  }
  int value = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return std::nullopt;
    }
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

} // namespace

std::optional<Time>
parse_rfc3339(std::string_view text)
{
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  const auto year = digits(text, 0, 4);
  const auto month = digits(text, 5, 2);
  const auto mday = digits(text, 8, 2);
  const auto hour = digits(text, 11, 2);
  const auto minute = digits(text, 14, 2);
  const auto second = digits(text, 17, 2);
  if (!year || !month || !mday || !hour || !minute || !second || text[4] != '-'
      || text[7] != '-' || (text[10] != 'T' && text[10] != 't' && text[10] != ' ')
      || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  if (*hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      ++pos;
    }
    if (pos == start) {
      return std::nullopt;
    }
  }
  int offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const auto oh = digits(text, pos + 1, 2);
    const auto om = digits(text, pos + 4, 2);
    if (!oh || !om || text[pos + 3] != ':' || *oh > 23 || *om > 59) {
      return std::nullopt;
    }
    offset_minutes = (*oh * 60 + *om) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else if (pos != text.size()) {
    return std::nullopt;
  }
  // A date-time without a zone is taken as UTC, as PyPI's legacy JSON does.
  if (pos != text.size()) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{*year},
                                        std::chrono::month{static_cast<unsigned>(*month)},
                                        std::chrono::day{static_cast<unsigned>(*mday)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return Time{std::chrono::sys_days{ymd}} + std::chrono::hours{*hour}
         + std::chrono::minutes{*minute - offset_minutes} + Seconds{*second};
}

} // namespace airlock
