#pragma once

// Store: the index (LMDB) and the blob store of one data directory, with the transactions that
// write a listing, a decision or a snapshot together with its audit entries.

#include <airlock/storage/blob_store.hpp>
#include <airlock/storage/records.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
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
  // How a decision names a file's release (policy::release_key), for binding the approvals
  // of a store written before they named bytes; the version as written when empty.
  std::function<std::string(std::string_view version)> release_key;
};

// A project's listing as stored: the project record and its files, sorted by filename, then
// sha256 (a filename whose bytes changed upstream has a record per sha256).
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
  // Opens or creates <path>/index (LMDB, MDB_NOTLS) and <path>/blobs. A store of an older
  // schema is migrated in place, in one transaction; one of a newer schema throws
  // StorageError saying so.
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
  // Files are (filename, sha256): bytes seen before keep their first_seen, `replaces` and
  // `backdated` (and lose removed_upstream and replaced_upstream when listed again); new bytes
  // get first_seen = now. New bytes under a filename listed with other bytes get `replaces`
  // (action "upstream-content-change"), and the old record stays, with replaced_upstream =
  // now. In a known project, a new file whose upload-time predates the previous fetch is
  // `backdated` (action "upload-time-backdated"). A stored file whose filename is gone from
  // `files` is kept with removed_upstream = now (or its earlier removal time; action
  // "upstream-removal"), and one listed again gets "upstream-return". project.first_seen is
  // kept when the project was known, else set to now. Audit entries (actor "upstream") are
  // written in the same transaction. With `withhold_removed` (the policy withholds what
  // upstream removed), each snapshot that froze a file that just vanished gets a
  // "snapshot-withhold" entry too.
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

  // The files advisories blocked when the feed was last applied, less those a reviewer has
  // unblocked since.
  std::vector<AdvisoryBlock> advisory_blocks() const;
  // Records a refresh of the advisories in one transaction: the blocks `added` and `lifted`,
  // with their audit entries.
  void apply_advisory_blocks(const std::vector<AdvisoryBlock>& added, const std::vector<AdvisoryBlock>& lifted,
                             std::vector<AuditEntry> audit);

  // Stores a new token with its audit entry; throws StorageError when the id exists.
  void put_token(const TokenRecord& token, AuditEntry audit);
  std::optional<TokenRecord> token(std::string_view id) const;

  // --- background checks ----------------------------------------------------------------------
  // Every check record of a project, by file (filename and sha256).
  std::map<FileKey, FileChecks> checks(std::string_view project) const;
  // The check record of one file's bytes; nullopt while none exists.
  std::optional<FileChecks> file_checks(const FileRecord& file) const;
  void put_checks(const FileRecord& file, const FileChecks& checks);

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
