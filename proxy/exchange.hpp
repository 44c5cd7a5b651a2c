#pragma once

// Private to proxy/: one request and the response being written for it.

#include "metrics.hpp"
#include "net.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace airlock::proxy {

using Request = http::request<http::string_body>;

struct Exchange
{
  beast::tcp_stream& stream;
  const Request& request;
  std::string path;  // percent-decoded
  std::string query; // raw, without '?'
  bool head = false; // HEAD: headers only
  bool keep_alive = true;
  unsigned status = 0;
  std::uint64_t bytes = 0;     // body bytes written
  std::string_view outcome;    // for the access log: "hit", "miss", "upstream", ...
  Route route = Route::other;  // for the metrics
};

inline constexpr std::chrono::seconds k_write_timeout{60};

// Finishes and writes a response whose body is in memory (HEAD: headers only). Records the
// status and size in the exchange; a write failure ends keep-alive.
Awaitable<void> send(Exchange& exchange, http::response<http::span_body<const char>>& response);
// Writes a one-line text/plain response. `reason` (optional) replaces the status line's
// reason phrase: pip prints it in its error message, so that is where a 403 says why.
Awaitable<void> send_text(Exchange& exchange, http::status status, std::string_view text,
                          std::string_view reason = {});
// Writes a redirect to `location` (relative references allowed).
Awaitable<void> send_redirect(Exchange& exchange, http::status status, std::string_view location);
// Writes the header of a response whose body the caller then writes itself.
Awaitable<bool> send_header(Exchange& exchange, http::response<http::empty_body>& response);

// Value of a query parameter (percent-decoded), or empty.
std::string query_param(std::string_view query, std::string_view name);
// Percent-decodes a path; nullopt on bad escapes, NUL or control characters.
std::optional<std::string> percent_decode(std::string_view text);

} // namespace airlock::proxy
