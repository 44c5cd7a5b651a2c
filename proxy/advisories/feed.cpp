// The advisory feed: records read from disk, put in force, and what they block recorded.
#include "advisories/feed.hpp"

#include <airlock/policy/filename.hpp>
#include <airlock/util/log.hpp>
#include <airlock/util/units.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <set>

#include <malloc.h>

namespace airlock::proxy {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t k_max_problems_kept = 100;
constexpr std::size_t k_max_problems_logged = 20;

std::string
block_reason(const policy::Advisory& advisory)
{
  const std::string kind = advisory.malicious ? "malicious package" : std::string(policy::to_string(advisory.severity));
  return advisory.summary.empty() ? kind : fmt::format("{}: {}", kind, advisory.summary);
}

} // namespace

AdvisoryFeed::AdvisoryFeed(const Config& config, const Clock& clock, storage::Store& store, policy::Policy& policy,
                           Writer& writer, net::io_context& ioc,
                           std::function<void(const std::vector<std::string>&)> on_change)
  : m_clock(clock),
    m_store(store),
    m_policy(policy),
    m_writer(writer),
    m_ioc(ioc),
    m_on_change(std::move(on_change)),
    m_imported(config.storage.path / "advisories"),
    m_refresh(config.advisories.refresh),
    m_max_age(config.advisories.max_age),
    m_max_new_blocks(config.advisories.max_new_blocks)
{
  // Imported records count even without a configured directory: an admin gave them.
  m_configured = !config.advisories.path.empty();
  m_dirs = {config.advisories.path, m_imported};
  if (!m_configured) {
    m_dirs.erase(m_dirs.begin());
  }
}

void
AdvisoryFeed::start()
{
  net::co_spawn(m_ioc, watch(), net::detached);
}

Awaitable<void>
AdvisoryFeed::watch()
{
  net::steady_timer timer(m_ioc);
  while (!m_stopping) {
    co_await m_writer.run([this] {
      auto now = feed_fingerprint(m_dirs);
      if (now != m_fingerprint) {
        m_fingerprint = std::move(now);
        (void)refresh(false);
      } else {
        reconcile();
      }
    });
    timer.expires_after(m_refresh);
    co_await timer.async_wait(use_tuple);
  }
}

RefreshResult
AdvisoryFeed::refresh(bool accept_large)
{
  LoadedFeed loaded = load_feed(m_dirs);
  loaded.missing = loaded.missing && m_configured;
  RefreshResult result;
  result.skipped = loaded.problems.size();
  for (std::size_t i = 0; i < loaded.problems.size() && i < k_max_problems_logged; ++i) {
    AIRLOCK_LOG(warn, "advisories: skipped {}", loaded.problems[i]);
  }
  if (loaded.problems.size() > k_max_problems_logged) {
    AIRLOCK_LOG(warn, "advisories: skipped {} more records (see airlock advisories list)",
                loaded.problems.size() - k_max_problems_logged);
  }
  if (!loaded.notes.empty()) {
    AIRLOCK_LOG(info, "advisories: {} ranges ignored (only ECOSYSTEM ranges are read), as in {}", loaded.notes.size(),
                loaded.notes.front());
  }
  const auto old = m_policy.advisories();
  if (loaded.missing && !old->records().empty()) {
    // A sync that removed the directory must not lift every block at once.
    result.message = fmt::format("advisories: {} is not readable; the {} records in force stay", m_dirs.front().string(),
                                 old->records().size());
    AIRLOCK_LOG(warn, "{}", result.message);
    return result;
  }
  auto candidate = std::make_shared<const policy::Advisories>(std::move(loaded.records));
  result = apply(std::move(candidate), accept_large ? Guard::off : Guard::on, &loaded);
  audit_fast_tracks();
  // Parsing a feed allocates and frees hundreds of megabytes of JSON: give them back.
  ::malloc_trim(0);
  return result;
}

void
AdvisoryFeed::reconcile()
{
  (void)apply(m_policy.advisories(), Guard::off, nullptr);
  audit_fast_tracks();
}

