// Pins which base64 texts the decoder accepts and which it refuses, and what the encoder
// writes, so that swapping the implementation cannot widen or narrow the accepted set.

#include <airlock/util/base64.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace airlock {
namespace {

std::string
bytes(std::initializer_list<unsigned char> values)
{
  return std::string(values.begin(), values.end());
}

TEST(Base64, EncodesTheRfc4648Vectors)
{
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(bytes({0xfb, 0xff})), "+/8=");
  EXPECT_EQ(base64_encode(bytes({0x00, 0x00, 0x00})), "AAAA");
}

TEST(Base64, DecodesPaddedStandardBase64)
{
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(base64_decode("+/8="), bytes({0xfb, 0xff}));
  EXPECT_EQ(base64_decode("////"), bytes({0xff, 0xff, 0xff}));
  EXPECT_EQ(base64_decode("AAAA"), bytes({0x00, 0x00, 0x00}));
}

TEST(Base64, RefusesMissingOrMisplacedPadding)
{
  for (const std::string_view bad : {"Zg", "Zg=", "Zm8", "Zm9vYg", "Zm9vYg=", "Zm9vYmE", "A", "AA", "AAA"}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
  for (const std::string_view bad : {"Zg===", "Zm8==", "Zm9v=", "Zm9v==", "Zm9v====", "Zg==Zm9v", "Z=g=", "Zm=v",
                                     "A===", "=", "==", "===", "====", "=Zm9"}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
}

TEST(Base64, RefusesWhitespace)
{
  for (const std::string_view bad : {" Zm9v", "Zm9v ", "Zm 9v", "Zm9v\n", "Zm9v\r\n", "\tZm9v", "Zm9v\n\n\n\n",
                                     "Zg== ", "Zm\n9v"}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
}

TEST(Base64, RefusesTheUrlAlphabetAndOtherCharacters)
{
  for (const std::string_view bad : {"-_8=", "Zm9-", "Zm9_", "Zm9*", "Zm9.", "Zm9\xc3\xa9", "Zm9vYmF!", "Zm9v%3D%3D"}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
  EXPECT_FALSE(base64_decode(std::string_view("Zm\0v", 4)).has_value());
  EXPECT_FALSE(base64_decode(std::string_view("Zm9v\0\0\0\0", 8)).has_value());
}

TEST(Base64, RefusesBytesOutsideAscii)
{
  // libsodium maps some bytes >= 0x80 to alphabet values (found by fuzz.sigstore): they must
  // be refused, as the hand-written decoder refused them.
  EXPECT_FALSE(base64_decode("aGV\x93" "bG8gd29ybGQhPw=="));
  EXPECT_FALSE(base64_decode("\xc1\xc1\xc1\xc1"));
  for (int byte = 0x80; byte <= 0xff; ++byte) {
    EXPECT_FALSE(base64_decode(std::string(3, 'A') + static_cast<char>(byte))) << byte;
  }
}

TEST(Base64, RefusesTrailingGarbage)
{
  for (const std::string_view bad : {"Zm9v.", "Zm9vYg==x", "Zm9vYg==AAAA", "Zg==Zg==", "Zm9vA"}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
  EXPECT_FALSE(base64_decode(std::string_view("Zm9vYg==\0", 9)).has_value());
}

TEST(Base64, RefusesNonZeroTrailingBits)
{
  // Each byte string has one accepted spelling: the bits after the last byte must be zero.
  for (const std::string_view bad : {"Zh==", "Zm9=", "YR==", "aGVsbG9=", "AB==", "AAB="}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
}

TEST(Base64, EncodesUrlSafeWithoutPadding)
{
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode(bytes({0xfb, 0xff})), "-_8");
  EXPECT_EQ(base64url_encode(std::string(32, '\xff')), std::string(42, '_') + "8");
}

} // namespace
} // namespace airlock
