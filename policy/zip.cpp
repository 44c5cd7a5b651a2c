// The zip directory reader: finds the central directory from the file's tail and parses it into
// entries, refusing whatever another zip reader (CPython's zipfile, which pip uses) could read differently.

#include <airlock/policy/zip.hpp>

#include <airlock/util/utf8.hpp>

#include "zip_format.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <numeric>
#include <optional>

namespace airlock::policy {

using namespace zip;

namespace {

constexpr std::size_t k_max_name = 4096;

// Strict UTF-8 as Python decodes it: no overlong forms, surrogates or code points past U+10FFFF.
bool
is_valid_utf8(std::string_view text)
{
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const auto length = utf8_sequence_length(text, pos);
    if (length == 0) {
      return false;
    }
    pos += length;
  }
  return true;
}

// Names pip would write outside the install directory, or that another reader (Windows, a
// reader that stops at NUL as CPython does) would take for a different path, are refused.
// Non-ASCII names must be flagged UTF-8: CPython reads unflagged ones as cp437, so their bytes
// would not be the name pip installs.
std::optional<std::string_view>
name_problem(std::string_view name, std::uint16_t flags)
{
  if (name.empty()) {
    return "empty name";
  }
  bool ascii = true;
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte == 0) {
      return "name contains a NUL byte";
    }
    if (byte < 0x20 || byte == 0x7f) {
      return "name contains a control character";
    }
    if (c == '\\') {
      return "name contains a backslash";
    }
    ascii = ascii && byte < 0x80;
  }
  if (!ascii && (flags & k_flag_utf8) == 0) {
    return "non-ASCII name not flagged as UTF-8";
  }
  if (!ascii && !is_valid_utf8(name)) {
    return "name is not valid UTF-8";
  }
  if (name.front() == '/') {
    return "absolute path";
  }
  if (name.size() >= 2 && name[1] == ':') {
    return "path starts with a drive letter";
  }
  // Segments between slashes; a trailing slash (a directory entry) leaves one empty last segment.
  std::size_t start = 0;
  for (;;) {
    const auto slash = name.find('/', start);
    const std::string_view segment = name.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (segment == "..") {
      return "path has a '..' segment";
    }
    if (segment == ".") {
      return "path has a '.' segment";
    }
    if (slash == std::string_view::npos) {
      return std::nullopt;
    }
    if (segment.empty()) {
      return "path has an empty segment";
    }
    start = slash + 1;
  }
}

struct CentralFields
{
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t local_header_offset = 0;
};

// Applies a Zip64 extra field (0x0001) as CPython does: 8-byte values, in this order, for
// each 32-bit field that holds 0xffffffff. Two Zip64 fields are refused as ambiguous.
Expected<void>
apply_extra(std::string_view extra, CentralFields& fields)
{
  bool seen_zip64 = false;
  std::uint64_t pos = 0;
  while (extra.size() - pos >= 4) {
    const std::uint16_t id = read_u16(extra, pos);
    const std::uint16_t length = read_u16(extra, pos + 2);
    if (extra.size() - pos - 4 < length) {
      return make_unexpected(fmt::format("extra field {:#06x} runs past the extra data", id));
    }
    if (id == k_zip64_extra_id) {
      if (seen_zip64) {
        return make_unexpected("two Zip64 extra fields");
      }
      seen_zip64 = true;
      const std::string_view data = extra.substr(pos + 4, length);
      std::uint64_t at = 0;
      for (std::uint64_t* value : {&fields.uncompressed_size, &fields.compressed_size, &fields.local_header_offset}) {
        if (*value != k_u32_sentinel) {
          continue;
        }
        if (data.size() - at < 8) {
          return make_unexpected("Zip64 extra field too short for the sizes it must hold");
        }
        *value = read_u64(data, at);
        at += 8;
      }
    }
    pos += 4 + std::uint64_t{length};
  }
  return {};
}

} // namespace

