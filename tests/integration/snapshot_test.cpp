// Snapshots: frozen views for CI that later approvals do not change, and that later blocks
// still reach. In-process server, real LMDB, fake upstream.

#include "review_fixture.hpp"

#include <airlock/tuf/client.hpp>
#include <airlock/tuf/repository.hpp>

#include <thread>

namespace airlock::test {
namespace {

namespace json = boost::json;

class SnapshotTest : public ReviewTest
{
protected:
  HttpResponse snapshot_page(const std::string& snapshot, const std::string& project)
  {
    return http_get(port, "/snapshots/" + snapshot + "/simple/" + project + "/",
                    {{"Accept", "application/vnd.pypi.simple.v1+json"}});
  }

  HttpResponse create(const std::string& name, const std::string& token)
  {
    return api("POST", "/snapshots", token, json::serialize(json::object{{"name", name}}));
  }
};

TEST_F(SnapshotTest, ApprovalsAfterTheSnapshotDoNotChangeIt)
{
  start_with_tokens();
  const auto created = create("ci-2026-03", admin);
  ASSERT_EQ(created.status, 201u) << created.body;
  const auto record = json::parse(created.body);
  EXPECT_EQ(record.at("files").as_int64(), 1);
  EXPECT_EQ(record.at("created_by").as_string(), "ops");

  ASSERT_EQ(decide("approve", reviewer, "1.82.7").status, 200u);
  EXPECT_EQ(served().size(), 2u) << "the live index has the approved release";
  const auto frozen = snapshot_page("ci-2026-03", "litellm");
  ASSERT_EQ(frozen.status, 200u);
  EXPECT_EQ(filenames(frozen), std::vector<std::string>{"litellm-1.82.6-py3-none-any.whl"});
  const auto entry = json::parse(frozen.body).at("files").as_array().at(0);
  EXPECT_EQ(entry.at("url").as_string(),
            "../../../../files/" + old_file("litellm-1.82.6-py3-none-any.whl", 1).sha256().hex() + "/litellm-1.82.6-py3-none-any.whl");

  const auto html = http_get(port, "/snapshots/ci-2026-03/simple/litellm/");
  EXPECT_NE(html.body.find("litellm-1.82.6"), std::string::npos);
  EXPECT_EQ(html.body.find("litellm-1.82.7"), std::string::npos);
  EXPECT_EQ(http_get(port, "/snapshots/ci-2026-03/simple/LiteLLM/").header("location"), "../litellm/");
  const auto root = http_get(port, "/snapshots/ci-2026-03/simple/", {{"Accept", "application/vnd.pypi.simple.v1+json"}});
  EXPECT_EQ(json::parse(root.body).at("projects").as_array().size(), 1u);
}

TEST_F(SnapshotTest, ALaterBlockIsWithheldFromTheSnapshotAndAudited)
{
  start_with_tokens();
  ASSERT_EQ(create("frozen", admin).status, 201u);
  ASSERT_EQ(decide("block", reviewer, "1.82.6", "malicious .pth").status, 200u);
  EXPECT_TRUE(filenames(snapshot_page("frozen", "litellm")).empty());
  const auto audit = json::parse(api("GET", "/audit?project=litellm", reader).body).at("entries").as_array();
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[1].at("action").as_string(), "snapshot-withhold");
  EXPECT_NE(std::string(audit[1].at("reason").as_string()).find("frozen"), std::string::npos);
  const auto shown = json::parse(api("GET", "/snapshots/frozen", reader).body);
  EXPECT_TRUE(shown.at("served_files").as_array().empty());
}

// Only security withholds what a snapshot froze: a longer window configured since makes its
// files quarantined on the live index, and the snapshot still lists and serves them.
TEST_F(SnapshotTest, ALongerWindowConfiguredLaterDoesNotWithholdFrozenFiles)
{
  start_with_tokens();
  ASSERT_EQ(create("frozen", admin).status, 201u);
  const auto old = old_file("litellm-1.82.6-py3-none-any.whl", 1);
  const std::string url = "/files/" + old.sha256().hex() + "/" + old.filename;
  const std::string fresh_url = "/files/" + fresh.sha256().hex() + "/" + fresh.filename;
  stop();
  configure = [](proxy::Config& config) { config.policy.quarantine = std::chrono::days{60}; };
  start_with_tokens();

  EXPECT_TRUE(served().empty()) << "30 days old is quarantined under a 60-day window";
  EXPECT_EQ(filenames(snapshot_page("frozen", "litellm")), std::vector<std::string>{old.filename});
  const auto download = http_get(port, url);
  ASSERT_EQ(download.status, 200u) << download.body;
  EXPECT_EQ(download.body, old.content);
  EXPECT_EQ(http_get(port, fresh_url).status, 403u) << "a file no snapshot froze stays withheld";

  // Security still reaches it: blocked, it is withheld from the snapshot and its URL.
  ASSERT_EQ(decide("block", reviewer, "1.82.6", "compromised").status, 200u);
  EXPECT_TRUE(filenames(snapshot_page("frozen", "litellm")).empty());
  EXPECT_EQ(http_get(port, url).status, 403u);
}

// A takedown upstream is security too: the snapshot withholds the file from its pages (pip
// resolves around it) and the TUF metadata follows the changed page.
TEST_F(SnapshotTest, ATakedownUpstreamIsWithheldFromTheSnapshotAndSignedAgain)
{
  ASSERT_TRUE(tuf::Repository::init(dir.path() / "data" / "tuf", clock.now()));
  start_with_tokens();
  ASSERT_EQ(create("frozen", admin).status, 201u);
  const auto old = old_file("litellm-1.82.6-py3-none-any.whl", 1);
  ASSERT_EQ(filenames(snapshot_page("frozen", "litellm")), std::vector<std::string>{old.filename});

  upstream.remove_file("litellm", old.filename);
  clock.advance(std::chrono::minutes{11}); // past [upstream] refresh
  (void)json_page("litellm");
  const auto page = snapshot_page("frozen", "litellm");
  EXPECT_TRUE(filenames(page).empty()) << page.body;
  EXPECT_EQ(http_get(port, "/files/" + old.sha256().hex() + "/" + old.filename).status, 403u);
  // The audit log has the takedown and what it withheld from the snapshot.
  const auto audit = json::parse(api("GET", "/audit?project=litellm", reader).body).at("entries").as_array();
  std::vector<std::string> actions;
  for (const auto& entry : audit) {
    EXPECT_EQ(entry.at("actor").as_string(), "upstream");
    actions.emplace_back(entry.at("action").as_string());
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"upstream-removal", "snapshot-withhold"}));
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].at("filename").as_string(), old.filename);
  EXPECT_NE(std::string(audit[1].at("reason").as_string()).find("frozen"), std::string::npos);

  EXPECT_EQ(wait_until_signed("snapshots/frozen/simple/litellm/index.json", page.body), "");
}

