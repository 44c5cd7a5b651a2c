// BlobWriter and BlobStore: blobs written to a temp file, hashed, fsynced and renamed under
// their sha256, then opened and removed by it; leftover temp files cleared.

#include <airlock/storage/blob_store.hpp>

#include <airlock/util/fs.hpp>

#include <fmt/core.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>

namespace airlock::storage {

namespace {

// The directory holding temp files; on the same file system as the blobs, so rename is atomic.
std::filesystem::path
temp_dir(const std::filesystem::path& root)
{
  return root / "tmp";
}

// Distinguishes this process's temp files from a crashed one's, even when the pid repeats
// (a container's airlock is often pid 1 on every start).
std::uint64_t
process_salt()
{
  static const std::uint64_t salt = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) | rd();
  }();
  return salt;
}

std::string
salt_suffix()
{
  return fmt::format("-{:016x}.tmp", process_salt());
}

// A name no other writer picks: pid and a counter for this process, the salt for others.
std::string
temp_name()
{
  static std::atomic<std::uint64_t> counter{0};
  return fmt::format("{}-{}{}", ::getpid(), counter.fetch_add(1), salt_suffix());
}

// mkdir that also makes the new entry durable in its parent, so the blob renamed into it
// survives a crash along with the path leading to it.
Expected<void>
make_dir(const std::filesystem::path& dir)
{
  if (::mkdir(dir.c_str(), 0755) == 0) {
    return fsync_dir(dir.parent_path());
  }
  if (errno == EEXIST) {
    return {};
  }
  return make_unexpected(fmt::format("cannot create directory {}: {}", dir.string(), errno_text()));
}

void
unlink_temp(Fd& fd, std::filesystem::path& temp_path)
{
  fd.reset();
  if (!temp_path.empty()) {
    ::unlink(temp_path.c_str());
    temp_path.clear();
  }
}

} // namespace

BlobWriter::BlobWriter(std::filesystem::path blob_root, std::filesystem::path temp_path, Fd fd)
  : m_blob_root(std::move(blob_root)),
    m_temp_path(std::move(temp_path)),
    m_fd(std::move(fd))
{
}

BlobWriter::BlobWriter(BlobWriter&& other) noexcept
  : m_blob_root(std::exchange(other.m_blob_root, {})),
    m_temp_path(std::exchange(other.m_temp_path, {})),
    m_fd(std::move(other.m_fd)),
    m_hasher(std::move(other.m_hasher)),
    m_digest(std::exchange(other.m_digest, std::nullopt)),
    m_size(std::exchange(other.m_size, 0)),
    m_committed(std::exchange(other.m_committed, false))
{
}

BlobWriter&
BlobWriter::operator=(BlobWriter&& other) noexcept
{
  if (this != &other) {
    // The temp file this writer owned is abandoned: remove it as the destructor would.
    unlink_temp(m_fd, m_temp_path);
    m_blob_root = std::exchange(other.m_blob_root, {});
    m_temp_path = std::exchange(other.m_temp_path, {});
    m_fd = std::move(other.m_fd);
    m_hasher = std::move(other.m_hasher);
    m_digest = std::exchange(other.m_digest, std::nullopt);
    m_size = std::exchange(other.m_size, 0);
    m_committed = std::exchange(other.m_committed, false);
  }
  return *this;
}

BlobWriter::~BlobWriter()
{
  unlink_temp(m_fd, m_temp_path);
}

Expected<void>
BlobWriter::write(std::span<const std::byte> data)
{
  if (!m_fd || m_digest) {
    return make_unexpected(
      fmt::format("cannot write to blob {}: writer already finished", m_temp_path.string()));
  }
  const auto* p = reinterpret_cast<const char*>(data.data());
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(m_fd.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_unexpected(fmt::format("cannot write {}: {}", m_temp_path.string(), errno_text()));
    }
    // Hash exactly what reached the file, so the digest describes the file even when a
    // later chunk fails halfway.
    const auto written = static_cast<std::size_t>(n);
    m_hasher.update(std::string_view(p, written));
    m_size += written;
    p += written;
    left -= written;
  }
  return {};
}

Expected<void>
BlobWriter::write(std::string_view data)
{
  return write(std::as_bytes(std::span(data.data(), data.size())));
}

Sha256
BlobWriter::digest()
{
  if (!m_digest) {
    m_digest = m_hasher.finish();
  }
  return *m_digest;
}

