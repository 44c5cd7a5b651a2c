#pragma once

// Private to proxy/: everything policy needs to decide the files of one project, read from
// the store in one place so that pages, downloads, the API and snapshots decide alike.

#include <airlock/policy/policy.hpp>
#include <airlock/storage/store.hpp>

#include <string>
#include <vector>

namespace airlock::proxy {

struct ProjectFacts
{
  std::vector<storage::Decision> decisions;
  std::string upstream_status;
  policy::ProjectHistory history;

  policy::ProjectContext context() const { return {decisions, upstream_status, &history}; }
};

// Reads the decisions and check records of `listing`'s project.
inline ProjectFacts
load_facts(const storage::Store& store, const storage::Listing& listing)
{
  return ProjectFacts{store.decisions(listing.project.name), listing.project.status,
                      policy::ProjectHistory(listing.files, store.checks(listing.project.name),
                                             listing.project.first_seen)};
}

} // namespace airlock::proxy
