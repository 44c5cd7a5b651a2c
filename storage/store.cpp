// Store: the index's transactions over the typed tables (tables.hpp), and what a listing
// refresh, a decision or a snapshot writes together in one of them.

#include <airlock/storage/store.hpp>

#include "lmdb.hpp"
#include "migration.hpp"
#include "tables.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <utility>

namespace airlock::storage {

namespace {

// An audit entry for what upstream did to a file: the log is where a reviewer looks for why a
// release vanished from the index (a takedown) or came back.
AuditEntry
upstream_event(const FileRecord& file, Time now, std::string action, std::string reason, std::string before,
               std::string after)
{
  AuditEntry entry;
  entry.time = now;
  entry.actor = "upstream";
  entry.action = std::move(action);
  entry.project = file.project;
  entry.version = file.version;
  entry.filename = file.filename;
  entry.reason = std::move(reason);
  entry.before = std::move(before);
  entry.after = std::move(after);
  return entry;
}

} // namespace

struct Store::Impl
{
  explicit Impl(const Options& options)
    : env(options.path / "index", options.map_size, k_max_tables),
      tables(open_tables(env))
  {
    upgrade_schema(env, tables, options);
  }

  lmdb::Env env;
  Tables tables;

  // Appends, as copies of `cause` with the action "snapshot-withhold", one entry per snapshot
  // that froze one of `filenames` of cause.project, in the caller's transaction.
  void append_snapshot_withholds(lmdb::WriteTxn& txn, const AuditEntry& cause, const std::vector<std::string>& filenames)
  {
    if (filenames.empty()) {
      return;
    }
    for (const auto& snapshot : tables.snapshots.all(txn)) {
      const auto frozen = tables.snapshots.listing(txn, snapshot.name, cause.project);
      if (!frozen) {
        continue;
      }
      std::size_t withheld = 0;
      for (const auto& kept : frozen->files) {
        withheld += std::find(filenames.begin(), filenames.end(), kept.filename) != filenames.end() ? 1 : 0;
      }
      if (withheld == 0) {
        continue;
      }
      AuditEntry entry = cause;
      entry.action = "snapshot-withhold";
      entry.reason = fmt::format("{} file(s) withheld from snapshot {}: {}", withheld, snapshot.name, cause.reason);
      entry.before = "served";
      entry.after = "withheld";
      tables.audit.append(txn, std::move(entry));
    }
  }
};

Store::Store(const Options& options)
  : m_impl(std::make_unique<Impl>(options)),
    m_blobs(options.path / "blobs")
{
}

Store::~Store() = default;

std::optional<ProjectRecord>
Store::project(std::string_view name) const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.projects.get(txn, name);
}

std::optional<Listing>
Store::listing(std::string_view name) const
{
  const lmdb::ReadTxn txn(m_impl->env);
  auto project = m_impl->tables.projects.get(txn, name);
  if (!project) {
    return std::nullopt;
  }
  return Listing{std::move(*project), m_impl->tables.files.of_project(txn, name)};
}

std::vector<std::string>
Store::project_names() const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.projects.names(txn);
}

std::optional<FileRecord>
Store::file_by_sha256(const Sha256& sha256) const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.files.by_sha256(txn, sha256);
}

std::optional<FileRecord>
Store::file_by_sha256(const Sha256& sha256, std::string_view filename) const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.files.by_sha256_and_name(txn, sha256, filename);
}

