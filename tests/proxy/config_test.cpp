#include <airlock/proxy/config.hpp>

#include <airlock/util/error.hpp>

#include "testutil.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

using airlock::ConfigError;
using airlock::Seconds;
using airlock::policy::OnUpstreamRemoval;
using airlock::policy::Rule;
using airlock::policy::RuleAction;
using airlock::proxy::allowed_upstream_hosts;
using airlock::proxy::Config;
using airlock::proxy::load_config;
using airlock::proxy::parse_config;
using namespace std::chrono_literals;

namespace {

Config
parse(std::string_view text)
{
  return parse_config(text, "airlock.toml");
}

// The whole ConfigError message for `text`, or "no error".
std::string
problems_of(std::string_view text)
{
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

// --- defaults ---------------------------------------------------------------------------

TEST(Config, EmptyFileGivesExactlyTheDefaults)
{
  const Config config = parse("");
  EXPECT_EQ(config.server.listen_host, "127.0.0.1");
  EXPECT_EQ(config.server.listen_port, 3141);
  EXPECT_EQ(config.server.threads, 0U);
  EXPECT_EQ(config.server.request_timeout, 30s);
  EXPECT_EQ(config.server.idle_timeout, 60s);
  EXPECT_EQ(config.server.max_connections, 10000U);
  EXPECT_EQ(config.upstream.index, "https://pypi.org/simple/");
  EXPECT_EQ(config.upstream.timeout, 10s);
  EXPECT_EQ(config.upstream.refresh, 10min);
  EXPECT_EQ(config.storage.path, "./airlock-data");
  EXPECT_EQ(config.storage.map_size, 32ULL << 30);
  EXPECT_EQ(config.policy.quarantine, std::chrono::days{7});
  EXPECT_EQ(config.policy.on_upstream_removal, OnUpstreamRemoval::block);
  EXPECT_EQ(config.policy.history_horizon, std::chrono::days{30});
  EXPECT_TRUE(config.policy.rules.empty());
  EXPECT_TRUE(config.provenance.trusted_root.empty());
  EXPECT_FALSE(config.auth.index_requires_token);
}

TEST(Config, CommentsAndEmptyTablesGiveTheDefaults)
{
  const Config config = parse("# nothing\n[server]\n[upstream]\n[storage]\n[policy]\n[provenance]\n[auth]\n");
  const Config defaults;
  EXPECT_EQ(config.server.listen_host, defaults.server.listen_host);
  EXPECT_EQ(config.server.listen_port, defaults.server.listen_port);
  EXPECT_EQ(config.upstream.index, defaults.upstream.index);
  EXPECT_EQ(config.storage.map_size, defaults.storage.map_size);
  EXPECT_EQ(config.policy.quarantine, defaults.policy.quarantine);
  EXPECT_TRUE(config.policy.rules.empty());
}

// --- [server] ---------------------------------------------------------------------------

TEST(Config, ServerHappyPath)
{
  const Config config = parse("[server]\nlisten = \"0.0.0.0:8080\"\nthreads = 8\n");
  EXPECT_EQ(config.server.listen_host, "0.0.0.0");
  EXPECT_EQ(config.server.listen_port, 8080);
  EXPECT_EQ(config.server.threads, 8U);
}

TEST(Config, ServerListenIpv6AndPortZero)
{
  const Config ipv6 = parse("[server]\nlisten = \"[::1]:0\"\n");
  EXPECT_EQ(ipv6.server.listen_host, "::1");
  EXPECT_EQ(ipv6.server.listen_port, 0);
  const Config any = parse("[server]\nlisten = \"[::]:65535\"\n");
  EXPECT_EQ(any.server.listen_host, "::");
  EXPECT_EQ(any.server.listen_port, 65535);
}

TEST(Config, ServerThreadsBounds)
{
  EXPECT_EQ(parse("[server]\nthreads = 0\n").server.threads, 0U);
  EXPECT_EQ(parse("[server]\nthreads = 1024\n").server.threads, 1024U);
  EXPECT_EQ(problems_of("[server]\nthreads = 1025\n"),
            "airlock.toml:2: server.threads: must be from 0 to 1024 (0 = one per core), got 1025");
  EXPECT_EQ(problems_of("[server]\nthreads = -1\n"),
            "airlock.toml:2: server.threads: must be from 0 to 1024 (0 = one per core), got -1");
}

TEST(Config, ServerTimeoutsAndConnectionLimit)
{
  const Config config =
    parse("[server]\nrequest_timeout = \"5s\"\nidle_timeout = \"2m\"\nmax_connections = 20000\n");
  EXPECT_EQ(config.server.request_timeout, 5s);
  EXPECT_EQ(config.server.idle_timeout, 120s);
  EXPECT_EQ(config.server.max_connections, 20000U);
  EXPECT_NE(problems_of("[server]\nrequest_timeout = \"0s\"\n").find("server.request_timeout"), std::string::npos);
  EXPECT_NE(problems_of("[server]\nidle_timeout = \"soon\"\n").find("server.idle_timeout"), std::string::npos);
  EXPECT_EQ(problems_of("[server]\nmax_connections = 0\n"),
            "airlock.toml:2: server.max_connections: must be from 1 to 1000000, got 0");
}

TEST(Config, ServerListenBadValues)
{
  const std::string host_hint =
    "host must be an IPv4 address or a bracketed IPv6 address (as in 127.0.0.1:3141 or [::1]:3141)";
  const std::string port_hint = "port must be a number from 0 to 65535";
  const std::string form_hint = "expected host:port (as in 127.0.0.1:3141 or [::1]:3141)";
  EXPECT_EQ(problems_of("[server]\nlisten = \"127.0.0.1\"\n"),
            "airlock.toml:2: server.listen: invalid address \"127.0.0.1\": " + form_hint);
  EXPECT_EQ(problems_of("[server]\nlisten = \"[::1]\"\n"),
            "airlock.toml:2: server.listen: invalid address \"[::1]\": " + form_hint);
  EXPECT_EQ(problems_of("[server]\nlisten = \"127.0.0.1:65536\"\n"),
            "airlock.toml:2: server.listen: invalid address \"127.0.0.1:65536\": " + port_hint);
  EXPECT_EQ(problems_of("[server]\nlisten = \"127.0.0.1:\"\n"),
            "airlock.toml:2: server.listen: invalid address \"127.0.0.1:\": " + port_hint);
  EXPECT_EQ(problems_of("[server]\nlisten = \"127.0.0.1:+80\"\n"),
            "airlock.toml:2: server.listen: invalid address \"127.0.0.1:+80\": " + port_hint);
  EXPECT_EQ(problems_of("[server]\nlisten = \"127.0.0.1:80x\"\n"),
            "airlock.toml:2: server.listen: invalid address \"127.0.0.1:80x\": " + port_hint);
  EXPECT_EQ(problems_of("[server]\nlisten = \"localhost:3141\"\n"),
            "airlock.toml:2: server.listen: invalid address \"localhost:3141\": " + host_hint);
  EXPECT_EQ(problems_of("[server]\nlisten = \"::1:3141\"\n"),
            "airlock.toml:2: server.listen: invalid address \"::1:3141\": " + host_hint);
  EXPECT_EQ(problems_of("[server]\nlisten = \"[127.0.0.1]:3141\"\n"),
            "airlock.toml:2: server.listen: invalid address \"[127.0.0.1]:3141\": " + host_hint);
  EXPECT_EQ(problems_of("[server]\nlisten = \":3141\"\n"),
            "airlock.toml:2: server.listen: invalid address \":3141\": " + host_hint);
}

// --- [upstream] -------------------------------------------------------------------------

TEST(Config, UpstreamHappyPath)
{
  const Config config = parse("[upstream]\n"
                              "index = \"http://mirror.internal:8080/pypi/simple/\"\n"
                              "timeout = \"5s\"\n"
                              "refresh = \"0s\"\n");
  EXPECT_EQ(config.upstream.index, "http://mirror.internal:8080/pypi/simple/");
  EXPECT_EQ(config.upstream.timeout, 5s);
  EXPECT_EQ(config.upstream.refresh, 0s);
}

TEST(Config, UpstreamIndexBadValues)
{
  EXPECT_EQ(problems_of("[upstream]\nindex = \"https://pypi.org/simple\"\n"),
            "airlock.toml:2: upstream.index: invalid URL \"https://pypi.org/simple\": must end with '/' (as in "
            "https://pypi.org/simple/)");
  EXPECT_EQ(problems_of("[upstream]\nindex = \"ftp://pypi.org/simple/\"\n"),
            "airlock.toml:2: upstream.index: invalid URL \"ftp://pypi.org/simple/\": must be an http or https URL "
            "(as in https://pypi.org/simple/)");
  EXPECT_EQ(problems_of("[upstream]\nindex = \"pypi.org/simple/\"\n"),
            "airlock.toml:2: upstream.index: invalid URL \"pypi.org/simple/\": must be an http or https URL (as "
            "in https://pypi.org/simple/)");
  EXPECT_EQ(problems_of("[upstream]\nindex = \"https:///simple/\"\n"),
            "airlock.toml:2: upstream.index: invalid URL \"https:///simple/\": must be an http or https URL (as "
            "in https://pypi.org/simple/)");
  EXPECT_EQ(problems_of("[upstream]\nindex = \"https://pypi.org/sim ple/\"\n"),
            "airlock.toml:2: upstream.index: invalid URL \"https://pypi.org/sim ple/\": must be an http or https "
            "URL (as in https://pypi.org/simple/)");
  EXPECT_EQ(problems_of("[upstream]\nindex = \"https://pypi.org/simple/?a=/\"\n"),
            "airlock.toml:2: upstream.index: invalid URL \"https://pypi.org/simple/?a=/\": must not have a query "
            "or fragment");
  EXPECT_EQ(problems_of("[upstream]\nindex = \"\"\n"),
            "airlock.toml:2: upstream.index: invalid URL \"\": must be an http or https URL (as in "
            "https://pypi.org/simple/)");
}

TEST(Config, UpstreamDurationsBadValues)
{
  EXPECT_EQ(problems_of("[upstream]\ntimeout = \"0s\"\n"),
            "airlock.toml:2: upstream.timeout: invalid duration \"0s\": must be at least 1s");
  EXPECT_EQ(problems_of("[upstream]\nrefresh = \"10 m\"\n"),
            "airlock.toml:2: upstream.refresh: invalid duration \"10 m\": unit must be s, m, h or d (as in 30s, "
            "10m, 36h, 7d)");
  EXPECT_EQ(problems_of("[upstream]\nrefresh = \"10\"\n"),
            "airlock.toml:2: upstream.refresh: invalid duration \"10\": unit must be s, m, h or d (as in 30s, "
            "10m, 36h, 7d)");
  EXPECT_EQ(problems_of("[upstream]\ntimeout = \"-5s\"\n"),
            "airlock.toml:2: upstream.timeout: invalid duration \"-5s\": expected a number and a unit");
}

// --- [storage] --------------------------------------------------------------------------

TEST(Config, StorageHappyPath)
{
  const Config config = parse("[storage]\npath = \"data/airlock\"\nmap_size = \"1MiB\"\n");
  // Relative paths are kept as given: they resolve against the working directory at startup.
  EXPECT_EQ(config.storage.path, "data/airlock");
  EXPECT_EQ(config.storage.map_size, 1ULL << 20);
  EXPECT_EQ(parse("[storage]\nmap_size = \"2TiB\"\n").storage.map_size, 2ULL << 40);
  EXPECT_EQ(parse("[storage]\npath = \"/var/lib/airlock\"\n").storage.path, "/var/lib/airlock");
}

TEST(Config, StorageBadValues)
{
  EXPECT_EQ(problems_of("[storage]\nmap_size = \"512KiB\"\n"),
            "airlock.toml:2: storage.map_size: invalid size \"512KiB\": must be at least 1MiB");
  EXPECT_EQ(problems_of("[storage]\nmap_size = \"0\"\n"),
            "airlock.toml:2: storage.map_size: invalid size \"0\": must be at least 1MiB");
  EXPECT_EQ(problems_of("[storage]\nmap_size = \"32GB!\"\n"),
            "airlock.toml:2: storage.map_size: invalid size \"32GB!\": unit must be B, KiB, MiB, GiB, TiB, KB, "
            "MB, GB or TB");
  EXPECT_EQ(problems_of("[storage]\nmap_size = \"lots\"\n"),
            "airlock.toml:2: storage.map_size: invalid size \"lots\": expected a number and a unit");
  EXPECT_EQ(problems_of("[storage]\nmap_size = \"99999999999TiB\"\n"),
            "airlock.toml:2: storage.map_size: invalid size \"99999999999TiB\": too large");
  EXPECT_EQ(problems_of("[storage]\npath = \"\"\n"), "airlock.toml:2: storage.path: must not be empty");
}

// --- [policy] ---------------------------------------------------------------------------

TEST(Config, PolicyHappyPath)
{
  const Config config = parse("[policy]\n"
                              "quarantine = \"3d\"\n"
                              "on_upstream_removal = \"keep\"\n"
                              "history_horizon = \"36h\"\n");
  EXPECT_EQ(config.policy.quarantine, std::chrono::days{3});
  EXPECT_EQ(config.policy.on_upstream_removal, OnUpstreamRemoval::keep);
  EXPECT_EQ(config.policy.history_horizon, 36h);
  EXPECT_EQ(parse("[policy]\non_upstream_removal = \"block\"\n").policy.on_upstream_removal,
            OnUpstreamRemoval::block);
  EXPECT_EQ(parse("[policy]\nquarantine = \"0s\"\n").policy.quarantine, 0s);
}

TEST(Config, PolicyBadValues)
{
  EXPECT_EQ(problems_of("[policy]\nquarantine = \"7x\"\n"),
            "airlock.toml:2: policy.quarantine: invalid duration \"7x\": unit must be s, m, h or d (as in 30s, "
            "10m, 36h, 7d)");
  EXPECT_EQ(problems_of("[policy]\nquarantine = \"7 d\"\n"),
            "airlock.toml:2: policy.quarantine: invalid duration \"7 d\": unit must be s, m, h or d (as in 30s, "
            "10m, 36h, 7d)");
  EXPECT_EQ(problems_of("[policy]\nhistory_horizon = \"99999999999999999999d\"\n"),
            "airlock.toml:2: policy.history_horizon: invalid duration \"99999999999999999999d\": number too large");
  EXPECT_EQ(problems_of("[policy]\nhistory_horizon = \"36500000d\"\n"),
            "airlock.toml:2: policy.history_horizon: invalid duration \"36500000d\": longer than 100 years");
  EXPECT_EQ(problems_of("[policy]\non_upstream_removal = \"delete\"\n"),
            "airlock.toml:2: policy.on_upstream_removal: must be \"block\" or \"keep\", got \"delete\"");
  EXPECT_EQ(problems_of("[policy]\non_upstream_removal = \"Block\"\n"),
            "airlock.toml:2: policy.on_upstream_removal: must be \"block\" or \"keep\", got \"Block\"");
}

TEST(Config, RulesHappyPathKeepOrderAndOrigin)
{
  const Config config = parse("[policy]\n"
                              "quarantine = \"7d\"\n"
                              "\n"
                              "[[policy.rule]]\n"
                              "project = \"internal-*\"\n"
                              "quarantine = \"0s\"\n"
                              "\n"
                              "[[policy.rule]]\n"
                              "project = \"litellm\"\n"
                              "require_provenance = true\n"
                              "\n"
                              "[[policy.rule]]\n"
                              "project = \"evil-pkg\"\n"
                              "action = \"block\"\n"
                              "\n"
                              "[[policy.rule]]\n"
                              "project = \"litellm\"\n"
                              "version = \">=1.82.7,<1.83\"\n"
                              "action = \"block\"\n"
                              "\n"
                              "[[policy.rule]]\n"
                              "project = \"numpy\"\n"
                              "action = \"allow\"\n"
                              "require_provenance = false\n"
                              "\n"
                              "[[policy.rule]]\n"
                              "project = \"py?-*\"\n"
                              "version = \">=1.0,<2\"\n"
                              "quarantine = \"14d\"\n"
                              "require_provenance = true\n");
  const std::vector<Rule> expected = {
    {"internal-*", "", 0s, RuleAction::none, false, "airlock.toml:4"},
    {"litellm", "", std::nullopt, RuleAction::none, true, "airlock.toml:8"},
    {"evil-pkg", "", std::nullopt, RuleAction::block, false, "airlock.toml:12"},
    {"litellm", ">=1.82.7,<1.83", std::nullopt, RuleAction::block, false, "airlock.toml:16"},
    {"numpy", "", std::nullopt, RuleAction::allow, false, "airlock.toml:21"},
    {"py?-*", ">=1.0,<2", std::chrono::days{14}, RuleAction::none, true, "airlock.toml:26"},
  };
  EXPECT_EQ(config.policy.rules, expected);
}

TEST(Config, RulesInlineArrayOfTables)
{
  const Config config = parse("[policy]\nrule = [{ project = \"a\", action = \"block\" }]\n");
  ASSERT_EQ(config.policy.rules.size(), 1U);
  EXPECT_EQ(config.policy.rules[0].project, "a");
  EXPECT_EQ(config.policy.rules[0].action, RuleAction::block);
  EXPECT_EQ(config.policy.rules[0].origin, "airlock.toml:2");
}

TEST(Config, RuleProjectMustBeANormalizedGlob)
{
  const auto rule = [](std::string_view project) {
    return problems_of("[[policy.rule]]\nproject = \"" + std::string(project) + "\"\naction = \"block\"\n");
  };
  const std::string normalized = "must be a normalized name glob (lowercase, '-' separators)";
  EXPECT_EQ(rule("Django"), "airlock.toml:2: policy.rule[1].project: invalid glob \"Django\": " + normalized);
  EXPECT_EQ(rule("foo_bar"), "airlock.toml:2: policy.rule[1].project: invalid glob \"foo_bar\": " + normalized);
  EXPECT_EQ(rule("zope.interface"),
            "airlock.toml:2: policy.rule[1].project: invalid glob \"zope.interface\": " + normalized);
  EXPECT_EQ(rule("foo--bar"), "airlock.toml:2: policy.rule[1].project: invalid glob \"foo--bar\": " + normalized);
  EXPECT_EQ(rule("foo/bar"),
            "airlock.toml:2: policy.rule[1].project: invalid glob \"foo/bar\": '/' is not allowed (use a-z, 0-9, "
            "'-', '*' and '?')");
  EXPECT_EQ(rule("[ab]*"),
            "airlock.toml:2: policy.rule[1].project: invalid glob \"[ab]*\": '[' is not allowed (use a-z, 0-9, "
            "'-', '*' and '?')");
  EXPECT_EQ(rule("caf\u00e9"),
            "airlock.toml:2: policy.rule[1].project: invalid glob \"caf\u00e9\": byte 0xc3 is not allowed (use "
            "a-z, 0-9, '-', '*' and '?')");
  EXPECT_EQ(rule("a b"),
            "airlock.toml:2: policy.rule[1].project: invalid glob \"a b\": byte 0x20 is not allowed (use a-z, 0-9, "
            "'-', '*' and '?')");
  EXPECT_EQ(rule(""), "airlock.toml:2: policy.rule[1].project: invalid glob \"\": must not be empty");
  EXPECT_EQ(rule("*"), "no error");
  EXPECT_EQ(rule("a-b-c9?"), "no error");
}

TEST(Config, RuleBadValuesAndTypes)
{
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\naction = \"deny\"\n"),
            "airlock.toml:3: policy.rule[1].action: must be \"allow\" or \"block\", got \"deny\"");
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\nquarantine = \"1w\"\n"),
            "airlock.toml:3: policy.rule[1].quarantine: invalid duration \"1w\": unit must be s, m, h or d (as "
            "in 30s, 10m, 36h, 7d)");
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\nrequire_provenance = \"yes\"\n"),
            "airlock.toml:3: policy.rule[1].require_provenance: expected a boolean, got string");
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = [\"a\"]\naction = \"block\"\n"),
            "airlock.toml:2: policy.rule[1].project: expected a string, got array");
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\nversion = 1.82\naction = \"block\"\n"),
            "airlock.toml:3: policy.rule[1].version: expected a string, got float");
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\nquarantine = 0\n"),
            "airlock.toml:3: policy.rule[1].quarantine: expected a duration string (as in \"30s\"), got integer");
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\naction = true\n"),
            "airlock.toml:3: policy.rule[1].action: expected a string, got boolean");
  EXPECT_EQ(problems_of("[policy]\nrule = [1]\n"), "airlock.toml:2: policy.rule[1]: expected a table, got integer");
  EXPECT_EQ(problems_of("[policy.rule]\nproject = \"a\"\naction = \"block\"\n"),
            "airlock.toml:1: policy.rule: expected an array of tables, got table");
}

