#pragma once

// The quarantine policy: the state of each upstream file (approved, quarantined, held, blocked),
// decided from its age, the rules, reviewers' decisions and what the checks found. No I/O.

#include <airlock/policy/advisory.hpp>
#include <airlock/storage/records.hpp>
#include <airlock/util/time.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::policy {

// The state of an upstream file (DESIGN.md "States of an upstream file").
enum class State { approved, quarantined, held, blocked };

std::string_view to_string(State state);

// What policy says about one file now: its state, why, and when that next changes by itself
// (nullopt when nothing but a human or upstream will change it).
struct Verdict
{
  State state = State::quarantined;
  std::string reason;
  std::optional<Time> until;
  // Blocked only in the live index (by a vulnerability at or above block_severity): the
  // snapshots that froze the file still serve it.
  bool live_only = false;

  friend bool operator==(const Verdict&, const Verdict&) = default;
};

enum class RuleAction { none, allow, block };
enum class OnUpstreamRemoval { block, keep };

// One [[policy.rule]]: matches normalized project names by glob, optionally narrowed to a
// PEP 440 version specifier.
struct Rule
{
  std::string project;                   // glob over normalized names: * and ?
  std::string version;                   // PEP 440 specifier set; empty = every version
  std::optional<Seconds> quarantine;     // window override
  RuleAction action = RuleAction::none;
  bool require_provenance = false;
  std::string origin;                    // where it was defined, for messages: "airlock.toml:31"

  friend bool operator==(const Rule&, const Rule&) = default;
};

struct Options
{
  Seconds quarantine = std::chrono::days{7};
  OnUpstreamRemoval on_upstream_removal = OnUpstreamRemoval::block;
  Seconds history_horizon = std::chrono::days{30};
  std::vector<Rule> rules;
  // Advisories: vulnerability records at or above this severity block what they affect, in
  // the live index only (malicious records block at any severity, snapshots included).
  Severity block_severity = Severity::none;
  // A release an advisory names as the fix of a vulnerability in the release before it waits
  // only fast_track_min, when its provenance verified and comes from the baseline publisher.
  bool fast_track_fixes = false;
  Seconds fast_track_min = std::chrono::hours{24};
  // The hosts a file's URL may name (lowercase): the index's and [upstream] file_hosts; a file
  // elsewhere is held, as Airlock will not fetch it. Empty = any.
  std::vector<std::string> file_hosts;
};

// The host of an absolute http(s) URL, lowercase, without userinfo, port or brackets; "" when
// the URL has none.
std::string url_host(std::string_view url);

// The time a file's age counts from: upstream's upload-time, else when Airlock first saw it;
// from first sight for a backdated file (one that claimed to predate what Airlock had seen).
Time age_origin(const storage::FileRecord& file);

// The release a file belongs to, as decisions name it: the normalized PEP 440 version, or
// the version as written when it is not PEP 440 (empty when the filename has none).
std::string release_key(std::string_view version);

// Returns the decision that speaks for a file: a block covering it (release- or project-wide
// blocks cover every file, later ones included), else the narrowest approval that names its
// sha256; nullptr when none does.
const storage::Decision* covering_decision(std::span<const storage::Decision> decisions,
                                           const storage::FileRecord& file);

// What the background checks found for one project, with its files: decide() compares each
// file with the baseline that the releases before it established. Built once per project;
// immutable afterwards.
class ProjectHistory
{
public:
  ProjectHistory(std::span<const storage::FileRecord> files, std::map<storage::FileKey, storage::FileChecks> checks,
                 Time project_first_seen);
  ~ProjectHistory();
  ProjectHistory(ProjectHistory&&) noexcept;
  ProjectHistory& operator=(ProjectHistory&&) noexcept;

  // What one release carried, all its files together (for a reviewer's eyes).
  struct Release
  {
    std::string version;                // normalized, as a human reads it
    std::vector<std::string> top_level;
  };

  // The check record of a file's bytes; nullptr while none exists (checks pending).
  const storage::FileChecks* checks(const storage::FileRecord& file) const;
  // The release just before this version; nullptr for the first one, or an unparseable version.
  const Release* preceding(std::string_view version) const;
  // The project's files, as given.
  std::span<const storage::FileRecord> files() const;
  Time project_first_seen() const { return m_first_seen; }

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  Time m_first_seen{};
};

