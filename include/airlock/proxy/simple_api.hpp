#pragma once

#include <airlock/storage/records.hpp>
#include <airlock/util/error.hpp>
#include <airlock/util/time.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The PyPI Simple Repository API on both sides: parsing what upstream serves (PEP 503 HTML,
// PEP 691 JSON) and rendering what Airlock serves.
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

// What Airlock serves for one project.
struct ProjectPage
{
  std::string name;                              // normalized
  std::span<const storage::FileRecord> files;    // the files to list, already filtered
  std::string file_url_prefix;                   // e.g. "../../files/": URL = prefix + sha256 hex + "/" + filename
  std::string status;                            // PEP 792, empty = omit
  std::string status_reason;
  std::size_t withheld = 0;                      // files not served (any non-approved state)
  std::optional<Time> next_available;            // when the next withheld file may be served
  // PEP 740: per file (parallel to `files`), the URL of its verified provenance, or empty. The
  // JSON page advertises it as "provenance"; when this is empty, no file has any.
  std::span<const std::string> provenance_urls;
};

// PEP 503 HTML (api-version 1.1 meta tag, data-requires-python, data-yanked, data-core-metadata
// and data-dist-info-metadata, #sha256= fragments), attribute values HTML-escaped.
std::string render_project_html(const ProjectPage& page);
// PEP 691 JSON, api-version 1.1 (PEP 700 versions, size, upload-time), PEP 714 core-metadata
// plus the legacy dist-info-metadata, PEP 792 project-status when set, and
// "_airlock": {"withheld": N, "next_available": time|null}.
std::string render_project_json(const ProjectPage& page);
// The /simple/ root: every project name, linking to "<name>/".
std::string render_index_html(std::span<const std::string> names);
std::string render_index_json(std::span<const std::string> names);

// The representation a client gets.
enum class Format { html, html_v1, json_v1 };

// The Content-Type header for a format: "text/html; charset=utf-8",
// "application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+json".
std::string_view content_type(Format format);

// Picks a format from `?format=` (when non-empty; it names a content type as in PEP 691) or
// else the Accept header, honoring q-values (q=0 refuses), wildcards and "latest" aliases.
// An empty Accept or "*/*" gets html. nullopt when nothing acceptable (-> 406).
std::optional<Format> negotiate(std::string_view accept, std::string_view format_param);

} // namespace airlock::proxy
