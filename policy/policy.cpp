// The quarantine policy: rules compiled from the options, decisions that cover a file, and the
// verdict of each file of a project (age, rules, provenance, and what its checks found).

#include <airlock/policy/policy.hpp>

#include <airlock/policy/version.hpp>
#include <airlock/policy/wheel.hpp>
#include <airlock/util/assert.hpp>
#include <airlock/util/text.hpp>
#include <airlock/util/units.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <functional>
#include <mutex>

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
  const char* what = decision.action == storage::DecisionAction::block     ? "blocked"
                     : decision.action == storage::DecisionAction::unblock ? "unblocked over advisories"
                                                                           : "approved";
  return fmt::format("{} by {} on {}: {}", what, decision.actor, format_rfc3339(decision.time), decision.reason);
}

// The verdict of a file the advisories block: the first names it, the others follow.
Verdict
advisory_block(const std::vector<const Advisory*>& advisories)
{
  std::string reason = fmt::format("advisory {}: {}", advisories.front()->id,
                                   advisories.front()->malicious ? "malicious package" : to_string(advisories.front()->severity));
  if (!advisories.front()->summary.empty()) {
    reason += fmt::format(" ({})", advisories.front()->summary);
  }
  for (std::size_t i = 1; i < advisories.size(); ++i) {
    reason += (i == 1 ? "; also " : ", ") + advisories[i]->id;
  }
  const bool live_only = std::none_of(advisories.begin(), advisories.end(), [](const Advisory* a) { return a->malicious; });
  return {State::blocked, std::move(reason), std::nullopt, live_only};
}

// Does a decision's scope cover this file? An approval covers only the bytes it names.
bool
covers(const storage::Decision& decision, const storage::FileRecord& file, std::string_view release)
{
  const bool in_scope = !decision.filename.empty() ? decision.filename == file.filename
                        : !decision.version.empty() ? decision.version == release
                                                    : true;
  if (!in_scope || decision.action == storage::DecisionAction::block) {
    return in_scope;
  }
  return std::find(decision.sha256s.begin(), decision.sha256s.end(), file.sha256) != decision.sha256s.end();
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
  return file.backdated ? file.first_seen : file.upload_time.value_or(file.first_seen);
}

std::string
release_key(std::string_view version)
{
  if (auto parsed = Version::parse(version)) {
    return parsed->canonical();
  }
  return std::string(version);
}

