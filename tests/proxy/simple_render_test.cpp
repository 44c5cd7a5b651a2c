#include "pages/simple_render.hpp"
#include "upstream/simple_parse.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using airlock::parse_rfc3339;
using airlock::Sha256;
using airlock::Time;
using airlock::proxy::parse_html_page;
using airlock::proxy::parse_json_page;
using airlock::proxy::ProjectPage;
using airlock::proxy::render_index_html;
using airlock::proxy::render_index_json;
using airlock::proxy::render_project_html;
using airlock::proxy::render_project_json;
using airlock::storage::FileRecord;

namespace {

const std::string k_hostile = "\"><script>alert('x')</script>&amp;";

Time
at(std::string_view text)
{
  return *parse_rfc3339(text);
}

FileRecord
file(std::string filename, std::string version)
{
  FileRecord record;
  record.project = "demo";
  record.sha256 = Sha256::of(filename);
  record.filename = std::move(filename);
  record.version = std::move(version);
  return record;
}

bool
contains(std::string_view haystack, std::string_view needle)
{
  return haystack.find(needle) != std::string_view::npos;
}

boost::json::value
parse_json(const std::string& text)
{
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << ec.message() << "\n" << text;
  return value;
}

std::string
str(const boost::json::value& value)
{
  const auto& s = value.as_string();
  return std::string(s.data(), s.size());
}

// A page with every feature: sizes, times, yanks with and without reasons, metadata, status.
struct FullPage
{
  std::vector<FileRecord> files;
  ProjectPage page;

  FullPage()
  {
    auto wheel = file("demo-1.0-py3-none-any.whl", "1.0");
    wheel.size = 1234;
    wheel.upload_time = at("2026-03-24T10:39:00Z");
    wheel.requires_python = ">=3.8";
    wheel.core_metadata = Sha256::of("metadata");
    auto sdist = file("demo-1.0.tar.gz", "1.0");
    sdist.yanked = "";
    auto old = file("demo-0.9.tar.gz", "0.9");
    old.yanked = "broken \"badly\"";
    files = {wheel, sdist, old};
    page.name = "demo";
    page.files = files;
    page.file_url_prefix = "../../files/";
    page.status = "deprecated";
    page.status_reason = "use demo2";
    page.withheld = 3;
    page.next_available = at("2026-03-31T10:39:00Z");
  }
};

} // namespace

TEST(RenderProjectHtml, ExactOutput)
{
  auto wheel = file("demo-1.0-py3-none-any.whl", "1.0");
  wheel.requires_python = ">=3.8";
  wheel.yanked = "bad";
  wheel.core_metadata = Sha256::of("m");
  const std::vector<FileRecord> files = {wheel, file("demo-0.9.tar.gz", "0.9")};
  ProjectPage page;
  page.name = "demo";
  page.files = files;
  page.file_url_prefix = "../../files/";
  const auto h1 = Sha256::of("demo-1.0-py3-none-any.whl").hex();
  const auto h2 = Sha256::of("demo-0.9.tar.gz").hex();
  const auto m = Sha256::of("m").hex();
  EXPECT_EQ(render_project_html(page),
            "<!DOCTYPE html>\n<html>\n  <head>\n"
            "    <meta name=\"pypi:repository-version\" content=\"1.1\">\n"
            "    <title>Links for demo</title>\n  </head>\n  <body>\n"
            "    <h1>Links for demo</h1>\n"
            "    <a href=\"../../files/" + h1 + "/demo-1.0-py3-none-any.whl#sha256=" + h1
              + "\" data-requires-python=\"&gt;=3.8\" data-yanked=\"bad\" data-core-metadata=\"sha256="
              + m + "\" data-dist-info-metadata=\"sha256=" + m
              + "\">demo-1.0-py3-none-any.whl</a><br>\n"
            "    <a href=\"../../files/" + h2 + "/demo-0.9.tar.gz#sha256=" + h2
              + "\">demo-0.9.tar.gz</a><br>\n"
            "  </body>\n</html>\n");
}

