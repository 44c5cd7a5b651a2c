#include "upstream/simple_parse.hpp"
#include "upstream/upstream_client.hpp"
#include "upstream/url.hpp"

#include <airlock/policy/filename.hpp>

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

using airlock::parse_rfc3339;
using airlock::Sha256;
using airlock::proxy::k_max_files_per_page;
using airlock::proxy::k_max_upstream_page;
using airlock::proxy::parse_html_page;
using airlock::proxy::parse_json_page;
using airlock::proxy::UpstreamPage;

namespace {

const std::string k_page_url = "https://pypi.org/simple/litellm/";
const std::string k_wheel = "litellm-1.82.6-py3-none-any.whl";
const std::string k_wheel_url =
  "https://files.pythonhosted.org/packages/a1/b2/litellm-1.82.6-py3-none-any.whl";

std::string
hex_of(std::string_view seed)
{
  return Sha256::of(seed).hex();
}

Sha256
sha_of(std::string_view seed)
{
  return Sha256::of(seed);
}

bool
contains(std::string_view haystack, std::string_view needle)
{
  return haystack.find(needle) != std::string_view::npos;
}

// The one skipped line, or a description of what was there instead.
std::string
only_skip(const UpstreamPage& page)
{
  if (page.skipped.size() != 1) {
    return std::to_string(page.skipped.size()) + " skipped lines";
  }
  return page.skipped[0];
}

// ---- JSON building -----------------------------------------------------------------------------

// A PyPI-like file entry as raw JSON members; an override of std::nullopt removes the member.
std::string
json_file(const std::map<std::string, std::optional<std::string>>& overrides = {})
{
  std::map<std::string, std::optional<std::string>> fields = {
    {"filename", "\"" + k_wheel + "\""},
    {"url", "\"" + k_wheel_url + "\""},
    {"hashes", "{\"sha256\":\"" + hex_of("wheel") + "\",\"md5\":\"abc\"}"},
    {"requires-python", "\">=3.8\""},
    {"size", "123456"},
    {"upload-time", "\"2026-03-20T09:00:00.123456Z\""},
    {"yanked", "false"},
    {"core-metadata", "{\"sha256\":\"" + hex_of("metadata") + "\"}"},
    {"data-dist-info-metadata", "{\"sha256\":\"" + hex_of("metadata") + "\"}"},
    {"provenance", "null"},
  };
  for (const auto& [key, value] : overrides) {
    fields[key] = value;
  }
  std::string out = "{";
  for (const auto& [key, value] : fields) {
    if (!value) {
      continue;
    }
    if (out.size() > 1) {
      out += ",";
    }
    out += "\"" + key + "\":" + *value;
  }
  return out + "}";
}

std::string
json_page(const std::string& files, const std::string& extra = "")
{
  return R"({"meta":{"api-version":"1.1","_last-serial":42},"name":"litellm",)" + extra
         + R"("files":[)" + files + "]}";
}

UpstreamPage
parse_json_ok(const std::string& body)
{
  auto page = parse_json_page(body, k_page_url, "litellm");
  EXPECT_TRUE(page.has_value()) << (page ? "" : page.error());
  return page ? std::move(*page) : UpstreamPage{};
}

std::string
json_error(const std::string& body)
{
  const auto page = parse_json_page(body, k_page_url, "litellm");
  return page ? "parsed" : page.error();
}

// Parses a page of one entry and returns the skip reason, or "kept".
std::string
json_skip_reason(const std::map<std::string, std::optional<std::string>>& overrides)
{
  const auto page = parse_json_ok(json_page(json_file(overrides)));
  if (page.files.size() == 1 && page.skipped.empty()) {
    return "kept";
  }
  return only_skip(page);
}

// ---- HTML building -----------------------------------------------------------------------------

std::string
html_page(const std::string& anchors, const std::string& head = "")
{
  return "<!DOCTYPE html>\n<html>\n  <head>\n"
         "    <meta name=\"pypi:repository-version\" content=\"1.4\">\n"
         + head + "    <title>Links for litellm</title>\n  </head>\n  <body>\n"
         + "    <h1>Links for litellm</h1>\n" + anchors + "  </body>\n</html>\n<!--SERIAL 42-->\n";
}

std::string
html_anchor(const std::string& filename, const std::string& attributes = "")
{
  return "<a href=\"https://files.pythonhosted.org/packages/a1/b2/" + filename
         + "#sha256=" + hex_of(filename) + "\"" + attributes + ">" + filename + "</a><br />\n";
}

UpstreamPage
parse_html_ok(const std::string& body)
{
  auto page = parse_html_page(body, k_page_url, "litellm");
  EXPECT_TRUE(page.has_value()) << (page ? "" : page.error());
  return page ? std::move(*page) : UpstreamPage{};
}

} // namespace

// ================================ JSON ===========================================================

TEST(ParseJsonPage, PypiLikePage)
{
  const auto sdist = json_file({{"filename", "\"litellm-1.82.6.tar.gz\""},
                                {"url", "\"https://files.pythonhosted.org/p/litellm-1.82.6.tar.gz\""},
                                {"hashes", "{\"sha256\":\"" + hex_of("sdist") + "\"}"},
                                {"requires-python", "null"},
                                {"size", "999"},
                                {"upload-time", "\"2026-03-20T09:01:00Z\""},
                                {"yanked", "\"broken build\""},
                                {"core-metadata", "false"},
                                {"data-dist-info-metadata", "false"}});
  const auto page = parse_json_ok(json_page(
    json_file() + "," + sdist,
    R"("project-status":{"status":"quarantined","reason":"malware found"},"versions":["1.82.6"],)"));

  ASSERT_EQ(page.files.size(), 2u);
  EXPECT_TRUE(page.skipped.empty());
  EXPECT_EQ(page.status, "quarantined");
  EXPECT_EQ(page.status_reason, "malware found");

  const auto& wheel = page.files[0];
  EXPECT_EQ(wheel.project, "litellm");
  EXPECT_EQ(wheel.filename, k_wheel);
  EXPECT_EQ(wheel.version, "1.82.6");
  EXPECT_EQ(wheel.sha256, sha_of("wheel"));
  EXPECT_EQ(wheel.size, 123456u);
  EXPECT_EQ(wheel.upload_time, parse_rfc3339("2026-03-20T09:00:00Z"));
  EXPECT_EQ(wheel.requires_python, ">=3.8");
  EXPECT_EQ(wheel.yanked, std::nullopt);
  EXPECT_EQ(wheel.core_metadata, sha_of("metadata"));
  EXPECT_EQ(wheel.url, k_wheel_url);
  EXPECT_EQ(wheel.first_seen, airlock::Time{});
  EXPECT_EQ(wheel.removed_upstream, std::nullopt);

  const auto& tarball = page.files[1];
  EXPECT_EQ(tarball.filename, "litellm-1.82.6.tar.gz");
  EXPECT_EQ(tarball.version, "1.82.6");
  EXPECT_EQ(tarball.sha256, sha_of("sdist"));
  EXPECT_EQ(tarball.size, 999u);
  EXPECT_EQ(tarball.requires_python, "");
  EXPECT_EQ(tarball.yanked, "broken build");
  EXPECT_EQ(tarball.core_metadata, std::nullopt);
}

