#include <airlock/policy/wheel.hpp>

#include <airlock/util/assert.hpp>
#include <airlock/util/base64.hpp>
#include <airlock/util/sha256.hpp>

#include <fmt/core.h>
// Makes z_stream::next_in a pointer to const, so input is never cast from const.
#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <functional>
#include <array>
#include <memory>
#include <numeric>
#include <optional>
#include <set>

namespace airlock::policy {

namespace {

constexpr std::uint32_t k_eocd_signature = 0x06054b50;
constexpr std::uint32_t k_zip64_locator_signature = 0x07064b50;
constexpr std::uint32_t k_zip64_eocd_signature = 0x06064b50;
constexpr std::uint32_t k_central_signature = 0x02014b50;
constexpr std::uint32_t k_local_signature = 0x04034b50;
constexpr std::string_view k_eocd_magic{"PK\x05\x06", 4};

constexpr std::uint64_t k_eocd_size = 22;
constexpr std::uint64_t k_zip64_locator_size = 20;
constexpr std::uint64_t k_zip64_eocd_size = 56;
constexpr std::uint64_t k_central_header_size = 46;
constexpr std::uint64_t k_local_header_size = 30;
constexpr std::uint64_t k_max_comment = 0xffff;
constexpr std::uint64_t k_max_local_name_and_extra = 2 * 0xffff;

constexpr std::uint64_t k_max_entries = 100'000;
constexpr std::size_t k_max_name = 4096;
// Deflate reaches about 1000:1 on runs of one byte; real .pth files and sources stay far below
// 100:1. Small entries are exempt: their ratio says nothing and their cost is nothing.
constexpr std::uint64_t k_max_ratio = 100;
constexpr std::uint64_t k_ratio_exempt_size = 64 * 1024;
// zlib counts in uInt; feed it at most this much at a time.
constexpr std::size_t k_zlib_chunk = std::size_t{1} << 30;

constexpr std::uint16_t k_flag_encrypted = 0x0001;
constexpr std::uint16_t k_flag_data_descriptor = 0x0008;
constexpr std::uint16_t k_flag_patched = 0x0020;
constexpr std::uint16_t k_flag_strong_encryption = 0x0040;
constexpr std::uint16_t k_flag_utf8 = 0x0800;

constexpr std::uint16_t k_zip64_extra_id = 0x0001;
constexpr std::uint16_t k_u16_sentinel = 0xffff;
constexpr std::uint32_t k_u32_sentinel = 0xffffffff;

constexpr std::uint16_t k_method_stored = 0;
constexpr std::uint16_t k_method_deflate = 8;

// Readers over bounds the caller has checked: reading past them is a bug in this file.
std::uint16_t
read_u16(std::string_view bytes, std::uint64_t pos)
{
  AIRLOCK_ASSERT(pos <= bytes.size() && bytes.size() - pos >= 2);
  const auto byte = [&](std::uint64_t i) { return static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[i])); };
  return static_cast<std::uint16_t>(byte(pos) | (byte(pos + 1) << 8));
}

std::uint32_t
read_u32(std::string_view bytes, std::uint64_t pos)
{
  return read_u16(bytes, pos) | (std::uint32_t{read_u16(bytes, pos + 2)} << 16);
}

std::uint64_t
read_u64(std::string_view bytes, std::uint64_t pos)
{
  return read_u32(bytes, pos) | (std::uint64_t{read_u32(bytes, pos + 4)} << 32);
}

// True when [offset, offset + size) lies within [0, limit), without overflowing.
bool
fits(std::uint64_t offset, std::uint64_t size, std::uint64_t limit)
{
  return offset <= limit && size <= limit - offset;
}

