// Verdicts are bound to bytes: the four bypasses of names (new bytes under an approved name, a
// file added to an approved release, a backdated upload, and the Range-read wheel that is not
// the downloaded one), each played against a real server and a lying upstream.

#include "review_fixture.hpp"

namespace airlock::test {
namespace {

namespace json = boost::json;

class BindingsTest : public ReviewTest
{
protected:
  json::object status_of(const std::string& filename, const Sha256& sha256)
  {
    const auto status = json::parse(api("GET", "/projects/litellm", reader).body);
    for (const auto& file : status.at("files").as_array()) {
      if (file.at("filename").as_string() == filename && file.at("sha256").as_string() == sha256.hex()) {
        return file.as_object();
      }
    }
    ADD_FAILURE() << filename << " " << sha256.hex() << " not in the status";
    return {};
  }

  // The sha256s the JSON page lists, by filename.
  std::map<std::string, std::string> listed()
  {
    std::map<std::string, std::string> out;
    const auto page = json::parse(json_page("litellm").body);
    for (const auto& file : page.at("files").as_array()) {
      out[std::string(file.at("filename").as_string())] = file.at("hashes").at("sha256").as_string();
    }
    return out;
  }

  // Lets the listing go stale, so the next page request fetches it from upstream again.
  void refresh() { clock.advance(std::chrono::minutes{11}); }

  HttpResponse approve(const json::object& fields)
  {
    json::object body{{"project", "litellm"}, {"reason", "diffed it"}};
    for (const auto& [key, value] : fields) {
      body[key] = value;
    }
    return api("POST", "/approve", reviewer, json::serialize(body));
  }

  std::vector<json::object> audit_entries(std::string_view action)
  {
    std::vector<json::object> out;
    const auto audit = json::parse(api("GET", "/audit?project=litellm", reader).body);
    for (const auto& entry : audit.at("entries").as_array()) {
      if (entry.at("action").as_string() == action) {
        out.push_back(entry.as_object());
      }
    }
    return out;
  }
};

// Bypass 1: an approved, cached file; upstream then lists other bytes under its name.
TEST_F(BindingsTest, NewBytesUnderAnApprovedFilenameAreHeldAndTheOldOnesStayServed)
{
  start_with_tokens();
  const auto old = old_file("litellm-1.82.6-py3-none-any.whl", 1);
  ASSERT_EQ(http_get(port, file_url(old)).status, 200u); // approved on age, now cached
  auto evil = old_file("litellm-1.82.6-py3-none-any.whl", 66);
  upstream.remove_file("litellm", evil.filename);
  upstream.add_file("litellm", evil);
  refresh();

  EXPECT_EQ(listed()[old.filename], old.sha256().hex()) << "the approved old bytes stay listed";
  EXPECT_EQ(http_get(port, file_url(old)).status, 200u) << "and served, from the cache";
  const auto refused = http_get(port, file_url(evil));
  EXPECT_EQ(refused.status, 403u);
  EXPECT_NE(refused.body.find("content changed upstream: " + old.sha256().hex() + " -> " + evil.sha256().hex()),
            std::string::npos)
    << refused.body;
  EXPECT_EQ(upstream.file_requests(evil.filename), 1) << "the new bytes were never fetched";

  const auto held = status_of(evil.filename, evil.sha256());
  EXPECT_EQ(held.at("state").as_string(), "held");
  EXPECT_EQ(held.at("replaces").as_string(), old.sha256().hex());
  EXPECT_TRUE(held.at("covered_by").is_null());
  const auto kept = status_of(old.filename, old.sha256());
  EXPECT_EQ(kept.at("state").as_string(), "approved") << "a content change is not a takedown";
  EXPECT_FALSE(kept.at("replaced_upstream").is_null());
  const auto changes = audit_entries("upstream-content-change");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].at("actor").as_string(), "upstream");
  EXPECT_EQ(changes[0].at("filename").as_string(), evil.filename);

  // Approving by name alone is ambiguous now; by sha256 it names the bytes.
  const auto ambiguous = approve({{"filename", evil.filename}});
  EXPECT_EQ(ambiguous.status, 400u);
  EXPECT_NE(ambiguous.body.find("more than one sha256"), std::string::npos) << ambiguous.body;
  EXPECT_EQ(approve({{"filename", evil.filename}, {"sha256", Sha256::of("x").hex()}}).status, 404u);
  const auto approved = approve({{"filename", evil.filename}, {"sha256", evil.sha256().hex()}});
  ASSERT_EQ(approved.status, 200u) << approved.body;
  EXPECT_EQ(listed()[evil.filename], evil.sha256().hex()) << "the approved new bytes replace the old on the page";
  EXPECT_TRUE(same_bytes(http_get(port, file_url(evil)).body, evil.content));
  const auto covered = status_of(evil.filename, evil.sha256()).at("covered_by");
  EXPECT_EQ(covered.at("scope").as_string(), "file");
  EXPECT_EQ(covered.at("actor").as_string(), "bob");
}

