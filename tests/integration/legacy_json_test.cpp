// PyPI's legacy JSON API (/pypi/<project>/json, /pypi/<project>/<version>/json): its shape, and
// that it serves exactly what the project page serves.

#include "proxy_fixture.hpp"

#include <fmt/format.h>

#include <optional>
#include <set>

namespace airlock::test {
namespace {

namespace json = boost::json;

// Resolves a relative reference against a request path as a client does (RFC 3986 5.2), except
// that climbing above the root is an error rather than clamped: an URL that only works at the
// root would break behind a reverse proxy that mounts Airlock under a prefix.
std::optional<std::string>
resolve(const std::string& base, const std::string& reference)
{
  std::vector<std::string> segments;
  // The base's directory: every segment but the last.
  for (std::size_t start = 1; start <= base.size();) {
    const auto slash = base.find('/', start);
    if (slash == std::string::npos) {
      break;
    }
    segments.push_back(base.substr(start, slash - start));
    start = slash + 1;
  }
  std::size_t pos = 0;
  while (reference.compare(pos, 3, "../") == 0) {
    if (segments.empty()) {
      return std::nullopt;
    }
    segments.pop_back();
    pos += 3;
  }
  std::string out;
  for (const auto& segment : segments) {
    out += "/" + segment;
  }
  return out + "/" + reference.substr(pos);
}

std::set<std::string>
keys(const json::object& object)
{
  std::set<std::string> out;
  for (const auto& [key, value] : object) {
    out.emplace(key);
  }
  return out;
}

class LegacyJsonTest : public ProxyTest
{
protected:
  LegacyJsonTest()
  {
    configure = [](proxy::Config& config) { config.upstream.refresh = std::chrono::days{30}; };
  }

  // A GET of a legacy document that must answer 200 with JSON.
  json::object document(const std::string& path)
  {
    const auto response = http_get(port, path);
    EXPECT_EQ(response.status, 200u) << path << ": " << response.body;
    EXPECT_EQ(response.header("content-type"), "application/json");
    EXPECT_TRUE(server->wait_for_checks());
    return response.status == 200 ? json::parse(response.body).as_object() : json::object();
  }