namespace zip {

std::string
display(std::string_view name)
{
  constexpr std::size_t k_max_shown = 200;
  std::string out;
  for (const char c : name.substr(0, k_max_shown)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  if (name.size() > k_max_shown) {
    out += "...";
  }
  return out;
}

std::string
entry_error(std::string_view name, std::string_view why)
{
  return fmt::format("zip entry \"{}\": {}", display(name), why);
}

} // namespace zip

std::uint64_t
tail_read_size(std::uint64_t file_size)
{
  // CPython searches the last 64 KiB + 22 bytes for the end record; the Zip64 locator and
  // record sit just before it.
  constexpr std::uint64_t k_tail = k_max_comment + 1 + k_eocd_size + k_zip64_locator_size + k_zip64_eocd_size;
  return std::min(file_size, k_tail);
}

Expected<CentralDirectoryLocation>
locate_central_directory(std::string_view tail, std::uint64_t file_size, std::uint64_t max_entries)
{
  if (tail.size() > file_size) {
    return make_unexpected(fmt::format("zip tail of {} bytes is longer than the {}-byte file", tail.size(), file_size));
  }
  if (file_size < k_eocd_size) {
    return make_unexpected(fmt::format("a {}-byte file is too short to be a zip archive", file_size));
  }
  if (tail.size() < k_eocd_size) {
    return make_unexpected(fmt::format("zip tail of {} bytes is too short for the end record", tail.size()));
  }
  const std::uint64_t tail_start = file_size - tail.size();

  // Choose the end record exactly as CPython does, so pip and Airlock read the same directory:
  // the last 22 bytes when they are an end record without comment, else the last signature in
  // the final 64 KiB + 22 bytes.
  std::uint64_t at = tail.size() - k_eocd_size;
  if (read_u32(tail, at) != k_eocd_signature || read_u16(tail, at + 20) != 0) {
    const std::uint64_t window = k_max_comment + 1 + k_eocd_size;
    const std::uint64_t window_start = file_size > window ? file_size - window : 0;
    const auto found = tail.rfind(k_eocd_magic);
    if (found == std::string_view::npos || tail_start + found < window_start) {
      if (tail_start > window_start) {
        return make_unexpected("zip tail too short to find the end of central directory record");
      }
      return make_unexpected("no zip end of central directory record");
    }
    at = found;
  }
  if (tail.size() - at < k_eocd_size) {
    return make_unexpected("zip end of central directory record is truncated");
  }
  // CPython trusts the found record's comment length no further; a record whose comment does
  // not end the file may be a decoy inside another's comment, which other readers would skip.
  const std::uint16_t comment_length = read_u16(tail, at + 20);
  if (tail.size() - at - k_eocd_size != comment_length) {
    return make_unexpected(fmt::format("zip end record's {}-byte comment does not end the file ({} bytes follow)",
                                       comment_length, tail.size() - at - k_eocd_size));
  }
  const std::uint64_t eocd_position = tail_start + at;
  const std::uint16_t disk = read_u16(tail, at + 4);
  const std::uint16_t directory_disk = read_u16(tail, at + 6);
  const std::uint16_t disk_entries = read_u16(tail, at + 8);
  const std::uint16_t total_entries = read_u16(tail, at + 10);
  const std::uint32_t directory_size = read_u32(tail, at + 12);
  const std::uint32_t directory_offset = read_u32(tail, at + 16);

  CentralDirectoryLocation where{directory_offset, directory_size, total_entries};
  std::uint64_t directory_end = eocd_position;
  // CPython uses Zip64 values whenever a locator precedes the end record, whatever the 32-bit
  // fields say; readers that look only on 0xffff... sentinels must find the same numbers.
  const bool room_for_locator = eocd_position >= k_zip64_locator_size;
  if (room_for_locator && at < k_zip64_locator_size) {
    return make_unexpected("zip tail too short to check for a Zip64 locator");
  }
  if (room_for_locator && read_u32(tail, at - k_zip64_locator_size) == k_zip64_locator_signature) {
    const std::uint64_t locator = at - k_zip64_locator_size;
    const std::uint32_t locator_disk = read_u32(tail, locator + 4);
    const std::uint64_t record_offset = read_u64(tail, locator + 8);
    const std::uint32_t disks = read_u32(tail, locator + 16);
    if (locator_disk != 0 || disks > 1) {
      return make_unexpected("zip archives that span disks are not supported");
    }
    if (eocd_position < k_zip64_locator_size + k_zip64_eocd_size) {
      return make_unexpected("Zip64 locator without room for its record");
    }
    const std::uint64_t record_position = eocd_position - k_zip64_locator_size - k_zip64_eocd_size;
    if (locator < k_zip64_eocd_size) {
      return make_unexpected("zip tail too short to read the Zip64 end record");
    }
    // CPython reads the record just before the locator (older versions ignore the locator's
    // offset); refuse a record elsewhere or one with extensible data, which readers disagree on.
    if (record_offset != record_position) {
      return make_unexpected(fmt::format("Zip64 locator points to {}, not to the record before it at {}",
                                         record_offset, record_position));
    }
    const std::uint64_t record = locator - k_zip64_eocd_size;
    if (read_u32(tail, record) != k_zip64_eocd_signature) {
      return make_unexpected("Zip64 locator without a Zip64 end record");
    }
    if (read_u64(tail, record + 4) != k_zip64_eocd_size - 12) {
      return make_unexpected("Zip64 end record with extensible data is not supported");
    }
    if (read_u32(tail, record + 16) != 0 || read_u32(tail, record + 20) != 0) {
      return make_unexpected("zip archives that span disks are not supported");
    }
    const std::uint64_t disk_entries64 = read_u64(tail, record + 24);
    where = {read_u64(tail, record + 48), read_u64(tail, record + 40), read_u64(tail, record + 32)};
    const bool consistent = (disk == 0 || disk == k_u16_sentinel)
                            && (directory_disk == 0 || directory_disk == k_u16_sentinel)
                            && (disk_entries == k_u16_sentinel || disk_entries == disk_entries64)
                            && (total_entries == k_u16_sentinel || total_entries == where.entries)
                            && (directory_size == k_u32_sentinel || directory_size == where.size)
                            && (directory_offset == k_u32_sentinel || directory_offset == where.offset)
                            && disk_entries64 == where.entries;
    if (!consistent) {
      return make_unexpected("zip end record and Zip64 end record disagree");
    }
    directory_end = record_position;
  } else if (disk != 0 || directory_disk != 0 || disk_entries != total_entries) {
    return make_unexpected("zip archives that span disks are not supported");
  }

  if (!fits(where.offset, where.size, file_size)) {
    return make_unexpected(fmt::format("zip central directory (offset {}, {} bytes) lies beyond the {}-byte file",
                                       where.offset, where.size, file_size));
  }
  // CPython finds the directory by its size back from the end record and shifts every offset by
  // the difference; other readers use the offsets as written. Only when they agree is the file
  // read the same way by both.
  if (where.offset + where.size != directory_end) {
    return make_unexpected(fmt::format("zip central directory (offset {}, {} bytes) does not end at the end "
                                       "record ({})",
                                       where.offset, where.size, directory_end));
  }
  if (where.entries > max_entries) {
    return make_unexpected(fmt::format("zip archive lists {} entries, more than {}", where.entries, max_entries));
  }
  if (where.entries > where.size / k_central_header_size) {
    return make_unexpected(fmt::format("zip archive lists {} entries, more than its {}-byte directory holds",
                                       where.entries, where.size));
  }
  return where;
}

Expected<std::vector<ZipEntry>>
parse_central_directory(std::string_view bytes, const CentralDirectoryLocation& where, std::uint64_t file_size,
                        std::uint64_t max_entries)
{
  if (!fits(where.offset, where.size, file_size)) {
    return make_unexpected("zip central directory lies beyond the file");
  }
  if (where.entries > max_entries) {
    return make_unexpected(fmt::format("zip archive lists {} entries, more than {}", where.entries, max_entries));
  }
  if (bytes.size() < where.size) {
    return make_unexpected(fmt::format("zip central directory truncated: {} of {} bytes", bytes.size(), where.size));
  }
  const std::string_view directory = bytes.substr(0, static_cast<std::size_t>(where.size));

  std::vector<ZipEntry> entries;
  entries.reserve(static_cast<std::size_t>(where.entries));
  // Like CPython, walk the directory by its size; the count must then agree.
  std::uint64_t pos = 0;
  while (pos < directory.size()) {
    if (entries.size() == where.entries) {
      return make_unexpected(fmt::format("zip central directory holds more than the {} entries its end record counts",
                                         where.entries));
    }
    if (directory.size() - pos < k_central_header_size || read_u32(directory, pos) != k_central_signature) {
      return make_unexpected(fmt::format("zip central directory entry {} is not a valid header", entries.size()));
    }
    const std::uint16_t flags = read_u16(directory, pos + 8);
    const std::uint16_t method = read_u16(directory, pos + 10);
    const std::uint32_t crc = read_u32(directory, pos + 16);
    CentralFields fields{read_u32(directory, pos + 20), read_u32(directory, pos + 24), read_u32(directory, pos + 42)};
    const std::uint16_t name_length = read_u16(directory, pos + 28);
    const std::uint16_t extra_length = read_u16(directory, pos + 30);
    const std::uint16_t comment_length = read_u16(directory, pos + 32);
    const std::uint16_t start_disk = read_u16(directory, pos + 34);
    const std::uint64_t record_size =
      k_central_header_size + std::uint64_t{name_length} + extra_length + comment_length;
    if (directory.size() - pos < record_size) {
      return make_unexpected(fmt::format("zip central directory entry {} runs past the directory", entries.size()));
    }
    if (name_length > k_max_name) {
      return make_unexpected(fmt::format("zip central directory entry {} has a {}-byte name, over {}", entries.size(),
                                         name_length, k_max_name));
    }
    const std::string_view name = directory.substr(pos + k_central_header_size, name_length);
    if (const auto problem = name_problem(name, flags)) {
      return make_unexpected(entry_error(name, *problem));
    }
    if ((flags & (k_flag_encrypted | k_flag_strong_encryption | k_flag_patched)) != 0) {
      return make_unexpected(entry_error(name, "encrypted or patch data is not supported"));
    }
    if (start_disk != 0) {
      return make_unexpected(entry_error(name, "starts on another disk"));
    }
    const std::string_view extra = directory.substr(pos + k_central_header_size + name_length, extra_length);
    if (const auto applied = apply_extra(extra, fields); !applied) {
      return make_unexpected(entry_error(name, applied.error()));
    }
    // The local header, name and data must come before the directory; the local extra field
    // and data descriptor are unknown here and extract_entry checks them.
    const std::uint64_t minimum_span = k_local_header_size + std::uint64_t{name_length};
    if (!fits(fields.local_header_offset, minimum_span, where.offset)
        || !fits(fields.local_header_offset + minimum_span, fields.compressed_size, where.offset)) {
      return make_unexpected(entry_error(name, fmt::format("data (offset {}, {} bytes) runs past the central directory",
                                                           fields.local_header_offset, fields.compressed_size)));
    }
    entries.push_back(ZipEntry{std::string(name), fields.local_header_offset, 0, fields.compressed_size,
                               fields.uncompressed_size, method, crc});
    pos += record_size;
  }
  if (entries.size() != where.entries) {
    return make_unexpected(fmt::format("zip end record counts {} entries, the central directory holds {}",
                                       where.entries, entries.size()));
  }

  std::vector<std::size_t> order(entries.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return entries[a].name < entries[b].name; });
  for (std::size_t i = 1; i < order.size(); ++i) {
    if (entries[order[i - 1]].name == entries[order[i]].name) {
      return make_unexpected(entry_error(entries[order[i]].name, "listed twice"));
    }
  }