const storage::Decision*
covering_decision(std::span<const storage::Decision> decisions, const storage::FileRecord& file)
{
  const std::string release = release_key(file.version);
  const storage::Decision* approval = nullptr;
  for (const auto& decision : decisions) {
    if (!covers(decision, file, release)) {
      continue;
    }
    if (decision.action == storage::DecisionAction::block) {
      return &decision;
    }
    // The narrowest approval speaks: a file's over its release's.
    if (approval == nullptr || !decision.filename.empty()) {
      approval = &decision;
    }
  }
  return approval;
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

// Names must match, and numeric IDs too where both certificates carry them: a deleted and
// re-registered owner or repository gets the old name but a new ID.
bool
same_publisher(const storage::FileChecks& a, const storage::FileChecks& b)
{
  const auto same_id = [](const std::string& x, const std::string& y) { return x.empty() || y.empty() || x == y; };
  return a.publisher_kind == b.publisher_kind && a.repository == b.repository && a.workflow == b.workflow
         && a.email == b.email && same_id(a.repository_id, b.repository_id) && same_id(a.owner_id, b.owner_id);
}

bool
complete(const storage::FileChecks* checks)
{
  return checks != nullptr && checks->provenance != storage::ProvenanceState::pending && checks->inspected;
}

std::string
names_of(const std::vector<std::string>& names)
{
  std::string out;
  for (const auto& name : names) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

} // namespace

// What the releases decided so far established, for comparing the next one with.
struct Policy::Baselines
{
  struct Baseline
  {
    enum class Kind { none, pending, unverifiable, known };
    Kind kind = Kind::none;
    std::string version; // known: the release
    std::string why;     // pending, unverifiable
  };

  Baseline provenance;
  storage::FileChecks publisher; // provenance known: the verified publisher (kind "" = none)
  Baseline contents;
  std::vector<storage::StartupFile> startup; // contents known: the release's startup code
};

struct Policy::InForce
{
  mutable std::mutex mutex;
  std::shared_ptr<const Advisories> advisories = std::make_shared<const Advisories>();
};

Policy::Policy(Options options) : m_options(std::move(options)), m_in_force(std::make_unique<InForce>())
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

bool
Policy::established(const storage::FileRecord& file, Time project_first_seen) const
{
  return age_origin(file) + m_options.history_horizon <= project_first_seen;
}

bool
Policy::provenance_required(const storage::FileRecord& file) const
{
  const auto version = Version::parse(file.version);
  return std::any_of(m_rules.begin(), m_rules.end(), [&](const CompiledRule& compiled) {
    return compiled.rule->require_provenance && compiled.matches(file, version);
  });
}

namespace {

// The files in the order decide_all walks them: releases by PEP 440 version, files without
// one last; `versions[i]` is files[i]'s parsed version.
std::vector<std::size_t>
release_order(std::span<const storage::FileRecord> files, std::vector<std::optional<Version>>& versions)
{
  versions.clear();
  versions.reserve(files.size());
  for (const auto& file : files) {
    versions.push_back(Version::parse(file.version));
  }
  std::vector<std::size_t> order(files.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (versions[a] && versions[b]) {
      return *versions[a] < *versions[b];
    }
    return versions[a].has_value() && !versions[b].has_value();
  });
  return order;
}

// The newest release whose files were all older than the history horizon at the project's
// first sight: established history ends there, and it is the baseline of what follows.
std::optional<Version>
newest_established(std::span<const storage::FileRecord> files, const std::vector<std::optional<Version>>& versions,
                   const std::function<bool(const storage::FileRecord&)>& established)
{
  std::optional<Version> newest;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (versions[i] && established(files[i]) && (!newest || *newest < *versions[i])) {
      newest = versions[i];
    }
  }
  return newest;
}

} // namespace

std::vector<bool>
Policy::checks_needed(std::span<const storage::FileRecord> files, Time project_first_seen) const
{
  std::vector<std::optional<Version>> versions;
  (void)release_order(files, versions);
  const auto is_established = [&](const storage::FileRecord& file) { return established(file, project_first_seen); };
  const auto baseline = newest_established(files, versions, is_established);
  std::vector<bool> out(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& file = files[i];
    out[i] = !file.removed_upstream && !file.replaced_upstream
             && (!is_established(file) || (baseline && versions[i] && *versions[i] == *baseline)
                 || provenance_required(file));
  }
  return out;
}

