// File system basics: errno as text and the directory fsync after a create or rename,
// in one place for storage/ and tuf/.
#include <airlock/util/fs.hpp>

#include <airlock/util/fd.hpp>

#include <fmt/core.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace airlock {

std::string
errno_text()
{
  return std::strerror(errno);
}

Expected<void>
fsync_dir(const std::filesystem::path& dir)
{
  const Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    return make_unexpected(fmt::format("cannot open directory {}: {}", dir.string(), errno_text()));
  }
  if (::fsync(fd.get()) != 0) {
    return make_unexpected(fmt::format("cannot fsync directory {}: {}", dir.string(), errno_text()));
  }
  return {};
}

} // namespace airlock
