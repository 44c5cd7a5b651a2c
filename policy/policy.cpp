#include <airlock/policy/policy.hpp>

#include <airlock/policy/version.hpp>
#include <airlock/util/units.hpp>

#include <fmt/core.h>

namespace airlock::policy {

namespace {

// Matches a glob of '*' (any run) and '?' (one character) against a whole name.
bool
glob_match(std::string_view glob, std::string_view name)
{
  size_t g = 0;
  size_t n = 0;
  size_t star = std::string_view::npos;
  size_t star_n = 0;
  while (n < name.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == name[n])) {
      ++g;
      ++n;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      star_n = n;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') {
    ++g;
  }
  return g == glob.size();
}

std::string
describe(const storage::Decision& decision)
{
  return fmt::format("{} by {} on {}: {}", decision.action == storage::DecisionAction::block ? "blocked" : "approved",
                     decision.actor, format_rfc3339(decision.time), decision.reason);
}

// Does a decision's scope cover this file?
bool
covers(const storage::Decision& decision, const storage::FileRecord& file, std::string_view release)
{
  if (!decision.filename.empty()) {
    return decision.filename == file.filename;
  }
  if (!decision.version.empty()) {
    return decision.version == release;
  }
  return true;
}

} // namespace

struct Policy::CompiledRule
{
  const Rule* rule = nullptr;
  std::optional<SpecifierSet> versions;

  bool matches(const storage::FileRecord& file, const std::optional<Version>& version) const
  {
    if (!glob_match(rule->project, file.project)) {
      return false;
    }
    if (!versions) {
      return true;
    }
    // A rule about some versions cannot govern a file whose version is unknown: only rules
    // without a specifier (the whole project) do.
    return version && versions->contains(*version);
  }
};

std::string_view
to_string(State state)
{
  switch (state) {
  case State::approved:
    return "approved";
  case State::quarantined:
    return "quarantined";
  case State::held:
    return "held";
  case State::blocked:
    return "blocked";
  }
  return "unknown";
}

Time
age_origin(const storage::FileRecord& file)
{
  return file.upload_time.value_or(file.first_seen);
}

std::string
release_key(std::string_view version)
{
  if (auto parsed = Version::parse(version)) {
    return parsed->canonical();
  }
  return std::string(version);
}

Policy::Policy(Options options) : m_options(std::move(options))
{
  m_rules.reserve(m_options.rules.size());
  for (const auto& rule : m_options.rules) {
    CompiledRule compiled{&rule, std::nullopt};
    if (!rule.version.empty()) {
      auto versions = SpecifierSet::parse(rule.version);
      if (!versions) {
        throw ConfigError(fmt::format("{}: policy.rule version: {}", rule.origin, versions.error()));
      }
      compiled.versions = std::move(*versions);
    }
    m_rules.push_back(std::move(compiled));
  }
}

Policy::~Policy() = default;
Policy::Policy(Policy&&) noexcept = default;
Policy& Policy::operator=(Policy&&) noexcept = default;

Verdict
Policy::decide(const storage::FileRecord& file, const ProjectContext& project, Time now) const
{
  const auto version = Version::parse(file.version);
  const std::string release = version ? version->canonical() : file.version;

  // 1. A reviewer's block, at any scope, beats everything.
  const storage::Decision* approval = nullptr;
  for (const auto& decision : project.decisions) {
    if (!covers(decision, file, release)) {
      continue;
    }
    if (decision.action == storage::DecisionAction::block) {
      return {State::blocked, describe(decision), std::nullopt};
    }
    // The narrowest approval speaks: a file's over its release's.
    if (approval == nullptr || !decision.filename.empty()) {
      approval = &decision;
    }
  }

  // 2. Deny rules. Allow rules and window overrides are remembered for step 6.
  const Rule* allow = nullptr;
  std::optional<Seconds> window;
  for (const auto& compiled : m_rules) {
    if (!compiled.matches(file, version)) {
      continue;
    }
    const Rule& rule = *compiled.rule;
    if (rule.action == RuleAction::block) {
      return {State::blocked, fmt::format("blocked by policy rule at {}", rule.origin), std::nullopt};
    }
    if (rule.action == RuleAction::allow && allow == nullptr) {
      allow = &rule;
    }
    if (rule.quarantine && !window) {
      window = rule.quarantine;
    }
  }

  // 3. Upstream took it down: a security signal that a reviewer's approve does not undo.
  if (m_options.on_upstream_removal == OnUpstreamRemoval::block) {
    if (file.removed_upstream) {
      return {State::blocked, fmt::format("removed upstream (gone from the listing since {})",
                                          format_rfc3339(*file.removed_upstream)),
              std::nullopt};
    }
    if (project.upstream_status == "quarantined") {
      return {State::blocked, "quarantined upstream (PEP 792 project status)", std::nullopt};
    }
  }

  // 4. A reviewer's approve releases a file early.
  if (approval != nullptr) {
    return {State::approved, describe(*approval), std::nullopt};
  }

  // 5. Held checks (provenance, inspection) come here.

  // 6. Allow rules, then the window.
  if (allow != nullptr) {
    return {State::approved, fmt::format("allowed by policy rule at {}", allow->origin), std::nullopt};
  }
  const Seconds length = window.value_or(m_options.quarantine);
  const Time origin = age_origin(file);
  const Time until = origin + length;
  const char* since = file.upload_time ? "uploaded" : "first seen";
  if (now >= until) {
    return {State::approved,
            fmt::format("{} {} ago, past the {} window", since, format_duration(now - origin), format_duration(length)),
            std::nullopt};
  }
  return {State::quarantined,
          fmt::format("quarantined until {}: {} {} ago, window {}", format_rfc3339(until), since,
                      format_duration(now - origin), format_duration(length)),
          until};
}

} // namespace airlock::policy