bool
ends_with(std::string_view text, std::string_view suffix)
{
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Entry names come from upstream bytes; messages show them escaped and bounded.
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

// Strict UTF-8 as Python decodes it: no overlong forms, surrogates or code points past U+10FFFF.
bool
is_valid_utf8(std::string_view text)
{
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
      code = lead & 0x1fu;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      code = lead & 0x0fu;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      code = lead & 0x07u;
    } else {
      return false;
    }
    if (text.size() - i < length) {
      return false;
    }
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0u) != 0x80u) {
        return false;
      }
      code = (code << 6) | (next & 0x3fu);
    }
    const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
    if (overlong || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) {
      return false;
    }
    i += length;
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

// Where pip installs an entry, relative to site-packages; nullopt for the other schemes
// (scripts, headers, data outside a site-packages directory) and for malformed .data paths.
std::optional<std::string_view>
site_packages_path(std::string_view name)
{
  const auto slash = name.find('/');
  if (slash == std::string_view::npos || !ends_with(name.substr(0, slash), ".data")) {
    return name;
  }
  // pip: every top-level *.data directory holds <scheme>/<path>.
  const std::string_view rest = name.substr(slash + 1);
  const auto scheme_end = rest.find('/');
  if (scheme_end == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view scheme = rest.substr(0, scheme_end);
  const std::string_view path = rest.substr(scheme_end + 1);
  if (scheme == "purelib" || scheme == "platlib") {
    return path;
  }
  if (scheme != "data") {
    return std::nullopt;
  }
  // The data scheme is the environment's prefix, so data/lib/python3.12/site-packages/x.pth
  // lands in site-packages (Lib/site-packages on Windows, dist-packages on Debian). Taking the
  // last such directory errs toward finding a .pth at its root.
  std::optional<std::string_view> inside;
  std::size_t start = 0;
  while (start < path.size()) {
    const auto end = path.find('/', start);
    if (end == std::string_view::npos) {
      break;
    }
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "site-packages" || segment == "dist-packages") {
      inside = path.substr(end + 1);
    }
    start = end + 1;
  }
  return inside;
}

// site.py reads every name ending in ".pth" at the root of a site directory, case-sensitively
// and, in older Python versions, including hidden ones (".x.pth").
bool
is_root_pth(std::string_view entry_name, std::string_view installed)
{
  return !ends_with(entry_name, "/") && installed.find('/') == std::string_view::npos && ends_with(installed, ".pth");
}

// site.py imports the modules sitecustomize and usercustomize at every start when they are
// importable: a .py, .pyc or extension module file, or a package, at the root of site-packages.
bool
is_startup_module(std::string_view top_level)
{
  for (const std::string_view module : {std::string_view("sitecustomize"), std::string_view("usercustomize")}) {
    if (top_level.starts_with(module)
        && (top_level.size() == module.size() || top_level[module.size()] == '.')) {
      return true;
    }
  }
  return false;
}

// The startup modules whose source startup_files() offers to digest: the module's .py file or
// the package's __init__.py, at the root of site-packages. Compiled ones are digested only
// when the caller reads them anyway.
bool
is_startup_source(std::string_view installed)
{
  for (const std::string_view path : {"sitecustomize.py", "usercustomize.py", "sitecustomize/__init__.py",
                                      "usercustomize/__init__.py"}) {
    if (installed == path) {
      return true;
    }
  }
  return false;
}

constexpr std::size_t k_max_record_rows = 100'000;

struct RecordRow
{
  std::string path;
  std::string hash;
  std::string size;
};

