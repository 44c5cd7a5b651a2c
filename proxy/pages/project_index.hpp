#pragma once

// Private to proxy/: project pages, kept rendered per state and refreshed from upstream.

#include "http/metrics.hpp"
#include "http/net.hpp"
#include "http/single_flight.hpp"

#include <airlock/proxy/config.hpp>
#include <airlock/storage/store.hpp>

#include <tl/expected.hpp>

#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace airlock::proxy {

class UpstreamClient;
class Writer;

// One rendered representation, immutable once built: identity, and gzip-compressed once for
// clients that accept it (empty when gzip would not be smaller).
struct RenderedPage
{
  std::string body;
  std::string etag; // strong, quoted
  std::string gzip;
  std::string gzip_etag; // differs per encoding (RFC 9110 8.8.3)
};

// Builds a RenderedPage of `body`: its ETag, and its gzip when that is smaller.
RenderedPage make_page(std::string body);

// What /simple/<project>/ serves until `valid_until`: the approved files, rendered once.
struct ProjectView
{
  RenderedPage html;
  RenderedPage json;
  // Of the live index only (snapshots serve none): /pypi/<project>/json, empty when no file is
  // served, and the served files, which /pypi/<project>/<version>/json is rendered from.
  RenderedPage legacy_json;
  std::vector<storage::FileRecord> files;
  Time valid_until{};
  // Every file's verdict by verdict_key(filename, sha256), decided with the pages: downloads
  // read it instead of deciding again, and it is exactly as fresh as the pages.
  std::unordered_map<std::string, policy::Verdict> verdicts;
};

// The key of ProjectView::verdicts: a file is its name and its bytes.
inline std::string
verdict_key(std::string_view filename, const Sha256& sha256)
{
  std::string key(filename);
  key += '\0';
  key.append(reinterpret_cast<const char*>(sha256.bytes.data()), sha256.bytes.size());
  return key;
}

// Why a page cannot be served: the HTTP status and a one-line message.
struct PageFailure
{
  unsigned status = 502;
  std::string message;
};

using ViewResult = tl::expected<std::shared_ptr<const ProjectView>, PageFailure>;

// Serves project pages from memory while their content cannot have changed, re-deciding
// when a verdict's time comes and refreshing from upstream when the listing is older than
// [upstream] refresh, in the background while the stale listing answers. Concurrent requests
// for one project cause one upstream fetch. When upstream fails, the last good listing keeps
// being served; a project never seen answers 504 when upstream hangs, 502 when it fails.
// Thread-safe.
class ProjectIndex
{
public:
  ProjectIndex(const Config& config, const policy::Policy& policy, const Clock& clock, storage::Store& store,
               UpstreamClient& upstream, Writer& writer, Metrics& metrics);

  // The view of a normalized project name; fails with 404 for a project upstream does not
  // have, 502 when upstream fails and nothing is stored.
  Awaitable<ViewResult> project(std::string name);
  // The /simple/ root: every project Airlock knows.
  std::shared_ptr<const ProjectView> root();
  // Forgets rendered pages so the next request decides again (reviewer decisions).
  void invalidate(const std::string& name);
  void invalidate_all();
  // Where a rendered listing's files go for their background checks: the server wires the
  // check runner in (the files policy needs checked, by index). Set once, before serving.
  using ScheduleChecks = std::function<void(const storage::Listing&, const std::vector<bool>& needed)>;
  void set_check_scheduler(ScheduleChecks schedule) { m_schedule_checks = std::move(schedule); }
  // Called with the project's name when a refresh finds files gone upstream that were not
  // before (set once, before serving): what snapshots withhold may have changed.
  void set_takedown_handler(std::function<void(const std::string&)> handler) { m_on_takedown = std::move(handler); }
  // Tests that advance a fake clock turn stale-while-revalidate off (set once, before serving).
  void set_stale_while_revalidate(bool on) { m_stale_while_revalidate = on; }

private:
  struct Entry
  {
    std::shared_ptr<const ProjectView> view; // null while failing
    PageFailure failure;
    Time valid_until{};
  };

  // The entry of a project whose cached entry expired: rendered from the store when its
  // listing is fresh; from the stale listing while revalidate() asks upstream in the
  // background; fetched now when nothing is stored.
  Awaitable<Entry> refresh(const std::string& name, Time now);
  Awaitable<void> revalidate(std::string name);
  // Asks upstream (the whole request within [upstream] timeout) and stores what it says;
  // on failure serves `stored` when there is one.
  Awaitable<Entry> fetch(const std::string& name, Time now, std::optional<storage::Listing> stored);
  Entry render(const storage::Listing& listing, Time now, Time listing_valid_until) const;
  void note_takedowns(const storage::Listing& listing, Time now) const;
  std::optional<Entry> cached(const std::string& name) const;

  const Config& m_config;
  const policy::Policy& m_policy;
  const Clock& m_clock;
  storage::Store& m_store;
  UpstreamClient& m_upstream;
  Writer& m_writer;
  Metrics& m_metrics;
  ScheduleChecks m_schedule_checks;
  std::function<void(const std::string&)> m_on_takedown;
  SingleFlight m_flights;
  bool m_stale_while_revalidate = true;

  mutable std::shared_mutex m_mutex;
  std::unordered_map<std::string, Entry> m_entries;
  std::shared_ptr<const ProjectView> m_root;
};

// Which files a page leaves out: the live index serves only approved files; a snapshot keeps
// what it froze and withholds only what has been blocked since.
enum class Withhold { unless_approved, blocked };

// Whether Airlock holds a blob: bytes upstream replaced can be served only from the cache.
using IsCached = std::function<bool(const Sha256&)>;

// Returns the indices of the files a page lists, in order: per filename, the bytes upstream
// lists now when they are served, else the newest served bytes they replaced that are cached.
// Served: approved, or under Withhold::blocked anything not blocked.
std::vector<std::size_t> served_files(const storage::Listing& listing, const std::vector<policy::Verdict>& verdicts,
                                      Withhold withhold, const IsCached& is_cached);

// Renders both representations of a project page, and says when the next withheld file may
// become available.
ProjectView render_view(const storage::Listing& listing, const policy::ProjectContext& context,
                        const policy::Policy& policy, Time now, std::string_view file_url_prefix,
                        const IsCached& is_cached, Withhold withhold = Withhold::unless_approved);
// Renders the /simple/ root of these project names.
ProjectView render_root(std::span<const std::string> names, Time valid_until);

} // namespace airlock::proxy
