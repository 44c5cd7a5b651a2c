#include <airlock/storage/store.hpp>

#include "keys.hpp"
#include "lmdb.hpp"
#include "testutil.hpp"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <stdexcept>
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

FileRecord
file(std::string filename, std::string_view content = {})
{
  FileRecord f;
  f.filename = std::move(filename);
  f.version = "1.0";
  f.sha256 = Sha256::of(content.empty() ? std::string_view(f.filename) : content);
  f.size = 123;
  f.url = "https://files.example/" + f.filename;
  return f;
}

ProjectRecord
project(std::string name, Time fetched_at = at(0))
{
  ProjectRecord p;
  p.name = std::move(name);
  p.fetched_at = fetched_at;
  return p;
}

std::vector<std::string>
filenames(const Listing& listing)
{
  std::vector<std::string> out;
  for (const auto& f : listing.files) {
    out.push_back(f.filename);
  }
  return out;
}

const FileRecord&
find(const Listing& listing, std::string_view filename)
{
  for (const auto& f : listing.files) {
    if (f.filename == filename) {
      return f;
    }
  }
  throw std::runtime_error("no file " + std::string(filename));
}

std::string
error_of(const std::function<void()>& fn)
{
  try {
    fn();
  } catch (const StorageError& e) {
    return e.what();
  }
  return "(no StorageError)";
}

class StoreTest : public ::testing::Test
{
protected:
  Options options() const
  {
    Options o;
    o.path = m_dir.path() / "data";
    o.map_size = 16 << 20;
    return o;
  }

  test::TempDir m_dir;
  std::optional<Store> m_store{std::in_place, options()};
};

TEST_F(StoreTest, fresh_store_is_empty_and_creates_its_directories)
{
  EXPECT_TRUE(fs::is_regular_file(m_dir.path() / "data" / "index" / "data.mdb"));
  EXPECT_TRUE(fs::is_directory(m_dir.path() / "data" / "blobs" / "tmp"));
  EXPECT_EQ(m_store->blobs().root(), m_dir.path() / "data" / "blobs");
  EXPECT_FALSE(m_store->project("requests"));
  EXPECT_FALSE(m_store->listing("requests"));
  EXPECT_TRUE(m_store->project_names().empty());
  EXPECT_FALSE(m_store->file_by_sha256(Sha256::of("x")));
  EXPECT_FALSE(m_store->blob(Sha256::of("x")));
  EXPECT_TRUE(m_store->blob_records().empty());
}

TEST_F(StoreTest, advisory_blocks_round_trip_and_are_audited_together)
{
  // A digest with NUL bytes in it: the key is cut from its end.
  Sha256 zeros;
  zeros.bytes.fill(0);
  const AdvisoryBlock a{"MAL-2026-2144", "litellm", "litellm-1.82.7.tar.gz", zeros, "1.82.7"};
  const AdvisoryBlock b{"MAL-2026-2144", "litellm", "litellm-1.82.8-py3-none-any.whl", Sha256::of("b"), "1.82.8"};
  const AdvisoryBlock c{"GHSA-j8r2-6x86-q33q", "requests", "requests-2.30.0.tar.gz", Sha256::of("c"), "2.30.0"};
  AuditEntry entry;
  entry.actor = "advisory:MAL-2026-2144";
  entry.action = "advisory-block";
  entry.project = "litellm";
  m_store->apply_advisory_blocks({a, b, c}, {}, {entry, entry});
  EXPECT_EQ(m_store->advisory_blocks(), (std::vector<AdvisoryBlock>{c, a, b}));
  EXPECT_EQ(m_store->audit("litellm", std::nullopt, 10).size(), 2U);

  m_store->apply_advisory_blocks({}, {a, c}, {});
  m_store.reset();
  m_store.emplace(options());
  EXPECT_EQ(m_store->advisory_blocks(), (std::vector<AdvisoryBlock>{b}));
}

