#pragma once

// Private to proxy/: the advisory feed. Reads OSV records from [advisories] path and from the
// records admins imported, puts them in force in the policy, and records what they block and
// lift (the advisory_blocks table, the audit log). A refresh that would newly block files of
// more than [advisories] max_new_blocks projects is held until an admin accepts it.

#include "http/net.hpp"
#include "http/writer.hpp"

#include <airlock/policy/advisory.hpp>
#include <airlock/policy/policy.hpp>
#include <airlock/proxy/config.hpp>
#include <airlock/storage/store.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace airlock::proxy {

// What the records on disk held, read and parsed.
struct LoadedFeed
{
  std::vector<policy::Advisory> records; // those naming a PyPI project
  std::vector<std::string> problems;     // "where: why" per record or file that was skipped
  std::vector<std::string> notes;        // "id: GIT range ignored" and the like
  std::size_t files = 0;                 // .json and .zip files read
  bool missing = false;                  // [advisories] path is not a readable directory
};

// Reads every .json record and .zip of records under `dirs` (recursively); a directory that
// does not exist is skipped. Never throws for bad content: problems are collected.
LoadedFeed load_feed(const std::vector<std::filesystem::path>& dirs);
// What the record files under `dirs` are now (names, sizes, mtimes), to notice a change cheaply.
std::string feed_fingerprint(const std::vector<std::filesystem::path>& dirs);

// Checks that `bytes` are an OSV record or a zip of records, and keeps them in `dir` (the data
// directory's advisories/), named by their sha256, durably. Errors are one line.
Expected<std::filesystem::path> keep_imported(const std::filesystem::path& dir, std::string_view bytes);

// What one refresh did.
struct RefreshResult
{
  bool applied = false;                  // false: held by the guard, or the feed was unreadable
  std::size_t records = 0;               // in force afterwards
  std::size_t skipped = 0;               // malformed records or files
  std::size_t blocked = 0;               // files newly blocked
  std::size_t lifted = 0;                // files whose advisory block was lifted
  std::vector<std::string> held_projects; // the guard tripped: projects that would be newly blocked
  std::string message;                   // one line for humans
};

// The feed's state, for `advisories list`, /-/metrics and status.
struct FeedState
{
  std::size_t records = 0;
  std::size_t skipped = 0;
  std::vector<std::string> problems; // of the last load, at most 100
  std::size_t blocked_files = 0;     // files advisories block now
  std::optional<Time> newest_modified;
  std::optional<Time> loaded_at;
  std::vector<std::string> held_ids;      // records the guard holds back
  std::vector<std::string> held_projects; // and the projects they would newly block
  std::uint64_t guard_trips = 0;
};

class AdvisoryFeed
{
public:
  // `on_change(projects)`: the pages of these projects, and the snapshots, must be rendered again.
  AdvisoryFeed(const Config& config, const Clock& clock, storage::Store& store, policy::Policy& policy, Writer& writer,
               net::io_context& ioc, std::function<void(const std::vector<std::string>& projects)> on_change);

  // Loads the feed now, then looks at the directories every [advisories] refresh until stop().
  void start();
  void stop() { m_stopping = true; }

  // Reads the records and applies them; `accept_large` overrides the guard once. Blocking: run
  // it on the writer thread.
  RefreshResult refresh(bool accept_large);
  // Keeps records an admin gave (a record's JSON or a zip of records) in the data directory,
  // then refreshes. Errors (one line) on content that is not a valid record or zip.
  Expected<RefreshResult> import(std::string_view bytes, bool accept_large);

  // Forgets the advisory blocks of these files of `project`, which a reviewer unblocked over
  // advisories (that decision is audited as itself), so list, show and the metrics stop
  // counting them before the next refresh. Blocking: run it on the writer thread.
  void set_aside(std::string_view project, const std::vector<storage::FileKey>& files);

  FeedState state() const;
  // Prometheus text: records, skipped, files blocked, feed age, guard trips.
  std::string metrics_text(Time now) const;
  // Warnings for `status`: a stale feed, records held by the guard.
  std::vector<std::string> warnings(Time now) const;
  Seconds max_age() const { return m_max_age; }

private:
  enum class Guard { on, off };
  // Puts `candidate` in force: records what it blocks and lifts among the files Airlock knows
  // (audited), or, when the guard is on and it would newly block too many projects, holds the
  // records that would. `loaded`: the load it came from; nullptr for a reconcile.
  RefreshResult apply(std::shared_ptr<const policy::Advisories> candidate, Guard guard, LoadedFeed* loaded);
  // Brings what the records in force block up to date with files first seen since.
  void reconcile();
  // Audits, once per file, each release the fast track approved (advisory-fast-track).
  void audit_fast_tracks();
  Awaitable<void> watch();

  const Clock& m_clock;
  storage::Store& m_store;
  policy::Policy& m_policy;
  Writer& m_writer;
  net::io_context& m_ioc;
  std::function<void(const std::vector<std::string>&)> m_on_change;
  std::vector<std::filesystem::path> m_dirs; // [advisories] path, then the imported records
  std::filesystem::path m_imported;
  Seconds m_refresh;
  Seconds m_max_age;
  unsigned m_max_new_blocks;
  std::atomic<bool> m_stopping{false};
  bool m_configured = false; // [advisories] path is set
  std::string m_fingerprint = "-"; // writer thread only; "-" until the first load

  mutable std::mutex m_mutex;
  FeedState m_state;
};

} // namespace airlock::proxy
