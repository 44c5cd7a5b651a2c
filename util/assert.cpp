// AIRLOCK_ASSERT's failure path: prints the broken invariant with its place and aborts.
// Always on, in every build type.

#include <airlock/util/assert.hpp>

#include <cstdio>
#include <cstdlib>

namespace airlock {

void
assertion_failed(const char* file, int line, const char* condition)
{
  std::fprintf(stderr, "airlock: internal error: %s:%d: assertion failed: %s\n", file, line, condition);
  std::abort();
}

} // namespace airlock
