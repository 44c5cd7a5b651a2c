// OSV records from osv.dev's zip or a mirror of it, as the advisory refresh reads them; the
// input is also read as a CVSS vector.
// Properties: errors are one printable line; a parsed record has a valid id, a one-line
// bounded summary, normalized projects with a version list each entry of which it matches,
// a severity that agrees with its score; the index finds the record and its projects.

#include "fuzz.hpp"

#include <airlock/policy/advisory.hpp>
#include <airlock/policy/filename.hpp>
#include <airlock/util/utf8.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

using namespace airlock::policy;

namespace {

bool
is_printable_line(std::string_view text)
{
  for (const char c : text) {
    if (c < 0x20 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

bool
is_clean_utf8_line(std::string_view text)
{
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto byte = static_cast<unsigned char>(text[pos]);
    if (byte < 0x80) {
      if (byte < 0x20 || byte == 0x7f) {
        return false;
      }
      ++pos;
      continue;
    }
    const auto length = airlock::utf8_sequence_length(text, pos);
    if (length == 0) {
      return false;
    }
    pos += length;
  }
  return true;
}

void
check_score(std::optional<double> score)
{
  if (!score) {
    return;
  }
  FUZZ_CHECK(*score >= 0.0 && *score <= 10.0);
  FUZZ_CHECK(std::fabs(*score * 10.0 - std::round(*score * 10.0)) < 1e-9);
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view text = airlock::fuzz::as_text(data, size);
  check_score(cvss3_base_score(text));

  auto parsed = parse_osv_record(text);
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().empty());
    FUZZ_CHECK(is_printable_line(parsed.error()));
    return 0;
  }
  const Advisory& advisory = *parsed;
  FUZZ_CHECK(!advisory.id.empty() && advisory.id.size() <= 128 && is_printable_line(advisory.id));
  FUZZ_CHECK(advisory.summary.size() <= 300);
  FUZZ_CHECK(is_clean_utf8_line(advisory.summary));
  FUZZ_CHECK(advisory.summary.empty() || (advisory.summary.front() != ' ' && advisory.summary.back() != ' '));
  for (const std::string& note : advisory.notes) {
    FUZZ_CHECK(is_printable_line(note));
  }
  check_score(advisory.cvss_score);
  if (advisory.cvss_score) {
    FUZZ_CHECK(advisory.severity == severity_of_score(*advisory.cvss_score));
  }
  FUZZ_CHECK(advisory.malicious == (advisory.id.starts_with("MAL-")
                                    || std::any_of(advisory.aliases.begin(), advisory.aliases.end(),
                                                   [](const std::string& a) { return a.starts_with("MAL-"); })));

  const std::vector<std::string> probes = {"0", "0.dev0", "1.0", "1.0.0", "2.0rc1", "1!0.1", "999", "", "not a version"};
  for (std::size_t i = 0; i < advisory.affected.size(); ++i) {
    const AffectedProject& affected = advisory.affected[i];
    FUZZ_CHECK(is_valid_project_name(affected.project));
    FUZZ_CHECK_EQ(normalize_project_name(affected.project), affected.project);
    for (std::size_t j = 0; j < i; ++j) {
      FUZZ_CHECK(advisory.affected[j].project != affected.project); // merged, one per project
    }
    for (const std::string& version : affected.versions) {
      FUZZ_CHECK(affected.matches(version));
    }
    for (const std::string& probe : probes) {
      const bool matched = affected.matches(probe);
      if (affected.every_version) {
        FUZZ_CHECK(matched);
      }
    }
    for (const VersionRange& range : affected.ranges) {
      for (const auto& [event, version] : range.events) {
        (void)event;
        (void)affected.matches(version);
      }
    }
  }

  // The index: a later copy replaces the record, and the record is found by id and project.
  Advisory later = advisory;
  later.modified += std::chrono::seconds{1};
  const Advisories advisories(std::vector<Advisory>{advisory, later}, {{advisory.id, {}}});
  FUZZ_CHECK(advisories.records().size() == 1);
  FUZZ_CHECK(advisories.records()[0].modified == later.modified);
  FUZZ_CHECK(advisories.find(advisory.id) == &advisories.records()[0]);
  FUZZ_CHECK(advisories.newest_modified(later.modified) == later.modified);
  for (const AffectedProject& affected : advisory.affected) {
    const auto matches = advisories.for_project(affected.project);
    FUZZ_CHECK(matches.size() == (advisory.withdrawn ? 0u : 1u));
    for (const auto& match : matches) {
      FUZZ_CHECK(match.advisory == &advisories.records()[0]);
      FUZZ_CHECK(match.affected->project == affected.project);
      FUZZ_CHECK(match.only != nullptr && match.only->empty());
    }
  }
  return 0;
}
