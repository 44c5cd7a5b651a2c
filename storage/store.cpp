#include <airlock/storage/store.hpp>

#include "codec.hpp"
#include "keys.hpp"
#include "lmdb.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <utility>

namespace airlock::storage {

namespace {

// Room for the tables still to come (decisions, audit, tokens, snapshots, ...): LMDB
// needs the count up front, and a few spare slots cost nothing.
constexpr unsigned k_max_tables = 16;

using keys::project_prefix;

[[noreturn]] void
throw_corrupt(const lmdb::Table& table, std::string_view key)
{
  throw StorageError(fmt::format("corrupt record in table {} key {}", table.name, lmdb::describe_key(key)));
}

// Decodes a value read from `table`; a value that does not decode throws, naming where.
template<typename Decode>
auto
decode_or_throw(const lmdb::Table& table, std::string_view key, std::string_view value, Decode decode)
{
  auto record = decode(value);
  if (!record) {
    throw_corrupt(table, key);
  }
  return std::move(*record);
}

// One small class per table: its key layout, its codec and, for files, its index rows,
// which are written in the same transaction as the record they point at.

// projects: normalized name -> ProjectRecord.
class ProjectsTable
{
public:
  explicit ProjectsTable(lmdb::Table table) : m_table(table) {}

  std::optional<ProjectRecord>
  get(const lmdb::Txn& txn, std::string_view name) const
  {
    const auto value = txn.get(m_table, name);
    if (!value) {
      return std::nullopt;
    }
    auto record = decode_or_throw(m_table, name, *value, codec::decode_project);
    if (record.name != name) {
      throw_corrupt(m_table, name);
    }
    return record;
  }

  void
  put(lmdb::WriteTxn& txn, const ProjectRecord& record) const
  {
    txn.put(m_table, record.name, codec::encode(record));
  }

  std::vector<std::string>
  names(const lmdb::Txn& txn) const
  {
    std::vector<std::string> out;
    txn.for_each(m_table, "", [&](std::string_view key, std::string_view) { out.emplace_back(key); });
    return out;
  }

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

  static std::string
  key(const FileRecord& record)
  {
    return keys::file(record.project, record.filename, record.sha256);
  }

  std::optional<FileRecord>
  get(const lmdb::Txn& txn, std::string_view key) const
  {
    const auto value = txn.get(m_files, key);
    if (!value) {
      return std::nullopt;
    }
    return decode(key, *value);
  }

  // A project's files, sorted by filename, then sha256 (LMDB's key order).
  std::vector<FileRecord>
  of_project(const lmdb::Txn& txn, std::string_view project) const
  {
    std::vector<FileRecord> out;
    txn.for_each(m_files, project_prefix(project), [&](std::string_view key, std::string_view value) {
      out.push_back(decode(key, value));
    });
    return out;
  }

  std::optional<FileRecord>
  by_sha256(const lmdb::Txn& txn, const Sha256& sha256) const
  {
    const auto key = txn.get(m_by_sha256, keys::sha(sha256));
    if (!key) {
      return std::nullopt;
    }
    auto record = get(txn, *key);
    if (!record) {
      throw StorageError(fmt::format("corrupt index: {} key {} names missing file {}",
                                     m_by_sha256.name,
                                     sha256.hex(),
                                     lmdb::describe_key(*key)));
    }
    return record;
  }

  // The file with these bytes and this name: two projects may list the same bytes under
  // different names, and each keeps its own verdict.
  std::optional<FileRecord>
  by_sha256_and_name(const lmdb::Txn& txn, const Sha256& sha256, std::string_view filename) const
  {
    std::optional<FileRecord> found;
    txn.for_each(m_by_sha256, keys::sha(sha256), [&](std::string_view, std::string_view key) {
      if (found) {
        return;
      }
      auto record = get(txn, key);
      if (record && record->filename == filename) {
        found = std::move(record);
      }
    });
    return found;
  }

