#include <airlock/proxy/config.hpp>

#include <airlock/policy/version.hpp>

#include <airlock/util/error.hpp>
#include <airlock/util/fd.hpp>
#include <airlock/util/units.hpp>

#include <boost/url/parse.hpp>
#include <fmt/core.h>
#include <toml++/toml.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airlock::proxy {

namespace {

constexpr std::int64_t k_max_threads = 1024;
constexpr std::int64_t k_max_connections = 1'000'000;
constexpr std::uint64_t k_min_map_size = 1ULL << 20;

// Escapes control characters: messages echo values from the file, and TOML strings may hold
// "\n", which would break the one-line error contract of the command line.
std::string
one_line(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == '\x7f') {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

// Every problem found in one file. Reading goes on after a problem so that all of them are
// reported at once: fixing a config one error per restart wastes an operator's afternoon.
class Problems
{
public:
  explicit Problems(const std::string& source) : m_source(source) {}

  std::string
  where(std::uint32_t line) const
  {
    return fmt::format("{}:{}", m_source, line);
  }

  void
  add(std::uint32_t line, std::string message)
  {
    m_problems.emplace_back(line, std::move(message));
  }

  // Throws ConfigError with every problem, in file order, when there is any.
  void
  throw_if_any()
  {
    if (m_problems.empty()) {
      return;
    }
    std::stable_sort(m_problems.begin(), m_problems.end(), [](const auto& a, const auto& b) {
      return a.first < b.first;
    });
    std::string message;
    for (const auto& [line, text] : m_problems) {
      if (!message.empty()) {
        message += "; ";
      }
      message += text;
    }
    throw ConfigError(one_line(message));
  }

private:
  std::string m_source;
  std::vector<std::pair<std::uint32_t, std::string>> m_problems;
};

std::string_view
type_name(toml::node_type type)
{
  switch (type) {
  case toml::node_type::none:
    return "nothing";
  case toml::node_type::table:
    return "table";
  case toml::node_type::array:
    return "array";
  case toml::node_type::string:
    return "string";
  case toml::node_type::integer:
    return "integer";
  case toml::node_type::floating_point:
    return "float";
  case toml::node_type::boolean:
    return "boolean";
  case toml::node_type::date:
    return "date";
  case toml::node_type::time:
    return "time";
  case toml::node_type::date_time:
    return "date-time";
  }
  return "value";
}

// One TOML table being read. Each known key is taken once; whatever is left when the section
// is finished is an unknown key (a typo such as "lisen" must not silently mean the default).
class Section
{
public:
  Section(Problems& problems, const toml::table& table, std::string prefix)
    : m_problems(problems),
      m_table(table),
      m_prefix(std::move(prefix))
  {
  }

  // "server.listen", or "listen" for the top level.
  std::string
  name(std::string_view key) const
  {
    return m_prefix.empty() ? std::string(key) : fmt::format("{}.{}", m_prefix, key);
  }

  // Reports a bad value of a present `key`: "airlock.toml:3: server.threads: <what>".
  void
  invalid(std::string_view key, std::string_view what)
  {
    const auto line = m_table.get(key)->source().begin.line;
    m_problems.add(line, fmt::format("{}: {}: {}", m_problems.where(line), name(key), what));
  }

  // Marks `key` as consumed and returns its node; nullptr when absent.
  const toml::node*
  take(std::string_view key)
  {
    m_taken.emplace(key);
    return m_table.get(key);
  }

  std::optional<std::string>
  string(std::string_view key)
  {
    const auto* node = typed(key, toml::node_type::string, "a string");
    if (node == nullptr) {
      return std::nullopt;
    }
    return node->as_string()->get();
  }

  std::optional<std::int64_t>
  integer(std::string_view key)
  {
    const auto* node = typed(key, toml::node_type::integer, "an integer");
    if (node == nullptr) {
      return std::nullopt;
    }
    return node->as_integer()->get();
  }

  std::optional<bool>
  boolean(std::string_view key)
  {
    const auto* node = typed(key, toml::node_type::boolean, "a boolean");
    if (node == nullptr) {
      return std::nullopt;
    }
    return node->as_boolean()->get();
  }

  // A duration string of at least `minimum`.
  std::optional<Seconds>
  duration(std::string_view key, Seconds minimum = Seconds{0})
  {
    const auto* node = typed(key, toml::node_type::string, "a duration string (as in \"30s\")");
    if (node == nullptr) {
      return std::nullopt;
    }
    const auto& text = node->as_string()->get();
    auto parsed = parse_duration(text);
    if (!parsed) {
      invalid(key, parsed.error());
      return std::nullopt;
    }
    if (*parsed < minimum) {
      invalid(key, fmt::format("invalid duration \"{}\": must be at least {}s", text, minimum.count()));
      return std::nullopt;
    }
    return *parsed;
  }

  // A size string of at least `minimum` bytes, which `minimum_text` names for humans.
  std::optional<std::uint64_t>
  size(std::string_view key, std::uint64_t minimum, std::string_view minimum_text)
  {
    const auto* node = typed(key, toml::node_type::string, "a size string (as in \"32GiB\")");
    if (node == nullptr) {
      return std::nullopt;
    }
    const auto& text = node->as_string()->get();
    auto parsed = parse_size(text);
    if (!parsed) {
      invalid(key, parsed.error());
      return std::nullopt;
    }
    if (*parsed < minimum) {
      invalid(key, fmt::format("invalid size \"{}\": must be at least {}", text, minimum_text));
      return std::nullopt;
    }
    return *parsed;
  }

  const toml::table*
  table(std::string_view key)
  {
    const auto* node = typed(key, toml::node_type::table, "a table");
    return node == nullptr ? nullptr : node->as_table();
  }

  const toml::array*
  array_of_tables(std::string_view key)
  {
    const auto* node = typed(key, toml::node_type::array, "an array of tables");
    return node == nullptr ? nullptr : node->as_array();
  }

  // Reports every key nobody took.
  void
  finish()
  {
    for (const auto& [key, node] : m_table) {
      if (m_taken.count(key.str()) == 0) {
        const auto line = key.source().begin.line;
        m_problems.add(line, fmt::format("{}: unknown key \"{}\"", m_problems.where(line), name(key.str())));
      }
    }
  }

private:
  // Takes `key` and returns it when it has the wanted type; reports a wrong type.
  const toml::node*
  typed(std::string_view key, toml::node_type type, std::string_view expected)
  {
    const auto* node = take(key);
    if (node == nullptr) {
      return nullptr;
    }
    if (node->type() != type) {
      invalid(key, fmt::format("expected {}, got {}", expected, type_name(node->type())));
      return nullptr;
    }
    return node;
  }

  Problems& m_problems;
  const toml::table& m_table;
  std::string m_prefix;
  std::set<std::string, std::less<>> m_taken;
};

// Splits "127.0.0.1:3141" or "[::1]:3141" into a host (without brackets) and a port.
Expected<std::pair<std::string, std::uint16_t>>
parse_listen(std::string_view text)
{
  const auto invalid = [&](std::string_view why) {
    return make_unexpected(fmt::format("invalid address \"{}\": {}", text, why));
  };
  const bool bracketed = text.starts_with('[');
  auto colon = std::string_view::npos;
  if (!bracketed) {
    colon = text.rfind(':');
  } else if (const auto close = text.find("]:"); close != std::string_view::npos) {
    colon = close + 1;
  }
  if (colon == std::string_view::npos) {
    return invalid("expected host:port (as in 127.0.0.1:3141 or [::1]:3141)");
  }
  const std::string host(bracketed ? text.substr(1, colon - 2) : text.substr(0, colon));
  const std::string_view port_text = text.substr(colon + 1);

  unsigned port = 0;
  const auto* port_end = port_text.data() + port_text.size();
  const auto [ptr, ec] = std::from_chars(port_text.data(), port_end, port);
  if (port_text.empty() || ec != std::errc{} || ptr != port_end || port > 65535) {
    return invalid("port must be a number from 0 to 65535");
  }
  // Only literal addresses: the acceptor binds one address, and a name that resolves to
  // several would leave which one to luck.
  in6_addr address{};
  if (::inet_pton(bracketed ? AF_INET6 : AF_INET, host.c_str(), &address) != 1) {
    return invalid("host must be an IPv4 address or a bracketed IPv6 address (as in 127.0.0.1:3141 or "
                   "[::1]:3141)");
  }
  return std::pair{host, static_cast<std::uint16_t>(port)};
}

// Checks the upstream index URL: project names are appended to it, so it must be an http(s)
// directory URL without query or fragment.
Expected<void>
check_index_url(std::string_view text)
{
  const auto invalid = [&](std::string_view why) {
    return make_unexpected(fmt::format("invalid URL \"{}\": {}", text, why));
  };
  const auto url = boost::urls::parse_absolute_uri(text);
  if (!url || (url->scheme_id() != boost::urls::scheme::http && url->scheme_id() != boost::urls::scheme::https)
      || url->encoded_host().empty()) {
    return invalid("must be an http or https URL (as in https://pypi.org/simple/)");
  }
  if (url->has_query() || url->has_fragment()) {
    return invalid("must not have a query or fragment");
  }
  if (text.back() != '/') {
    return invalid("must end with '/' (as in https://pypi.org/simple/)");
  }
  return {};
}

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

void
read_server(Section section, ServerOptions& out)
{
  if (auto listen = section.string("listen")) {
    auto parsed = parse_listen(*listen);
    if (parsed) {
      out.listen_host = parsed->first;
      out.listen_port = parsed->second;
    } else {
      section.invalid("listen", parsed.error());
    }
  }
  if (auto threads = section.integer("threads")) {
    if (*threads < 0 || *threads > k_max_threads) {
      section.invalid("threads",
                      fmt::format("must be from 0 to {} (0 = one per core), got {}", k_max_threads, *threads));
    } else {
      out.threads = static_cast<unsigned>(*threads);
    }
  }
  if (auto timeout = section.duration("request_timeout", Seconds{1})) {
    out.request_timeout = *timeout;
  }
  if (auto timeout = section.duration("idle_timeout", Seconds{1})) {
    out.idle_timeout = *timeout;
  }
  if (auto connections = section.integer("max_connections")) {
    if (*connections < 1 || *connections > k_max_connections) {
      section.invalid("max_connections", fmt::format("must be from 1 to {}, got {}", k_max_connections, *connections));
    } else {
      out.max_connections = static_cast<unsigned>(*connections);
    }
  }
  section.finish();
}

void
read_upstream(Section section, UpstreamOptions& out)
{
  if (auto index = section.string("index")) {
    auto checked = check_index_url(*index);
    if (checked) {
      out.index = *index;
    } else {
      section.invalid("index", checked.error());
    }
  }
  // A zero timeout would fail every upstream request: a typo, not a choice.
  if (auto timeout = section.duration("timeout", Seconds{1})) {
    out.timeout = *timeout;
  }
  if (auto refresh = section.duration("refresh")) {
    out.refresh = *refresh;
  }
  section.finish();
}

void
read_storage(Section section, storage::Options& out)
{
  if (auto path = section.string("path")) {
    if (path->empty()) {
      section.invalid("path", "must not be empty");
    } else {
      out.path = *path;
    }
  }
  // LMDB needs room for its own pages; anything smaller is a typo for a larger unit.
  if (auto map_size = section.size("map_size", k_min_map_size, "1MiB")) {
    out.map_size = *map_size;
  }
  section.finish();
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

void
read_provenance(Section section, ProvenanceOptions& out)
{
  if (auto root = section.string("trusted_root")) {
    if (root->empty()) {
      section.invalid("trusted_root", "must not be empty");
    } else {
      out.trusted_root = *root;
    }
  }
  section.finish();
}

void
read_auth(Section section, AuthOptions& out)
{
  if (auto required = section.boolean("index_requires_token")) {
    out.index_requires_token = *required;
  }
  section.finish();
}

} // namespace

Config
parse_config(std::string_view text, const std::string& source)
{
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw ConfigError(one_line(fmt::format(
      "{}:{}:{}: {}", source, e.source().begin.line, e.source().begin.column, e.description())));
  }

  Problems problems(source);
  Config config;
  Section top(problems, root, "");
  if (const auto* table = top.table("server")) {
    read_server(Section(problems, *table, "server"), config.server);
  }
  if (const auto* table = top.table("upstream")) {
    read_upstream(Section(problems, *table, "upstream"), config.upstream);
  }
  if (const auto* table = top.table("storage")) {
    read_storage(Section(problems, *table, "storage"), config.storage);
  }
  if (const auto* table = top.table("policy")) {
    read_policy(problems, Section(problems, *table, "policy"), config.policy);
  }
  if (const auto* table = top.table("provenance")) {
    read_provenance(Section(problems, *table, "provenance"), config.provenance);
  }
  if (const auto* table = top.table("auth")) {
    read_auth(Section(problems, *table, "auth"), config.auth);
  }
  top.finish();
  problems.throw_if_any();
  return config;
}

Config
load_config(const std::filesystem::path& path)
{
  const std::string source = path.string();
  const auto cannot_read = [&] {
    return ConfigError(one_line(fmt::format("{}: cannot read: {}", source, std::strerror(errno))));
  };
  Fd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    throw cannot_read();
  }
  std::string text;
  char buffer[16384];
  while (true) {
    const auto n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      throw cannot_read();
    }
    if (n == 0) {
      break;
    }
    text.append(buffer, static_cast<size_t>(n));
  }
  return parse_config(text, source);
}

} // namespace airlock::proxy
