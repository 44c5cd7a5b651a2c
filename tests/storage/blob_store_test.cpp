#include <airlock/storage/blob_store.hpp>

#include "testutil.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace airlock::storage {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path>
files_under(const fs::path& dir)
{
  std::vector<fs::path> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      out.push_back(entry.path());
    }
  }
  return out;
}

std::string
read_fd(int fd)
{
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class BlobStoreTest : public ::testing::Test
{
protected:
  test::TempDir m_dir;
  fs::path m_root = m_dir.path() / "blobs";
  BlobStore m_store{m_root};
};

TEST_F(BlobStoreTest, constructor_creates_root_and_tmp)
{
  EXPECT_TRUE(fs::is_directory(m_root));
  EXPECT_TRUE(fs::is_directory(m_root / "tmp"));
  EXPECT_EQ(m_store.root(), m_root);
}

TEST_F(BlobStoreTest, constructor_throws_when_root_cannot_be_created)
{
  test::write_file(m_dir.path() / "file", "x");
  EXPECT_THROW(BlobStore(m_dir.path() / "file" / "blobs"), StorageError);
}

TEST_F(BlobStoreTest, path_fans_out_by_the_first_two_bytes)
{
  const auto sha = Sha256::of("hello");
  const std::string hex = sha.hex();
  EXPECT_EQ(m_store.path(sha), m_root / hex.substr(0, 2) / hex.substr(2, 2) / hex);
}

TEST_F(BlobStoreTest, commit_makes_the_blob_visible_under_its_address)
{
  const std::string content = "wheel bytes";
  const auto sha = Sha256::of(content);
  EXPECT_FALSE(m_store.contains(sha));

  auto writer = m_store.create();
  ASSERT_TRUE(writer) << writer.error();
  ASSERT_TRUE(writer->write(std::string_view(content).substr(0, 5)));
  ASSERT_TRUE(writer->write(std::string_view(content).substr(5)));
  EXPECT_EQ(writer->size(), content.size());
  EXPECT_EQ(writer->digest(), sha);
  const auto committed = writer->commit(sha);
  ASSERT_TRUE(committed) << committed.error();

  EXPECT_TRUE(m_store.contains(sha));
  EXPECT_EQ(test::read_file(m_store.path(sha)), content);
  EXPECT_EQ(files_under(m_root / "tmp").size(), 0U);

  struct stat st{};
  ASSERT_EQ(::stat(m_store.path(sha).c_str(), &st), 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0644 & ~mask);
}

TEST_F(BlobStoreTest, commit_without_calling_digest_first)
{
  auto writer = m_store.create();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write("abc"));
  EXPECT_TRUE(writer->commit(Sha256::of("abc")));
  EXPECT_TRUE(m_store.contains(Sha256::of("abc")));
}

TEST_F(BlobStoreTest, span_overload_hashes_the_same_bytes)
{
  std::vector<std::byte> bytes(100000);
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<std::byte>(i * 7);
  }
  const std::string as_string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  auto writer = m_store.create();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write(std::span<const std::byte>(bytes)));
  EXPECT_EQ(writer->digest(), Sha256::of(as_string));
  ASSERT_TRUE(writer->commit(Sha256::of(as_string)));
  EXPECT_EQ(test::read_file(m_store.path(Sha256::of(as_string))), as_string);
}

TEST_F(BlobStoreTest, empty_blob)
{
  auto writer = m_store.create();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->commit(Sha256::of("")));
  const auto blob = m_store.open(Sha256::of(""));
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->size, 0U);
}

TEST_F(BlobStoreTest, sha_mismatch_leaves_neither_final_nor_temp_file)
{
  const auto expected = Sha256::of("what upstream declared");
  auto writer = m_store.create();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write("what upstream sent"));
  const auto committed = writer->commit(expected);
  ASSERT_FALSE(committed);
  EXPECT_EQ(committed.error(),
            "sha256 mismatch: expected " + expected.hex() + ", got "
              + Sha256::of("what upstream sent").hex());
  EXPECT_FALSE(m_store.contains(expected));
  EXPECT_FALSE(m_store.contains(Sha256::of("what upstream sent")));
  EXPECT_TRUE(files_under(m_root).empty());
  // The writer is finished: neither more bytes nor a second try.
  EXPECT_FALSE(writer->write("more"));
  EXPECT_FALSE(writer->commit(Sha256::of("what upstream sent")));
}

TEST_F(BlobStoreTest, destroyed_uncommitted_writer_leaves_nothing)
{
  {
    auto writer = m_store.create();
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->write("partial download"));
    EXPECT_EQ(files_under(m_root / "tmp").size(), 1U);
  }
  EXPECT_TRUE(files_under(m_root).empty());
}

