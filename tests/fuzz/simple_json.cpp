// Upstream PEP 691 JSON project pages (untrusted: whatever the index or a proxy on the way sends).
// Properties: every kept file passes the page checks, and Airlock's rendering of the kept files
// (JSON and HTML) parses back to the same files.

#include "page_properties.hpp"

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace airlock::fuzz;
  const auto page = airlock::proxy::parse_json_page(as_text(data, size), k_page_url, k_project);
  if (!page) {
    return 0;
  }
  check_page(*page);
  check_round_trip(*page, Fields::json);
  check_round_trip(*page, Fields::html);
  return 0;
}
