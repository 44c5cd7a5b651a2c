#include <airlock/proxy/cli.hpp>

#include "api_client.hpp"
#include "auth.hpp"

#include <airlock/proxy/tuf.hpp>

#include <airlock/proxy/config.hpp>
#include <airlock/proxy/server.hpp>
#include <airlock/storage/fsck.hpp>
#include <airlock/util/error.hpp>
#include <airlock/util/log.hpp>
#include <airlock/util/units.hpp>

#include <boost/json.hpp>
#include <fmt/core.h>
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::proxy {

namespace json = boost::json;

namespace {

constexpr std::string_view k_usage = R"(usage: airlock <command> [options]

commands:
  serve [--config FILE]                         run the proxy (embedded defaults without --config)
  status PROJECT [VERSION]                      every file: state, reason, until, provenance
  queue                                         quarantined and held files, soonest first
  approve PROJECT VERSION --reason TEXT         release a version early: the files it has now, by
                                                sha256 (--expect SHA256,...: only if these are they;
                                                --file NAME [--sha256 HEX]: one file's bytes)
  block PROJECT [VERSION] --reason TEXT         block a version, or the whole project (--file NAME)
  unblock PROJECT [VERSION] --reason TEXT       lift a block at that scope
  audit [--project P] [--since TIME]            the audit log (TIME: RFC 3339 or a duration: 7d)
  snapshot create NAME [--prefetch]             freeze the approved files (admin); --prefetch caches them
  snapshot list | show NAME                     describe snapshots
  keys init [--offline-root-key FILE] [--config FILE]
                                                create the TUF keys and the first root.json (locally)
  keys rotate-online [--offline-root-key FILE] [--config FILE]
                                                new targets/snapshot/timestamp/bins keys, a new root
                                                version signed by the root key; beside a running server
  keys rotate-root [--offline-root-key FILE] [--config FILE]
                                                a new root key (the new root is signed by old and new)
  keys renew-root [--offline-root-key FILE] [--config FILE]
                                                re-sign root with a fresh expiry (same keys)
  verify --root ROOT.json --server URL SNAPSHOT [--files] [--state FILE]
                                                CI gate: check a snapshot against its signed TUF metadata;
                                                --state remembers the versions seen and refuses older ones
  token create --role reader|reviewer|admin --name NAME [--config FILE]
                                                make an API token (locally; no server needed)
  fsck [--repair] [--config FILE]               check the store: blobs hash to their names, the
                                                index agrees; exit 1 on problems (orphan blobs and
                                                temp files are harmless). --repair fixes what it
                                                can: stop the server first
  version                                       print the version

options:
  --server URL     Airlock's address (default: $AIRLOCK_SERVER, else from --config, else
                   http://127.0.0.1:3141)
  --token TOKEN    API token (default: $AIRLOCK_TOKEN)
  --json           machine-readable output
  --config FILE    configuration file

environment:
  AIRLOCK_LOG=error|warn|info|debug   log verbosity of `serve` (default info)
)";

// A command-line problem: reported as one line, exit code 2.
class UsageError : public Error
{
public:
  using Error::Error;
};

struct Arguments
{
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> options;
  bool json = false;
  bool repair = false;
  bool prefetch = false;
  bool files = false;

  const std::string* option(std::string_view name) const
  {
    auto it = options.find(name);
    return it == options.end() ? nullptr : &it->second;
  }
};

Arguments
parse_arguments(int argc, char** argv, int first)
{
  static const std::vector<std::string_view> k_valued = {"--config", "--server", "--token", "--reason", "--root",
                                                         "--offline-root-key", "--state",
                                                         "--project", "--since", "--role", "--name",
                                                         "--file", "--limit", "--sha256", "--expect"};
  Arguments args;
  for (int i = first; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--json") {
      args.json = true;
      continue;
    }
    if (arg == "--prefetch") {
      args.prefetch = true;
      continue;
    }
    if (arg == "--files") {
      args.files = true;
      continue;
    }
    if (arg == "--repair") {
      args.repair = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      args.positional.emplace_back(arg);
      continue;
    }
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (std::find(k_valued.begin(), k_valued.end(), name) == k_valued.end()) {
      throw UsageError(fmt::format("unknown option {}", name));
    }
    if (!value) {
      if (i + 1 >= argc) {
        throw UsageError(fmt::format("{} needs a value", name));
      }
      value = argv[++i];
    }
    args.options[std::string(name)] = std::string(*value);
  }
  return args;
}

void
expect_positional(const Arguments& args, std::size_t min, std::size_t max, std::string_view usage)
{
  if (args.positional.size() < min || args.positional.size() > max) {
    throw UsageError(fmt::format("usage: airlock {}", usage));
  }
}

Config
load(const Arguments& args)
{
  const auto* path = args.option("--config");
  return path == nullptr ? Config{} : load_config(*path);
}

// --- talking to the server -------------------------------------------------------------------

std::string
server_url(const Arguments& args)
{
  if (const auto* server = args.option("--server")) {
    return *server;
  }
  if (const char* env = std::getenv("AIRLOCK_SERVER"); env != nullptr && *env != '\0') {
    return env;
  }
  if (args.option("--config") != nullptr) {
    const auto config = load(args);
    const bool v6 = config.server.listen_host.find(':') != std::string::npos;
    const std::string host = config.server.listen_host == "0.0.0.0" ? "127.0.0.1"
                             : v6 ? "[" + config.server.listen_host + "]"
                                  : config.server.listen_host;
    return fmt::format("http://{}:{}", host, config.server.listen_port);
  }
  return "http://127.0.0.1:3141";
}

std::string
token_of(const Arguments& args)
{
  if (const auto* token = args.option("--token")) {
    return *token;
  }
  const char* env = std::getenv("AIRLOCK_TOKEN");
  return env == nullptr ? "" : env;
}

// Calls the API; a non-2xx answer becomes an Error with the server's message.
json::value
call(const Arguments& args, std::string_view method, const std::string& target, const std::string& body = {})
{
  auto response = call_api(server_url(args), method, target, token_of(args), body);
  if (!response) {
    throw Error(response.error());
  }
  json::error_code ec;
  auto value = json::parse(response->body, ec);
  if (response->status / 100 != 2) {
    std::string message = fmt::format("server answered {}", response->status);
    if (!ec && value.is_object() && value.as_object().contains("error") && value.at("error").is_string()) {
      message = std::string(value.at("error").as_string());
    }
    if (response->status == 401 && token_of(args).empty()) {
      message += " (set --token or AIRLOCK_TOKEN)";
    }
    throw Error(message);
  }
  if (ec) {
    throw Error("the server's answer is not JSON");
  }
  return value;
}

std::string
url_encode(std::string_view text)
{
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// --- human output ----------------------------------------------------------------------------

std::string
text_of(const json::value& value)
{
  if (value.is_string()) {
    return std::string(value.as_string());
  }
  if (value.is_null()) {
    return "-";
  }
  return json::serialize(value);
}

// "in 6d 22h" or "3h 5m ago" for an RFC 3339 time; "-" for null.
std::string
relative(const json::value& value)
{
  if (!value.is_string()) {
    return "-";
  }
  const auto time = parse_rfc3339(value.as_string());
  if (!time) {
    return text_of(value);
  }
  const auto now = SystemClock().now();
  return *time >= now ? "in " + format_duration(*time - now) : format_duration(now - *time) + " ago";
}

void
print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows)
{
  std::vector<std::size_t> widths(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) {
    widths[i] = header[i].size();
    for (const auto& row : rows) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  const auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
    }
    std::puts(line.c_str());
  };
  print_row(header);
  for (const auto& row : rows) {
    print_row(row);
  }
}

