#pragma once

// Private to proxy/: parsing what upstream serves (PEP 503 HTML, PEP 691 JSON), as untrusted
// input, into file records.

#include <airlock/storage/records.hpp>
#include <airlock/util/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::proxy {

inline constexpr std::size_t k_max_upstream_page = 64u << 20; // bytes
inline constexpr std::size_t k_max_files_per_page = 200'000;

// A project page as upstream listed it. Files carry project (normalized), filename, version
// (parsed from the filename, may be empty), sha256, size, upload_time, requires_python,
// yanked, core_metadata and an absolute url; first_seen/removed_upstream are left default.
struct UpstreamPage
{
  std::vector<storage::FileRecord> files;
  std::string status;        // PEP 792 project-status, empty when absent
  std::string status_reason; // PEP 792 reason
  std::vector<std::string> skipped; // one line per file left out, and why (logged by callers)
};

// Parses a PEP 691 JSON project page fetched from `page_url`, for normalized `project`.
// Untrusted input: a file entry with no valid sha256, an unsafe filename, or a URL that is not
// http(s) is skipped (and noted); a body that is not a PEP 691 page is an error.
Expected<UpstreamPage> parse_json_page(std::string_view body,
                                       std::string_view page_url,
                                       std::string_view project);
// Parses a PEP 503 HTML project page; the same rules as parse_json_page. The sha256 comes from
// the URL fragment, metadata hashes from data-core-metadata / data-dist-info-metadata.
Expected<UpstreamPage> parse_html_page(std::string_view body,
                                       std::string_view page_url,
                                       std::string_view project);

} // namespace airlock::proxy
