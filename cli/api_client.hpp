#pragma once

// Private to proxy/: the command line's side of the admin API, a blocking HTTP(S) client.

#include <airlock/util/error.hpp>
#include <airlock/util/sha256.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <string_view>

namespace airlock::cli {

struct ApiResponse
{
  unsigned status = 0;
  std::string body;
};

// Sends one request to `server` ("http://host:port" or https, with or without a path prefix)
// for `target` ("/-/api/v1/queue"), with a bearer token when non-empty and a JSON body when
// non-empty. Errors are transport failures, one line each; any HTTP status is a response.
Expected<ApiResponse> call_api(std::string_view server, std::string_view method, std::string_view target,
                               std::string_view token, std::string_view body,
                               std::string_view accept = "application/json");

// GETs `target` and reads the body to the end without keeping it (prefetching files into
// Airlock's cache). Returns the status and the number of body bytes.
// With `hasher`, every body byte is hashed too.
Expected<std::pair<unsigned, std::uint64_t>> fetch_and_discard(std::string_view server, std::string_view target,
                                                               std::string_view token,
                                                               Sha256Hasher* hasher = nullptr);

} // namespace airlock::cli