Listing
Store::put_listing(ProjectRecord project, std::vector<FileRecord> files, Time now, bool withhold_removed)
{
  const auto& tables = m_impl->tables;
  lmdb::WriteTxn txn(m_impl->env);

  const auto known = tables.projects.get(txn, project.name);
  project.first_seen = known ? known->first_seen : now;

  // Every record so far, by key, and per filename the bytes upstream listed last.
  std::map<FileKey, FileRecord> before;
  std::map<std::string, Sha256> listed_before;
  for (auto& file : tables.files.of_project(txn, project.name)) {
    if (!file.replaced_upstream) {
      listed_before.insert_or_assign(file.filename, file.sha256);
    }
    FileKey key{file.filename, file.sha256};
    before.emplace(std::move(key), std::move(file));
  }

  // One entry per filename: a filename listed twice keeps the later entry, as a dict would.
  std::map<std::string, FileRecord> listed;
  for (auto& file : files) {
    // The key is built from the project being stored; a record claiming another is the
    // caller's slip, and storing it under this project keeps key and record consistent.
    file.project = project.name;
    auto filename = file.filename;
    listed.insert_or_assign(std::move(filename), std::move(file));
  }

  std::map<FileKey, FileRecord> after;
  for (auto& [filename, file] : listed) {
    const auto old = before.find(FileKey{filename, file.sha256});
    if (old != before.end()) {
      // Facts about these bytes stay: their first sight, what they replaced, their clock.
      file.first_seen = old->second.first_seen;
      file.replaces = old->second.replaces;
      file.backdated = old->second.backdated;
      if (old->second.removed_upstream) {
        tables.audit.append(txn, upstream_event(file, now, "upstream-return", "listed upstream again", "removed",
                                                "listed"));
      }
    } else {
      file.first_seen = now;
      file.replaces = std::nullopt;
      file.backdated = false;
      const auto previous = listed_before.find(filename);
      if (previous != listed_before.end() && previous->second != file.sha256) {
        file.replaces = previous->second;
        tables.audit.append(txn, upstream_event(file, now, "upstream-content-change",
                                                fmt::format("content changed upstream: {} -> {}",
                                                            previous->second.hex(), file.sha256.hex()),
                                                "listed", "held"));
      }
      // A known project's new file cannot have been uploaded before the listing that lacked it
      // was fetched: PyPI never backdates, so only a lying upstream claims it.
      if (known && file.upload_time && *file.upload_time < known->fetched_at) {
        file.backdated = true;
        tables.audit.append(txn, upstream_event(file, now, "upload-time-backdated",
                                                fmt::format("upload-time older than first sight: claims {}, absent "
                                                            "from the listing fetched at {}; its age counts from {}",
                                                            format_rfc3339(*file.upload_time),
                                                            format_rfc3339(known->fetched_at), format_rfc3339(now)),
                                                "", ""));
      }
    }
    file.removed_upstream = std::nullopt;
    file.replaced_upstream = std::nullopt;
    FileKey key{filename, file.sha256};
    after.emplace(std::move(key), std::move(file));
  }
  std::vector<std::string> removed;
  for (const auto& [key, file] : before) {
    if (after.contains(key)) {
      continue;
    }
    FileRecord kept = file;
    if (listed.contains(key.filename)) {
      // Other bytes under a listed name: a content change, not a takedown.
      if (!kept.replaced_upstream) {
        kept.replaced_upstream = now;
      }
    } else if (!kept.removed_upstream) {
      kept.removed_upstream = now;
      if (!kept.replaced_upstream) {
        tables.audit.append(txn, upstream_event(kept, now, "upstream-removal", "no longer in the upstream listing",
                                                "listed", "removed"));
        removed.push_back(key.filename);
      }
    }
    after.emplace(key, std::move(kept));
  }

  Listing result{project, {}};
  result.files.reserve(after.size());
  for (auto& [key, file] : after) {
    const auto old = before.find(key);
    // Unchanged records are not rewritten: a refresh that changes nothing dirties no pages.
    if (old == before.end() || old->second != file) {
      tables.files.put(txn, file);
    }
    result.files.push_back(std::move(file));
  }
  if (!known || *known != project) {
    tables.projects.put(txn, project);
  }
  if (withhold_removed) {
    AuditEntry cause;
    cause.time = now;
    cause.actor = "upstream";
    cause.project = project.name;
    cause.reason = "no longer in the upstream listing";
    m_impl->append_snapshot_withholds(txn, cause, removed);
  }
  txn.commit();
  return result;
}

void
Store::touch_project(std::string_view name, Time now)
{
  lmdb::WriteTxn txn(m_impl->env);
  auto project = m_impl->tables.projects.get(txn, name);
  // Nothing to revalidate for a project never stored; the transaction just aborts.
  if (!project) {
    return;
  }
  project->fetched_at = now;
  m_impl->tables.projects.put(txn, *project);
  txn.commit();
}

std::optional<BlobRecord>
Store::blob(const Sha256& sha256) const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.blobs.get(txn, sha256);
}

Expected<void>
Store::commit_blob(BlobWriter&& writer, const Sha256& expected, Time now)
{
  // The file first: a crash between the two leaves an unindexed blob (harmless, fsck finds
  // it), never an index entry naming a file that is not there.
  if (auto committed = writer.commit(expected); !committed) {
    return committed;
  }
  lmdb::WriteTxn txn(m_impl->env);
  m_impl->tables.blobs.put(txn, expected, BlobRecord{writer.size(), now});
  txn.commit();
  return {};
}

std::vector<Decision>
Store::decisions(std::string_view project) const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.decisions.of_project(txn, project);
}

