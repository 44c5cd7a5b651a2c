#pragma once

#include <airlock/storage/blob_store.hpp>
#include <airlock/storage/records.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::storage {

struct Options
{
  std::filesystem::path path = "./airlock-data"; // holds index/ (LMDB) and blobs/
  std::uint64_t map_size = 32ULL << 30;          // LMDB map size in bytes
};

// A project's listing as stored: the project record and its files, sorted by filename.
struct Listing
{
  ProjectRecord project;
  std::vector<FileRecord> files;
};

// The index (LMDB, typed tables) and the blob store of one data directory.
// One Store per path per process. Reads are thread-safe and never block on writes;
// writes are serialized by LMDB (callers keep them off the request threads).
// LMDB corruption, map full and I/O failures throw StorageError.
class Store
{
public:
  // Opens or creates <path>/index (LMDB, MDB_NOTLS) and <path>/blobs.
  explicit Store(const Options& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- projects and files -------------------------------------------------------------
  std::optional<ProjectRecord> project(std::string_view name) const;
  // The project record and its files, read in one transaction; nullopt for an unknown project.
  std::optional<Listing> listing(std::string_view name) const;
  // Every known project name, sorted.
  std::vector<std::string> project_names() const;
  // The file upstream declared with this sha256 (any project); nullopt when none.
  std::optional<FileRecord> file_by_sha256(const Sha256& sha256) const;
  // The file with these bytes and this filename: two projects may list the same bytes, and
  // each listing keeps its own verdict. nullopt when none.
  std::optional<FileRecord> file_by_sha256(const Sha256& sha256, std::string_view filename) const;

  // Replaces a project's upstream listing in one write transaction and returns the result.
  // A file seen before keeps its first_seen (and loses removed_upstream if it came back);
  // a new one gets first_seen = now; a stored file missing from `files` is kept with
  // removed_upstream = now (or its earlier removal time). project.first_seen is kept when
  // the project was known, else set to now. A removal and a return are facts a reviewer must
  // see: each is appended to the audit log (actor "upstream", action "upstream-removal" or
  // "upstream-return") in the same transaction. With `withhold_removed` (the policy withholds
  // what upstream removed), each snapshot that froze a file that just vanished gets a
  // "snapshot-withhold" entry too, in the same transaction.
  Listing put_listing(ProjectRecord project, std::vector<FileRecord> files, Time now, bool withhold_removed = false);
  // Records a successful revalidation (upstream answered 304): fetched_at = now.
  void touch_project(std::string_view name, Time now);

  // --- review: decisions, audit log, tokens -------------------------------------------------
  // Every decision about a project (all scopes), sorted by scope.
  std::vector<Decision> decisions(std::string_view project) const;
  // Every decision Airlock holds.
  std::vector<Decision> all_decisions() const;
  // Stores a decision (replacing any at the same scope) and appends its audit entry, in one
  // transaction. Returns the entry as appended (with its id). `withheld`: filenames of
  // audit.project the decision withholds; each snapshot that froze one of them gets a
  // "snapshot-withhold" entry (a copy of `audit`) in the same transaction.
  AuditEntry put_decision(const Decision& decision, AuditEntry audit, const std::vector<std::string>& withheld = {});
  // Removes the decision at a scope, if any, and appends the audit entry, in one transaction.
  // Returns the entry as appended.
  AuditEntry remove_decision(std::string_view project, std::string_view version, std::string_view filename,
                             AuditEntry audit);
  // Appends an audit entry on its own.
  AuditEntry append_audit(AuditEntry audit);
  // Audit entries, oldest first: those about `project` (all when empty) at or after `since`,
  // at most `limit` of the newest that match.
  std::vector<AuditEntry> audit(std::string_view project, std::optional<Time> since, std::size_t limit) const;

  // Stores a new token with its audit entry; throws StorageError when the id exists.
  void put_token(const TokenRecord& token, AuditEntry audit);
  std::optional<TokenRecord> token(std::string_view id) const;

  // --- background checks ----------------------------------------------------------------------
  // Every check record of a project, by filename.
  std::map<std::string, FileChecks> checks(std::string_view project) const;
  std::optional<FileChecks> file_checks(std::string_view project, std::string_view filename) const;
  void put_checks(std::string_view project, std::string_view filename, const FileChecks& checks);

  // --- snapshots ------------------------------------------------------------------------------
  // Stores a snapshot: its record and, per project, the files it froze (with their records as
  // they were), plus its audit entry, in one transaction. Throws StorageError when the name
  // exists.
  void put_snapshot(const SnapshotRecord& snapshot, const std::vector<Listing>& projects, AuditEntry audit);
  std::optional<SnapshotRecord> snapshot(std::string_view name) const;
  std::vector<SnapshotRecord> snapshots() const;
  // The frozen files of one project in a snapshot, sorted by filename; nullopt when the
  // snapshot does not have the project.
  std::optional<Listing> snapshot_listing(std::string_view snapshot, std::string_view project) const;
  // The project names of a snapshot, sorted.
  std::vector<std::string> snapshot_projects(std::string_view snapshot) const;

  // --- blobs -----------------------------------------------------------------------------
  BlobStore& blobs() { return m_blobs; }
  const BlobStore& blobs() const { return m_blobs; }
  std::optional<BlobRecord> blob(const Sha256& sha256) const;
  // Commits a written blob (fsync + rename) and then indexes it, in that order, so the index
  // never names a blob that is not on disk. Fails when the digest is not `expected`.
  [[nodiscard]] Expected<void> commit_blob(BlobWriter&& writer, const Sha256& expected, Time now);
  // Every indexed blob (fsck).
  std::vector<std::pair<Sha256, BlobRecord>> blob_records() const;
  // Drops a blob's index entry (fsck --repair).
  void forget_blob(const Sha256& sha256);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  BlobStore m_blobs;
};

} // namespace airlock::storage