std::string
provenance_text(const json::value& provenance)
{
  if (!provenance.is_object()) {
    return "-";
  }
  const auto& object = provenance.as_object();
  std::string out = object.contains("status") ? text_of(object.at("status")) : "-";
  if (const auto* publisher = object.if_contains("publisher"); publisher != nullptr && publisher->is_object()) {
    for (const char* key : {"kind", "repository", "workflow"}) {
      if (const auto* part = publisher->as_object().if_contains(key); part != nullptr && part->is_string()) {
        out += " " + std::string(part->as_string());
      }
    }
  } else if (const auto* reason = object.if_contains("reason"); reason != nullptr && reason->is_string()) {
    out += " (" + std::string(reason->as_string()) + ")"; // why not verified
  }
  return out;
}

void
print(const json::value& value)
{
  std::puts(json::serialize(value).c_str());
}

// --- commands --------------------------------------------------------------------------------

int
serve(const Arguments& args)
{
  if (!args.positional.empty()) {
    throw UsageError(fmt::format("serve takes no arguments, got \"{}\"", args.positional.front()));
  }
  const SystemClock clock;
  Server server(load(args), clock);
  server.bind();
  server.run(HandleSignals::yes);
  return 0;
}

int
status(const Arguments& args)
{
  expect_positional(args, 1, 2, "status PROJECT [VERSION]");
  std::string target = "/-/api/v1/projects/" + url_encode(args.positional[0]);
  if (args.positional.size() == 2) {
    target += "?version=" + url_encode(args.positional[1]);
  }
  const auto value = call(args, "GET", target);
  if (args.json) {
    print(value);
    return 0;
  }
  const auto& object = value.as_object();
  std::printf("%s (upstream listing fetched %s)\n", text_of(object.at("project")).c_str(),
              relative(object.at("fetched_at")).c_str());
  std::vector<std::vector<std::string>> rows;
  for (const auto& file : object.at("files").as_array()) {
    const auto& f = file.as_object();
    rows.push_back({text_of(f.at("filename")), text_of(f.at("version")), text_of(f.at("state")),
                    relative(f.at("until")), provenance_text(f.at("provenance")), text_of(f.at("reason"))});
  }
  print_table({"FILE", "VERSION", "STATE", "UNTIL", "PROVENANCE", "REASON"}, rows);
  return 0;
}

