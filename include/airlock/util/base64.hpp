// Base64 (RFC 4648) for every module, on libsodium: the standard alphabet with padding
// (Sigstore, HTTP Basic) and the URL alphabet without padding (tokens, wheel RECORD hashes).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace airlock {

// Returns standard base64 (RFC 4648 section 4) of `bytes`, padded with '='.
std::string base64_encode(std::string_view bytes);
// Decodes standard base64 with its padding; nullopt otherwise. Rejects whitespace, the URL
// alphabet and non-zero trailing bits, so each byte string has one accepted spelling.
std::optional<std::string> base64_decode(std::string_view text);
// Returns URL-safe base64 (RFC 4648 section 5, '-' and '_') of `bytes`, without padding.
std::string base64url_encode(std::string_view bytes);

} // namespace airlock
