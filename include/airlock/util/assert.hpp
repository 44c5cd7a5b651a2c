#pragma once

// AIRLOCK_ASSERT and its failure path (util/assert.cpp): internal invariants are checked in
// every build type, and a broken one aborts naming its place.

// Always-on check of an internal invariant; never for upstream or client bytes.
#define AIRLOCK_ASSERT(cond)                                                   \
  do {                                                                         \
    if (!(cond)) {                                                             \
      ::airlock::assertion_failed(__FILE__, __LINE__, #cond);                  \
    }                                                                          \
  } while (false)

namespace airlock {

[[noreturn]] void assertion_failed(const char* file, int line, const char* condition);

} // namespace airlock