void
AdvisoryFeed::audit_fast_tracks()
{
  if (!m_policy.options().fast_track_fixes) {
    return;
  }
  const Time now = m_clock.now();
  const auto advisories = m_policy.advisories();
  std::vector<storage::AuditEntry> entries;
  for (const auto& name : m_store.project_names()) {
    const auto matches = advisories->for_project(name);
    if (matches.empty()) {
      continue;
    }
    auto listing = m_store.listing(name);
    if (!listing) {
      continue;
    }
    // Only projects with a release inside its window that some record names as a fix.
    const auto is_fix = [&](const storage::FileRecord& file) {
      const auto version = policy::Version::parse(file.version);
      return version && std::any_of(matches.begin(), matches.end(), [&](const auto& match) {
               return std::any_of(match.affected->fixed.begin(), match.affected->fixed.end(), [&](const auto& fixed) {
                 const auto parsed = policy::Version::parse(fixed);
                 return parsed && *parsed == *version;
               });
             });
    };
    const bool candidate = std::any_of(listing->files.begin(), listing->files.end(), [&](const auto& file) {
      return now < policy::age_origin(file) + m_policy.options().quarantine && is_fix(file);
    });
    if (!candidate) {
      continue;
    }
    const auto decisions = m_store.decisions(name);
    const policy::ProjectHistory history(listing->files, m_store.checks(name), listing->project.first_seen);
    const policy::ProjectContext context{decisions, listing->project.status, &history, matches};
    const auto verdicts = m_policy.decide_all(listing->files, context, now);
    const auto audited = m_store.audit(name, std::nullopt, 1000);
    for (std::size_t i = 0; i < verdicts.size(); ++i) {
      const auto& file = listing->files[i];
      if (verdicts[i].state != policy::State::approved || !verdicts[i].reason.starts_with("fast-tracked:")) {
        continue;
      }
      const bool done = std::any_of(audited.begin(), audited.end(), [&](const storage::AuditEntry& e) {
        return e.action == "advisory-fast-track" && e.filename == file.filename && e.sha256s == std::vector{file.sha256};
      });
      if (done) {
        continue;
      }
      storage::AuditEntry entry;
      entry.time = now;
      entry.actor = "airlock";
      entry.action = "advisory-fast-track";
      entry.project = name;
      entry.version = file.version;
      entry.filename = file.filename;
      entry.reason = verdicts[i].reason;
      entry.before = "quarantined";
      entry.after = "approved";
      entry.sha256s = {file.sha256};
      AIRLOCK_LOG(info, "advisories: {} {}", file.filename, verdicts[i].reason);
      entries.push_back(std::move(entry));
    }
  }
  if (!entries.empty()) {
    m_store.apply_advisory_blocks({}, {}, std::move(entries));
  }
}

