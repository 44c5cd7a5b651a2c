// The TUF verbs: keys (init and rotations, on the data directory) and verify, the CI gate
// that walks a snapshot's signed metadata from a pinned root.
#include "cli/command_line.hpp"

#include "cli/api_client.hpp"

#include <airlock/tuf/client.hpp>
#include <airlock/tuf/repository.hpp>

#include <boost/json.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <string>
#include <vector>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace airlock::cli {

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

namespace {

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

} // namespace

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

} // namespace airlock::cli
