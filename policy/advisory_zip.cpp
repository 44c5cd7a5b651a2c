// Zips of OSV records (osv.dev's PyPI/all.zip): bounded, one record at a time.

#include <airlock/policy/advisory.hpp>

#include <airlock/policy/zip.hpp>

#include "zip_format.hpp"

#include <fmt/core.h>

namespace airlock::policy {

namespace {

std::string_view
slice(std::string_view bytes, std::uint64_t offset, std::uint64_t size)
{
  return offset > bytes.size() ? std::string_view{} : bytes.substr(static_cast<std::size_t>(offset), size);
}

bool
is_record_name(std::string_view name)
{
  constexpr std::string_view k_suffix = ".json";
  return name.size() > k_suffix.size() && name.ends_with(k_suffix) && !name.ends_with("/.json");
}

} // namespace

Expected<std::vector<std::string>>
for_each_zip_record(std::string_view zip, const std::function<void(std::string_view, std::string_view)>& fn)
{
  const std::uint64_t size = zip.size();
  const auto where = locate_central_directory(slice(zip, size - tail_read_size(size), size), size, k_zip_max_entries);
  if (!where) {
    return make_unexpected(where.error());
  }
  const auto entries = parse_central_directory(slice(zip, where->offset, size), *where, size, k_zip_max_entries);
  if (!entries) {
    return make_unexpected(entries.error());
  }

  std::vector<std::string> skipped;
  // The sizes were checked against the directory's: extract_entry refuses an entry that
  // inflates to anything else, so their sum bounds what is read before any of it is.
  std::uint64_t total = 0;
  std::vector<const ZipEntry*> wanted;
  for (const ZipEntry& entry : *entries) {
    if (!is_record_name(entry.name)) {
      continue;
    }
    if (entry.uncompressed_size > k_zip_max_record_size) {
      skipped.push_back(fmt::format("{}: {} bytes, over the {}-byte limit of a record", entry.name,
                                    entry.uncompressed_size, k_zip_max_record_size));
      continue;
    }
    total += entry.uncompressed_size;
    if (total > k_zip_max_total_size) {
      return make_unexpected(fmt::format("zip records hold over {} bytes uncompressed", k_zip_max_total_size));
    }
    wanted.push_back(&entry);
  }
  for (const ZipEntry* entry : wanted) {
    const auto text = extract_entry(*entry, slice(zip, entry->local_header_offset, local_read_size(*entry)),
                                    k_zip_max_record_size);
    if (!text) {
      // Its messages name the entry already; the list says the name once.
      const std::string prefix = zip::entry_error(entry->name, "");
      std::string_view why = text.error();
      if (why.starts_with(prefix)) {
        why.remove_prefix(prefix.size());
      }
      skipped.push_back(fmt::format("{}: {}", entry->name, why));
      continue;
    }
    fn(entry->name, *text);
  }
  return skipped;
}

Expected<ZipRecords>
read_zip_records(std::string_view zip)
{
  ZipRecords out;
  auto skipped = for_each_zip_record(zip, [&](std::string_view name, std::string_view text) {
    out.records.emplace_back(std::string(name), std::string(text));
  });
  if (!skipped) {
    return make_unexpected(skipped.error());
  }
  out.skipped = std::move(*skipped);
  return out;
}

} // namespace airlock::policy
