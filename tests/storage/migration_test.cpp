// Upgrades: a store written by the landed release (schema 1, record format 2; the fixture in
// fixtures/store-v2) opens in this one with nothing lost, and a newer store is refused.
#include <airlock/policy/policy.hpp>
#include <airlock/storage/fsck.hpp>
#include <airlock/storage/store.hpp>

#include "keys.hpp"
#include "lmdb.hpp"
#include "testutil.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace airlock::storage {
namespace {

namespace fs = std::filesystem;

Time
base(std::chrono::hours plus = std::chrono::hours{0})
{
  return Time{std::chrono::seconds{1767225600}} + plus; // 2026-01-01T00:00:00Z
}

class MigrationTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    const fs::path fixture = AIRLOCK_STORAGE_FIXTURES "/store-v2";
    ASSERT_TRUE(fs::exists(fixture / "index" / "data.mdb")) << "missing fixture " << fixture;
    // Never the checked-in copy: opening migrates in place.
    fs::copy(fixture, m_dir.path() / "store", fs::copy_options::recursive);
  }

  Options options() const
  {
    Options out;
    out.path = m_dir.path() / "store";
    out.map_size = 64ULL << 20;
    out.release_key = policy::release_key;
    return out;
  }

  test::TempDir m_dir;
};

const FileRecord&
named(const Listing& listing, std::string_view filename)
{
  const auto it = std::find_if(listing.files.begin(), listing.files.end(),
                               [&](const FileRecord& f) { return f.filename == filename; });
  EXPECT_NE(it, listing.files.end()) << filename;
  return *it;
}

TEST_F(MigrationTest, a_store_of_the_previous_release_opens_with_everything_kept)
{
  {
    Store store(options());
    EXPECT_EQ(store.project_names(), (std::vector<std::string>{"demo", "other"}));
    EXPECT_TRUE(store.advisory_blocks().empty()); // a table added since: opened empty
    const auto demo = store.listing("demo");
    ASSERT_TRUE(demo);
    ASSERT_EQ(demo->files.size(), 4u);
    EXPECT_EQ(demo->project.fetched_at, base(std::chrono::hours{48}));
    const auto& wheel_1 = named(*demo, "demo-1.0-py3-none-any.whl");
    EXPECT_EQ(wheel_1.sha256, Sha256::of("demo-1.0 wheel"));
    EXPECT_EQ(wheel_1.first_seen, base());
    EXPECT_FALSE(wheel_1.replaces);
    EXPECT_FALSE(wheel_1.backdated);
    EXPECT_EQ(named(*demo, "demo-1.0.tar.gz").removed_upstream, base(std::chrono::hours{48}));
    EXPECT_EQ(named(*demo, "demo-1.0.tar.gz").provenance_url, "");
    EXPECT_EQ(named(*demo, "demo-2.0-py3-none-any.whl").provenance_url, "https://files.example/prov/demo-2.0");
    EXPECT_EQ(named(*demo, "demo-2.0.tar.gz").first_seen, base(std::chrono::hours{48}));
    // Found by bytes, through the rewritten index.
    EXPECT_EQ(store.file_by_sha256(Sha256::of("demo-2.0 sdist"), "demo-2.0.tar.gz")->project, "demo");
    EXPECT_EQ(store.file_by_sha256(Sha256::of("other sdist"))->filename, "other-0.1.tar.gz");

    // Check results stay with the bytes they were made on.
    const auto checks = store.file_checks(wheel_1);
    ASSERT_TRUE(checks);
    EXPECT_EQ(checks->provenance, ProvenanceState::verified);
    EXPECT_EQ(checks->repository, "example/demo");
    ASSERT_EQ(checks->executable_pth.size(), 1u);
    EXPECT_EQ(checks->executable_pth[0].name, "distutils-precedence.pth");
    EXPECT_EQ(checks->executable_pth[0].sha256, "") << "the old format kept no digest";
    EXPECT_EQ(store.file_checks(named(*demo, "demo-2.0-py3-none-any.whl"))->provenance, ProvenanceState::absent);
    EXPECT_EQ(store.checks("demo").size(), 2u);

    // The release approval binds to the files first seen before it: 2.0's wheel, not the sdist
    // that appeared a day after the approval.
    const auto decisions = store.decisions("demo");
    ASSERT_EQ(decisions.size(), 2u);
    const auto approval = std::find_if(decisions.begin(), decisions.end(),
                                       [](const Decision& d) { return d.action == DecisionAction::approve; });
    ASSERT_NE(approval, decisions.end());
    EXPECT_EQ(approval->version, "2");
    EXPECT_EQ(approval->sha256s, std::vector<Sha256>{Sha256::of("demo-2.0 wheel")});
    const auto block = std::find_if(decisions.begin(), decisions.end(),
                                    [](const Decision& d) { return d.action == DecisionAction::block; });
    ASSERT_NE(block, decisions.end());
    EXPECT_EQ(block->filename, "demo-1.0.tar.gz");
    EXPECT_TRUE(block->sha256s.empty()) << "blocks cover every bytes of their scope";
    EXPECT_EQ(store.decisions("other").at(0).reason, "typosquat");

    // The audit log keeps every entry and says what the upgrade did.
    const auto audit = store.audit("", std::nullopt, 100);
    ASSERT_EQ(audit.size(), 7u);
    EXPECT_EQ(audit[1].action, "approve");
    EXPECT_EQ(audit[1].actor, "alice");
    EXPECT_EQ(audit[6].action, "store-migrate");
    EXPECT_EQ(audit[6].actor, "airlock");
    EXPECT_NE(audit[6].reason.find("5 files and 2 check records"), std::string::npos) << audit[6].reason;

    EXPECT_EQ(store.token("tok1")->name, "ops");
    EXPECT_EQ(store.snapshot("ci-1")->files, 2u);
    EXPECT_EQ(store.snapshot_listing("ci-1", "demo")->files.size(), 2u);
    EXPECT_EQ(store.blob(Sha256::of("demo-1.0 wheel"))->size, 14u);
  }
  // Migrated once: opening again changes nothing, and fsck finds the store sound.
  {
    Store store(options());
    EXPECT_EQ(store.audit("", std::nullopt, 100).size(), 7u);
    EXPECT_EQ(store.decisions("demo").size(), 2u);
  }
  const auto report = fsck(options(), Repair::no);
  EXPECT_TRUE(report.ok());
  EXPECT_TRUE(report.problems.empty());
}

TEST_F(MigrationTest, a_store_of_a_newer_schema_is_refused_and_left_alone)
{
  {
    Store store(options()); // migrates, then stamps the schema
  }
  {
    lmdb::Env env(options().path / "index", options().map_size, 16);
    lmdb::WriteTxn txn(env);
    const auto meta = txn.open_table("meta");
    txn.put(meta, "schema", std::string("\x63\0\0\0", 4)); // 99
    txn.commit();
  }
  try {
    Store store(options());
    FAIL() << "a newer store opened";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("was written by a newer Airlock (store schema 99; this one reads up to 2)"),
              std::string::npos)
      << e.what();
  }
}

} // namespace
} // namespace airlock::storage
