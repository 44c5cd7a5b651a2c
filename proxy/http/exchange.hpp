#pragma once

// Private to proxy/: one request and the response being written for it.

#include "http/metrics.hpp"
#include "http/net.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
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
// Writes a response whose header fields the caller formatted ("Name: value\r\n" each), adding
// the status line, Server, Connection and Content-Length, and the body (none for HEAD), in one
// gathered write that is tried at once, without a trip through the event loop: the hot path
// of cached pages. The same bookkeeping as send().
Awaitable<void> send_prepared(Exchange& exchange, http::status status, std::string_view fields,
                              std::string_view body);
// The status line and header of a response, as send_prepared() writes them, for a body of
// `content_length` bytes; records the status in the exchange. A body of unknown length is
// chunked for HTTP/1.1 and ends with the connection for HTTP/1.0 (whose keep_alive the
// caller must have turned off).
std::string prepare_head(Exchange& exchange, http::status status, std::string_view fields,
                         std::optional<std::uint64_t> content_length);
// Writes `buffers` in one gathered write that is tried at once, then waits for the socket
// (with the write timeout) for what is left. `more`: more bytes follow at once (MSG_MORE), so
// a small header and the body after it leave in one segment. False when the write failed
// (keep-alive ends).
Awaitable<bool> write_now(Exchange& exchange, std::span<const net::const_buffer> buffers, bool more);
// The same for `first` then `second`.
Awaitable<bool> write_now(Exchange& exchange, std::string_view first, std::string_view second, bool more);

// Value of a query parameter (percent-decoded), or empty.
std::string query_param(std::string_view query, std::string_view name);
// Percent-decodes a path; nullopt on bad escapes, NUL or control characters.
std::optional<std::string> percent_decode(std::string_view text);

} // namespace airlock::proxy