TEST_F(StoreTest, put_listing_stores_a_new_project)
{
  auto p = project("requests", at(5));
  p.first_seen = at(-100); // ignored: the project is new
  auto b = file("requests-2.0.tar.gz");
  b.first_seen = at(-100);             // ignored: the file is new
  b.removed_upstream = at(-50);        // ignored: it is in the listing
  b.project = "someone-else";          // overwritten: the key is built from the project
  const Listing result = m_store->put_listing(p, {b, file("requests-1.0.tar.gz")}, at(10));

  EXPECT_EQ(result.project.name, "requests");
  EXPECT_EQ(result.project.fetched_at, at(5));
  EXPECT_EQ(result.project.first_seen, at(10));
  EXPECT_EQ(filenames(result), (std::vector<std::string>{"requests-1.0.tar.gz", "requests-2.0.tar.gz"}));
  for (const auto& f : result.files) {
    EXPECT_EQ(f.project, "requests");
    EXPECT_EQ(f.first_seen, at(10));
    EXPECT_FALSE(f.removed_upstream);
  }

  const auto stored = m_store->listing("requests");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->project, result.project);
  EXPECT_EQ(stored->files, result.files);
  EXPECT_EQ(m_store->project("requests"), result.project);
}

TEST_F(StoreTest, every_field_round_trips_and_survives_reopening)
{
  auto p = project("litellm", at(1));
  p.etag = "W/\"abc\"";
  p.status = "quarantined";
  p.status_reason = "under review";
  FileRecord full = file("litellm-1.82.7-py3-none-any.whl");
  full.version = "1.82.7";
  full.size = 1ULL << 40;
  full.upload_time = at(-3600);
  full.requires_python = ">=3.8, <4";
  full.yanked = "";
  full.core_metadata = Sha256::of("METADATA");
  FileRecord bare = file("litellm-1.0.tar.gz");
  bare.version.clear();
  bare.size = 0;
  bare.url.clear();
  const Listing result = m_store->put_listing(p, {full, bare}, at(2));

  m_store.reset();
  m_store.emplace(options());
  const auto stored = m_store->listing("litellm");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->project, result.project);
  ASSERT_EQ(stored->files.size(), 2U);
  EXPECT_EQ(stored->files, result.files);
  const auto& f = find(*stored, "litellm-1.82.7-py3-none-any.whl");
  EXPECT_EQ(f.upload_time, at(-3600));
  EXPECT_EQ(f.yanked, "");
  EXPECT_EQ(f.core_metadata, Sha256::of("METADATA"));
  EXPECT_EQ(f.requires_python, ">=3.8, <4");
  EXPECT_EQ(f.size, 1ULL << 40);
  const auto& g = find(*stored, "litellm-1.0.tar.gz");
  EXPECT_FALSE(g.upload_time);
  EXPECT_FALSE(g.yanked);
  EXPECT_FALSE(g.core_metadata);
  EXPECT_EQ(m_store->file_by_sha256(full.sha256), f);
}

TEST_F(StoreTest, first_seen_is_kept_for_known_project_and_files)
{
  (void)m_store->put_listing(project("p", at(0)), {file("p-1.0.tar.gz")}, at(0));
  auto again = file("p-1.0.tar.gz");
  again.first_seen = at(999); // the caller's value does not win over what was stored
  again.requires_python = ">=3.9";
  const Listing result = m_store->put_listing(project("p", at(100)), {again, file("p-2.0.tar.gz")}, at(100));

  EXPECT_EQ(result.project.first_seen, at(0));
  EXPECT_EQ(result.project.fetched_at, at(100));
  EXPECT_EQ(find(result, "p-1.0.tar.gz").first_seen, at(0));
  EXPECT_EQ(find(result, "p-1.0.tar.gz").requires_python, ">=3.9");
  EXPECT_EQ(find(result, "p-2.0.tar.gz").first_seen, at(100));
  EXPECT_EQ(m_store->listing("p")->files, result.files);
}

