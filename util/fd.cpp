// Fd: the owned file descriptor, closed when it is reset or destroyed.
// Move-only; close errors are not reported.

#include <airlock/util/fd.hpp>

#include <unistd.h>

namespace airlock {

void
Fd::reset(int fd)
{
  if (m_fd >= 0) {
    ::close(m_fd);
  }
  m_fd = fd;
}

} // namespace airlock
