// The snapshot verbs: create (with --prefetch, which downloads every frozen file once),
// list and show.
#include "cli/command_line.hpp"

#include "cli/api_client.hpp"

#include <boost/json.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <string>
#include <vector>

namespace airlock::cli {

namespace {

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

} // namespace

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

} // namespace airlock::cli
