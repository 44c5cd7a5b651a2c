// fsck: a real LMDB index and blob directory in a temp dir, damaged through the public API,
// by writing files, and (for index rows no API writes) with LMDB itself.

#include <airlock/storage/fsck.hpp>

#include "keys.hpp"
#include "lmdb.hpp"
#include "testutil.hpp"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <map>
#include <thread>

namespace airlock::storage {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

Time
at(std::int64_t seconds)
{
  return Time{Seconds{1774000000 + seconds}};
}

std::string
sha_key(const Sha256& sha256)
{
  return {reinterpret_cast<const char*>(sha256.bytes.data()), sha256.bytes.size()};
}

// "kind where" for each problem, the way a test reads best.
std::vector<std::string>
summary(const FsckReport& report)
{
  std::vector<std::string> out;
  for (const auto& p : report.problems) {
    out.push_back(fmt::format("{} {}{}", to_string(p.issue), p.where, p.repaired ? " (repaired)" : ""));
  }
  return out;
}

std::string
blob_rel(const Sha256& sha256)
{
  const auto hex = sha256.hex();
  return fmt::format("blobs/{}/{}/{}", hex.substr(0, 2), hex.substr(2, 2), hex);
}

std::string
blob_key(const Sha256& sha256)
{
  return "blobs key " + sha256.hex();
}

class FsckTest : public ::testing::Test
{
protected:
  Options options() const
  {
    Options o;
    o.path = m_dir.path() / "data";
    o.map_size = 16 << 20;
    return o;
  }

  fs::path data() const { return options().path; }

  // A listed file whose bytes are stored and indexed, as the proxy leaves it.
  Sha256 add_cached(const std::string& project, const std::string& filename, const std::string& content)
  {
    FileRecord file;
    file.filename = filename;
    file.version = "1.0";
    file.sha256 = Sha256::of(content);
    file.size = content.size();
    file.url = "https://files.example/" + filename;
    ProjectRecord p;
    p.name = project;
    auto listing = m_store->listing(project);
    std::vector<FileRecord> files = listing ? listing->files : std::vector<FileRecord>{};
    files.push_back(file);
    (void)m_store->put_listing(p, files, at(0));
    add_blob(content, Index::yes);
    return file.sha256;
  }

  enum class Index { yes, no };

  // A blob file, indexed or (as a crash between rename and commit leaves it) not.
  Sha256 add_blob(const std::string& content, Index index)
  {
    auto writer = m_store->blobs().create();
    EXPECT_TRUE(writer);
    EXPECT_TRUE(writer->write(content));
    const auto sha = Sha256::of(content);
    if (index == Index::yes) {
      EXPECT_TRUE(m_store->commit_blob(std::move(*writer), sha, at(1)));
    } else {
      (void)writer->digest();
      EXPECT_TRUE(writer->commit(sha));
    }
    return sha;
  }

  // Closes the store (fsck opens the index itself) and checks.
  FsckReport check(Repair repair = Repair::no)
  {
    m_store.reset();
    return fsck(options(), repair);
  }

  void reopen() { m_store.emplace(options()); }

  // Every key and value of a table, read with LMDB itself.
  std::map<std::string, std::string> raw_table(const char* name)
  {
    m_store.reset();
    lmdb::Env env(options().path / "index", options().map_size, 16);
    lmdb::WriteTxn txn(env);
    std::map<std::string, std::string> out;
    const auto table = txn.open_table(name);
    txn.for_each(table, "", [&](std::string_view key, std::string_view value) { out.emplace(key, value); });
    return out;
  }

  // Runs fn(txn, table) on a table of the closed store, and commits.
  template<typename Fn>
  void with_table(const char* name, Fn fn, lmdb::Dup dup = lmdb::Dup::no)
  {
    m_store.reset();
    lmdb::Env env(options().path / "index", options().map_size, 16);
    lmdb::WriteTxn txn(env);
    const auto table = txn.open_table(name, dup);
    fn(txn, table);
    txn.commit();
  }