TEST(ParseJsonPage, MinimalEntryAndEmptyPage)
{
  const auto minimal = R"({"filename":"litellm-1.0.tar.gz","url":"https://h/litellm-1.0.tar.gz",)"
                       R"("hashes":{"sha256":")"
                       + hex_of("x") + "\"}}";
  const auto page = parse_json_ok(json_page(minimal));
  ASSERT_EQ(page.files.size(), 1u);
  EXPECT_EQ(page.files[0].size, 0u);
  EXPECT_EQ(page.files[0].upload_time, std::nullopt);
  EXPECT_EQ(page.files[0].requires_python, "");
  EXPECT_EQ(page.files[0].yanked, std::nullopt);
  EXPECT_EQ(page.files[0].core_metadata, std::nullopt);
  EXPECT_EQ(page.status, "");

  const auto empty = parse_json_ok(R"({"meta":{"api-version":"1.0"},"files":[]})");
  EXPECT_TRUE(empty.files.empty());
  EXPECT_TRUE(empty.skipped.empty());
}

TEST(ParseJsonPage, UppercaseHashIsAccepted)
{
  auto upper = hex_of("wheel");
  for (auto& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  const auto page = parse_json_ok(json_page(json_file({{"hashes", "{\"sha256\":\"" + upper + "\"}"}})));
  ASSERT_EQ(page.files.size(), 1u);
  EXPECT_EQ(page.files[0].sha256, sha_of("wheel"));
}

TEST(ParseJsonPage, Yanked)
{
  const auto yanked = [](const std::string& value) {
    const auto page = parse_json_ok(json_page(json_file({{"yanked", value}})));
    return page.files.empty() ? std::optional<std::string>("<skipped>") : page.files[0].yanked;
  };
  EXPECT_EQ(yanked("false"), std::nullopt);
  EXPECT_EQ(yanked("null"), std::nullopt);
  EXPECT_EQ(yanked("true"), "");
  EXPECT_EQ(yanked("\"\""), "");
  EXPECT_EQ(yanked("\"CVE-2026-0001\""), "CVE-2026-0001");
  EXPECT_EQ(yanked("1"), "<skipped>");
  EXPECT_EQ(yanked("{}"), "<skipped>");
}

TEST(ParseJsonPage, CoreMetadataOnlyWhenItCanBeVerified)
{
  const auto metadata = [](const std::map<std::string, std::optional<std::string>>& fields) {
    auto all = fields;
    all.try_emplace("core-metadata", std::nullopt);
    all.try_emplace("data-dist-info-metadata", std::nullopt);
    const auto page = parse_json_ok(json_page(json_file(all)));
    EXPECT_EQ(page.files.size(), 1u);
    return page.files.empty() ? std::nullopt : page.files[0].core_metadata;
  };
  const auto good = "{\"sha256\":\"" + hex_of("m") + "\"}";
  EXPECT_EQ(metadata({{"core-metadata", good}}), sha_of("m"));
  EXPECT_EQ(metadata({{"data-dist-info-metadata", good}}), sha_of("m"));
  EXPECT_EQ(metadata({{"dist-info-metadata", good}}), sha_of("m"));
  // PEP 714: the new name wins over the legacy one.
  EXPECT_EQ(metadata({{"core-metadata", good},
                      {"data-dist-info-metadata", "{\"sha256\":\"" + hex_of("old") + "\"}"}}),
            sha_of("m"));
  EXPECT_EQ(metadata({{"core-metadata", "true"}}), std::nullopt);
  EXPECT_EQ(metadata({{"core-metadata", "false"}}), std::nullopt);
  EXPECT_EQ(metadata({{"core-metadata", "{}"}}), std::nullopt);
  EXPECT_EQ(metadata({{"core-metadata", "{\"md5\":\"abc\"}"}}), std::nullopt);
  EXPECT_EQ(metadata({{"core-metadata", "{\"sha256\":\"abc\"}"}}), std::nullopt);
  EXPECT_EQ(metadata({{"core-metadata", "{\"sha256\":5}"}}), std::nullopt);
  EXPECT_EQ(metadata({{"core-metadata", "\"yes\""}}), std::nullopt);
  EXPECT_EQ(metadata({{"core-metadata", "[1]"}}), std::nullopt);
}

TEST(ParseJsonPage, ProvenanceKey)
{
  // PEP 740: a URL (resolved against the page), null for none, or nothing said.
  const auto provenance = [](std::optional<std::string> value) {
    const auto page = parse_json_ok(json_page(json_file({{"provenance", value}})));
    EXPECT_EQ(page.files.size(), 1u) << only_skip(page);
    return page.files.empty() ? std::optional<std::string>("<skipped>") : page.files[0].provenance_url;
  };
  EXPECT_EQ(provenance(std::nullopt), std::nullopt);
  EXPECT_EQ(provenance("null"), "");
  EXPECT_EQ(provenance("\"https://pypi.org/integrity/litellm/1.82.6/" + k_wheel + "/provenance\""),
            "https://pypi.org/integrity/litellm/1.82.6/" + k_wheel + "/provenance");
  EXPECT_EQ(provenance("\"../../integrity/x/provenance\""), "https://pypi.org/integrity/x/provenance");
  // Present but unusable: the entry is suspect, as with the other fields.
  EXPECT_TRUE(contains(json_skip_reason({{"provenance", "5"}}), "\"provenance\" is neither a URL nor null"));
  EXPECT_TRUE(contains(json_skip_reason({{"provenance", "{}"}}), "\"provenance\""));
  EXPECT_TRUE(contains(json_skip_reason({{"provenance", "\"ftp://pypi.org/p\""}}), "not http(s)"));
}

TEST(ParseJsonPage, RelativeUrlsResolveAgainstThePage)
{
  const auto url = [](const std::string& ref) {
    const auto page = parse_json_ok(json_page(json_file({{"url", "\"" + ref + "\""}})));
    return page.files.empty() ? "<skipped: " + only_skip(page) + ">" : page.files[0].url;
  };
  EXPECT_EQ(url("../../packages/x/" + k_wheel), "https://pypi.org/packages/x/" + k_wheel);
  EXPECT_EQ(url("/packages/" + k_wheel), "https://pypi.org/packages/" + k_wheel);
  EXPECT_EQ(url(k_wheel), "https://pypi.org/simple/litellm/" + k_wheel);
  EXPECT_EQ(url("//cdn.example.org/" + k_wheel), "https://cdn.example.org/" + k_wheel);
  EXPECT_EQ(url("http://mirror.example.org/" + k_wheel), "http://mirror.example.org/" + k_wheel);
  EXPECT_EQ(url("HTTPS://Mirror.example.org/" + k_wheel), "HTTPS://Mirror.example.org/" + k_wheel);
  // The fragment is not part of the file's URL.
  EXPECT_EQ(url(k_wheel_url + "#sha256=" + hex_of("wheel")), k_wheel_url);
  EXPECT_EQ(url(k_wheel_url + "?token=1"), k_wheel_url + "?token=1");
}

TEST(ParseJsonPage, NonHttpUrlsAreSkipped)
{
  for (const auto* url : {"javascript:alert(1)",
                          "JavaScript:alert(1)",
                          "data:application/zip;base64,AAAA",
                          "file:///etc/passwd",
                          "ftp://files.example.org/x.whl",
                          "gopher://x/",
                          "http:///no-host.whl",
                          "http://exa mple.org/x.whl",
                          "https://[::1"}) {
    const auto page = parse_json_ok(json_page(json_file({{"url", std::string("\"") + url + "\""}})));
    EXPECT_TRUE(page.files.empty()) << url;
    EXPECT_EQ(page.skipped.size(), 1u) << url;
  }
  EXPECT_TRUE(contains(json_skip_reason({{"url", "\"javascript:alert(1)\""}}),
                       "URL scheme is not http(s)"));
  EXPECT_TRUE(contains(json_skip_reason({{"url", "\"http:///x\""}}), "no host"));
  EXPECT_TRUE(contains(json_skip_reason({{"url", "\"https://" + std::string(9000, 'a') + "\""}}),
                       "URL longer than 8192 bytes"));
}

TEST(ParseJsonPage, BadHashesAreSkipped)
{
  EXPECT_EQ(json_skip_reason({{"hashes", "{\"md5\":\"d41d8cd98f00b204e9800998ecf8427e\"}"}}),
            "\"" + k_wheel + "\": no sha256 hash");
  EXPECT_EQ(json_skip_reason({{"hashes", "{}"}}), "\"" + k_wheel + "\": no sha256 hash");
  EXPECT_EQ(json_skip_reason({{"hashes", std::nullopt}}),
            "\"" + k_wheel + "\": \"hashes\" missing or not an object");
  EXPECT_EQ(json_skip_reason({{"hashes", "\"" + hex_of("wheel") + "\""}}),
            "\"" + k_wheel + "\": \"hashes\" missing or not an object");
  const std::string invalid = "\"" + k_wheel + "\": invalid sha256 hash";
  EXPECT_EQ(json_skip_reason({{"hashes", "{\"sha256\":\"abc\"}"}}), invalid);
  EXPECT_EQ(json_skip_reason({{"hashes", "{\"sha256\":\"" + std::string(64, 'g') + "\"}"}}),
            invalid);
  EXPECT_EQ(json_skip_reason({{"hashes", "{\"sha256\":\"" + hex_of("w") + "00\"}"}}), invalid);
  EXPECT_EQ(json_skip_reason({{"hashes", "{\"sha256\":\" " + hex_of("w").substr(1) + "\"}"}}),
            invalid);
  EXPECT_EQ(json_skip_reason({{"hashes", "{\"sha256\":12345}"}}), invalid);
  EXPECT_EQ(json_skip_reason({{"hashes", "{\"sha256\":null}"}}), invalid);
}

TEST(ParseJsonPage, WrongTypesSkipTheEntry)
{
  // Every field that is present with the wrong type makes the entry suspect.
  const std::vector<std::pair<std::string, std::string>> cases = {
    {"url", "42"},
    {"url", "null"},
    {"url", "[\"https://h/x.whl\"]"},
    {"hashes", "[]"},
    {"size", "\"123\""},
    {"size", "-1"},
    {"size", "1.5"},
    {"size", "true"},
    {"size", "{}"},
    {"upload-time", "1700000000"},
    {"upload-time", "\"yesterday\""},
    {"upload-time", "\"2026-02-30T00:00:00Z\""},
    {"requires-python", "3"},
    {"requires-python", "[\">=3\"]"},
    {"requires-python", "\"" + std::string(1025, '>') + "\""},
    {"yanked", "0"},
    {"yanked", "[]"},
  };
  for (const auto& [key, value] : cases) {
    const auto reason = json_skip_reason({{key, value}});
    EXPECT_NE(reason, "kept") << key << "=" << value;
    EXPECT_TRUE(contains(reason, key)) << key << "=" << value << ": " << reason;
  }
  for (const auto& filename : {"42", "null", "{}", "[\"x\"]"}) {
    EXPECT_EQ(json_skip_reason({{"filename", filename}}),
              "file #0: \"filename\" missing or not a string");
  }
  EXPECT_EQ(json_skip_reason({{"filename", std::nullopt}}),
            "file #0: \"filename\" missing or not a string");
  // Null is absent for the optional fields.
  EXPECT_EQ(json_skip_reason({{"size", "null"}, {"upload-time", "null"}, {"yanked", "null"}}),
            "kept");
}

TEST(ParseJsonPage, EntriesThatAreNotObjectsAreSkipped)
{
  const auto page = parse_json_ok(json_page("1,\"x\",null,[]," + json_file()));
  ASSERT_EQ(page.files.size(), 1u);
  ASSERT_EQ(page.skipped.size(), 4u);
  EXPECT_EQ(page.skipped[0], "file #0: not an object");
  EXPECT_EQ(page.skipped[3], "file #3: not an object");
}

TEST(ParseJsonPage, UnsafeFilenamesAreSkipped)
{
  for (const auto* name : {"../litellm-1.0.tar.gz",
                           "..",
                           ".",
                           "",
                           "dir/litellm-1.0.tar.gz",
                           "dir\\\\litellm-1.0.tar.gz",
                           "litellm-1.0.tar.gz\\u0000.whl",
                           "litellm-1.0.tar.gz\\nX-Injected: 1",
                           "litellm 1.0.tar.gz",
                           "litellm-1.0.tar.gz#frag",
                           "caf\\u00e9-1.0.tar.gz"}) {
    const auto reason = json_skip_reason({{"filename", std::string("\"") + name + "\""}});
    EXPECT_TRUE(contains(reason, "unsafe filename")) << name << ": " << reason;
    // The log line stays one printable line whatever the name holds.
    for (const char c : reason) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << name;
    }
  }
}

