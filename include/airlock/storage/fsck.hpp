#pragma once

#include <airlock/storage/store.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::storage {

enum class Repair { no, yes };

// What fsck can find wrong with a data directory.
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

// "corrupt-blob", "orphan-blob", ...: the names the CLI prints.
std::string_view to_string(FsckIssue issue);
// True for what a crash legitimately leaves behind (orphan blobs, temp files): reported, but
// the store is sound.
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

  // True when every problem is harmless or was repaired.
  bool ok() const;
};

// Checks the data directory `options.path`: every blob file hashes to its name (streamed,
// in bounded memory), sits at its address and is indexed with its size; every index entry has
// its file; every record decodes; files and files_by_sha256 agree. Repair::yes drops index
// entries of missing and corrupt blobs, removes corrupt blob files, indexes intact orphans,
// removes temp files and fixes files_by_sha256; it never touches decisions, audit or tokens.
// Opens the LMDB index itself, so no Store on this path may be open in this process; another
// process (a running server) may be, but Repair::yes must not run beside one (it removes the
// temp files of downloads in flight). Throws StorageError when there is no store at the path
// or LMDB fails.
FsckReport fsck(const Options& options, Repair repair);

} // namespace airlock::storage