TEST(RenderProjectHtml, StatusMetaTags)
{
  FullPage full;
  const auto html = render_project_html(full.page);
  EXPECT_TRUE(contains(html, "<meta name=\"pypi:project-status\" content=\"deprecated\">\n"));
  EXPECT_TRUE(contains(html, "<meta name=\"pypi:project-status-reason\" content=\"use demo2\">\n"));
  EXPECT_TRUE(contains(html, " data-yanked=\"\">demo-1.0.tar.gz<"));
  EXPECT_TRUE(contains(html, " data-yanked=\"broken &quot;badly&quot;\">"));

  full.page.status.clear();
  EXPECT_FALSE(contains(render_project_html(full.page), "project-status"));
}

TEST(RenderProjectHtml, HostileStringsCannotBreakOut)
{
  auto evil = file("demo-1.0.tar.gz", "1.0");
  evil.requires_python = k_hostile;
  evil.yanked = k_hostile;
  const std::vector<FileRecord> files = {evil};
  ProjectPage page;
  page.name = "<b>demo</b>";
  page.files = files;
  page.file_url_prefix = "\"/files/";
  page.status = k_hostile;
  page.status_reason = k_hostile;
  const auto html = render_project_html(page);
  EXPECT_FALSE(contains(html, "<script"));
  EXPECT_FALSE(contains(html, "<b>"));
  EXPECT_TRUE(contains(
    html, "data-requires-python=\"&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;\""));
  EXPECT_TRUE(contains(html, "<a href=\"&quot;/files/"));
  // Each attribute value is closed by the quote the renderer wrote, so the number of '"' is
  // exactly what the template has: 2 per meta tag attribute, and per anchor 2 for each of
  // href, data-requires-python and data-yanked.
  EXPECT_EQ(std::count(html.begin(), html.end(), '"'), 2 * 2 * 3 + 2 * 3);
}

TEST(RenderProjectHtml, ControlCharactersAndInvalidUtf8)
{
  auto record = file("demo-1.0.tar.gz", "1.0");
  record.yanked = std::string("a\x01" "b\tc\xff" "d\xc3\xa9", 9);
  const std::vector<FileRecord> files = {record};
  ProjectPage page;
  page.name = "demo";
  page.files = files;
  const auto html = render_project_html(page);
  EXPECT_TRUE(contains(html, "data-yanked=\"a\xef\xbf\xbd" "b\tc\xef\xbf\xbd" "d\xc3\xa9\""));
}

TEST(RenderProjectJson, ExactOutput)
{
  auto wheel = file("demo-1.0-py3-none-any.whl", "1.0");
  wheel.size = 1234;
  wheel.upload_time = at("2026-03-24T10:39:00Z");
  wheel.requires_python = ">=3.8";
  wheel.core_metadata = Sha256::of("m");
  auto sdist = file("demo-1.0.tar.gz", "1.0");
  sdist.yanked = "";
  const std::vector<FileRecord> files = {wheel, sdist};
  ProjectPage page;
  page.name = "demo";
  page.files = files;
  page.file_url_prefix = "/files/";
  const auto h1 = Sha256::of("demo-1.0-py3-none-any.whl").hex();
  const auto h2 = Sha256::of("demo-1.0.tar.gz").hex();
  const auto m = Sha256::of("m").hex();
  EXPECT_EQ(render_project_json(page),
            R"({"meta":{"api-version":"1.1"},"name":"demo","files":[)"
            R"({"filename":"demo-1.0-py3-none-any.whl","url":"/files/)" + h1
              + R"(/demo-1.0-py3-none-any.whl","hashes":{"sha256":")" + h1
              + R"("},"requires-python":">=3.8","size":1234,"upload-time":"2026-03-24T10:39:00Z",)"
                R"("yanked":false,"core-metadata":{"sha256":")" + m
              + R"("},"data-dist-info-metadata":{"sha256":")" + m + R"("}},)"
            R"({"filename":"demo-1.0.tar.gz","url":"/files/)" + h2
              + R"(/demo-1.0.tar.gz","hashes":{"sha256":")" + h2 + R"("},"yanked":true}],)"
            R"("versions":["1.0"],"_airlock":{"withheld":0,"next_available":null}})");
}

