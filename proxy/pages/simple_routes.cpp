// The Simple API's routes: the project pages (live and frozen) in the negotiated format, and
// PEP 740 provenance that Airlock verified.
#include "pages/simple_routes.hpp"

#include "http/negotiate.hpp"
#include "pages/facts.hpp"
#include "pages/legacy_json.hpp"

#include <airlock/policy/filename.hpp>

#include <fmt/core.h>

namespace airlock::proxy {

namespace {

std::string_view
format_suffix_of(Format format)
{
  return format == Format::json_v1 ? "json" : "html";
}

// Sends a rendered page, gzip-compressed when rendered so and the client accepts it, with its
// ETag, or 304 when the client holds that ETag. `vary` names the request fields it depends on.
Awaitable<void>
send_rendered(Exchange& exchange, const RenderedPage& page, std::string_view type, std::string_view vary)
{
  // Compressed once when rendered; sent to clients that accept gzip (pip, uv, requests).
  const bool gzip = !page.gzip.empty() && accepts_gzip(exchange.request[http::field::accept_encoding]);
  const std::string& etag = gzip ? page.gzip_etag : page.etag;
  const bool not_modified = exchange.request[http::field::if_none_match] == etag;
  // Formatted by hand: Beast's header serialization was the largest cost of a small page.
  std::string fields;
  fields.reserve(192 + etag.size());
  fields += "Content-Type: ";
  fields += type;
  if (gzip) {
    fields += "\r\nContent-Encoding: gzip";
  }
  fields += "\r\nETag: ";
  fields += etag;
  fields += "\r\nVary: ";
  fields += vary;
  fields += "\r\nCache-Control: max-age=0, must-revalidate\r\n";
  std::string_view body;
  if (!not_modified) {
    body = gzip ? page.gzip : page.body;
  }
  const http::status status = not_modified ? http::status::not_modified : http::status::ok;
  co_await send_prepared(exchange, status, fields, body);
}

} // namespace

SimpleRoutes::SimpleRoutes(storage::Store& store, ProjectIndex& index, SnapshotService& snapshots)
  : m_store(store), m_index(index), m_snapshots(snapshots)
{
}

Awaitable<void>
SimpleRoutes::root(Exchange& exchange)
{
  exchange.route = Route::simple_root;
  auto view = m_index.root();
  co_await send_page(exchange, *view);
}

Awaitable<void>
SimpleRoutes::project(Exchange& exchange, std::string_view raw_name, bool trailing_slash,
                      const std::string& snapshot)
{
  exchange.route = Route::simple_project;
  if (!policy::is_valid_project_name(raw_name)) {
    co_await send_text(exchange, http::status::not_found, "not found: not a valid project name");
    co_return;
  }
  const std::string name = policy::normalize_project_name(raw_name);
  if (name != raw_name || !trailing_slash) {
    // Relative, so it also works behind a reverse proxy that mounts Airlock under a prefix.
    std::string location = (trailing_slash ? "../" : "") + name + "/";
    if (!exchange.query.empty()) {
      location += "?" + exchange.query;
    }
    co_await send_redirect(exchange, http::status::moved_permanently, location);
    co_return;
  }
  if (!snapshot.empty()) {
    const auto view = m_snapshots.project(snapshot, name);
    if (!view) {
      co_await send_text(exchange, http::status::not_found,
                         fmt::format("not found: snapshot {} has no project {}", snapshot, name));
      co_return;
    }
    co_await send_page(exchange, *view);
    co_return;
  }
  const auto view = co_await live_view(exchange, name);
  if (view) {
    co_await send_page(exchange, *view);
  }
}

Awaitable<void>
SimpleRoutes::snapshot(Exchange& exchange, std::span<const std::string_view> segments)
{
  // segments: <name> "simple" [<project> [""]]
  exchange.route = Route::snapshot;
  const std::string name(segments[0]);
  if (!is_valid_snapshot_name(name) || !m_store.snapshot(name)) {
    co_await send_text(exchange, http::status::not_found, fmt::format("not found: no snapshot named {}", name));
    co_return;
  }
  if (segments.size() == 2) {
    co_await send_redirect(exchange, http::status::moved_permanently, "simple/");
  } else if (segments.size() == 3 && segments[2].empty()) {
    co_await send_page(exchange, *m_snapshots.root(name));
  } else if (segments.size() == 3 || (segments.size() == 4 && segments[3].empty())) {
    co_await project(exchange, segments[2], segments.size() == 4, name);
  } else {
    co_await send_text(exchange, http::status::not_found, "not found");
  }
}

// PEP 740 Integrity API: the provenance Airlock verified, for files it serves.
Awaitable<void>
SimpleRoutes::provenance(Exchange& exchange, std::string_view project, std::string_view filename)
{
  exchange.route = Route::other;
  std::optional<storage::FileChecks> found;
  if (policy::is_valid_project_name(project)) {
    if (const auto listing = m_store.listing(policy::normalize_project_name(project))) {
      if (const auto* file = listed_file(*listing, filename)) {
        found = m_store.file_checks(*file);
      }
    }
  }
  if (!found || found->provenance != storage::ProvenanceState::verified) {
    co_await send_text(exchange, http::status::not_found, "not found: no verified provenance for this file");
    co_return;
  }
  http::response<http::span_body<const char>> response{http::status::ok, 11};
  response.set(http::field::content_type, "application/vnd.pypi.integrity.v1+json");
  response.body() = {found->document.data(), found->document.size()};
  co_await send(exchange, response);
}

Awaitable<std::shared_ptr<const ProjectView>>
SimpleRoutes::live_view(Exchange& exchange, const std::string& name)
{
  auto view = co_await m_index.project(name);
  if (!view) {
    exchange.outcome = "failed";
    co_await send_text(exchange, static_cast<http::status>(view.error().status), view.error().message);
    co_return nullptr;
  }
  co_return std::move(*view);
}

Awaitable<void>
SimpleRoutes::send_page(Exchange& exchange, const ProjectView& view)
{
  const auto format = negotiate(exchange.request[http::field::accept], query_param(exchange.query, "format"));
  if (!format) {
    co_await send_text(exchange, http::status::not_acceptable,
                       "not acceptable: this index serves application/vnd.pypi.simple.v1+json, "
                       "application/vnd.pypi.simple.v1+html and text/html");
    co_return;
  }
  const RenderedPage& page = *format == Format::json_v1 ? view.json : view.html;
  exchange.outcome = format_suffix_of(*format);
  co_await send_rendered(exchange, page, content_type(*format), "Accept, Accept-Encoding");
}

// PyPI's legacy JSON API. The project document is rendered with the pages; a release's is
// rendered here from the same files, as few clients ask for one.
Awaitable<void>
SimpleRoutes::legacy_json(Exchange& exchange, std::span<const std::string_view> segments)
{
  // segments: <project> "json" | <project> <version> "json"
  exchange.route = Route::legacy_json;
  if ((segments.size() != 2 && segments.size() != 3) || segments.back() != "json"
      || (segments.size() == 3 && segments[1].empty())) {
    co_await send_text(exchange, http::status::not_found, "not found");
    co_return;
  }
  const std::string_view raw_name = segments[0];
  if (!policy::is_valid_project_name(raw_name)) {
    co_await send_text(exchange, http::status::not_found, "not found: not a valid project name");
    co_return;
  }
  const std::string name = policy::normalize_project_name(raw_name);
  if (name != raw_name) {
    // Relative, as /simple/'s redirects, so it works under a prefix too.
    std::string location = segments.size() == 2 ? fmt::format("../{}/json", name)
                                                : fmt::format("../../{}/{}/json", name, segments[1]);
    if (!exchange.query.empty()) {
      location += "?" + exchange.query;
    }
    co_await send_redirect(exchange, http::status::moved_permanently, location);
    co_return;
  }
  const auto view = co_await live_view(exchange, name);
  if (!view) {
    co_return;
  }
  const ProjectView& project = *view;
  if (project.legacy_json.body.empty()) {
    co_await send_text(exchange, http::status::not_found, fmt::format("not found: no file of {} is approved", name));
    co_return;
  }
  if (segments.size() == 2) {
    co_await send_rendered(exchange, project.legacy_json, "application/json", "Accept-Encoding");
    co_return;
  }
  auto release = render_legacy_release(name, project.files, segments[1]);
  if (!release) {
    co_await send_text(exchange, http::status::not_found,
                       fmt::format("not found: no approved file of {} {}", name, segments[1]));
    co_return;
  }
  // Named: a temporary in the co_await expression would have to outlive the suspension.
  const RenderedPage page = make_page(std::move(*release));
  co_await send_rendered(exchange, page, "application/json", "Accept-Encoding");
}

} // namespace airlock::proxy
