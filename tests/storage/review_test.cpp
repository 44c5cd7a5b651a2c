// Decisions, the audit log and tokens: real LMDB in a temp dir.

#include "testutil.hpp"

#include "codec.hpp"

#include <airlock/storage/store.hpp>

#include <fmt/core.h>
#include <gtest/gtest.h>

namespace airlock::storage {
namespace {

Time
at(std::int64_t seconds)
{
  return Time{Seconds{1774000000 + seconds}};
}

Decision
decision(std::string project, std::string version, std::string filename, DecisionAction action)
{
  return Decision{std::move(project), std::move(version), std::move(filename), action, "alice", "because", at(1)};
}

AuditEntry
entry(std::string action, std::string project, Time time = at(1))
{
  AuditEntry e;
  e.time = time;
  e.actor = "alice";
  e.action = std::move(action);
  e.project = std::move(project);
  e.reason = "because";
  e.before = "quarantined";
  e.after = "approved";
  return e;
}

// A file of `project` whose bytes are `seed`.
FileRecord
file_record(std::string project, std::string filename, std::string version, std::string_view seed)
{
  FileRecord f;
  f.project = std::move(project);
  f.url = "https://files.example/" + filename;
  f.filename = std::move(filename);
  f.version = std::move(version);
  f.sha256 = Sha256::of(seed);
  f.size = 10;
  return f;
}

class ReviewStoreTest : public ::testing::Test
{
protected:
  std::unique_ptr<Store> open()
  {
    Options options;
    options.path = m_dir.path() / "data";
    options.map_size = 16ULL << 20;
    return std::make_unique<Store>(options);
  }