TEST(RenderProjectJson, EveryFieldReadsBack)
{
  FullPage full;
  const auto json = parse_json(render_project_json(full.page));
  const auto& root = json.as_object();
  EXPECT_EQ(str(root.at("meta").at("api-version")), "1.1");
  EXPECT_EQ(str(root.at("name")), "demo");
  EXPECT_EQ(str(root.at("project-status").at("status")), "deprecated");
  EXPECT_EQ(str(root.at("project-status").at("reason")), "use demo2");
  EXPECT_EQ(root.at("_airlock").at("withheld").as_int64(), 3);
  EXPECT_EQ(str(root.at("_airlock").at("next_available")), "2026-03-31T10:39:00Z");

  const auto& files = root.at("files").as_array();
  ASSERT_EQ(files.size(), 3u);
  const auto& wheel = files[0].as_object();
  EXPECT_EQ(wheel.at("size").as_int64(), 1234);
  EXPECT_EQ(str(wheel.at("upload-time")), "2026-03-24T10:39:00Z");
  EXPECT_EQ(wheel.at("yanked").as_bool(), false);
  EXPECT_EQ(str(wheel.at("core-metadata").at("sha256")), Sha256::of("metadata").hex());
  EXPECT_EQ(str(wheel.at("data-dist-info-metadata").at("sha256")), Sha256::of("metadata").hex());
  EXPECT_EQ(files[1].at("yanked").as_bool(), true);
  EXPECT_EQ(str(files[2].at("yanked")), "broken \"badly\"");
  // Unknown facts are left out, not invented.
  const auto& sdist = files[1].as_object();
  EXPECT_FALSE(sdist.contains("size"));
  EXPECT_FALSE(sdist.contains("upload-time"));
  EXPECT_FALSE(sdist.contains("requires-python"));
  EXPECT_FALSE(sdist.contains("core-metadata"));
  EXPECT_FALSE(sdist.contains("data-dist-info-metadata"));
  EXPECT_EQ(root.at("versions"), boost::json::parse(R"(["0.9","1.0"])"));

  full.page.status.clear();
  full.page.next_available.reset();
  const auto plain = parse_json(render_project_json(full.page));
  EXPECT_FALSE(plain.as_object().contains("project-status"));
  EXPECT_TRUE(plain.at("_airlock").at("next_available").is_null());
}

TEST(RenderProjectJson, EscapesHostileStrings)
{
  auto evil = file("demo-1.0.tar.gz", "1.0");
  const std::string controls("\x01\x1f\b\f\n\r\t\"\\/\x7f", 11);
  evil.requires_python = k_hostile + controls;
  evil.yanked = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  const std::vector<FileRecord> files = {evil};
  ProjectPage page;
  page.name = "demo\"}],\"x\":{\"";
  page.files = files;
  page.status = "a\nb";
  const auto text = render_project_json(page);
  EXPECT_TRUE(contains(text, R"(\u0001\u001f\b\f\n\r\t\"\\/)"));
  // Valid UTF-8 passes through unescaped.
  EXPECT_TRUE(contains(text, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""));
  const auto json = parse_json(text);
  EXPECT_EQ(str(json.at("name")), page.name);
  EXPECT_FALSE(json.as_object().contains("x"));
  EXPECT_EQ(str(json.at("files").at(0).at("requires-python")), evil.requires_python);
  EXPECT_EQ(str(json.at("files").at(0).at("yanked")), *evil.yanked);
  EXPECT_EQ(str(json.at("project-status").at("status")), "a\nb");
}

TEST(RenderProjectJson, InvalidUtf8BecomesReplacementCharacters)
{
  for (const std::string bad : {"\xff", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                                "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\x80"}) {
    auto record = file("demo-1.0.tar.gz", "1.0");
    record.requires_python = "a" + bad + "b";
    const std::vector<FileRecord> files = {record};
    ProjectPage page;
    page.name = "demo";
    page.files = files;
    const auto json = parse_json(render_project_json(page)); // Boost.JSON rejects invalid UTF-8
    const auto value = str(json.at("files").at(0).at("requires-python"));
    EXPECT_EQ(value.substr(0, 4), "a\xef\xbf\xbd");
    EXPECT_EQ(value.back(), 'b');
  }
}