std::vector<Decision>
Store::all_decisions() const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.decisions.scan(txn, "");
}

AuditEntry
Store::put_decision(const Decision& decision, AuditEntry audit, const std::vector<std::string>& withheld)
{
  lmdb::WriteTxn txn(m_impl->env);
  m_impl->tables.decisions.put(txn, decision);
  auto appended = m_impl->tables.audit.append(txn, std::move(audit));
  m_impl->append_snapshot_withholds(txn, appended, withheld);
  txn.commit();
  return appended;
}

AuditEntry
Store::remove_decision(std::string_view project, std::string_view version, std::string_view filename,
                       AuditEntry audit)
{
  lmdb::WriteTxn txn(m_impl->env);
  m_impl->tables.decisions.del(txn, project, version, filename);
  auto appended = m_impl->tables.audit.append(txn, std::move(audit));
  txn.commit();
  return appended;
}

AuditEntry
Store::append_audit(AuditEntry audit)
{
  lmdb::WriteTxn txn(m_impl->env);
  auto appended = m_impl->tables.audit.append(txn, std::move(audit));
  txn.commit();
  return appended;
}

std::vector<AuditEntry>
Store::audit(std::string_view project, std::optional<Time> since, std::size_t limit) const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.audit.newest(txn, project, since, limit);
}

std::vector<AdvisoryBlock>
Store::advisory_blocks() const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.advisory_blocks.all(txn);
}

void
Store::apply_advisory_blocks(const std::vector<AdvisoryBlock>& added, const std::vector<AdvisoryBlock>& lifted,
                             std::vector<AuditEntry> audit)
{
  lmdb::WriteTxn txn(m_impl->env);
  for (const auto& block : lifted) {
    m_impl->tables.advisory_blocks.del(txn, block);
  }
  for (const auto& block : added) {
    m_impl->tables.advisory_blocks.put(txn, block);
  }
  for (auto& entry : audit) {
    m_impl->tables.audit.append(txn, std::move(entry));
  }
  txn.commit();
}

void
Store::put_token(const TokenRecord& token, AuditEntry audit)
{
  lmdb::WriteTxn txn(m_impl->env);
  if (m_impl->tables.tokens.get(txn, token.id)) {
    throw StorageError(fmt::format("token id {} exists already", token.id));
  }
  m_impl->tables.tokens.put(txn, token);
  m_impl->tables.audit.append(txn, std::move(audit));
  txn.commit();
}

std::optional<TokenRecord>
Store::token(std::string_view id) const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.tokens.get(txn, id);
}

std::map<FileKey, FileChecks>
Store::checks(std::string_view project) const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.checks.of_project(txn, project);
}

std::optional<FileChecks>
Store::file_checks(const FileRecord& file) const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.checks.get(txn, FilesTable::key(file));
}

void
Store::put_checks(const FileRecord& file, const FileChecks& checks)
{
  lmdb::WriteTxn txn(m_impl->env);
  m_impl->tables.checks.put(txn, FilesTable::key(file), checks);
  txn.commit();
}

void
Store::put_snapshot(const SnapshotRecord& snapshot, const std::vector<Listing>& projects, AuditEntry audit)
{
  lmdb::WriteTxn txn(m_impl->env);
  if (m_impl->tables.snapshots.get(txn, snapshot.name)) {
    throw StorageError(fmt::format("snapshot {} exists already", snapshot.name));
  }
  m_impl->tables.snapshots.put(txn, snapshot, projects);
  m_impl->tables.audit.append(txn, std::move(audit));
  txn.commit();
}

std::optional<SnapshotRecord>
Store::snapshot(std::string_view name) const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.snapshots.get(txn, name);
}

std::vector<SnapshotRecord>
Store::snapshots() const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.snapshots.all(txn);
}

std::optional<Listing>
Store::snapshot_listing(std::string_view snapshot, std::string_view project) const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.snapshots.listing(txn, snapshot, project);
}

std::vector<std::string>
Store::snapshot_projects(std::string_view snapshot) const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.snapshots.projects(txn, snapshot);
}

std::vector<std::pair<Sha256, BlobRecord>>
Store::blob_records() const
{
  const lmdb::ReadTxn txn(m_impl->env);
  return m_impl->tables.blobs.all(txn);
}

void
Store::forget_blob(const Sha256& sha256)
{
  lmdb::WriteTxn txn(m_impl->env);
  if (m_impl->tables.blobs.del(txn, sha256)) {
    txn.commit();
  }
}

} // namespace airlock::storage