TEST_F(StoreTest, removed_file_is_kept_and_cleared_when_it_returns)
{
  (void)m_store->put_listing(project("p"), {file("p-1.0.tar.gz"), file("p-2.0.tar.gz")}, at(1));

  // Gone upstream: kept, marked with the time it went missing.
  Listing result = m_store->put_listing(project("p"), {file("p-2.0.tar.gz")}, at(2));
  EXPECT_EQ(filenames(result), (std::vector<std::string>{"p-1.0.tar.gz", "p-2.0.tar.gz"}));
  EXPECT_EQ(find(result, "p-1.0.tar.gz").removed_upstream, at(2));
  EXPECT_FALSE(find(result, "p-2.0.tar.gz").removed_upstream);

  // Still gone: the earlier removal time stays.
  result = m_store->put_listing(project("p"), {file("p-2.0.tar.gz")}, at(3));
  EXPECT_EQ(find(result, "p-1.0.tar.gz").removed_upstream, at(2));
  EXPECT_EQ(m_store->listing("p")->files, result.files);

  // Even an empty listing removes nothing from the store.
  result = m_store->put_listing(project("p"), {}, at(4));
  EXPECT_EQ(find(result, "p-1.0.tar.gz").removed_upstream, at(2));
  EXPECT_EQ(find(result, "p-2.0.tar.gz").removed_upstream, at(4));

  // Back upstream: the mark is cleared and first_seen is the original one.
  result = m_store->put_listing(project("p"), {file("p-1.0.tar.gz"), file("p-2.0.tar.gz")}, at(5));
  for (const auto& f : result.files) {
    EXPECT_FALSE(f.removed_upstream) << f.filename;
    EXPECT_EQ(f.first_seen, at(1)) << f.filename;
  }
  EXPECT_EQ(m_store->listing("p")->files, result.files);

  // Each removal and return is in the audit log once.
  const auto log = m_store->audit("p", std::nullopt, 100);
  std::vector<std::string> events;
  for (const auto& entry : log) {
    EXPECT_EQ(entry.actor, "upstream");
    events.push_back(entry.action + " " + entry.filename + " " + entry.before + "->" + entry.after);
  }
  EXPECT_EQ(events, (std::vector<std::string>{
                      "upstream-removal p-1.0.tar.gz listed->removed",
                      "upstream-removal p-2.0.tar.gz listed->removed",
                      "upstream-return p-1.0.tar.gz removed->listed",
                      "upstream-return p-2.0.tar.gz removed->listed",
                    }));
}

TEST_F(StoreTest, new_bytes_under_a_known_filename_are_a_new_file)
{
  const auto original = file("p-1.0.tar.gz", "original bytes");
  (void)m_store->put_listing(project("p"), {original, file("p-2.0.tar.gz")}, at(1));
  ASSERT_TRUE(m_store->file_by_sha256(original.sha256));
  EXPECT_EQ(m_store->file_by_sha256(original.sha256)->filename, "p-1.0.tar.gz");
  EXPECT_EQ(m_store->file_by_sha256(original.sha256)->project, "p");

  // Upstream now declares other bytes under the same name: a new file, with its own clock,
  // that names what it replaces; the old bytes stay, marked replaced, not removed.
  const auto replaced = file("p-1.0.tar.gz", "replaced bytes");
  const auto listing = m_store->put_listing(project("p", at(2)), {replaced, file("p-2.0.tar.gz")}, at(2));
  ASSERT_EQ(listing.files.size(), 3u);
  const auto old = m_store->file_by_sha256(original.sha256);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->first_seen, at(1));
  EXPECT_EQ(old->replaced_upstream, at(2));
  EXPECT_FALSE(old->removed_upstream);
  const auto now = m_store->file_by_sha256(replaced.sha256);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->first_seen, at(2));
  EXPECT_EQ(now->replaces, original.sha256);
  EXPECT_FALSE(now->replaced_upstream);
  const auto audit = m_store->audit("p", std::nullopt, 10);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "upstream-content-change");
  EXPECT_EQ(audit[0].actor, "upstream");
  EXPECT_EQ(audit[0].reason,
            fmt::format("content changed upstream: {} -> {}", original.sha256.hex(), replaced.sha256.hex()));

  // A refresh that lists the same keeps every fact, and writes no second audit entry.
  (void)m_store->put_listing(project("p", at(3)), {replaced, file("p-2.0.tar.gz")}, at(3));
  EXPECT_EQ(m_store->file_by_sha256(replaced.sha256)->first_seen, at(2));
  EXPECT_EQ(m_store->file_by_sha256(replaced.sha256)->replaces, original.sha256);
  EXPECT_EQ(m_store->file_by_sha256(original.sha256)->replaced_upstream, at(2));
  EXPECT_EQ(m_store->audit("p", std::nullopt, 10).size(), 1u);

  // Upstream going back to the old bytes lists them again; the new ones are the replaced ones.
  (void)m_store->put_listing(project("p", at(4)), {original, file("p-2.0.tar.gz")}, at(4));
  EXPECT_FALSE(m_store->file_by_sha256(original.sha256)->replaced_upstream);
  EXPECT_EQ(m_store->file_by_sha256(replaced.sha256)->replaced_upstream, at(4));

  // A filename gone from the listing is a removal, of every bytes it had.
  (void)m_store->put_listing(project("p", at(5)), {file("p-2.0.tar.gz")}, at(5));
  EXPECT_EQ(m_store->file_by_sha256(original.sha256)->removed_upstream, at(5));
  EXPECT_EQ(m_store->file_by_sha256(replaced.sha256)->removed_upstream, at(5));
  const auto removals = m_store->audit("p", at(5), 10);
  ASSERT_EQ(removals.size(), 1u) << "one removal entry, for the listed bytes";
  EXPECT_EQ(removals[0].action, "upstream-removal");
}

