#pragma once

// Typed parsers for durations and sizes as the configuration writes them, and durations
// formatted for humans.

#include <airlock/util/error.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace airlock {

// Parses "30s", "10m", "36h", "7d" (a whole number and one unit). Errors name the problem.
Expected<std::chrono::seconds> parse_duration(std::string_view text);
// Parses "512MiB", "32GiB", "1024" (bytes); units B, KiB, MiB, GiB, TiB, KB, MB, GB, TB.
Expected<std::uint64_t> parse_size(std::string_view text);
// Formats a duration for humans with its two largest units: "6d 22h", "3h 5m", "42s".
std::string format_duration(std::chrono::seconds d);

} // namespace airlock