std::vector<Verdict>
Policy::decide_all(std::span<const storage::FileRecord> files, const ProjectContext& project, Time now) const
{
  std::vector<Verdict> verdicts(files.size());
  const ProjectHistory* history = project.history;
  if (history == nullptr) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      verdicts[i] = decide_one(files[i], project, nullptr, now);
    }
    return verdicts;
  }
  std::vector<std::optional<Version>> versions;
  const auto order = release_order(files, versions);
  const Time first_seen = history->project_first_seen();
  const auto is_established = [&](const storage::FileRecord& file) { return established(file, first_seen); };
  const auto candidate = newest_established(files, versions, is_established);

  Baselines baselines;
  for (std::size_t start = 0; start < order.size();) {
    // One release: the files from `start` with the same version.
    std::size_t end = start + 1;
    const auto& version = versions[order[start]];
    while (end < order.size() && version && versions[order[end]] && *versions[order[end]] == *version) {
      ++end;
    }
    if (!version) {
      end = order.size(); // files without a version are compared with the newest baseline
    }
    bool approved = true;
    bool explicitly = false;
    bool all_established = true;
    for (std::size_t k = start; k < end; ++k) {
      const auto& file = files[order[k]];
      verdicts[order[k]] = decide_one(file, project, &baselines, now);
      if (file.replaced_upstream) {
        continue; // old bytes: what the release is now are the listed ones
      }
      approved = approved && verdicts[order[k]].state == State::approved;
      const auto* decision = covering_decision(project.decisions, file);
      explicitly = explicitly || (decision != nullptr && decision->action == storage::DecisionAction::approve);
      all_established = all_established && is_established(file);
    }
    const bool relevant = version && (!all_established || (candidate && *version == *candidate));
    // A release still being checked may yet become the baseline: what follows waits for it.
    // One that is held or blocked never will.
    if (relevant && !approved) {
      bool waiting = false;
      bool refused = false;
      for (std::size_t k = start; k < end; ++k) {
        const auto& file = files[order[k]];
        if (file.replaced_upstream) {
          continue;
        }
        const auto state = verdicts[order[k]].state;
        refused = refused || state == State::held || state == State::blocked;
        const auto* checks = history->checks(file);
        waiting = waiting || (!complete(checks) && (checks == nullptr || !checks->gave_up));
      }
      if (waiting && !refused) {
        baselines.provenance = {Baselines::Baseline::Kind::pending, version->normalized(), ""};
        baselines.contents = baselines.provenance;
      }
    }
    // Only an approved release sets a baseline, and of established history only its newest
    // release: older history was never checked.
    if (relevant && approved) {
      bool complete_checks = true;
      bool gave_up = false;
      std::string failure;
      const storage::FileChecks* verified = nullptr;
      bool invalid = false;
      std::vector<storage::StartupFile> startup;
      for (std::size_t k = start; k < end; ++k) {
        const auto& file = files[order[k]];
        if (file.replaced_upstream) {
          continue;
        }
        const auto* checks = history->checks(file);
        if (checks != nullptr && checks->gave_up) {
          gave_up = true;
          failure = fmt::format("{}: {}", file.filename, checks->failure);
        }
        if (!complete(checks)) {
          complete_checks = false;
          continue;
        }
        invalid = invalid || checks->provenance == storage::ProvenanceState::invalid;
        if (checks->provenance == storage::ProvenanceState::verified && verified == nullptr) {
          verified = checks;
        }
        startup.insert(startup.end(), checks->executable_pth.begin(), checks->executable_pth.end());
      }
      const std::string name = version->normalized();
      if (gave_up) {
        baselines.contents = {Baselines::Baseline::Kind::unverifiable, name, failure};
        baselines.provenance = baselines.contents;
      } else if (!complete_checks) {
        baselines.contents = {Baselines::Baseline::Kind::pending, name, ""};
        baselines.provenance = baselines.contents;
      } else {
        baselines.contents = {Baselines::Baseline::Kind::known, name, ""};
        baselines.startup = std::move(startup);
        // A release verifies when its files that have provenance all verified; one a reviewer
        // approved is the baseline as it is, with its publisher or none.
        if ((verified != nullptr && !invalid) || explicitly) {
          baselines.provenance = {Baselines::Baseline::Kind::known, name, ""};
          baselines.publisher = verified != nullptr && !invalid ? *verified : storage::FileChecks{};
        } else if (baselines.provenance.kind != Baselines::Baseline::Kind::known) {
          // Established history without provenance: nothing attested to compare with.
          baselines.provenance = {};
        }
      }
    }
    start = end;
  }
  return verdicts;
}

std::shared_ptr<const Advisories>
Policy::advisories() const
{
  std::lock_guard lock(m_in_force->mutex);
  return m_in_force->advisories;
}

void
Policy::set_advisories(std::shared_ptr<const Advisories> advisories)
{
  AIRLOCK_ASSERT(advisories != nullptr);
  std::lock_guard lock(m_in_force->mutex);
  m_in_force->advisories = std::move(advisories);
}

Verdict
Policy::decide(const storage::FileRecord& file, const ProjectContext& project, Time now) const
{
  if (project.history == nullptr) {
    return decide_one(file, project, nullptr, now);
  }
  const auto files = project.history->files();
  const auto verdicts = decide_all(files, project, now);
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (files[i].filename == file.filename && files[i].sha256 == file.sha256) {
      return verdicts[i];
    }
  }
  // A file the history does not hold is decided against the baseline of all of it.
  std::vector<storage::FileRecord> with(files.begin(), files.end());
  with.push_back(file);
  return decide_all(with, project, now).back();
}

