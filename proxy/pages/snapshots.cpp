// Snapshots: freezing what the pages serve, rendering the frozen views (withholding what was
// blocked since), and the targets TUF signs over them.
#include "pages/snapshots.hpp"

#include "pages/facts.hpp"

#include <airlock/util/log.hpp>

#include <fmt/core.h>

#include <set>

namespace airlock::proxy {

namespace {

// From /snapshots/<name>/simple/<project>/ to /files/.
constexpr std::string_view k_file_prefix = "../../../../files/";

std::string
page_key(std::string_view snapshot, std::string_view project)
{
  std::string key(snapshot);
  key += '\0';
  key += project;
  return key;
}

} // namespace

namespace {

// A frozen listing with what upstream has said since: takedowns and the project's status
// withhold files from snapshots too.
storage::Listing
with_current_takedowns(storage::Listing listing, const storage::Store& store)
{
  if (const auto live = store.project(listing.project.name)) {
    listing.project.status = live->status;
    listing.project.status_reason = live->status_reason;
  }
  for (auto& file : listing.files) {
    if (const auto current = store.file_by_sha256(file.sha256, file.filename)) {
      file.removed_upstream = current->removed_upstream;
    }
  }
  return listing;
}

} // namespace

bool
is_valid_snapshot_name(std::string_view name)
{
  if (name.empty() || name.size() > 64 || !std::isalnum(static_cast<unsigned char>(name.front()))) {
    return false;
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

SnapshotService::SnapshotService(const policy::Policy& policy, const Clock& clock, storage::Store& store)
  : m_policy(policy), m_clock(clock), m_store(store)
{
}

Expected<storage::SnapshotRecord>
SnapshotService::create(const std::string& name, const std::string& actor)
{
  if (!is_valid_snapshot_name(name)) {
    return make_unexpected(fmt::format(
      "invalid snapshot name \"{}\": 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", name));
  }
  if (m_store.snapshot(name)) {
    return make_unexpected(fmt::format("snapshot {} exists already; snapshots never change", name));
  }
  const Time now = m_clock.now();
  storage::SnapshotRecord record{name, now, actor, 0, 0, 0};
  std::vector<storage::Listing> frozen;
  for_each_decided_project(m_store, m_policy, now, [&](const DecidedProject& project) {
    // What the project's page serves, the same bytes.
    storage::Listing listing{project.listing.project, {}};
    for (const auto i : served_files(project.listing, project.verdicts, Withhold::unless_approved, is_cached())) {
      listing.files.push_back(project.listing.files[i]);
    }
    if (listing.files.empty()) {
      return;
    }
    ++record.projects;
    record.files += listing.files.size();
    for (const auto& file : listing.files) {
      record.bytes += file.size;
    }
    frozen.push_back(std::move(listing));
  });
  storage::AuditEntry entry;
  entry.time = now;
  entry.actor = actor;
  entry.action = "snapshot-create";
  entry.reason = fmt::format("snapshot {}: {} projects, {} files", name, record.projects, record.files);
  entry.before = "-";
  entry.after = name;
  try {
    m_store.put_snapshot(record, frozen, entry);
  } catch (const StorageError& e) {
    return make_unexpected(e.what());
  }
  std::lock_guard lock(m_mutex);
  if (m_frozen) {
    for (const auto& listing : frozen) {
      for (const auto& file : listing.files) {
        m_frozen->insert(file.sha256);
      }
    }
  }
  return record;
}

IsCached
SnapshotService::is_cached() const
{
  return [this](const Sha256& sha256) { return m_store.blobs().contains(sha256); };
}

std::shared_ptr<const ProjectView>
SnapshotService::root(const std::string& snapshot)
{
  return render(snapshot, "");
}

std::shared_ptr<const ProjectView>
SnapshotService::project(const std::string& snapshot, const std::string& project)
{
  return project.empty() ? nullptr : render(snapshot, project);
}

std::shared_ptr<const ProjectView>
SnapshotService::render(const std::string& snapshot, const std::string& project)
{
  const auto key = page_key(snapshot, project);
  {
    std::lock_guard lock(m_mutex);
    if (auto it = m_pages.find(key); it != m_pages.end()) {
      return it->second;
    }
  }
  if (!m_store.snapshot(snapshot)) {
    return nullptr;
  }
  std::shared_ptr<ProjectView> view;
  if (project.empty()) {
    const auto names = m_store.snapshot_projects(snapshot);
    view = std::make_shared<ProjectView>(render_root(names, Time::max()));
  } else {
    const auto frozen = m_store.snapshot_listing(snapshot, project);
    if (!frozen) {
      return nullptr;
    }
    const auto listing = with_current_takedowns(*frozen, m_store);
    const auto facts = load_facts(m_store, m_policy, listing);
    view = std::make_shared<ProjectView>(
      render_view(listing, facts.context(true), m_policy, m_clock.now(), k_file_prefix, is_cached(), Withhold::blocked));
  }
  std::lock_guard lock(m_mutex);
  m_pages[key] = view;
  return view;
}

std::vector<storage::FileRecord>
SnapshotService::files(const std::string& snapshot)
{
  std::vector<storage::FileRecord> out;
  const Time now = m_clock.now();
  for (const auto& project : m_store.snapshot_projects(snapshot)) {
    const auto frozen = m_store.snapshot_listing(snapshot, project);
    if (!frozen) {
      continue;
    }
    const auto listing = with_current_takedowns(*frozen, m_store);
    const auto facts = load_facts(m_store, m_policy, listing);
    const auto verdicts = m_policy.decide_all(listing.files, facts.context(true), now);
    for (std::size_t i = 0; i < listing.files.size(); ++i) {
      if (verdicts[i].state != policy::State::blocked) {
        out.push_back(listing.files[i]);
      }
    }
  }
  return out;
}

std::vector<tuf::Target>
SnapshotService::tuf_targets()
{
  std::vector<tuf::Target> out;
  std::set<std::string> file_paths;
  for (const auto& snapshot : m_store.snapshots()) {
    const std::string base = "snapshots/" + snapshot.name + "/simple/";
    const auto add_pages = [&](const std::string& dir, const ProjectView& view) {
      out.push_back(tuf::make_target(dir + "index.html", view.html.body));
      out.push_back(tuf::make_target(dir + "index.json", view.json.body));
    };
    if (const auto root_view = root(snapshot.name)) {
      add_pages(base, *root_view);
    }
    for (const auto& name : m_store.snapshot_projects(snapshot.name)) {
      if (const auto view = project(snapshot.name, name)) {
        add_pages(base + name + "/", *view);
      }
    }
    for (const auto& file : files(snapshot.name)) {
      std::string path = "files/" + file.sha256.hex() + "/" + file.filename;
      if (tuf::invalid_target_path(path)) {
        AIRLOCK_LOG(warn, "TUF: {} cannot be a target name; clients cannot verify it", file.filename);
        continue;
      }
      if (file_paths.insert(path).second) {
        out.push_back(tuf::Target{std::move(path), file.size, file.sha256, std::nullopt});
      }
    }
  }
  return out;
}

bool
SnapshotService::frozen(const Sha256& sha256)
{
  std::lock_guard lock(m_mutex);
  if (!m_frozen) {
    std::set<Sha256> all;
    for (const auto& snapshot : m_store.snapshots()) {
      for (const auto& project : m_store.snapshot_projects(snapshot.name)) {
        if (const auto listing = m_store.snapshot_listing(snapshot.name, project)) {
          for (const auto& file : listing->files) {
            all.insert(file.sha256);
          }
        }
      }
    }
    m_frozen = std::move(all);
  }
  return m_frozen->contains(sha256);
}

void
SnapshotService::invalidate()
{
  std::lock_guard lock(m_mutex);
  m_pages.clear();
}

} // namespace airlock::proxy