TEST_F(StoreTest, a_new_file_older_than_the_last_fetch_is_backdated)
{
  (void)m_store->put_listing(project("p", at(100)), {file("p-1.0.tar.gz")}, at(100));
  auto old_claim = file("p-0.9.tar.gz");
  old_claim.upload_time = at(100) - std::chrono::days{400};
  auto fresh = file("p-2.0.tar.gz");
  fresh.upload_time = at(150);
  (void)m_store->put_listing(project("p", at(200)), {file("p-1.0.tar.gz"), old_claim, fresh}, at(200));
  const auto backdated = m_store->file_by_sha256(old_claim.sha256);
  ASSERT_TRUE(backdated);
  EXPECT_TRUE(backdated->backdated);
  EXPECT_EQ(backdated->first_seen, at(200));
  EXPECT_FALSE(m_store->file_by_sha256(fresh.sha256)->backdated);
  const auto audit = m_store->audit("p", std::nullopt, 10);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "upload-time-backdated");
  EXPECT_EQ(audit[0].filename, "p-0.9.tar.gz");
  EXPECT_NE(audit[0].reason.find("upload-time older than first sight"), std::string::npos) << audit[0].reason;
  // The mark stays with the bytes.
  (void)m_store->put_listing(project("p", at(300)), {file("p-1.0.tar.gz"), old_claim, fresh}, at(300));
  EXPECT_TRUE(m_store->file_by_sha256(old_claim.sha256)->backdated);

  // At a project's first sight nothing is backdated: old files are its history.
  (void)m_store->put_listing(project("q", at(100)), {old_claim}, at(100));
  const auto q = m_store->listing("q");
  ASSERT_TRUE(q);
  EXPECT_FALSE(q->files.at(0).backdated);
}

TEST_F(StoreTest, same_bytes_in_two_projects_keep_both_index_rows)
{
  const auto a = file("a-1.0.tar.gz", "identical");
  const auto b = file("b-1.0.tar.gz", "identical");
  (void)m_store->put_listing(project("a"), {a}, at(1));
  (void)m_store->put_listing(project("b"), {b}, at(1));
  ASSERT_TRUE(m_store->file_by_sha256(a.sha256));

  // a's file changes bytes; both projects' rows of the shared hash stay.
  (void)m_store->put_listing(project("a"), {file("a-1.0.tar.gz", "different")}, at(2));
  EXPECT_EQ(m_store->file_by_sha256(a.sha256, "b-1.0.tar.gz")->project, "b");
  EXPECT_EQ(m_store->file_by_sha256(a.sha256, "a-1.0.tar.gz")->replaced_upstream, at(2));
  EXPECT_EQ(m_store->file_by_sha256(Sha256::of("different"))->project, "a");
}

TEST_F(StoreTest, file_by_sha256_and_name_picks_the_listing_that_names_it)
{
  // An attacker's project listing the same bytes must not stand in for the real one.
  const auto real = file("real-1.0.tar.gz", "identical");
  const auto copy = file("aaa-1.0.tar.gz", "identical");
  (void)m_store->put_listing(project("real"), {real}, at(1));
  (void)m_store->put_listing(project("aaa"), {copy}, at(1));
  EXPECT_EQ(m_store->file_by_sha256(real.sha256, "real-1.0.tar.gz")->project, "real");
  EXPECT_EQ(m_store->file_by_sha256(real.sha256, "aaa-1.0.tar.gz")->project, "aaa");
  EXPECT_FALSE(m_store->file_by_sha256(real.sha256, "1.0.tar.gz"));
  EXPECT_FALSE(m_store->file_by_sha256(Sha256::of("other"), "real-1.0.tar.gz"));
}