  // Writes `record` with its index row (a no-op when the row exists: MDB_NODUPDATA).
  void
  put(lmdb::WriteTxn& txn, const FileRecord& record) const
  {
    const std::string k = key(record);
    txn.put(m_files, k, codec::encode(record));
    txn.put_dup(m_by_sha256, keys::sha(record.sha256), k);
  }

  // Empties both tables (migration rewrites every key).
  void
  clear(lmdb::WriteTxn& txn) const
  {
    txn.clear(m_files);
    txn.clear(m_by_sha256);
  }

  // Every record under the keys of schema 1 (project + '\0' + filename), for migration.
  std::vector<FileRecord>
  all_schema_1(const lmdb::Txn& txn) const
  {
    std::vector<FileRecord> out;
    txn.for_each(m_files, "", [&](std::string_view key, std::string_view value) {
      auto record = decode_or_throw(m_files, key, value, codec::decode_file);
      if (key != keys::within(record.project, record.filename)) {
        throw_corrupt(m_files, key);
      }
      out.push_back(std::move(record));
    });
    return out;
  }

private:
  FileRecord
  decode(std::string_view key, std::string_view value) const
  {
    auto record = decode_or_throw(m_files, key, value, codec::decode_file);
    if (key != FilesTable::key(record)) {
      throw_corrupt(m_files, key);
    }
    return record;
  }

  lmdb::Table m_files;
  lmdb::Table m_by_sha256;
};

// blobs: 32 raw bytes -> BlobRecord.
class BlobsTable
{
public:
  explicit BlobsTable(lmdb::Table table) : m_table(table) {}

  std::optional<BlobRecord>
  get(const lmdb::Txn& txn, const Sha256& sha256) const
  {
    const auto value = txn.get(m_table, keys::sha(sha256));
    if (!value) {
      return std::nullopt;
    }
    return decode_or_throw(m_table, keys::sha(sha256), *value, codec::decode_blob);
  }

  void
  put(lmdb::WriteTxn& txn, const Sha256& sha256, const BlobRecord& record) const
  {
    txn.put(m_table, keys::sha(sha256), codec::encode(record));
  }

  bool
  del(lmdb::WriteTxn& txn, const Sha256& sha256) const
  {
    return txn.del(m_table, keys::sha(sha256));
  }

  std::vector<std::pair<Sha256, BlobRecord>>
  all(const lmdb::Txn& txn) const
  {
    std::vector<std::pair<Sha256, BlobRecord>> out;
    txn.for_each(m_table, "", [&](std::string_view key, std::string_view value) {
      if (key.size() != sizeof(Sha256::bytes)) {
        throw_corrupt(m_table, key);
      }
      Sha256 sha256;
      std::copy(key.begin(), key.end(), reinterpret_cast<char*>(sha256.bytes.data()));
      out.emplace_back(sha256, decode_or_throw(m_table, key, value, codec::decode_blob));
    });
    return out;
  }

private:
  lmdb::Table m_table;
};

// decisions: project + '\0' + scope ('p', 'r' or 'f') + '\0' + version or filename -> Decision.
class DecisionsTable
{
public:
  explicit DecisionsTable(lmdb::Table table) : m_table(table) {}

  static std::string
  key(std::string_view project, std::string_view version, std::string_view filename)
  {
    std::string out = project_prefix(project);
    if (!filename.empty()) {
      out += "f";
      out += '\0';
      out += filename;
    } else if (!version.empty()) {
      out += "r";
      out += '\0';
      out += version;
    } else {
      out += "p";
      out += '\0';
    }
    return out;
  }

  std::vector<Decision>
  of_project(const lmdb::Txn& txn, std::string_view project) const
  {
    return scan(txn, project_prefix(project));
  }

  std::vector<Decision>
  scan(const lmdb::Txn& txn, std::string_view prefix) const
  {
    std::vector<Decision> out;
    txn.for_each(m_table, prefix, [&](std::string_view k, std::string_view value) {
      auto record = decode_or_throw(m_table, k, value, codec::decode_decision);
      if (k != key(record.project, record.version, record.filename)) {
        throw_corrupt(m_table, k);
      }
      out.push_back(std::move(record));
    });
    return out;
  }