TEST(Config, RuleMissingProject)
{
  EXPECT_EQ(problems_of("[policy]\n\n[[policy.rule]]\naction = \"block\"\n"),
            "policy.rule[1] (airlock.toml:3): missing required key \"project\"");
}

// --- [provenance], [auth] ---------------------------------------------------------------

TEST(Config, ProvenanceAndAuthHappyPath)
{
  const Config config = parse("[provenance]\ntrusted_root = \"/etc/airlock/trusted_root.json\"\n"
                              "[auth]\nindex_requires_token = true\n");
  EXPECT_EQ(config.provenance.trusted_root, "/etc/airlock/trusted_root.json");
  EXPECT_TRUE(config.auth.index_requires_token);
  EXPECT_FALSE(parse("[auth]\nindex_requires_token = false\n").auth.index_requires_token);
}

TEST(Config, ProvenanceAndAuthBadValues)
{
  EXPECT_EQ(problems_of("[provenance]\ntrusted_root = \"\"\n"),
            "airlock.toml:2: provenance.trusted_root: must not be empty");
  EXPECT_EQ(problems_of("[auth]\nindex_requires_token = 1\n"),
            "airlock.toml:2: auth.index_requires_token: expected a boolean, got integer");
}

TEST(Config, UpstreamFileHosts)
{
  EXPECT_EQ(allowed_upstream_hosts(parse("").upstream),
            (std::vector<std::string>{"pypi.org", "files.pythonhosted.org"}));
  EXPECT_EQ(allowed_upstream_hosts(parse("[upstream]\nindex = \"https://Mirror.Example:8443/simple/\"\n").upstream),
            (std::vector<std::string>{"mirror.example"}));
  const auto listed = parse("[upstream]\nindex = \"http://127.0.0.1:9/simple/\"\n"
                            "file_hosts = [\"Files.Example\", \"cdn.example\"]\n");
  EXPECT_EQ(allowed_upstream_hosts(listed.upstream),
            (std::vector<std::string>{"127.0.0.1", "files.example", "cdn.example"}));
  EXPECT_EQ(problems_of("[upstream]\nfile_hosts = [\"https://files.example/\"]\n"),
            "airlock.toml:2: upstream.file_hosts: \"https://files.example/\" is not a host name (as in "
            "\"files.pythonhosted.org\")");
  EXPECT_EQ(problems_of("[upstream]\nfile_hosts = [1]\n"),
            "airlock.toml:2: upstream.file_hosts: expected an array of strings");
}

