#pragma once

// Private to proxy/: snapshots, frozen views of the approved files for CI.

#include "pages/project_index.hpp"

#include <airlock/policy/policy.hpp>
#include <airlock/storage/store.hpp>
#include <airlock/tuf/target.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

namespace airlock::proxy {

// Names: 1-64 of [A-Za-z0-9._-], starting with a letter or digit.
bool is_valid_snapshot_name(std::string_view name);

// Creates snapshots and serves their pages, rendered once and kept until a reviewer's
// decision may withhold a file from them. Thread-safe.
class SnapshotService
{
public:
  SnapshotService(const policy::Policy& policy, const Clock& clock, storage::Store& store);

  // Freezes the approved files of every project Airlock knows. Fails on a bad or taken name.
  Expected<storage::SnapshotRecord> create(const std::string& name, const std::string& actor);

  // The /snapshots/<name>/simple/ root; nullptr for an unknown snapshot.
  std::shared_ptr<const ProjectView> root(const std::string& snapshot);
  // A project page of a snapshot; nullptr when the snapshot or the project is unknown.
  std::shared_ptr<const ProjectView> project(const std::string& snapshot, const std::string& project);
  // Every file a snapshot froze that is not withheld now (for prefetch and TUF targets).
  std::vector<storage::FileRecord> files(const std::string& snapshot);

  // Whether any snapshot froze a file with this sha256 (blocked or not).
  bool frozen(const Sha256& sha256);

  // Forgets rendered pages: a decision changed what snapshots withhold.
  void invalidate();
  // What TUF signs: every snapshot's index pages (as served) and the files they list.
  std::vector<tuf::Target> tuf_targets();

private:
  std::shared_ptr<const ProjectView> render(const std::string& snapshot, const std::string& project);

  const policy::Policy& m_policy;
  const Clock& m_clock;
  storage::Store& m_store;
  std::mutex m_mutex;
  std::unordered_map<std::string, std::shared_ptr<const ProjectView>> m_pages; // "<snapshot>\0<project>"
  // The sha256 of every file of every snapshot, read from the store at first use.
  std::optional<std::set<Sha256>> m_frozen;

  IsCached is_cached() const;
};

} // namespace airlock::proxy