Policy::Checked
Policy::held_checks(const storage::FileRecord& file, const ProjectHistory& history, const Baselines* baselines,
                    bool provenance_required) const
{
  const auto held = [](std::string reason) { return Checked{Verdict{State::held, std::move(reason), std::nullopt}, {}}; };
  const auto* checks = history.checks(file);
  if (checks != nullptr && checks->provenance == storage::ProvenanceState::invalid) {
    return held(fmt::format("provenance invalid ({}): {}", checks->reason_class, checks->reason));
  }
  if (provenance_required && checks != nullptr && checks->provenance == storage::ProvenanceState::absent) {
    return held("provenance required by policy, but this file has none");
  }
  // Files that were already old when Airlock first saw their project are established history:
  // their checks only set the baseline.
  if (established(file, history.project_first_seen())) {
    return {};
  }
  if (checks != nullptr && checks->gave_up) {
    return held("checks failed: " + checks->failure);
  }
  if (!complete(checks)) {
    return {std::nullopt, "provenance and contents are still being verified"};
  }
  if (!checks->inspection_error.empty()) {
    // What Airlock could not read must not pass on age alone.
    return held("contents could not be inspected: " + checks->inspection_error);
  }
  if (provenance_required && checks->provenance != storage::ProvenanceState::verified) {
    return held("provenance required by policy, but this file has none");
  }
  if (baselines == nullptr) {
    return {};
  }
  using Kind = Baselines::Baseline::Kind;
  for (const auto* baseline : {&baselines->provenance, &baselines->contents}) {
    if (baseline->kind == Kind::unverifiable) {
      return held(fmt::format("history unverifiable: the checks of {} failed: {}", baseline->version, baseline->why));
    }
    if (baseline->kind == Kind::pending) {
      return {std::nullopt, fmt::format("{}, the release this one is compared with, is still being verified",
                                        baseline->version)};
    }
  }
  const auto& publisher = baselines->publisher;
  if (baselines->provenance.kind == Kind::known && !publisher.publisher_kind.empty()) {
    if (checks->provenance == storage::ProvenanceState::absent) {
      return held(fmt::format("provenance regression: {} was published with verified provenance by {}; this file "
                              "has none",
                              baselines->provenance.version, publisher_text(publisher)));
    }
    if (checks->provenance == storage::ProvenanceState::verified && !same_publisher(*checks, publisher)) {
      return held(fmt::format("publisher changed: {} came from {}, this file from {}", baselines->provenance.version,
                              publisher_text(publisher), publisher_text(*checks)));
    }
  }
  if (baselines->contents.kind == Kind::known) {
    const WheelSummary previous{baselines->startup, {}};
    const auto findings = compare(WheelSummary{checks->executable_pth, {}}, &previous);
    if (!findings.new_executable_pth.empty()) {
      return held(fmt::format("ships new code that runs at every Python start: {} (not in {})",
                              names_of(findings.new_executable_pth), baselines->contents.version));
    }
    if (!findings.changed_executable_pth.empty()) {
      return held(fmt::format("changes code that runs at every Python start: {} (differs from {})",
                              names_of(findings.changed_executable_pth), baselines->contents.version));
    }
  }
  return {};
}