  void
  put(lmdb::WriteTxn& txn, const Decision& decision) const
  {
    txn.put(m_table, key(decision.project, decision.version, decision.filename), codec::encode(decision));
  }

  bool
  del(lmdb::WriteTxn& txn, std::string_view project, std::string_view version, std::string_view filename) const
  {
    return txn.del(m_table, key(project, version, filename));
  }

private:
  lmdb::Table m_table;
};

// audit: 8-byte big-endian id -> AuditEntry, so key order is append order.
class AuditTable
{
public:
  explicit AuditTable(lmdb::Table table) : m_table(table) {}

  AuditEntry
  append(lmdb::WriteTxn& txn, AuditEntry entry) const
  {
    lmdb::Cursor cursor(txn, m_table);
    const auto last = cursor.last();
    entry.id = last ? decode_id(last->first) + 1 : 1;
    txn.put(m_table, encode_id(entry.id), codec::encode(entry));
    return entry;
  }

  // Newest first until `limit` matches, returned oldest first.
  std::vector<AuditEntry>
  newest(const lmdb::Txn& txn, std::string_view project, std::optional<Time> since, std::size_t limit) const
  {
    std::vector<AuditEntry> out;
    lmdb::Cursor cursor(txn, m_table);
    for (auto entry = cursor.last(); entry && out.size() < limit; entry = cursor.prev()) {
      auto record = decode_or_throw(m_table, entry->first, entry->second, codec::decode_audit);
      if (since && record.time < *since) {
        break;
      }
      if (project.empty() || record.project == project) {
        out.push_back(std::move(record));
      }
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

private:
  static std::string
  encode_id(std::uint64_t id)
  {
    std::string out(8, '\0');
    for (int i = 7; i >= 0; --i) {
      out[static_cast<std::size_t>(i)] = static_cast<char>(id & 0xff);
      id >>= 8;
    }
    return out;
  }

  std::uint64_t
  decode_id(std::string_view key) const
  {
    if (key.size() != 8) {
      throw_corrupt(m_table, key);
    }
    std::uint64_t id = 0;
    for (char c : key) {
      id = id << 8 | static_cast<std::uint8_t>(c);
    }
    return id;
  }

  lmdb::Table m_table;
};

// tokens: token id -> TokenRecord.
class TokensTable
{
public:
  explicit TokensTable(lmdb::Table table) : m_table(table) {}

  std::optional<TokenRecord>
  get(const lmdb::Txn& txn, std::string_view id) const
  {
    const auto value = txn.get(m_table, id);
    if (!value) {
      return std::nullopt;
    }
    auto record = decode_or_throw(m_table, id, *value, codec::decode_token);
    if (record.id != id) {
      throw_corrupt(m_table, id);
    }
    return record;
  }

  void
  put(lmdb::WriteTxn& txn, const TokenRecord& record) const
  {
    txn.put(m_table, record.id, codec::encode(record));
  }

private:
  lmdb::Table m_table;
};

// snapshots: name -> SnapshotRecord; snapshot_files: name + '\0' + project -> Listing.
class SnapshotsTable
{
public:
  SnapshotsTable(lmdb::Table snapshots, lmdb::Table files) : m_snapshots(snapshots), m_files(files) {}

  std::optional<SnapshotRecord>
  get(const lmdb::Txn& txn, std::string_view name) const
  {
    const auto value = txn.get(m_snapshots, name);
    if (!value) {
      return std::nullopt;
    }
    auto record = decode_or_throw(m_snapshots, name, *value, codec::decode_snapshot);
    if (record.name != name) {
      throw_corrupt(m_snapshots, name);
    }
    return record;
  }

  std::vector<SnapshotRecord>
  all(const lmdb::Txn& txn) const
  {
    std::vector<SnapshotRecord> out;
    txn.for_each(m_snapshots, "", [&](std::string_view key, std::string_view value) {
      out.push_back(decode_or_throw(m_snapshots, key, value, codec::decode_snapshot));
    });
    return out;
  }

  void
  put(lmdb::WriteTxn& txn, const SnapshotRecord& record, const std::vector<Listing>& projects) const
  {
    txn.put(m_snapshots, record.name, codec::encode(record));
    for (const auto& listing : projects) {
      txn.put(m_files, keys::within(record.name, listing.project.name), codec::encode(listing));
    }
  }

  std::optional<Listing>
  listing(const lmdb::Txn& txn, std::string_view name, std::string_view project) const
  {
    const auto key = keys::within(name, project);
    const auto value = txn.get(m_files, key);
    if (!value) {
      return std::nullopt;
    }
    return decode_or_throw(m_files, key, *value, codec::decode_listing);
  }

  std::vector<std::string>
  projects(const lmdb::Txn& txn, std::string_view name) const
  {
    std::vector<std::string> out;
    const auto prefix = project_prefix(name);
    txn.for_each(m_files, prefix, [&](std::string_view key, std::string_view) {
      out.emplace_back(key.substr(prefix.size()));
    });
    return out;
  }

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

  std::map<FileKey, FileChecks>
  of_project(const lmdb::Txn& txn, std::string_view project) const
  {
    std::map<FileKey, FileChecks> out;
    const auto prefix = project_prefix(project);
    txn.for_each(m_table, prefix, [&](std::string_view key, std::string_view value) {
      const auto rest = key.substr(prefix.size());
      const auto split = rest.size() > sizeof(Sha256::bytes) ? rest.size() - sizeof(Sha256::bytes) - 1 : 0;
      const auto sha256 = keys::sha_of(rest.substr(split + 1));
      if (split == 0 || rest[split] != '\0' || !sha256) {
        throw_corrupt(m_table, key);
      }
      out.emplace(FileKey{std::string(rest.substr(0, split)), *sha256},
                  decode_or_throw(m_table, key, value, codec::decode_checks));
    });
    return out;
  }

  std::optional<FileChecks>
  get(const lmdb::Txn& txn, std::string_view key) const
  {
    const auto value = txn.get(m_table, key);
    if (!value) {
      return std::nullopt;
    }
    return decode_or_throw(m_table, key, *value, codec::decode_checks);
  }

  void
  put(lmdb::WriteTxn& txn, std::string_view key, const FileChecks& checks) const
  {
    txn.put(m_table, key, codec::encode(checks));
  }

  // Every record with its raw key, for migration.
  std::vector<std::pair<std::string, FileChecks>>
  all(const lmdb::Txn& txn) const
  {
    std::vector<std::pair<std::string, FileChecks>> out;
    txn.for_each(m_table, "", [&](std::string_view key, std::string_view value) {
      out.emplace_back(std::string(key), decode_or_throw(m_table, key, value, codec::decode_checks));
    });
    return out;
  }

  void
  clear(lmdb::WriteTxn& txn) const
  {
    txn.clear(m_table);
  }

private:
  lmdb::Table m_table;
};

// meta: "schema" -> u32 (little endian), the key layout the store is in (keys.hpp).
class MetaTable
{
public:
  explicit MetaTable(lmdb::Table table) : m_table(table) {}

  // nullopt for a store made before the table existed (schema 1) or a new one.
  std::optional<std::uint32_t>
  schema(const lmdb::Txn& txn) const
  {
    const auto value = txn.get(m_table, "schema");
    if (!value) {
      return std::nullopt;
    }
    if (value->size() != 4) {
      throw_corrupt(m_table, "schema");
    }
    std::uint32_t version = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      version |= static_cast<std::uint32_t>(static_cast<std::uint8_t>((*value)[i])) << (8 * i);
    }
    return version;
  }

  void
  put_schema(lmdb::WriteTxn& txn, std::uint32_t version) const
  {
    std::string value(4, '\0');
    for (std::size_t i = 0; i < 4; ++i) {
      value[i] = static_cast<char>((version >> (8 * i)) & 0xff);
    }
    txn.put(m_table, "schema", value);
  }

private:
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
};

// Opens (creating) every table in one transaction; LMDB shares the handles with every
// later transaction once it commits. A new table is one line here and one member above.
Tables
open_tables(const lmdb::Env& env)
{
  lmdb::WriteTxn txn(env);
  Tables tables{
    ProjectsTable(txn.open_table("projects")),
    FilesTable(txn.open_table("files"), txn.open_table("files_by_sha256", lmdb::Dup::sorted)),
    BlobsTable(txn.open_table("blobs")),
    DecisionsTable(txn.open_table("decisions")),
    AuditTable(txn.open_table("audit")),
    TokensTable(txn.open_table("tokens")),
    SnapshotsTable(txn.open_table("snapshots"), txn.open_table("snapshot_files")),
    ChecksTable(txn.open_table("checks")),
    MetaTable(txn.open_table("meta")),
  };
  txn.commit();
  return tables;
}

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
    lmdb::WriteTxn txn(env);
    const auto schema = tables.meta.schema(txn);
    if (schema && *schema > keys::k_schema_version) {
      throw StorageError(fmt::format("{} was written by a newer Airlock (store schema {}; this one reads up to {}): "
                                     "run that version, or restore a backup",
                                     options.path.string(), *schema, keys::k_schema_version));
    }
    if (schema == keys::k_schema_version) {
      return;
    }
    if (!schema && !tables.projects.names(txn).empty()) {
      migrate_from_schema_1(txn, options);
    }
    tables.meta.put_schema(txn, keys::k_schema_version);
    txn.commit();
  }

