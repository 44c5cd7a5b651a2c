#pragma once

#include <airlock/storage/records.hpp>
#include <airlock/util/error.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

// Wheel inspection without I/O: the caller fetches byte ranges (the file's tail, then the
// local records of the startup files and RECORD) and these functions take them apart. Every function is total:
// any input gives a result or an error, never a crash. The zip reading mirrors CPython's
// zipfile (what pip installs with) and refuses, as an error, whatever another zip reader
// could read differently, so a wheel cannot show Airlock one file list and pip another.
namespace airlock::policy {

// One file of a zip archive, as its central directory describes it.
struct ZipEntry
{
  std::string name;                     // as stored: '/'-separated, checked for path tricks
  std::uint64_t local_header_offset = 0;
  std::uint64_t end_offset = 0;         // where the next entry or the central directory starts
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint16_t method = 0;             // 0 stored, 8 deflate; others are listed but not extracted
  std::uint32_t crc32 = 0;

  friend bool operator==(const ZipEntry&, const ZipEntry&) = default;
};

struct CentralDirectoryLocation
{
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint64_t entries = 0;

  friend bool operator==(const CentralDirectoryLocation&, const CentralDirectoryLocation&) = default;
};

// Returns how many bytes from the end of a file of `file_size` bytes locate_central_directory
// needs: the end record, the longest comment and the Zip64 records (or the whole file).
std::uint64_t tail_read_size(std::uint64_t file_size);

// Finds the central directory from `tail`, the last bytes of the file (tail_read_size of them).
// Errors on a missing or ambiguous end record, multi-disk archives, a Zip64 record that is not
// where its locator says, and a directory that is not within the file just before the end
// record. When where.offset >= file_size - tail.size(), the directory is already in `tail`.
[[nodiscard]] Expected<CentralDirectoryLocation> locate_central_directory(std::string_view tail,
                                                                          std::uint64_t file_size);

// Parses the central directory: `bytes` start at where.offset and hold at least where.size
// bytes (more are ignored). Errors on a count that disagrees with the directory, more than
// 100,000 entries, names over 4096 bytes, path tricks (naming the entry), duplicate names,
// entries overlapping each other or the directory, encryption, or data before the first entry.
// Entries come back in directory order.
[[nodiscard]] Expected<std::vector<ZipEntry>>
parse_central_directory(std::string_view bytes, const CentralDirectoryLocation& where, std::uint64_t file_size);

// Returns how many bytes from entry.local_header_offset extract_entry needs: the local header,
// its name and extra field (at most 64 KiB each) and the data, never past entry.end_offset.
std::uint64_t local_read_size(const ZipEntry& entry);

// Returns the entry's content; `local_bytes` start at its local header. Supports stored and
// deflate. Errors on content over `max_size`, a compression ratio over 100:1 in an entry over
// 64 KiB (zip bombs), a local header that disagrees with the directory, truncated input, a size
// or CRC-32 mismatch.
[[nodiscard]] Expected<std::string> extract_entry(const ZipEntry& entry, std::string_view local_bytes,
                                                  std::size_t max_size);

// True when site.py would execute a line of this .pth content: a line starting with "import "
// or "import\t". Lines are split as any Python 3 version could (\n, \r, \v, \f, \x1c-\x1e,
// U+0085, U+2028, U+2029) and a UTF-8 BOM is ignored, so the answer errs toward true.
bool pth_has_executable_lines(std::string_view content);

// Returns the names of the entries site.py would process as .pth files once pip installed
// the wheel: *.pth files at the root of site-packages, that is at the wheel root, directly
// under *.data/purelib/ or *.data/platlib/, or under *.data/data/ directly in a directory named
// site-packages or dist-packages. Hidden ones (".x.pth") count: older Pythons read them.
std::vector<std::string> pth_files(const std::vector<ZipEntry>& entries);

// Returns the names of the entries whose content summarize() digests: pth_files() and the
// startup modules site.py imports from the root of site-packages, sitecustomize.py and
// usercustomize.py or their packages' __init__.py.
std::vector<std::string> startup_files(const std::vector<ZipEntry>& entries);

// A file that runs at every Python start, with a digest of what it runs: the record the
// background checks keep (name as installed in site-packages; sha256 "" when unreadable).
using StartupFile = storage::StartupFile;

// What inspection compares between releases. Names are as installed in site-packages, so a
// .pth moved from the root to <name>-<version>.data/purelib/ is the same file.
struct WheelSummary
{
  std::vector<StartupFile> executable_pth; // sorted by name: what runs at every Python start:
                                           // .pth files with an executable line, and
                                           // sitecustomize or usercustomize modules and packages
  std::vector<std::string> top_level;      // sorted: first path segments in site-packages,
                                           // without *.dist-info and *.data

  friend bool operator==(const WheelSummary&, const WheelSummary&) = default;
};

// Summarizes a wheel's entries; `contents` maps startup_files() names (zip entry names) to their
// content. A .pth missing from the map counts as executable with digest "": content Airlock
// could not read must not pass. A package's digest is its __init__.py's; "" without one.
WheelSummary summarize(const std::vector<ZipEntry>& entries, const std::map<std::string, std::string>& contents);

struct WheelFindings
{
  std::vector<std::string> new_executable_pth;     // a reason to hold the release
  std::vector<std::string> changed_executable_pth; // same name, other content: a reason to hold
  std::vector<std::string> new_top_level;          // for the reviewer's information only

  friend bool operator==(const WheelFindings&, const WheelFindings&) = default;
};

// Compares a wheel with the preceding release's (by version). A startup file is new when the
// previous release had no executable file of that name, so a .pth that turned executable
// counts; it changed when its digest differs or its current digest is "" (unknown content
// fails closed). A previous digest of "" compares by name only: baseline records written
// before digests existed have none. With no previous release (nullptr) nothing is new or
// changed (a first-ever release is not held for its startup files) and every top-level name
// is reported.
WheelFindings compare(const WheelSummary& current, const WheelSummary* previous);

// Returns the name of the wheel's RECORD entry: <name>.dist-info/RECORD at the root; an error
// when there is none or more than one .dist-info directory holds one.
[[nodiscard]] Expected<std::string> record_entry(const std::vector<ZipEntry>& entries);

// Checks RECORD (its content, CSV rows "path,hash,size") against the archive: every file entry
// but RECORD, RECORD.jws and RECORD.p7s is listed once with a hash, every listed path is an
// entry, a listed size is the entry's, and the sha256 hash of each entry in `contents` (entry
// name -> content) matches it; sha384 and sha512 are accepted unverified. Returns an error
// naming the first disagreement, a malformed row or more than 100,000 rows.
[[nodiscard]] Expected<void> check_record(const std::vector<ZipEntry>& entries, std::string_view record,
                                          const std::map<std::string, std::string>& contents);

} // namespace airlock::policy