int
queue(const Arguments& args)
{
  expect_positional(args, 0, 0, "queue");
  const auto value = call(args, "GET", "/-/api/v1/queue");
  if (args.json) {
    print(value);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& file : value.at("files").as_array()) {
    const auto& f = file.as_object();
    rows.push_back({text_of(f.at("project")), text_of(f.at("version")), text_of(f.at("filename")),
                    text_of(f.at("state")), relative(f.at("until")), text_of(f.at("reason"))});
  }
  if (rows.empty()) {
    std::puts("nothing is waiting");
    return 0;
  }
  print_table({"PROJECT", "VERSION", "FILE", "STATE", "UNTIL", "REASON"}, rows);
  return 0;
}

int
decide(const Arguments& args, std::string_view action)
{
  const bool version_required = action == "approve" && args.option("--file") == nullptr;
  expect_positional(args, version_required ? 2 : 1, 2,
                    fmt::format("{} PROJECT {} --reason TEXT [--file FILENAME]", action,
                                version_required ? "VERSION" : "[VERSION]"));
  const auto* reason = args.option("--reason");
  if (reason == nullptr || reason->empty()) {
    throw UsageError(fmt::format("{} needs --reason TEXT: every decision is recorded with why", action));
  }
  json::object body;
  body["project"] = args.positional[0];
  if (args.positional.size() == 2) {
    body["version"] = args.positional[1];
  }
  if (const auto* file = args.option("--file")) {
    body["filename"] = *file;
  }
  if (const auto* sha256 = args.option("--sha256")) {
    if (action != "approve" || args.option("--file") == nullptr) {
      throw UsageError("--sha256 goes with approve --file FILENAME: it names the bytes to approve");
    }
    body["sha256"] = *sha256;
  }
  if (const auto* expect = args.option("--expect")) {
    if (action != "approve") {
      throw UsageError("--expect goes with approve: the sha256s of the files you reviewed");
    }
    json::array list;
    for (std::size_t start = 0; start <= expect->size();) {
      const auto comma = std::min(expect->find(',', start), expect->size());
      list.push_back(json::value(expect->substr(start, comma - start)));
      start = comma + 1;
    }
    body["expect_sha256"] = std::move(list);
  }
  body["reason"] = *reason;
  const auto value = call(args, "POST", "/-/api/v1/" + std::string(action), json::serialize(body));
  if (args.json) {
    print(value);
    return 0;
  }
  const auto& object = value.as_object();
  std::string scope = text_of(object.at("project"));
  if (!object.at("filename").is_null()) {
    scope += " " + text_of(object.at("filename"));
  } else if (!object.at("version").is_null()) {
    scope += " " + text_of(object.at("version"));
  }
  std::printf("%s %s: %s -> %s (%zu files)\n", std::string(action).c_str(), scope.c_str(),
              text_of(object.at("before")).c_str(), text_of(object.at("after")).c_str(),
              object.at("files").as_array().size());
  return 0;
}

