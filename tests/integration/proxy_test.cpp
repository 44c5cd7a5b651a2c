// The proxy end to end in-process: pages, files, and what upstream does wrong.

#include "proxy_fixture.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <thread>

namespace airlock::test {
namespace {

TEST_F(ProxyTest, HealthAnswers)
{
  start();
  const auto response = http_get(port, "/-/health");
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(response.body, "ok\n");
}

TEST_F(ProxyTest, ServesJsonAndHtmlWithRewrittenUrlsSizeAndUploadTime)
{
  auto file = old_file("alpha-1.0-py3-none-any.whl", 1);
  file.requires_python = ">=3.8";
  upstream.add_file("alpha", file);
  start();

  const auto json = json_page("alpha");
  ASSERT_EQ(json.status, 200u) << json.body;
  EXPECT_EQ(json.header("content-type"), "application/vnd.pypi.simple.v1+json");
  EXPECT_EQ(json.header("vary"), "Accept, Accept-Encoding");
  EXPECT_EQ(json.header("content-encoding"), "") << "no Accept-Encoding, no gzip";
  const auto page = boost::json::parse(json.body).as_object();
  const auto& entry = page.at("files").as_array().at(0).as_object();
  EXPECT_EQ(entry.at("url").as_string(), "../../files/" + file.sha256().hex() + "/" + file.filename);
  EXPECT_EQ(entry.at("hashes").at("sha256").as_string(), file.sha256().hex());
  EXPECT_EQ(entry.at("size").as_int64(), 1000);
  EXPECT_EQ(entry.at("upload-time").as_string(), format_rfc3339(*file.upload_time));
  EXPECT_EQ(entry.at("requires-python").as_string(), ">=3.8");

  const auto html = http_get(port, "/simple/alpha/");
  ASSERT_EQ(html.status, 200u);
  EXPECT_NE(html.header("content-type").find("text/html"), std::string::npos);
  EXPECT_NE(html.body.find("#sha256=" + file.sha256().hex()), std::string::npos);
  EXPECT_NE(html.body.find("data-requires-python=\"&gt;=3.8\""), std::string::npos);
  EXPECT_EQ(upstream.page_requests("alpha"), 1) << "the second representation came from the same listing";
}

TEST_F(ProxyTest, PagesAreGzippedOnceForClientsThatAcceptItAndFilesNever)
{
  std::vector<FakeFile> files;
  for (int i = 0; i < 200; ++i) {
    upstream.add_file("zipped", old_file(fmt::format("zipped-1.{}-py3-none-any.whl", i), 100 + i));
  }
  const auto file = old_file("zipped-2.0-py3-none-any.whl", 99);
  upstream.add_file("zipped", file);
  start();
  for (const char* accept : {"application/vnd.pypi.simple.v1+json", "text/html"}) {
    const auto identity = http_get(port, "/simple/zipped/", {{"Accept", accept}});
    ASSERT_EQ(identity.status, 200u);
    const auto gzipped = http_get(port, "/simple/zipped/", {{"Accept", accept}, {"Accept-Encoding", "gzip, deflate"}});
    ASSERT_EQ(gzipped.status, 200u);
    EXPECT_EQ(gzipped.header("content-encoding"), "gzip");
    EXPECT_EQ(gzipped.header("vary"), "Accept, Accept-Encoding");
    EXPECT_EQ(gunzip(gzipped.body), identity.body);
    // Each file's sha256 is 32 bytes no compressor can shrink: on these short entries that is
    // about 15% of the page; the rest must go.
    EXPECT_LT(gzipped.body.size() * 100, identity.body.size() * 25) << "under 25% of the identity body";
    EXPECT_NE(gzipped.header("etag"), identity.header("etag")) << "ETags differ per encoding";
    // Conditional requests compare with the ETag of the encoding they would get.
    EXPECT_EQ(http_get(port, "/simple/zipped/",
                       {{"Accept", accept}, {"Accept-Encoding", "gzip"}, {"If-None-Match", gzipped.header("etag")}})
                .status,
              304u);
    EXPECT_EQ(http_get(port, "/simple/zipped/", {{"Accept", accept}, {"If-None-Match", gzipped.header("etag")}}).status,
              200u);
    EXPECT_EQ(http_get(port, "/simple/zipped/", {{"Accept", accept}, {"Accept-Encoding", "gzip;q=0"}})
                .header("content-encoding"),
              "");
  }
  const auto download = http_get(port, file_url(file), {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(download.status, 200u);
  EXPECT_EQ(download.header("content-encoding"), "") << "wheels and sdists are compressed already";
  EXPECT_TRUE(same_bytes(download.body, file.content));
}

TEST_F(ProxyTest, NegotiationRedirectAndConditionalRequests)
{
  upstream.add_file("alpha-pkg", old_file("alpha_pkg-1.0-py3-none-any.whl", 1));
  start();
  EXPECT_EQ(http_get(port, "/simple/alpha-pkg/", {{"Accept", "application/xml"}}).status, 406u);
  const auto redirect = http_get(port, "/simple/Alpha_Pkg/");
  EXPECT_EQ(redirect.status, 301u);
  EXPECT_EQ(redirect.header("location"), "../alpha-pkg/");
  EXPECT_EQ(http_get(port, "/simple/alpha-pkg").header("location"), "alpha-pkg/");

  const auto first = json_page("alpha-pkg");
  ASSERT_EQ(first.status, 200u);
  const auto etag = first.header("etag");
  ASSERT_FALSE(etag.empty());
  const auto again = http_get(port, "/simple/alpha-pkg/",
                              {{"Accept", "application/vnd.pypi.simple.v1+json"}, {"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304u);
  EXPECT_TRUE(again.body.empty());
  const auto forced = http_get(port, "/simple/alpha-pkg/?format=application/vnd.pypi.simple.v1%2Bjson");
  EXPECT_EQ(forced.header("content-type"), "application/vnd.pypi.simple.v1+json");
}

TEST_F(ProxyTest, UnknownProjectIs404AndBadNamesAreRejected)
{
  start();
  EXPECT_EQ(http_get(port, "/simple/nothing-here/").status, 404u);
  EXPECT_EQ(http_get(port, "/simple/..%2F..%2Fetc/").status, 400u);
  EXPECT_EQ(http_get(port, "/simple/a%00b/").status, 400u);
  EXPECT_EQ(http_get(port, "/files/../../etc/passwd").status, 400u);
}

TEST_F(ProxyTest, QuarantinedFileIsHiddenAnd403UntilItsWindowEnds)
{
  upstream.add_file("gamma", old_file("gamma-1.0-py3-none-any.whl", 1));
  // An sdist: the fake's payloads are not zip archives, and a wheel that cannot be inspected
  // is held.
  auto fresh = old_file("gamma-2.0.tar.gz", 2);
  fresh.upload_time = k_now - 1h;
  upstream.add_file("gamma", fresh);
  configure = [](proxy::Config& config) { config.upstream.refresh = std::chrono::days{30}; };
  start();

  auto page = json_page("gamma");
  ASSERT_EQ(page.status, 200u);
  EXPECT_EQ(filenames(page), std::vector<std::string>{"gamma-1.0-py3-none-any.whl"});
  const auto airlock = boost::json::parse(page.body).at("_airlock").as_object();
  EXPECT_EQ(airlock.at("withheld").as_int64(), 1);
  EXPECT_EQ(airlock.at("next_available").as_string(), format_rfc3339(*fresh.upload_time + std::chrono::days{7}));

  const auto denied = http_get(port, file_url(fresh));
  EXPECT_EQ(denied.status, 403u);
  EXPECT_NE(denied.body.find("quarantined until " + format_rfc3339(*fresh.upload_time + std::chrono::days{7})),
            std::string::npos)
    << denied.body;
  EXPECT_NE(denied.reason.find("quarantined"), std::string::npos) << denied.reason;
  EXPECT_EQ(upstream.file_requests(fresh.filename), 0);

  // The window ends: served without a restart and without asking upstream again.
  clock.advance(std::chrono::days{7});
  page = json_page("gamma");
  EXPECT_EQ(filenames(page).size(), 2u);
  EXPECT_EQ(upstream.page_requests("gamma"), 1);
  const auto served = http_get(port, file_url(fresh));
  EXPECT_EQ(served.status, 200u);
  EXPECT_TRUE(same_bytes(served.body, fresh.content));
}

TEST_F(ProxyTest, FileWithoutUploadTimeAgesFromFirstSight)
{
  auto file = old_file("undated-1.0.tar.gz", 3);
  file.upload_time.reset();
  upstream.add_file("undated", file);
  start();
  EXPECT_TRUE(filenames(json_page("undated")).empty());
  clock.advance(std::chrono::days{7});
  EXPECT_EQ(filenames(json_page("undated")).size(), 1u);
}

TEST_F(ProxyTest, FilesAreFetchedOnceThenServedFromTheCache)
{
  auto file = old_file("big-1.0-py3-none-any.whl", 4, 3u << 20);
  upstream.add_file("big", file);
  start();
  ASSERT_EQ(json_page("big").status, 200u);
  const auto first = http_get(port, file_url(file));
  ASSERT_EQ(first.status, 200u);
  ASSERT_TRUE(first.complete);
  EXPECT_TRUE(same_bytes(first.body, file.content));
  const auto second = http_get(port, file_url(file));
  EXPECT_TRUE(same_bytes(second.body, file.content));
  EXPECT_EQ(upstream.file_requests(file.filename), 1);
  EXPECT_EQ(second.header("etag"), "\"" + file.sha256().hex() + "\"");
  const auto head = http_get(port, file_url(file), {}, "HEAD");
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("content-length"), std::to_string(file.content.size()));
}

TEST_F(ProxyTest, BlobRemovedFromOutsideIsFetchedAgain)
{
  // Served files are kept open between downloads; fsck --repair may delete a blob meanwhile.
  const auto file = old_file("gone-1.0-py3-none-any.whl", 41, 50'000);
  upstream.add_file("gone", file);
  start();
  ASSERT_EQ(json_page("gone").status, 200u);
  ASSERT_TRUE(same_bytes(http_get(port, file_url(file)).body, file.content));
  ASSERT_TRUE(same_bytes(http_get(port, file_url(file)).body, file.content)); // from the cache
  const auto blobs = wait_for_blob_files(1);
  ASSERT_EQ(blobs.size(), 1u);
  std::filesystem::remove(blobs.front());
  const auto again = http_get(port, file_url(file));
  EXPECT_EQ(again.status, 200u);
  EXPECT_TRUE(same_bytes(again.body, file.content));
  EXPECT_EQ(upstream.file_requests(file.filename), 2)
    << "a deleted blob is fetched again, not served from a stale descriptor";
  EXPECT_EQ(wait_for_blob_files(1).size(), 1u);
}

TEST_F(ProxyTest, ConcurrentRequestsForOneMissingFileCauseOneDownload)
{
  auto file = old_file("popular-1.0-py3-none-any.whl", 5, 1u << 20);
  file.behaviour = FileBehaviour::slow; // keeps the download in flight while the others arrive
  upstream.add_file("popular", file);
  start();
  ASSERT_EQ(json_page("popular").status, 200u);
  std::vector<std::future<HttpResponse>> requests;
  for (int i = 0; i < 8; ++i) {
    requests.push_back(std::async(std::launch::async, [&] { return http_get(port, file_url(file)); }));
  }
  for (auto& request : requests) {
    const auto response = request.get();
    EXPECT_EQ(response.status, 200u);
    EXPECT_TRUE(same_bytes(response.body, file.content));
  }
  EXPECT_EQ(upstream.file_requests(file.filename), 1);
}

TEST_F(ProxyTest, CorruptBytesAreNeverCompletedNorCached)
{
  auto file = old_file("delta-1.0-py3-none-any.whl", 6, 600'000);
  file.behaviour = FileBehaviour::corrupt;
  auto small = old_file("delta-0.9-py3-none-any.whl", 14, 1000);
  small.behaviour = FileBehaviour::corrupt;
  upstream.add_file("delta", file);
  upstream.add_file("delta", small);
  start();
  ASSERT_EQ(json_page("delta").status, 200u);
  const auto response = http_get(port, file_url(file));
  EXPECT_FALSE(response.complete && response.status == 200u && response.body.size() == file.content.size())
    << "a client must never complete a response with wrong bytes";
  // A file that fits in one read is refused before any byte of it is sent: a clear 502.
  const auto refused = http_get(port, file_url(small));
  EXPECT_EQ(refused.status, 502u);
  EXPECT_NE(refused.body.find("sha256 mismatch"), std::string::npos) << refused.body;
  EXPECT_TRUE(blob_files().empty());

  // Upstream heals: the next request fetches good bytes and caches them.
  upstream.set_file_behaviour(file.filename, FileBehaviour::normal);
  const auto healed = http_get(port, file_url(file));
  EXPECT_EQ(healed.status, 200u);
  EXPECT_TRUE(same_bytes(healed.body, file.content));
  // The next request is served from the cache (or waits for the commit of the one before).
  EXPECT_TRUE(same_bytes(http_get(port, file_url(file)).body, file.content));
  EXPECT_EQ(upstream.file_requests(file.filename), 2);
  const auto blobs = blob_files();
  ASSERT_EQ(blobs.size(), 1u);
  EXPECT_EQ(blobs.front().filename(), file.sha256().hex());
}

TEST_F(ProxyTest, TruncatedOversizedAndFailingDownloadsAreRefused)
{
  auto truncated = old_file("trunc-1.0-py3-none-any.whl", 7, 500'000);
  truncated.behaviour = FileBehaviour::truncate;
  auto oversize = old_file("trunc-1.1-py3-none-any.whl", 8, 500'000);
  oversize.behaviour = FileBehaviour::oversize;
  auto failing = old_file("trunc-1.2-py3-none-any.whl", 9);
  failing.behaviour = FileBehaviour::error_500;
  upstream.add_file("trunc", truncated);
  upstream.add_file("trunc", oversize);
  upstream.add_file("trunc", failing);
  start();
  ASSERT_EQ(json_page("trunc").status, 200u);
  const auto a = http_get(port, file_url(truncated));
  EXPECT_FALSE(a.complete && a.status == 200u);
  const auto b = http_get(port, file_url(oversize));
  EXPECT_FALSE(b.complete && b.status == 200u);
  const auto c = http_get(port, file_url(failing));
  EXPECT_EQ(c.status, 502u);
  EXPECT_TRUE(blob_files().empty());
}

TEST_F(ProxyTest, ChunkedBodiesOfUndeclaredSizeAreVerifiedBeforeTheirEnd)
{
  // An HTML page declares no size and the body comes chunked: the end shows only at EOF, so
  // the relay holds back its latest chunk until it knows the hash.
  const auto add = [&](const std::string& filename, int seed, std::size_t size, FileBehaviour behaviour) {
    auto file = old_file(filename, seed, size);
    file.behaviour = behaviour;
    upstream.add_file("chunky", file);
    return file;
  };
  const auto good = add("chunky-1.0.tar.gz", 12, 300'000, FileBehaviour::chunked);
  const auto bad = add("chunky-1.1.tar.gz", 13, 300'000, FileBehaviour::chunked_corrupt);
  upstream.set_page_behaviour("chunky", PageBehaviour::html);
  start();
  ASSERT_EQ(json_page("chunky").status, 200u);
  clock.advance(std::chrono::days{8}); // HTML has no upload-time: files age from first sight
  ASSERT_EQ(filenames(json_page("chunky")).size(), 2u);

  const auto served = http_get(port, file_url(good));
  EXPECT_EQ(served.status, 200u);
  EXPECT_TRUE(served.complete);
  EXPECT_EQ(served.header("transfer-encoding"), "chunked");
  EXPECT_TRUE(same_bytes(served.body, good.content));
  const auto refused = http_get(port, file_url(bad));
  EXPECT_FALSE(refused.complete && refused.status == 200u && refused.body.size() == bad.content.size())
    << "a client must never complete a response with wrong bytes";
  EXPECT_LT(refused.body.size(), bad.content.size());
  // Served again from the cache (or after waiting for the commit of the first download).
  EXPECT_TRUE(same_bytes(http_get(port, file_url(good)).body, good.content));
  EXPECT_EQ(upstream.file_requests(good.filename), 1);
  const auto blobs = blob_files();
  ASSERT_EQ(blobs.size(), 1u);
  EXPECT_EQ(blobs.front().filename(), good.sha256().hex());

  // HTTP/1.0 has no chunks: the body ends with the connection. HEAD gets the header alone.
  const auto plain = add("chunky-1.2.tar.gz", 15, 200'000, FileBehaviour::chunked);
  const auto headed = add("chunky-1.3.tar.gz", 16, 200'000, FileBehaviour::chunked);
  clock.advance(std::chrono::hours{1}); // past the listing's refresh
  ASSERT_EQ(json_page("chunky").status, 200u);
  clock.advance(std::chrono::days{8});
  ASSERT_EQ(filenames(json_page("chunky")).size(), 4u);
  const std::string old_http = raw_exchange(port, "GET " + file_url(plain) + " HTTP/1.0\r\n\r\n");
  const auto split = old_http.find("\r\n\r\n");
  ASSERT_NE(split, std::string::npos) << old_http.substr(0, 200);
  const std::string head = old_http.substr(0, split);
  EXPECT_TRUE(head.starts_with("HTTP/1.0 200 OK")) << head;
  EXPECT_EQ(head.find("chunked"), std::string::npos) << head;
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
  EXPECT_TRUE(same_bytes(old_http.substr(split + 4), plain.content));
  const std::string head_only =
    raw_exchange(port, "HEAD " + file_url(headed) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(head_only.starts_with("HTTP/1.1 200 OK")) << head_only.substr(0, 200);
  EXPECT_TRUE(head_only.ends_with("Transfer-Encoding: chunked\r\n\r\n")) << head_only;
}

TEST_F(ProxyTest, HttpsUpstreamIsVerifiedThenRelayedAndCached)
{
  // PyPI is HTTPS: the certificate is checked, and the relay reads through TLS.
  const std::string certificate = upstream.use_tls();
  auto wheel = old_file("secure-1.0-py3-none-any.whl", 17, 700'000);
  wheel.metadata = "Metadata-Version: 2.1\nName: secure\nVersion: 1.0\n";
  auto corrupt = old_file("secure-1.1-py3-none-any.whl", 18, 300'000);
  corrupt.behaviour = FileBehaviour::corrupt;
  auto truncated = old_file("secure-1.2-py3-none-any.whl", 19, 300'000);
  truncated.behaviour = FileBehaviour::truncate;
  for (const auto& file : {wheel, corrupt, truncated}) {
    upstream.add_file("secure", file);
  }

  // A certificate nobody trusts: nothing is fetched over that connection.
  start();
  const auto untrusted = json_page("secure");
  EXPECT_EQ(untrusted.status, 502u);
  EXPECT_NE(untrusted.body.find("certificate verify failed"), std::string::npos) << untrusted.body;
  EXPECT_EQ(upstream.page_requests("secure"), 0);
  stop();

  hooks.upstream_ca_file = (dir.path() / "upstream-ca.pem").string();
  write_file(hooks.upstream_ca_file, certificate);
  start();
  ASSERT_EQ(json_page("secure").status, 200u);
  const auto served = http_get(port, file_url(wheel));
  EXPECT_EQ(served.status, 200u);
  EXPECT_TRUE(served.complete);
  EXPECT_TRUE(same_bytes(served.body, wheel.content));
  EXPECT_TRUE(same_bytes(http_get(port, file_url(wheel) + ".metadata").body, *wheel.metadata));
  for (const auto* refused : {&corrupt, &truncated}) {
    const auto response = http_get(port, file_url(*refused));
    EXPECT_FALSE(response.complete && response.status == 200u && response.body.size() == refused->content.size())
      << refused->filename;
  }
  EXPECT_TRUE(same_bytes(http_get(port, file_url(wheel)).body, wheel.content));
  EXPECT_EQ(upstream.file_requests(wheel.filename), 1);
  // Blobs are committed just after their response.
  const auto blobs = wait_for_blob_files(2);
  EXPECT_EQ(blobs.size(), 2u) << "the wheel and its metadata, nothing of the refused files";
}

TEST_F(ProxyTest, CoreMetadataIsServedVerified)
{
  auto file = old_file("meta-1.0-py3-none-any.whl", 10);
  file.metadata = "Metadata-Version: 2.1\nName: meta\nVersion: 1.0\n";
  upstream.add_file("meta", file);
  start();
  const auto page = boost::json::parse(json_page("meta").body).as_object();
  const auto& entry = page.at("files").as_array().at(0).as_object();
  EXPECT_EQ(entry.at("core-metadata").at("sha256").as_string(), Sha256::of(*file.metadata).hex());
  const auto metadata = http_get(port, file_url(file) + ".metadata");
  EXPECT_EQ(metadata.status, 200u);
  EXPECT_EQ(metadata.body, *file.metadata);
  EXPECT_EQ(http_get(port, file_url(file) + ".metadata").body, *file.metadata);
  EXPECT_EQ(upstream.file_requests(file.filename + ".metadata"), 1);
}

TEST_F(ProxyTest, HtmlOnlyUpstreamIsUnderstood)
{
  upstream.add_file("htmlonly", old_file("htmlonly-1.0.tar.gz", 11));
  upstream.set_page_behaviour("htmlonly", PageBehaviour::html);
  start();
  // HTML carries no upload-time: the file ages from first sight, which later refreshes keep.
  EXPECT_EQ(filenames(json_page("htmlonly")).size(), 0u);
  clock.advance(std::chrono::days{8});
  EXPECT_EQ(filenames(json_page("htmlonly")).size(), 1u);
  EXPECT_EQ(upstream.page_requests("htmlonly"), 2);
}

TEST_F(ProxyTest, UpstreamFailureKeepsServingTheLastGoodListing)
{
  upstream.add_file("steady", old_file("steady-1.0-py3-none-any.whl", 12));
  start();
  ASSERT_EQ(filenames(json_page("steady")).size(), 1u);
  clock.advance(1h); // past [upstream] refresh
  upstream.set_page_behaviour("steady", PageBehaviour::error_500);
  auto page = json_page("steady");
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(filenames(page).size(), 1u);
  clock.advance(1h);
  upstream.set_page_behaviour("steady", PageBehaviour::malformed);
  page = json_page("steady");
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(upstream.page_requests("steady"), 3);
}

TEST_F(ProxyTest, BrokenUpstreamWithNothingStoredIs502AndHungIs504)
{
  upstream.add_file("broken", old_file("broken-1.0.tar.gz", 13));
  upstream.set_page_behaviour("broken", PageBehaviour::malformed);
  upstream.add_file("huge", old_file("huge-1.0.tar.gz", 14));
  upstream.set_page_behaviour("huge", PageBehaviour::oversize);
  upstream.add_file("sleepy", old_file("sleepy-1.0.tar.gz", 15));
  upstream.set_page_behaviour("sleepy", PageBehaviour::slow);
  start();
  EXPECT_EQ(json_page("broken").status, 502u);
  EXPECT_EQ(json_page("huge").status, 502u);
  const auto slow = json_page("sleepy");
  EXPECT_EQ(slow.status, 504u) << "a 2 s timeout must cut a 3 s upstream";
  EXPECT_NE(slow.body.find("upstream timed out"), std::string::npos) << slow.body;
}

TEST_F(ProxyTest, NewUpstreamReleaseAppearsAfterRefreshQuarantined)
{
  upstream.add_file("growing", old_file("growing-1.0-py3-none-any.whl", 16));
  start();
  ASSERT_EQ(filenames(json_page("growing")).size(), 1u);
  auto fresh = old_file("growing-2.0-py3-none-any.whl", 17);
  fresh.upload_time = k_now + 1h;
  upstream.add_file("growing", fresh);
  clock.advance(2h);
  const auto page = json_page("growing");
  EXPECT_EQ(filenames(page).size(), 1u);
  EXPECT_EQ(boost::json::parse(page.body).at("_airlock").at("withheld").as_int64(), 1);
  EXPECT_EQ(http_get(port, file_url(fresh)).status, 403u);
}

TEST_F(ProxyTest, HostileRequestsGetClear4xx)
{
  start();
  const auto huge_header = raw_exchange(
    port, "GET /simple/ HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  EXPECT_NE(huge_header.find(" 431 "), std::string::npos) << huge_header.substr(0, 200);
  const auto garbage = raw_exchange(port, "\x01\x02 nonsense\r\n\r\n");
  EXPECT_NE(garbage.find(" 400 "), std::string::npos) << garbage.substr(0, 200);
  EXPECT_EQ(http_get(port, "/simple/", {}, "POST").status, 405u);
  EXPECT_EQ(http_get(port, "/-/health").status, 200u) << "the server survives";
}

TEST_F(ProxyTest, MetricsCountRequestsCacheAndStates)
{
  auto fresh = old_file("metric-2.0-py3-none-any.whl", 19);
  fresh.upload_time = k_now - 1h;
  const auto old = old_file("metric-1.0-py3-none-any.whl", 20);
  upstream.add_file("metric", old);
  upstream.add_file("metric", fresh);
  start();
  ASSERT_EQ(json_page("metric").status, 200u);
  ASSERT_EQ(http_get(port, file_url(old)).status, 200u);
  ASSERT_EQ(http_get(port, file_url(old)).status, 200u);
  ASSERT_EQ(http_get(port, file_url(fresh)).status, 403u);
  const std::vector<std::string> expectations = {
    "airlock_requests_total{route=\"simple_project\",status=\"200\"} 1\n",
    "airlock_requests_total{route=\"files\",status=\"200\"} 2\n",
    "airlock_requests_total{route=\"files\",status=\"403\"} 1\n",
    "airlock_cache_hits_total 1\n",
    "airlock_cache_misses_total 1\n",
    "airlock_files{state=\"approved\"} 1\n",
    "airlock_files{state=\"quarantined\"} 1\n",
    "airlock_request_duration_seconds_count{route=\"files\"} 3\n",
    "airlock_bytes_served_total{route=\"files\"} ",
  };
  // A request is counted once its response is written, so a client can read the response a
  // moment before the count moves (and scrape on another connection in that moment): scrape
  // until the counts are there, for a bounded time.
  HttpResponse scraped;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    scraped = http_get(port, "/-/metrics");
    ASSERT_EQ(scraped.status, 200u);
    const bool all = std::all_of(expectations.begin(), expectations.end(),
                                 [&](const std::string& e) { return scraped.body.find(e) != std::string::npos; });
    if (all || std::chrono::steady_clock::now() > deadline) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(scraped.header("content-type").find("text/plain; version=0.0.4"), std::string::npos);
  const auto& text = scraped.body;
  for (const auto& expected : expectations) {
    EXPECT_NE(text.find(expected), std::string::npos) << "missing: " << expected << "\n" << text;
  }
}

TEST_F(ProxyTest, RootListsKnownProjects)
{
  upstream.add_file("alpha", old_file("alpha-1.0.tar.gz", 18));
  start();
  ASSERT_EQ(json_page("alpha").status, 200u);
  const auto root = http_get(port, "/simple/", {{"Accept", "application/vnd.pypi.simple.v1+json"}});
  ASSERT_EQ(root.status, 200u);
  EXPECT_EQ(boost::json::parse(root.body).at("projects").as_array().size(), 1u);
  EXPECT_NE(http_get(port, "/simple/").body.find("alpha/"), std::string::npos);
}

} // namespace
} // namespace airlock::test
