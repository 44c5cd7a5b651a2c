// Wheel bytes from upstream, read as the background inspection reads them: the tail, the
// central directory, then each entry's local record (all of them here, not only the .pth ones).
// RECORD is checked against the archive too.
// Properties: everything the reader locates lies within the file, extracted content respects
// its limit and the directory's size, and the summary's lists are sorted sets.

#include "fuzz.hpp"

#include <airlock/policy/wheel.hpp>
#include <airlock/policy/zip.hpp>

#include <algorithm>
#include <map>
#include <string>

using namespace airlock::policy;

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view file = airlock::fuzz::as_text(data, size);
  if (file.empty()) {
    return 0;
  }
  const std::uint64_t tail_length = tail_read_size(file.size());
  FUZZ_CHECK(tail_length <= file.size());
  const auto tail = file.substr(file.size() - tail_length);
  const auto where = locate_central_directory(tail, file.size());
  if (!where) {
    return 0;
  }
  FUZZ_CHECK(where->offset <= file.size() && where->size <= file.size() - where->offset);
  const auto entries = parse_central_directory(file.substr(where->offset, where->size), *where, file.size());
  if (!entries) {
    return 0;
  }
  FUZZ_CHECK(entries->size() == where->entries);
  constexpr std::size_t k_max_content = 1 << 20;
  std::map<std::string, std::string> contents;
  const auto startup = startup_files(*entries);
  const auto record = record_entry(*entries);
  std::string record_content;
  for (const auto& entry : *entries) {
    FUZZ_CHECK(entry.local_header_offset <= entry.end_offset && entry.end_offset <= where->offset);
    const std::uint64_t length = local_read_size(entry);
    FUZZ_CHECK(length <= entry.end_offset - entry.local_header_offset);
    const auto content = extract_entry(entry, file.substr(entry.local_header_offset, length), k_max_content);
    if (!content) {
      continue;
    }
    FUZZ_CHECK(content->size() <= k_max_content && content->size() == entry.uncompressed_size);
    (void)pth_has_executable_lines(*content);
    if (std::find(startup.begin(), startup.end(), entry.name) != startup.end()) {
      contents.emplace(entry.name, *content);
    }
    if (record && entry.name == *record) {
      record_content = *content;
    }
  }
  const auto summary = summarize(*entries, contents);
  // Executable: the .pth files and the startup modules (sitecustomize, usercustomize).
  const auto by_name = [](const StartupFile& a, const StartupFile& b) { return a.name < b.name; };
  const auto same_name = [](const StartupFile& a, const StartupFile& b) { return a.name == b.name; };
  FUZZ_CHECK(std::adjacent_find(summary.executable_pth.begin(), summary.executable_pth.end(), same_name)
             == summary.executable_pth.end());
  FUZZ_CHECK(std::is_sorted(summary.executable_pth.begin(), summary.executable_pth.end(), by_name));
  FUZZ_CHECK(std::is_sorted(summary.top_level.begin(), summary.top_level.end()));
  const auto findings = compare(summary, nullptr);
  FUZZ_CHECK(findings.new_executable_pth.empty() && findings.changed_executable_pth.empty());
  // Against itself, only startup files of unknown content are flagged, as changed.
  const auto again = compare(summary, &summary);
  FUZZ_CHECK(again.new_executable_pth.empty() && again.new_top_level.empty());
  if (record) {
    (void)check_record(*entries, record_content, contents);
  }
  return 0;
}