Expected<void>
BlobWriter::commit(const Sha256& expected)
{
  if (m_committed) {
    return make_unexpected(std::string("blob already committed"));
  }
  if (!m_fd) {
    return make_unexpected(std::string("cannot commit blob: its temp file is gone"));
  }
  const Sha256 actual = digest();
  if (actual != expected) {
    unlink_temp(m_fd, m_temp_path);
    return make_unexpected(fmt::format("sha256 mismatch: expected {}, got {}", expected.hex(), actual.hex()));
  }
  if (::fsync(m_fd.get()) != 0) {
    return make_unexpected(fmt::format("cannot fsync {}: {}", m_temp_path.string(), errno_text()));
  }
  m_fd.reset();

  const std::string hex = actual.hex();
  const auto outer = m_blob_root / hex.substr(0, 2);
  const auto inner = outer / hex.substr(2, 2);
  const auto final_path = inner / hex;
  for (const auto* dir : {&outer, &inner}) {
    if (auto made = make_dir(*dir); !made) {
      return made;
    }
  }
  // Replacing an existing blob is fine: same name, same bytes (a concurrent download).
  if (::rename(m_temp_path.c_str(), final_path.c_str()) != 0) {
    return make_unexpected(
      fmt::format("cannot rename {} to {}: {}", m_temp_path.string(), final_path.string(), errno_text()));
  }
  m_temp_path.clear();
  m_committed = true;
  return fsync_dir(inner);
}

BlobStore::BlobStore(std::filesystem::path root) : m_root(std::move(root))
{
  std::error_code ec;
  std::filesystem::create_directories(temp_dir(m_root), ec);
  if (ec) {
    throw StorageError(
      fmt::format("cannot create blob directory {}: {}", temp_dir(m_root).string(), ec.message()));
  }
}

Expected<BlobWriter>
BlobStore::create() const
{
  // O_EXCL: never adopt a file someone else is writing; retry the rare name clash.
  for (int attempt = 0;; ++attempt) {
    auto temp_path = temp_dir(m_root) / temp_name();
    // Read-write: the first download of a wheel is inspected again from what was written.
    Fd fd(::open(temp_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd) {
      return BlobWriter(m_root, std::move(temp_path), std::move(fd));
    }
    if (errno != EEXIST || attempt == 9) {
      return make_unexpected(fmt::format("cannot create {}: {}", temp_path.string(), errno_text()));
    }
  }
}

std::optional<OpenBlob>
BlobStore::open(const Sha256& sha256) const
{
  const auto p = path(sha256);
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    throw StorageError(fmt::format("cannot open blob {}: {}", p.string(), errno_text()));
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) {
    throw StorageError(fmt::format("cannot stat blob {}: {}", p.string(), errno_text()));
  }
  if (!S_ISREG(st.st_mode)) {
    throw StorageError(fmt::format("blob {} is not a regular file", p.string()));
  }
  return OpenBlob{std::move(fd), static_cast<std::uint64_t>(st.st_size)};
}

bool
BlobStore::contains(const Sha256& sha256) const
{
  const auto p = path(sha256);
  struct stat st{};
  if (::stat(p.c_str(), &st) == 0) {
    return true;
  }
  if (errno == ENOENT) {
    return false;
  }
  throw StorageError(fmt::format("cannot stat blob {}: {}", p.string(), errno_text()));
}

bool
BlobStore::remove(const Sha256& sha256) const
{
  const auto p = path(sha256);
  if (::unlink(p.c_str()) == 0) {
    return true;
  }
  if (errno == ENOENT) {
    return false;
  }
  throw StorageError(fmt::format("cannot remove blob {}: {}", p.string(), errno_text()));
}

std::filesystem::path
BlobStore::path(const Sha256& sha256) const
{
  const std::string hex = sha256.hex();
  return m_root / hex.substr(0, 2) / hex.substr(2, 2) / hex;
}

std::size_t
BlobStore::remove_temp_files() const
{
  // Temp files of this process belong to live writers (or to their destructors): keep them.
  const auto dir = temp_dir(m_root);
  const std::string own_suffix = salt_suffix();
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  std::size_t removed = 0;
  while (!ec && it != std::filesystem::directory_iterator()) {
    const auto& entry = *it;
    const bool is_dir = entry.symlink_status(ec).type() == std::filesystem::file_type::directory;
    if (ec == std::errc::no_such_file_or_directory) {
      ec.clear(); // gone since the directory was read
    } else if (ec) {
      break;
    } else if (!is_dir && !entry.path().filename().string().ends_with(own_suffix)) {
      if (::unlink(entry.path().c_str()) == 0) {
        ++removed;
      } else if (errno != ENOENT) {
        throw StorageError(fmt::format("cannot remove {}: {}", entry.path().string(), errno_text()));
      }
    }
    it.increment(ec);
  }
  if (ec) {
    throw StorageError(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  }
  return removed;
}

} // namespace airlock::storage
