#pragma once

// PEP 440 versions and specifier sets, parsed, normalized and ordered as pip orders them.
// Parsing never throws: an invalid version is an error value.

#include <airlock/util/error.hpp>

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airlock::policy {

// A PEP 440 version: parsed, normalized, totally ordered as PEP 440 orders releases.
class Version
{
public:
  // Parses any PEP 440 spelling ("1.82.7", "v1.0RC1", "1.0.post-2", "2!1.0+local.7");
  // nullopt when it is not a valid version (legacy versions are not accepted).
  static std::optional<Version> parse(std::string_view text);

  // The canonical form: "1.0rc1", "1.0.post2", "2!1.0+local.7". Trailing ".0"s are kept, as
  // PEP 440 normalization keeps them ("1.0" stays "1.0").
  const std::string& normalized() const { return m_normalized; }
  // The normalized form without trailing zero release segments ("1.82.7.0" -> "1.82.7"), as
  // packaging's canonicalize_version: equal versions have equal canonical forms.
  std::string canonical() const;
  bool is_prerelease() const; // has a pre or dev segment
  bool has_local() const { return !m_local.empty(); }
  // The same version without its local segment.
  Version public_version() const;

  // PEP 440 ordering; 1.0 == 1.0.0, local versions sort after the public one. Weak, not
  // strong: equivalent versions can differ in normalized() ("1.0" and "1.0.0").
  std::weak_ordering operator<=>(const Version& other) const;
  bool operator==(const Version& other) const { return (*this <=> other) == 0; }

private:
  friend class SpecifierSet;
  // The ordering of the public parts only (epoch, release, pre, post, dev).
  std::weak_ordering compare_public(const Version& other) const;

  std::uint64_t m_epoch = 0;
  std::vector<std::uint64_t> m_release;
  // Pre-release: kind 0 = a, 1 = b, 2 = rc; nullopt = none.
  std::optional<std::pair<int, std::uint64_t>> m_pre;
  std::optional<std::uint64_t> m_post;
  std::optional<std::uint64_t> m_dev;
  // Local segments, lowercase: each either digits without leading zeros (compared as a
  // number of any size) or an alphanumeric string.
  std::vector<std::string> m_local;
  std::string m_normalized;
};

// A PEP 440 specifier set such as ">=1.82.7,<1.83", "==1.0.*", "~=2.2", "!=1.5", "===weird".
class SpecifierSet
{
public:
  // Parses a comma-separated set; errors say which clause is wrong and why. Blank text and
  // empty clauses (">=1.0,") are errors: a caller meaning "every version" checks for "" first.
  static Expected<SpecifierSet> parse(std::string_view text);

  // True when every clause admits the version. Pre-releases are admitted (a policy rule
  // about "<1.83" must cover 1.83rc1's predecessors too): this is a filter, not a resolver.
  // "===" compares case-insensitively with version.normalized(), as the text the version was
  // parsed from is not kept.
  bool contains(const Version& version) const;
  bool empty() const { return m_clauses.empty(); }
  const std::string& text() const { return m_text; }

private:
  struct Clause
  {
    std::string op; // "==", "!=", "<=", ">=", "<", ">", "~=", "==="
    std::string raw; // the version text as written (what === compares)
    bool wildcard = false; // "==1.0.*" / "!=1.0.*"
    std::optional<Version> version; // nullopt only for "==="
  };

  static bool admits(const Clause& clause, const Version& version);

  std::vector<Clause> m_clauses;
  std::string m_text;
};

} // namespace airlock::policy
