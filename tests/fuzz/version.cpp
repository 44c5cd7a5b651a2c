// PEP 440 versions and specifier sets, as upstream pages (filenames) and configs spell them.
// Input: a specifier set on the first line, then one version per line.
// Properties: normalized() and canonical() parse back to an equal version with the same forms;
// equal versions have equal canonical forms; the ordering is antisymmetric and transitive.

#include "fuzz.hpp"

#include <airlock/policy/version.hpp>

#include <compare>
#include <vector>

using airlock::policy::SpecifierSet;
using airlock::policy::Version;

namespace {

std::weak_ordering
reversed(std::weak_ordering order)
{
  return 0 <=> order;
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  std::string_view rest = airlock::fuzz::as_text(data, size);
  const auto spec_text = airlock::fuzz::take_until(rest, '\n');
  const auto spec = SpecifierSet::parse(spec_text);
  if (spec) {
    FUZZ_CHECK(!spec->empty());
    FUZZ_CHECK(SpecifierSet::parse(spec->text()).has_value());
  }

  std::vector<Version> versions;
  while (!rest.empty() && versions.size() < 8) {
    const auto line = airlock::fuzz::take_until(rest, '\n');
    auto version = Version::parse(line);
    if (!version) {
      continue;
    }
    const auto again = Version::parse(version->normalized());
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->normalized() == version->normalized());
    FUZZ_CHECK(*again == *version);
    const auto canonical = Version::parse(version->canonical());
    FUZZ_CHECK(canonical.has_value());
    FUZZ_CHECK(*canonical == *version);
    FUZZ_CHECK(canonical->canonical() == version->canonical());
    FUZZ_CHECK(again->is_prerelease() == version->is_prerelease());
    FUZZ_CHECK(version->public_version() <= *version);
    FUZZ_CHECK(!version->public_version().has_local());
    if (spec) {
      // A filter must answer the same for equivalent spellings, except for "===" (textual).
      if (spec->text().find("===") == std::string::npos) {
        FUZZ_CHECK(spec->contains(*version) == spec->contains(*again));
        FUZZ_CHECK(spec->contains(*version) == spec->contains(*canonical));
      } else {
        (void)spec->contains(*version);
      }
    }
    versions.push_back(std::move(*version));
  }

  for (const auto& a : versions) {
    for (const auto& b : versions) {
      const auto ab = a <=> b;
      FUZZ_CHECK(ab == reversed(b <=> a));
      if (ab == 0) {
        FUZZ_CHECK(a.canonical() == b.canonical());
      }
      for (const auto& c : versions) {
        if (ab <= 0 && (b <=> c) <= 0) {
          FUZZ_CHECK((a <=> c) <= 0);
        }
      }
    }
  }
  return 0;
}
