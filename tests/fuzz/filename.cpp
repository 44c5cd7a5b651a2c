// Distribution filenames and project names, as upstream pages list them.
// Input: an expected project on the first line (may be empty), the filename after it.
// Properties: a parsed filename is safe, its project is a normalized valid name (the expected
// one when given), its version appears in the filename; normalization is idempotent.

#include "fuzz.hpp"

#include <airlock/policy/filename.hpp>

using namespace airlock::policy;

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  std::string_view rest = airlock::fuzz::as_text(data, size);
  const auto first = airlock::fuzz::take_until(rest, '\n');
  const std::string expected = is_valid_project_name(first) ? normalize_project_name(first) : std::string();
  const std::string_view filename = rest.empty() ? first : rest;

  const auto normalized = normalize_project_name(filename);
  FUZZ_CHECK(normalize_project_name(normalized) == normalized);
  if (is_valid_project_name(filename)) {
    FUZZ_CHECK(is_valid_project_name(normalized));
  }

  for (const std::string_view hint : {std::string_view(expected), std::string_view()}) {
    const auto parsed = parse_filename(filename, hint);
    if (!parsed) {
      continue;
    }
    FUZZ_CHECK(is_safe_filename(filename));
    FUZZ_CHECK(is_valid_project_name(parsed->project));
    FUZZ_CHECK(normalize_project_name(parsed->project) == parsed->project);
    FUZZ_CHECK(!parsed->version.empty());
    FUZZ_CHECK(filename.find(parsed->version) != std::string_view::npos);
    if (parsed->kind == DistributionKind::wheel) {
      FUZZ_CHECK(filename.ends_with(".whl"));
    } else if (!hint.empty()) {
      FUZZ_CHECK(parsed->project == hint);
    }
  }
  return 0;
}
