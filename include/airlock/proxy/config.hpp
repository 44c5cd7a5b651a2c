#pragma once

// The configuration Airlock runs with: what airlock.toml sets, or the embedded defaults.
// Defaults are member initializers; load_config() reports every problem in a file at once.

#include <airlock/policy/policy.hpp>
#include <airlock/storage/store.hpp>
#include <airlock/util/time.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace airlock::proxy {

struct ServerOptions
{
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 3141;
  unsigned threads = 0; // 0 = one per core
  Seconds request_timeout = std::chrono::seconds{30}; // a request's header must arrive by then
  Seconds idle_timeout = std::chrono::seconds{60};    // a kept-alive connection may wait this long
  unsigned max_connections = 10000; // beyond it, new connections are closed at once
};

struct UpstreamOptions
{
  std::string index = "https://pypi.org/simple/"; // must end with '/'
  Seconds timeout = std::chrono::seconds{10}; // a page request in all; a file download per read
  Seconds refresh = std::chrono::minutes{10};
  // Where listings may send Airlock for files and provenance, besides the index's own host;
  // empty = files.pythonhosted.org for pypi.org, else the index's host alone.
  std::vector<std::string> file_hosts;
};

// The hosts Airlock may fetch from (lowercase): the index's, and [upstream] file_hosts or
// their default.
std::vector<std::string> allowed_upstream_hosts(const UpstreamOptions& upstream);

struct ProvenanceOptions
{
  std::filesystem::path trusted_root; // empty = not configured
};

// [advisories]: OSV records read offline. Where they block is policy::Options (block_severity,
// fast_track_fixes, fast_track_min); these say where they come from and how they are guarded.
struct AdvisoryOptions
{
  std::filesystem::path path;                           // a directory of .json/.zip; empty = none
  Seconds refresh = std::chrono::minutes{10};           // how often the directory is looked at
  Seconds max_age = std::chrono::days{2};               // status warns when the feed is older
  unsigned max_new_blocks = 20; // a refresh newly blocking files of more projects waits for an admin
};

struct AuthOptions
{
  bool index_requires_token = false;
};

struct Config
{
  ServerOptions server;
  UpstreamOptions upstream;
  storage::Options storage{.release_key = policy::release_key};
  policy::Options policy;
  ProvenanceOptions provenance;
  AdvisoryOptions advisories;
  AuthOptions auth;
};

// Reads and validates a TOML config file. Throws ConfigError whose one-line message names the
// file, line, key and problem (airlock.toml:3: unknown key "server.lisen"); several problems
// are joined with "; ".
Config load_config(const std::filesystem::path& path);
// Parses config text; `source` names it in messages. Throws ConfigError.
Config parse_config(std::string_view text, const std::string& source);

} // namespace airlock::proxy
