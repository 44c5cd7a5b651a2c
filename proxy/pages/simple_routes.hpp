#pragma once

// Private to proxy/: the Simple API's routes: /simple/ and its project pages, the frozen pages
// under /snapshots/<name>/simple/, PEP 740 provenance under /integrity/, and PyPI's legacy JSON
// API under /pypi/, rendered with the project pages.

#include "http/exchange.hpp"
#include "pages/project_index.hpp"
#include "pages/snapshots.hpp"

#include <span>
#include <string>
#include <string_view>

namespace airlock::proxy {

// Answers the page routes from the index and the snapshots; the server's router picks them.
class SimpleRoutes
{
public:
  SimpleRoutes(storage::Store& store, ProjectIndex& index, SnapshotService& snapshots);

  // GET /simple/: every project.
  Awaitable<void> root(Exchange& exchange);
  // GET /simple/<project>/ (of `snapshot` when not empty): redirects a non-normalized name or a
  // missing slash, then serves the page in the format the client negotiates.
  Awaitable<void> project(Exchange& exchange, std::string_view raw_name, bool trailing_slash,
                          const std::string& snapshot = {});
  // GET /snapshots/<segments...>: <name> "simple" [<project> [""]].
  Awaitable<void> snapshot(Exchange& exchange, std::span<const std::string_view> segments);
  // GET /integrity/<project>/<version>/<filename>/provenance: what Airlock verified, else 404.
  Awaitable<void> provenance(Exchange& exchange, std::string_view project, std::string_view filename);

  // GET /pypi/<segments...>: <project> "json" or <project> <version> "json", PyPI's legacy JSON
  // of the approved files; redirects a non-normalized name; 404 when nothing is approved.
  Awaitable<void> legacy_json(Exchange& exchange, std::span<const std::string_view> segments);

private:
  // The live view of a project; nullptr once the failure (404, 502, 504) has been answered.
  Awaitable<std::shared_ptr<const ProjectView>> live_view(Exchange& exchange, const std::string& name);
  Awaitable<void> send_page(Exchange& exchange, const ProjectView& view);

  storage::Store& m_store;
  ProjectIndex& m_index;
  SnapshotService& m_snapshots;
};

} // namespace airlock::proxy
