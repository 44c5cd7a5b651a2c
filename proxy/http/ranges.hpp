#pragma once

// Private to proxy/: single byte-range requests (RFC 9110 14.1.2, 14.2, 13.1.5), decided
// without I/O so that every form is unit-tested.

#include <cstdint>
#include <string_view>

namespace airlock::proxy {

// What a GET (or HEAD) with a Range header gets.
enum class RangeAnswer {
  whole,         // 200 with the whole representation: no Range, or one to ignore
  part,          // 206 with bytes first..last
  unsatisfiable, // 416 with "Content-Range: bytes */size"
};

struct RangeDecision
{
  RangeAnswer answer = RangeAnswer::whole;
  std::uint64_t first = 0; // inclusive; set for `part`
  std::uint64_t last = 0;  // inclusive, clamped to size - 1; set for `part`
};

// Decides a Range header's value for a representation of `size` bytes. Only one range of the
// "bytes" unit is served ("bytes=first-last", "bytes=first-", "bytes=-suffix"); several ranges
// (a comma), another unit and a value that does not parse (first > last included) get the
// whole representation, as RFC 9110 14.2 allows. A first byte at or past the end, or a suffix
// of 0, is unsatisfiable; a last byte past the end is clamped. Numbers too large for 64 bits
// saturate, which keeps their meaning (past any end).
RangeDecision decide_range(std::string_view range, std::uint64_t size);

// Whether an If-Range value lets a Range apply (RFC 9110 13.1.5): only an entity tag that is
// strongly equal to `etag` (which is strong, quotes included). An HTTP-date never matches:
// files are sent without Last-Modified.
bool if_range_matches(std::string_view if_range, std::string_view etag);

} // namespace airlock::proxy