int
audit(const Arguments& args)
{
  expect_positional(args, 0, 0, "audit [--project P] [--since TIME]");
  std::string target = "/-/api/v1/audit";
  char separator = '?';
  for (const auto& [option, key] : {std::pair{"--project", "project"}, {"--since", "since"}, {"--limit", "limit"}}) {
    if (const auto* value = args.option(option)) {
      target += fmt::format("{}{}={}", separator, key, url_encode(*value));
      separator = '&';
    }
  }
  const auto value = call(args, "GET", target);
  if (args.json) {
    print(value);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& entry : value.at("entries").as_array()) {
    const auto& e = entry.as_object();
    std::string target_text = text_of(e.at("project"));
    for (const char* key : {"version", "filename"}) {
      if (!e.at(key).is_null()) {
        target_text += " " + text_of(e.at(key));
      }
    }
    rows.push_back({text_of(e.at("time")), text_of(e.at("actor")), text_of(e.at("action")), target_text,
                    text_of(e.at("before")) + " -> " + text_of(e.at("after")), text_of(e.at("reason"))});
  }
  print_table({"TIME", "ACTOR", "ACTION", "TARGET", "CHANGE", "REASON"}, rows);
  return 0;
}

std::string
human_size(std::uint64_t bytes)
{
  if (bytes >= (1ULL << 30)) {
    return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1ULL << 30));
  }
  if (bytes >= (1ULL << 20)) {
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1ULL << 20));
  }
  return fmt::format("{} KiB", (bytes + 1023) / 1024);
}

std::vector<std::string>
snapshot_row(const json::value& snapshot)
{
  const auto& s = snapshot.as_object();
  return {text_of(s.at("name")), text_of(s.at("created_at")), text_of(s.at("created_by")), text_of(s.at("projects")),
          text_of(s.at("files")), human_size(s.at("bytes").to_number<std::uint64_t>())};
}

// Downloads every file of a snapshot through Airlock, so its cache holds them all.
std::size_t
prefetch(const Arguments& args, const json::value& shown)
{
  const auto& files = shown.at("served_files").as_array();
  std::size_t done = 0;
  for (const auto& file : files) {
    const auto url = std::string(file.at("url").as_string());
    auto fetched = fetch_and_discard(server_url(args), url, token_of(args));
    if (!fetched) {
      throw Error(fmt::format("prefetching {}: {}", text_of(file.at("filename")), fetched.error()));
    }
    if (fetched->first != 200) {
      throw Error(fmt::format("prefetching {}: server answered {}", text_of(file.at("filename")), fetched->first));
    }
    ++done;
    if (!args.json) {
      std::printf("[%zu/%zu] %s (%s)\n", done, files.size(), text_of(file.at("filename")).c_str(),
                  human_size(fetched->second).c_str());
      std::fflush(stdout);
    }
  }
  return done;
}

int
snapshot(const Arguments& args)
{
  // Both arms a string_view: with "" and a std::string the conditional made a temporary string
  // copy, destroyed at the end of the line (clang's -Wdangling-gsl found it).
  const std::string_view verb = args.positional.empty() ? std::string_view() : std::string_view(args.positional[0]);
  if (verb == "create") {
    expect_positional(args, 2, 2, "snapshot create NAME [--prefetch]");
    json::object body;
    body["name"] = args.positional[1];
    auto created = call(args, "POST", "/-/api/v1/snapshots", json::serialize(body));
    std::size_t prefetched = 0;
    if (args.prefetch) {
      prefetched = prefetch(args, call(args, "GET", "/-/api/v1/snapshots/" + url_encode(args.positional[1])));
    }
    if (args.json) {
      created.as_object()["prefetched"] = prefetched;
      print(created);
      return 0;
    }
    const auto& c = created.as_object();
    std::printf("created snapshot %s: %s projects, %s files, %s; pip index: <server>%s\n",
                text_of(c.at("name")).c_str(), text_of(c.at("projects")).c_str(), text_of(c.at("files")).c_str(),
                human_size(c.at("bytes").to_number<std::uint64_t>()).c_str(), text_of(c.at("index_url")).c_str());
    return 0;
  }
  if (verb == "list") {
    expect_positional(args, 1, 1, "snapshot list");
    const auto value = call(args, "GET", "/-/api/v1/snapshots");
    if (args.json) {
      print(value);
      return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& snapshot : value.at("snapshots").as_array()) {
      rows.push_back(snapshot_row(snapshot));
    }
    print_table({"NAME", "CREATED", "BY", "PROJECTS", "FILES", "SIZE"}, rows);
    return 0;
  }
  if (verb == "show") {
    expect_positional(args, 2, 2, "snapshot show NAME");
    const auto value = call(args, "GET", "/-/api/v1/snapshots/" + url_encode(args.positional[1]));
    if (args.json) {
      print(value);
      return 0;
    }
    print_table({"NAME", "CREATED", "BY", "PROJECTS", "FILES", "SIZE"}, {snapshot_row(value)});
    std::puts("");
    std::vector<std::vector<std::string>> rows;
    for (const auto& file : value.at("served_files").as_array()) {
      rows.push_back({text_of(file.at("project")), text_of(file.at("version")), text_of(file.at("filename")),
                      human_size(file.at("size").to_number<std::uint64_t>())});
    }
    print_table({"PROJECT", "VERSION", "FILE", "SIZE"}, rows);
    return 0;
  }
  throw UsageError("usage: airlock snapshot create NAME [--prefetch] | list | show NAME");
}