TEST(ParseJsonPage, WheelsMustBeForThisProject)
{
  EXPECT_EQ(json_skip_reason({{"filename", "\"evil-1.0-py3-none-any.whl\""}}),
            "\"evil-1.0-py3-none-any.whl\": wheel is for project \"evil\"");
  EXPECT_EQ(json_skip_reason({{"filename", "\"litellm-1.0.whl\""}}),
            "\"litellm-1.0.whl\": unparseable wheel filename");
  EXPECT_EQ(json_skip_reason({{"filename", "\"LiteLLM-1.0-py3-none-any.whl\""}}), "kept");
}

TEST(ParseJsonPage, OddSdistsAndOtherFilesStayWithoutAVersion)
{
  const auto version = [](const std::string& filename) {
    const auto page = parse_json_ok(json_page(json_file({{"filename", "\"" + filename + "\""}})));
    return page.files.size() == 1 ? page.files[0].version : "<skipped>";
  };
  EXPECT_EQ(version("litellm-1.0.tar.gz"), "1.0");
  EXPECT_EQ(version("LiteLLM-1.0.zip"), "1.0");
  EXPECT_EQ(version("other-1.0.tar.gz"), "");
  EXPECT_EQ(version("litellm.tar.gz"), "");
  EXPECT_EQ(version("litellm-1.0-py2.7.egg"), "");
  EXPECT_EQ(version("litellm-1.0.win32.exe"), "");
}

