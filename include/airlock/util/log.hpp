#pragma once

// Logging: levels, the process-wide level setting and AIRLOCK_LOG, which formats only when
// its level is written.

#include <fmt/core.h>

#include <string_view>

namespace airlock::log {

enum class Level { error, warn, info, debug };

// Sets the most verbose level that is written (default: info). Not thread-safe: call at startup.
void set_level(Level level);
bool enabled(Level level);
// Writes one line to stderr, prefixed with the UTC time and level. Thread-safe.
void write(Level level, std::string_view message);

} // namespace airlock::log

// Formats only when the level is enabled: AIRLOCK_LOG(warn, "upstream {} failed: {}", url, why).
#define AIRLOCK_LOG(level, ...)                                                \
  do {                                                                         \
    if (::airlock::log::enabled(::airlock::log::Level::level)) {               \
      ::airlock::log::write(::airlock::log::Level::level,                      \
                            ::fmt::format(__VA_ARGS__));                       \
    }                                                                          \
  } while (false)
