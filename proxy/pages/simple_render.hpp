#pragma once

// Private to proxy/: rendering what Airlock serves of the PyPI Simple Repository API (PEP 503
// HTML, PEP 691 JSON), for one project or the /simple/ root.

#include <airlock/storage/records.hpp>
#include <airlock/util/time.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>

namespace airlock::proxy {

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

} // namespace airlock::proxy