TEST(ParseJsonPage, DashedProjectNames)
{
  const auto body =
    R"({"meta":{"api-version":"1.1"},"name":"Django_REST.framework","files":[)"
    + json_file({{"filename", "\"django-rest-framework-3.15.0.tar.gz\""}}) + ","
    + json_file({{"filename", "\"djangorestframework-3.15.0-py3-none-any.whl\""}}) + ","
    + json_file({{"filename", "\"django_rest_framework-3.15.0-py3-none-any.whl\""}}) + "]}";
  const auto page = parse_json_page(body, k_page_url, "django-rest-framework");
  ASSERT_TRUE(page) << page.error();
  ASSERT_EQ(page->files.size(), 2u);
  EXPECT_EQ(page->files[0].version, "3.15.0");
  EXPECT_EQ(page->files[0].project, "django-rest-framework");
  EXPECT_EQ(page->files[1].filename, "django_rest_framework-3.15.0-py3-none-any.whl");
  ASSERT_EQ(page->skipped.size(), 1u);
  EXPECT_TRUE(contains(page->skipped[0], "wheel is for project \"djangorestframework\""));
}

TEST(ParseJsonPage, SizeLimit)
{
  constexpr std::uint64_t tib = std::uint64_t{1} << 40;
  EXPECT_EQ(json_skip_reason({{"size", std::to_string(tib)}}), "kept");
  EXPECT_EQ(json_skip_reason({{"size", std::to_string(tib + 1)}}),
            "\"" + k_wheel + "\": declared size 1099511627777 is over 1 TiB");
  EXPECT_NE(json_skip_reason({{"size", "18446744073709551615"}}), "kept");
  EXPECT_NE(json_skip_reason({{"size", "1e12"}}), "kept");
}

TEST(ParseJsonPage, DuplicateFilenamesKeepTheFirst)
{
  const auto page = parse_json_ok(
    json_page(json_file() + "," + json_file({{"hashes", "{\"sha256\":\"" + hex_of("other") + "\"}"}})));
  ASSERT_EQ(page.files.size(), 1u);
  EXPECT_EQ(page.files[0].sha256, sha_of("wheel"));
  EXPECT_EQ(only_skip(page), "\"" + k_wheel + "\": duplicate filename; the first entry is kept");
}

TEST(ParseJsonPage, ProjectStatus)
{
  const auto status = [](const std::string& extra) {
    const auto page = parse_json_ok(json_page(json_file(), extra));
    return page.status + "|" + page.status_reason;
  };
  EXPECT_EQ(status(""), "|");
  EXPECT_EQ(status(R"("project-status":{"status":"archived"},)"), "archived|");
  EXPECT_EQ(status(R"("project-status":{"status":"deprecated","reason":"use x"},)"),
            "deprecated|use x");
  // Advisory, so malformed markers are ignored rather than fatal.
  EXPECT_EQ(status(R"("project-status":"archived",)"), "|");
  EXPECT_EQ(status(R"("project-status":{"status":5},)"), "|");
  EXPECT_EQ(status(R"("project-status":{"status":"archived","reason":5},)"), "archived|");
}