TEST_F(StoreTest, projects_with_a_common_prefix_do_not_share_files)
{
  (void)m_store->put_listing(project("foo-bar"), {file("foo_bar-1.0.tar.gz")}, at(1));
  (void)m_store->put_listing(project("foo"), {file("foo-1.0.tar.gz")}, at(1));
  (void)m_store->put_listing(project("fo"), {}, at(1));
  EXPECT_EQ(filenames(*m_store->listing("foo")), (std::vector<std::string>{"foo-1.0.tar.gz"}));
  EXPECT_EQ(filenames(*m_store->listing("foo-bar")), (std::vector<std::string>{"foo_bar-1.0.tar.gz"}));
  EXPECT_TRUE(m_store->listing("fo")->files.empty());
  EXPECT_EQ(m_store->project_names(), (std::vector<std::string>{"fo", "foo", "foo-bar"}));
}

TEST_F(StoreTest, a_filename_listed_twice_is_stored_once)
{
  auto first = file("p-1.0.tar.gz", "first");
  auto second = file("p-1.0.tar.gz", "second");
  const Listing result = m_store->put_listing(project("p"), {first, second}, at(1));
  ASSERT_EQ(result.files.size(), 1U);
  EXPECT_EQ(result.files[0].sha256, second.sha256);
  EXPECT_EQ(m_store->listing("p")->files, result.files);
}

TEST_F(StoreTest, touch_project_sets_fetched_at_only)
{
  auto p = project("p", at(1));
  p.etag = "\"e\"";
  (void)m_store->put_listing(p, {file("p-1.0.tar.gz")}, at(1));
  m_store->touch_project("p", at(50));
  const auto touched = m_store->project("p");
  ASSERT_TRUE(touched);
  EXPECT_EQ(touched->fetched_at, at(50));
  EXPECT_EQ(touched->first_seen, at(1));
  EXPECT_EQ(touched->etag, "\"e\"");

  m_store->touch_project("unknown", at(50));
  EXPECT_FALSE(m_store->project("unknown"));
}

TEST_F(StoreTest, a_failed_put_listing_writes_nothing)
{
  (void)m_store->put_listing(project("p"), {file("p-1.0.tar.gz")}, at(1));
  // LMDB keys are at most 511 bytes: this listing fails halfway through its transaction.
  const std::string message = error_of([&] {
    (void)m_store->put_listing(
      project("p", at(9)), {file("p-2.0.tar.gz"), file(std::string(600, 'x'))}, at(2));
  });
  EXPECT_NE(message.find("cannot write files key p\\0xxx"), std::string::npos) << message;
  EXPECT_NE(message.find(Sha256::of(std::string(600, 'x')).hex()), std::string::npos) << message;
  const auto stored = m_store->listing("p");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->project.fetched_at, at(0));
  EXPECT_EQ(filenames(*stored), (std::vector<std::string>{"p-1.0.tar.gz"}));
  EXPECT_FALSE(m_store->file_by_sha256(Sha256::of("p-2.0.tar.gz")));
  // The aborted transaction released the writer: the next write succeeds.
  (void)m_store->put_listing(project("p"), {file("p-2.0.tar.gz")}, at(3));
  EXPECT_TRUE(m_store->file_by_sha256(Sha256::of("p-2.0.tar.gz")));
}

TEST_F(StoreTest, commit_blob_writes_the_file_then_the_index)
{
  const std::string content = "the wheel";
  const auto sha = Sha256::of(content);
  auto writer = m_store->blobs().create();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write(content));
  const auto committed = m_store->commit_blob(std::move(*writer), sha, at(7));
  ASSERT_TRUE(committed) << committed.error();

  EXPECT_TRUE(m_store->blobs().contains(sha));
  EXPECT_EQ(m_store->blob(sha), (BlobRecord{content.size(), at(7)}));
  const auto records = m_store->blob_records();
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].first, sha);
  EXPECT_EQ(records[0].second, (BlobRecord{content.size(), at(7)}));

  m_store->forget_blob(sha);
  EXPECT_FALSE(m_store->blob(sha));
  EXPECT_TRUE(m_store->blob_records().empty());
  EXPECT_TRUE(m_store->blobs().contains(sha)); // only the index entry is dropped
  m_store->forget_blob(sha);                   // forgetting twice is harmless
}

