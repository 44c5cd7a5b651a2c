// The typed tables of the LMDB index: how each reads, checks and writes its records, and the
// one place that opens every table by name.

#include "tables.hpp"

#include "codec.hpp"
#include "keys.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace airlock::storage {

namespace {

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

// Reads the record at `key` of a table keyed by the record's own name (`name` names that field):
// a record naming another key is corrupt.
template<typename Record>
std::optional<Record>
get_named(const lmdb::Txn& txn, const lmdb::Table& table, std::string_view key,
          std::optional<Record> (*decode)(std::string_view), std::string Record::*name)
{
  const auto value = txn.get(table, key);
  if (!value) {
    return std::nullopt;
  }
  auto record = decode_or_throw(table, key, *value, decode);
  if (record.*name != key) {
    throw_corrupt(table, key);
  }
  return record;
}

std::string
encode_audit_id(std::uint64_t id)
{
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(id & 0xff);
    id >>= 8;
  }
  return out;
}

} // namespace

TableHandles
open_table_handles(const lmdb::Env& env)
{
  lmdb::WriteTxn txn(env);
  TableHandles handles{
    txn.open_table("projects"),
    txn.open_table("files"),
    txn.open_table("files_by_sha256", lmdb::Dup::sorted),
    txn.open_table("blobs"),
    txn.open_table("decisions"),
    txn.open_table("audit"),
    txn.open_table("tokens"),
    txn.open_table("snapshots"),
    txn.open_table("snapshot_files"),
    txn.open_table("checks"),
    txn.open_table("meta"),
    txn.open_table("advisory_blocks"),
  };
  txn.commit();
  return handles;
}

Tables
open_tables(const lmdb::Env& env)
{
  const auto handles = open_table_handles(env);
  return Tables{
    ProjectsTable(handles.projects),
    FilesTable(handles.files, handles.files_by_sha256),
    BlobsTable(handles.blobs),
    DecisionsTable(handles.decisions),
    AuditTable(handles.audit),
    TokensTable(handles.tokens),
    SnapshotsTable(handles.snapshots, handles.snapshot_files),
    ChecksTable(handles.checks),
    MetaTable(handles.meta),
    AdvisoryBlocksTable(handles.advisory_blocks),
  };
}

std::optional<ProjectRecord>
ProjectsTable::get(const lmdb::Txn& txn, std::string_view name) const
{
  return get_named(txn, m_table, name, codec::decode_project, &ProjectRecord::name);
}

void
ProjectsTable::put(lmdb::WriteTxn& txn, const ProjectRecord& record) const
{
  txn.put(m_table, record.name, codec::encode(record));
}

std::vector<std::string>
ProjectsTable::names(const lmdb::Txn& txn) const
{
  std::vector<std::string> out;
  txn.for_each(m_table, "", [&](std::string_view key, std::string_view) { out.emplace_back(key); });
  return out;
}

std::string
FilesTable::key(const FileRecord& record)
{
  return keys::file(record.project, record.filename, record.sha256);
}

std::optional<FileRecord>
FilesTable::get(const lmdb::Txn& txn, std::string_view key) const
{
  const auto value = txn.get(m_files, key);
  if (!value) {
    return std::nullopt;
  }
  return decode(key, *value);
}

std::vector<FileRecord>
FilesTable::of_project(const lmdb::Txn& txn, std::string_view project) const
{
  std::vector<FileRecord> out;
  txn.for_each(m_files, project_prefix(project), [&](std::string_view key, std::string_view value) {
    out.push_back(decode(key, value));
  });
  return out;
}

std::optional<FileRecord>
FilesTable::by_sha256(const lmdb::Txn& txn, const Sha256& sha256) const
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

std::optional<FileRecord>
FilesTable::by_sha256_and_name(const lmdb::Txn& txn, const Sha256& sha256, std::string_view filename) const
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

void
FilesTable::put(lmdb::WriteTxn& txn, const FileRecord& record) const
{
  const std::string k = key(record);
  txn.put(m_files, k, codec::encode(record));
  txn.put_dup(m_by_sha256, keys::sha(record.sha256), k);
}

