#include "lmdb.hpp"

#include "testutil.hpp"

#include <airlock/util/error.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace airlock::storage::lmdb {
namespace {

using namespace std::string_literals;

class LmdbTest : public ::testing::Test
{
protected:
  LmdbTest()
  {
    WriteTxn txn(m_env);
    m_table = txn.open_table("t");
    m_dups = txn.open_table("d", Dup::sorted);
    txn.commit();
  }

  std::optional<std::string>
  read(std::string_view key)
  {
    const ReadTxn txn(m_env);
    const auto value = txn.get(m_table, key);
    return value ? std::optional<std::string>(*value) : std::nullopt;
  }

  test::TempDir m_dir;
  Env m_env{m_dir.path() / "index", 1 << 20, 4};
  Table m_table;
  Table m_dups;
};

TEST_F(LmdbTest, opens_a_directory_environment)
{
  EXPECT_TRUE(std::filesystem::is_regular_file(m_dir.path() / "index" / "data.mdb"));
  EXPECT_TRUE(std::filesystem::is_regular_file(m_dir.path() / "index" / "lock.mdb"));
  unsigned flags = 0;
  ASSERT_EQ(mdb_env_get_flags(m_env.handle(), &flags), 0);
  EXPECT_NE(flags & MDB_NOTLS, 0U);
  EXPECT_EQ(flags & MDB_NOSUBDIR, 0U);
}

TEST_F(LmdbTest, committed_writes_are_visible)
{
  WriteTxn txn(m_env);
  txn.put(m_table, "k", "v");
  // The writer sees its own write; a reader does not, until commit.
  EXPECT_EQ(txn.get(m_table, "k"), "v");
  EXPECT_EQ(read("k"), std::nullopt);
  txn.commit();
  EXPECT_EQ(read("k"), "v");
}

TEST_F(LmdbTest, write_transaction_aborts_on_destruction)
{
  {
    WriteTxn txn(m_env);
    txn.put(m_table, "k", "v");
  }
  EXPECT_EQ(read("k"), std::nullopt);
  // The writer lock was released: another write goes through.
  WriteTxn txn(m_env);
  txn.put(m_table, "k", "w");
  txn.commit();
  EXPECT_EQ(read("k"), "w");
}

TEST_F(LmdbTest, moved_write_transaction_commits_once)
{
  WriteTxn first(m_env);
  first.put(m_table, "k", "v");
  WriteTxn second(std::move(first));
  second.commit();
  EXPECT_EQ(read("k"), "v");
}

TEST_F(LmdbTest, nested_write_transaction_on_one_thread_throws_instead_of_deadlocking)
{
  WriteTxn outer(m_env);
  try {
    WriteTxn inner(m_env);
    FAIL() << "expected StorageError";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("nested write transaction"), std::string::npos) << e.what();
  }
  outer.commit();
  // After commit the thread may write again.
  WriteTxn again(m_env);
  again.commit();
}

TEST_F(LmdbTest, read_transaction_sees_a_snapshot)
{
  {
    WriteTxn txn(m_env);
    txn.put(m_table, "k", "old");
    txn.commit();
  }
  const ReadTxn snapshot(m_env);
  {
    WriteTxn txn(m_env);
    txn.put(m_table, "k", "new");
    txn.commit();
  }
  EXPECT_EQ(snapshot.get(m_table, "k"), "old");
  EXPECT_EQ(read("k"), "new");
}

TEST_F(LmdbTest, del_reports_whether_the_key_was_there)
{
  WriteTxn txn(m_env);
  txn.put(m_table, "k", "v");
  EXPECT_TRUE(txn.del(m_table, "k"));
  EXPECT_FALSE(txn.del(m_table, "k"));
  txn.commit();
}

TEST_F(LmdbTest, for_each_visits_the_prefix_in_key_order)
{
  WriteTxn txn(m_env);
  for (const auto& key : {"b\0z"s, "a\0x"s, "b\0a"s, "ba\0q"s, "c"s}) {
    txn.put(m_table, key, "v");
  }
  txn.commit();

  const ReadTxn reader(m_env);
  std::vector<std::string> keys;
  reader.for_each(m_table, "b\0"s, [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
  });
  EXPECT_EQ(keys, (std::vector<std::string>{"b\0a"s, "b\0z"s}));

  keys.clear();
  reader.for_each(m_table, "", [&](std::string_view k, std::string_view) { keys.emplace_back(k); });
  EXPECT_EQ(keys.size(), 5U);
}

TEST_F(LmdbTest, dup_table_keeps_each_pair_once)
{
  WriteTxn txn(m_env);
  txn.put_dup(m_dups, "k", "b");
  txn.put_dup(m_dups, "k", "a");
  txn.put_dup(m_dups, "k", "a");
  EXPECT_EQ(txn.get(m_dups, "k"), "a");
  EXPECT_TRUE(txn.del_dup(m_dups, "k", "a"));
  EXPECT_FALSE(txn.del_dup(m_dups, "k", "a"));
  EXPECT_EQ(txn.get(m_dups, "k"), "b");
  txn.commit();
}

TEST_F(LmdbTest, oversized_key_names_the_table_and_key)
{
  WriteTxn txn(m_env);
  const std::string key(600, 'k');
  try {
    txn.put(m_table, key, "v");
    FAIL() << "expected StorageError";
  } catch (const StorageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot write t key " + key + ": the key is 600 bytes, LMDB allows 1 to 511");
  }
  EXPECT_THROW(txn.put(m_table, "", "v"), StorageError);
}

TEST_F(LmdbTest, map_full_names_map_size_and_the_table)
{
  test::TempDir dir;
  Env small(dir.path() / "index", 64 << 10, 4);
  Table table;
  {
    WriteTxn txn(small);
    table = txn.open_table("files");
    txn.commit();
  }
  std::string message;
  try {
    WriteTxn txn(small);
    for (int i = 0; i < 1000; ++i) {
      txn.put(table, "key" + std::to_string(i), std::string(1000, 'x'));
    }
    txn.commit();
  } catch (const StorageError& e) {
    message = e.what();
  }
  EXPECT_EQ(message, "LMDB map full (map_size 64KiB) while writing files: raise [storage] map_size");
}

TEST_F(LmdbTest, second_environment_on_the_same_directory_throws)
{
  EXPECT_THROW(Env(m_dir.path() / "index", 1 << 20, 4), StorageError);
}

TEST_F(LmdbTest, open_failure_names_the_directory)
{
  test::write_file(m_dir.path() / "file", "x");
  try {
    Env env(m_dir.path() / "file", 1 << 20, 4);
    FAIL() << "expected StorageError";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find((m_dir.path() / "file").string()), std::string::npos) << e.what();
  }
}

TEST(LmdbDescribeKey, text_keys_read_as_text_binary_keys_as_hex)
{
  EXPECT_EQ(describe_key("requests"), "requests");
  EXPECT_EQ(describe_key(std::string_view("p\0p-1.0.tar.gz", 14)), "p\\0p-1.0.tar.gz");
  EXPECT_EQ(describe_key(std::string_view("\x01\xab", 2)), "01ab");
}

} // namespace
} // namespace airlock::storage::lmdb
