// Reviewers at work through the admin API: tokens and roles, approve, block, unblock, the
// queue, the audit log, and upstream takedowns. In-process server, real LMDB, fake upstream.

#include "review_fixture.hpp"

namespace airlock::test {
namespace {

namespace json = boost::json;

TEST_F(ReviewTest, NoTokenOrUnknownTokenIs401)
{
  start_with_tokens();
  auto response = api("GET", "/queue", "");
  EXPECT_EQ(response.status, 401u);
  EXPECT_EQ(response.header("www-authenticate"), "Bearer realm=\"airlock\"");
  EXPECT_EQ(api("GET", "/queue", "alk_0000000000000000_" + std::string(43, 'A')).status, 401u);
  EXPECT_EQ(api("GET", "/queue", reader.substr(0, reader.size() - 1) + "B").status, 401u)
    << "a token whose secret differs is refused";
  EXPECT_EQ(api("GET", "/queue", reader).status, 200u);
}

TEST_F(ReviewTest, ReaderCannotDecideAndRefusalsChangeNothing)
{
  start_with_tokens();
  const auto refused = decide("approve", reader, "1.82.7");
  EXPECT_EQ(refused.status, 403u);
  EXPECT_NE(refused.body.find("needs reviewer"), std::string::npos) << refused.body;
  EXPECT_EQ(decide("approve", "", "1.82.7").status, 401u);
  EXPECT_EQ(api("POST", "/tokens", reviewer, R"({"name":"x","role":"admin"})").status, 403u);
  EXPECT_EQ(served(), std::vector<std::string>{"litellm-1.82.6-py3-none-any.whl"});
  const auto audit = json::parse(api("GET", "/audit?project=litellm", reader).body);
  EXPECT_TRUE(audit.at("entries").as_array().empty());
}

TEST_F(ReviewTest, ApproveReleasesEarlyForIndexAndDownload)
{
  start_with_tokens();
  EXPECT_EQ(http_get(port, file_url(fresh)).status, 403u);
  const auto approved = decide("approve", reviewer, "1.82.7.0");
  ASSERT_EQ(approved.status, 200u) << approved.body;
  const auto result = json::parse(approved.body);
  EXPECT_EQ(result.at("before").as_string(), "quarantined");
  EXPECT_EQ(result.at("after").as_string(), "approved");
  EXPECT_EQ(served().size(), 2u) << "takes effect at once, without waiting for a refresh";
  const auto download = http_get(port, file_url(fresh));
  EXPECT_EQ(download.status, 200u);
  EXPECT_TRUE(same_bytes(download.body, fresh.content));
}

TEST_F(ReviewTest, BlockWithdrawsACachedReleaseAndUnblockRestoresIt)
{
  start_with_tokens();
  const auto old = old_file("litellm-1.82.6-py3-none-any.whl", 1);
  ASSERT_EQ(http_get(port, file_url(old)).status, 200u); // now cached
  ASSERT_EQ(decide("block", reviewer, "1.82.6", "compromised maintainer account").status, 200u);
  EXPECT_TRUE(served().empty());
  const auto denied = http_get(port, file_url(old));
  EXPECT_EQ(denied.status, 403u);
  EXPECT_NE(denied.body.find("blocked by bob"), std::string::npos) << denied.body;
  EXPECT_NE(denied.body.find("compromised maintainer account"), std::string::npos);

  EXPECT_EQ(decide("approve", reviewer, "1.82.6").status, 409u) << "approve never silently lifts a block";
  ASSERT_EQ(decide("unblock", reviewer, "1.82.6", "false alarm").status, 200u);
  EXPECT_EQ(served(), std::vector<std::string>{"litellm-1.82.6-py3-none-any.whl"});
  EXPECT_EQ(http_get(port, file_url(old)).status, 200u);
  EXPECT_EQ(decide("unblock", reviewer, "1.82.6", "again").status, 404u);

  const auto audit = json::parse(api("GET", "/audit?project=litellm", reader).body).at("entries").as_array();
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].at("actor").as_string(), "bob");
  EXPECT_EQ(audit[0].at("action").as_string(), "block");
  EXPECT_EQ(audit[0].at("before").as_string(), "approved");
  EXPECT_EQ(audit[0].at("after").as_string(), "blocked");
  EXPECT_EQ(audit[0].at("reason").as_string(), "compromised maintainer account");
  EXPECT_EQ(audit[1].at("action").as_string(), "unblock");
  EXPECT_EQ(audit[1].at("after").as_string(), "approved");
}

TEST_F(ReviewTest, ProjectBlockCoversLaterReleases)
{
  start_with_tokens();
  ASSERT_EQ(decide("block", reviewer, "").status, 200u);
  auto later = old_file("litellm-1.83.0-py3-none-any.whl", 3);
  upstream.add_file("litellm", later);
  clock.advance(std::chrono::days{30}); // refresh, and everything is past its window
  EXPECT_TRUE(served().empty());
  EXPECT_EQ(http_get(port, file_url(later)).status, 403u);
}

