#pragma once

// The content-addressed blob store: files named by their sha256, written through a BlobWriter
// that hashes and fsyncs before the file appears under its name.

#include <airlock/util/error.hpp>
#include <airlock/util/fd.hpp>
#include <airlock/util/sha256.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string_view>

namespace airlock::storage {

// Bytes on their way into the blob store: a temp file hashed as it is written. Move-only;
// the destructor unlinks the temp file unless commit() succeeded.
class BlobWriter
{
public:
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) noexcept;
  ~BlobWriter();

  // Appends bytes and hashes them. Errors (disk full, ...) name the temp path.
  [[nodiscard]] Expected<void> write(std::span<const std::byte> data);
  [[nodiscard]] Expected<void> write(std::string_view data);
  std::uint64_t size() const { return m_size; }
  // The temp file's descriptor, to read back what was written (pread); valid until commit().
  int fd() const { return m_fd.get(); }
  // Finishes hashing; returns the digest of everything written. Call once, before commit().
  Sha256 digest();
  // fsyncs the temp file, renames it to its content address, fsyncs the directory.
  // Fails, and removes the temp file, when the digest is not `expected`.
  [[nodiscard]] Expected<void> commit(const Sha256& expected);

private:
  friend class BlobStore;
  BlobWriter(std::filesystem::path blob_root, std::filesystem::path temp_path, Fd fd);

  std::filesystem::path m_blob_root;
  std::filesystem::path m_temp_path;
  Fd m_fd;
  Sha256Hasher m_hasher;
  std::optional<Sha256> m_digest;
  std::uint64_t m_size = 0;
  bool m_committed = false;
};

// A blob opened for reading.
struct OpenBlob
{
  Fd fd;
  std::uint64_t size = 0;
};

// Content-addressed files under <root>/ab/cd/<sha256 hex>. A file is only ever visible under
// its final name once its bytes are complete, hashed and fsynced. Thread-safe.
class BlobStore
{
public:
  // Creates <root> and <root>/tmp when missing; throws StorageError when it cannot.
  explicit BlobStore(std::filesystem::path root);

  // Starts a new blob in <root>/tmp.
  [[nodiscard]] Expected<BlobWriter> create() const;
  // Opens a blob for reading; nullopt when it is not there.
  std::optional<OpenBlob> open(const Sha256& sha256) const;
  bool contains(const Sha256& sha256) const;
  // Removes a blob (fsck --repair, tests); true when it was there.
  bool remove(const Sha256& sha256) const;
  std::filesystem::path path(const Sha256& sha256) const;
  const std::filesystem::path& root() const { return m_root; }
  // Deletes leftovers in <root>/tmp from a crash; returns how many.
  std::size_t remove_temp_files() const;

private:
  std::filesystem::path m_root;
};

} // namespace airlock::storage