// --- [advisories] -----------------------------------------------------------------------

TEST(Config, AdvisoriesDefaultsAndHappyPath)
{
  const Config defaults = parse("");
  EXPECT_TRUE(defaults.advisories.path.empty());
  EXPECT_EQ(defaults.advisories.refresh, std::chrono::minutes{10});
  EXPECT_EQ(defaults.advisories.max_age, std::chrono::days{2});
  EXPECT_EQ(defaults.advisories.max_new_blocks, 20U);
  EXPECT_EQ(defaults.policy.block_severity, airlock::policy::Severity::none);
  EXPECT_FALSE(defaults.policy.fast_track_fixes);
  EXPECT_EQ(defaults.policy.fast_track_min, std::chrono::hours{24});

  const Config config = parse("[advisories]\npath = \"/var/lib/airlock-feeds/osv\"\nrefresh = \"1m\"\n"
                              "max_age = \"1d\"\nmax_new_blocks = 5\nblock_severity = \"high\"\n"
                              "fast_track_fixes = true\nfast_track_min = \"12h\"\n");
  EXPECT_EQ(config.advisories.path, "/var/lib/airlock-feeds/osv");
  EXPECT_EQ(config.advisories.refresh, std::chrono::minutes{1});
  EXPECT_EQ(config.advisories.max_age, std::chrono::days{1});
  EXPECT_EQ(config.advisories.max_new_blocks, 5U);
  EXPECT_EQ(config.policy.block_severity, airlock::policy::Severity::high);
  EXPECT_TRUE(config.policy.fast_track_fixes);
  EXPECT_EQ(config.policy.fast_track_min, std::chrono::hours{12});
}

