// The store's schema check and its one migration so far: schema 1 (files, checks and approvals
// bound to filenames) to schema 2 (bound to sha256s).

#include "migration.hpp"

#include "keys.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <map>

namespace airlock::storage {

namespace {

// Schema 1 keyed files and checks by filename and bound approvals to names. Rewrites every
// file and check under its sha256, and binds each approval to the bytes it could have seen:
// the files of its scope first seen at or before it. One transaction: all or nothing.
void
migrate_from_schema_1(lmdb::WriteTxn& txn, const Tables& tables, const Options& options)
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

} // namespace

void
upgrade_schema(const lmdb::Env& env, const Tables& tables, const Options& options)
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
    migrate_from_schema_1(txn, tables, options);
  }
  tables.meta.put_schema(txn, keys::k_schema_version);
  txn.commit();
}

} // namespace airlock::storage
