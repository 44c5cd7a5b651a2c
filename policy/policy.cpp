#include <airlock/policy/policy.hpp>

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

} // namespace

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

Verdict
decide(const storage::FileRecord& file, const Options& options, Time now)
{
  if (file.removed_upstream && options.on_upstream_removal == OnUpstreamRemoval::block) {
    return {State::blocked, "removed upstream", std::nullopt};
  }
  Seconds window = options.quarantine;
  for (const auto& rule : options.rules) {
    if (!rule.version.empty() || !glob_match(rule.project, file.project)) {
      continue;
    }
    if (rule.action == RuleAction::block) {
      return {State::blocked, fmt::format("blocked by rule ({})", rule.origin), std::nullopt};
    }
    if (rule.action == RuleAction::allow) {
      return {State::approved, fmt::format("allowed by rule ({})", rule.origin), std::nullopt};
    }
    if (rule.quarantine) {
      window = *rule.quarantine;
    }
  }
  const Time origin = age_origin(file);
  const Time until = origin + window;
  const char* since = file.upload_time ? "uploaded" : "first seen";
  if (now >= until) {
    return {State::approved, fmt::format("{} {} ago, past the {} window", since, format_duration(now - origin),
                                         format_duration(window)),
            std::nullopt};
  }
  return {State::quarantined,
          fmt::format("quarantined until {}: {} {} ago, window {}", format_rfc3339(until), since,
                      format_duration(now - origin), format_duration(window)),
          until};
}

} // namespace airlock::policy
