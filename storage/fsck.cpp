// fsck: checks a data directory's index against its blob files, reports each problem with the
// repair it needs, and applies the safe repairs. It reads the tables raw to report, not throw.

#include <airlock/storage/fsck.hpp>

#include <airlock/storage/store.hpp>
#include <airlock/util/fs.hpp>

#include "codec.hpp"
#include "keys.hpp"
#include "lmdb.hpp"
#include "tables.hpp"

#include <fmt/core.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <system_error>
#include <utility>

namespace airlock::storage {

namespace {

namespace fs = std::filesystem;

// Blob files are hashed through one buffer of this size, whatever their size.
constexpr std::size_t k_hash_chunk = 1 << 20;

std::string
where(const lmdb::Table& table, std::string_view key)
{
  return fmt::format("{} key {}", table.name, lmdb::describe_key(key));
}

bool
is_lower_hex(std::string_view text, std::size_t size)
{
  return text.size() == size
         && std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// A blob file as found on disk.
struct DiskBlob
{
  Sha256 sha256;
  std::uint64_t size = 0;
  Time mtime{};
};

struct Hashed
{
  Sha256 digest;
  std::uint64_t size = 0;
  Time mtime{};
};

// Hashes a regular file through `buffer`; never follows a symlink.
Expected<Hashed>
hash_file(const fs::path& path, std::vector<char>& buffer)
{
  const Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    return make_unexpected(fmt::format("cannot open: {}", errno_text()));
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) {
    return make_unexpected(fmt::format("cannot stat: {}", errno_text()));
  }
  Sha256Hasher hasher;
  Hashed out;
  out.mtime = Time{Seconds{st.st_mtim.tv_sec}};
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_unexpected(fmt::format("cannot read: {}", errno_text()));
    }
    if (n == 0) {
      break;
    }
    hasher.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    out.size += static_cast<std::uint64_t>(n);
  }
  out.digest = hasher.finish();
  return out;
}

