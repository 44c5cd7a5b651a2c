// The RECORD check: parses a wheel's RECORD as Python's csv module writes it and checks every
// row against the archive's entries, sizes and sha256 digests.

#include <airlock/policy/wheel.hpp>

#include <airlock/util/base64.hpp>
#include <airlock/util/sha256.hpp>

#include "zip_format.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>

namespace airlock::policy {

using zip::display;

namespace {

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

} // namespace

Expected<std::string>
record_entry(const std::vector<ZipEntry>& entries)
{
  std::set<std::string> records;
  for (const ZipEntry& entry : entries) {
    const auto slash = entry.name.find('/');
    if (slash != std::string::npos && std::string_view(entry.name).substr(0, slash).ends_with(".dist-info")
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
    if (!entry.name.ends_with('/') && !listed.contains(entry.name) && !unlisted.contains(entry.name)) {
      return make_unexpected(fmt::format("RECORD does not list \"{}\"", display(entry.name)));
    }
  }
  return {};
}

} // namespace airlock::policy