  test::TempDir m_dir;
  std::optional<Store> m_store{std::in_place, options()};
};

TEST_F(FsckTest, a_consistent_store_is_clean)
{
  const std::string big(3 << 20, 'x'); // bigger than fsck's read buffer
  add_cached("big", "big-1.0.tar.gz", big);
  add_cached("small", "small-1.0.tar.gz", "small bytes");
  add_cached("small", "small-2.0.tar.gz", "other bytes");
  // Two projects listing the same bytes share one blob and keep one index row each.
  add_cached("twin", "twin-1.0.tar.gz", "small bytes");

  const auto report = check();
  EXPECT_EQ(summary(report), std::vector<std::string>{});
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.blob_files, 3U);
  EXPECT_EQ(report.bytes_hashed, big.size() + 22U);
  EXPECT_EQ(report.index_entries, 3U);
  EXPECT_EQ(report.file_records, 4U);
}

TEST_F(FsckTest, an_empty_store_is_clean)
{
  const auto report = check(Repair::yes);
  EXPECT_TRUE(report.problems.empty());
  EXPECT_TRUE(report.ok());
}

TEST_F(FsckTest, no_store_at_the_path_is_an_error_and_creates_nothing)
{
  Options elsewhere = options();
  elsewhere.path = m_dir.path() / "nothing-here";
  try {
    (void)fsck(elsewhere, Repair::no);
    FAIL() << "no StorageError";
  } catch (const StorageError& e) {
    EXPECT_EQ(std::string(e.what()), fmt::format("no Airlock store at {}: {} is missing", elsewhere.path.string(),
                                                 (elsewhere.path / "index" / "data.mdb").string()));
  }
  EXPECT_FALSE(fs::exists(elsewhere.path));
}

TEST_F(FsckTest, a_corrupt_blob_is_removed_with_its_index_entry)
{
  const auto sha = add_cached("p", "p-1.0.tar.gz", "the right bytes");
  const auto good = add_cached("p", "p-2.0.tar.gz", "untouched");
  test::write_file(data() / blob_rel(sha), "the wrong bytes");

  auto report = check();
  ASSERT_EQ(summary(report), std::vector<std::string>{"corrupt-blob " + blob_rel(sha)});
  EXPECT_EQ(report.problems[0].detail, fmt::format("content hashes to {}; --repair removes the file and its index entry",
                                                   Sha256::of("the wrong bytes").hex()));
  EXPECT_TRUE(report.problems[0].repairable);
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(fs::exists(data() / blob_rel(sha))); // checking changes nothing

  report = check(Repair::yes);
  EXPECT_EQ(summary(report), std::vector<std::string>{"corrupt-blob " + blob_rel(sha) + " (repaired)"});
  EXPECT_TRUE(report.ok());
  EXPECT_FALSE(fs::exists(data() / blob_rel(sha)));

  EXPECT_TRUE(check().problems.empty());
  reopen();
  EXPECT_FALSE(m_store->blob(sha));
  EXPECT_TRUE(m_store->blob(good));
  EXPECT_TRUE(m_store->blobs().contains(good));
  // The file record stays: the next request downloads the bytes again.
  EXPECT_TRUE(m_store->file_by_sha256(sha));
}

TEST_F(FsckTest, a_truncated_blob_is_corrupt_not_a_size_mismatch)
{
  const auto sha = add_cached("p", "p-1.0.tar.gz", "complete content");
  test::write_file(data() / blob_rel(sha), "complete");
  EXPECT_EQ(summary(check()), std::vector<std::string>{"corrupt-blob " + blob_rel(sha)});
}

TEST_F(FsckTest, an_index_entry_without_its_file_is_dropped)
{
  const auto sha = add_cached("p", "p-1.0.tar.gz", "gone soon");
  fs::remove(data() / blob_rel(sha));

  auto report = check();
  ASSERT_EQ(summary(report), std::vector<std::string>{"missing-blob " + blob_key(sha)});
  EXPECT_EQ(report.problems[0].detail,
            fmt::format("no intact file {}; --repair drops the entry (the next request downloads the file again)",
                        blob_rel(sha)));
  EXPECT_FALSE(report.ok());

  report = check(Repair::yes);
  EXPECT_EQ(summary(report), std::vector<std::string>{"missing-blob " + blob_key(sha) + " (repaired)"});
  EXPECT_TRUE(report.ok());
  EXPECT_TRUE(check().problems.empty());
  reopen();
  EXPECT_FALSE(m_store->blob(sha));
}