  test::TempDir m_dir;
};

TEST(ReviewCodec, records_round_trip)
{
  const auto d = decision("p", "1.0", "", DecisionAction::approve);
  EXPECT_EQ(codec::decode_decision(codec::encode(d)), d);
  auto a = entry("approve", "p");
  a.id = 42;
  a.version = "1.0";
  a.filename = "p-1.0.tar.gz";
  EXPECT_EQ(codec::decode_audit(codec::encode(a)), a);
  TokenRecord t{"abc123", "ci", Role::reviewer, Sha256::of("secret"), at(5)};
  EXPECT_EQ(codec::decode_token(codec::encode(t)), t);
}

TEST(ReviewCodec, unknown_enum_values_are_rejected)
{
  auto bytes = codec::encode(decision("p", "", "", DecisionAction::block));
  // The action byte follows the version byte and three strings ("p", "", "").
  const std::size_t action_at = 1 + (4 + 1) + 4 + 4;
  ASSERT_EQ(static_cast<std::uint8_t>(bytes[action_at]), 2);
  bytes[action_at] = 7;
  EXPECT_FALSE(codec::decode_decision(bytes));
  TokenRecord t{"abc", "ci", Role::admin, Sha256::of("s"), at(1)};
  auto token = codec::encode(t);
  token[1 + (4 + 3) + (4 + 2)] = 0; // the role byte, after id "abc" and name "ci"
  EXPECT_FALSE(codec::decode_token(token));
}

TEST_F(ReviewStoreTest, decisions_are_kept_per_scope_and_replaced_at_the_same_scope)
{
  auto store = open();
  store->put_decision(decision("p", "", "", DecisionAction::block), entry("block", "p"));
  store->put_decision(decision("p", "1.0", "", DecisionAction::approve), entry("approve", "p"));
  store->put_decision(decision("p", "", "p-1.0.tar.gz", DecisionAction::approve), entry("approve", "p"));
  store->put_decision(decision("pp", "", "", DecisionAction::block), entry("block", "pp"));
  EXPECT_EQ(store->decisions("p").size(), 3u);
  EXPECT_EQ(store->decisions("pp").size(), 1u);
  EXPECT_EQ(store->all_decisions().size(), 4u);

  store->put_decision(decision("p", "1.0", "", DecisionAction::block), entry("block", "p"));
  const auto decisions = store->decisions("p");
  ASSERT_EQ(decisions.size(), 3u);
  int blocks = 0;
  for (const auto& d : decisions) {
    blocks += d.action == DecisionAction::block ? 1 : 0;
  }
  EXPECT_EQ(blocks, 2);

  store->remove_decision("p", "", "", entry("unblock", "p"));
  EXPECT_EQ(store->decisions("p").size(), 2u);
  EXPECT_EQ(store->decisions("pp").size(), 1u) << "a project's unblock leaves other projects alone";
}

TEST_F(ReviewStoreTest, audit_is_append_only_ordered_and_survives_reopening)
{
  {
    auto store = open();
    EXPECT_EQ(store->append_audit(entry("token-create", "", at(1))).id, 1u);
    EXPECT_EQ(store->put_decision(decision("p", "1.0", "", DecisionAction::approve), entry("approve", "p", at(2))).id,
              2u);
    EXPECT_EQ(store->remove_decision("p", "1.0", "", entry("unblock", "p", at(3))).id, 3u);
  }
  auto store = open();
  EXPECT_EQ(store->append_audit(entry("block", "q", at(4))).id, 4u);
  const auto all = store->audit("", std::nullopt, 100);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all.front().action, "token-create");
  EXPECT_EQ(all.back().action, "block");
  EXPECT_EQ(store->audit("p", std::nullopt, 100).size(), 2u);
  EXPECT_EQ(store->audit("", at(3), 100).size(), 2u);
  const auto newest = store->audit("", std::nullopt, 1);
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_EQ(newest.front().id, 4u);
}

TEST_F(ReviewStoreTest, tokens_are_stored_once_with_their_audit_entry)
{
  auto store = open();
  const TokenRecord t{"id1", "ops", Role::admin, Sha256::of("secret"), at(1)};
  store->put_token(t, entry("token-create", ""));
  EXPECT_EQ(store->token("id1"), t);
  EXPECT_FALSE(store->token("id2"));
  EXPECT_THROW(store->put_token(t, entry("token-create", "")), StorageError);
  EXPECT_EQ(store->audit("", std::nullopt, 10).size(), 1u) << "the refused duplicate wrote no audit entry";
}

TEST_F(ReviewStoreTest, snapshots_freeze_listings_and_refuse_a_second_use_of_a_name)
{
  auto store = open();
  Listing a;
  a.project.name = "a";
  FileRecord f = file_record("a", "a-1.0.tar.gz", "1.0", "a");
  f.upload_time = at(-100);
  a.files = {f};
  Listing ab = a;
  ab.project.name = "ab";
  ab.files[0].project = "ab";
  const SnapshotRecord record{"2026-q1", at(5), "ops", 2, 2, 20};
  store->put_snapshot(record, {a, ab}, entry("snapshot-create", ""));
  EXPECT_EQ(store->snapshot("2026-q1"), record);
  EXPECT_FALSE(store->snapshot("2026"));
  EXPECT_EQ(store->snapshots().size(), 1u);
  EXPECT_EQ(store->snapshot_projects("2026-q1"), (std::vector<std::string>{"a", "ab"}));
  const auto frozen = store->snapshot_listing("2026-q1", "a");
  ASSERT_TRUE(frozen);
  EXPECT_EQ(frozen->files, a.files);
  EXPECT_FALSE(store->snapshot_listing("2026-q1", "b"));
  EXPECT_THROW(store->put_snapshot(record, {}, entry("snapshot-create", "")), StorageError);
  EXPECT_EQ(store->audit("", std::nullopt, 10).size(), 1u);
}

TEST_F(ReviewStoreTest, blocks_and_takedowns_record_snapshot_withholds_with_their_own_entry)
{
  auto store = open();
  const FileRecord one = file_record("a", "a-1.0.tar.gz", "1.0", "a1");
  const FileRecord two = file_record("a", "a-2.0.tar.gz", "2.0", "a2");
  ProjectRecord project;
  project.name = "a";
  const auto listed = store->put_listing(project, {one, two}, at(1), true);
  store->put_snapshot(SnapshotRecord{"s1", at(2), "ops", 1, 2, 20}, {listed}, entry("snapshot-create", ""));
  store->put_snapshot(SnapshotRecord{"s2", at(3), "ops", 1, 2, 20}, {listed}, entry("snapshot-create", ""));
  const auto actions = [&] {
    std::vector<std::string> out;
    for (const auto& e : store->audit("a", at(4), 100)) {
      out.push_back(e.action + " " + e.reason);
    }
    return out;
  };

  // A block of a frozen file: one withhold per snapshot, after the decision's entry.
  auto block = entry("block", "a", at(4));
  block.version = "1.0";
  const auto appended = store->put_decision(decision("a", "1.0", "", DecisionAction::block), block, {one.filename});
  EXPECT_EQ(actions(), (std::vector<std::string>{"block because",
                                                 "snapshot-withhold 1 file(s) withheld from snapshot s1: because",
                                                 "snapshot-withhold 1 file(s) withheld from snapshot s2: because"}));
  const auto all = store->audit("a", at(4), 100);
  EXPECT_EQ(all[1].id, appended.id + 1);
  EXPECT_EQ(all[1].version, "1.0");
  EXPECT_EQ(all[1].before, "served");
  EXPECT_EQ(all[1].after, "withheld");

  // A file removed upstream, when the policy withholds removals: withholds in the listing's
  // transaction. A file no snapshot froze withholds nothing; without the flag, nothing either.
  const FileRecord three = file_record("a", "a-3.0.tar.gz", "3.0", "a3");
  store->put_listing(project, {one, two, three}, at(5), true);
  store->put_listing(project, {one, two}, at(6), true);
  store->put_listing(project, {one}, at(7), false);
  store->put_listing(project, {}, at(8), true);
  std::vector<std::string> later;
  for (const auto& e : store->audit("a", at(5), 100)) {
    later.push_back(fmt::format("{} {} {}", e.action, e.filename, e.reason));
  }
  EXPECT_EQ(later, (std::vector<std::string>{
                     "upstream-removal a-3.0.tar.gz no longer in the upstream listing",
                     "upstream-removal a-2.0.tar.gz no longer in the upstream listing",
                     "upstream-removal a-1.0.tar.gz no longer in the upstream listing",
                     "snapshot-withhold  1 file(s) withheld from snapshot s1: no longer in the upstream listing",
                     "snapshot-withhold  1 file(s) withheld from snapshot s2: no longer in the upstream listing",
                   }));
}

TEST_F(ReviewStoreTest, checks_round_trip_per_file_and_bytes)
{
  auto store = open();
  FileRecord wheel;
  wheel.project = "litellm";
  wheel.filename = "litellm-1.0-py3-none-any.whl";
  wheel.sha256 = Sha256::of("old bytes");
  FileRecord other_bytes = wheel;
  other_bytes.sha256 = Sha256::of("new bytes");
  FileRecord other_file = wheel;
  other_file.filename = "litellm-2.0-py3-none-any.whl";
  FileChecks checks;
  checks.provenance = ProvenanceState::verified;
  checks.publisher_kind = "GitHub";
  checks.repository = "BerriAI/litellm";
  checks.workflow = "release.yml";
  checks.signed_at = at(3);
  checks.document = R"({"version":1})";
  checks.inspected = true;
  checks.executable_pth = {{"litellm_init.pth", Sha256::of("import os").hex()}};
  checks.top_level = {"litellm"};
  checks.checked_at = at(4);
  checks.repository_id = "12345";
  checks.owner_id = "678";
  checks.inspected_by_range = true;
  store->put_checks(wheel, checks);
  EXPECT_EQ(store->file_checks(wheel), checks);
  // What was found belongs to the bytes it was found in: other bytes under the name have none.
  EXPECT_FALSE(store->file_checks(other_bytes));
  EXPECT_FALSE(store->file_checks(other_file));
  const auto all = store->checks("litellm");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all.begin()->first, (FileKey{wheel.filename, wheel.sha256}));
  EXPECT_TRUE(store->checks("lite").empty());
  EXPECT_EQ(codec::decode_checks(codec::encode(checks)), checks);
  auto bytes = codec::encode(checks);
  bytes[1] = 9; // provenance state
  EXPECT_FALSE(codec::decode_checks(bytes));
}

TEST(ReviewCodec, listing_round_trips_and_rejects_a_lying_count)
{
  Listing listing;
  listing.project.name = "p";
  FileRecord f;
  f.project = "p";
  f.filename = "p-1.0.tar.gz";
  f.sha256 = Sha256::of("p");
  listing.files = {f, f};
  const auto bytes = codec::encode(listing);
  const auto decoded = codec::decode_listing(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->files, listing.files);
  EXPECT_FALSE(codec::decode_listing(bytes.substr(0, bytes.size() - 1)));
}

} // namespace
} // namespace airlock::storage