TEST_F(ReviewTest, BadRequestsAreRefusedWithClearErrors)
{
  start_with_tokens();
  EXPECT_EQ(decide("approve", reviewer, "1.82.7", "").status, 400u);
  EXPECT_EQ(decide("approve", reviewer, "").status, 400u);
  EXPECT_EQ(decide("approve", reviewer, "9.9").status, 404u);
  EXPECT_EQ(api("POST", "/approve", reviewer, "not json").status, 400u);
  EXPECT_EQ(api("POST", "/approve", reviewer, R"({"project": 7, "version": "1", "reason": "x"})").status, 400u);
  EXPECT_EQ(api("GET", "/nothing", reviewer).status, 404u);
  EXPECT_EQ(api("GET", "/approve", reviewer).status, 405u);
}

TEST_F(ReviewTest, QueueAndStatusShowVerdicts)
{
  auto later = old_file("other-2.0-py3-none-any.whl", 4);
  later.upload_time = k_now - 3h;
  upstream.add_file("other", later);
  start_with_tokens();
  ASSERT_EQ(json_page("other").status, 200u);
  const auto status = json::parse(api("GET", "/projects/litellm", reader).body);
  const auto& files = status.at("files").as_array();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[1].at("state").as_string(), "quarantined");
  EXPECT_EQ(files[1].at("until").as_string(), format_rfc3339(*fresh.upload_time + std::chrono::days{7}));
  EXPECT_EQ(files[1].at("upload_time").as_string(), format_rfc3339(*fresh.upload_time));
  EXPECT_FALSE(files[1].at("yanked").as_bool());
  EXPECT_EQ(json::parse(api("GET", "/projects/litellm?version=1.82.7", reader).body).at("files").as_array().size(),
            1u);

  const auto queue = json::parse(api("GET", "/queue", reader).body).at("files").as_array();
  ASSERT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue[0].at("project").as_string(), "other") << "soonest first";
  EXPECT_EQ(queue[1].at("project").as_string(), "litellm");
}

TEST_F(ReviewTest, AdminCreatesTokensThatWork)
{
  start_with_tokens();
  const auto created = api("POST", "/tokens", admin, R"({"name":"ci","role":"reader"})");
  ASSERT_EQ(created.status, 201u) << created.body;
  const auto token = std::string(json::parse(created.body).at("token").as_string());
  const auto whoami = json::parse(api("GET", "/whoami", token).body);
  EXPECT_EQ(whoami.at("name").as_string(), "ci");
  EXPECT_EQ(whoami.at("role").as_string(), "reader");
  const auto audit = json::parse(api("GET", "/audit", reader).body).at("entries").as_array();
  EXPECT_EQ(audit.back().at("action").as_string(), "token-create");
  EXPECT_EQ(audit.back().at("actor").as_string(), "ops");
}

TEST_F(ReviewTest, IndexCanRequireATokenAsPipSendsIt)
{
  configure = [](proxy::Config& config) { config.auth.index_requires_token = true; };
  start_with_tokens();
  const auto challenge = http_get(port, "/simple/litellm/");
  EXPECT_EQ(challenge.status, 401u);
  EXPECT_EQ(challenge.header("www-authenticate"), "Basic realm=\"airlock\"");
  // pip: https://__token__:<token>@host/simple/ -> Basic base64("__token__:<token>")
  const std::string credentials = "__token__:" + reader;
  std::string encoded(sodium_base64_encoded_len(credentials.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(encoded.data(), encoded.size(), reinterpret_cast<const unsigned char*>(credentials.data()),
                    credentials.size(), sodium_base64_VARIANT_ORIGINAL);
  encoded.resize(encoded.find('\0'));
  EXPECT_EQ(http_get(port, "/simple/litellm/", {{"Authorization", "Basic " + encoded}}).status, 200u);
  EXPECT_EQ(http_get(port, "/-/health").status, 200u) << "health stays open for load balancers";
}

TEST_F(ReviewTest, FileRemovedUpstreamStopsBeingServedEvenFromTheCache)
{
  start_with_tokens();
  const auto old = old_file("litellm-1.82.6-py3-none-any.whl", 1);
  ASSERT_EQ(http_get(port, file_url(old)).status, 200u);
  upstream.remove_file("litellm", old.filename);
  clock.advance(1h);
  EXPECT_TRUE(served().empty());
  const auto denied = http_get(port, file_url(old));
  EXPECT_EQ(denied.status, 403u);
  EXPECT_NE(denied.body.find("removed upstream"), std::string::npos) << denied.body;
}

} // namespace
} // namespace airlock::test