int
keys(const Arguments& args)
{
  constexpr std::string_view usage = "usage: airlock keys init|rotate-online|rotate-root|renew-root "
                                     "[--offline-root-key FILE] [--config FILE]";
  if (args.positional.size() != 1) {
    throw UsageError(std::string(usage));
  }
  const std::string& verb = args.positional[0];
  const auto config = load(args);
  const auto dir = config.storage.path / "tuf";
  const auto* offline = args.option("--offline-root-key");
  const std::filesystem::path root_key = offline != nullptr ? *offline : std::string();
  const Time now = SystemClock().now();
  if (verb == "init") {
    auto created = tuf::Repository::init(dir, now, root_key);
    if (!created) {
      throw Error(created.error());
    }
    const auto root = dir / "metadata" / "1.root.json";
    if (args.json) {
      print(json::object{{"root", root.string()}, {"dir", dir.string()}});
    } else {
      std::printf("created TUF keys in %s; pin %s in CI (airlock verify --root ...)\n",
                  (dir / "keys").string().c_str(), root.string().c_str());
    }
    return 0;
  }
  if (verb != "rotate-online" && verb != "rotate-root" && verb != "renew-root") {
    throw UsageError(std::string(usage));
  }
  // Beside a running server: the repository's file lock serializes the writers, the server
  // serves the new metadata at once and reloads the keys before it next signs.
  auto repository = tuf::Repository::open(dir);
  if (!repository) {
    throw Error(repository.error());
  }
  auto& repo = **repository;
  if (offline == nullptr && !std::filesystem::exists(dir / "keys" / "root.key")) {
    throw Error(fmt::format("keys {}: {} does not exist; pass --offline-root-key FILE where `keys init` wrote "
                            "the root key",
                            verb, (dir / "keys" / "root.key").string()));
  }
  const auto before = repo.root_version();
  Expected<void> done = verb == "rotate-online" ? repo.rotate_online_keys(now, root_key)
                        : verb == "rotate-root" ? repo.rotate_root_key(now, root_key)
                                                : repo.renew_root(now, root_key);
  if (!done) {
    throw Error(fmt::format("keys {}: {}", verb, done.error()));
  }
  const auto version = repo.root_version();
  const auto root = dir / "metadata" / fmt::format("{}.root.json", version);
  if (args.json) {
    print(json::object{{"action", verb}, {"root_version", version}, {"previous_root_version", before},
                       {"root", root.string()}, {"root_expires", format_rfc3339(repo.root_expires())}});
    return 0;
  }
  const std::string_view what = verb == "rotate-online" ? "rotated the online keys (targets, snapshot, timestamp, bins)"
                                : verb == "rotate-root" ? "rotated the root key"
                                                        : "renewed root";
  std::printf("%s: root.json version %llu -> %llu (%s), expires %s; clients that pinned an older root "
              "follow the chain\n",
              std::string(what).c_str(), static_cast<unsigned long long>(before),
              static_cast<unsigned long long>(version), root.string().c_str(),
              format_rfc3339(repo.root_expires()).c_str());
  return 0;
}

