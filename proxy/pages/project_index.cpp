// Project pages: listings fetched from upstream (revalidated, refreshed when stale, kept when
// upstream fails), stored, decided by policy and rendered once per state.
#include "pages/project_index.hpp"

#include "pages/facts.hpp"
#include "pages/legacy_json.hpp"
#include "upstream/upstream_client.hpp"
#include "http/writer.hpp"

#include <airlock/policy/policy.hpp>
#include "pages/simple_render.hpp"
#include "upstream/simple_parse.hpp"
#include <airlock/util/log.hpp>

#include <fmt/core.h>
#include <zlib.h>

#include <algorithm>
#include <mutex>

namespace airlock::proxy {

namespace {

constexpr std::string_view k_upstream_accept =
  "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";
// How long an unknown project, or an upstream failure with nothing stored, is remembered.
constexpr Seconds k_failure_ttl{10};
// After an upstream failure, the stored listing is served this long before trying again.
constexpr Seconds k_retry_after{30};

// Whether storing a listing at `now` marked a file removed upstream.
bool
removes_files(const storage::Listing& listing, Time now)
{
  return std::any_of(listing.files.begin(), listing.files.end(),
                     [&](const storage::FileRecord& file) { return file.removed_upstream == now; });
}

// Stores a listing. Under on_upstream_removal = "block", a file that just vanished upstream is
// withheld from the snapshots that froze it, as a block is: the audit log says which, in the
// listing's own transaction.
storage::Listing
store_listing(storage::Store& store, const policy::Options& policy, storage::ProjectRecord project,
              std::vector<storage::FileRecord> files, Time now)
{
  return store.put_listing(std::move(project), std::move(files), now,
                           policy.on_upstream_removal == policy::OnUpstreamRemoval::block);
}

// gzip (RFC 1952) of a page, once per rendered state, so the best level costs nothing per
// request.
std::string
gzip_compress(std::string_view body)
{
  z_stream stream{};
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    return {};
  }
  std::string out(deflateBound(&stream, body.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return result == Z_STREAM_END ? out : std::string();
}

} // namespace

RenderedPage
make_page(std::string body)
{
  RenderedPage page;
  const std::string digest = Sha256::of(body).hex().substr(0, 32);
  page.etag = "\"" + digest + "\"";
  page.gzip = gzip_compress(body);
  if (page.gzip.size() >= body.size()) {
    page.gzip.clear();
  } else {
    page.gzip_etag = "\"" + digest + "-gzip\"";
  }
  page.body = std::move(body);
  return page;
}

std::vector<std::size_t>
served_files(const storage::Listing& listing, const std::vector<policy::Verdict>& verdicts, Withhold withhold,
             const IsCached& is_cached)
{
  const auto served = [&](std::size_t i) {
    const auto state = verdicts[i].state;
    return state == policy::State::approved || (withhold == Withhold::blocked && state != policy::State::blocked);
  };
  std::vector<std::size_t> out;
  const auto& files = listing.files;
  // Files come sorted by filename: one group per name, a record per sha256.
  for (std::size_t start = 0; start < files.size();) {
    std::size_t end = start + 1;
    while (end < files.size() && files[end].filename == files[start].filename) {
      ++end;
    }
    std::optional<std::size_t> pick;
    for (std::size_t i = start; i < end; ++i) {
      if (!files[i].replaced_upstream && served(i)) {
        pick = i;
      }
    }
    // Else old bytes, the newest served ones: upstream no longer has them, so they stay
    // served only while the cache holds them.
    for (std::size_t i = start; i < end && !(pick && !files[*pick].replaced_upstream); ++i) {
      if (files[i].replaced_upstream && served(i) && (!pick || files[i].first_seen > files[*pick].first_seen)
          && is_cached(files[i].sha256)) {
        pick = i;
      }
    }
    if (pick) {
      out.push_back(*pick);
    }
    start = end;
  }
  return out;
}

ProjectView
render_view(const storage::Listing& listing, const policy::ProjectContext& context, const policy::Policy& policy,
            Time now, std::string_view file_url_prefix, const IsCached& is_cached, Withhold withhold)
{
  const auto verdicts = policy.decide_all(listing.files, context, now);
  ProjectView view;
  view.verdicts.reserve(listing.files.size());
  ProjectPage page;
  page.name = listing.project.name;
  page.file_url_prefix = std::string(file_url_prefix);
  page.status = listing.project.status;
  page.status_reason = listing.project.status_reason;
  Time valid_until = Time::max();
  for (std::size_t i = 0; i < listing.files.size(); ++i) {
    const auto& file = listing.files[i];
    const auto& verdict = verdicts[i];
    view.verdicts.emplace(verdict_key(file.filename, file.sha256), verdict);
    if (verdict.until) {
      valid_until = std::min(valid_until, *verdict.until);
    }
  }
  const auto served = served_files(listing, verdicts, withhold, is_cached);
  std::vector<storage::FileRecord> served_records;
  std::vector<std::string> provenance_urls;
  served_records.reserve(served.size());
  provenance_urls.reserve(served.size());
  for (const std::size_t i : served) {
    const auto& file = listing.files[i];
    served_records.push_back(file);
    const auto* checks = context.history != nullptr ? context.history->checks(file) : nullptr;
    // /integrity/ names no bytes and answers for the listed ones: bytes upstream replaced (served
    // from the cache) must not advertise a document about others.
    const bool verified = checks != nullptr && checks->provenance == storage::ProvenanceState::verified
                          && !file.replaced_upstream;
    // Beside /files/: the same prefix with "files/" swapped for "integrity/".
    provenance_urls.push_back(
      verified ? fmt::format("{}integrity/{}/{}/{}/provenance",
                             file_url_prefix.substr(0, file_url_prefix.size() - std::string_view("files/").size()),
                             file.project, file.version, file.filename)
               : std::string());
  }
  // Withheld: each listed filename not on the page.
  std::size_t next = 0;
  for (std::size_t i = 0; i < listing.files.size(); ++i) {
    const auto& file = listing.files[i];
    if (file.replaced_upstream) {
      continue;
    }
    while (next < served.size() && listing.files[served[next]].filename < file.filename) {
      ++next;
    }
    if (next < served.size() && listing.files[served[next]].filename == file.filename) {
      continue;
    }
    ++page.withheld;
    const auto& verdict = verdicts[i];
    if (verdict.until && (!page.next_available || *verdict.until < *page.next_available)) {
      page.next_available = verdict.until;
    }
  }
  page.files = served_records;
  page.provenance_urls = provenance_urls;
  view.html = make_page(render_project_html(page));
  view.json = make_page(render_project_json(page));
  if (withhold == Withhold::unless_approved) {
    // Rendered with the pages, from the same files, so it is exactly as fresh and as filtered.
    if (auto legacy = render_legacy_project(listing.project.name, served_records); !legacy.empty()) {
      view.legacy_json = make_page(std::move(legacy));
    }
    view.files = std::move(served_records);
  }
  view.valid_until = valid_until;
  return view;
}

ProjectView
render_root(std::span<const std::string> names, Time valid_until)
{
  ProjectView view;
  view.html = make_page(render_index_html(names));
  view.json = make_page(render_index_json(names));
  view.valid_until = valid_until;
  return view;
}

ProjectIndex::ProjectIndex(const Config& config, const policy::Policy& policy, const Clock& clock,
                           storage::Store& store, UpstreamClient& upstream, Writer& writer, Metrics& metrics)
  : m_config(config),
    m_policy(policy),
    m_clock(clock),
    m_store(store),
    m_upstream(upstream),
    m_writer(writer),
    m_metrics(metrics)
{
}

std::optional<ProjectIndex::Entry>
ProjectIndex::cached(const std::string& name) const
{
  std::shared_lock lock(m_mutex);
  auto it = m_entries.find(name);
  if (it == m_entries.end()) {
    return std::nullopt;
  }
  return it->second;
}

Awaitable<ViewResult>
ProjectIndex::project(std::string name)
{
  // Bounded: each round either finds a fresh entry, or leads a refresh that stores one.
  for (int round = 0; round < 3; ++round) {
    const Time now = m_clock.now();
    if (auto entry = cached(name); entry && now < entry->valid_until) {
      if (entry->view) {
        co_return entry->view;
      }
      co_return tl::make_unexpected(entry->failure);
    }
    auto lead = co_await m_flights.join("project:" + name);
    if (!lead) {
      continue; // another request refreshed it meanwhile
    }
    Entry entry = co_await refresh(name, now);
    {
      std::unique_lock lock(m_mutex);
      m_entries[name] = entry;
    }
    if (entry.view) {
      co_return entry.view;
    }
    co_return tl::make_unexpected(entry.failure);
  }
  co_return tl::make_unexpected(PageFailure{503, "project page is being refreshed; try again"});
}

Awaitable<ProjectIndex::Entry>
ProjectIndex::refresh(const std::string& name, Time now)
{
  auto stored = m_store.listing(name);
  const Seconds refresh_after = m_config.upstream.refresh;
  if (stored && now < stored->project.fetched_at + refresh_after) {
    co_return render(*stored, now, stored->project.fetched_at + refresh_after);
  }
  if (stored && refresh_after > Seconds{0} && m_stale_while_revalidate) {
    // Stale while revalidating: the last good listing answers now, upstream is asked in the
    // background, so a hung upstream never holds a page of a project Airlock already knows.
    net::co_spawn(co_await net::this_coro::executor, revalidate(name), net::detached);
    co_return render(*stored, now, now + std::min(refresh_after, k_retry_after));
  }
  // Nothing stored, or refresh = "0s" (ask upstream before every answer): ask now.
  co_return co_await fetch(name, now, std::move(stored));
}

Awaitable<void>
ProjectIndex::revalidate(std::string name)
{
  auto lead = co_await m_flights.join("revalidate:" + name);
  if (!lead) {
    co_return; // one background refresh per project at a time
  }
  const Time now = m_clock.now();
  auto stored = m_store.listing(name);
  if (!stored || now < stored->project.fetched_at + m_config.upstream.refresh) {
    co_return; // refreshed meanwhile
  }
  Entry entry = co_await fetch(name, now, std::move(stored));
  std::unique_lock lock(m_mutex);
  m_entries[name] = std::move(entry);
}

Awaitable<ProjectIndex::Entry>
ProjectIndex::fetch(const std::string& name, Time now, std::optional<storage::Listing> stored)
{
  const Seconds refresh_after = m_config.upstream.refresh;
  const std::string url = m_config.upstream.index + name + "/";
  // Named, not a temporary in the co_await expression: GCC 12 miscompiles conditional
  // temporaries there (destroying one twice).
  const std::string etag = stored ? stored->project.etag : std::string();
  auto response = co_await m_upstream.get_page(url, k_upstream_accept, etag, k_max_upstream_page);
  m_metrics.note_upstream_page(response.has_value(), !response && is_timeout(response.error()));
  std::string problem;
  if (!response) {
    problem = response.error();
  } else if (response->status == 304 && stored) {
    co_await m_writer.run([&] { m_store.touch_project(name, now); });
    stored->project.fetched_at = now;
    co_return render(*stored, now, now + refresh_after);
  } else if (response->status == 404 || response->status == 410) {
    if (!stored) {
      co_return Entry{nullptr, {404, "no such project upstream: " + name}, now + std::min(refresh_after, k_failure_ttl)};
    }
    // The whole project was taken down: every file it had is now removed upstream.
    AIRLOCK_LOG(warn, "upstream no longer has project {}", name);
    storage::ProjectRecord record = stored->project;
    record.fetched_at = now;
    record.etag.clear();
    auto listing = co_await m_writer.run([&] { return store_listing(m_store, m_config.policy, record, {}, now); });
    note_takedowns(listing, now);
    co_return render(listing, now, now + refresh_after);
  } else if (response->status != 200) {
    problem = "upstream answered " + std::to_string(response->status) + " for " + url;
  } else {
    const bool json = response->content_type.find("json") != std::string::npos;
    auto page = json ? parse_json_page(response->body, response->url, name)
                     : parse_html_page(response->body, response->url, name);
    if (!page) {
      problem = "malformed upstream page for " + name + ": " + page.error();
    } else {
      for (const auto& skipped : page->skipped) {
        AIRLOCK_LOG(warn, "upstream page {}: skipped {}", name, skipped);
      }
      storage::ProjectRecord record;
      record.name = name;
      record.etag = response->etag;
      record.fetched_at = now;
      record.status = page->status;
      record.status_reason = page->status_reason;
      const bool is_new = !stored;
      auto listing =
        co_await m_writer.run(
          [&] { return store_listing(m_store, m_config.policy, std::move(record), std::move(page->files), now); });
      if (is_new) {
        std::unique_lock lock(m_mutex);
        m_root.reset();
      }
      note_takedowns(listing, now);
      co_return render(listing, now, now + refresh_after);
    }
  }

  m_metrics.count_upstream_error(true);
  if (stored) {
    m_metrics.count_stale_listing_served();
    AIRLOCK_LOG(warn, "serving the last good listing of {} (fetched {}): {}", name,
                format_rfc3339(stored->project.fetched_at), problem);
    co_return render(*stored, now, now + std::min(refresh_after, k_retry_after));
  }
  AIRLOCK_LOG(warn, "cannot fetch project {}: {}", name, problem);
  // A hung upstream is a gateway timeout; anything else it did wrong, a bad gateway.
  const bool timed_out = is_timeout(problem);
  co_return Entry{nullptr, {timed_out ? 504U : 502U, (timed_out ? "upstream timed out: " : "upstream failed: ") + problem},
                  now + std::min(refresh_after, k_failure_ttl)};
}

void
ProjectIndex::note_takedowns(const storage::Listing& listing, Time now) const
{
  if (m_on_takedown && removes_files(listing, now)) {
    m_on_takedown(listing.project.name);
  }
}

ProjectIndex::Entry
ProjectIndex::render(const storage::Listing& listing, Time now, Time listing_valid_until) const
{
  const auto facts = load_facts(m_store, m_policy, listing);
  auto view = std::make_shared<ProjectView>(render_view(listing, facts.context(), m_policy, now, "../../files/",
                                                        [this](const Sha256& sha256) {
                                                          return m_store.blobs().contains(sha256);
                                                        }));
  if (m_schedule_checks) {
    m_schedule_checks(listing, m_policy.checks_needed(listing.files, listing.project.first_seen));
  }
  view->valid_until = std::min(view->valid_until, listing_valid_until);
  return Entry{view, {}, view->valid_until};
}

std::shared_ptr<const ProjectView>
ProjectIndex::root()
{
  const Time now = m_clock.now();
  {
    std::shared_lock lock(m_mutex);
    if (m_root && now < m_root->valid_until) {
      return m_root;
    }
  }
  const auto names = m_store.project_names();
  auto view = std::make_shared<ProjectView>(render_root(names, now + m_config.upstream.refresh));
  std::unique_lock lock(m_mutex);
  m_root = view;
  return view;
}

void
ProjectIndex::invalidate(const std::string& name)
{
  std::unique_lock lock(m_mutex);
  m_entries.erase(name);
}

void
ProjectIndex::invalidate_all()
{
  std::unique_lock lock(m_mutex);
  m_entries.clear();
  m_root.reset();
}

} // namespace airlock::proxy