  lmdb::Env env;
  Tables tables;

  // Schema 1 keyed files and checks by filename and bound approvals to names. Rewrites every
  // file and check under its sha256, and binds each approval to the bytes it could have seen:
  // the files of its scope first seen at or before it. One transaction: all or nothing.
  void migrate_from_schema_1(lmdb::WriteTxn& txn, const Options& options)
  {
    const auto files = tables.files.all_schema_1(txn);
    std::map<std::string, const FileRecord*> by_old_key;
    for (const auto& file : files) {
      by_old_key.emplace(keys::within(file.project, file.filename), &file);
    }
    auto checks = tables.checks.all(txn);
    tables.files.clear(txn);
    tables.checks.clear(txn);
    for (const auto& file : files) {
      tables.files.put(txn, file);
    }
    std::size_t kept_checks = 0;
    for (const auto& [old_key, record] : checks) {
      const auto found = by_old_key.find(old_key);
      if (found == by_old_key.end()) {
        continue; // checks of a file no listing holds: nothing to bind them to
      }
      tables.checks.put(txn, FilesTable::key(*found->second), record);
      ++kept_checks;
    }
    const auto release_key = options.release_key ? options.release_key : [](std::string_view v) {
      return std::string(v);
    };
    std::size_t bound = 0;
    for (auto decision : tables.decisions.scan(txn, "")) {
      if (decision.action != DecisionAction::approve) {
        continue;
      }
      for (const auto& file : files) {
        const bool in_scope = file.project == decision.project
                              && (!decision.filename.empty() ? file.filename == decision.filename
                                  : !decision.version.empty() ? release_key(file.version) == decision.version
                                                              : true);
        if (in_scope && file.first_seen <= decision.time) {
          decision.sha256s.push_back(file.sha256);
        }
      }
      std::sort(decision.sha256s.begin(), decision.sha256s.end());
      tables.decisions.put(txn, decision);
      ++bound;
    }
    AuditEntry entry;
    entry.time = std::chrono::time_point_cast<Seconds>(std::chrono::system_clock::now());
    entry.actor = "airlock";
    entry.action = "store-migrate";
    entry.reason = fmt::format("store schema 1 -> {}: {} files and {} check records keyed by sha256; {} approvals "
                               "bound to the files first seen before them",
                               keys::k_schema_version, files.size(), kept_checks, bound);
    tables.audit.append(txn, std::move(entry));
  }

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