TEST(Config, AdvisoriesBadValues)
{
  EXPECT_EQ(problems_of("[advisories]\nblock_severity = \"low\"\n"),
            "airlock.toml:2: advisories.block_severity: must be \"critical\", \"high\", \"medium\" or \"none\", "
            "got \"low\"");
  EXPECT_EQ(problems_of("[advisories]\nmax_new_blocks = -1\n"),
            "airlock.toml:2: advisories.max_new_blocks: must be from 0 to 1000000, got -1");
  EXPECT_EQ(problems_of("[advisories]\npath = \"\"\n"), "airlock.toml:2: advisories.path: must not be empty");
  EXPECT_NE(problems_of("[advisories]\nrefresh = \"0s\"\n").find("advisories.refresh"), std::string::npos);
  EXPECT_NE(problems_of("[advisories]\nwindow = \"1d\"\n").find("unknown key"), std::string::npos);
}

// --- wrong types ------------------------------------------------------------------------

TEST(Config, WrongTypeOfEveryKey)
{
  EXPECT_EQ(problems_of("[server]\nthreads = \"8\"\n"),
            "airlock.toml:2: server.threads: expected an integer, got string");
  EXPECT_EQ(problems_of("[server]\nthreads = 8.0\n"), "airlock.toml:2: server.threads: expected an integer, got float");
  EXPECT_EQ(problems_of("[server]\nlisten = 3141\n"), "airlock.toml:2: server.listen: expected a string, got integer");
  EXPECT_EQ(problems_of("[upstream]\nindex = true\n"),
            "airlock.toml:2: upstream.index: expected a string, got boolean");
  EXPECT_EQ(problems_of("[upstream]\ntimeout = 30\n"),
            "airlock.toml:2: upstream.timeout: expected a duration string (as in \"30s\"), got integer");
  EXPECT_EQ(problems_of("[upstream]\nrefresh = 10:00:00\n"),
            "airlock.toml:2: upstream.refresh: expected a duration string (as in \"30s\"), got time");
  EXPECT_EQ(problems_of("[upstream]\nindex.url = \"x\"\n"),
            "airlock.toml:2: upstream.index: expected a string, got table");
  EXPECT_EQ(problems_of("[storage]\npath = {}\n"), "airlock.toml:2: storage.path: expected a string, got table");
  EXPECT_EQ(problems_of("[storage]\nmap_size = 1073741824\n"),
            "airlock.toml:2: storage.map_size: expected a size string (as in \"32GiB\"), got integer");
  EXPECT_EQ(problems_of("[policy]\nquarantine = 7\n"),
            "airlock.toml:2: policy.quarantine: expected a duration string (as in \"30s\"), got integer");
  EXPECT_EQ(problems_of("[policy]\non_upstream_removal = false\n"),
            "airlock.toml:2: policy.on_upstream_removal: expected a string, got boolean");
  EXPECT_EQ(problems_of("[policy]\nhistory_horizon = 2026-01-01\n"),
            "airlock.toml:2: policy.history_horizon: expected a duration string (as in \"30s\"), got date");
  EXPECT_EQ(problems_of("[policy]\nrule = \"x\"\n"),
            "airlock.toml:2: policy.rule: expected an array of tables, got string");
  EXPECT_EQ(problems_of("[provenance]\ntrusted_root = []\n"),
            "airlock.toml:2: provenance.trusted_root: expected a string, got array");
  EXPECT_EQ(problems_of("[auth]\nindex_requires_token = \"yes\"\n"),
            "airlock.toml:2: auth.index_requires_token: expected a boolean, got string");
  EXPECT_EQ(problems_of("\nserver = \"127.0.0.1:3141\"\n"), "airlock.toml:2: server: expected a table, got string");
  EXPECT_EQ(problems_of("auth = 1979-05-27T07:32:00Z\n"), "airlock.toml:1: auth: expected a table, got date-time");
}

