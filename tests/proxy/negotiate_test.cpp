#include "http/negotiate.hpp"

#include <gtest/gtest.h>

#include <string>

using airlock::proxy::content_type;
using airlock::proxy::Format;
using airlock::proxy::accepts_gzip;
using airlock::proxy::negotiate;

namespace {

// "json", "html-v1", "html" or "406": short names keep the tables readable.
std::string
pick(std::string_view accept, std::string_view format = {})
{
  const auto result = negotiate(accept, format);
  if (!result) {
    return "406";
  }
  switch (*result) {
  case Format::json_v1:
    return "json";
  case Format::html_v1:
    return "html-v1";
  case Format::html:
    return "html";
  }
  return "?";
}

constexpr std::string_view k_json = "application/vnd.pypi.simple.v1+json";
constexpr std::string_view k_html_v1 = "application/vnd.pypi.simple.v1+html";

} // namespace

TEST(ContentType, EachFormat)
{
  EXPECT_EQ(content_type(Format::html), "text/html; charset=utf-8");
  EXPECT_EQ(content_type(Format::html_v1), "application/vnd.pypi.simple.v1+html");
  EXPECT_EQ(content_type(Format::json_v1), "application/vnd.pypi.simple.v1+json");
}

TEST(Negotiate, NoAcceptOrAnythingGetsHtml)
{
  EXPECT_EQ(pick(""), "html");
  EXPECT_EQ(pick("   "), "html");
  EXPECT_EQ(pick("*/*"), "html");
  EXPECT_EQ(pick("*/*;q=0.8"), "html");
  // Generic clients: nothing of ours named, only the wildcard reaches us.
  EXPECT_EQ(pick("application/json, */*"), "html");
  EXPECT_EQ(pick("text/plain, */*;q=0.1"), "html");
}

TEST(Negotiate, RealClients)
{
  // pip >= 22.2
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; "
                 "q=0.1, text/html; q=0.01"),
            "json");
  // uv
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
                 "text/html;q=0.01"),
            "json");
  // older pip
  EXPECT_EQ(pick("text/html"), "html");
  // a browser
  EXPECT_EQ(pick("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), "html");
  // poetry 1.3 and plain curl
  EXPECT_EQ(pick("*/*"), "html");
}

TEST(Negotiate, ExactTypes)
{
  EXPECT_EQ(pick(k_json), "json");
  EXPECT_EQ(pick(k_html_v1), "html-v1");
  EXPECT_EQ(pick("application/vnd.pypi.simple.latest+json"), "json");
  EXPECT_EQ(pick("application/vnd.pypi.simple.latest+html"), "html-v1");
  EXPECT_EQ(pick("APPLICATION/VND.PYPI.SIMPLE.V1+JSON"), "json");
  EXPECT_EQ(pick("  application/vnd.pypi.simple.v1+json  ;  q=1  "), "json");
  EXPECT_EQ(pick("text/html; charset=utf-8"), "html");
}

TEST(Negotiate, QValuesDecide)
{
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+json;q=0.5, text/html"), "html");
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+json;q=0.5, application/vnd.pypi.simple.v1+html;q=0.6"),
            "html-v1");
  EXPECT_EQ(pick("text/html;q=0.001, application/vnd.pypi.simple.v1+json;q=0.002"), "json");
  EXPECT_EQ(pick("text/html;Q=0.9, application/vnd.pypi.simple.v1+json;q=0.8"), "html");
  EXPECT_EQ(pick("text/html;level=1;q=0.9, application/vnd.pypi.simple.v1+json;q=0.8"), "html");
  // The higher of an alias pair counts.
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+json;q=0.1, "
                 "application/vnd.pypi.simple.latest+json;q=0.9, text/html;q=0.5"),
            "json");
}

TEST(Negotiate, TiesGoToJsonThenHtmlV1ThenHtml)
{
  EXPECT_EQ(pick("text/html, application/vnd.pypi.simple.v1+html, application/vnd.pypi.simple.v1+json"),
            "json");
  EXPECT_EQ(pick("text/html, application/vnd.pypi.simple.v1+html"), "html-v1");
  EXPECT_EQ(pick("application/*"), "json");
  EXPECT_EQ(pick("text/*"), "html");
  EXPECT_EQ(pick("text/*, application/*"), "json");
  // A type the client names beats one it only reaches through a wildcard.
  EXPECT_EQ(pick("text/html, */*"), "html");
  EXPECT_EQ(pick("text/html, application/*"), "html");
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+html, application/*"), "html-v1");
}

TEST(Negotiate, QZeroRefuses)
{
  EXPECT_EQ(pick("text/html;q=0"), "406");
  EXPECT_EQ(pick("*/*;q=0"), "406");
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+json;q=0, text/html;q=0"), "406");
  EXPECT_EQ(pick("*/*, text/html;q=0"), "json");
  EXPECT_EQ(pick("*/*, text/html;q=0, application/vnd.pypi.simple.v1+json;q=0.0"), "html-v1");
  EXPECT_EQ(pick("application/*, application/vnd.pypi.simple.v1+json;q=0"), "html-v1");
  EXPECT_EQ(pick("application/*;q=0, text/*;q=0.1"), "html");
  EXPECT_EQ(pick("*/*;q=0.000"), "406");
}

