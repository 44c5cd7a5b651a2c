#pragma once

// Small typed lookups over Boost.JSON values for policy's JSON readers, the provenance verifier
// and the OSV record parser (private to policy/).
// Each returns nullptr when the key is missing or holds another type; callers name the field.

#include <boost/json.hpp>

#include <cstddef>
#include <string_view>

namespace airlock::policy::json_util {

namespace json = boost::json;

// Nesting limit of every document policy parses: real attestations nest about 10 deep, OSV
// records about 8.
inline constexpr std::size_t k_max_depth = 32;

// Parses `text` with the depth limit; a null value on any error (message in `error`).
inline json::value
parse(std::string_view text, boost::system::error_code& error)
{
  json::parse_options options;
  options.max_depth = k_max_depth;
  return json::parse(text, error, {}, options);
}

inline const json::value*
find(const json::object& object, std::string_view key)
{
  return object.if_contains(key);
}

inline const json::object*
find_object(const json::object& object, std::string_view key)
{
  const auto* value = object.if_contains(key);
  return value != nullptr ? value->if_object() : nullptr;
}

inline const json::array*
find_array(const json::object& object, std::string_view key)
{
  const auto* value = object.if_contains(key);
  return value != nullptr ? value->if_array() : nullptr;
}

inline const json::string*
find_string(const json::object& object, std::string_view key)
{
  const auto* value = object.if_contains(key);
  return value != nullptr ? value->if_string() : nullptr;
}

inline std::string_view
view(const json::string& s)
{
  return {s.data(), s.size()};
}

} // namespace airlock::policy::json_util
