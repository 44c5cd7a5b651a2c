#pragma once

// Private to proxy/: content negotiation of the Simple API (PEP 691): which representation a
// client gets, from its Accept header or ?format=.

#include <optional>
#include <string_view>

namespace airlock::proxy {

// The representation a client gets.
enum class Format { html, html_v1, json_v1 };

// The Content-Type header for a format: "text/html; charset=utf-8",
// "application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+json".
std::string_view content_type(Format format);

// Picks a format from `?format=` (when non-empty; it names a content type as in PEP 691) or
// else the Accept header, honoring q-values (q=0 refuses), wildcards and "latest" aliases.
// An empty Accept or "*/*" gets html. nullopt when nothing acceptable (-> 406).
std::optional<Format> negotiate(std::string_view accept, std::string_view format_param);

// Whether an Accept-Encoding header admits gzip: "gzip" (or "x-gzip", or "*" when gzip is not
// named) with a q-value above 0. RFC 9110 12.5.3; a malformed element admits nothing.
bool accepts_gzip(std::string_view accept_encoding);

} // namespace airlock::proxy
