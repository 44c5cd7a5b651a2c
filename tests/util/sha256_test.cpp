#include <airlock/util/sha256.hpp>

#include <gtest/gtest.h>

using airlock::Sha256;
using airlock::Sha256Hasher;

TEST(Sha256, KnownDigestOfEmptyAndAbc)
{
  EXPECT_EQ(Sha256::of("").hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::of("abc").hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, IncrementalEqualsOneShot)
{
  Sha256Hasher hasher;
  hasher.update("a");
  hasher.update("bc");
  EXPECT_EQ(hasher.finish(), Sha256::of("abc"));
}

TEST(Sha256, HexRoundTripAndRejects)
{
  const auto digest = Sha256::of("abc");
  EXPECT_EQ(Sha256::from_hex(digest.hex()), digest);
  EXPECT_EQ(Sha256::from_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"), digest);
  EXPECT_FALSE(Sha256::from_hex("ba78"));
  EXPECT_FALSE(Sha256::from_hex(std::string(63, 'a') + "g"));
}