TEST_F(StoreTest, commit_blob_with_wrong_digest_indexes_nothing)
{
  auto writer = m_store->blobs().create();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write("evil"));
  const auto expected = Sha256::of("good");
  const auto committed = m_store->commit_blob(std::move(*writer), expected, at(7));
  ASSERT_FALSE(committed);
  EXPECT_EQ(committed.error(),
            "sha256 mismatch: expected " + expected.hex() + ", got " + Sha256::of("evil").hex());
  EXPECT_FALSE(m_store->blob(expected));
  EXPECT_FALSE(m_store->blob(Sha256::of("evil")));
  EXPECT_FALSE(m_store->blobs().contains(expected));
  EXPECT_TRUE(fs::is_empty(m_store->blobs().root() / "tmp"));
}

TEST_F(StoreTest, reopening_sees_committed_data)
{
  (void)m_store->put_listing(project("p"), {file("p-1.0.tar.gz", "bytes")}, at(1));
  auto writer = m_store->blobs().create();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write("bytes"));
  ASSERT_TRUE(m_store->commit_blob(std::move(*writer), Sha256::of("bytes"), at(2)));
  m_store.reset();

  m_store.emplace(options());
  EXPECT_EQ(m_store->project_names(), (std::vector<std::string>{"p"}));
  EXPECT_EQ(m_store->file_by_sha256(Sha256::of("bytes"))->filename, "p-1.0.tar.gz");
  EXPECT_EQ(m_store->blob(Sha256::of("bytes")), (BlobRecord{5, at(2)}));
  const auto blob = m_store->blobs().open(Sha256::of("bytes"));
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->size, 5U);
}

TEST_F(StoreTest, a_second_store_on_the_same_path_throws)
{
  EXPECT_THROW(Store{options()}, StorageError);
}

TEST_F(StoreTest, unusable_path_throws)
{
  test::write_file(m_dir.path() / "file", "x");
  Options o;
  o.path = m_dir.path() / "file";
  EXPECT_THROW(Store{o}, StorageError);
}

TEST_F(StoreTest, map_full_throws_and_the_store_stays_readable)
{
  m_store.reset();
  Options small;
  small.path = m_dir.path() / "small";
  small.map_size = 64 << 10;
  Store store(small);

  std::string message;
  int stored = 0;
  for (; stored < 10000; ++stored) {
    std::vector<FileRecord> files;
    for (int i = 0; i < 4; ++i) {
      auto f = file(fmt::format("p{}-{}.0.tar.gz", stored, i));
      f.url += std::string(200, 'u');
      files.push_back(f);
    }
    try {
      (void)store.put_listing(project(fmt::format("p{}", stored)), files, at(stored));
    } catch (const StorageError& e) {
      message = e.what();
      break;
    }
  }
  ASSERT_FALSE(message.empty()) << "64KiB never filled up";
  EXPECT_EQ(message.rfind("LMDB map full (map_size 64KiB) while ", 0), 0U) << message;
  EXPECT_NE(message.find(": raise [storage] map_size"), std::string::npos) << message;
  ASSERT_GT(stored, 0);

  // Everything committed before is intact, and the failed listing left nothing behind.
  EXPECT_EQ(store.project_names().size(), static_cast<size_t>(stored));
  EXPECT_EQ(store.listing("p0")->files.size(), 4U);
  EXPECT_FALSE(store.project(fmt::format("p{}", stored)));
  EXPECT_FALSE(store.file_by_sha256(Sha256::of(fmt::format("p{}-0.0.tar.gz", stored))));
  // Small writes still fail cleanly, and reads keep working.
  (void)error_of([&] { (void)store.put_listing(project("more"), {file("more-1.0.tar.gz")}, at(0)); });
  EXPECT_EQ(store.listing("p0")->files.size(), 4U);
}