RefreshResult
AdvisoryFeed::apply(std::shared_ptr<const policy::Advisories> candidate, Guard guard, LoadedFeed* loaded)
{
  const Time now = m_clock.now();
  const auto old = m_policy.advisories();
  RefreshResult result;
  result.skipped = loaded != nullptr ? loaded->problems.size() : 0;

  // What blocks each known file under a set of records: rows of (advisory, file).
  const auto names = m_store.project_names();
  const auto blocks_under = [&](const policy::Advisories& advisories, std::set<storage::AdvisoryBlock>& rows,
                                std::set<std::string>* touched) {
    for (const auto& name : names) {
      const auto matches = advisories.for_project(name);
      if (matches.empty()) {
        continue;
      }
      if (touched != nullptr) {
        touched->insert(name);
      }
      const auto listing = m_store.listing(name);
      if (!listing) {
        continue;
      }
      const auto decisions = m_store.decisions(name);
      const policy::ProjectContext context{decisions, listing->project.status, nullptr, matches, false};
      for (const auto& file : listing->files) {
        const auto* decision = policy::covering_decision(decisions, file);
        if (decision != nullptr && decision->action == storage::DecisionAction::unblock) {
          continue;
        }
        for (const auto* advisory : policy::blocking_advisories(file, context, m_policy.options().block_severity)) {
          rows.insert(storage::AdvisoryBlock{advisory->id, name, file.filename, file.sha256, file.version});
        }
      }
    }
  };

  const auto stored = m_store.advisory_blocks();
  const std::set<storage::AdvisoryBlock> before(stored.begin(), stored.end());
  std::set<storage::FileKey> blocked_before;
  for (const auto& row : before) {
    blocked_before.insert(storage::FileKey{row.filename, row.sha256});
  }

  std::set<storage::AdvisoryBlock> after;
  std::set<std::string> touched;
  blocks_under(*candidate, after, &touched);

  // The guard: files of how many projects would be blocked that no advisory blocked before?
  std::set<std::string> newly_blocked;
  std::map<std::string, std::vector<storage::FileKey>> held;
  for (const auto& row : after) {
    if (!before.contains(row) && !blocked_before.contains(storage::FileKey{row.filename, row.sha256})) {
      newly_blocked.insert(row.project);
      held.try_emplace(row.advisory);
    }
  }
  const bool guarded = guard == Guard::on && newly_blocked.size() > m_max_new_blocks;
  if (guarded) {
    // Held records block only what they blocked before, until an admin accepts them.
    for (const auto& row : before) {
      if (const auto found = held.find(row.advisory); found != held.end()) {
        found->second.push_back(storage::FileKey{row.filename, row.sha256});
      }
    }
    std::vector<std::pair<std::string, std::vector<storage::FileKey>>> held_list;
    for (auto& [id, files] : held) {
      std::sort(files.begin(), files.end());
      held_list.emplace_back(id, std::move(files));
    }
    std::vector<policy::Advisory> records(candidate->records().begin(), candidate->records().end());
    candidate = std::make_shared<const policy::Advisories>(std::move(records), std::move(held_list));
    after.clear();
    blocks_under(*candidate, after, nullptr);
    result.held_projects.assign(newly_blocked.begin(), newly_blocked.end());
  }

  std::vector<storage::AdvisoryBlock> added;
  std::vector<storage::AdvisoryBlock> lifted;
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(added));
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(lifted));
  for (const auto& row : lifted) {
    touched.insert(row.project);
  }

  // The audit: each block and lift with the states before and after, by the full policy.
  std::vector<storage::AuditEntry> audit;
  std::map<std::string, std::pair<std::vector<policy::Verdict>, std::vector<policy::Verdict>>> verdicts;
  std::map<std::string, storage::Listing> listings;
  for (const auto* rows : {&added, &lifted}) {
    for (const auto& row : *rows) {
      if (verdicts.contains(row.project)) {
        continue;
      }
      auto listing = m_store.listing(row.project);
      if (!listing) {
        continue;
      }
      const auto decisions = m_store.decisions(row.project);
      const policy::ProjectHistory history(listing->files, m_store.checks(row.project), listing->project.first_seen);
      policy::ProjectContext context{decisions, listing->project.status, &history, old->for_project(row.project)};
      auto was = m_policy.decide_all(listing->files, context, now);
      context.advisories = candidate->for_project(row.project);
      auto is = m_policy.decide_all(listing->files, context, now);
      verdicts.emplace(row.project, std::pair{std::move(was), std::move(is)});
      listings.emplace(row.project, std::move(*listing));
    }
  }
  const auto state_of = [&](const storage::AdvisoryBlock& row, bool after_change) -> std::string {
    const auto found = listings.find(row.project);
    if (found == listings.end()) {
      return "-";
    }
    const auto& files = found->second.files;
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (files[i].filename == row.filename && files[i].sha256 == row.sha256) {
        const auto& pair = verdicts.at(row.project);
        return std::string(policy::to_string((after_change ? pair.second : pair.first)[i].state));
      }
    }
    return "-";
  };
  for (const auto* rows : {&added, &lifted}) {
    for (const auto& row : *rows) {
      const bool block = rows == &added;
      const auto* advisory = (block ? *candidate : *old).find(row.advisory);
      storage::AuditEntry entry;
      entry.time = now;
      entry.actor = "advisory:" + row.advisory;
      entry.action = block ? "advisory-block" : "advisory-unblock";
      entry.project = row.project;
      entry.version = row.version;
      entry.filename = row.filename;
      entry.sha256s = {row.sha256};
      if (block) {
        entry.reason = advisory != nullptr ? block_reason(*advisory) : "advisory";
      } else {
        const auto* now_record = candidate->find(row.advisory);
        entry.reason = now_record == nullptr     ? "the record is no longer in the feed"
                       : now_record->withdrawn ? fmt::format("withdrawn on {}", format_rfc3339(*now_record->withdrawn))
                                               : "the record no longer names these bytes";
      }
      entry.before = state_of(row, false);
      entry.after = state_of(row, true);
      audit.push_back(std::move(entry));
    }
  }
  m_store.apply_advisory_blocks(added, lifted, std::move(audit));
  m_policy.set_advisories(candidate);

  result.applied = !guarded;
  result.records = candidate->records().size();
  result.blocked = added.size();
  result.lifted = lifted.size();
  if (loaded == nullptr) {
    // Files first seen since the last refresh, under the records in force.
    if (!added.empty() || !lifted.empty()) {
      result.message = fmt::format("advisories: {} files newly blocked, {} lifted, under the records in force",
                                   added.size(), lifted.size());
      AIRLOCK_LOG(info, "{}", result.message);
    }
  } else if (guarded) {
    result.message = fmt::format(
      "advisories: not applied: the feed would newly block files of {} projects ({}{}), over max_new_blocks = {}; "
      "accept with: airlock advisories import --accept-large",
      newly_blocked.size(), result.held_projects.front(), newly_blocked.size() > 1 ? ", ..." : "", m_max_new_blocks);
    AIRLOCK_LOG(warn, "{}", result.message);
  } else {
    result.message = fmt::format("advisories: {} records in force from {} files; {} files newly blocked, {} lifted{}",
                                 result.records, loaded->files, added.size(), lifted.size(),
                                 loaded->problems.empty() ? "" : fmt::format("; {} skipped", loaded->problems.size()));
    AIRLOCK_LOG(info, "{}", result.message);
  }
  if (loaded == nullptr) {
    // A reconcile records what the verdicts already say: no page or snapshot changes.
    std::lock_guard lock(m_mutex);
    m_state.blocked_files = after.size();
    return result;
  }
  {
    std::lock_guard lock(m_mutex);
    m_state.blocked_files = after.size();
    m_state.records = result.records;
    m_state.skipped = loaded->problems.size();
    loaded->problems.resize(std::min(loaded->problems.size(), k_max_problems_kept));
    m_state.problems = std::move(loaded->problems);
    m_state.newest_modified = candidate->newest_modified(now);
    m_state.loaded_at = now;
    m_state.held_ids.clear();
    if (guarded) {
      for (const auto& [id, files] : held) {
        m_state.held_ids.push_back(id);
      }
      ++m_state.guard_trips;
    }
    m_state.held_projects = result.held_projects;
  }
  if (m_on_change) {
    m_on_change(std::vector<std::string>(touched.begin(), touched.end()));
  }
  return result;
}

