#pragma once

// Zip reading without I/O: the caller fetches byte ranges (the file's tail, then the local
// records of the entries it wants) and these functions take them apart.

#include <airlock/util/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// Every function is total: any input gives a result or an error, never a crash. The reading
// mirrors CPython's zipfile (what pip installs with) and refuses, as an error, whatever another
// zip reader could read differently, so a wheel cannot show Airlock one file list and pip another.
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

// How many entries the directory functions accept unless told otherwise: ample for a wheel.
inline constexpr std::uint64_t k_zip_default_max_entries = 100'000;

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
// where its locator says, a directory that is not within the file just before the end record,
// and more than `max_entries` entries. When where.offset >= file_size - tail.size(), the
// directory is already in `tail`.
[[nodiscard]] Expected<CentralDirectoryLocation>
locate_central_directory(std::string_view tail, std::uint64_t file_size,
                         std::uint64_t max_entries = k_zip_default_max_entries);

// Parses the central directory: `bytes` start at where.offset and hold at least where.size
// bytes (more are ignored). Errors on a count that disagrees with the directory, more than
// `max_entries` entries, names over 4096 bytes, path tricks (naming the entry), duplicate names,
// entries overlapping each other or the directory, encryption, or data before the first entry.
// Entries come back in directory order.
[[nodiscard]] Expected<std::vector<ZipEntry>>
parse_central_directory(std::string_view bytes, const CentralDirectoryLocation& where, std::uint64_t file_size,
                        std::uint64_t max_entries = k_zip_default_max_entries);

// Returns how many bytes from entry.local_header_offset extract_entry needs: the local header,
// its name and extra field (at most 64 KiB each) and the data, never past entry.end_offset.
std::uint64_t local_read_size(const ZipEntry& entry);

// Returns the entry's content; `local_bytes` start at its local header. Supports stored and
// deflate. Errors on content over `max_size`, a compression ratio over 100:1 in an entry over
// 64 KiB (zip bombs), a local header that disagrees with the directory, truncated input, a size
// or CRC-32 mismatch.
[[nodiscard]] Expected<std::string> extract_entry(const ZipEntry& entry, std::string_view local_bytes,
                                                  std::size_t max_size);

} // namespace airlock::policy
