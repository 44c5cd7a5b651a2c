#pragma once

// Private to proxy/: everything policy needs to decide the files of one project, read from
// the store in one place so that pages, downloads, the API and snapshots decide alike.

#include <airlock/policy/policy.hpp>
#include <airlock/storage/store.hpp>

#include <memory>
#include <span>
#include <string>
#include <vector>

namespace airlock::proxy {

struct ProjectFacts
{
  std::vector<storage::Decision> decisions;
  std::string upstream_status;
  policy::ProjectHistory history;
  std::shared_ptr<const policy::Advisories> advisories; // in force when read; keeps `matches` alive
  std::span<const policy::Advisories::Match> matches;   // those naming the project

  // `frozen`: a snapshot's view, which only malicious records withhold from.
  policy::ProjectContext context(bool frozen = false) const
  {
    return {decisions, upstream_status, &history, matches, frozen};
  }
};

// Reads the decisions and check records of `listing`'s project, with the advisories in force.
inline ProjectFacts
load_facts(const storage::Store& store, const policy::Policy& policy, const storage::Listing& listing)
{
  auto advisories = policy.advisories();
  const auto matches = advisories->for_project(listing.project.name);
  return ProjectFacts{store.decisions(listing.project.name), listing.project.status,
                      policy::ProjectHistory(listing.files, store.checks(listing.project.name),
                                             listing.project.first_seen),
                      std::move(advisories), matches};
}

// A project with every file decided: verdicts[i] is listing.files[i]'s.
struct DecidedProject
{
  storage::Listing listing;
  ProjectFacts facts;
  std::vector<policy::Verdict> verdicts;
};

// Reads and decides one project; nullopt for an unknown one.
inline std::optional<DecidedProject>
decide_project(const storage::Store& store, const policy::Policy& policy, std::string_view name, Time now)
{
  auto listing = store.listing(name);
  if (!listing) {
    return std::nullopt;
  }
  auto facts = load_facts(store, policy, *listing);
  auto verdicts = policy.decide_all(listing->files, facts.context(), now);
  return DecidedProject{std::move(*listing), std::move(facts), std::move(verdicts)};
}

// Calls fn(const DecidedProject&) for every project the store knows, one at a time. Reads the
// whole store: callers keep it off the I/O threads.
template<typename Fn>
void
for_each_decided_project(const storage::Store& store, const policy::Policy& policy, Time now, Fn&& fn)
{
  for (const auto& name : store.project_names()) {
    if (const auto project = decide_project(store, policy, name, now)) {
      fn(*project);
    }
  }
}

// The file upstream lists now under this filename (not bytes it replaced); nullptr when none.
inline const storage::FileRecord*
listed_file(const storage::Listing& listing, std::string_view filename)
{
  for (const auto& file : listing.files) {
    if (file.filename == filename && !file.replaced_upstream) {
      return &file;
    }
  }
  return nullptr;
}

} // namespace airlock::proxy
