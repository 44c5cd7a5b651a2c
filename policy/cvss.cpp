// The CVSS v3.0/v3.1 base score of a vector, and the qualitative ratings Airlock names.

#include <airlock/policy/advisory.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace airlock::policy {

namespace {

// The CVSS v3 base metrics, in the specification's order, and the weights of their values.
struct Metric
{
  std::string_view key;
  std::string_view values; // one letter each
};

constexpr std::array<Metric, 8> k_base_metrics = {{{"AV", "NALP"},
                                                   {"AC", "LH"},
                                                   {"PR", "NLH"},
                                                   {"UI", "NR"},
                                                   {"S", "UC"},
                                                   {"C", "HLN"},
                                                   {"I", "HLN"},
                                                   {"A", "HLN"}}};

bool
is_upper_word(std::string_view text)
{
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

double
impact_weight(char value)
{
  return value == 'H' ? 0.56 : value == 'L' ? 0.22 : 0.0;
}

// CVSS v3.1 Appendix A: rounding up on an integer, so that 4.000000000000001 (a floating-point
// artefact) is 4.0, not 4.1.
double
roundup_v31(double value)
{
  const auto scaled = static_cast<std::int64_t>(std::llround(value * 100000.0));
  if (scaled % 10000 == 0) {
    return static_cast<double>(scaled) / 100000.0;
  }
  return static_cast<double>(scaled / 10000 + 1) / 10.0;
}

// CVSS v3.0 as its reference calculator computes it (and as v3.0 scores were published).
double
roundup_v30(double value)
{
  return std::ceil(value * 10.0) / 10.0;
}

} // namespace

std::string_view
to_string(Severity severity)
{
  switch (severity) {
  case Severity::none:
    return "none";
  case Severity::low:
    return "low";
  case Severity::medium:
    return "medium";
  case Severity::high:
    return "high";
  case Severity::critical:
    return "critical";
  }
  return "none";
}

std::optional<Severity>
parse_severity(std::string_view name)
{
  for (const Severity severity :
       {Severity::none, Severity::low, Severity::medium, Severity::high, Severity::critical}) {
    if (to_string(severity) == name) {
      return severity;
    }
  }
  return std::nullopt;
}

std::optional<double>
cvss3_base_score(std::string_view vector)
{
  bool v30 = false;
  if (vector.starts_with("CVSS:3.0/")) {
    v30 = true;
  } else if (!vector.starts_with("CVSS:3.1/")) {
    return std::nullopt;
  }
  std::string_view rest = vector.substr(9);
  std::array<char, k_base_metrics.size()> chosen{};
  for (;;) {
    const auto slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    const auto colon = part.find(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view key = part.substr(0, colon);
    const std::string_view value = part.substr(colon + 1);
    if (!is_upper_word(key) || !is_upper_word(value)) {
      return std::nullopt;
    }
    const auto metric = std::find_if(k_base_metrics.begin(), k_base_metrics.end(),
                                     [&](const Metric& m) { return m.key == key; });
    // Temporal and environmental metrics do not change the base score.
    if (metric != k_base_metrics.end()) {
      char& slot = chosen[static_cast<std::size_t>(metric - k_base_metrics.begin())];
      if (slot != 0 || value.size() != 1 || metric->values.find(value[0]) == std::string_view::npos) {
        return std::nullopt;
      }
      slot = value[0];
    }
    if (slash == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(slash + 1);
  }
  if (std::find(chosen.begin(), chosen.end(), char{0}) != chosen.end()) {
    return std::nullopt;
  }
  const auto [av, ac, pr, ui, scope, c, i, a] = chosen;
  const bool changed = scope == 'C';

  const double attack_vector = av == 'N' ? 0.85 : av == 'A' ? 0.62 : av == 'L' ? 0.55 : 0.2;
  const double complexity = ac == 'L' ? 0.77 : 0.44;
  const double privileges = pr == 'N' ? 0.85 : pr == 'L' ? (changed ? 0.68 : 0.62) : (changed ? 0.5 : 0.27);
  const double interaction = ui == 'N' ? 0.85 : 0.62;

  const double iss = 1.0 - ((1.0 - impact_weight(c)) * (1.0 - impact_weight(i)) * (1.0 - impact_weight(a)));
  const double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * std::pow(iss - 0.02, 15) : 6.42 * iss;
  const double exploitability = 8.22 * attack_vector * complexity * privileges * interaction;
  if (impact <= 0) {
    return 0.0;
  }
  const double raw = changed ? std::min(1.08 * (impact + exploitability), 10.0) : std::min(impact + exploitability, 10.0);
  return v30 ? roundup_v30(raw) : roundup_v31(raw);
}

Severity
severity_of_score(double score)
{
  if (!(score > 0.0)) {
    return Severity::none;
  }
  if (score < 4.0) {
    return Severity::low;
  }
  if (score < 7.0) {
    return Severity::medium;
  }
  if (score < 9.0) {
    return Severity::high;
  }
  return Severity::critical;
}

} // namespace airlock::policy