TEST_F(FsckTest, an_orphan_blob_is_harmless_and_indexed_by_repair)
{
  const auto sha = add_blob("renamed, then the process died", Index::no);

  auto report = check();
  ASSERT_EQ(summary(report), std::vector<std::string>{"orphan-blob " + blob_rel(sha)});
  EXPECT_TRUE(is_harmless(report.problems[0].issue));
  EXPECT_TRUE(report.ok());

  report = check(Repair::yes);
  EXPECT_EQ(summary(report), std::vector<std::string>{"orphan-blob " + blob_rel(sha) + " (repaired)"});
  EXPECT_TRUE(check().problems.empty());
  reopen();
  const auto record = m_store->blob(sha);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->size, std::string("renamed, then the process died").size());
  EXPECT_TRUE(m_store->blobs().contains(sha));
}

TEST_F(FsckTest, a_corrupt_orphan_is_removed)
{
  const auto sha = add_blob("orphan", Index::no);
  test::write_file(data() / blob_rel(sha), "rotten");
  EXPECT_EQ(summary(check(Repair::yes)), std::vector<std::string>{"corrupt-blob " + blob_rel(sha) + " (repaired)"});
  EXPECT_FALSE(fs::exists(data() / blob_rel(sha)));
  EXPECT_TRUE(check().problems.empty());
}

TEST_F(FsckTest, temp_files_are_harmless_and_removed_by_repair)
{
  {
    auto writer = m_store->blobs().create();
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->write("half a download"));
    // A crash: the writer never finishes. Keep its file by copying it before the destructor.
    for (const auto& entry : fs::directory_iterator(data() / "blobs" / "tmp")) {
      fs::copy_file(entry.path(), data() / "blobs" / "tmp" / "1234-0-crashed.tmp");
    }
  }
  auto report = check();
  ASSERT_EQ(summary(report), std::vector<std::string>{"temp-file blobs/tmp/1234-0-crashed.tmp"});
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(check(Repair::yes).problems.at(0).repaired, true);
  EXPECT_FALSE(fs::exists(data() / "blobs" / "tmp" / "1234-0-crashed.tmp"));
  EXPECT_TRUE(fs::is_directory(data() / "blobs" / "tmp"));
  EXPECT_TRUE(check().problems.empty());
}

TEST_F(FsckTest, temp_files_that_vanish_while_listed_are_not_problems)
{
  // A running server renames its downloads out of blobs/tmp at any moment; fsck beside it
  // reads the directory's names, then looks at each entry, which may be gone by then.
  add_cached("p", "p-1.0.tar.gz", "in place");
  m_store.reset();
  const auto tmp = data() / "blobs" / "tmp";
  const auto away = m_dir.path() / "committed";
  fs::create_directories(away);
  std::vector<std::string> unexpected;
  for (int run = 0; run < 20 && unexpected.empty(); ++run) {
    for (int i = 0; i < 2000; ++i) {
      test::write_file(tmp / fmt::format("{}-{}.tmp", run, i), "x");
    }
    std::thread commit([&] {
      for (int i = 0; i < 2000; ++i) {
        const auto name = fmt::format("{}-{}.tmp", run, i);
        fs::rename(tmp / name, away / name);
      }
    });
    const auto report = fsck(options(), Repair::no);
    commit.join();
    for (const auto& p : report.problems) {
      if (p.issue != FsckIssue::temp_file) {
        unexpected.push_back(fmt::format("{} {}: {}", to_string(p.issue), p.where, p.detail));
      }
    }
  }
  EXPECT_EQ(unexpected, std::vector<std::string>{});
}

