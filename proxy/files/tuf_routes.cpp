// /tuf/: the signed metadata, and the targets it signs: snapshot pages (as served now, so a
// changed page no longer matches its signed hash) and files (from the cache only).
#include "files/tuf_routes.hpp"

namespace airlock::proxy {

TufRoutes::TufRoutes(storage::Store& store, SnapshotSigner& signer, SnapshotService& snapshots, FileService& files)
  : m_store(store), m_signer(signer), m_snapshots(snapshots), m_files(files)
{
}

// TUF: /tuf/metadata/<file> and /tuf/targets/<dir>/<sha256>.<name> (consistent snapshots).
Awaitable<void>
TufRoutes::serve(Exchange& exchange, std::span<const std::string_view> segments)
{
  exchange.route = Route::other;
  if (!m_signer.enabled()) {
    co_await send_text(exchange, http::status::not_found, "not found: no TUF repository (run airlock keys init)");
    co_return;
  }
  if (segments[0] == "metadata" && segments.size() == 2) {
    const auto metadata = m_signer.metadata(segments[1]);
    if (!metadata) {
      co_await send_text(exchange, http::status::not_found, "not found: no such TUF metadata");
      co_return;
    }
    http::response<http::span_body<const char>> response{http::status::ok, 11};
    response.set(http::field::content_type, "application/json");
    response.set(http::field::cache_control, "no-cache");
    response.body() = {metadata->data(), metadata->size()};
    co_await send(exchange, response);
    co_return;
  }
  std::string rest;
  for (const auto segment : segments.subspan(1)) {
    rest += (rest.empty() ? "" : "/") + std::string(segment);
  }
  const auto target = segments[0] == "targets" ? tuf::parse_consistent_target_path(rest) : std::nullopt;
  if (!target) {
    co_await send_text(exchange, http::status::not_found, "not found");
    co_return;
  }
  if (target->path.starts_with("files/")) {
    // The bytes are named by their hash: the blob store has them, or they are not served here.
    if (!m_store.blobs().contains(target->sha256)) {
      co_await send_text(exchange, http::status::not_found, "not found: not cached (fetch it under /files/ first)");
      co_return;
    }
    const auto sha = target->sha256;
    co_await m_files.serve(exchange, sha.hex(), target->path.substr(target->path.rfind('/') + 1));
    co_return;
  }
  // snapshots/<name>/simple/[<project>/]index.(html|json)
  const std::string_view path = target->path;
  const auto slash = path.rfind('/');
  const auto file_name = path.substr(slash + 1);
  const auto dir = path.substr(0, slash);
  std::vector<std::string_view> parts;
  for (std::size_t start = 0; start <= dir.size();) {
    const auto next = dir.find('/', start);
    parts.push_back(dir.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start));
    if (next == std::string_view::npos) {
      break;
    }
    start = next + 1;
  }
  std::shared_ptr<const ProjectView> view;
  if (parts.size() >= 3 && parts[0] == "snapshots" && parts[2] == "simple") {
    view = parts.size() == 3 ? m_snapshots.root(std::string(parts[1]))
           : parts.size() == 4 ? m_snapshots.project(std::string(parts[1]), std::string(parts[3]))
                                : nullptr;
  }
  const RenderedPage* page = !view                       ? nullptr
                             : file_name == "index.html" ? &view->html
                             : file_name == "index.json" ? &view->json
                                                         : nullptr;
  if (page == nullptr || Sha256::of(page->body) != target->sha256) {
    co_await send_text(exchange, http::status::not_found, "not found: no such target (or it changed since)");
    co_return;
  }
  http::response<http::span_body<const char>> response{http::status::ok, 11};
  response.set(http::field::content_type, file_name == "index.json" ? "application/json" : "text/html");
  response.body() = {page->body.data(), page->body.size()};
  co_await send(exchange, response);
}

} // namespace airlock::proxy