TEST_F(BindingsTest, ReplacedBytesThatWereNeverCachedAreNotListed)
{
  start_with_tokens();
  const auto old = old_file("litellm-1.82.6-py3-none-any.whl", 1);
  auto other = old_file("litellm-1.82.6-py3-none-any.whl", 67);
  upstream.remove_file("litellm", old.filename);
  upstream.add_file("litellm", other);
  refresh();
  EXPECT_FALSE(listed().contains(old.filename)) << "neither the uncached old bytes nor the held new ones";
}

// Bypass 2: a reviewer approves a release; upstream then adds a file to it.
TEST_F(BindingsTest, AFileAddedToAnApprovedReleaseFollowsThePolicyAgain)
{
  start_with_tokens();
  const auto wrong = approve({{"version", "1.82.7"}, {"expect_sha256", json::array{Sha256::of("x").hex()}}});
  EXPECT_EQ(wrong.status, 409u) << "the release is not what the reviewer saw";
  const auto approved = approve({{"version", "1.82.7"}, {"expect_sha256", json::array{fresh.sha256().hex()}}});
  ASSERT_EQ(approved.status, 200u) << approved.body;
  EXPECT_EQ(json::parse(approved.body).at("sha256"), (json::array{fresh.sha256().hex()}));
  const auto entries = audit_entries("approve");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].at("sha256"), (json::array{fresh.sha256().hex()})) << "the audit says which bytes";

  auto sdist = old_file("litellm-1.82.7.tar.gz", 70);
  sdist.upload_time = k_now - 30min;
  upstream.add_file("litellm", sdist);
  refresh();
  const auto page = listed();
  EXPECT_TRUE(page.contains(fresh.filename));
  EXPECT_FALSE(page.contains(sdist.filename)) << "added after the approval: quarantined";
  EXPECT_EQ(http_get(port, file_url(sdist)).status, 403u);
  EXPECT_EQ(status_of(sdist.filename, sdist.sha256()).at("state").as_string(), "quarantined");
  EXPECT_TRUE(status_of(sdist.filename, sdist.sha256()).at("covered_by").is_null());
  const auto covered = status_of(fresh.filename, fresh.sha256()).at("covered_by");
  EXPECT_EQ(covered.at("action").as_string(), "approve");
  EXPECT_EQ(covered.at("scope").as_string(), "release");
  // A block covers the release, the later file included (fail closed).
  ASSERT_EQ(decide("block", reviewer, "1.82.7", "bad release").status, 200u);
  EXPECT_EQ(status_of(sdist.filename, sdist.sha256()).at("state").as_string(), "blocked");
}

// Bypass 4: a known project gains a file claiming to be 400 days old.
TEST_F(BindingsTest, ABackdatedFileIsAgedFromFirstSight)
{
  start_with_tokens();
  auto backdated = old_file("litellm-1.82.9-py3-none-any.whl", 80);
  backdated.upload_time = k_now - std::chrono::days{400};
  upstream.add_file("litellm", backdated);
  refresh();
  EXPECT_FALSE(listed().contains(backdated.filename));
  const auto status = status_of(backdated.filename, backdated.sha256());
  EXPECT_EQ(status.at("state").as_string(), "quarantined");
  EXPECT_TRUE(status.at("backdated").as_bool());
  EXPECT_EQ(status.at("until").as_string(), format_rfc3339(clock.now() + std::chrono::days{7}));
  const auto entries = audit_entries("upload-time-backdated");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_NE(std::string(entries[0].at("reason").as_string()).find("upload-time older than first sight"),
            std::string::npos);
}