  // Entries sharing bytes are how overlapping zip bombs and hidden content work; a prefix before
  // the first entry is room for a second archive that a reader going front to back would see.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return entries[a].local_header_offset < entries[b].local_header_offset;
  });
  if (!order.empty() && entries[order.front()].local_header_offset != 0) {
    return make_unexpected(fmt::format("zip archive has {} bytes before its first entry",
                                       entries[order.front()].local_header_offset));
  }
  for (std::size_t i = 0; i < order.size(); ++i) {
    ZipEntry& entry = entries[order[i]];
    entry.end_offset = i + 1 < order.size() ? entries[order[i + 1]].local_header_offset : where.offset;
    const std::uint64_t minimum_end =
      entry.local_header_offset + k_local_header_size + entry.name.size() + entry.compressed_size;
    if (minimum_end > entry.end_offset && i + 1 < order.size()) {
      return make_unexpected(fmt::format("zip entries \"{}\" and \"{}\" overlap", display(entry.name),
                                         display(entries[order[i + 1]].name)));
    }
    // Each entry was checked against the directory's offset above; this is the same check.
    if (minimum_end > entry.end_offset) {
      return make_unexpected(entry_error(entry.name, "runs past the central directory"));
    }
  }
  return entries;
}

} // namespace airlock::policy