TEST(ParseJsonPage, HardErrors)
{
  EXPECT_TRUE(contains(json_error(""), "not JSON"));
  EXPECT_TRUE(contains(json_error("<html></html>"), "not JSON"));
  const auto full = json_page(json_file());
  EXPECT_TRUE(contains(json_error(full.substr(0, full.size() - 1)), "not JSON"));
  EXPECT_TRUE(contains(json_error(full.substr(0, full.size() / 2)), "not JSON"));
  EXPECT_TRUE(contains(json_error(full + "x"), "not JSON"));
  EXPECT_TRUE(contains(json_error("{\"files\":[], // comment\n}"), "not JSON"));
  EXPECT_TRUE(contains(json_error("{\"meta\":{\"api-version\":\"1.0\"},\"files\":[],}"), "not JSON"));
  EXPECT_TRUE(contains(json_error("{\"meta\":{\"api-version\":\"1.0\"},\"name\":\"\xff\",\"files\":[]}"),
                       "not JSON"));

  EXPECT_EQ(json_error("[]"), "JSON page is not an object");
  EXPECT_EQ(json_error("\"files\""), "JSON page is not an object");
  EXPECT_EQ(json_error("{\"files\":[]}"), "JSON page has no meta.api-version string");
  EXPECT_EQ(json_error("{\"meta\":1,\"files\":[]}"), "JSON page has no meta.api-version string");
  EXPECT_EQ(json_error("{\"meta\":{\"api-version\":1.0},\"files\":[]}"),
            "JSON page has no meta.api-version string");
  EXPECT_EQ(json_error("{\"meta\":{\"api-version\":\"2.0\"},\"files\":[]}"),
            "unsupported api-version \"2.0\"");
  EXPECT_EQ(json_error("{\"meta\":{\"api-version\":\"11.0\"},\"files\":[]}"),
            "unsupported api-version \"11.0\"");
  EXPECT_EQ(json_error("{\"meta\":{\"api-version\":\"one\"},\"files\":[]}"),
            "unsupported api-version \"one\"");
  EXPECT_EQ(json_error("{\"meta\":{\"api-version\":\"1.0\"}}"), "JSON page has no \"files\" array");
  EXPECT_EQ(json_error("{\"meta\":{\"api-version\":\"1.0\"},\"files\":{}}"),
            "JSON page has no \"files\" array");
  EXPECT_EQ(json_error("{\"meta\":{\"api-version\":\"1.0\"},\"files\":null}"),
            "JSON page has no \"files\" array");
  EXPECT_EQ(json_error("{\"meta\":{\"api-version\":\"1.0\"},\"name\":\"requests\",\"files\":[]}"),
            "JSON page is not for project \"litellm\"");
  EXPECT_EQ(json_error("{\"meta\":{\"api-version\":\"1.0\"},\"name\":7,\"files\":[]}"),
            "JSON page is not for project \"litellm\"");
  EXPECT_EQ(json_error("{\"meta\":{\"api-version\":\"1\"},\"name\":\"LiteLLM\",\"files\":[]}"),
            "parsed");
}

TEST(ParseJsonPage, DeepNestingIsAnErrorNotACrash)
{
  for (const std::size_t depth : {33u, 1000u, 1000000u}) {
    std::string body = "{\"meta\":{\"api-version\":\"1.0\"},\"files\":[],\"x\":";
    body += std::string(depth, '[') + std::string(depth, ']') + "}";
    EXPECT_TRUE(contains(json_error(body), "not JSON")) << depth;
  }
  // A file entry nested just as real pages nest is fine.
  EXPECT_EQ(json_error(json_page(json_file())), "parsed");
}

TEST(ParseJsonPage, BodySizeLimit)
{
  const std::string huge(k_max_upstream_page + 1, ' ');
  EXPECT_EQ(json_error(huge), "page is 67108865 bytes, over the limit of 67108864");
}

TEST(ParseJsonPage, FileCountLimit)
{
  std::string files;
  files.reserve(3 * (k_max_files_per_page + 1));
  for (std::size_t i = 0; i <= k_max_files_per_page; ++i) {
    files += i == 0 ? "{}" : ",{}";
  }
  EXPECT_EQ(json_error(json_page(files)), "page lists 200001 files, over the limit of 200000");
}

TEST(ParseJsonPage, BadPageUrl)
{
  const auto page = parse_json_page(json_page(json_file()), "simple/litellm/", "litellm");
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error(), "page URL \"simple/litellm/\" is not absolute");
}

// ================================ HTML ===========================================================

TEST(ParseHtmlPage, PypiLikePage)
{
  const auto anchors =
    "<a href=\"" + k_wheel_url + "#sha256=" + hex_of("wheel")
    + "\" data-requires-python=\"&gt;=3.8, !=3.9.7\" data-dist-info-metadata=\"sha256="
    + hex_of("metadata") + "\" data-core-metadata=\"sha256=" + hex_of("metadata") + "\">"
    + k_wheel + "</a><br />\n"
    + html_anchor("litellm-1.82.6.tar.gz", " data-yanked=\"broken &amp; bad\"")
    + html_anchor("litellm-1.82.5.tar.gz", " data-yanked=\"\"")
    + html_anchor("litellm-1.82.4.tar.gz", " data-yanked");
  const auto page = parse_html_ok(
    html_page(anchors,
              "    <meta name=\"pypi:project-status\" content=\"archived\">\n"
              "    <meta name=\"pypi:project-status-reason\" content=\"moved to &quot;x&quot;\">\n"));

  EXPECT_TRUE(page.skipped.empty()) << page.skipped[0];
  ASSERT_EQ(page.files.size(), 4u);
  EXPECT_EQ(page.status, "archived");
  EXPECT_EQ(page.status_reason, "moved to \"x\"");

  const auto& wheel = page.files[0];
  EXPECT_EQ(wheel.project, "litellm");
  EXPECT_EQ(wheel.filename, k_wheel);
  EXPECT_EQ(wheel.version, "1.82.6");
  EXPECT_EQ(wheel.sha256, sha_of("wheel"));
  EXPECT_EQ(wheel.url, k_wheel_url);
  EXPECT_EQ(wheel.requires_python, ">=3.8, !=3.9.7");
  EXPECT_EQ(wheel.yanked, std::nullopt);
  EXPECT_EQ(wheel.core_metadata, sha_of("metadata"));
  EXPECT_EQ(wheel.size, 0u);
  EXPECT_EQ(wheel.upload_time, std::nullopt);

  EXPECT_EQ(page.files[1].yanked, "broken & bad");
  EXPECT_EQ(page.files[1].version, "1.82.6");
  EXPECT_EQ(page.files[1].core_metadata, std::nullopt);
  EXPECT_EQ(page.files[2].yanked, "");
  EXPECT_EQ(page.files[3].yanked, "");
}

TEST(ParseHtmlPage, CoreMetadataAttributes)
{
  const auto metadata = [](const std::string& attributes) {
    const auto page = parse_html_ok(html_page(html_anchor(k_wheel, attributes)));
    EXPECT_EQ(page.files.size(), 1u);
    return page.files.empty() ? std::nullopt : page.files[0].core_metadata;
  };
  const auto good = "sha256=" + hex_of("m");
  EXPECT_EQ(metadata(" data-core-metadata=\"" + good + "\""), sha_of("m"));
  EXPECT_EQ(metadata(" data-dist-info-metadata=\"" + good + "\""), sha_of("m"));
  EXPECT_EQ(metadata(" data-core-metadata=\"" + good + "\" data-dist-info-metadata=\"sha256="
                     + hex_of("old") + "\""),
            sha_of("m"));
  EXPECT_EQ(metadata(" data-core-metadata=\"true\""), std::nullopt);
  EXPECT_EQ(metadata(" data-core-metadata"), std::nullopt);
  EXPECT_EQ(metadata(" data-core-metadata=\"md5=abc\""), std::nullopt);
  EXPECT_EQ(metadata(" data-core-metadata=\"sha256=xyz\""), std::nullopt);
  EXPECT_EQ(metadata(""), std::nullopt);
}