// `verify --state FILE`: nothing trusted yet when FILE does not exist; a file that exists
// but does not parse is an error (starting over would forget what protects from rollback).
tuf::TrustedVersions
read_trusted_state(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (std::filesystem::exists(path)) {
      throw Error(fmt::format("--state {}: cannot read it", path));
    }
    return {};
  }
  std::stringstream text;
  text << in.rdbuf();
  auto state = tuf::TrustedVersions::from_json(text.str());
  if (!state) {
    throw Error(fmt::format("--state {}: {} (remove it only if you trust the server now)", path, state.error()));
  }
  return std::move(*state);
}

// Replaces the state file atomically, so an interrupted run leaves the old state or the new.
void
write_trusted_state(const std::string& path, const tuf::TrustedVersions& state)
{
  const std::filesystem::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) {
    std::filesystem::create_directories(target.parent_path(), ec);
  }
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << state.to_json() << "\n";
    out.flush();
    if (!out) {
      throw Error(fmt::format("--state {}: cannot write {}", path, temp));
    }
  }
  std::filesystem::rename(temp, target, ec);
  if (ec) {
    throw Error(fmt::format("--state {}: {}", path, ec.message()));
  }
}

// The CI gate: the TUF chain from a pinned root, then every page (and file) of a snapshot.
int
verify(const Arguments& args)
{
  expect_positional(args, 1, 1, "verify --root ROOT.json --server URL SNAPSHOT [--files] [--state FILE]");
  const auto* root_path = args.option("--root");
  if (root_path == nullptr) {
    throw UsageError("verify needs --root ROOT.json (the root metadata CI pinned)");
  }
  std::ifstream in(*root_path, std::ios::binary);
  if (!in) {
    throw Error(fmt::format("cannot read {}", *root_path));
  }
  std::stringstream root_json;
  root_json << in.rdbuf();
  const std::string server = server_url(args);
  const tuf::Fetch fetch = [&](std::string_view path,
                               std::uint64_t max_bytes) -> Expected<std::optional<std::string>> {
    auto response = call_api(server, "GET", "/tuf/" + std::string(path), "", "", "*/*");
    if (!response) {
      return make_unexpected(response.error());
    }
    if (response->status == 404) {
      return std::optional<std::string>();
    }
    if (response->status != 200) {
      return make_unexpected(fmt::format("GET /tuf/{}: server answered {}", path, response->status));
    }
    if (response->body.size() > max_bytes) {
      return make_unexpected(fmt::format("GET /tuf/{}: more than {} bytes", path, max_bytes));
    }
    return std::optional<std::string>(std::move(response->body));
  };
  // --state: the versions a previous run trusted; older metadata now is a rollback.
  const auto* state_path = args.option("--state");
  std::optional<tuf::TrustedVersions> trusted;
  if (state_path != nullptr) {
    trusted = read_trusted_state(*state_path);
  }
  auto verified = tuf::verify_repository(root_json.str(), fetch, SystemClock().now(),
                                         trusted ? &*trusted : nullptr);
  if (!verified) {
    throw Error("TUF: " + verified.error());
  }
  const std::string& snapshot = args.positional[0];
  const std::string prefix = "snapshots/" + snapshot + "/simple/";
  std::size_t pages = 0;
  // The files this snapshot's (verified) JSON pages list: what pip would download.
  std::vector<std::string> listed_files;
  for (const auto& target : verified->targets) {
    if (!target.path.starts_with(prefix)) {
      continue;
    }
    // Fetch the page as pip would, and check it is the signed one.
    const bool json_page = target.path.ends_with("/index.json");
    const std::string url = "/" + target.path.substr(0, target.path.rfind('/') + 1);
    auto response = call_api(server, "GET", url, "", "",
                             json_page ? "application/vnd.pypi.simple.v1+json" : "text/html");
    if (!response || response->status != 200) {
      throw Error(fmt::format("{}: {}", url, response ? fmt::format("server answered {}", response->status)
                                                      : response.error()));
    }
    if (auto ok = tuf::verify_target(target, response->body); !ok) {
      throw Error(fmt::format("{} ({}): {}", url, json_page ? "JSON" : "HTML", ok.error()));
    }
    ++pages;
    if (!args.json) {
      std::printf("ok  %s\n", target.path.c_str());
      std::fflush(stdout);
    }
    if (json_page && args.files) {
      json::error_code ec;
      const auto page = json::parse(response->body, ec);
      const auto* entries = !ec && page.is_object() ? page.as_object().if_contains("files") : nullptr;
      if (entries != nullptr && entries->is_array()) {
        for (const auto& entry : entries->as_array()) {
          const auto* filename = entry.is_object() ? entry.as_object().if_contains("filename") : nullptr;
          const auto* hashes = entry.is_object() ? entry.as_object().if_contains("hashes") : nullptr;
          const auto* sha256 = hashes != nullptr && hashes->is_object() ? hashes->as_object().if_contains("sha256")
                                                                         : nullptr;
          if (filename == nullptr || !filename->is_string() || sha256 == nullptr || !sha256->is_string()) {
            throw Error(fmt::format("{} (JSON): a file entry lacks its filename or sha256", url));
          }
          listed_files.push_back(fmt::format("files/{}/{}", std::string_view(sha256->as_string()),
                                             std::string_view(filename->as_string())));
        }
      }
    }
  }
  std::sort(listed_files.begin(), listed_files.end());
  listed_files.erase(std::unique(listed_files.begin(), listed_files.end()), listed_files.end());
  std::size_t files = 0;
  for (const auto& path : listed_files) {
    const auto* target = verified->find(path);
    if (target == nullptr) {
      throw Error(fmt::format("/{}: the snapshot lists it, but no signed target covers it", path));
    }
    Sha256Hasher hasher;
    auto fetched = fetch_and_discard(server, "/" + path, "", &hasher);
    if (!fetched || fetched->first != 200) {
      throw Error(fmt::format("/{}: {}", path,
                              fetched ? fmt::format("server answered {}", fetched->first) : fetched.error()));
    }
    if (auto ok = tuf::verify_target(*target, fetched->second, hasher.finish()); !ok) {
      throw Error(fmt::format("/{}: {}", path, ok.error()));
    }
    ++files;
    if (!args.json) {
      std::printf("ok  %s\n", path.c_str());
      std::fflush(stdout);
    }
  }
  if (pages == 0) {
    throw Error(fmt::format("no signed pages for snapshot {} (unknown snapshot?)", snapshot));
  }
  if (trusted) {
    write_trusted_state(*state_path, *trusted);
  }
  if (args.json) {
    print(json::object{{"snapshot", snapshot}, {"pages", pages}, {"files", files},
                       {"root_version", verified->root_version}, {"timestamp_version", verified->timestamp_version}});
  } else {
    std::printf("verified snapshot %s: %zu pages, %zu files (root v%llu, timestamp v%llu)\n", snapshot.c_str(),
                pages, files, static_cast<unsigned long long>(verified->root_version),
                static_cast<unsigned long long>(verified->timestamp_version));
  }
  return 0;
}