TEST(RenderProjectJson, VersionsAreUniqueAndInPep440Order)
{
  std::vector<FileRecord> files;
  for (const auto* version : {"1.10", "1.9", "1.0", "1.0rc1", "1.0a1", "1.0.dev1", "1.0.post1",
                              "2!0.1", "1.0+local", "junk", "", "1.0a1.dev1", "1.0rc1.post1",
                              "1.0b2", "1.0-1", "1.9", "v1.8", "1.0.0", "1.0.post1.dev1"}) {
    files.push_back(file(std::string("demo-") + version + ".tar.gz", version));
  }
  ProjectPage page;
  page.name = "demo";
  page.files = files;
  const auto json = parse_json(render_project_json(page));
  EXPECT_EQ(json.at("versions"),
            boost::json::parse(R"(["junk","1.0.dev1","1.0a1.dev1","1.0a1","1.0b2","1.0rc1",)"
                               R"("1.0rc1.post1","1.0","1.0.0","1.0+local","1.0.post1.dev1",)"
                               R"("1.0-1","1.0.post1","v1.8","1.9","1.10","2!0.1"])"));
}

TEST(RenderProjectJson, UploadTimesMatchFormatRfc3339)
{
  using namespace std::chrono;
  const std::vector<Time> times = {
    Time{},
    at("1969-12-31T23:59:59Z"),
    at("2000-02-29T23:59:59Z"),
    at("2026-03-24T10:39:07Z"),
    at("9999-12-31T23:59:59Z"),
    Time{sys_days{year{10000} / 1 / 1}} + hours{1},
    Time{sys_days{year{-1} / 6 / 15}},
  };
  for (const auto time : times) {
    auto record = file("demo-1.0.tar.gz", "1.0");
    record.upload_time = time;
    const std::vector<FileRecord> files = {record};
    ProjectPage page;
    page.name = "demo";
    page.files = files;
    const auto json = parse_json(render_project_json(page));
    EXPECT_EQ(str(json.at("files").at(0).at("upload-time")), airlock::format_rfc3339(time));
  }
}

TEST(RenderProjectJson, EmptyPage)
{
  ProjectPage page;
  page.name = "demo";
  EXPECT_EQ(render_project_json(page),
            R"({"meta":{"api-version":"1.1"},"name":"demo","files":[],"versions":[],)"
            R"("_airlock":{"withheld":0,"next_available":null}})");
}

TEST(RenderRoundTrip, JsonParsesBackToTheSameRecords)
{
  FullPage full;
  const auto body = render_project_json(full.page);
  const auto parsed =
    parse_json_page(body, "https://airlock.example/simple/demo/", "demo");
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_TRUE(parsed->skipped.empty());
  EXPECT_EQ(parsed->status, "deprecated");
  EXPECT_EQ(parsed->status_reason, "use demo2");
  ASSERT_EQ(parsed->files.size(), full.files.size());
  for (std::size_t i = 0; i < full.files.size(); ++i) {
    auto expected = full.files[i];
    expected.url = "https://airlock.example/files/" + expected.sha256.hex() + "/" + expected.filename;
    EXPECT_EQ(parsed->files[i], expected) << expected.filename;
  }
}

TEST(RenderRoundTrip, HtmlParsesBackToTheSameRecords)
{
  FullPage full;
  full.files[2].requires_python = k_hostile + "&lt; &#39;";
  const auto body = render_project_html(full.page);
  const auto parsed =
    parse_html_page(body, "https://airlock.example/simple/demo/", "demo");
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_TRUE(parsed->skipped.empty());
  EXPECT_EQ(parsed->status, "deprecated");
  EXPECT_EQ(parsed->status_reason, "use demo2");
  ASSERT_EQ(parsed->files.size(), full.files.size());
  for (std::size_t i = 0; i < full.files.size(); ++i) {
    auto expected = full.files[i];
    expected.url = "https://airlock.example/files/" + expected.sha256.hex() + "/" + expected.filename;
    // HTML carries neither size nor upload time.
    expected.size = 0;
    expected.upload_time.reset();
    EXPECT_EQ(parsed->files[i], expected) << expected.filename;
  }
}