// Parses RECORD as Python's csv module writes it: ',' separates fields, a field that holds ','
// or '"' is quoted with '"' doubled inside, and rows end in \n or \r\n. Anything that csv.writer
// would not write (a stray quote or CR) is refused, since other readers may take it apart
// differently. Empty lines carry no row and are skipped.
Expected<std::vector<RecordRow>>
parse_record(std::string_view text)
{
  std::vector<RecordRow> rows;
  std::size_t pos = 0;
  std::size_t line = 1;
  const auto fail = [&](std::string_view why) { return make_unexpected(fmt::format("RECORD line {}: {}", line, why)); };
  const auto at_row_end = [&] {
    return pos == text.size() || text[pos] == '\n' || text.substr(pos).starts_with("\r\n");
  };
  while (pos < text.size()) {
    if (at_row_end()) {
      pos += text[pos] == '\n' ? 1 : 2;
      ++line;
      continue;
    }
    const std::size_t row_line = line;
    std::vector<std::string> fields;
    for (;;) {
      std::string field;
      if (pos < text.size() && text[pos] == '"') {
        ++pos;
        for (;;) {
          if (pos == text.size()) {
            line = row_line;
            return fail("quoted field does not end");
          }
          if (text[pos] == '"') {
            if (pos + 1 < text.size() && text[pos + 1] == '"') {
              field += '"';
              pos += 2;
              continue;
            }
            ++pos;
            break;
          }
          line += text[pos] == '\n' ? 1 : 0;
          field += text[pos++];
        }
        if (!at_row_end() && text[pos] != ',') {
          return fail("malformed quoted field");
        }
      } else {
        const std::size_t end = std::min(text.find_first_of(",\r\n\"", pos), text.size());
        field = text.substr(pos, end - pos);
        pos = end;
        if (!at_row_end() && text[pos] != ',') {
          return fail(text[pos] == '"' ? "quote inside an unquoted field" : "carriage return without line feed");
        }
      }
      fields.push_back(std::move(field));
      if (fields.size() > 3) {
        return fail("more than 3 fields");
      }
      if (at_row_end()) {
        break;
      }
      ++pos; // the ','
    }
    if (fields.size() != 3) {
      line = row_line;
      return fail(fmt::format("{} fields, not 3", fields.size()));
    }
    if (fields[0].empty()) {
      line = row_line;
      return fail("empty path");
    }
    if (rows.size() == k_max_record_rows) {
      return make_unexpected(fmt::format("RECORD has more than {} rows", k_max_record_rows));
    }
    rows.push_back(RecordRow{std::move(fields[0]), std::move(fields[1]), std::move(fields[2])});
  }
  return rows;
}

// A decimal size without sign or spaces, as csv.writer writes an int; nullopt past 2^64 - 1.
std::optional<std::uint64_t>
parse_size(std::string_view text)
{
  std::uint64_t value = 0;
  if (text.empty() || text.size() > 20) {
    return std::nullopt;
  }
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

// The digest size of a RECORD hash algorithm the wheel spec allows; nullopt for others.
std::optional<std::size_t>
digest_size(std::string_view algorithm)
{
  if (algorithm == "sha256") {
    return 32;
  }
  if (algorithm == "sha384") {
    return 48;
  }
  if (algorithm == "sha512") {
    return 64;
  }
  return std::nullopt;
}

constexpr std::string_view k_urlsafe_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// RECORD hashes are compared as text, so only the canonical encoding of a digest matches it.
std::string
urlsafe_base64(const std::array<std::uint8_t, 32>& bytes)
{
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

bool
is_urlsafe_base64_of(std::string_view text, std::size_t bytes)
{
  return text.size() == (bytes * 8 + 5) / 6
         && text.find_first_not_of(k_urlsafe_alphabet) == std::string_view::npos;
}

struct InflateEnd
{
  void
  operator()(z_stream* stream) const
  {
    inflateEnd(stream);
  }
};

Expected<std::string>
inflate_raw(std::string_view data, std::uint64_t expected_size)
{
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) {
    return make_unexpected("zlib cannot start inflating");
  }
  const std::unique_ptr<z_stream, InflateEnd> guard(&stream);

  // One spare byte shows whether the stream inflates past its declared size.
  std::string out(static_cast<std::size_t>(expected_size) + 1, '\0');
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  for (;;) {
    const std::size_t in_chunk = std::min(data.size() - in_pos, k_zlib_chunk);
    const std::size_t out_chunk = std::min(out.size() - out_pos, k_zlib_chunk);
    stream.next_in = reinterpret_cast<const Bytef*>(data.data() + in_pos);
    stream.avail_in = static_cast<uInt>(in_chunk);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    stream.avail_out = static_cast<uInt>(out_chunk);
    const int rc = inflate(&stream, Z_NO_FLUSH);
    in_pos += in_chunk - stream.avail_in;
    out_pos += out_chunk - stream.avail_out;
    if (out_pos > expected_size) {
      return make_unexpected(fmt::format("inflates past its declared {} bytes", expected_size));
    }
    if (rc == Z_STREAM_END) {
      break;
    }
    if (rc == Z_BUF_ERROR && in_pos == data.size()) {
      return make_unexpected("deflate data ends before the end of its stream");
    }
    if (rc != Z_OK) {
      const char* detail = stream.msg != nullptr ? stream.msg : "no detail";
      return make_unexpected(fmt::format("deflate data cannot be inflated ({})", detail));
    }
  }
  if (in_pos != data.size()) {
    return make_unexpected(fmt::format("{} bytes after the end of the deflate stream", data.size() - in_pos));
  }
  if (out_pos != expected_size) {
    return make_unexpected(fmt::format("inflates to {} bytes, not the declared {}", out_pos, expected_size));
  }
  out.resize(out_pos);
  return out;
}

} // namespace