Expected<RefreshResult>
AdvisoryFeed::import(std::string_view bytes, bool accept_large)
{
  if (!bytes.empty()) {
    if (auto kept = keep_imported(m_imported, bytes); !kept) {
      return make_unexpected(kept.error());
    }
  }
  auto result = refresh(accept_large);
  m_fingerprint = feed_fingerprint(m_dirs);
  return result;
}

void
AdvisoryFeed::set_aside(std::string_view project, const std::vector<storage::FileKey>& files)
{
  std::vector<storage::AdvisoryBlock> lifted;
  for (auto& row : m_store.advisory_blocks()) {
    if (row.project == project
        && std::find(files.begin(), files.end(), storage::FileKey{row.filename, row.sha256}) != files.end()) {
      lifted.push_back(std::move(row));
    }
  }
  if (lifted.empty()) {
    return;
  }
  m_store.apply_advisory_blocks({}, lifted, {});
  std::lock_guard lock(m_mutex);
  m_state.blocked_files -= std::min(m_state.blocked_files, lifted.size());
}

FeedState
AdvisoryFeed::state() const
{
  std::lock_guard lock(m_mutex);
  return m_state;
}

std::string
AdvisoryFeed::metrics_text(Time now) const
{
  const auto state = this->state();
  std::string out = fmt::format("# HELP airlock_advisories_records OSV records in force.\n"
                                "# TYPE airlock_advisories_records gauge\n"
                                "airlock_advisories_records {}\n"
                                "# HELP airlock_advisories_skipped Records or files the last load skipped as malformed.\n"
                                "# TYPE airlock_advisories_skipped gauge\n"
                                "airlock_advisories_skipped {}\n"
                                "# HELP airlock_advisories_blocked_files Files advisories block now.\n"
                                "# TYPE airlock_advisories_blocked_files gauge\n"
                                "airlock_advisories_blocked_files {}\n"
                                "# HELP airlock_advisories_held Records the kill-switch guard holds back.\n"
                                "# TYPE airlock_advisories_held gauge\n"
                                "airlock_advisories_held {}\n"
                                "# HELP airlock_advisories_guard_trips_total Refreshes the guard did not apply.\n"
                                "# TYPE airlock_advisories_guard_trips_total counter\n"
                                "airlock_advisories_guard_trips_total {}\n",
                                state.records, state.skipped, state.blocked_files, state.held_ids.size(),
                                state.guard_trips);
  if (state.newest_modified) {
    out += fmt::format("# HELP airlock_advisories_feed_age_seconds Age of the newest record's modified time.\n"
                       "# TYPE airlock_advisories_feed_age_seconds gauge\n"
                       "airlock_advisories_feed_age_seconds {}\n",
                       (now - *state.newest_modified).count());
  }
  return out;
}

std::vector<std::string>
AdvisoryFeed::warnings(Time now) const
{
  std::vector<std::string> out;
  const auto state = this->state();
  if (!m_configured && state.records == 0) {
    return out;
  }
  if (state.loaded_at && (!state.newest_modified || now - *state.newest_modified > m_max_age)) {
    out.push_back(state.newest_modified
                    ? fmt::format("the advisory feed is {} old (newest record modified {}), over max_age {}",
                                  format_duration(now - *state.newest_modified), format_rfc3339(*state.newest_modified),
                                  format_duration(m_max_age))
                    : "the advisory feed holds no records");
  }
  if (!state.held_ids.empty()) {
    out.push_back(fmt::format("{} advisories are held: they would newly block files of {} projects; accept with "
                              "airlock advisories import --accept-large",
                              state.held_ids.size(), state.held_projects.size()));
  }
  return out;
}

} // namespace airlock::proxy