TEST(RenderIndex, Html)
{
  const std::vector<std::string> names = {"demo", "zope-interface"};
  EXPECT_EQ(render_index_html(names),
            "<!DOCTYPE html>\n<html>\n  <head>\n"
            "    <meta name=\"pypi:repository-version\" content=\"1.1\">\n"
            "    <title>Simple index</title>\n  </head>\n  <body>\n"
            "    <a href=\"demo/\">demo</a><br>\n"
            "    <a href=\"zope-interface/\">zope-interface</a><br>\n"
            "  </body>\n</html>\n");
  const std::vector<std::string> hostile = {"a\"><script>x", "b&c d"};
  const auto html = render_index_html(hostile);
  EXPECT_FALSE(contains(html, "<script"));
  EXPECT_TRUE(contains(html, "<a href=\"a%22%3E%3Cscript%3Ex/\">a&quot;&gt;&lt;script&gt;x</a>"));
  EXPECT_TRUE(contains(html, "<a href=\"b&amp;c%20d/\">b&amp;c d</a>"));
}

TEST(RenderIndex, Json)
{
  const std::vector<std::string> names = {"demo", "zope-interface"};
  EXPECT_EQ(render_index_json(names),
            R"({"meta":{"api-version":"1.1"},"projects":[{"name":"demo"},{"name":"zope-interface"}]})");
  EXPECT_EQ(render_index_json({}), R"({"meta":{"api-version":"1.1"},"projects":[]})");
  const std::vector<std::string> hostile = {"a\"}]"};
  EXPECT_EQ(str(parse_json(render_index_json(hostile)).at("projects").at(0).at("name")), "a\"}]");
}

// A page of 2000 files, as bench/run serves it (its speed is measured there, not here).
TEST(RenderProject, TwoThousandFilesAreAllListed)
{
  std::vector<FileRecord> files;
  for (int i = 0; i < 2000; ++i) {
    const auto version = "1." + std::to_string(i / 4) + "." + std::to_string(i % 7);
    auto record = file("demo-" + version + "-" + std::to_string(i) + "-cp312-cp312-manylinux_2_17_x86_64.whl",
                       version);
    record.size = 1'000'000 + static_cast<std::uint64_t>(i);
    record.upload_time = at("2026-03-24T10:39:00Z");
    record.requires_python = ">=3.8";
    record.core_metadata = Sha256::of(record.filename);
    if (i % 50 == 0) {
      record.yanked = "reason";
    }
    files.push_back(std::move(record));
  }
  ProjectPage page;
  page.name = "demo";
  page.files = files;
  page.file_url_prefix = "../../files/";

  const std::string html = render_project_html(page);
  std::size_t anchors = 0;
  std::size_t yanked = 0;
  for (auto at = html.find("<a "); at != std::string::npos; at = html.find("<a ", at + 1)) {
    ++anchors;
  }
  for (auto at = html.find("data-yanked="); at != std::string::npos; at = html.find("data-yanked=", at + 1)) {
    ++yanked;
  }
  EXPECT_EQ(anchors, 2000u);
  EXPECT_EQ(yanked, 40u);

  const auto json = parse_json(render_project_json(page));
  const auto& listed = json.at("files").as_array();
  ASSERT_EQ(listed.size(), 2000u);
  std::size_t yanked_json = 0;
  for (std::size_t i = 0; i < listed.size(); ++i) {
    EXPECT_EQ(str(listed[i].at("filename")), files[i].filename);
    yanked_json += listed[i].at("yanked").is_string() ? 1 : 0;
  }
  EXPECT_EQ(yanked_json, 40u);
}
