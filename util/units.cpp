// Durations and sizes as operators write them in the configuration ("36h", "32GiB"), and
// durations formatted for humans.

#include <airlock/util/units.hpp>

#include <fmt/core.h>

#include <charconv>
#include <limits>

namespace airlock {

namespace {

// Splits "36h" into 36 and "h"; the number must be a plain non-negative integer.
Expected<std::pair<std::uint64_t, std::string_view>>
split_number(std::string_view text, std::string_view what)
{
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ptr == text.data()) {
    return make_unexpected(fmt::format("invalid {} \"{}\": expected a number and a unit", what, text));
  }
  if (ec == std::errc::result_out_of_range) {
    return make_unexpected(fmt::format("invalid {} \"{}\": number too large", what, text));
  }
  return std::pair{value, std::string_view(ptr, static_cast<size_t>(end - ptr))};
}

} // namespace

Expected<std::chrono::seconds>
parse_duration(std::string_view text)
{
  auto split = split_number(text, "duration");
  if (!split) {
    return make_unexpected(split.error());
  }
  const auto [value, unit] = *split;
  std::uint64_t factor = 0;
  if (unit == "s") {
    factor = 1;
  } else if (unit == "m") {
    factor = 60;
  } else if (unit == "h") {
    factor = 3600;
  } else if (unit == "d") {
    factor = 86400;
  } else {
    return make_unexpected(
      fmt::format("invalid duration \"{}\": unit must be s, m, h or d (as in 30s, 10m, 36h, 7d)", text));
  }
  // Cap at 100 years: larger windows are typos, and the arithmetic stays far from overflow.
  if (value > 100ULL * 365 * 86400 / factor) {
    return make_unexpected(fmt::format("invalid duration \"{}\": longer than 100 years", text));
  }
  return std::chrono::seconds{static_cast<std::int64_t>(value * factor)};
}

Expected<std::uint64_t>
parse_size(std::string_view text)
{
  auto split = split_number(text, "size");
  if (!split) {
    return make_unexpected(split.error());
  }
  const auto [value, unit] = *split;
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "B") {
    factor = 1;
  } else if (unit == "KiB") {
    factor = 1ULL << 10;
  } else if (unit == "MiB") {
    factor = 1ULL << 20;
  } else if (unit == "GiB") {
    factor = 1ULL << 30;
  } else if (unit == "TiB") {
    factor = 1ULL << 40;
  } else if (unit == "KB") {
    factor = 1000;
  } else if (unit == "MB") {
    factor = 1000ULL * 1000;
  } else if (unit == "GB") {
    factor = 1000ULL * 1000 * 1000;
  } else if (unit == "TB") {
    factor = 1000ULL * 1000 * 1000 * 1000;
  } else {
    return make_unexpected(
      fmt::format("invalid size \"{}\": unit must be B, KiB, MiB, GiB, TiB, KB, MB, GB or TB", text));
  }
  if (value > std::numeric_limits<std::uint64_t>::max() / factor) {
    return make_unexpected(fmt::format("invalid size \"{}\": too large", text));
  }
  return value * factor;
}

std::string
format_duration(std::chrono::seconds d)
{
  const bool negative = d.count() < 0;
  // Negate in unsigned arithmetic: -INT64_MIN does not fit in an int64.
  const auto magnitude = static_cast<std::uint64_t>(d.count());
  const std::uint64_t s = negative ? 0 - magnitude : magnitude;
  const std::uint64_t days = s / 86400;
  const std::uint64_t hours = s % 86400 / 3600;
  const std::uint64_t minutes = s % 3600 / 60;
  const std::uint64_t seconds = s % 60;
  std::string out = negative ? "-" : "";
  if (days > 0) {
    out += fmt::format("{}d {}h", days, hours);
  } else if (hours > 0) {
    out += fmt::format("{}h {}m", hours, minutes);
  } else if (minutes > 0) {
    out += fmt::format("{}m {}s", minutes, seconds);
  } else {
    out += fmt::format("{}s", seconds);
  }
  return out;
}

} // namespace airlock
