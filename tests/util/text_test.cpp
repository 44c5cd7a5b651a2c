// Tests of the small shared helpers: lowercase for protocol tokens and hex of bytes.
// (base64 has its own file: its accepted set is pinned there.)
#include <airlock/util/hex.hpp>
#include <airlock/util/text.hpp>

#include <gtest/gtest.h>

#include <array>

namespace airlock {
namespace {

TEST(Lowercase, LowersAsciiLettersOnly)
{
  EXPECT_EQ(lowercase("HTTPS://PyPI.Org/Simple"), "https://pypi.org/simple");
  EXPECT_EQ(lowercase("Text/HTML;Q=0.5"), "text/html;q=0.5");
  EXPECT_EQ(lowercase(""), "");
  EXPECT_EQ(lowercase("\xc3\x89T\xc3\x89"), "\xc3\x89t\xc3\x89"); // UTF-8 bytes are left alone
}

TEST(Hex, WritesTwoLowercaseDigitsPerByte)
{
  const std::array<unsigned char, 4> bytes = {0x00, 0x0f, 0xa0, 0xff};
  EXPECT_EQ(to_hex(bytes), "000fa0ff");
  EXPECT_EQ(to_hex(std::string_view("\x01\xfe", 2)), "01fe");
  EXPECT_EQ(to_hex(std::string_view()), "");
}

} // namespace
} // namespace airlock
