#include "http/ranges.hpp"

#include <gtest/gtest.h>

#include <string>

using airlock::proxy::decide_range;
using airlock::proxy::if_range_matches;
using airlock::proxy::RangeAnswer;

namespace {

// "200", "416" or "206 first-last": short strings keep the tables readable.
std::string
decide(std::string_view range, std::uint64_t size = 100)
{
  const auto decision = decide_range(range, size);
  switch (decision.answer) {
  case RangeAnswer::whole:
    return "200";
  case RangeAnswer::unsatisfiable:
    return "416";
  case RangeAnswer::part:
    return "206 " + std::to_string(decision.first) + "-" + std::to_string(decision.last);
  }
  return "?";
}

TEST(Ranges, FirstLast)
{
  EXPECT_EQ(decide("bytes=0-9"), "206 0-9");
  EXPECT_EQ(decide("bytes=10-10"), "206 10-10");
  EXPECT_EQ(decide("bytes=0-99"), "206 0-99");
  EXPECT_EQ(decide("bytes=99-99"), "206 99-99");
}

TEST(Ranges, LastPastTheEndIsClamped)
{
  EXPECT_EQ(decide("bytes=90-100"), "206 90-99");
  EXPECT_EQ(decide("bytes=0-1000000"), "206 0-99");
}

TEST(Ranges, OpenEnded)
{
  EXPECT_EQ(decide("bytes=0-"), "206 0-99");
  EXPECT_EQ(decide("bytes=42-"), "206 42-99");
  EXPECT_EQ(decide("bytes=99-"), "206 99-99");
}

TEST(Ranges, Suffix)
{
  EXPECT_EQ(decide("bytes=-1"), "206 99-99");
  EXPECT_EQ(decide("bytes=-10"), "206 90-99");
  EXPECT_EQ(decide("bytes=-100"), "206 0-99");
  EXPECT_EQ(decide("bytes=-500"), "206 0-99") << "a suffix longer than the file is the whole file";
}

TEST(Ranges, Unsatisfiable)
{
  EXPECT_EQ(decide("bytes=100-"), "416");
  EXPECT_EQ(decide("bytes=100-200"), "416");
  EXPECT_EQ(decide("bytes=5000-"), "416");
  EXPECT_EQ(decide("bytes=-0"), "416");
  EXPECT_EQ(decide("bytes=-000"), "416");
  EXPECT_EQ(decide("bytes=0-", 0), "416");
  EXPECT_EQ(decide("bytes=-5", 0), "416");
}

TEST(Ranges, HugeNumbersSaturate)
{
  // 2^64 - 1, 2^64 and far beyond.
  EXPECT_EQ(decide("bytes=18446744073709551615-"), "416");
  EXPECT_EQ(decide("bytes=18446744073709551616-"), "416");
  EXPECT_EQ(decide("bytes=99999999999999999999999999999999-"), "416");
  EXPECT_EQ(decide("bytes=0-99999999999999999999999999999999"), "206 0-99");
  EXPECT_EQ(decide("bytes=-99999999999999999999999999999999"), "206 0-99");
  EXPECT_EQ(decide("bytes=99999999999999999999999999999999-5"), "200") << "first > last is invalid";
  EXPECT_EQ(decide("bytes=5-18446744073709551615", 18446744073709551615ULL), "206 5-18446744073709551614");
}

TEST(Ranges, InvalidIsIgnored)
{
  EXPECT_EQ(decide(""), "200");
  EXPECT_EQ(decide("bytes="), "200");
  EXPECT_EQ(decide("bytes=-"), "200");
  EXPECT_EQ(decide("bytes"), "200");
  EXPECT_EQ(decide("bytes=5-3"), "200");
  EXPECT_EQ(decide("bytes=5"), "200");
  EXPECT_EQ(decide("bytes=a-9"), "200");
  EXPECT_EQ(decide("bytes=0-9x"), "200");
  EXPECT_EQ(decide("bytes=+1-9"), "200");
  EXPECT_EQ(decide("bytes=-+1"), "200");
  EXPECT_EQ(decide("bytes=0--9"), "200");
  EXPECT_EQ(decide("bytes=1-2-3"), "200");
  EXPECT_EQ(decide("bytes=0x10-"), "200");
  EXPECT_EQ(decide("items=0-1"), "200");
  EXPECT_EQ(decide("byte=0-1"), "200");
  EXPECT_EQ(decide("bytesx=0-1"), "200");
  EXPECT_EQ(decide("=0-1"), "200");
}

TEST(Ranges, UnitIsCaseInsensitive)
{
  EXPECT_EQ(decide("Bytes=0-9"), "206 0-9");
  EXPECT_EQ(decide("BYTES=-5"), "206 95-99");
}

TEST(Ranges, Whitespace)
{
  // Around the field value is not part of it; inside, the grammar allows none.
  EXPECT_EQ(decide("  bytes=0-9\t"), "206 0-9");
  EXPECT_EQ(decide("bytes= 0-9"), "200");
  EXPECT_EQ(decide("bytes =0-9"), "200");
  EXPECT_EQ(decide("bytes=0 -9"), "200");
  EXPECT_EQ(decide("bytes=0- 9"), "200");
  EXPECT_EQ(decide("bytes=- 5"), "200");
}

TEST(Ranges, SeveralRangesGetTheWholeFile)
{
  EXPECT_EQ(decide("bytes=0-1,5-6"), "200");
  EXPECT_EQ(decide("bytes=0-1, 5-6"), "200");
  EXPECT_EQ(decide("bytes=0-9,"), "200");
  EXPECT_EQ(decide("bytes=500-600,0-1"), "200") << "not 416: the whole file is allowed";
}

TEST(Ranges, IfRangeIsAStrongEtagComparison)
{
  const std::string etag = "\"abc123\"";
  EXPECT_TRUE(if_range_matches("\"abc123\"", etag));
  EXPECT_TRUE(if_range_matches(" \"abc123\" ", etag));
  EXPECT_FALSE(if_range_matches("W/\"abc123\"", etag));
  EXPECT_FALSE(if_range_matches("\"abc124\"", etag));
  EXPECT_FALSE(if_range_matches("abc123", etag));
  EXPECT_FALSE(if_range_matches("", etag));
  EXPECT_FALSE(if_range_matches("Tue, 24 Mar 2026 10:00:00 GMT", etag));
}

} // namespace
