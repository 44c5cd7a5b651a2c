// Small text helpers for protocol tokens (schemes, hosts, media types), which are ASCII
// and compared without regard to case.
#pragma once

#include <string>
#include <string_view>

namespace airlock {

// Returns `text` with ASCII 'A'-'Z' lowered; other bytes (UTF-8 too) are left as they are,
// whatever the process locale.
std::string lowercase(std::string_view text);

} // namespace airlock