// --- unknown keys and tables ------------------------------------------------------------

TEST(Config, UnknownKeys)
{
  EXPECT_EQ(problems_of("[server]\nlisten = \"127.0.0.1:3141\"\nlisen = \"0.0.0.0:80\"\n"),
            "airlock.toml:3: unknown key \"server.lisen\"");
  EXPECT_EQ(problems_of("threads = 4\n"), "airlock.toml:1: unknown key \"threads\"");
  EXPECT_EQ(problems_of("[policy]\nwindow = \"7d\"\n"), "airlock.toml:2: unknown key \"policy.window\"");
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\naction = \"block\"\nprojct = \"b\"\n"),
            "airlock.toml:4: unknown key \"policy.rule[1].projct\"");
  EXPECT_EQ(problems_of("[upstream]\nindx = \"https://pypi.org/simple/\"\n"),
            "airlock.toml:2: unknown key \"upstream.indx\"");
}

TEST(Config, UnknownTables)
{
  EXPECT_EQ(problems_of("[serverr]\nlisten = \"127.0.0.1:3141\"\n"), "airlock.toml:1: unknown key \"serverr\"");
  EXPECT_EQ(problems_of("[server.tls]\ncert = \"x\"\n"), "airlock.toml:1: unknown key \"server.tls\"");
  EXPECT_EQ(problems_of("[[mirrors]]\nurl = \"x\"\n"), "airlock.toml:1: unknown key \"mirrors\"");
}