Verdict
Policy::decide_one(const storage::FileRecord& file, const ProjectContext& project, const Baselines* baselines,
                   Time now) const
{
  const auto version = Version::parse(file.version);

  // 1. A reviewer's block, at any scope, beats everything.
  const storage::Decision* decision = covering_decision(project.decisions, file);
  if (decision != nullptr && decision->action == storage::DecisionAction::block) {
    return {State::blocked, describe(*decision), std::nullopt};
  }

  // 1b. Advisories, unless a reviewer unblocked these bytes.
  if (decision == nullptr || decision->action != storage::DecisionAction::unblock) {
    if (const auto blocking = blocking_advisories(file, project, m_options.block_severity); !blocking.empty()) {
      return advisory_block(blocking);
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

  // 3b. A listing cannot send Airlock to fetch from just any address.
  if (!m_options.file_hosts.empty()) {
    const std::string host = url_host(file.url);
    if (std::find(m_options.file_hosts.begin(), m_options.file_hosts.end(), host) == m_options.file_hosts.end()) {
      return {State::held, fmt::format("file URL on a host that is not allowed: {}", host.empty() ? file.url : host),
              std::nullopt};
    }
  }

  // 4. A reviewer's approve of these bytes releases them early.
  if (decision != nullptr) {
    return {State::approved, describe(*decision), std::nullopt};
  }

  // 5. New bytes under a name that had others wait for a human, whatever their age.
  if (file.replaces) {
    return {State::held,
            fmt::format("content changed upstream: {} -> {}; approve these bytes with: airlock approve {} {} --file "
                        "{} --sha256 {}",
                        file.replaces->hex(), file.sha256.hex(), file.project,
                        file.version.empty() ? "VERSION" : file.version, file.filename, file.sha256.hex()),
            std::nullopt};
  }

  // 6. Held checks: provenance and contents, against the baselines.
  Checked checked;
  if (project.history != nullptr) {
    checked = held_checks(file, *project.history, baselines, provenance_required);
    if (checked.held) {
      return *checked.held;
    }
  }

  // 7. Allow rules, then the window; checks still running hold back what they would approve.
  if (!checked.pending.empty() && (allow != nullptr || now >= age_origin(file) + window.value_or(m_options.quarantine))) {
    return {State::quarantined, "checks pending: " + checked.pending, std::nullopt};
  }
  if (allow != nullptr) {
    return {State::approved, fmt::format("allowed by policy rule at {}", allow->origin), std::nullopt};
  }
  const Seconds length = window.value_or(m_options.quarantine);
  const Time origin = age_origin(file);
  const Time until = origin + length;
  const char* since = file.upload_time && !file.backdated ? "uploaded" : "first seen";
  if (now >= until) {
    return {State::approved,
            fmt::format("{} {} ago, past the {} window", since, format_duration(now - origin), format_duration(length)),
            std::nullopt};
  }
  if (checked.pending.empty() && m_options.fast_track_min < length) {
    if (const auto fix = fast_track(file, project, baselines); !fix.empty()) {
      const Time fast_until = origin + m_options.fast_track_min;
      if (now >= fast_until) {
        return {State::approved,
                fmt::format("fast-tracked: {}; {} {} ago, past the {} minimum", fix, since,
                            format_duration(now - origin), format_duration(m_options.fast_track_min)),
                std::nullopt};
      }
      return {State::quarantined,
              fmt::format("fast-tracked until {}: {}; {} {} ago", format_rfc3339(fast_until), fix, since,
                          format_duration(now - origin)),
              fast_until};
    }
  }
  return {State::quarantined,
          fmt::format("quarantined until {}: {} {} ago, window {}", format_rfc3339(until), since,
                      format_duration(now - origin), format_duration(length)),
          until};
}

std::string
Policy::fast_track(const storage::FileRecord& file, const ProjectContext& project, const Baselines* baselines) const
{
  if (!m_options.fast_track_fixes || project.history == nullptr || baselines == nullptr) {
    return {};
  }
  // Only from the publisher the project trusted before: a stolen token cannot fast-track.
  const auto* checks = project.history->checks(file);
  if (checks == nullptr || checks->provenance != storage::ProvenanceState::verified
      || baselines->provenance.kind != Baselines::Baseline::Kind::known || baselines->publisher.publisher_kind.empty()
      || !same_publisher(*checks, baselines->publisher)) {
    return {};
  }
  const auto version = Version::parse(file.version);
  const auto* preceding = project.history->preceding(file.version);
  if (!version || preceding == nullptr) {
    return {};
  }
  for (const auto& match : project.advisories) {
    if (match.advisory->malicious || !match.matches(Version::parse(preceding->version), preceding->version)) {
      continue;
    }
    for (const auto& fixed : match.affected->fixed) {
      if (const auto parsed = Version::parse(fixed); parsed && *parsed == *version) {
        return fmt::format("fixes {}, which affects {}", match.advisory->id, preceding->version);
      }
    }
  }
  return {};
}

} // namespace airlock::policy