void
FilesTable::clear(lmdb::WriteTxn& txn) const
{
  txn.clear(m_files);
  txn.clear(m_by_sha256);
}

std::vector<FileRecord>
FilesTable::all_schema_1(const lmdb::Txn& txn) const
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

FileRecord
FilesTable::decode(std::string_view key, std::string_view value) const
{
  auto record = decode_or_throw(m_files, key, value, codec::decode_file);
  if (key != FilesTable::key(record)) {
    throw_corrupt(m_files, key);
  }
  return record;
}

std::optional<BlobRecord>
BlobsTable::get(const lmdb::Txn& txn, const Sha256& sha256) const
{
  const auto value = txn.get(m_table, keys::sha(sha256));
  if (!value) {
    return std::nullopt;
  }
  return decode_or_throw(m_table, keys::sha(sha256), *value, codec::decode_blob);
}

void
BlobsTable::put(lmdb::WriteTxn& txn, const Sha256& sha256, const BlobRecord& record) const
{
  txn.put(m_table, keys::sha(sha256), codec::encode(record));
}

bool
BlobsTable::del(lmdb::WriteTxn& txn, const Sha256& sha256) const
{
  return txn.del(m_table, keys::sha(sha256));
}

std::vector<std::pair<Sha256, BlobRecord>>
BlobsTable::all(const lmdb::Txn& txn) const
{
  std::vector<std::pair<Sha256, BlobRecord>> out;
  txn.for_each(m_table, "", [&](std::string_view key, std::string_view value) {
    const auto sha256 = keys::sha_of(key);
    if (!sha256) {
      throw_corrupt(m_table, key);
    }
    out.emplace_back(*sha256, decode_or_throw(m_table, key, value, codec::decode_blob));
  });
  return out;
}

std::string
DecisionsTable::key(std::string_view project, std::string_view version, std::string_view filename)
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
DecisionsTable::of_project(const lmdb::Txn& txn, std::string_view project) const
{
  return scan(txn, project_prefix(project));
}

std::vector<Decision>
DecisionsTable::scan(const lmdb::Txn& txn, std::string_view prefix) const
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
DecisionsTable::put(lmdb::WriteTxn& txn, const Decision& decision) const
{
  txn.put(m_table, key(decision.project, decision.version, decision.filename), codec::encode(decision));
}

bool
DecisionsTable::del(lmdb::WriteTxn& txn, std::string_view project, std::string_view version, std::string_view filename) const
{
  return txn.del(m_table, key(project, version, filename));
}

AuditEntry
AuditTable::append(lmdb::WriteTxn& txn, AuditEntry entry) const
{
  lmdb::Cursor cursor(txn, m_table);
  const auto last = cursor.last();
  entry.id = last ? decode_id(last->first) + 1 : 1;
  txn.put(m_table, encode_audit_id(entry.id), codec::encode(entry));
  return entry;
}

std::vector<AuditEntry>
AuditTable::newest(const lmdb::Txn& txn, std::string_view project, std::optional<Time> since, std::size_t limit) const
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

std::uint64_t
AuditTable::decode_id(std::string_view key) const
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

std::optional<TokenRecord>
TokensTable::get(const lmdb::Txn& txn, std::string_view id) const
{
  return get_named(txn, m_table, id, codec::decode_token, &TokenRecord::id);
}

void
TokensTable::put(lmdb::WriteTxn& txn, const TokenRecord& record) const
{
  txn.put(m_table, record.id, codec::encode(record));
}

std::optional<SnapshotRecord>
SnapshotsTable::get(const lmdb::Txn& txn, std::string_view name) const
{
  return get_named(txn, m_snapshots, name, codec::decode_snapshot, &SnapshotRecord::name);
}

std::vector<SnapshotRecord>
SnapshotsTable::all(const lmdb::Txn& txn) const
{
  std::vector<SnapshotRecord> out;
  txn.for_each(m_snapshots, "", [&](std::string_view key, std::string_view value) {
    out.push_back(decode_or_throw(m_snapshots, key, value, codec::decode_snapshot));
  });
  return out;
}