// --- syntax errors ----------------------------------------------------------------------

TEST(Config, SyntaxErrorsGiveLineAndColumn)
{
  EXPECT_EQ(problems_of("[server]\nlisten = \"127.0.0.1:3141\n"),
            "airlock.toml:2:25: Error while parsing string: unescaped control characters other than TAB (U+0009) are "
            "explicitly prohibited");
  EXPECT_EQ(problems_of("[server\nthreads = 1\n"),
            "airlock.toml:1:8: Error while parsing table header: expected ']', saw '\\n'");
  EXPECT_EQ(problems_of("[server]\nthreads = 1\nthreads = 2\n"),
            "airlock.toml:3:11: Error while parsing key-value pair: cannot redefine existing integer 'threads'");
  EXPECT_EQ(problems_of("[auth]\nindex_requires_token = yes\n"),
            "airlock.toml:2:24: Error while parsing value: could not determine value type");
}

// --- rules against each other -----------------------------------------------------------

TEST(ConfigRules, BlockWithQuarantineIsContradictory)
{
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\n\n[[policy.rule]]\nproject = \"b\"\naction = "
                        "\"block\"\nquarantine = \"1d\"\n"),
            "policy.rule[1] (airlock.toml:1): does nothing: set quarantine, action or require_provenance; "
            "policy.rule[2] (airlock.toml:4): action = \"block\" contradicts the quarantine override: a "
            "blocked file is never released");
}

