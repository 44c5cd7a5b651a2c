#include <airlock/util/units.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

using airlock::format_duration;
using airlock::parse_duration;
using airlock::parse_size;
using namespace std::chrono_literals;

namespace {

// The error message for a duration that must not parse.
std::string
duration_error(std::string_view text)
{
  const auto result = parse_duration(text);
  return result ? "parsed" : result.error();
}

std::string
size_error(std::string_view text)
{
  const auto result = parse_size(text);
  return result ? "parsed" : result.error();
}

const std::string k_duration_units = "unit must be s, m, h or d (as in 30s, 10m, 36h, 7d)";
const std::string k_size_units = "unit must be B, KiB, MiB, GiB, TiB, KB, MB, GB or TB";

} // namespace

TEST(ParseDuration, EachUnit)
{
  EXPECT_EQ(parse_duration("30s"), 30s);
  EXPECT_EQ(parse_duration("10m"), 10min);
  EXPECT_EQ(parse_duration("36h"), 36h);
  EXPECT_EQ(parse_duration("7d"), std::chrono::days{7});
  EXPECT_EQ(parse_duration("0s"), 0s);
  EXPECT_EQ(parse_duration("0d"), 0s);
  EXPECT_EQ(parse_duration("007m"), 7min);
}

TEST(ParseDuration, UpToOneHundredYears)
{
  const auto hundred_years = std::chrono::seconds{100LL * 365 * 86400};
  EXPECT_EQ(parse_duration("36500d"), hundred_years);
  EXPECT_EQ(parse_duration("3153600000s"), hundred_years);
  EXPECT_EQ(duration_error("36501d"), "invalid duration \"36501d\": longer than 100 years");
  EXPECT_EQ(duration_error("3153600001s"), "invalid duration \"3153600001s\": longer than 100 years");
  // Large enough that value * 86400 would wrap a uint64: the cap must be checked before multiplying.
  EXPECT_EQ(duration_error("213503982334602d"), "invalid duration \"213503982334602d\": longer than 100 years");
}

TEST(ParseDuration, Overflow)
{
  EXPECT_EQ(duration_error("18446744073709551616s"), "invalid duration \"18446744073709551616s\": number too large");
  EXPECT_EQ(duration_error("99999999999999999999999d"),
            "invalid duration \"99999999999999999999999d\": number too large");
}

TEST(ParseDuration, MissingOrWrongUnit)
{
  EXPECT_EQ(duration_error("7"), "invalid duration \"7\": " + k_duration_units);
  EXPECT_EQ(duration_error("7 d"), "invalid duration \"7 d\": " + k_duration_units);
  EXPECT_EQ(duration_error("7x"), "invalid duration \"7x\": " + k_duration_units);
  EXPECT_EQ(duration_error("7D"), "invalid duration \"7D\": " + k_duration_units);
  EXPECT_EQ(duration_error("7w"), "invalid duration \"7w\": " + k_duration_units);
  EXPECT_EQ(duration_error("7ms"), "invalid duration \"7ms\": " + k_duration_units);
  EXPECT_EQ(duration_error("7d "), "invalid duration \"7d \": " + k_duration_units);
  EXPECT_EQ(duration_error("1h30m"), "invalid duration \"1h30m\": " + k_duration_units);
  EXPECT_EQ(duration_error("1.5h"), "invalid duration \"1.5h\": " + k_duration_units);
}

TEST(ParseDuration, MissingNumber)
{
  EXPECT_EQ(duration_error(""), "invalid duration \"\": expected a number and a unit");
  EXPECT_EQ(duration_error("d"), "invalid duration \"d\": expected a number and a unit");
  EXPECT_EQ(duration_error("-7d"), "invalid duration \"-7d\": expected a number and a unit");
  EXPECT_EQ(duration_error("+7d"), "invalid duration \"+7d\": expected a number and a unit");
  EXPECT_EQ(duration_error(" 7d"), "invalid duration \" 7d\": expected a number and a unit");
  EXPECT_EQ(duration_error("seven days"), "invalid duration \"seven days\": expected a number and a unit");
}

