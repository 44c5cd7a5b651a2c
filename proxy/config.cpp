// The configuration file: [server], [upstream], [storage], [provenance], [advisories] and [auth] read here,
// [policy] in config_policy.cpp; every problem in the file reported at once.
#include <airlock/proxy/config.hpp>

#include "config_policy.hpp"
#include "config_reader.hpp"

#include <airlock/util/text.hpp>

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

using namespace config_reader;

namespace {

constexpr std::int64_t k_max_threads = 1024;
constexpr std::int64_t k_max_connections = 1'000'000;
constexpr std::uint64_t k_min_map_size = 1ULL << 20;

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
  if (auto hosts = section.strings("file_hosts")) {
    for (const auto& host : *hosts) {
      // A bare host name: what a URL's authority holds, without scheme, port or path.
      const bool bare = !host.empty() && host.find_first_of(":/@ ") == std::string::npos;
      if (!bare) {
        section.invalid("file_hosts", fmt::format("\"{}\" is not a host name (as in \"files.pythonhosted.org\")", host));
        break;
      }
      out.file_hosts.push_back(lowercase(host));
    }
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
read_advisories(Section section, AdvisoryOptions& out, policy::Options& policy)
{
  if (auto path = section.string("path")) {
    if (path->empty()) {
      section.invalid("path", "must not be empty");
    } else {
      out.path = *path;
    }
  }
  if (auto refresh = section.duration("refresh", Seconds{1})) {
    out.refresh = *refresh;
  }
  if (auto max_age = section.duration("max_age", Seconds{1})) {
    out.max_age = *max_age;
  }
  if (auto limit = section.integer("max_new_blocks")) {
    if (*limit < 0 || *limit > 1'000'000) {
      section.invalid("max_new_blocks", fmt::format("must be from 0 to 1000000, got {}", *limit));
    } else {
      out.max_new_blocks = static_cast<unsigned>(*limit);
    }
  }
  if (auto severity = section.string("block_severity")) {
    if (const auto parsed = policy::parse_severity(*severity); parsed && *parsed != policy::Severity::low) {
      policy.block_severity = *parsed;
    } else {
      section.invalid("block_severity", fmt::format("must be \"critical\", \"high\", \"medium\" or \"none\", got \"{}\"",
                                                    *severity));
    }
  }
  if (auto fast_track = section.boolean("fast_track_fixes")) {
    policy.fast_track_fixes = *fast_track;
  }
  if (auto minimum = section.duration("fast_track_min")) {
    policy.fast_track_min = *minimum;
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

std::vector<std::string>
allowed_upstream_hosts(const UpstreamOptions& upstream)
{
  const auto url = boost::urls::parse_absolute_uri(upstream.index);
  const std::string index_host = url ? lowercase(std::string(url->host_address())) : std::string();
  std::vector<std::string> out{index_host};
  if (!upstream.file_hosts.empty()) {
    out.insert(out.end(), upstream.file_hosts.begin(), upstream.file_hosts.end());
  } else if (index_host == "pypi.org") {
    out.emplace_back("files.pythonhosted.org");
  }
  return out;
}

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
  if (const auto* table = top.table("advisories")) {
    read_advisories(Section(problems, *table, "advisories"), config.advisories, config.policy);
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