  // Checks one file object against what upstream listed, and that its URL, resolved against
  // the document's path, downloads the file's bytes.
  void expect_file(const json::value& value, const FakeFile& file, const std::string& document_path)
  {
    SCOPED_TRACE(file.filename);
    const auto& entry = value.as_object();
    EXPECT_EQ(entry.at("filename").as_string(), file.filename);
    EXPECT_EQ(entry.at("digests").at("sha256").as_string(), file.sha256().hex());
    EXPECT_EQ(entry.at("size").as_int64(), static_cast<std::int64_t>(file.content.size()));
    const std::string iso = format_rfc3339(*file.upload_time);
    EXPECT_EQ(entry.at("upload_time_iso_8601").as_string(), iso);
    EXPECT_EQ(entry.at("upload_time").as_string(), iso.substr(0, iso.size() - 1)) << "PyPI's: no zone";
    if (file.requires_python.empty()) {
      EXPECT_TRUE(entry.at("requires_python").is_null());
    } else {
      EXPECT_EQ(entry.at("requires_python").as_string(), file.requires_python);
    }
    EXPECT_EQ(entry.at("yanked").as_bool(), file.yanked.has_value());
    if (file.yanked && !file.yanked->empty()) {
      EXPECT_EQ(entry.at("yanked_reason").as_string(), *file.yanked);
    } else {
      EXPECT_TRUE(entry.at("yanked_reason").is_null());
    }
    const bool wheel = file.filename.ends_with(".whl");
    EXPECT_EQ(std::string_view(entry.at("packagetype").as_string()), wheel ? "bdist_wheel" : "sdist");
    const auto url = resolve(document_path, std::string(entry.at("url").as_string()));
    ASSERT_TRUE(url) << entry.at("url").as_string() << " climbs above the root from " << document_path;
    EXPECT_EQ(*url, file_url(file));
    const auto download = http_get(port, *url);
    EXPECT_EQ(download.status, 200u) << *url;
    EXPECT_TRUE(same_bytes(download.body, file.content));
  }
};

TEST_F(LegacyJsonTest, ProjectAndReleaseDocumentsHavePyPIsShapeAndOnlyApprovedFiles)
{
  auto wheel = old_file("legacy_pkg-1.0-py3-none-any.whl", 1);
  wheel.requires_python = ">=3.8";
  const auto sdist = old_file("legacy_pkg-1.0.tar.gz", 2);
  auto newest = old_file("legacy_pkg-1.1-py2.py3-none-any.whl", 3);
  newest.requires_python = ">=3.9";
  auto yanked = old_file("legacy_pkg-1.2.tar.gz", 4);
  yanked.yanked = "broken build";
  const auto pre = old_file("legacy_pkg-2.0rc1.tar.gz", 5);
  // Young: quarantined, so absent everywhere.
  auto fresh = old_file("legacy_pkg-3.0.tar.gz", 6);
  fresh.upload_time = k_now - 1h;
  for (const auto& file : {wheel, sdist, newest, yanked, pre, fresh}) {
    upstream.add_file("legacy-pkg", file);
  }
  start();

  const std::string project_path = "/pypi/legacy-pkg/json";
  const auto project = document(project_path);
  EXPECT_EQ(keys(project), (std::set<std::string>{"info", "last_serial", "releases", "urls", "vulnerabilities"}));
  EXPECT_EQ(project.at("last_serial").as_int64(), 0);
  EXPECT_TRUE(project.at("vulnerabilities").as_array().empty());
  const auto& info = project.at("info").as_object();
  EXPECT_EQ(info.at("name").as_string(), "legacy-pkg");
  // Newest approved: not 3.0 (quarantined), not 2.0rc1 (pre-release), not 1.2 (yanked).
  EXPECT_EQ(info.at("version").as_string(), "1.1");
  EXPECT_EQ(info.at("requires_python").as_string(), ">=3.9");
  EXPECT_FALSE(info.at("yanked").as_bool());
  EXPECT_TRUE(info.at("yanked_reason").is_null());
  for (const char* key : {"summary", "home_page", "author", "license", "project_urls", "requires_dist"}) {
    EXPECT_TRUE(info.at(key).is_null()) << key << ": metadata Airlock does not have";
  }
  EXPECT_TRUE(info.at("classifiers").as_array().empty());

  const auto& releases = project.at("releases").as_object();
  EXPECT_EQ(keys(releases), (std::set<std::string>{"1.0", "1.1", "1.2", "2.0rc1"})) << "3.0 is quarantined";
  ASSERT_EQ(releases.at("1.0").as_array().size(), 2u);
  // Files come sorted by filename ('-' before '.').
  expect_file(releases.at("1.0").as_array().at(0), wheel, project_path);
  expect_file(releases.at("1.0").as_array().at(1), sdist, project_path);
  expect_file(releases.at("1.2").as_array().at(0), yanked, project_path);
  EXPECT_EQ(releases.at("1.0").as_array().at(0).at("python_version").as_string(), "py3");
  EXPECT_EQ(releases.at("1.0").as_array().at(1).at("python_version").as_string(), "source");
  const auto& urls = project.at("urls").as_array();
  ASSERT_EQ(urls.size(), 1u);
  expect_file(urls.at(0), newest, project_path);
  EXPECT_EQ(urls.at(0).at("python_version").as_string(), "py2.py3");

  const std::string release_path = "/pypi/legacy-pkg/1.0/json";
  const auto release = document(release_path);
  EXPECT_EQ(keys(release), (std::set<std::string>{"info", "last_serial", "urls", "vulnerabilities"}));
  EXPECT_EQ(release.at("info").at("version").as_string(), "1.0");
  EXPECT_EQ(release.at("info").at("requires_python").as_string(), ">=3.8");
  ASSERT_EQ(release.at("urls").as_array().size(), 2u);
  expect_file(release.at("urls").as_array().at(0), wheel, release_path);
  expect_file(release.at("urls").as_array().at(1), sdist, release_path);
  EXPECT_EQ(document("/pypi/legacy-pkg/1.0.0/json").at("info").at("version").as_string(), "1.0")
    << "versions equal under PEP 440 name one release";

  const auto yanked_release = document("/pypi/legacy-pkg/1.2/json");
  EXPECT_TRUE(yanked_release.at("info").at("yanked").as_bool());
  EXPECT_EQ(yanked_release.at("info").at("yanked_reason").as_string(), "broken build");

  const auto quarantined = http_get(port, "/pypi/legacy-pkg/3.0/json");
  EXPECT_EQ(quarantined.status, 404u);
  EXPECT_EQ(quarantined.body, "not found: no approved file of legacy-pkg 3.0\n");
  EXPECT_EQ(http_get(port, "/pypi/legacy-pkg/9.9/json").status, 404u);
  EXPECT_EQ(upstream.file_requests(fresh.filename), 0);

  // The quarantine ends: the document is rendered again with the pages, without a restart.
  clock.advance(std::chrono::days{7});
  const auto later = document(project_path);
  EXPECT_EQ(later.at("info").at("version").as_string(), "3.0");
  EXPECT_TRUE(later.at("releases").as_object().contains("3.0"));
  EXPECT_EQ(document("/pypi/legacy-pkg/3.0/json").at("urls").as_array().size(), 1u);
}

TEST_F(LegacyJsonTest, NamesAreRedirectedUnknownOrUnapprovedProjectsAre404)
{
  upstream.add_file("legacy-pkg", old_file("legacy_pkg-1.0.tar.gz", 1));
  auto fresh = old_file("young-pkg-1.0.tar.gz", 2);
  fresh.upload_time = k_now - 1h;
  upstream.add_file("young-pkg", fresh);
  start();

  const auto redirect = http_get(port, "/pypi/Legacy_Pkg/json");
  EXPECT_EQ(redirect.status, 301u);
  EXPECT_EQ(redirect.header("location"), "../legacy-pkg/json");
  EXPECT_EQ(resolve("/pypi/Legacy_Pkg/json", redirect.header("location")), "/pypi/legacy-pkg/json");
  const auto release_redirect = http_get(port, "/pypi/Legacy.Pkg/1.0/json");
  EXPECT_EQ(release_redirect.status, 301u);
  EXPECT_EQ(resolve("/pypi/Legacy.Pkg/1.0/json", release_redirect.header("location")), "/pypi/legacy-pkg/1.0/json");

  EXPECT_EQ(http_get(port, "/pypi/nothing-here/json").status, 404u);
  EXPECT_EQ(http_get(port, "/pypi/-bad-/json").status, 404u);
  EXPECT_EQ(http_get(port, "/pypi/legacy-pkg").status, 404u);
  EXPECT_EQ(http_get(port, "/pypi/legacy-pkg/1.0/json/extra").status, 404u);
  const auto unapproved = http_get(port, "/pypi/young-pkg/json");
  EXPECT_EQ(unapproved.status, 404u);
  EXPECT_EQ(unapproved.body, "not found: no file of young-pkg is approved\n");
}

TEST_F(LegacyJsonTest, DocumentsAreGzippedForClientsThatAcceptItAndRevalidate)
{
  for (int i = 0; i < 100; ++i) {
    upstream.add_file("zipped", old_file(fmt::format("zipped-1.{}.tar.gz", i), 100 + i));
  }
  start();
  for (const std::string path : {"/pypi/zipped/json", "/pypi/zipped/1.7/json"}) {
    SCOPED_TRACE(path);
    const auto identity = http_get(port, path);
    ASSERT_EQ(identity.status, 200u);
    EXPECT_EQ(identity.header("content-encoding"), "");
    EXPECT_EQ(identity.header("vary"), "Accept-Encoding");
    const auto gzipped = http_get(port, path, {{"Accept-Encoding", "gzip"}});
    ASSERT_EQ(gzipped.status, 200u);
    EXPECT_EQ(gzipped.header("content-encoding"), "gzip");
    EXPECT_EQ(gunzip(gzipped.body), identity.body);
    EXPECT_NE(gzipped.header("etag"), identity.header("etag"));
    EXPECT_EQ(http_get(port, path, {{"If-None-Match", identity.header("etag")}}).status, 304u);
  }
}

TEST_F(LegacyJsonTest, NeedsATokenWhenTheIndexDoes)
{
  upstream.add_file("legacy-pkg", old_file("legacy_pkg-1.0.tar.gz", 1));
  configure = [](proxy::Config& config) { config.auth.index_requires_token = true; };
  start();
  EXPECT_EQ(http_get(port, "/pypi/legacy-pkg/json").status, 401u);
  EXPECT_EQ(upstream.page_requests("legacy-pkg"), 0);
}

} // namespace
} // namespace airlock::test