// What decide() needs to know about the file's project besides the file itself.
struct ProjectContext
{
  std::span<const storage::Decision> decisions; // the project's reviewer decisions, all scopes
  std::string_view upstream_status;             // PEP 792 project-status, empty = active
  // The background checks; nullptr when they are not consulted (no held checks, no "pending").
  const ProjectHistory* history = nullptr;
  // The advisories in force that name the project.
  std::span<const Advisories::Match> advisories;
  // A snapshot's frozen view: only malicious records withhold what CI pinned knowingly.
  bool frozen = false;
};

// The advisories that block a file, in id order: malicious records, and vulnerability records
// at or above `block_severity` outside a frozen view; a record held by the kill-switch guard
// only for the files it blocked before. Ignores reviewers' decisions.
std::vector<const Advisory*> blocking_advisories(const storage::FileRecord& file, const ProjectContext& project,
                                                 Severity block_severity);

// The policy of one configuration: rules compiled once, then decide() per file.
// Immutable after construction but for the advisories in force; safe to share between threads.
class Policy
{
public:
  // Compiles the rules; throws ConfigError naming the rule (its origin) when a version
  // specifier does not parse.
  explicit Policy(Options options);
  ~Policy();
  Policy(Policy&&) noexcept;
  Policy& operator=(Policy&&) noexcept;

  // Decides every file of a project: verdicts[i] is files[i]'s. Releases are decided oldest
  // first (PEP 440 order), each compared with the baseline those before it established: for
  // provenance, the newest approved release whose provenance verified, or one a reviewer
  // approved; for contents, the newest approved release. Pure: no I/O; `now` is injected.
  // Precedence per file: a reviewer's block, a reviewer's unblock of the file's bytes over an
  // advisory, an advisory's block, a deny rule, an upstream takedown, a reviewer's
  // approve (of these bytes), a content change upstream, held checks (invalid or required
  // provenance at any age; for files newer than the history horizon also failed or pending
  // checks and baselines, provenance regression, publisher change, new or changed startup
  // code), then allow rules, a fix's fast track and the quarantine window.
  std::vector<Verdict> decide_all(std::span<const storage::FileRecord> files, const ProjectContext& project,
                                  Time now) const;
  // Decides one file of project.history's files (or, without history, on its own). It walks the
  // whole project to find the file's baselines: for many files of one project, call decide_all.
  Verdict decide(const storage::FileRecord& file, const ProjectContext& project, Time now) const;
  // Returns, per file, whether background checks must look at it: files newer than the
  // history horizon at the project's first sight, the newest release older than it (the
  // baseline of what follows), and every file of a project under require_provenance.
  std::vector<bool> checks_needed(std::span<const storage::FileRecord> files, Time project_first_seen) const;

  const Options& options() const { return m_options; }

  // The advisories in force, swapped whole when the feed is refreshed. Thread-safe; a caller
  // keeps the pointer for as long as it uses matches taken from it.
  std::shared_ptr<const Advisories> advisories() const;
  void set_advisories(std::shared_ptr<const Advisories> advisories);

private:
  struct CompiledRule;
  struct Baselines;
  // What the held checks say: a held verdict, or why approval must wait ("" = nothing).
  struct Checked
  {
    std::optional<Verdict> held;
    std::string pending;
  };
  Checked held_checks(const storage::FileRecord& file, const ProjectHistory& history, const Baselines* baselines,
                      bool provenance_required) const;
  Verdict decide_one(const storage::FileRecord& file, const ProjectContext& project, const Baselines* baselines,
                     Time now) const;
  // Why the file is a fix that may skip the window ("fixes GHSA-..., which affects 1.0"); "" if not.
  std::string fast_track(const storage::FileRecord& file, const ProjectContext& project,
                         const Baselines* baselines) const;
  bool established(const storage::FileRecord& file, Time project_first_seen) const;
  bool provenance_required(const storage::FileRecord& file) const;

  struct InForce;

  Options m_options;
  std::vector<CompiledRule> m_rules;
  std::unique_ptr<InForce> m_in_force;
};

} // namespace airlock::policy