TEST_F(FsckTest, strays_under_blobs_are_reported_and_left_alone)
{
  const auto sha = add_cached("p", "p-1.0.tar.gz", "in place");
  const auto hex = sha.hex();
  const auto other = Sha256::of("elsewhere").hex();
  test::write_file(data() / "blobs" / "README", "hello");
  test::write_file(data() / "blobs" / "ab" / "notes.txt", "x");
  test::write_file(data() / "blobs" / hex.substr(0, 2) / hex.substr(2, 2) / "notahash", "x");
  test::write_file(data() / "blobs" / hex.substr(0, 2) / hex.substr(2, 2) / (hex.substr(0, 63) + "X"), "x");
  // Intact bytes in the wrong directory, and a name in capitals, are not where the proxy looks.
  test::write_file(data() / "blobs" / hex.substr(0, 2) / hex.substr(2, 2) / other, "elsewhere");
  fs::create_directories(data() / "blobs" / "AB" / "CD");
  fs::create_directories((data() / blob_rel(Sha256::of("a link"))).parent_path());
  fs::create_symlink(data() / blob_rel(sha), data() / blob_rel(Sha256::of("a link")));

  for (const auto repair : {Repair::no, Repair::yes}) {
    const auto report = check(repair);
    const auto prefix = "blobs/" + hex.substr(0, 2) + "/" + hex.substr(2, 2) + "/";
    std::vector<std::string> want{"misplaced blobs/AB", "misplaced blobs/README", "misplaced blobs/ab/notes.txt"};
    std::vector<std::string> in_dir{"misplaced " + prefix + hex.substr(0, 63) + "X", "misplaced " + prefix + other,
                                    "misplaced " + prefix + "notahash"};
    std::vector<std::string> link{"misplaced " + blob_rel(Sha256::of("a link"))};
    auto got = summary(report);
    std::sort(got.begin(), got.end());
    std::vector<std::string> all = want;
    all.insert(all.end(), in_dir.begin(), in_dir.end());
    all.insert(all.end(), link.begin(), link.end());
    std::sort(all.begin(), all.end());
    EXPECT_EQ(got, all);
    EXPECT_FALSE(report.ok());
    for (const auto& p : report.problems) {
      EXPECT_FALSE(p.repairable) << p.where;
    }
  }
  EXPECT_TRUE(fs::exists(data() / "blobs" / "README"));
  EXPECT_TRUE(fs::exists(data() / blob_rel(sha)));
}

TEST_F(FsckTest, a_wrong_size_in_the_index_is_corrected)
{
  const auto sha = add_cached("p", "p-1.0.tar.gz", "twelve bytes");
  m_store.reset();
  with_table("blobs", [&](lmdb::WriteTxn& txn, const lmdb::Table& table) {
    // As the codec lays out a BlobRecord: version, size, stored_at.
    std::string value(*txn.get(table, sha_key(sha)));
    value[1] = 99;
    txn.put(table, sha_key(sha), value);
  });

  auto report = check();
  ASSERT_EQ(summary(report), std::vector<std::string>{"size-mismatch " + blob_key(sha)});
  EXPECT_EQ(report.problems[0].detail, "records 99 bytes, the intact file has 12; --repair records 12");
  (void)check(Repair::yes);
  EXPECT_TRUE(check().problems.empty());
  reopen();
  EXPECT_EQ(m_store->blob(sha)->size, 12U);
  EXPECT_EQ(m_store->blob(sha)->stored_at, at(1));
}

