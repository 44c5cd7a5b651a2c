// Single byte ranges: parsing a Range header and deciding 200, 206 or 416.
#include "http/ranges.hpp"

#include <algorithm>
#include <limits>
#include <optional>

namespace airlock::proxy {

namespace {

constexpr std::uint64_t k_max = std::numeric_limits<std::uint64_t>::max();

bool
is_ows(char c)
{
  return c == ' ' || c == '\t';
}

std::string_view
trim_ows(std::string_view text)
{
  while (!text.empty() && is_ows(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_ows(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

// 1*DIGIT, saturating at 2^64 - 1; nullopt when empty or not all digits.
std::optional<std::uint64_t>
parse_digits(std::string_view text)
{
  if (text.empty()) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (k_max - digit) / 10 ? k_max : value * 10 + digit;
  }
  return value;
}

bool
iequals(std::string_view a, std::string_view b)
{
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

} // namespace

RangeDecision
decide_range(std::string_view range, std::uint64_t size)
{
  const RangeDecision whole{};
  range = trim_ows(range);
  const auto equals = range.find('=');
  // Range units are case-insensitive (RFC 9110 14.1); the grammar has no space around '='.
  if (equals == std::string_view::npos || !iequals(range.substr(0, equals), "bytes")) {
    return whole;
  }
  const std::string_view spec = range.substr(equals + 1);
  if (spec.find(',') != std::string_view::npos) {
    return whole; // several ranges: no multipart/byteranges here
  }
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) {
    return whole;
  }
  const std::string_view first_text = spec.substr(0, dash);
  const std::string_view last_text = spec.substr(dash + 1);
  if (first_text.empty()) {
    // suffix-range: the last N bytes, or all of them when the file is shorter.
    const auto suffix = parse_digits(last_text);
    if (!suffix) {
      return whole;
    }
    if (*suffix == 0 || size == 0) {
      return {RangeAnswer::unsatisfiable};
    }
    return {RangeAnswer::part, size - std::min(*suffix, size), size - 1};
  }
  const auto first = parse_digits(first_text);
  if (!first) {
    return whole;
  }
  std::uint64_t last = k_max;
  if (!last_text.empty()) {
    const auto parsed = parse_digits(last_text);
    if (!parsed || *parsed < *first) {
      return whole; // invalid: RFC 9110 14.1.1 has first-pos <= last-pos
    }
    last = *parsed;
  }
  if (*first >= size) {
    return {RangeAnswer::unsatisfiable};
  }
  return {RangeAnswer::part, *first, std::min(last, size - 1)};
}

bool
if_range_matches(std::string_view if_range, std::string_view etag)
{
  // Strong comparison: a weak tag (W/"...") never equals, nor does a date.
  return trim_ows(if_range) == etag;
}

} // namespace airlock::proxy
