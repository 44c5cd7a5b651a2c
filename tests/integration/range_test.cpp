// Range requests on /files/: 206 and 416 for stored files, the whole file otherwise.

#include "proxy_fixture.hpp"

#include <string>
#include <vector>

namespace airlock::test {
namespace {

class RangeTest : public ProxyTest
{
protected:
  // Serves `file` once (a miss, so from then on it is stored).
  void cache(const FakeFile& file)
  {
    ASSERT_EQ(json_page(project).status, 200u);
    ASSERT_EQ(http_get(port, file_url(file)).status, 200u);
    ASSERT_EQ(wait_for_blob_files(1).size(), 1u);
  }

  HttpResponse get_range(const FakeFile& file, std::string_view range, Headers more = {},
                         const std::string& method = "GET")
  {
    more.emplace_back("Range", std::string(range));
    return http_get(port, file_url(file), more, method);
  }

  std::string project = "ranged";
};

TEST_F(RangeTest, StoredFileAnswersEachFormWith206)
{
  const auto file = old_file("ranged-1.0-py3-none-any.whl", 1, 5000);
  upstream.add_file(project, file);
  start();
  cache(file);
  const std::string& bytes = file.content;
  const auto size = bytes.size();
  const std::string etag = "\"" + file.sha256().hex() + "\"";

  const auto whole = http_get(port, file_url(file));
  EXPECT_EQ(whole.status, 200u);
  EXPECT_EQ(whole.header("accept-ranges"), "bytes");
  EXPECT_EQ(whole.header("content-range"), "");
  EXPECT_TRUE(same_bytes(whole.body, bytes));

  struct Case
  {
    std::string range;
    std::size_t first;
    std::size_t last;
  };
  const Case cases[] = {
    {"bytes=0-9", 0, 9},
    {"bytes=100-199", 100, 199},
    {"bytes=10-", 10, size - 1},
    {"bytes=-10", size - 10, size - 1},
    {"bytes=-99999", 0, size - 1},
    {"bytes=" + std::to_string(size - 5) + "-" + std::to_string(size + 100), size - 5, size - 1},
    {"bytes=0-99999999999999999999999", 0, size - 1},
    {"bytes=" + std::to_string(size - 1) + "-", size - 1, size - 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.range);
    const auto part = get_range(file, c.range);
    ASSERT_EQ(part.status, 206u);
    ASSERT_TRUE(part.complete);
    EXPECT_TRUE(same_bytes(part.body, bytes.substr(c.first, c.last - c.first + 1)));
    EXPECT_EQ(part.header("content-range"),
              "bytes " + std::to_string(c.first) + "-" + std::to_string(c.last) + "/" + std::to_string(size));
    EXPECT_EQ(part.header("content-length"), std::to_string(c.last - c.first + 1));
    EXPECT_EQ(part.header("etag"), etag);
    EXPECT_EQ(part.header("content-type"), whole.header("content-type"));
    EXPECT_EQ(part.header("content-encoding"), "");
  }
  EXPECT_EQ(upstream.file_requests(file.filename), 1);
}

TEST_F(RangeTest, UnsatisfiableIs416AndInvalidOrSeveralRangesGetTheWholeFile)
{
  const auto file = old_file("ranged-1.0-py3-none-any.whl", 2, 3000);
  upstream.add_file(project, file);
  start();
  cache(file);
  const auto size = std::to_string(file.content.size());
  const std::vector<std::string> unsatisfiable = {"bytes=" + size + "-", "bytes=" + size + "-" + size + "0",
                                                  "bytes=-0", "bytes=99999999999999999999999-"};
  for (const auto& range : unsatisfiable) {
    SCOPED_TRACE(range);
    const auto refused = get_range(file, range);
    EXPECT_EQ(refused.status, 416u);
    EXPECT_EQ(refused.header("content-range"), "bytes */" + size);
  }
  for (const std::string_view range : {"bytes=0-1,5-9", "bytes=5-3", "items=0-1", "", "bytes=", "bytes=a-b"}) {
    SCOPED_TRACE(range);
    const auto whole = get_range(file, range);
    EXPECT_EQ(whole.status, 200u);
    EXPECT_EQ(whole.header("content-range"), "");
    EXPECT_TRUE(same_bytes(whole.body, file.content));
  }
  // Two Range fields are a list of two ranges (raw: the test client sets each field once).
  const auto two = raw_exchange(port, "GET " + file_url(file) + " HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n"
                                      "Range: bytes=5-9\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(two.starts_with("HTTP/1.1 200 ")) << two.substr(0, 200);
  EXPECT_TRUE(two.ends_with(file.content));
}

TEST_F(RangeTest, IfRangeAppliesTheRangeOnlyForTheFilesStrongEtag)
{
  const auto file = old_file("ranged-1.0-py3-none-any.whl", 3, 2000);
  upstream.add_file(project, file);
  start();
  cache(file);
  const std::string etag = "\"" + file.sha256().hex() + "\"";
  const auto part = get_range(file, "bytes=0-9", {{"If-Range", etag}});
  EXPECT_EQ(part.status, 206u);
  EXPECT_TRUE(same_bytes(part.body, file.content.substr(0, 10)));
  const std::vector<std::string> others = {"\"0000\"", "W/" + etag, "Tue, 24 Mar 2026 10:00:00 GMT"};
  for (const auto& validator : others) {
    SCOPED_TRACE(validator);
    const auto whole = get_range(file, "bytes=0-9", {{"If-Range", validator}});
    EXPECT_EQ(whole.status, 200u);
    EXPECT_TRUE(same_bytes(whole.body, file.content));
  }
  // Not even a 416 when If-Range does not match: the whole file is the answer.
  EXPECT_EQ(get_range(file, "bytes=999999-", {{"If-Range", "\"0000\""}}).status, 200u);
}

TEST_F(RangeTest, FileNotYetStoredIsSentWholeThenRangesApply)
{
  const auto file = old_file("ranged-1.0-py3-none-any.whl", 4, 4000);
  upstream.add_file(project, file);
  start();
  ASSERT_EQ(json_page(project).status, 200u);
  const auto first = get_range(file, "bytes=0-9");
  EXPECT_EQ(first.status, 200u);
  EXPECT_EQ(first.header("content-range"), "");
  EXPECT_TRUE(same_bytes(first.body, file.content));
  ASSERT_EQ(wait_for_blob_files(1).size(), 1u);
  const auto second = get_range(file, "bytes=0-9");
  EXPECT_EQ(second.status, 206u);
  EXPECT_TRUE(same_bytes(second.body, file.content.substr(0, 10)));
  EXPECT_EQ(upstream.file_requests(file.filename), 1);
}

TEST_F(RangeTest, HeadWithRangeAnswersTheSameHeaderWithoutBody)
{
  const auto file = old_file("ranged-1.0-py3-none-any.whl", 5, 2000);
  upstream.add_file(project, file);
  start();
  cache(file);
  const auto size = std::to_string(file.content.size());
  const auto head = get_range(file, "bytes=10-19", {}, "HEAD");
  EXPECT_EQ(head.status, 206u);
  EXPECT_EQ(head.header("content-range"), "bytes 10-19/" + size);
  EXPECT_EQ(head.header("content-length"), "10");
  EXPECT_EQ(head.body, "");
  const auto refused = get_range(file, "bytes=" + size + "-", {}, "HEAD");
  EXPECT_EQ(refused.status, 416u);
  EXPECT_EQ(refused.header("content-range"), "bytes */" + size);
  EXPECT_EQ(refused.body, "");
  EXPECT_EQ(get_range(file, "bytes=10-19").body, file.content.substr(10, 10));
}

TEST_F(RangeTest, LargeFileRangeFarIntoTheFile)
{
  const auto file = old_file("ranged-1.0-py3-none-any.whl", 6, 3u << 20);
  upstream.add_file(project, file);
  start();
  cache(file);
  const auto part = get_range(file, "bytes=2000000-2999999");
  ASSERT_EQ(part.status, 206u);
  ASSERT_TRUE(part.complete);
  EXPECT_TRUE(same_bytes(part.body, file.content.substr(2000000, 1000000)));
}

TEST_F(RangeTest, QuarantinedFileWithRangeIsStill403)
{
  upstream.add_file(project, old_file("ranged-1.0-py3-none-any.whl", 7));
  auto fresh = old_file("ranged-2.0.tar.gz", 8);
  fresh.upload_time = k_now - std::chrono::hours{1};
  upstream.add_file(project, fresh);
  start();
  ASSERT_EQ(json_page(project).status, 200u);
  for (const std::string_view range : {"bytes=0-9", "bytes=999999-", "bytes=0-1,3-4"}) {
    SCOPED_TRACE(range);
    EXPECT_EQ(get_range(fresh, range).status, 403u);
    EXPECT_EQ(get_range(fresh, range, {}, "HEAD").status, 403u);
  }
  EXPECT_EQ(upstream.file_requests(fresh.filename), 0);
  // A file the proxy never saw listed stays 404.
  EXPECT_EQ(http_get(port, "/files/" + std::string(64, 'a') + "/nothing-1.0.tar.gz", {{"Range", "bytes=0-9"}}).status,
            404u);
}

} // namespace
} // namespace airlock::test