TEST_F(StoreTest, corrupt_values_throw_naming_table_and_key)
{
  (void)m_store->put_listing(project("good"), {file("good-1.0.tar.gz")}, at(1));
  (void)m_store->put_listing(project("vers"), {file("vers-1.0.tar.gz")}, at(1));
  (void)m_store->put_listing(project("trunc"), {file("trunc-1.0.tar.gz")}, at(1));
  auto writer = m_store->blobs().create();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(m_store->commit_blob(std::move(*writer), Sha256::of(""), at(1)));
  m_store.reset();
  {
    // Damage the values behind the store's back, with LMDB itself.
    lmdb::Env env(options().path / "index", options().map_size, 16);
    lmdb::WriteTxn txn(env);
    const auto projects = txn.open_table("projects");
    const auto files = txn.open_table("files");
    const auto blobs = txn.open_table("blobs");
    std::string value(*txn.get(projects, "vers"));
    value[0] = '\x09'; // a format version that does not exist
    txn.put(projects, "vers", value);
    const std::string file_key = keys::file("trunc", "trunc-1.0.tar.gz", Sha256::of("trunc-1.0.tar.gz"));
    value = std::string(*txn.get(files, file_key));
    txn.put(files, file_key, value.substr(0, value.size() - 1));
    const auto empty = Sha256::of("");
    const std::string blob_key(reinterpret_cast<const char*>(empty.bytes.data()), 32);
    txn.put(blobs, blob_key, "\x01");
    // Well-formed values under keys they do not belong to.
    txn.put(projects, "alias", std::string(*txn.get(projects, "good")));
    txn.put(files, keys::file("good", "other-1.0.tar.gz", Sha256::of("good-1.0.tar.gz")),
            std::string(*txn.get(files, keys::file("good", "good-1.0.tar.gz", Sha256::of("good-1.0.tar.gz")))));
    txn.commit();
  }
  m_store.emplace(options());

  EXPECT_EQ(m_store->project("good")->name, "good");
  EXPECT_EQ(error_of([&] { (void)m_store->project("alias"); }), "corrupt record in table projects key alias");
  EXPECT_EQ(error_of([&] { (void)m_store->listing("good"); }),
            "corrupt record in table files key good\\0other-1.0.tar.gz\\0" + Sha256::of("good-1.0.tar.gz").hex());
  EXPECT_EQ(error_of([&] { (void)m_store->project("vers"); }), "corrupt record in table projects key vers");
  EXPECT_EQ(error_of([&] { (void)m_store->listing("vers"); }), "corrupt record in table projects key vers");
  EXPECT_EQ(error_of([&] { (void)m_store->listing("trunc"); }),
            "corrupt record in table files key trunc\\0trunc-1.0.tar.gz\\0" + Sha256::of("trunc-1.0.tar.gz").hex());
  EXPECT_EQ(error_of([&] { (void)m_store->file_by_sha256(Sha256::of("trunc-1.0.tar.gz")); }),
            "corrupt record in table files key trunc\\0trunc-1.0.tar.gz\\0" + Sha256::of("trunc-1.0.tar.gz").hex());
  EXPECT_EQ(error_of([&] { (void)m_store->blob(Sha256::of("")); }),
            "corrupt record in table blobs key " + Sha256::of("").hex());
  EXPECT_EQ(error_of([&] { (void)m_store->blob_records(); }),
            "corrupt record in table blobs key " + Sha256::of("").hex());
  // A corrupt record also stops a write that would build on it, rather than overwriting it.
  EXPECT_EQ(error_of([&] { (void)m_store->put_listing(project("trunc"), {}, at(2)); }),
            "corrupt record in table files key trunc\\0trunc-1.0.tar.gz\\0" + Sha256::of("trunc-1.0.tar.gz").hex());
}

TEST_F(StoreTest, readers_on_other_threads_run_alongside_the_writer)
{
  (void)m_store->put_listing(project("p"), {file("p-0.tar.gz")}, at(0));
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const auto listing = m_store->listing("p");
        // Each read is one snapshot: the project and its files always agree (put_listing
        // number i stores i + 1 files with fetched_at = at(i)).
        if (!listing) {
          ++failures;
          continue;
        }
        const auto generation = (listing->project.fetched_at - at(0)).count();
        if (listing->files.size() != static_cast<size_t>(generation) + 1) {
          ++failures;
        }
      }
    });
  }
  std::vector<FileRecord> files{file("p-0.tar.gz")};
  for (int i = 1; i <= 50; ++i) {
    files.push_back(file(fmt::format("p-{}.tar.gz", i)));
    (void)m_store->put_listing(project("p", at(i)), files, at(i));
  }
  stop = true;
  for (auto& t : readers) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(m_store->listing("p")->files.size(), 51U);
}

} // namespace
} // namespace airlock::storage