// fsyncs a file, then its directory, so that both its bytes and its name are durable.
Expected<void>
sync_file_and_dir(const fs::path& path)
{
  const Fd fd(::open(path.c_str(), O_NOFOLLOW | O_RDONLY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) {
    return make_unexpected(fmt::format("cannot fsync {}: {}", path.string(), errno_text()));
  }
  return fsync_dir(path.parent_path());
}

// Sorted names of a directory's entries with their types (symlinks not followed).
Expected<std::vector<std::pair<std::string, fs::file_type>>>
list_dir(const fs::path& dir)
{
  std::vector<std::pair<std::string, fs::file_type>> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  while (!ec && it != fs::directory_iterator()) {
    const auto type = it->symlink_status(ec).type();
    if (ec == std::errc::no_such_file_or_directory) {
      ec.clear(); // gone since the directory was read: a running server committed a download
    } else if (ec) {
      break;
    } else {
      out.emplace_back(it->path().filename().string(), type);
    }
    it.increment(ec);
  }
  if (ec) {
    return make_unexpected(fmt::format("cannot list: {}", ec.message()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// One fsck run. Problems are recorded as found, each with the repair it needs: index fixes
// run in one write transaction, then files are removed, so the index never names a blob
// that fsck is about to delete.
class Checker
{
public:
  Checker(const Options& options, Repair repair)
    : m_data(options.path),
      m_blob_root(options.path / "blobs"),
      m_repair(repair),
      m_env(options.path / "index", options.map_size, k_max_tables),
      m_tables(open_table_handles(m_env))
  {
  }

  FsckReport
  run()
  {
    // The index first, then the files: a server committing meanwhile renames a blob before
    // indexing it, so it can only show up as an orphan, never as an entry without its file.
    std::vector<std::pair<Sha256, BlobRecord>> indexed;
    {
      const lmdb::ReadTxn txn(m_env);
      indexed = check_blob_index(txn);
      check_files(txn);
      check_kept_tables(txn);
    }
    std::vector<DiskBlob> on_disk;
    std::vector<Sha256> corrupt;
    walk_blobs(on_disk, corrupt);
    compare(indexed, on_disk, corrupt);
    if (m_repair == Repair::yes) {
      apply_repairs();
    }
    return std::move(m_report);
  }

private:
  using IndexFix = std::function<void(lmdb::WriteTxn&)>;

  std::size_t
  add(FsckIssue issue, std::string where_text, std::string detail, bool repairable)
  {
    m_report.problems.push_back(FsckProblem{issue, std::move(where_text), std::move(detail), repairable, false});
    return m_report.problems.size() - 1;
  }

  std::string
  relative(const fs::path& path) const
  {
    return path.lexically_relative(m_data).string();
  }

  // --- the index ------------------------------------------------------------------------

  std::vector<std::pair<Sha256, BlobRecord>>
  check_blob_index(const lmdb::Txn& txn)
  {
    std::vector<std::pair<Sha256, BlobRecord>> out;
    txn.for_each(m_tables.blobs, "", [&](std::string_view key, std::string_view value) {
      ++m_report.index_entries;
      const auto sha256 = keys::sha_of(key);
      auto record = codec::decode_blob(value);
      if (!sha256 || !record) {
        // The index of blobs is derived from the files: dropping the entry loses nothing, and
        // an intact file is indexed again as an orphan.
        const auto problem = add(FsckIssue::bad_record, where(m_tables.blobs, key),
                                 !sha256 ? "key is not a sha256; --repair drops it"
                                         : "value does not decode; --repair drops it (and indexes the file again)",
                                 true);
        m_index_fixes.emplace_back(problem, [this, k = std::string(key)](lmdb::WriteTxn& w) {
          w.del(m_tables.blobs, k);
        });
        return;
      }
      out.emplace_back(*sha256, *record);
    });
    return out;
  }

  void
  check_files(const lmdb::Txn& txn)
  {
    txn.for_each(m_tables.projects, "", [&](std::string_view key, std::string_view value) {
      const auto record = codec::decode_project(value);
      if (!record || record->name != key) {
        add(FsckIssue::bad_record, where(m_tables.projects, key),
            std::string(record ? "names another project" : "value does not decode")
              + "; not repaired: restore the index from a backup",
            false);
      }
    });

    txn.for_each(m_tables.files, "", [&](std::string_view key, std::string_view value) {
      ++m_report.file_records;
      const auto record = codec::decode_file(value);
      if (!record || key != keys::file(record->project, record->filename, record->sha256)) {
        add(FsckIssue::bad_record, where(m_tables.files, key),
            std::string(record ? "names another file" : "value does not decode")
              + "; not repaired: restore the index from a backup",
            false);
        return;
      }
      bool indexed = false;
      txn.for_each(m_tables.files_by_sha256, keys::sha(record->sha256), [&](std::string_view row_key, std::string_view row) {
        indexed = indexed || (row_key.size() == sizeof(Sha256::bytes) && row == key);
      });
      if (!indexed) {
        const auto problem = add(FsckIssue::missing_row, where(m_tables.files, key),
                                 fmt::format("no {} row for its sha256 {}; --repair adds it",
                                             m_tables.files_by_sha256.name, record->sha256.hex()),
                                 true);
        m_index_fixes.emplace_back(problem,
                                   [this, sha = record->sha256, k = std::string(key)](lmdb::WriteTxn& w) {
                                     w.put_dup(m_tables.files_by_sha256, keys::sha(sha), k);
                                   });
      }
    });

    txn.for_each(m_tables.files_by_sha256, "", [&](std::string_view key, std::string_view row) {
      const auto sha256 = keys::sha_of(key);
      std::string detail;
      if (!sha256) {
        detail = "key is not a sha256";
      } else if (const auto value = txn.get(m_tables.files, row); !value) {
        detail = fmt::format("names missing file {}", lmdb::describe_key(row));
      } else if (const auto record = codec::decode_file(*value); record && record->sha256 != *sha256) {
        detail = fmt::format("names file {}, whose sha256 is {}", lmdb::describe_key(row), record->sha256.hex());
      }
      // A row naming a file record that does not decode was reported with that record.
      if (detail.empty()) {
        return;
      }
      const auto problem = add(FsckIssue::dangling_row, where(m_tables.files_by_sha256, key),
                               detail + "; --repair drops the row", true);
      m_index_fixes.emplace_back(problem, [this, k = std::string(key), r = std::string(row)](lmdb::WriteTxn& w) {
        // Checked again in the write transaction: a listing stored meanwhile may need the row.
        const auto sha = keys::sha_of(k);
        const auto value = w.get(m_tables.files, r);
        const auto record = value ? codec::decode_file(*value) : std::nullopt;
        if (!sha || !record || record->sha256 != *sha) {
          w.del_dup(m_tables.files_by_sha256, k, r);
        }
      });
    });
  }

  // Decisions, the audit log, tokens, snapshots and check results are only read: fsck reports
  // a broken record there and leaves it for a human, since none of it is derived from the
  // blobs or the listings.
  void
  check_kept_tables(const lmdb::Txn& txn)
  {
    const auto report = [&](const lmdb::Table& table, std::string_view key, std::string_view what) {
      add(FsckIssue::bad_record, where(table, key),
          fmt::format("{}; fsck never changes {}: restore the index from a backup", what, table.name), false);
    };
    txn.for_each(m_tables.decisions, "", [&](std::string_view key, std::string_view value) {
      if (!codec::decode_decision(value)) {
        report(m_tables.decisions, key, "value does not decode");
      }
    });
    txn.for_each(m_tables.audit, "", [&](std::string_view key, std::string_view value) {
      if (key.size() != 8) {
        report(m_tables.audit, key, "key is not an 8-byte id");
      } else if (!codec::decode_audit(value)) {
        report(m_tables.audit, key, "value does not decode");
      }
    });
    txn.for_each(m_tables.tokens, "", [&](std::string_view key, std::string_view value) {
      const auto record = codec::decode_token(value);
      if (!record || record->id != key) {
        report(m_tables.tokens, key, record ? "names another token" : "value does not decode");
      }
    });
    txn.for_each(m_tables.snapshots, "", [&](std::string_view key, std::string_view value) {
      const auto record = codec::decode_snapshot(value);
      if (!record || record->name != key) {
        report(m_tables.snapshots, key, record ? "names another snapshot" : "value does not decode");
      }
    });
    txn.for_each(m_tables.snapshot_files, "", [&](std::string_view key, std::string_view value) {
      if (!codec::decode_listing(value)) {
        report(m_tables.snapshot_files, key, "value does not decode");
      }
    });
    txn.for_each(m_tables.checks, "", [&](std::string_view key, std::string_view value) {
      if (!codec::decode_checks(value)) {
        report(m_tables.checks, key, "value does not decode");
      }
    });
  }

  // --- the files ------------------------------------------------------------------------

  void
  misplaced(const fs::path& path, std::string_view why)
  {
    add(FsckIssue::misplaced, relative(path), fmt::format("{}; not repaired: move it out of blobs/", why), false);
  }

  void
  unreadable(const fs::path& path, const std::string& why)
  {
    add(FsckIssue::unreadable, relative(path), why + "; not repaired", false);
  }

  void
  walk_blobs(std::vector<DiskBlob>& on_disk, std::vector<Sha256>& corrupt)
  {
    std::error_code ec;
    if (!fs::exists(m_blob_root, ec)) {
      return; // every index entry is then missing its file, and says so
    }
    std::vector<char> buffer(k_hash_chunk);
    const auto top = list_dir(m_blob_root);
    if (!top) {
      unreadable(m_blob_root, top.error());
      return;
    }
    for (const auto& [outer, outer_type] : *top) {
      const auto outer_path = m_blob_root / outer;
      if (outer == "tmp" && outer_type == fs::file_type::directory) {
        check_temp(outer_path);
        continue;
      }
      if (!is_lower_hex(outer, 2) || outer_type != fs::file_type::directory) {
        misplaced(outer_path, "not a blob directory");
        continue;
      }
      const auto middle = list_dir(outer_path);
      if (!middle) {
        unreadable(outer_path, middle.error());
        continue;
      }
      for (const auto& [inner, inner_type] : *middle) {
        const auto inner_path = outer_path / inner;
        if (!is_lower_hex(inner, 2) || inner_type != fs::file_type::directory) {
          misplaced(inner_path, "not a blob directory");
          continue;
        }
        const auto names = list_dir(inner_path);
        if (!names) {
          unreadable(inner_path, names.error());
          continue;
        }
        for (const auto& [name, type] : *names) {
          const auto path = inner_path / name;
          if (!is_lower_hex(name, 64)) {
            misplaced(path, "not named by a sha256");
          } else if (name.compare(0, 2, outer) != 0 || name.compare(2, 2, inner) != 0) {
            misplaced(path, "in the wrong directory for its name");
          } else if (type != fs::file_type::regular) {
            misplaced(path, "not a regular file");
          } else {
            check_blob(path, *Sha256::from_hex(name), buffer, on_disk, corrupt);
          }
        }
      }
    }
  }

  void
  check_blob(const fs::path& path, const Sha256& name, std::vector<char>& buffer, std::vector<DiskBlob>& on_disk,
             std::vector<Sha256>& corrupt)
  {
    const auto hashed = hash_file(path, buffer);
    if (!hashed) {
      unreadable(path, hashed.error());
      return;
    }
    ++m_report.blob_files;
    m_report.bytes_hashed += hashed->size;
    if (hashed->digest == name) {
      on_disk.push_back(DiskBlob{name, hashed->size, hashed->mtime});
      return;
    }
    corrupt.push_back(name);
    const auto problem = add(FsckIssue::corrupt_blob, relative(path),
                             fmt::format("content hashes to {}; --repair removes the file and its index entry",
                                         hashed->digest.hex()),
                             true);
    m_index_fixes.emplace_back(problem, [this, name](lmdb::WriteTxn& w) { w.del(m_tables.blobs, keys::sha(name)); });
    m_removals.emplace_back(problem, path);
  }

  void
  check_temp(const fs::path& dir)
  {
    const auto names = list_dir(dir);
    if (!names) {
      unreadable(dir, names.error());
      return;
    }
    for (const auto& [name, type] : *names) {
      const auto path = dir / name;
      if (type != fs::file_type::regular) {
        misplaced(path, "not a regular file");
        continue;
      }
      const auto problem = add(FsckIssue::temp_file, relative(path),
                               "an unfinished download (harmless; in flight if a server is running); "
                               "--repair removes it",
                               true);
      m_removals.emplace_back(problem, path);
    }
  }

  // --- index against files ---------------------------------------------------------------

  void
  compare(std::vector<std::pair<Sha256, BlobRecord>>& indexed, std::vector<DiskBlob>& on_disk,
          std::vector<Sha256>& corrupt)
  {
    std::sort(indexed.begin(), indexed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::sort(on_disk.begin(), on_disk.end(), [](const auto& a, const auto& b) { return a.sha256 < b.sha256; });
    std::sort(corrupt.begin(), corrupt.end());

    for (const auto& [sha256, record] : indexed) {
      if (std::binary_search(corrupt.begin(), corrupt.end(), sha256)) {
        continue; // reported with its file
      }
      const auto disk = std::lower_bound(on_disk.begin(), on_disk.end(), sha256,
                                         [](const DiskBlob& blob, const Sha256& sha) { return blob.sha256 < sha; });
      const std::string key_text = where(m_tables.blobs, keys::sha(sha256));
      if (disk == on_disk.end() || disk->sha256 != sha256) {
        const auto problem = add(FsckIssue::missing_blob, key_text,
                                 fmt::format("no intact file {}; --repair drops the entry (the next request "
                                             "downloads the file again)",
                                             relative(blob_path(sha256))),
                                 true);
        m_index_fixes.emplace_back(problem, [this, sha = sha256](lmdb::WriteTxn& w) {
          // A server may have stored the file meanwhile (it renames before it indexes).
          struct stat st{};
          if (::lstat(blob_path(sha).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
            w.del(m_tables.blobs, keys::sha(sha));
          }
        });
      } else if (disk->size != record.size) {
        const auto problem =
          add(FsckIssue::size_mismatch, key_text,
              fmt::format("records {} bytes, the intact file has {}; --repair records {}", record.size, disk->size,
                          disk->size),
              true);
        m_index_fixes.emplace_back(problem, [this, sha = sha256, fixed = BlobRecord{disk->size, record.stored_at}](
                                              lmdb::WriteTxn& w) {
          w.put(m_tables.blobs, keys::sha(sha), codec::encode(fixed));
        });
      }
    }

    for (const auto& blob : on_disk) {
      const auto entry = std::lower_bound(indexed.begin(), indexed.end(), blob.sha256,
                                          [](const auto& e, const Sha256& sha) { return e.first < sha; });
      if (entry != indexed.end() && entry->first == blob.sha256) {
        continue;
      }
      // Indexed rather than removed: its bytes were hashed before it was renamed into place
      // and again just now, the proxy serves it already, and removing it costs a download.
      const auto problem = add(FsckIssue::orphan_blob, relative(blob_path(blob.sha256)),
                               "intact but not indexed (harmless: a crash between storing and indexing); "
                               "--repair indexes it",
                               true);
      m_orphans.emplace_back(problem, blob);
    }
  }

  fs::path
  blob_path(const Sha256& sha256) const
  {
    const std::string hex = sha256.hex();
    return m_blob_root / hex.substr(0, 2) / hex.substr(2, 2) / hex;
  }

  // --- repair -----------------------------------------------------------------------------

  void
  apply_repairs()
  {
    // The crash that made an orphan may have come before its rename was fsynced: make the file
    // durable under its name before the index names it.
    for (const auto& [problem, blob] : m_orphans) {
      if (auto synced = sync_file_and_dir(blob_path(blob.sha256)); !synced) {
        m_report.problems[problem].detail += fmt::format(" ({})", synced.error());
        continue;
      }
      m_index_fixes.emplace_back(problem, [this, orphan = blob](lmdb::WriteTxn& w) {
        if (!w.get(m_tables.blobs, keys::sha(orphan.sha256))) {
          w.put(m_tables.blobs, keys::sha(orphan.sha256), codec::encode(BlobRecord{orphan.size, orphan.mtime}));
        }
      });
    }
    if (!m_index_fixes.empty()) {
      lmdb::WriteTxn txn(m_env);
      for (const auto& [problem, fix] : m_index_fixes) {
        fix(txn);
      }
      txn.commit();
      for (const auto& [problem, fix] : m_index_fixes) {
        m_report.problems[problem].repaired = true;
      }
    }
    for (const auto& [problem, path] : m_removals) {
      auto& p = m_report.problems[problem];
      if (::unlink(path.c_str()) == 0 || errno == ENOENT) {
        p.repaired = true;
      } else {
        p.repaired = false;
        p.detail += fmt::format(" (cannot remove it: {})", errno_text());
      }
    }
  }

  fs::path m_data;
  fs::path m_blob_root;
  Repair m_repair;
  lmdb::Env m_env;
  TableHandles m_tables;
  FsckReport m_report;
  std::vector<std::pair<std::size_t, IndexFix>> m_index_fixes;
  std::vector<std::pair<std::size_t, fs::path>> m_removals;
  std::vector<std::pair<std::size_t, DiskBlob>> m_orphans;
};

} // namespace

std::string_view
to_string(FsckIssue issue)
{
  switch (issue) {
  case FsckIssue::corrupt_blob:
    return "corrupt-blob";
  case FsckIssue::misplaced:
    return "misplaced";
  case FsckIssue::missing_blob:
    return "missing-blob";
  case FsckIssue::size_mismatch:
    return "size-mismatch";
  case FsckIssue::orphan_blob:
    return "orphan-blob";
  case FsckIssue::temp_file:
    return "temp-file";
  case FsckIssue::dangling_row:
    return "dangling-row";
  case FsckIssue::missing_row:
    return "missing-row";
  case FsckIssue::bad_record:
    return "bad-record";
  case FsckIssue::unreadable:
    return "unreadable";
  }
  return "unknown";
}

bool
is_harmless(FsckIssue issue)
{
  return issue == FsckIssue::orphan_blob || issue == FsckIssue::temp_file;
}

bool
FsckReport::ok() const
{
  return std::all_of(problems.begin(), problems.end(),
                     [](const FsckProblem& p) { return p.repaired || is_harmless(p.issue); });
}

FsckReport
fsck(const Options& options, Repair repair)
{
  // An LMDB environment opened on a wrong path would be created empty and found clean.
  const auto data_file = options.path / "index" / "data.mdb";
  std::error_code ec;
  if (!fs::is_regular_file(data_file, ec)) {
    throw StorageError(fmt::format("no Airlock store at {}: {} is missing", options.path.string(), data_file.string()));
  }
  // Opening the store brings an older schema up to date (or refuses a newer one) first: the
  // checks below know the current key layout only.
  {
    const Store store(options);
  }
  return Checker(options, repair).run();
}

} // namespace airlock::storage
