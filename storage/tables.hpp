#pragma once

// The typed tables of the LMDB index, private to airlock_storage: one small class per table
// with its key layout, its codec and its index rows. Store uses them; fsck reads the handles raw.

#include <airlock/storage/store.hpp>

#include "lmdb.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airlock::storage {

// Room for the tables still to come: LMDB needs the count up front, and a few spare slots
// cost nothing.
inline constexpr unsigned k_max_tables = 16;

// Every table of the index by its name, as opened by open_table_handles.
struct TableHandles
{
  lmdb::Table projects;
  lmdb::Table files;
  lmdb::Table files_by_sha256;
  lmdb::Table blobs;
  lmdb::Table decisions;
  lmdb::Table audit;
  lmdb::Table tokens;
  lmdb::Table snapshots;
  lmdb::Table snapshot_files;
  lmdb::Table checks;
  lmdb::Table meta;
  lmdb::Table advisory_blocks;
};

// Opens (creating) every table in one transaction; LMDB shares the handles with every later
// transaction once it commits. A new table is one line there and one member above.
TableHandles open_table_handles(const lmdb::Env& env);

// A value that does not decode throws StorageError naming its table and key.

// projects: normalized name -> ProjectRecord.
class ProjectsTable
{
public:
  explicit ProjectsTable(lmdb::Table table) : m_table(table) {}

  std::optional<ProjectRecord> get(const lmdb::Txn& txn, std::string_view name) const;
  void put(lmdb::WriteTxn& txn, const ProjectRecord& record) const;
  std::vector<std::string> names(const lmdb::Txn& txn) const;

private:
  lmdb::Table m_table;
};

// files: project + '\0' + filename + '\0' + sha256 -> FileRecord, and its index
// files_by_sha256: 32 raw bytes -> the file's key (sorted duplicates, so two files with the
// same bytes keep one index row each).
class FilesTable
{
public:
  FilesTable(lmdb::Table files, lmdb::Table by_sha256) : m_files(files), m_by_sha256(by_sha256) {}

  static std::string key(const FileRecord& record);

  std::optional<FileRecord> get(const lmdb::Txn& txn, std::string_view key) const;
  // A project's files, sorted by filename, then sha256 (LMDB's key order).
  std::vector<FileRecord> of_project(const lmdb::Txn& txn, std::string_view project) const;
  std::optional<FileRecord> by_sha256(const lmdb::Txn& txn, const Sha256& sha256) const;
  // The file with these bytes and this name: two projects may list the same bytes under
  // different names, and each keeps its own verdict.
  std::optional<FileRecord>
  by_sha256_and_name(const lmdb::Txn& txn, const Sha256& sha256, std::string_view filename) const;
  // Writes `record` with its index row (a no-op when the row exists: MDB_NODUPDATA).
  void put(lmdb::WriteTxn& txn, const FileRecord& record) const;
  // Empties both tables (migration rewrites every key).
  void clear(lmdb::WriteTxn& txn) const;
  // Every record under the keys of schema 1 (project + '\0' + filename), for migration.
  std::vector<FileRecord> all_schema_1(const lmdb::Txn& txn) const;

private:
  FileRecord decode(std::string_view key, std::string_view value) const;

  lmdb::Table m_files;
  lmdb::Table m_by_sha256;
};

// blobs: 32 raw bytes -> BlobRecord.
class BlobsTable
{
public:
  explicit BlobsTable(lmdb::Table table) : m_table(table) {}

  std::optional<BlobRecord> get(const lmdb::Txn& txn, const Sha256& sha256) const;
  void put(lmdb::WriteTxn& txn, const Sha256& sha256, const BlobRecord& record) const;
  bool del(lmdb::WriteTxn& txn, const Sha256& sha256) const;
  std::vector<std::pair<Sha256, BlobRecord>> all(const lmdb::Txn& txn) const;

private:
  lmdb::Table m_table;
};

// decisions: project + '\0' + scope ('p', 'r' or 'f') + '\0' + version or filename -> Decision.
class DecisionsTable
{
public:
  explicit DecisionsTable(lmdb::Table table) : m_table(table) {}

  static std::string key(std::string_view project, std::string_view version, std::string_view filename);

  std::vector<Decision> of_project(const lmdb::Txn& txn, std::string_view project) const;
  std::vector<Decision> scan(const lmdb::Txn& txn, std::string_view prefix) const;
  void put(lmdb::WriteTxn& txn, const Decision& decision) const;
  bool
  del(lmdb::WriteTxn& txn, std::string_view project, std::string_view version, std::string_view filename) const;

private:
  lmdb::Table m_table;
};