TEST_F(BlobStoreTest, moved_writer_owns_the_temp_file_once)
{
  auto first = m_store.create();
  ASSERT_TRUE(first);
  BlobWriter moved(std::move(*first));
  ASSERT_TRUE(moved.write("abc"));
  {
    // The moved-from writer's destruction must not remove the temp file.
    auto gone = std::move(first);
  }
  EXPECT_EQ(files_under(m_root / "tmp").size(), 1U);

  // Move-assigning over an uncommitted writer abandons (removes) its temp file.
  auto second = m_store.create();
  ASSERT_TRUE(second);
  EXPECT_EQ(files_under(m_root / "tmp").size(), 2U);
  moved = std::move(*second);
  EXPECT_EQ(files_under(m_root / "tmp").size(), 1U);
  ASSERT_TRUE(moved.write("xyz"));
  ASSERT_TRUE(moved.commit(Sha256::of("xyz")));
  EXPECT_TRUE(files_under(m_root / "tmp").empty());
  EXPECT_EQ(test::read_file(m_store.path(Sha256::of("xyz"))), "xyz");
}

TEST_F(BlobStoreTest, write_after_digest_fails)
{
  auto writer = m_store.create();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write("abc"));
  (void)writer->digest();
  const auto written = writer->write("def");
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().find("already finished"), std::string::npos);
  EXPECT_TRUE(writer->commit(Sha256::of("abc")));
}

TEST_F(BlobStoreTest, committing_the_same_content_twice_is_fine)
{
  for (int i = 0; i < 2; ++i) {
    auto writer = m_store.create();
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->write("same"));
    ASSERT_TRUE(writer->commit(Sha256::of("same")));
  }
  EXPECT_EQ(files_under(m_root).size(), 1U);
}

TEST_F(BlobStoreTest, open_returns_fd_and_size)
{
  const std::string content(12345, 'z');
  auto writer = m_store.create();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write(content));
  ASSERT_TRUE(writer->commit(Sha256::of(content)));

  auto blob = m_store.open(Sha256::of(content));
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->size, content.size());
  EXPECT_EQ(read_fd(blob->fd.get()), content);
  EXPECT_FALSE(m_store.open(Sha256::of("absent")));
}

TEST_F(BlobStoreTest, remove)
{
  auto writer = m_store.create();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write("x"));
  ASSERT_TRUE(writer->commit(Sha256::of("x")));
  EXPECT_TRUE(m_store.remove(Sha256::of("x")));
  EXPECT_FALSE(m_store.contains(Sha256::of("x")));
  EXPECT_FALSE(m_store.remove(Sha256::of("x")));
}

TEST_F(BlobStoreTest, remove_temp_files_cleans_crash_leftovers_only)
{
  test::write_file(m_root / "tmp" / "1-0-00000000deadbeef.tmp", "left by a crash");
  test::write_file(m_root / "tmp" / "stray", "also");
  auto live = m_store.create();
  ASSERT_TRUE(live);
  ASSERT_TRUE(live->write("being written"));
  auto done = m_store.create();
  ASSERT_TRUE(done);
  ASSERT_TRUE(done->write("done"));
  ASSERT_TRUE(done->commit(Sha256::of("done")));

  EXPECT_EQ(m_store.remove_temp_files(), 2U);
  // This process's live writer keeps its temp file, and committed blobs are untouched.
  EXPECT_EQ(files_under(m_root / "tmp").size(), 1U);
  EXPECT_TRUE(m_store.contains(Sha256::of("done")));
  ASSERT_TRUE(live->commit(Sha256::of("being written")));
  EXPECT_EQ(m_store.remove_temp_files(), 0U);
}

TEST_F(BlobStoreTest, a_new_store_cleans_what_an_old_process_left)
{
  test::write_file(m_root / "tmp" / "42-7-0123456789abcdef.tmp", "left by a crash");
  const BlobStore reopened(m_root);
  EXPECT_EQ(reopened.remove_temp_files(), 1U);
  EXPECT_TRUE(files_under(m_root / "tmp").empty());
}

TEST_F(BlobStoreTest, create_fails_with_the_temp_path_when_tmp_is_gone)
{
  fs::remove(m_root / "tmp");
  const auto writer = m_store.create();
  ASSERT_FALSE(writer);
  EXPECT_NE(writer.error().find((m_root / "tmp").string()), std::string::npos) << writer.error();
}

} // namespace
} // namespace airlock::storage
