// The pieces of a client request Airlock takes apart itself, without a server: content
// negotiation (Accept with q-values, ?format=), percent-decoding of paths and query values,
// project names, and TUF consistent target paths.
// Input: the Accept header, the query string and a request path, one per line.
// Properties: the default is HTML; decoded paths hold no control characters and re-encode to
// the same decoding; a consistent target path rebuilds from what it names.

#include "fuzz.hpp"

#include "http/exchange.hpp"

#include <airlock/policy/filename.hpp>
#include "upstream/simple_parse.hpp"
#include "http/negotiate.hpp"
#include <airlock/tuf/target.hpp>

#include <string>

using namespace airlock;

namespace {

std::string
percent_encode(std::string_view text)
{
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    out += '%';
    out += k_hex[c >> 4];
    out += k_hex[c & 15];
  }
  return out;
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  std::string_view rest = fuzz::as_text(data, size);
  const auto accept = fuzz::take_until(rest, '\n');
  const auto query = fuzz::take_until(rest, '\n');
  const auto path = rest;

  const auto format_param = proxy::query_param(query, "format");
  const auto format = proxy::negotiate(accept, format_param);
  if (format) {
    FUZZ_CHECK(!proxy::content_type(*format).empty());
  }
  FUZZ_CHECK(proxy::negotiate("", "") == proxy::Format::html);
  FUZZ_CHECK(proxy::negotiate(accept, format_param) == format);

  if (const auto decoded = proxy::percent_decode(path)) {
    for (const unsigned char c : *decoded) {
      FUZZ_CHECK(c >= 0x20 && c != 0x7f);
    }
    FUZZ_CHECK(proxy::percent_decode(percent_encode(*decoded)) == decoded);
    FUZZ_CHECK(decoded->size() <= path.size());
    if (policy::is_valid_project_name(*decoded)) {
      const auto name = policy::normalize_project_name(*decoded);
      FUZZ_CHECK(policy::is_valid_project_name(name));
    }
    const auto target = tuf::parse_consistent_target_path(*decoded);
    if (target) {
      FUZZ_CHECK(!tuf::invalid_target_path(target->path));
      tuf::Target rebuilt;
      rebuilt.path = target->path;
      rebuilt.sha256 = target->sha256;
      FUZZ_CHECK(tuf::consistent_target_path(rebuilt) == *decoded);
    }
  }
  return 0;
}