// Inspection judges verified bytes: what Range answers showed must be what the download holds.
TEST_F(BindingsTest, AWheelWhoseRangeAnswersLieIsHeldAtItsFirstDownload)
{
  auto liar = old_file("liar-1.0-py3-none-any.whl", 90);
  liar.content = make_wheel(20'000, 90, {{"liar.pth", "import os; os.system('evil')\n"}});
  liar.range_content = make_wheel(20'000, 91, {{"liar.pth", "path/only/xxxxxxxxxxxxxx\n"}});
  liar.upload_time = k_now - std::chrono::days{10}; // past the window, newer than the history horizon
  ASSERT_EQ(liar.range_content->size(), liar.content.size());
  upstream.add_file("liar", liar);
  listed_project = "liar";
  start_with_tokens();
  const auto page = json::parse(json_page("liar").body);
  ASSERT_EQ(page.at("files").as_array().size(), 1u) << "approved on what Range reads showed";
  const auto download = http_get(port, file_url(liar));
  EXPECT_TRUE(download.status == 502u || !download.complete) << "the download fails: " << download.status;
  EXPECT_FALSE(same_bytes(download.body, liar.content));
  EXPECT_TRUE(json::parse(json_page("liar").body).at("files").as_array().empty()) << "held from then on";
  const auto status = json::parse(api("GET", "/projects/liar", reader).body).at("files").at(0);
  EXPECT_EQ(status.at("state").as_string(), "held");
  EXPECT_NE(std::string(status.at("reason").as_string()).find("Range answers"), std::string::npos)
    << status.at("reason").as_string();
  EXPECT_EQ(http_get(port, file_url(liar)).status, 403u);
}

TEST_F(BindingsTest, AWheelWhoseEntriesDisagreeWithItsRecordIsHeld)
{
  FakeFile sneaky;
  sneaky.filename = "sneaky-1.0-py3-none-any.whl";
  sneaky.content = make_wheel(20'000, 95, {{"sneaky.pth", "path\n"}}, WheelRecord::omits_extras);
  sneaky.upload_time = k_now - std::chrono::days{10};
  upstream.add_file("sneaky", sneaky);
  listed_project = "sneaky";
  start_with_tokens();
  EXPECT_TRUE(json::parse(json_page("sneaky").body).at("files").as_array().empty());
  const auto status = json::parse(api("GET", "/projects/sneaky", reader).body).at("files").at(0);
  EXPECT_EQ(status.at("state").as_string(), "held");
  EXPECT_NE(std::string(status.at("reason").as_string()).find("RECORD"), std::string::npos)
    << status.at("reason").as_string();
}

// Checks that keep failing end in a hold, not in "pending" forever.
TEST_F(BindingsTest, ChecksThatFailForGoodHoldTheFile)
{
  auto flaky = old_file("flaky-1.0-py3-none-any.whl", 97);
  flaky.upload_time = k_now - std::chrono::days{10};
  flaky.behaviour = FileBehaviour::error_500;
  upstream.add_file("flaky", flaky);
  listed_project = "flaky";
  start_with_tokens();
  const auto state = [&] {
    return json::parse(api("GET", "/projects/flaky", reader).body).at("files").at(0).as_object();
  };
  EXPECT_NE(std::string(state().at("reason").as_string()).find("checks pending"), std::string::npos);
  for (int attempt = 0; attempt < 12 && state().at("state").as_string() != "held"; ++attempt) {
    clock.advance(std::chrono::hours{2}); // past the retry delay and the listing's refresh
    (void)json_page("flaky");
  }
  const auto held = state();
  EXPECT_EQ(held.at("state").as_string(), "held");
  EXPECT_NE(std::string(held.at("reason").as_string()).find("checks failed: inspection: upstream answered 500"),
            std::string::npos)
    << held.at("reason").as_string();
  EXPECT_LE(upstream.range_requests(flaky.filename), 10) << "the retries end";
}

// First sight of a big project that is all history: checks only for its newest release.
TEST_F(BindingsTest, FirstSightOfABigOldProjectCostsAHandfulOfRequests)
{
  for (int i = 0; i < 300; ++i) {
    FakeFile file;
    file.filename = "big-" + std::to_string(i) + ".0-py3-none-any.whl";
    file.content = make_wheel(1000, i);
    file.upload_time = k_now - std::chrono::days{400 + 300 - i};
    upstream.add_file("big", file);
  }
  listed_project = "big";
  start_with_tokens();
  const int requests =
    upstream.page_requests("big") + upstream.total_file_requests() + upstream.total_range_requests();
  EXPECT_LE(requests, 10) << "one page and the checks of the baseline release";
  EXPECT_GE(upstream.range_requests("big-299.0-py3-none-any.whl"), 1) << "the baseline release is inspected";
  EXPECT_EQ(filenames(json_page("big")).size(), 300u);
}

} // namespace
} // namespace airlock::test
