#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// A small zip writer for the policy tests (zlib deflate), with Zip64 records built by hand and
// every offset reported, so a test can damage the bytes on purpose. It writes its own records
// rather than using the reader's code, so a bug on one side cannot hide in both.
namespace airlock::test {

enum class Method { stored, deflate };

struct TestEntry
{
  std::string name;
  std::string content;
  Method method = Method::deflate;
  std::optional<std::uint64_t> declared_size; // written instead of the real size, both headers
  std::optional<std::uint32_t> declared_crc;  // written instead of the real CRC-32, both headers
};

struct ZipOptions
{
  std::string comment;
  std::string prefix; // bytes before the first entry, offsets adjusted as a concatenating tool would
  bool zip64 = false; // every size and offset in Zip64 extra fields, and the Zip64 end records
};

struct BuiltZip
{
  std::string bytes;
  std::vector<std::size_t> local_at;   // each entry's local header
  std::vector<std::size_t> central_at; // each entry's central directory record
  std::size_t directory_at = 0;
  std::size_t directory_size = 0;
  std::size_t zip64_record_at = 0; // zip64 only
  std::size_t locator_at = 0;      // zip64 only
  std::size_t eocd_at = 0;
};

// Appends the low 16, 32 or 64 bits of `value`, little-endian.
void put16(std::string& out, std::uint64_t value);
void put32(std::string& out, std::uint64_t value);
void put64(std::string& out, std::uint64_t value);

// Overwrites 2, 4 or 8 bytes of `bytes` at `at` with the low bits of `value`, little-endian.
void set16(std::string& bytes, std::size_t at, std::uint64_t value);
void set32(std::string& bytes, std::size_t at, std::uint64_t value);
void set64(std::string& bytes, std::size_t at, std::uint64_t value);

// Returns the CRC-32 of `data`, as zip headers record it.
std::uint32_t crc_of(std::string_view data);

// Returns `data` as a raw deflate stream (level 9); fails the calling test if zlib does.
std::string deflate_raw(std::string_view data);

// Appends a Zip64 end record and its locator for a directory of `entries` records, then the end
// record with every count, size and offset at its Zip64 sentinel, and `comment`. The locator
// starts 56 bytes after the Zip64 record and the end record 20 bytes after the locator.
void put_zip64_end(std::string& out, std::uint64_t entries, std::uint64_t directory_size,
                   std::uint64_t directory_at, std::string_view comment = {});

// Returns a zip of `entries` in order, each name flagged UTF-8 when it is not ASCII.
BuiltZip build_zip(const std::vector<TestEntry>& entries, const ZipOptions& options = {});

} // namespace airlock::test
