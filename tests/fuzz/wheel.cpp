// Wheel bytes from upstream, read as the background inspection reads them: the tail, the
// central directory, then each entry's local record (all of them here, not only the .pth ones).
// Properties: everything the reader locates lies within the file, extracted content respects
// its limit and the directory's size, and the summary's lists are sorted sets.

#include "fuzz.hpp"

#include <airlock/policy/wheel.hpp>

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
  const auto pth = pth_files(*entries);
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
    if (std::find(pth.begin(), pth.end(), entry.name) != pth.end()) {
      contents.emplace(entry.name, *content);
    }
  }
  const auto summary = summarize(*entries, contents);
  // Executable: the .pth files and the startup modules (sitecustomize, usercustomize).
  FUZZ_CHECK(std::adjacent_find(summary.executable_pth.begin(), summary.executable_pth.end()) == summary.executable_pth.end());
  FUZZ_CHECK(std::is_sorted(summary.executable_pth.begin(), summary.executable_pth.end()));
  FUZZ_CHECK(std::is_sorted(summary.top_level.begin(), summary.top_level.end()));
  const auto findings = compare(summary, nullptr);
  FUZZ_CHECK(findings.new_executable_pth.empty());
  return 0;
}
