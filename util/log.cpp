// The process-wide logger: the level that is written, and one stderr line per event with its
// UTC time and level.

#include <airlock/util/log.hpp>

#include <airlock/util/time.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

namespace airlock::log {

namespace {

std::atomic<Level> g_level{Level::info};

const char*
level_name(Level level)
{
  switch (level) {
  case Level::error:
    return "error";
  case Level::warn:
    return "warn";
  case Level::info:
    return "info";
  case Level::debug:
    return "debug";
  }
  return "?";
}

} // namespace

void
set_level(Level level)
{
  g_level.store(level, std::memory_order_relaxed);
}

bool
enabled(Level level)
{
  return level <= g_level.load(std::memory_order_relaxed);
}

void
write(Level level, std::string_view message)
{
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  std::string line = format_rfc3339(now);
  line += ' ';
  line += level_name(level);
  line += ' ';
  line += message;
  line += '\n';
  // One fwrite per line: stdio locks the stream, so lines from threads never interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace airlock::log