// Works on the configured storage directly, so the first admin token needs no server. LMDB
// lets it run beside a live `airlock serve`.
int
token_create(const Arguments& args)
{
  expect_positional(args, 1, 1, "token create --role reader|reviewer|admin --name NAME [--config FILE]");
  const auto* role_text = args.option("--role");
  const auto* name = args.option("--name");
  if (role_text == nullptr || name == nullptr || name->empty()) {
    throw UsageError("token create needs --role reader|reviewer|admin and --name NAME");
  }
  const auto role = parse_role(*role_text);
  if (!role) {
    throw UsageError(fmt::format("--role must be reader, reviewer or admin, not \"{}\"", *role_text));
  }
  const auto config = load(args);
  storage::Store store(config.storage);
  const Time now = SystemClock().now();
  auto token = make_token(*name, *role, now);
  const char* user = std::getenv("USER");
  storage::AuditEntry entry;
  entry.time = now;
  entry.actor = fmt::format("local:{}", user != nullptr ? user : "unknown");
  entry.action = "token-create";
  entry.reason = fmt::format("token \"{}\" with role {} (created on the command line)", *name, *role_text);
  entry.before = "-";
  entry.after = *role_text;
  store.put_token(token.record, entry);
  if (args.json) {
    print(json::object{{"name", *name}, {"role", *role_text}, {"token", token.token}});
  } else {
    std::puts(token.token.c_str());
  }
  sodium_memzero(token.token.data(), token.token.size());
  return 0;
}