TEST_F(FsckTest, dangling_and_missing_sha256_rows_are_fixed)
{
  const auto kept = add_cached("p", "p-1.0.tar.gz", "kept");
  const auto unindexed = add_cached("p", "p-2.0.tar.gz", "unindexed");
  const auto ghost = Sha256::of("ghost");
  with_table(
    "files_by_sha256",
    [&](lmdb::WriteTxn& txn, const lmdb::Table& table) {
      txn.put_dup(table, sha_key(ghost), keys::file("ghost", "ghost-1.0.tar.gz", ghost)); // no such file
      txn.put_dup(table, sha_key(ghost), keys::file("p", "p-1.0.tar.gz", kept));          // other bytes
      txn.put_dup(table, "short", keys::file("p", "p-1.0.tar.gz", kept));                 // not a sha256
      EXPECT_TRUE(txn.del_dup(table, sha_key(unindexed), keys::file("p", "p-2.0.tar.gz", unindexed)));
    },
    lmdb::Dup::sorted);
  reopen();
  EXPECT_FALSE(m_store->file_by_sha256(unindexed, "p-2.0.tar.gz"));

  auto report = check();
  const std::string ghost_key = "files_by_sha256 key " + ghost.hex();
  // Rows come in key order, after the file records.
  ASSERT_EQ(report.problems.size(), 4U);
  EXPECT_EQ(summary(report)[0], "missing-row files key p\\0p-2.0.tar.gz\\0" + unindexed.hex());
  auto rows = summary(report);
  rows.erase(rows.begin());
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(rows, (std::vector<std::string>{"dangling-row " + ghost_key, "dangling-row " + ghost_key,
                                            "dangling-row files_by_sha256 key short"}));
  std::sort(report.problems.begin() + 1, report.problems.end(),
            [](const FsckProblem& a, const FsckProblem& b) { return a.detail < b.detail; });
  EXPECT_EQ(report.problems[0].detail,
            fmt::format("no files_by_sha256 row for its sha256 {}; --repair adds it", unindexed.hex()));
  EXPECT_EQ(report.problems[1].detail, "key is not a sha256; --repair drops the row");
  EXPECT_EQ(report.problems[2].detail,
            fmt::format("names file p\\0p-1.0.tar.gz\\0{}, whose sha256 is {}; --repair drops the row", kept.hex(),
                        kept.hex()));
  EXPECT_EQ(report.problems[3].detail,
            fmt::format("names missing file ghost\\0ghost-1.0.tar.gz\\0{}; --repair drops the row", ghost.hex()));
  EXPECT_FALSE(report.ok());

  report = check(Repair::yes);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.problems.size(), 4U);
  EXPECT_TRUE(check().problems.empty());
  reopen();
  EXPECT_EQ(m_store->file_by_sha256(unindexed, "p-2.0.tar.gz")->filename, "p-2.0.tar.gz");
  EXPECT_EQ(m_store->file_by_sha256(kept)->filename, "p-1.0.tar.gz");
  EXPECT_FALSE(m_store->file_by_sha256(ghost));
}

TEST_F(FsckTest, a_broken_blob_entry_is_dropped_and_its_file_indexed_again)
{
  const auto sha = add_cached("p", "p-1.0.tar.gz", "bytes");
  with_table("blobs", [&](lmdb::WriteTxn& txn, const lmdb::Table& table) {
    txn.put(table, sha_key(sha), "\x01");
    txn.put(table, "not-a-sha", "\x01");
  });
  auto report = check();
  EXPECT_EQ(summary(report), (std::vector<std::string>{"bad-record " + blob_key(sha), "bad-record blobs key not-a-sha",
                                                       "orphan-blob " + blob_rel(sha)}));
  EXPECT_FALSE(report.ok());
  report = check(Repair::yes);
  EXPECT_TRUE(report.ok());
  EXPECT_TRUE(check().problems.empty());
  reopen();
  EXPECT_EQ(m_store->blob(sha)->size, 5U);
}

