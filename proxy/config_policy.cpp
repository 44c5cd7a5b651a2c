// [policy] and its [[policy.rule]]s: windows, the removal policy, globs, version specifiers,
// and the checks across rules (contradictions, a zero window for a public name).
#include "config_policy.hpp"

#include <airlock/policy/version.hpp>

namespace airlock::proxy::config_reader {

namespace {

// Checks a project glob. Rules match normalized names (PEP 503), so a glob that is not itself
// normalized ("Foo_Bar") could never match and would silently do nothing.
Expected<void>
check_project_glob(std::string_view glob)
{
  const auto invalid = [&](std::string_view why) {
    return make_unexpected(fmt::format("invalid glob \"{}\": {}", glob, why));
  };
  if (glob.empty()) {
    return invalid("must not be empty");
  }
  bool normalized = true;
  for (size_t i = 0; i < glob.size(); ++i) {
    const char c = glob[i];
    const bool lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (lower || c == '*' || c == '?') {
      continue;
    }
    if (c == '-') {
      normalized = normalized && (i + 1 == glob.size() || glob[i + 1] != '-');
      continue;
    }
    if ((c >= 'A' && c <= 'Z') || c == '_' || c == '.') {
      normalized = false;
      continue;
    }
    const auto byte = static_cast<unsigned char>(c);
    const auto shown = byte > 0x20 && byte < 0x7f ? fmt::format("'{}'", c) : fmt::format("byte 0x{:02x}", byte);
    return invalid(fmt::format("{} is not allowed (use a-z, 0-9, '-', '*' and '?')", shown));
  }
  if (!normalized) {
    return invalid("must be a normalized name glob (lowercase, '-' separators)");
  }
  return {};
}

// A rule as read, with what the cross-field checks need to name it.
struct ReadRule
{
  policy::Rule rule;
  std::string label; // "policy.rule[2] (airlock.toml:31)"
  std::uint32_t line = 0;
  bool valid = true;
};

std::optional<ReadRule>
read_rule(Problems& problems, const toml::node& node, size_t number)
{
  const auto name = fmt::format("policy.rule[{}]", number);
  const auto line = node.source().begin.line;
  if (!node.is_table()) {
    problems.add(line,
                 fmt::format("{}: {}: expected a table, got {}", problems.where(line), name, type_name(node.type())));
    return std::nullopt;
  }
  ReadRule read;
  read.line = line;
  read.label = fmt::format("{} ({})", name, problems.where(line));
  read.rule.origin = problems.where(line);

  Section section(problems, *node.as_table(), name);
  // Any problem inside the rule invalidates it for the cross-field checks, which would
  // otherwise pile consequences ("does nothing") onto the real mistake.
  const auto bad = [&](std::string_view key, std::string_view what) {
    section.invalid(key, what);
    read.valid = false;
  };
  const auto present = [&](std::string_view key) { return section.take(key) != nullptr; };

  if (auto project = section.string("project")) {
    auto checked = check_project_glob(*project);
    if (checked) {
      read.rule.project = *project;
    } else {
      bad("project", checked.error());
    }
  } else if (present("project")) {
    read.valid = false;
  } else {
    problems.add(line, fmt::format("{}: missing required key \"project\"", read.label));
    read.valid = false;
  }
  if (auto version = section.string("version")) {
    read.rule.version = *version;
  } else if (present("version")) {
    read.valid = false;
  }
  if (auto quarantine = section.duration("quarantine")) {
    read.rule.quarantine = *quarantine;
  } else if (present("quarantine")) {
    read.valid = false;
  }
  if (auto action = section.string("action")) {
    if (*action == "allow") {
      read.rule.action = policy::RuleAction::allow;
    } else if (*action == "block") {
      read.rule.action = policy::RuleAction::block;
    } else {
      bad("action", fmt::format("must be \"allow\" or \"block\", got \"{}\"", *action));
    }
  } else if (present("action")) {
    read.valid = false;
  }
  if (auto require = section.boolean("require_provenance")) {
    read.rule.require_provenance = *require;
  } else if (present("require_provenance")) {
    read.valid = false;
  }
  section.finish();
  return read;
}

std::string_view
action_name(policy::RuleAction action)
{
  switch (action) {
  case policy::RuleAction::none:
    return "none";
  case policy::RuleAction::allow:
    return "allow";
  case policy::RuleAction::block:
    return "block";
  }
  return "?";
}

// Rules that contradict themselves or each other: which one policy would follow is not
// something an operator should have to guess.
void
check_rules(Problems& problems, const std::vector<ReadRule>& rules)
{
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& read = rules[i];
    if (!read.valid) {
      continue;
    }
    const auto& rule = read.rule;
    const auto add = [&](std::string_view what) {
      problems.add(read.line, fmt::format("{}: {}", read.label, what));
    };
    if (rule.action == policy::RuleAction::none && !rule.quarantine && !rule.require_provenance) {
      add("does nothing: set quarantine, action or require_provenance");
    }
    if (!rule.version.empty()) {
      if (auto versions = policy::SpecifierSet::parse(rule.version); !versions) {
        add(versions.error());
      }
    }
    if (rule.action == policy::RuleAction::block && rule.quarantine) {
      add("action = \"block\" contradicts the quarantine override: a blocked file is never released");
    }
    if (rule.action == policy::RuleAction::block && rule.require_provenance) {
      add("action = \"block\" contradicts require_provenance: a blocked file is never served");
    }
    if (rule.action == policy::RuleAction::allow && rule.quarantine) {
      add("action = \"allow\" contradicts the quarantine override: an allowed file skips the window");
    }
    for (size_t j = 0; j < i; ++j) {
      const auto& earlier = rules[j];
      if (!earlier.valid || earlier.rule.project != rule.project || earlier.rule.version != rule.version) {
        continue;
      }
      if (rule.action != policy::RuleAction::none && earlier.rule.action != policy::RuleAction::none
          && rule.action != earlier.rule.action) {
        add(fmt::format("action = \"{}\" conflicts with {}, which says action = \"{}\" for the same project and "
                        "version",
                        action_name(rule.action),
                        earlier.label,
                        action_name(earlier.rule.action)));
      }
      if (rule.quarantine && earlier.rule.quarantine && *rule.quarantine != *earlier.rule.quarantine) {
        add(fmt::format("quarantine = {}s conflicts with {}, which says {}s for the same project and version",
                        rule.quarantine->count(),
                        earlier.label,
                        earlier.rule.quarantine->count()));
      }
    }
  }
}

} // namespace

