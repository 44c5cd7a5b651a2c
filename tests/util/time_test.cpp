#include <airlock/util/time.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

using airlock::format_http_date;
using airlock::format_rfc3339;
using airlock::ManualClock;
using airlock::parse_rfc3339;
using airlock::SystemClock;
using airlock::Time;
using namespace std::chrono_literals;

namespace {

// A UTC time from its parts, independent of the code under test.
Time
utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0)
{
  const std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{mo} / std::chrono::day{d}};
  return Time{day} + std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{s};
}

} // namespace

// --- format_rfc3339 ---------------------------------------------------------------------

TEST(FormatRfc3339, Basics)
{
  EXPECT_EQ(format_rfc3339(Time{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(utc(2026, 3, 24, 10, 39, 0)), "2026-03-24T10:39:00Z");
  EXPECT_EQ(format_rfc3339(utc(2024, 2, 29, 23, 59, 59)), "2024-02-29T23:59:59Z");
  EXPECT_EQ(format_rfc3339(utc(9999, 12, 31, 23, 59, 59)), "9999-12-31T23:59:59Z");
}

TEST(FormatRfc3339, BeforeTheEpoch)
{
  EXPECT_EQ(format_rfc3339(Time{} - 1s), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(utc(1900, 1, 1, 12, 0, 0)), "1900-01-01T12:00:00Z");
}

// --- parse_rfc3339 ----------------------------------------------------------------------

TEST(ParseRfc3339, UtcForms)
{
  const Time expected = utc(2026, 3, 24, 10, 39, 0);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00Z"), expected);
  EXPECT_EQ(parse_rfc3339("2026-03-24t10:39:00z"), expected);
  EXPECT_EQ(parse_rfc3339("2026-03-24 10:39:00Z"), expected);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00+00:00"), expected);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00-00:00"), expected);
  // No zone at all: PyPI's legacy JSON "upload_time" looks like this and means UTC.
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00"), expected);
}

TEST(ParseRfc3339, FractionsAreTruncated)
{
  const Time expected = utc(2026, 3, 24, 10, 39, 0);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00.123456Z"), expected);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00.999999999Z"), expected);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00.5"), expected);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00.0+00:00"), expected);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00.Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00."), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00,5Z"), std::nullopt);
}

TEST(ParseRfc3339, OffsetsConvertToUtc)
{
  EXPECT_EQ(parse_rfc3339("2026-03-24T12:39:00+02:00"), utc(2026, 3, 24, 10, 39, 0));
  EXPECT_EQ(parse_rfc3339("2026-03-24T05:09:00-05:30"), utc(2026, 3, 24, 10, 39, 0));
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00.75+01:00"), utc(2026, 3, 24, 9, 39, 0));
  // Offsets move the date across day, month and year boundaries.
  EXPECT_EQ(parse_rfc3339("2026-03-01T00:30:00+01:00"), utc(2026, 2, 28, 23, 30, 0));
  EXPECT_EQ(parse_rfc3339("2025-12-31T23:30:00-01:00"), utc(2026, 1, 1, 0, 30, 0));
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00+23:59"), utc(2026, 3, 23, 10, 40, 0));
}

TEST(ParseRfc3339, InvalidDates)
{
  EXPECT_EQ(parse_rfc3339("2026-02-30T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2024-02-29T00:00:00Z"), utc(2024, 2, 29));
  EXPECT_EQ(parse_rfc3339("1900-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2000-02-29T00:00:00Z"), utc(2000, 2, 29));
  EXPECT_EQ(parse_rfc3339("2026-04-31T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-13-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-00-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-01-00T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-01-32T00:00:00Z"), std::nullopt);
}