// Works on the configured storage directly, as token create does. Checking may run beside a
// live `airlock serve`; --repair may not, as it removes the temp files of downloads in flight.
int
fsck(const Arguments& args)
{
  expect_positional(args, 0, 0, "fsck [--repair] [--config FILE] [--json]");
  const auto config = load(args);
  const auto report = storage::fsck(config.storage, args.repair ? storage::Repair::yes : storage::Repair::no);
  if (args.json) {
    json::array problems;
    for (const auto& p : report.problems) {
      problems.push_back(json::object{{"kind", storage::to_string(p.issue)}, {"where", p.where},
                                      {"detail", p.detail}, {"harmless", storage::is_harmless(p.issue)},
                                      {"repairable", p.repairable}, {"repaired", p.repaired}});
    }
    print(json::object{{"path", config.storage.path.string()}, {"clean", report.ok()},
                       {"blob_files", report.blob_files}, {"bytes_hashed", report.bytes_hashed},
                       {"index_entries", report.index_entries}, {"file_records", report.file_records},
                       {"problems", std::move(problems)}});
    return report.ok() ? 0 : 1;
  }
  std::size_t harmless = 0;
  std::size_t repaired = 0;
  std::size_t repairable = 0;
  for (const auto& p : report.problems) {
    std::printf("%s %s: %s%s\n", std::string(storage::to_string(p.issue)).c_str(), p.where.c_str(), p.detail.c_str(),
                p.repaired ? " (repaired)" : "");
    harmless += storage::is_harmless(p.issue) ? 1 : 0;
    repaired += p.repaired ? 1 : 0;
    repairable += p.repairable && !p.repaired ? 1 : 0;
  }
  std::string summary = fmt::format("fsck {}: {} blob files ({} bytes) hashed, {} index entries, {} file records: ",
                                    config.storage.path.string(), report.blob_files, report.bytes_hashed,
                                    report.index_entries, report.file_records);
  summary += report.problems.empty() ? "clean"
                                     : fmt::format("{} problems ({} harmless, {} repaired)", report.problems.size(),
                                                   harmless, repaired);
  if (repairable > 0) {
    summary += fmt::format("; airlock fsck --repair fixes {} (stop the server first)", repairable);
  }
  std::puts(summary.c_str());
  return report.ok() ? 0 : 1;
}

void
set_log_level_from_environment()
{
  const char* level = std::getenv("AIRLOCK_LOG");
  if (level == nullptr) {
    return;
  }
  const std::string_view value = level;
  if (value == "error") {
    log::set_level(log::Level::error);
  } else if (value == "warn") {
    log::set_level(log::Level::warn);
  } else if (value == "debug") {
    log::set_level(log::Level::debug);
  } else if (value != "info") {
    throw UsageError(fmt::format("AIRLOCK_LOG must be error, warn, info or debug, not \"{}\"", value));
  }
}

} // namespace

int
run(int argc, char** argv)
{
  try {
    if (sodium_init() < 0) {
      throw Error("libsodium failed to initialize");
    }
    set_log_level_from_environment();
    const std::string_view command = argc > 1 ? argv[1] : "";
    if (command.empty() || command == "help" || command == "--help" || command == "-h") {
      std::fwrite(k_usage.data(), 1, k_usage.size(), command.empty() ? stderr : stdout);
      return command.empty() ? 2 : 0;
    }
    if (command == "version" || command == "--version") {
      std::puts("airlock 0.1.0");
      return 0;
    }
    const auto args = parse_arguments(argc, argv, 2);
    if (command == "serve") {
      return serve(args);
    }
    if (command == "status") {
      return status(args);
    }
    if (command == "queue") {
      return queue(args);
    }
    if (command == "approve" || command == "block" || command == "unblock") {
      return decide(args, command);
    }
    if (command == "audit") {
      return audit(args);
    }
    if (command == "snapshot") {
      return snapshot(args);
    }
    if (command == "keys") {
      return keys(args);
    }
    if (command == "verify") {
      return verify(args);
    }
    if (command == "token") {
      if (args.positional.empty() || args.positional[0] != "create") {
        throw UsageError("usage: airlock token create --role reader|reviewer|admin --name NAME");
      }
      return token_create(args);
    }
    if (command == "fsck") {
      return fsck(args);
    }
    throw UsageError(fmt::format("unknown command \"{}\" (try: airlock help)", command));
  } catch (const UsageError& e) {
    std::fprintf(stderr, "airlock: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "airlock: %s\n", e.what());
    return 1;
  }
}

} // namespace airlock::proxy
