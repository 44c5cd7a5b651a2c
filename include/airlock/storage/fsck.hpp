#pragma once

// fsck: checks a data directory's index against its blob files and repairs what can be
// rebuilt from them; the problems it finds and the report it returns.

#include <airlock/storage/store.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::storage {

enum class Repair { no, yes };

// What fsck can find wrong with a data directory. Repair::yes removes a corrupt blob file and
// its index entry, drops an entry without its file, records a blob's real size, removes temp
// files, drops dangling rows and adds missing ones, and drops an undecodable `blobs` entry. It
// indexes an intact orphan rather than removing it: the bytes were verified before the rename
// and again by fsck, and the proxy serves them already. It leaves misplaced entries, unreadable
// ones and other undecodable records to a human.
enum class FsckIssue : std::uint8_t {
  corrupt_blob,  // a blob file whose bytes do not hash to its name
  misplaced,     // an entry under blobs/ that is neither a blob at its address nor blobs/tmp
  missing_blob,  // a `blobs` index entry whose file is not there
  size_mismatch, // a `blobs` index entry whose size is not its (intact) file's
  orphan_blob,   // an intact blob file without an index entry: a crash between rename and commit
  temp_file,     // a file in blobs/tmp: a crash mid-download, or a download in flight
  dangling_row,  // a files_by_sha256 row naming no file record, or one with other bytes
  missing_row,   // a file record without its files_by_sha256 row
  bad_record,    // a record that does not decode, or sits under another key
  unreadable,    // an entry fsck could not read (permissions, I/O error)
};

// Returns the name the CLI prints: "corrupt-blob", "orphan-blob", ...
std::string_view to_string(FsckIssue issue);
// Returns true for what a crash legitimately leaves behind (orphan blobs, temp files): it is
// reported, but the store is sound.
bool is_harmless(FsckIssue issue);

struct FsckProblem
{
  FsckIssue issue;
  std::string where;       // a path relative to the data directory, or "table key"
  std::string detail;      // what is wrong and what --repair does (or did) about it
  bool repairable = false; // --repair fixes it
  bool repaired = false;   // --repair fixed it
};

struct FsckReport
{
  std::vector<FsckProblem> problems; // in the order found: index, then blobs/
  std::uint64_t blob_files = 0;      // blob files hashed
  std::uint64_t bytes_hashed = 0;
  std::uint64_t index_entries = 0;   // rows of the `blobs` table
  std::uint64_t file_records = 0;    // rows of the `files` table

  // Returns true when every problem is harmless or was repaired.
  bool ok() const;
};

// Checks the store at `options.path` (what FsckIssue lists; blobs are hashed in bounded
// memory) and, with Repair::yes, fixes what can be rebuilt; decisions, audit, tokens,
// snapshots and check results are only read. Opens the index itself: no Store on the path may
// be open in this process, and Repair::yes must not run beside a server. Throws StorageError
// when there is no store there.
FsckReport fsck(const Options& options, Repair repair);

} // namespace airlock::storage
