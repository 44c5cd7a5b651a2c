#pragma once

// Wheel inspection without I/O over a zip's entries (zip.hpp): which files run at every Python
// start, what changed since the previous release, and whether RECORD matches the archive.

#include <airlock/policy/zip.hpp>
#include <airlock/storage/records.hpp>
#include <airlock/util/error.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

// Every function is total: any input gives a result or an error, never a crash.
namespace airlock::policy {

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
