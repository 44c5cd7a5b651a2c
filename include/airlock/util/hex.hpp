// Lowercase hex of bytes: key ids, digests and token ids as Airlock writes them.
// Parsing hex stays with its callers, whose accepted spellings differ (Sha256::from_hex).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace airlock {

// Returns two lowercase hex digits per byte.
std::string to_hex(std::span<const unsigned char> bytes);
// Returns two lowercase hex digits per byte of `bytes` (a byte string, not text).
std::string to_hex(std::string_view bytes);

} // namespace airlock
