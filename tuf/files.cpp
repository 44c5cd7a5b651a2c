// Files of a TUF repository: secret key files created 0600, metadata replaced atomically by
// rename, one syncfs per publication, and reads bounded in size.
#include "files.hpp"

#include <airlock/util/fd.hpp>
#include <airlock/util/fs.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>

namespace airlock::tuf {

namespace fs = std::filesystem;

namespace {

Expected<void>
write_all(int fd, std::string_view data, const fs::path& path)
{
  while (!data.empty()) {
    const auto written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_unexpected(fmt::format("{}: write: {}", path.string(), errno_text()));
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return {};
}

} // namespace

Expected<void>
write_secret_file(const fs::path& path, std::string_view secret)
{
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) {
    return make_unexpected(fmt::format("{}: {}", path.string(), errno_text()));
  }
  if (auto ok = write_all(fd.get(), secret, path); !ok) {
    return ok;
  }
  if (::fsync(fd.get()) != 0) {
    return make_unexpected(fmt::format("{}: fsync: {}", path.string(), errno_text()));
  }
  return fsync_dir(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

// Replaces `path` atomically: temp file, (fsync), rename, (fsync of the directory). Fsync::no
// is for files made durable together by sync_filesystem() before anything refers to them.
Expected<void>
write_file_atomic(const fs::path& path, std::string_view data, Fsync fsync)
{
  std::string temp = path.string() + ".tmp.XXXXXX";
  Fd fd(::mkstemp(temp.data()));
  if (!fd) {
    return make_unexpected(fmt::format("{}: {}", temp, errno_text()));
  }
  auto fail = [&](std::string message) -> Expected<void> {
    ::unlink(temp.c_str());
    return make_unexpected(std::move(message));
  };
  if (auto ok = write_all(fd.get(), data, temp); !ok) {
    return fail(ok.error());
  }
  if (::fchmod(fd.get(), 0644) != 0 || (fsync == Fsync::yes && ::fsync(fd.get()) != 0)) {
    return fail(fmt::format("{}: {}", temp, errno_text()));
  }
  fd.reset();
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return fail(fmt::format("{}: rename: {}", path.string(), errno_text()));
  }
  return fsync == Fsync::yes ? fsync_dir(path.parent_path()) : Expected<void>{};
}

// One syncfs() for a publication's many files (256 bins), instead of two fsyncs each.
Expected<void>
sync_filesystem(const fs::path& dir)
{
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::syncfs(fd.get()) != 0) {
    return make_unexpected(fmt::format("{}: syncfs: {}", dir.string(), errno_text()));
  }
  return {};
}

std::optional<std::string>
read_small_file(const fs::path& path, std::size_t max_bytes)
{
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return std::nullopt;
  }
  std::string out;
  std::array<char, 65536> buffer{};
  while (true) {
    const auto got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return std::nullopt;
    }
    if (got == 0) {
      break;
    }
    out.append(buffer.data(), static_cast<std::size_t>(got));
    if (out.size() > max_bytes) {
      return std::nullopt;
    }
  }
  return out;
}

} // namespace airlock::tuf