TEST(ParseRfc3339, InvalidTimes)
{
  EXPECT_EQ(parse_rfc3339("2026-03-24T24:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:60:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:61Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00+24:00"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-03-24T10:39:00+01:60"), std::nullopt);
  // A leap second is legal RFC 3339; it lands on the next minute.
  EXPECT_EQ(parse_rfc3339("2016-12-31T23:59:60Z"), utc(2017, 1, 1));
}

TEST(ParseRfc3339, Garbage)
{
  for (const char* text : {"",
                           "garbage",
                           "2026-03-24",
                           "2026-03-24T10:39Z",
                           "2026-03-24T10:39:0Z",
                           "2026-3-24T10:39:00Z",
                           "26-03-24T10:39:00Z",
                           "2026/03/24T10:39:00Z",
                           "2026-03-24X10:39:00Z",
                           "2026-03-24T10-39-00Z",
                           "2026-03-24T10:39:00ZZ",
                           "2026-03-24T10:39:00Z ",
                           " 2026-03-24T10:39:00Z",
                           "2026-03-24T10:39:00+0100",
                           "2026-03-24T10:39:00+01",
                           "2026-03-24T10:39:00+01:0",
                           "2026-03-24T10:39:00+01:00junk",
                           "2026-03-24T10:39:00 UTC",
                           "+2026-03-24T10:39:00Z",
                           "２０２６-03-24T10:39:00Z",
                           "Sun, 06 Nov 1994 08:49:37 GMT"}) {
    EXPECT_EQ(parse_rfc3339(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(ParseRfc3339, RoundTripsWithFormat)
{
  for (const Time t : {Time{}, utc(2026, 3, 24, 10, 39, 0), utc(2000, 2, 29, 23, 59, 59), utc(1969, 7, 20, 20, 17)}) {
    EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t) << format_rfc3339(t);
  }
}

// --- format_http_date -------------------------------------------------------------------

TEST(FormatHttpDate, ImfFixdate)
{
  // The example of RFC 9110 section 5.6.7.
  EXPECT_EQ(format_http_date(utc(1994, 11, 6, 8, 49, 37)), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(Time{}), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(utc(2026, 3, 24, 10, 39, 0)), "Tue, 24 Mar 2026 10:39:00 GMT");
  EXPECT_EQ(format_http_date(utc(2024, 2, 29, 23, 59, 59)), "Thu, 29 Feb 2024 23:59:59 GMT");
  EXPECT_EQ(format_http_date(utc(2026, 12, 5, 0, 0, 0)), "Sat, 05 Dec 2026 00:00:00 GMT");
  EXPECT_EQ(format_http_date(utc(2026, 6, 1, 0, 0, 0)), "Mon, 01 Jun 2026 00:00:00 GMT");
  EXPECT_EQ(format_http_date(utc(2026, 7, 1, 0, 0, 0)), "Wed, 01 Jul 2026 00:00:00 GMT");
  EXPECT_EQ(format_http_date(utc(2026, 1, 2, 0, 0, 0)), "Fri, 02 Jan 2026 00:00:00 GMT");
}

// --- clocks -----------------------------------------------------------------------------

TEST(ManualClock, SetAndAdvance)
{
  ManualClock clock(utc(2026, 3, 24, 10, 39, 0));
  EXPECT_EQ(clock.now(), utc(2026, 3, 24, 10, 39, 0));
  EXPECT_EQ(clock.now(), clock.now());
  clock.advance(std::chrono::days{7});
  EXPECT_EQ(clock.now(), utc(2026, 3, 31, 10, 39, 0));
  clock.advance(-1h);
  EXPECT_EQ(clock.now(), utc(2026, 3, 31, 9, 39, 0));
  clock.set(Time{});
  EXPECT_EQ(clock.now(), Time{});
  clock.set(utc(1969, 7, 20));
  EXPECT_EQ(clock.now(), utc(1969, 7, 20));
}

TEST(ManualClock, ConcurrentAdvancesAllCount)
{
  ManualClock clock(Time{});
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&clock] {
      for (int j = 0; j < 1000; ++j) {
        clock.advance(1s);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(clock.now(), Time{} + 4000s);
}

TEST(SystemClock, WholeSecondsNearTheSystemTime)
{
  const SystemClock clock;
  const auto before = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const Time now = clock.now();
  const auto after = std::chrono::system_clock::now();
  EXPECT_GE(now, before);
  EXPECT_LE(now, after);
  EXPECT_GT(now, utc(2024, 1, 1));
}
