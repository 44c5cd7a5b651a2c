#pragma once

// Private to proxy/: absolute http(s) URLs, for the upstream client and the CLI's API client.

#include <airlock/util/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace airlock::proxy {

// An absolute http(s) URL taken apart.
struct Url
{
  std::string scheme; // "http" or "https"
  std::string host;   // without brackets for IPv6
  std::uint16_t port = 0;
  std::string target; // path and query, at least "/"

  bool tls() const { return scheme == "https"; }
  // "https://host:port", the connection pool key.
  std::string origin() const;
};

// Parses an absolute http or https URL; the fragment is dropped.
Expected<Url> parse_url(std::string_view text);
// Resolves a reference (absolute, or relative such as a Location header) against a base URL.
Expected<std::string> resolve_url(std::string_view base, std::string_view reference);

} // namespace airlock::proxy