void
SnapshotsTable::put(lmdb::WriteTxn& txn, const SnapshotRecord& record, const std::vector<Listing>& projects) const
{
  txn.put(m_snapshots, record.name, codec::encode(record));
  for (const auto& listing : projects) {
    txn.put(m_files, keys::within(record.name, listing.project.name), codec::encode(listing));
  }
}

std::optional<Listing>
SnapshotsTable::listing(const lmdb::Txn& txn, std::string_view name, std::string_view project) const
{
  const auto key = keys::within(name, project);
  const auto value = txn.get(m_files, key);
  if (!value) {
    return std::nullopt;
  }
  return decode_or_throw(m_files, key, *value, codec::decode_listing);
}

std::vector<std::string>
SnapshotsTable::projects(const lmdb::Txn& txn, std::string_view name) const
{
  std::vector<std::string> out;
  const auto prefix = project_prefix(name);
  txn.for_each(m_files, prefix, [&](std::string_view key, std::string_view) {
    out.emplace_back(key.substr(prefix.size()));
  });
  return out;
}

std::map<FileKey, FileChecks>
ChecksTable::of_project(const lmdb::Txn& txn, std::string_view project) const
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
ChecksTable::get(const lmdb::Txn& txn, std::string_view key) const
{
  const auto value = txn.get(m_table, key);
  if (!value) {
    return std::nullopt;
  }
  return decode_or_throw(m_table, key, *value, codec::decode_checks);
}

void
ChecksTable::put(lmdb::WriteTxn& txn, std::string_view key, const FileChecks& checks) const
{
  txn.put(m_table, key, codec::encode(checks));
}

std::vector<std::pair<std::string, FileChecks>>
ChecksTable::all(const lmdb::Txn& txn) const
{
  std::vector<std::pair<std::string, FileChecks>> out;
  txn.for_each(m_table, "", [&](std::string_view key, std::string_view value) {
    out.emplace_back(std::string(key), decode_or_throw(m_table, key, value, codec::decode_checks));
  });
  return out;
}

void
ChecksTable::clear(lmdb::WriteTxn& txn) const
{
  txn.clear(m_table);
}

std::optional<std::uint32_t>
MetaTable::schema(const lmdb::Txn& txn) const
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
MetaTable::put_schema(lmdb::WriteTxn& txn, std::uint32_t version) const
{
  std::string value(4, '\0');
  for (std::size_t i = 0; i < 4; ++i) {
    value[i] = static_cast<char>((version >> (8 * i)) & 0xff);
  }
  txn.put(m_table, "schema", value);
}

std::string
AdvisoryBlocksTable::key(const AdvisoryBlock& block)
{
  return keys::within(block.advisory, keys::file(block.project, block.filename, block.sha256));
}

std::vector<AdvisoryBlock>
AdvisoryBlocksTable::all(const lmdb::Txn& txn) const
{
  std::vector<AdvisoryBlock> out;
  txn.for_each(m_table, "", [&](std::string_view key, std::string_view value) {
    // id \0 project \0 filename \0 sha256: the digest may hold NULs, so it is cut from the end.
    const auto sha = key.size() > 32 ? keys::sha_of(key.substr(key.size() - 32)) : std::nullopt;
    const auto names = key.substr(0, key.size() > 33 ? key.size() - 33 : 0);
    const auto first = names.find('\0');
    const auto second = first == std::string_view::npos ? first : names.find('\0', first + 1);
    if (!sha || second == std::string_view::npos || key[key.size() - 33] != '\0') {
      throw_corrupt(m_table, key);
    }
    out.push_back(AdvisoryBlock{std::string(names.substr(0, first)), std::string(names.substr(first + 1, second - first - 1)),
                                std::string(names.substr(second + 1)), *sha, std::string(value)});
  });
  return out;
}

void
AdvisoryBlocksTable::put(lmdb::WriteTxn& txn, const AdvisoryBlock& block) const
{
  txn.put(m_table, key(block), block.version);
}

void
AdvisoryBlocksTable::del(lmdb::WriteTxn& txn, const AdvisoryBlock& block) const
{
  txn.del(m_table, key(block));
}

} // namespace airlock::storage