TEST_F(SnapshotTest, NamesRolesAndUnknownSnapshots)
{
  start_with_tokens();
  EXPECT_EQ(create("x", reviewer).status, 403u);
  EXPECT_EQ(create("../etc", admin).status, 400u);
  EXPECT_EQ(create("", admin).status, 400u);
  ASSERT_EQ(create("once", admin).status, 201u);
  EXPECT_EQ(create("once", admin).status, 409u);
  EXPECT_EQ(http_get(port, "/snapshots/never/simple/litellm/").status, 404u);
  EXPECT_EQ(http_get(port, "/snapshots/once/simple/unknown-project/").status, 404u);
  EXPECT_EQ(api("GET", "/snapshots/never", reader).status, 404u);
  const auto list = json::parse(api("GET", "/snapshots", reader).body).at("snapshots").as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("name").as_string(), "once");
}

TEST_F(SnapshotTest, TufSignsWhatSnapshotsServeAndResignsAfterABlock)
{
  ASSERT_TRUE(tuf::Repository::init(dir.path() / "data" / "tuf", clock.now()));
  start_with_tokens();
  ASSERT_EQ(create("signed", admin).status, 201u);
  const auto root = http_get(port, "/tuf/metadata/1.root.json");
  ASSERT_EQ(root.status, 200u);
  const tuf::Fetch fetch = tuf_fetch();
  const auto before = tuf::verify_repository(root.body, fetch, clock.now());
  ASSERT_TRUE(before) << before.error();
  const auto* page = before->find("snapshots/signed/simple/litellm/index.json");
  ASSERT_NE(page, nullptr);
  EXPECT_TRUE(tuf::verify_target(*page, snapshot_page("signed", "litellm").body));
  EXPECT_EQ(http_get(port, "/tuf/targets/" + tuf::consistent_target_path(*page)).body,
            snapshot_page("signed", "litellm").body);
  EXPECT_NE(before->find("snapshots/signed/simple/litellm/index.html"), nullptr);

  // A block changes what the snapshot serves: the metadata is signed again, and the page
  // served now matches the new targets, not the old.
  ASSERT_EQ(decide("block", reviewer, "1.82.6", "compromised").status, 200u);
  const auto after = tuf::verify_repository(root.body, fetch, clock.now());
  ASSERT_TRUE(after) << after.error();
  EXPECT_GT(after->timestamp_version, before->timestamp_version);
  const auto served = snapshot_page("signed", "litellm").body;
  EXPECT_TRUE(tuf::verify_target(*after->find("snapshots/signed/simple/litellm/index.json"), served));
  EXPECT_FALSE(tuf::verify_target(*page, served)) << "a page from before the block does not pass for the new one";
}

} // namespace
} // namespace airlock::test