TEST(ParseHtmlPage, ProvenanceAttribute)
{
  const auto page = parse_html_ok(html_page(html_anchor(k_wheel, " data-provenance=\"/integrity/x/provenance\"")
                                            + html_anchor("litellm-1.0.tar.gz")
                                            + html_anchor("litellm-1.1.tar.gz", " data-provenance=\"javascript:x\"")));
  ASSERT_EQ(page.files.size(), 2u);
  EXPECT_EQ(page.files[0].provenance_url, "https://pypi.org/integrity/x/provenance");
  EXPECT_EQ(page.files[1].provenance_url, std::nullopt);
  EXPECT_TRUE(contains(only_skip(page), "data-provenance")) << only_skip(page);
}

TEST(ParseHtmlPage, AttributeSyntaxes)
{
  const auto sha = hex_of("x");
  const auto body = html_page(
    // single quotes, a '"' inside, upper-case names, no space between attributes
    "<A HREF='https://h/litellm-1.0.tar.gz#sha256=" + sha
    + "' DATA-REQUIRES-PYTHON='\">=3\"'data-yanked=x>litellm-1.0.tar.gz</A>\n"
      // unquoted values, spaces around '=', a '/' before '>'
      "<a href = https://h/litellm-1.1.tar.gz#sha256="
    + sha
    + " data-requires-python= &gt;=3.9 />litellm-1.1.tar.gz</a>\n"
      // duplicate attributes: the first wins, as in HTML5
      "<a href=\"https://h/litellm-1.2.tar.gz#sha256="
    + sha + "\" href=\"javascript:alert(1)\" rel=\"internal\">litellm-1.2.tar.gz</a>\n"
    // newlines and tabs inside the tag
    + "<a\n\thref=\"https://h/litellm-1.3.tar.gz#sha256=" + sha
    + "\"\n>\n  litellm-1.3.tar.gz\n</a>\n");
  const auto page = parse_html_ok(body);
  ASSERT_EQ(page.files.size(), 4u) << (page.skipped.empty() ? "" : page.skipped[0]);
  EXPECT_EQ(page.files[0].url, "https://h/litellm-1.0.tar.gz");
  EXPECT_EQ(page.files[0].requires_python, "\">=3\"");
  EXPECT_EQ(page.files[0].yanked, "x");
  EXPECT_EQ(page.files[1].url, "https://h/litellm-1.1.tar.gz");
  EXPECT_EQ(page.files[1].requires_python, ">=3.9");
  EXPECT_EQ(page.files[2].url, "https://h/litellm-1.2.tar.gz");
  EXPECT_EQ(page.files[3].filename, "litellm-1.3.tar.gz");
}