// audit: 8-byte big-endian id -> AuditEntry, so key order is append order.
class AuditTable
{
public:
  explicit AuditTable(lmdb::Table table) : m_table(table) {}

  // Stores `entry` under the next id and returns it with that id.
  AuditEntry append(lmdb::WriteTxn& txn, AuditEntry entry) const;
  // Newest first until `limit` matches, returned oldest first.
  std::vector<AuditEntry>
  newest(const lmdb::Txn& txn, std::string_view project, std::optional<Time> since, std::size_t limit) const;

private:
  std::uint64_t decode_id(std::string_view key) const;

  lmdb::Table m_table;
};

// tokens: token id -> TokenRecord.
class TokensTable
{
public:
  explicit TokensTable(lmdb::Table table) : m_table(table) {}

  std::optional<TokenRecord> get(const lmdb::Txn& txn, std::string_view id) const;
  void put(lmdb::WriteTxn& txn, const TokenRecord& record) const;

private:
  lmdb::Table m_table;
};

// snapshots: name -> SnapshotRecord; snapshot_files: name + '\0' + project -> Listing.
class SnapshotsTable
{
public:
  SnapshotsTable(lmdb::Table snapshots, lmdb::Table files) : m_snapshots(snapshots), m_files(files) {}

  std::optional<SnapshotRecord> get(const lmdb::Txn& txn, std::string_view name) const;
  std::vector<SnapshotRecord> all(const lmdb::Txn& txn) const;
  void put(lmdb::WriteTxn& txn, const SnapshotRecord& record, const std::vector<Listing>& projects) const;
  std::optional<Listing> listing(const lmdb::Txn& txn, std::string_view name, std::string_view project) const;
  std::vector<std::string> projects(const lmdb::Txn& txn, std::string_view name) const;

private:
  lmdb::Table m_snapshots;
  lmdb::Table m_files;
};

// checks: the file's key (project + '\0' + filename + '\0' + sha256) -> FileChecks: what was
// found belongs to the bytes it was found in.
class ChecksTable
{
public:
  explicit ChecksTable(lmdb::Table table) : m_table(table) {}

  std::map<FileKey, FileChecks> of_project(const lmdb::Txn& txn, std::string_view project) const;
  std::optional<FileChecks> get(const lmdb::Txn& txn, std::string_view key) const;
  void put(lmdb::WriteTxn& txn, std::string_view key, const FileChecks& checks) const;
  // Every record with its raw key, for migration.
  std::vector<std::pair<std::string, FileChecks>> all(const lmdb::Txn& txn) const;
  void clear(lmdb::WriteTxn& txn) const;

private:
  lmdb::Table m_table;
};

// meta: "schema" -> u32 (little endian), the key layout the store is in (keys.hpp).
class MetaTable
{
public:
  explicit MetaTable(lmdb::Table table) : m_table(table) {}

  // nullopt for a store made before the table existed (schema 1) or a new one.
  std::optional<std::uint32_t> schema(const lmdb::Txn& txn) const;
  void put_schema(lmdb::WriteTxn& txn, std::uint32_t version) const;

private:
  lmdb::Table m_table;
};

// advisory_blocks: advisory id + '\0' + project + '\0' + filename + '\0' + 32 sha256 bytes ->
// version. Added beside schema 2: a store without it opens with it empty.
class AdvisoryBlocksTable
{
public:
  explicit AdvisoryBlocksTable(lmdb::Table table) : m_table(table) {}

  std::vector<AdvisoryBlock> all(const lmdb::Txn& txn) const;
  void put(lmdb::WriteTxn& txn, const AdvisoryBlock& block) const;
  void del(lmdb::WriteTxn& txn, const AdvisoryBlock& block) const;

private:
  static std::string key(const AdvisoryBlock& block);
  lmdb::Table m_table;
};

struct Tables
{
  ProjectsTable projects;
  FilesTable files;
  BlobsTable blobs;
  DecisionsTable decisions;
  AuditTable audit;
  TokensTable tokens;
  SnapshotsTable snapshots;
  ChecksTable checks;
  MetaTable meta;
  AdvisoryBlocksTable advisory_blocks;
};

// Opens every table (open_table_handles) and types it.
Tables open_tables(const lmdb::Env& env);

} // namespace airlock::storage
