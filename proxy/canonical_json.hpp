#pragma once

// OLPC canonical JSON (private to proxy/): the bytes TUF signs. Keys sorted by their UTF-8
// bytes, no whitespace, integers only, and in strings only '"' and '\' escaped, as
// securesystemslib and tuf-js (@tufjs/canonical-json) produce.

#include <airlock/util/error.hpp>

#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace airlock::proxy::tuf {

// Nesting limit of every metadata document parsed: TUF metadata nests about 6 deep.
inline constexpr std::size_t k_max_json_depth = 32;

// Returns the canonical form of `value`; fails on a non-integer number.
Expected<std::string> canonical_json(const boost::json::value& value);

// Parses a JSON document (UTF-8 checked, depth limited); fails with Boost.JSON's message.
Expected<boost::json::value> parse_json(std::string_view text);

} // namespace airlock::proxy::tuf