TEST(Negotiate, NothingWeServe)
{
  EXPECT_EQ(pick("application/json"), "406");
  EXPECT_EQ(pick("application/xml, text/plain"), "406");
  EXPECT_EQ(pick("image/*"), "406");
  EXPECT_EQ(pick("application/vnd.pypi.simple.v2+json"), "406");
}

TEST(Negotiate, MalformedEntriesAreIgnored)
{
  // Bad q-values drop the element rather than being guessed at.
  EXPECT_EQ(pick("text/html;q=abc, application/vnd.pypi.simple.v1+json;q=0.5"), "json");
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+json;q=1.5, text/html;q=0.5"), "html");
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+json;q=0.1234, text/html;q=0.5"), "html");
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+json;q=-1, text/html;q=0.5"), "html");
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+json;q=, text/html;q=0.5"), "html");
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+json;q=1.001, text/html;q=0.5"), "html");
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+json;q=1.000, text/html;q=0.5"), "json");
  // Broken media ranges.
  EXPECT_EQ(pick("json, text/html;q=0.5"), "html");
  EXPECT_EQ(pick("/json, text/html;q=0.5"), "html");
  EXPECT_EQ(pick("application/, text/html;q=0.5"), "html");
  EXPECT_EQ(pick("*/json, text/html;q=0.5"), "html");
  EXPECT_EQ(pick("a/b/c, text/html;q=0.5"), "html");
  EXPECT_EQ(pick(",,, ,text/html;q=0.5,,"), "html");
  EXPECT_EQ(pick("application /vnd.pypi.simple.v1+json, text/html;q=0.5"), "html");
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1+json\"x, text/html;q=0.5"), "html");
  // Only garbage: treated as no Accept at all.
  EXPECT_EQ(pick("garbage"), "html");
  EXPECT_EQ(pick("text/html;q=nope"), "html");
  EXPECT_EQ(pick(",;=,"), "html");
}

TEST(Negotiate, FormatParameterWins)
{
  EXPECT_EQ(pick("text/html", k_json), "json");
  EXPECT_EQ(pick(k_json, k_html_v1), "html-v1");
  EXPECT_EQ(pick(k_json, "text/html"), "html");
  EXPECT_EQ(pick("", "application/vnd.pypi.simple.latest+json"), "json");
  EXPECT_EQ(pick("", "application/vnd.pypi.simple.latest+html"), "html-v1");
  EXPECT_EQ(pick("", "*/*"), "html");
  EXPECT_EQ(pick(k_json, "   "), "json"); // blank means absent
}

TEST(Negotiate, FormatParameterWhosePlusWasFormDecoded)
{
  EXPECT_EQ(pick("text/html", "application/vnd.pypi.simple.v1 json"), "json");
  EXPECT_EQ(pick("", "application/vnd.pypi.simple.latest html"), "html-v1");
  // Only in ?format=: in an Accept header a space inside a type is just malformed.
  EXPECT_EQ(pick("application/vnd.pypi.simple.v1 json"), "html");
}

TEST(Negotiate, UnknownFormatParameterIsNotAcceptable)
{
  EXPECT_EQ(pick("", "json"), "406");
  EXPECT_EQ(pick("text/html", "html"), "406");
  EXPECT_EQ(pick("", "application/json"), "406");
  EXPECT_EQ(pick("", "garbage"), "406");
  EXPECT_EQ(pick("", "text/html;q=0"), "406");
  EXPECT_EQ(pick("", "application/vnd.pypi.simple.v2+json"), "406");
}

TEST(AcceptsGzip, AsClientsSendIt)
{
  EXPECT_TRUE(accepts_gzip("gzip, deflate"));          // requests, pip
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br, zstd")); // uv
  EXPECT_TRUE(accepts_gzip("GZIP"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, gzip;q=0.5"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("deflate, br"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("*, gzip;q=0")) << "naming gzip beats the wildcard";
  EXPECT_FALSE(accepts_gzip("*;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=2")) << "a malformed q-value admits nothing";
  EXPECT_FALSE(accepts_gzip("gzip;level=9"));
}