TEST_F(FsckTest, broken_records_elsewhere_are_reported_and_never_touched)
{
  add_cached("p", "p-1.0.tar.gz", "bytes");
  Decision decision{"p", "", "", DecisionAction::block, "alice", "because", at(2)};
  AuditEntry entry;
  entry.time = at(2);
  entry.actor = "alice";
  entry.action = "block";
  entry.project = "p";
  (void)m_store->put_decision(decision, entry);
  m_store->put_token(TokenRecord{"tok", "alice", Role::admin, Sha256::of("secret"), at(3)}, entry);
  m_store.reset();
  const auto damage = [&](const char* name, const std::string& key, std::string value) {
    with_table(name, [&](lmdb::WriteTxn& txn, const lmdb::Table& table) { txn.put(table, key, value); });
  };
  damage("projects", "q", "\x01");
  damage("files", "q\0q-1.0.tar.gz"s, "\x09");
  damage("decisions", "q\0p\0"s, "\x01");
  damage("audit", "\x00\x00\x00\x00\x00\x00\x00\x09"s, "\x01");
  damage("audit", "short", "\x01");
  damage("tokens", "bad", "\x01");
  damage("snapshots", "s", "\x01");
  damage("snapshot_files", "s\0q"s, "\x01");
  damage("checks", "q\0q-1.0.tar.gz"s, "\x01");
  std::map<std::string, std::map<std::string, std::string>> kept;
  for (const char* table : {"decisions", "audit", "tokens", "snapshots", "snapshot_files", "checks"}) {
    kept[table] = raw_table(table);
  }

  for (const auto repair : {Repair::no, Repair::yes}) {
    const auto report = check(repair);
    EXPECT_EQ(summary(report), (std::vector<std::string>{
                                 "bad-record projects key q",
                                 "bad-record files key q\\0q-1.0.tar.gz",
                                 "bad-record decisions key q\\0p\\0",
                                 "bad-record audit key 0000000000000009",
                                 "bad-record audit key short",
                                 "bad-record tokens key bad",
                                 "bad-record snapshots key s",
                                 "bad-record snapshot_files key s\\0q",
                                 "bad-record checks key q\\0q-1.0.tar.gz",
                               }));
    EXPECT_FALSE(report.ok());
    EXPECT_EQ(report.problems[2].detail,
              "value does not decode; fsck never changes decisions: restore the index from a backup");
    EXPECT_EQ(report.problems[4].detail,
              "key is not an 8-byte id; fsck never changes audit: restore the index from a backup");
  }
  for (const auto& [table, content] : kept) {
    EXPECT_EQ(raw_table(table.c_str()), content) << table;
  }
}

TEST_F(FsckTest, repair_of_everything_at_once_leaves_review_data_alone)
{
  const auto corrupt = add_cached("p", "p-1.0.tar.gz", "one");
  const auto missing = add_cached("p", "p-2.0.tar.gz", "two");
  const auto orphan = add_blob("three", Index::no);
  Decision decision{"p", "1.0", "", DecisionAction::approve, "alice", "looked at it", at(2)};
  AuditEntry entry;
  entry.time = at(2);
  entry.actor = "alice";
  entry.action = "approve";
  entry.project = "p";
  (void)m_store->put_decision(decision, entry);
  test::write_file(data() / blob_rel(corrupt), "ONE");
  fs::remove(data() / blob_rel(missing));
  test::write_file(data() / "blobs" / "tmp" / "9-9-0000000000000000.tmp", "partial");
  with_table(
    "files_by_sha256", [&](lmdb::WriteTxn& txn, const lmdb::Table& table) {
      txn.put_dup(table, sha_key(orphan), "gone\0gone-1.0.tar.gz"s);
    },
    lmdb::Dup::sorted);
  const auto decisions = raw_table("decisions");
  const auto audit = raw_table("audit");
  const auto tokens = raw_table("tokens");

  const auto report = check(Repair::yes);
  EXPECT_EQ(report.problems.size(), 5U);
  EXPECT_TRUE(report.ok());
  for (const auto& p : report.problems) {
    EXPECT_TRUE(p.repaired) << to_string(p.issue) << " " << p.where;
  }
  EXPECT_TRUE(check().problems.empty());
  EXPECT_EQ(raw_table("decisions"), decisions);
  EXPECT_EQ(raw_table("audit"), audit);
  EXPECT_EQ(raw_table("tokens"), tokens);
  reopen();
  EXPECT_EQ(m_store->decisions("p"), std::vector<Decision>{decision});
  EXPECT_EQ(m_store->audit("", std::nullopt, 10).size(), 1U);
}

TEST_F(FsckTest, the_store_must_not_be_open_in_the_same_process)
{
  EXPECT_THROW((void)fsck(options(), Repair::no), StorageError);
}

TEST(FsckIssueTest, names_and_harmlessness)
{
  EXPECT_EQ(to_string(FsckIssue::corrupt_blob), "corrupt-blob");
  EXPECT_EQ(to_string(FsckIssue::dangling_row), "dangling-row");
  EXPECT_TRUE(is_harmless(FsckIssue::orphan_blob));
  EXPECT_TRUE(is_harmless(FsckIssue::temp_file));
  EXPECT_FALSE(is_harmless(FsckIssue::missing_blob));
  EXPECT_FALSE(is_harmless(FsckIssue::corrupt_blob));
}

} // namespace
} // namespace airlock::storage