TEST(ParseHtmlPage, EntityDecoding)
{
  const auto requires_python = [](const std::string& encoded) {
    const auto page =
      parse_html_ok(html_page(html_anchor(k_wheel, " data-requires-python=\"" + encoded + "\"")));
    return page.files.size() == 1 ? page.files[0].requires_python : "<skipped>";
  };
  EXPECT_EQ(requires_python("&gt;=3.8,&lt;4"), ">=3.8,<4");
  EXPECT_EQ(requires_python("&amp;&quot;&#39;&apos;"), "&\"''");
  EXPECT_EQ(requires_python("&#62;&#x3E;&#x3e;&#X3E;&#0062;"), ">>>>>");
  EXPECT_EQ(requires_python("&#233;&#x20AC;&#x1F600;"), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  // Invalid code points become U+FFFD, as in HTML5.
  EXPECT_EQ(requires_python("&#0;"), "\xef\xbf\xbd");
  EXPECT_EQ(requires_python("&#xD800;"), "\xef\xbf\xbd");
  EXPECT_EQ(requires_python("&#x110000;"), "\xef\xbf\xbd");
  EXPECT_EQ(requires_python("&#99999999999999999999;"), "&#99999999999999999999;");
  EXPECT_EQ(requires_python("&#9999999999;"), "\xef\xbf\xbd");
  // Not references: left exactly as written.
  EXPECT_EQ(requires_python("&gt"), "&gt");
  EXPECT_EQ(requires_python("&nbsp;"), "&nbsp;");
  EXPECT_EQ(requires_python("&#;&#x;&#xZZ;&#12a;"), "&#;&#x;&#xZZ;&#12a;");
  EXPECT_EQ(requires_python("a & b"), "a & b");
  EXPECT_EQ(requires_python("&&gt;"), "&>");
  EXPECT_EQ(requires_python("&amp;gt;"), "&gt;");
  EXPECT_EQ(requires_python("&"), "&");
}

// Found by fuzzing: HTML attributes passed invalid UTF-8 and controls through, which the
// rendered pages (and the admin API's JSON) then showed differently or not at all.
TEST(ParseHtmlPage, FreeTextIsValidUtf8WithoutControls)
{
  const auto page = parse_html_ok(html_page(html_anchor(
    k_wheel, " data-requires-python=\">=3\xd4\xc7\x01\t&#1;\" data-yanked=\"bad\xff\xfe \xc3\xa9\"")));
  ASSERT_EQ(page.files.size(), 1u);
  EXPECT_EQ(page.files[0].requires_python, ">=3\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\t\xef\xbf\xbd");
  EXPECT_EQ(page.files[0].yanked, "bad\xef\xbf\xbd\xef\xbf\xbd \xc3\xa9");

  const auto json = parse_json_ok(json_page(json_file({{"yanked", "\"a\\u0001b\\n\""}})));
  ASSERT_EQ(json.files.size(), 1u);
  EXPECT_EQ(json.files[0].yanked, "a\xef\xbf\xbd" "b\n");
}

TEST(ParseHtmlPage, EntitiesInHrefAndText)
{
  const auto sha = hex_of("x");
  const auto page = parse_html_ok(html_page("<a href=\"https://h/litellm-1.0.tar.gz?a=1&amp;b=2#sha256="
                                            + sha + "\">litellm&#45;1.0.tar.gz</a>"));
  ASSERT_EQ(page.files.size(), 1u);
  EXPECT_EQ(page.files[0].url, "https://h/litellm-1.0.tar.gz?a=1&b=2");
  EXPECT_EQ(page.files[0].filename, "litellm-1.0.tar.gz");
}

TEST(ParseHtmlPage, RelativeHrefs)
{
  const auto sha = hex_of("x");
  const auto page = parse_html_ok(
    html_page("<a href=\"../../packages/ab/litellm-1.0.tar.gz#sha256=" + sha
              + "\">litellm-1.0.tar.gz</a>\n<a href=\"litellm-1.1.tar.gz#sha256=" + sha
              + "\">litellm-1.1.tar.gz</a>\n<a href=\"/p/litellm-1.2.tar.gz#sha256=" + sha
              + "\">litellm-1.2.tar.gz</a>"));
  ASSERT_EQ(page.files.size(), 3u);
  EXPECT_EQ(page.files[0].url, "https://pypi.org/packages/ab/litellm-1.0.tar.gz");
  EXPECT_EQ(page.files[1].url, "https://pypi.org/simple/litellm/litellm-1.1.tar.gz");
  EXPECT_EQ(page.files[2].url, "https://pypi.org/p/litellm-1.2.tar.gz");
}

TEST(ParseHtmlPage, FilenameFromTheUrlWhenTheTextIsEmpty)
{
  const auto page = parse_html_ok(html_page(
    "<a href=\"https://h/dir/litellm-1.0.tar.gz#sha256=" + hex_of("x") + "\"></a>"));
  ASSERT_EQ(page.files.size(), 1u);
  EXPECT_EQ(page.files[0].filename, "litellm-1.0.tar.gz");
  EXPECT_EQ(page.files[0].version, "1.0");
}

TEST(ParseHtmlPage, BadAnchorsAreSkipped)
{
  const auto sha = hex_of("x");
  const auto page = parse_html_ok(html_page(
    "<a>litellm-0.1.tar.gz</a>\n"
    "<a href=\"https://h/litellm-0.2.tar.gz\">litellm-0.2.tar.gz</a>\n"
    "<a href=\"https://h/litellm-0.3.tar.gz#md5=d41d8cd98f00b204e9800998ecf8427e\">litellm-0.3.tar.gz</a>\n"
    "<a href=\"https://h/litellm-0.4.tar.gz#sha256=abc\">litellm-0.4.tar.gz</a>\n"
    "<a href=\"javascript:alert(1)#sha256=" + sha + "\">litellm-0.5.tar.gz</a>\n"
    "<a href=\"data:text/html,x#sha256=" + sha + "\">litellm-0.6.tar.gz</a>\n"
    "<a href=\"https://h/x#sha256=" + sha + "\">../litellm-0.7.tar.gz</a>\n"
    "<a href=\"https://h/x#sha256=" + sha + "\">litellm-0.8.tar.gz&#10;X: y</a>\n"
    "<a href=\"https://h/x#sha256=" + sha + "\">evil-0.9-py3-none-any.whl</a>\n"
    "<a href=\"https://h/x#sha256=" + sha + "\">litellm-1.0.tar.gz</a>\n"
    "<a href=\"https://h/y#sha256=" + sha + "\">litellm-1.0.tar.gz</a>\n"));
  ASSERT_EQ(page.files.size(), 1u);
  EXPECT_EQ(page.files[0].url, "https://h/x");
  ASSERT_EQ(page.skipped.size(), 10u);
  EXPECT_EQ(page.skipped[0], "\"litellm-0.1.tar.gz\": anchor without href");
  EXPECT_EQ(page.skipped[1], "\"litellm-0.2.tar.gz\": no #sha256= fragment");
  EXPECT_EQ(page.skipped[2], "\"litellm-0.3.tar.gz\": no #sha256= fragment");
  EXPECT_EQ(page.skipped[3], "\"litellm-0.4.tar.gz\": invalid sha256 hash");
  EXPECT_TRUE(contains(page.skipped[4], "URL scheme is not http(s)"));
  EXPECT_TRUE(contains(page.skipped[5], "URL scheme is not http(s)"));
  EXPECT_EQ(page.skipped[6], "\"../litellm-0.7.tar.gz\": unsafe filename");
  EXPECT_EQ(page.skipped[7], "\"litellm-0.8.tar.gz\\x0aX: y\": unsafe filename");
  EXPECT_EQ(page.skipped[8], "\"evil-0.9-py3-none-any.whl\": wheel is for project \"evil\"");
  EXPECT_EQ(page.skipped[9], "\"litellm-1.0.tar.gz\": duplicate filename; the first entry is kept");
}

TEST(ParseHtmlPage, MarkupThatIsNotALink)
{
  const auto sha = hex_of("x");
  const auto hidden = "<a href=\"https://h/litellm-6.6.tar.gz#sha256=" + sha + "\">litellm-6.6.tar.gz</a>";
  const auto page = parse_html_ok(html_page(
    "<!-- " + hidden + " -->\n"
    "<script>document.write('" + hidden + "')</script>\n"
    "<SCRIPT type=x>" + hidden + "</Script >\n"
    "<style>" + hidden + "</style>\n"
    "<textarea>" + hidden + "</textarea>\n"
    "<abbr title=x>a &lt; b</abbr> 1 < 2 <> <3 <!doctype x> <?pi ?> </a>\n"
    "<area href=\"https://h/litellm-7.0.tar.gz#sha256=" + sha + "\">\n"
    + html_anchor("litellm-1.0.tar.gz"),
    "<title>" + hidden + "</title>\n"));
  ASSERT_EQ(page.files.size(), 1u);
  EXPECT_EQ(page.files[0].filename, "litellm-1.0.tar.gz");
  EXPECT_TRUE(page.skipped.empty());
}

TEST(ParseHtmlPage, ZeroAnchorsIsAnEmptyProject)
{
  for (const auto* body : {"", "<html></html>", "just text", "<", "<a", "<!--"}) {
    const auto page = parse_html_page(body, k_page_url, "litellm");
    ASSERT_TRUE(page) << body;
    EXPECT_TRUE(page->files.empty()) << body;
  }
}

TEST(ParseHtmlPage, TruncatedPageKeepsWhatCameBefore)
{
  const auto full = html_page(html_anchor("litellm-1.0.tar.gz") + html_anchor("litellm-1.1.tar.gz"));
  const auto cut = full.find("litellm-1.1.tar.gz#sha256");
  for (std::size_t length = cut - 20; length < cut + 10; ++length) {
    const auto page = parse_html_page(full.substr(0, length), k_page_url, "litellm");
    ASSERT_TRUE(page);
    ASSERT_GE(page->files.size(), 1u);
    EXPECT_EQ(page->files[0].filename, "litellm-1.0.tar.gz");
  }
  // Any prefix at all parses without crashing.
  for (std::size_t length = 0; length <= full.size(); ++length) {
    EXPECT_TRUE(parse_html_page(full.substr(0, length), k_page_url, "litellm")) << length;
  }
}

TEST(ParseHtmlPage, RepositoryVersion)
{
  const auto with_version = [](const std::string& version) {
    const auto page = parse_html_page(
      "<meta name=\"pypi:repository-version\" content=\"" + version + "\">" + html_anchor(k_wheel),
      k_page_url,
      "litellm");
    return page ? "parsed" : page.error();
  };
  EXPECT_EQ(with_version("1.0"), "parsed");
  EXPECT_EQ(with_version("1.4"), "parsed");
  EXPECT_EQ(with_version("2.0"), "unsupported repository-version \"2.0\"");
  EXPECT_EQ(with_version("x"), "unsupported repository-version \"x\"");
}

TEST(ParseHtmlPage, Limits)
{
  const std::string huge(k_max_upstream_page + 1, ' ');
  const auto too_big = parse_html_page(huge, k_page_url, "litellm");
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error(), "page is 67108865 bytes, over the limit of 67108864");

  std::string anchors;
  for (std::size_t i = 0; i <= k_max_files_per_page; ++i) {
    anchors += "<a>x</a>";
  }
  const auto too_many = parse_html_page(anchors, k_page_url, "litellm");
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error(), "page lists over 200000 files, the limit");
}