std::uint64_t
tail_read_size(std::uint64_t file_size)
{
  // CPython searches the last 64 KiB + 22 bytes for the end record; the Zip64 locator and
  // record sit just before it.
  constexpr std::uint64_t k_tail = k_max_comment + 1 + k_eocd_size + k_zip64_locator_size + k_zip64_eocd_size;
  return std::min(file_size, k_tail);
}

Expected<CentralDirectoryLocation>
locate_central_directory(std::string_view tail, std::uint64_t file_size)
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
  if (where.entries > k_max_entries) {
    return make_unexpected(fmt::format("zip archive lists {} entries, more than {}", where.entries, k_max_entries));
  }
  if (where.entries > where.size / k_central_header_size) {
    return make_unexpected(fmt::format("zip archive lists {} entries, more than its {}-byte directory holds",
                                       where.entries, where.size));
  }
  return where;
}

Expected<std::vector<ZipEntry>>
parse_central_directory(std::string_view bytes, const CentralDirectoryLocation& where, std::uint64_t file_size)
{
  if (!fits(where.offset, where.size, file_size)) {
    return make_unexpected("zip central directory lies beyond the file");
  }
  if (where.entries > k_max_entries) {
    return make_unexpected(fmt::format("zip archive lists {} entries, more than {}", where.entries, k_max_entries));
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

std::uint64_t
local_read_size(const ZipEntry& entry)
{
  if (entry.end_offset < entry.local_header_offset) {
    return 0;
  }
  const std::uint64_t span = entry.end_offset - entry.local_header_offset;
  const std::uint64_t headers = k_local_header_size + k_max_local_name_and_extra;
  if (entry.compressed_size > span || span - entry.compressed_size < headers) {
    return span;
  }
  return headers + entry.compressed_size;
}

Expected<std::string>
extract_entry(const ZipEntry& entry, std::string_view local_bytes, std::size_t max_size)
{
  const auto fail = [&](std::string_view why) { return make_unexpected(entry_error(entry.name, why)); };
  if (entry.uncompressed_size > max_size) {
    return fail(fmt::format("{} bytes exceed the {}-byte limit", entry.uncompressed_size, max_size));
  }
  if (entry.uncompressed_size > k_ratio_exempt_size
      && (entry.compressed_size == 0 || entry.uncompressed_size / entry.compressed_size > k_max_ratio)) {
    return fail(fmt::format("compresses {} bytes into {}, past the {}:1 ratio allowed", entry.uncompressed_size,
                            entry.compressed_size, k_max_ratio));
  }
  if (local_bytes.size() < k_local_header_size || read_u32(local_bytes, 0) != k_local_signature) {
    return fail("no local header where the central directory says");
  }
  const std::uint16_t flags = read_u16(local_bytes, 6);
  const std::uint16_t method = read_u16(local_bytes, 8);
  const std::uint32_t crc = read_u32(local_bytes, 14);
  const std::uint32_t compressed = read_u32(local_bytes, 18);
  const std::uint32_t uncompressed = read_u32(local_bytes, 22);
  const std::uint16_t name_length = read_u16(local_bytes, 26);
  const std::uint16_t extra_length = read_u16(local_bytes, 28);
  const std::uint64_t data_start = k_local_header_size + std::uint64_t{name_length} + extra_length;
  if (local_bytes.size() < k_local_header_size + name_length) {
    return fail("local header truncated");
  }
  // Readers that go front to back trust the local header: it must say what the directory says.
  if (local_bytes.substr(k_local_header_size, name_length) != entry.name) {
    const std::string_view local_name = local_bytes.substr(k_local_header_size, name_length);
    return fail(fmt::format("local header names \"{}\"", display(local_name)));
  }
  if (method != entry.method) {
    return fail(fmt::format("local header says method {}, the directory {}", method, entry.method));
  }
  if ((flags & k_flag_data_descriptor) == 0) {
    const bool sizes_agree = (compressed == k_u32_sentinel || compressed == entry.compressed_size)
                             && (uncompressed == k_u32_sentinel || uncompressed == entry.uncompressed_size);
    if (crc != entry.crc32 || !sizes_agree) {
      return fail("local header's CRC-32 or sizes differ from the central directory's");
    }
  }
  if (entry.end_offset < entry.local_header_offset
      || !fits(data_start, entry.compressed_size, entry.end_offset - entry.local_header_offset)) {
    return fail("data runs into the next entry");
  }
  if (!fits(data_start, entry.compressed_size, local_bytes.size())) {
    return fail(fmt::format("local data truncated: {} bytes read, {} needed", local_bytes.size(),
                            data_start + entry.compressed_size));
  }
  const std::string_view data = local_bytes.substr(data_start, entry.compressed_size);

  Expected<std::string> content;
  if (entry.method == k_method_stored) {
    if (entry.compressed_size != entry.uncompressed_size) {
      return fail("stored entry whose sizes differ");
    }
    content = std::string(data);
  } else if (entry.method == k_method_deflate) {
    content = inflate_raw(data, entry.uncompressed_size);
  } else {
    return fail(fmt::format("compression method {} is not supported", entry.method));
  }
  if (!content) {
    return fail(content.error());
  }
  const auto actual_crc = crc32_z(0, reinterpret_cast<const Bytef*>(content->data()), content->size());
  if (actual_crc != entry.crc32) {
    return fail(fmt::format("CRC-32 {:08x} does not match the declared {:08x}", actual_crc, entry.crc32));
  }
  return content;
}

bool
pth_has_executable_lines(std::string_view content)
{
  // Newer site.py decodes with utf-8-sig; older versions kept the BOM, which hid the line.
  if (content.starts_with("\xef\xbb\xbf")) {
    content.remove_prefix(3);
  }
  // Older site.py splits lines as universal newlines do (\n, \r, \r\n); newer ones use
  // str.splitlines(), which adds \v, \f, \x1c-\x1e, U+0085, U+2028 and U+2029, and decodes
  // non-UTF-8 content with the locale encoding (a lone 0x85 is U+0085 in Latin-1). A line
  // start under any of those rules counts. '#' comments and blank lines never start with
  // "import", so they need no rule of their own.
  const auto starts_line = [&](std::size_t i) {
    if (i == 0) {
      return true;
    }
    const auto previous = static_cast<unsigned char>(content[i - 1]);
    constexpr std::array<unsigned char, 8> k_breaks{'\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85};
    if (std::find(k_breaks.begin(), k_breaks.end(), previous) != k_breaks.end()) {
      return true;
    }
    return i >= 3 && (content.substr(i - 3, 3) == "\xe2\x80\xa8" || content.substr(i - 3, 3) == "\xe2\x80\xa9");
  };
  for (std::size_t i = 0; i < content.size(); ++i) {
    if (content[i] == 'i' && starts_line(i)) {
      const std::string_view rest = content.substr(i);
      if (rest.starts_with("import ") || rest.starts_with("import\t")) {
        return true;
      }
    }
  }
  return false;
}

std::vector<std::string>
pth_files(const std::vector<ZipEntry>& entries)
{
  std::vector<std::string> names;
  for (const ZipEntry& entry : entries) {
    const auto installed = site_packages_path(entry.name);
    if (installed && is_root_pth(entry.name, *installed)) {
      names.push_back(entry.name);
    }
  }
  return names;
}

std::vector<std::string>
startup_files(const std::vector<ZipEntry>& entries)
{
  std::vector<std::string> names;
  for (const ZipEntry& entry : entries) {
    const auto installed = site_packages_path(entry.name);
    if (installed && (is_root_pth(entry.name, *installed) || is_startup_source(*installed))) {
      names.push_back(entry.name);
    }
  }
  return names;
}

WheelSummary
summarize(const std::vector<ZipEntry>& entries, const std::map<std::string, std::string>& contents)
{
  // Digests per installed name: a name two entries install to (the root and .data/purelib)
  // has a known digest only when both agree, and a package one only from its __init__.py.
  std::map<std::string, std::vector<std::string>> executable;
  std::set<std::string> top_level;
  const auto digest_of = [&](const std::string& entry_name) -> std::string {
    const auto content = contents.find(entry_name);
    return content == contents.end() ? std::string() : Sha256::of(content->second).hex();
  };
  for (const ZipEntry& entry : entries) {
    const auto installed = site_packages_path(entry.name);
    if (!installed) {
      continue;
    }
    const std::string_view first = installed->substr(0, installed->find('/'));
    if (!first.empty() && !ends_with(first, ".dist-info") && !ends_with(first, ".data")) {
      top_level.emplace(first);
    }
    if (is_root_pth(entry.name, *installed)) {
      const auto content = contents.find(entry.name);
      if (content == contents.end() || pth_has_executable_lines(content->second)) {
        executable[std::string(*installed)].push_back(digest_of(entry.name));
      }
    } else if (is_startup_module(first)) {
      auto& digests = executable[std::string(first)];
      if (first == *installed || is_startup_source(*installed)) {
        digests.push_back(digest_of(entry.name));
      }
    }
  }
  WheelSummary summary;
  for (const auto& [name, digests] : executable) {
    const bool agree =
      !digests.empty() && std::adjacent_find(digests.begin(), digests.end(), std::not_equal_to<>()) == digests.end();
    summary.executable_pth.push_back(StartupFile{name, agree ? digests.front() : std::string()});
  }
  summary.top_level.assign(top_level.begin(), top_level.end());
  return summary;
}

WheelFindings
compare(const WheelSummary& current, const WheelSummary* previous)
{
  WheelFindings findings;
  if (previous == nullptr) {
    findings.new_top_level = current.top_level;
    return findings;
  }
  std::map<std::string_view, std::string_view> old_pth;
  for (const StartupFile& file : previous->executable_pth) {
    old_pth.emplace(file.name, file.sha256);
  }
  const std::set<std::string> old_top(previous->top_level.begin(), previous->top_level.end());
  for (const StartupFile& file : current.executable_pth) {
    const auto old = old_pth.find(file.name);
    if (old == old_pth.end()) {
      findings.new_executable_pth.push_back(file.name);
    } else if (file.sha256.empty() || (!old->second.empty() && old->second != file.sha256)) {
      // An old digest of "" is a baseline recorded before digests existed: only the name is known.
      findings.changed_executable_pth.push_back(file.name);
    }
  }
  for (const std::string& name : current.top_level) {
    if (!old_top.contains(name)) {
      findings.new_top_level.push_back(name);
    }
  }
  return findings;
}

Expected<std::string>
record_entry(const std::vector<ZipEntry>& entries)
{
  std::set<std::string> records;
  for (const ZipEntry& entry : entries) {
    const auto slash = entry.name.find('/');
    if (slash != std::string::npos && ends_with(std::string_view(entry.name).substr(0, slash), ".dist-info")
        && std::string_view(entry.name).substr(slash + 1) == "RECORD") {
      records.insert(entry.name);
    }
  }
  if (records.empty()) {
    return make_unexpected("wheel has no .dist-info/RECORD");
  }
  if (records.size() > 1) {
    const auto second = std::next(records.begin());
    return make_unexpected(fmt::format("wheel has RECORD files in {} .dist-info directories (\"{}\", \"{}\")",
                                       records.size(), display(*records.begin()), display(*second)));
  }
  return *records.begin();
}

Expected<void>
check_record(const std::vector<ZipEntry>& entries, std::string_view record,
             const std::map<std::string, std::string>& contents)
{
  const auto record_name = record_entry(entries);
  if (!record_name) {
    return make_unexpected(record_name.error());
  }
  const auto rows = parse_record(record);
  if (!rows) {
    return make_unexpected(rows.error());
  }
  // RECORD cannot hash itself, and the signatures beside it sign RECORD, so they are not listed.
  const std::string dist_info = record_name->substr(0, record_name->find('/') + 1);
  const std::set<std::string, std::less<>> unlisted = {*record_name, dist_info + "RECORD.jws",
                                                       dist_info + "RECORD.p7s"};
  std::map<std::string_view, const ZipEntry*> by_name;
  for (const ZipEntry& entry : entries) {
    by_name.emplace(entry.name, &entry);
  }

  std::set<std::string_view> listed;
  for (const RecordRow& row : *rows) {
    const std::string shown = display(row.path);
    if (!listed.insert(row.path).second) {
      return make_unexpected(fmt::format("RECORD lists \"{}\" twice", shown));
    }
    const auto found = by_name.find(row.path);
    if (found == by_name.end()) {
      return make_unexpected(fmt::format("RECORD lists \"{}\", which the archive lacks", shown));
    }
    if (!row.size.empty()) {
      const auto size = parse_size(row.size);
      if (!size) {
        return make_unexpected(fmt::format("RECORD size of \"{}\" is not a number", shown));
      }
      if (*size != found->second->uncompressed_size) {
        return make_unexpected(fmt::format("RECORD size of \"{}\" is {}, the archive's {}", shown, *size,
                                           found->second->uncompressed_size));
      }
    }
    if (row.hash.empty()) {
      if (!unlisted.contains(row.path)) {
        return make_unexpected(fmt::format("RECORD has no hash for \"{}\"", shown));
      }
      continue;
    }
    const auto equals = row.hash.find('=');
    const std::string_view algorithm = std::string_view(row.hash).substr(0, equals);
    const std::string_view digest =
      equals == std::string::npos ? std::string_view() : std::string_view(row.hash).substr(equals + 1);
    const auto bytes = digest_size(algorithm);
    if (!bytes) {
      return make_unexpected(
        fmt::format("RECORD hash of \"{}\" uses unknown algorithm \"{}\"", shown, display(algorithm)));
    }
    if (!is_urlsafe_base64_of(digest, *bytes)) {
      return make_unexpected(fmt::format("RECORD hash of \"{}\" is not {} bytes of unpadded urlsafe base64", shown,
                                         *bytes));
    }
    const auto content = contents.find(row.path);
    if (content != contents.end() && algorithm == "sha256"
        && digest != urlsafe_base64(Sha256::of(content->second).bytes)) {
      return make_unexpected(fmt::format("RECORD hash of \"{}\" does not match its content", shown));
    }
  }
  for (const ZipEntry& entry : entries) {
    if (!ends_with(entry.name, "/") && !listed.contains(entry.name) && !unlisted.contains(entry.name)) {
      return make_unexpected(fmt::format("RECORD does not list \"{}\"", display(entry.name)));
    }
  }
  return {};
}

} // namespace airlock::policy