TEST(ParseSize, EachUnit)
{
  EXPECT_EQ(parse_size("0"), 0U);
  EXPECT_EQ(parse_size("1024"), 1024U);
  EXPECT_EQ(parse_size("1B"), 1U);
  EXPECT_EQ(parse_size("2KiB"), 2048U);
  EXPECT_EQ(parse_size("512MiB"), 512ULL << 20);
  EXPECT_EQ(parse_size("32GiB"), 32ULL << 30);
  EXPECT_EQ(parse_size("3TiB"), 3ULL << 40);
  EXPECT_EQ(parse_size("2KB"), 2000U);
  EXPECT_EQ(parse_size("5MB"), 5000000U);
  EXPECT_EQ(parse_size("7GB"), 7000000000U);
  EXPECT_EQ(parse_size("9TB"), 9000000000000U);
}

TEST(ParseSize, LargestAndOverflow)
{
  EXPECT_EQ(parse_size("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(parse_size("16777215TiB"), 16777215ULL << 40);
  EXPECT_EQ(size_error("16777216TiB"), "invalid size \"16777216TiB\": too large");
  EXPECT_EQ(size_error("18446744073709551615KB"), "invalid size \"18446744073709551615KB\": too large");
  EXPECT_EQ(size_error("18446744073709551616"), "invalid size \"18446744073709551616\": number too large");
}

TEST(ParseSize, BadUnitOrNumber)
{
  EXPECT_EQ(size_error("1 GiB"), "invalid size \"1 GiB\": " + k_size_units);
  EXPECT_EQ(size_error("1gib"), "invalid size \"1gib\": " + k_size_units);
  EXPECT_EQ(size_error("1G"), "invalid size \"1G\": " + k_size_units);
  EXPECT_EQ(size_error("1.5GiB"), "invalid size \"1.5GiB\": " + k_size_units);
  EXPECT_EQ(size_error(""), "invalid size \"\": expected a number and a unit");
  EXPECT_EQ(size_error("-1GiB"), "invalid size \"-1GiB\": expected a number and a unit");
  EXPECT_EQ(size_error("GiB"), "invalid size \"GiB\": expected a number and a unit");
}

TEST(FormatDuration, TwoLargestUnits)
{
  EXPECT_EQ(format_duration(0s), "0s");
  EXPECT_EQ(format_duration(42s), "42s");
  EXPECT_EQ(format_duration(59s), "59s");
  EXPECT_EQ(format_duration(60s), "1m 0s");
  EXPECT_EQ(format_duration(3min + 5s), "3m 5s");
  EXPECT_EQ(format_duration(3h + 5min + 59s), "3h 5m");
  EXPECT_EQ(format_duration(24h), "1d 0h");
  EXPECT_EQ(format_duration(std::chrono::days{6} + 22h + 59min), "6d 22h");
  EXPECT_EQ(format_duration(std::chrono::days{36500}), "36500d 0h");
}

TEST(FormatDuration, Negative)
{
  EXPECT_EQ(format_duration(-42s), "-42s");
  EXPECT_EQ(format_duration(-(3h + 5min)), "-3h 5m");
  EXPECT_EQ(format_duration(-std::chrono::days{2}), "-2d 0h");
}

TEST(FormatDuration, Extremes)
{
  EXPECT_EQ(format_duration(std::chrono::seconds::max()), "106751991167300d 15h");
  // The most negative count has no positive counterpart in int64; it must not overflow.
  EXPECT_EQ(format_duration(std::chrono::seconds::min()), "-106751991167300d 15h");
}

TEST(FormatDuration, OfParsedDurations)
{
  EXPECT_EQ(format_duration(*parse_duration("7d")), "7d 0h");
  EXPECT_EQ(format_duration(*parse_duration("90m")), "1h 30m");
  EXPECT_EQ(format_duration(*parse_duration("3600s")), "1h 0m");
}
