#include <airlock/policy/policy.hpp>

#include <airlock/policy/version.hpp>
#include <airlock/util/units.hpp>

#include <fmt/core.h>

#include <algorithm>

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

struct ProjectHistory::Impl
{
  std::map<std::string, storage::FileChecks> checks;
  std::vector<std::pair<Version, Release>> releases; // ascending by version
};

ProjectHistory::ProjectHistory(std::span<const storage::FileRecord> files,
                               std::map<std::string, storage::FileChecks> checks, Time project_first_seen)
  : m_impl(std::make_unique<Impl>()), m_first_seen(project_first_seen)
{
  m_impl->checks = std::move(checks);
  std::map<std::string, std::pair<Version, Release>> by_release;
  for (const auto& file : files) {
    auto version = Version::parse(file.version);
    if (!version) {
      continue;
    }
    const std::string key = version->canonical();
    auto [it, inserted] = by_release.try_emplace(key, *version, Release{});
    auto& release = it->second.second;
    if (inserted) {
      release.version = version->normalized();
    }
    const auto found = m_impl->checks.find(file.filename);
    if (found == m_impl->checks.end()) {
      continue;
    }
    const auto& record = found->second;
    if (record.provenance == storage::ProvenanceState::verified && !release.verified) {
      release.verified = true;
      release.publisher = record;
      release.publisher.document.clear();
    }
    for (const auto& pth : record.executable_pth) {
      release.executable_pth.push_back(pth);
    }
    for (const auto& name : record.top_level) {
      release.top_level.push_back(name);
    }
  }
  for (auto& [key, entry] : by_release) {
    m_impl->releases.push_back(std::move(entry));
  }
  std::sort(m_impl->releases.begin(), m_impl->releases.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

ProjectHistory::~ProjectHistory() = default;
ProjectHistory::ProjectHistory(ProjectHistory&&) noexcept = default;
ProjectHistory& ProjectHistory::operator=(ProjectHistory&&) noexcept = default;

const storage::FileChecks*
ProjectHistory::checks(std::string_view filename) const
{
  const auto it = m_impl->checks.find(std::string(filename));
  return it == m_impl->checks.end() ? nullptr : &it->second;
}

const ProjectHistory::Release*
ProjectHistory::preceding(std::string_view version) const
{
  const auto parsed = Version::parse(version);
  if (!parsed) {
    return nullptr;
  }
  const auto& releases = m_impl->releases;
  auto it = std::lower_bound(releases.begin(), releases.end(), *parsed,
                             [](const auto& entry, const Version& v) { return entry.first < v; });
  return it == releases.begin() ? nullptr : &std::prev(it)->second;
}

namespace {

std::string
publisher_text(const storage::FileChecks& checks)
{
  if (!checks.repository.empty()) {
    return fmt::format("{} {} ({})", checks.publisher_kind, checks.repository, checks.workflow);
  }
  return fmt::format("{} {}", checks.publisher_kind, checks.email);
}

bool
same_publisher(const storage::FileChecks& a, const storage::FileChecks& b)
{
  return a.publisher_kind == b.publisher_kind && a.repository == b.repository && a.workflow == b.workflow
         && a.email == b.email;
}

// The held checks, in the order a reviewer would want to hear about them.
std::optional<Verdict>
held_checks(const storage::FileRecord& file, const ProjectHistory& history, bool provenance_required,
            Seconds horizon)
{
  const auto* checks = history.checks(file.filename);
  if (checks != nullptr && checks->provenance == storage::ProvenanceState::invalid) {
    return Verdict{State::held, fmt::format("provenance invalid ({}): {}", checks->reason_class, checks->reason),
                   std::nullopt};
  }
  if (provenance_required && checks != nullptr && checks->provenance == storage::ProvenanceState::absent) {
    return Verdict{State::held, "provenance required by policy, but this file has none", std::nullopt};
  }
  // Files that were already old when Airlock first saw their project are established history:
  // their checks only set the baseline.
  if (age_origin(file) + horizon <= history.project_first_seen()) {
    return std::nullopt;
  }
  if (checks == nullptr || checks->provenance == storage::ProvenanceState::pending || !checks->inspected) {
    return std::nullopt; // nothing to hold on yet: see checks_pending()
  }
  if (!checks->inspection_error.empty()) {
    // What Airlock could not read must not pass on age alone.
    return Verdict{State::held, "contents could not be inspected: " + checks->inspection_error, std::nullopt};
  }
  if (provenance_required && checks->provenance != storage::ProvenanceState::verified) {
    return Verdict{State::held, "provenance required by policy, but this file has none", std::nullopt};
  }
  const auto* previous = history.preceding(file.version);
  if (previous == nullptr) {
    return std::nullopt;
  }
  if (previous->verified && checks->provenance == storage::ProvenanceState::absent) {
    return Verdict{State::held,
                   fmt::format("provenance regression: {} was published with verified provenance by {}; this file "
                               "has none",
                               previous->version, publisher_text(previous->publisher)),
                   std::nullopt};
  }
  if (previous->verified && checks->provenance == storage::ProvenanceState::verified
      && !same_publisher(*checks, previous->publisher)) {
    return Verdict{State::held,
                   fmt::format("publisher changed: {} came from {}, this file from {}", previous->version,
                               publisher_text(previous->publisher), publisher_text(*checks)),
                   std::nullopt};
  }
  std::vector<std::string> added;
  for (const auto& pth : checks->executable_pth) {
    if (std::find(previous->executable_pth.begin(), previous->executable_pth.end(), pth)
        == previous->executable_pth.end()) {
      added.push_back(pth);
    }
  }
  if (!added.empty()) {
    std::string names;
    for (const auto& name : added) {
      names += (names.empty() ? "" : ", ") + name;
    }
    return Verdict{State::held,
                   fmt::format("ships new code that runs at every Python start: {} (not in {})", names,
                               previous->version),
                   std::nullopt};
  }
  return std::nullopt;
}

// Checks still running keep a file that is newer than the history horizon from approval.
bool
checks_pending(const storage::FileRecord& file, const ProjectHistory& history, Seconds horizon)
{
  if (age_origin(file) + horizon <= history.project_first_seen()) {
    return false;
  }
  const auto* checks = history.checks(file.filename);
  return checks == nullptr || checks->provenance == storage::ProvenanceState::pending || !checks->inspected;
}

} // namespace

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
  bool provenance_required = false;
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
    provenance_required = provenance_required || rule.require_provenance;
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

  // 5. Held checks: provenance and contents.
  if (project.history != nullptr) {
    if (auto held = held_checks(file, *project.history, provenance_required, m_options.history_horizon)) {
      return *held;
    }
  }

  // 6. Allow rules, then the window; checks still running hold back what they would approve.
  const bool pending =
    project.history != nullptr && checks_pending(file, *project.history, m_options.history_horizon);
  if (pending && (allow != nullptr || now >= age_origin(file) + window.value_or(m_options.quarantine))) {
    return {State::quarantined, "checks pending: provenance and contents are still being verified", std::nullopt};
  }
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