TEST(ConfigRules, ContradictionsWithinOneRule)
{
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\n"),
            "policy.rule[1] (airlock.toml:1): does nothing: set quarantine, action or require_provenance");
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\nrequire_provenance = false\n"),
            "policy.rule[1] (airlock.toml:1): does nothing: set quarantine, action or require_provenance");
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\naction = \"block\"\nrequire_provenance = true\n"),
            "policy.rule[1] (airlock.toml:1): action = \"block\" contradicts require_provenance: a blocked file "
            "is never served");
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\naction = \"allow\"\nquarantine = \"1d\"\n"),
            "policy.rule[1] (airlock.toml:1): action = \"allow\" contradicts the quarantine override: an allowed "
            "file skips the window");
}

TEST(ConfigRules, BadVersionSpecifierNamesTheRule)
{
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\nversion = \"~=1\"\naction = \"block\"\n"),
            "policy.rule[1] (airlock.toml:1): invalid version specifier \"~=1\": ~= needs at least two release "
            "segments");
}

TEST(ConfigRules, ConflictingRulesForTheSameProjectAndVersion)
{
  const std::string conflicting_actions = "[[policy.rule]]\n"
                                          "project = \"litellm\"\n"
                                          "version = \"<2\"\n"
                                          "action = \"allow\"\n"
                                          "\n"
                                          "[[policy.rule]]\n"
                                          "project = \"litellm\"\n"
                                          "version = \"<2\"\n"
                                          "action = \"block\"\n";
  EXPECT_EQ(problems_of(conflicting_actions),
            "policy.rule[2] (airlock.toml:6): action = \"block\" conflicts with policy.rule[1] (airlock.toml:1), "
            "which says action = \"allow\" for the same project and version");

  const std::string conflicting_windows = "[[policy.rule]]\nproject = \"x-*\"\nquarantine = \"1d\"\n"
                                          "[[policy.rule]]\nproject = \"x-*\"\nquarantine = \"2d\"\n";
  EXPECT_EQ(problems_of(conflicting_windows),
            "policy.rule[2] (airlock.toml:4): quarantine = 172800s conflicts with policy.rule[1] (airlock.toml:1), "
            "which says 86400s for the same project and version");
}

TEST(ConfigRules, RulesThatDoNotConflict)
{
  // Different versions, the same action twice, and one rule adding provenance to another's window.
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\nversion = \"<2\"\naction = \"allow\"\n"
                        "[[policy.rule]]\nproject = \"a\"\nversion = \">=2\"\naction = \"block\"\n"
                        "[[policy.rule]]\nproject = \"a\"\nversion = \">=2\"\naction = \"block\"\n"
                        "[[policy.rule]]\nproject = \"b\"\nquarantine = \"1d\"\n"
                        "[[policy.rule]]\nproject = \"b\"\nrequire_provenance = true\n"),
            "no error");
}

TEST(ConfigRules, BrokenRuleIsNotAlsoReportedAsDoingNothing)
{
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"a\"\naction = \"deny\"\n"),
            "airlock.toml:3: policy.rule[1].action: must be \"allow\" or \"block\", got \"deny\"");
  EXPECT_EQ(problems_of("[[policy.rule]]\nproject = \"A\"\naction = \"allow\"\n"
                        "[[policy.rule]]\nproject = \"A\"\naction = \"block\"\n"),
            "airlock.toml:2: policy.rule[1].project: invalid glob \"A\": must be a normalized name glob "
            "(lowercase, '-' separators); "
            "airlock.toml:5: policy.rule[2].project: invalid glob \"A\": must be a normalized name glob "
            "(lowercase, '-' separators)");
}

// --- all problems at once ---------------------------------------------------------------

