#pragma once

#include <airlock/storage/records.hpp>
#include <airlock/util/time.hpp>

#include <chrono>
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
};

// The time a file's age counts from: upstream's upload-time, else when Airlock first saw it.
Time age_origin(const storage::FileRecord& file);

// The release a file belongs to, as decisions name it: the normalized PEP 440 version, or
// the version as written when it is not PEP 440 (empty when the filename has none).
std::string release_key(std::string_view version);

// What decide() needs to know about the file's project besides the file itself.
struct ProjectContext
{
  std::span<const storage::Decision> decisions; // the project's reviewer decisions, all scopes
  std::string_view upstream_status;             // PEP 792 project-status, empty = active
};

// The policy of one configuration: rules compiled once, then decide() per file.
// Immutable after construction; safe to share between threads.
class Policy
{
public:
  // Compiles the rules; throws ConfigError naming the rule (its origin) when a version
  // specifier does not parse.
  explicit Policy(Options options);
  ~Policy();
  Policy(Policy&&) noexcept;
  Policy& operator=(Policy&&) noexcept;

  // Decides one file. Pure: no I/O; `now` is injected. Precedence: a reviewer's block, a
  // deny rule, an upstream takedown, a reviewer's approve, held checks, then allow rules and
  // the quarantine window.
  Verdict decide(const storage::FileRecord& file, const ProjectContext& project, Time now) const;

  const Options& options() const { return m_options; }

private:
  struct CompiledRule;
  Options m_options;
  std::vector<CompiledRule> m_rules;
};

} // namespace airlock::policy