TEST(ParseHtmlPage, HostileTagsStayLinear)
{
  // One tag with a million attributes and a million unterminated entities.
  std::string tag = "<a";
  for (int i = 0; i < 1'000'000; ++i) {
    tag += " x";
  }
  tag += " data-requires-python=\"" + std::string(1'000'000, '&') + "\">";
  const auto page = parse_html_page(html_page(tag + html_anchor(k_wheel)), k_page_url, "litellm");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->files.size(), 1u);
}

TEST(ParseHtmlPage, RequiresPythonLengthIsBounded)
{
  const auto page = parse_html_ok(
    html_page(html_anchor(k_wheel, " data-requires-python=\"" + std::string(1025, '3') + "\"")));
  EXPECT_TRUE(page.files.empty());
  EXPECT_EQ(only_skip(page), "\"" + k_wheel + "\": data-requires-python is longer than 1024 bytes");

  // Found by fuzzing: 1000 bytes, but 3000 once each invalid byte is U+FFFD, which the JSON
  // page Airlock renders would carry and its own parser refuse.
  const auto grown = parse_html_ok(
    html_page(html_anchor(k_wheel, " data-requires-python=\"" + std::string(1000, '\xd4') + "\"")));
  EXPECT_TRUE(grown.files.empty());
}

// ================================ Both ===========================================================

TEST(ParsePages, SurviveRandomDamage)
{
  // Not a fuzzer, but under ASan/UBSan it walks every parser path with broken input: each
  // iteration flips, deletes or duplicates a few bytes of a real-looking page.
  const auto html = html_page(html_anchor(k_wheel, " data-requires-python=\"&gt;=3.8\" data-yanked")
                              + html_anchor("litellm-1.0.tar.gz", " data-core-metadata=\"sha256="
                                                                    + hex_of("m") + "\""));
  const auto json = json_page(json_file() + "," + json_file({{"filename", "\"litellm-1.0.tar.gz\""}}),
                              R"("project-status":{"status":"archived"},)");
  std::mt19937 random(20260324);
  for (int i = 0; i < 3000; ++i) {
    for (const auto* original : {&html, &json}) {
      auto damaged = *original;
      const int edits = 1 + static_cast<int>(random() % 4);
      for (int e = 0; e < edits && !damaged.empty(); ++e) {
        const auto pos = random() % damaged.size();
        switch (random() % 3) {
        case 0:
          damaged[pos] = static_cast<char>(random() % 256);
          break;
        case 1:
          damaged.erase(pos, 1 + random() % 8);
          break;
        default:
          damaged.insert(pos, damaged.substr(pos, 1 + random() % 16));
          break;
        }
      }
      const auto page = original == &html ? parse_html_page(damaged, k_page_url, "litellm")
                                          : parse_json_page(damaged, k_page_url, "litellm");
      if (page) {
        for (const auto& file : page->files) {
          EXPECT_TRUE(airlock::policy::is_safe_filename(file.filename)) << damaged;
          auto scheme = file.url.substr(0, file.url.find(':'));
          for (auto& c : scheme) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          }
          EXPECT_TRUE(scheme == "http" || scheme == "https") << damaged;
        }
      }
    }
  }
}

// --- what the upstream client may fetch ------------------------------------------------------

TEST(AdmitUrl, OnlyAllowedHostsAndNoDowngrade)
{
  using airlock::proxy::admit_url;
  using airlock::proxy::parse_url;
  const std::vector<std::string> allowed{"pypi.org", "files.pythonhosted.org"};
  const auto url = [](std::string_view text) { return *parse_url(text); };
  EXPECT_TRUE(admit_url(url("https://pypi.org/simple/x/"), nullptr, allowed));
  EXPECT_TRUE(admit_url(url("https://FILES.pythonhosted.org/packages/x.whl"), nullptr, allowed));
  const auto elsewhere = admit_url(url("https://evil.example/x.whl"), nullptr, allowed);
  ASSERT_FALSE(elsewhere);
  EXPECT_EQ(elsewhere.error(),
            "refused https://evil.example/x.whl: the host evil.example is not an allowed upstream host");
  const auto from = url("https://pypi.org/simple/x/");
  EXPECT_TRUE(admit_url(url("https://files.pythonhosted.org/x"), &from, allowed));
  EXPECT_FALSE(admit_url(url("http://pypi.org/simple/x/"), &from, allowed)) << "https never becomes http";
  EXPECT_TRUE(admit_url(url("https://anywhere.example/"), nullptr, {})) << "no list: any host";
}