TEST(Config, AllProblemsAreReportedTogetherInFileOrder)
{
  const std::string text = "[server]\n"                      // 1
                           "listen = \"127.0.0.1\"\n"        // 2
                           "threads = \"4\"\n"               // 3
                           "lisen = 1\n"                     // 4
                           "\n"                              // 5
                           "[upstream]\n"                    // 6
                           "timeout = \"30x\"\n"             // 7
                           "\n"                              // 8
                           "[storage]\n"                     // 9
                           "map_size = \"1KiB\"\n"           // 10
                           "\n"                              // 11
                           "[policy]\n"                      // 12
                           "quarantine = \"7x\"\n"           // 13
                           "\n"                              // 14
                           "[[policy.rule]]\n"               // 15
                           "project = \"evil-pkg\"\n"        // 16
                           "action = \"block\"\n"            // 17
                           "quarantine = \"1d\"\n"           // 18
                           "\n"                              // 19
                           "[extra]\n";                      // 20
  EXPECT_EQ(problems_of(text),
            "airlock.toml:2: server.listen: invalid address \"127.0.0.1\": expected host:port (as in "
            "127.0.0.1:3141 or [::1]:3141); "
            "airlock.toml:3: server.threads: expected an integer, got string; "
            "airlock.toml:4: unknown key \"server.lisen\"; "
            "airlock.toml:7: upstream.timeout: invalid duration \"30x\": unit must be s, m, h or d (as in 30s, "
            "10m, 36h, 7d); "
            "airlock.toml:10: storage.map_size: invalid size \"1KiB\": must be at least 1MiB; "
            "airlock.toml:13: policy.quarantine: invalid duration \"7x\": unit must be s, m, h or d (as in 30s, "
            "10m, 36h, 7d); "
            "policy.rule[1] (airlock.toml:15): action = \"block\" contradicts the quarantine override: a blocked "
            "file is never released; "
            "airlock.toml:20: unknown key \"extra\"");
}

TEST(Config, MessagesStayOnOneLine)
{
  // TOML strings may hold escapes; echoed values must not break the one-line error contract.
  EXPECT_EQ(problems_of("[policy]\nquarantine = \"7\\nd\"\non_upstream_removal = \"\\tkeep\\u0001\"\n"),
            "airlock.toml:2: policy.quarantine: invalid duration \"7\\nd\": unit must be s, m, h or d (as in 30s, "
            "10m, 36h, 7d); "
            "airlock.toml:3: policy.on_upstream_removal: must be \"block\" or \"keep\", got \"\\tkeep\\x01\"");
}

// --- files ------------------------------------------------------------------------------

TEST(ConfigLoad, ReadsAFileAndNamesItInMessages)
{
  airlock::test::TempDir dir;
  const auto path = dir.path() / "airlock.toml";
  airlock::test::write_file(path, "[server]\nlisten = \"127.0.0.1:0\"\n");
  EXPECT_EQ(load_config(path).server.listen_port, 0);

  airlock::test::write_file(path, "[server]\nthreads = -2\n");
  try {
    load_config(path);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              path.string() + ":2: server.threads: must be from 0 to 1024 (0 = one per core), got -2");
  }
}

TEST(ConfigLoad, RuleOriginNamesTheFile)
{
  airlock::test::TempDir dir;
  const auto path = dir.path() / "airlock.toml";
  airlock::test::write_file(path, "\n[[policy.rule]]\nproject = \"a\"\naction = \"block\"\n");
  const Config config = load_config(path);
  ASSERT_EQ(config.policy.rules.size(), 1U);
  EXPECT_EQ(config.policy.rules[0].origin, path.string() + ":2");
}

TEST(ConfigLoad, UnreadableFile)
{
  airlock::test::TempDir dir;
  const auto missing = dir.path() / "missing.toml";
  try {
    load_config(missing);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), missing.string() + ": cannot read: No such file or directory");
  }
  try {
    load_config(dir.path());
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), dir.path().string() + ": cannot read: Is a directory");
  }
}

TEST(ConfigLoad, SyntaxErrorNamesTheFile)
{
  airlock::test::TempDir dir;
  const auto path = dir.path() / "airlock.toml";
  airlock::test::write_file(path, "[server]\nthreads = = 1\n");
  try {
    load_config(path);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              path.string() + ":2:11: Error while parsing value: could not determine value type");
  }
}

TEST(ConfigLoad, DeployExampleParses)
{
  const Config config = load_config(std::filesystem::path(AIRLOCK_SOURCE_DIR) / "deploy" / "airlock.toml");
  EXPECT_EQ(config.server.listen_host, "127.0.0.1");
  EXPECT_EQ(config.server.listen_port, 3141);
  EXPECT_EQ(config.upstream.index, "https://pypi.org/simple/");
  EXPECT_EQ(config.storage.path, "/var/lib/airlock");
  EXPECT_EQ(config.storage.map_size, 32ULL << 30);
  EXPECT_EQ(config.policy.quarantine, std::chrono::days{7});
  EXPECT_EQ(config.provenance.trusted_root, "/etc/airlock/trusted_root.json");
  ASSERT_EQ(config.policy.rules.size(), 4U);
  EXPECT_EQ(config.policy.rules[0].project, "internal-*");
  EXPECT_EQ(config.policy.rules[3].version, ">=1.82.7,<1.83");
  EXPECT_EQ(config.policy.rules[3].action, RuleAction::block);
}