void
read_policy(Problems& problems, Section section, policy::Options& out)
{
  if (auto quarantine = section.duration("quarantine")) {
    out.quarantine = *quarantine;
  }
  if (auto removal = section.string("on_upstream_removal")) {
    if (*removal == "block") {
      out.on_upstream_removal = policy::OnUpstreamRemoval::block;
    } else if (*removal == "keep") {
      out.on_upstream_removal = policy::OnUpstreamRemoval::keep;
    } else {
      section.invalid("on_upstream_removal",
                      fmt::format("must be \"block\" or \"keep\", got \"{}\"", *removal));
    }
  }
  if (auto horizon = section.duration("history_horizon")) {
    out.history_horizon = *horizon;
  }
  if (const auto* rules = section.array_of_tables("rule")) {
    std::vector<ReadRule> read_rules;
    size_t number = 0;
    for (const auto& node : *rules) {
      // Numbered from 1, as an operator counts the [[policy.rule]] blocks in the file.
      if (auto read = read_rule(problems, node, ++number)) {
        read_rules.push_back(std::move(*read));
      }
    }
    check_rules(problems, read_rules);
    for (auto& read : read_rules) {
      out.rules.push_back(std::move(read.rule));
    }
  }
  section.finish();
}

} // namespace airlock::proxy::config_reader
