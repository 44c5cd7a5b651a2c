// The review verbs: status, queue, approve/block/unblock and audit, each a call of the
// running server's admin API printed as a table or JSON.
#include "cli/command_line.hpp"

#include <boost/json.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <string>
#include <vector>

namespace airlock::cli {

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
  if (const auto* warnings = object.if_contains("warnings")) {
    for (const auto& warning : warnings->as_array()) {
      std::printf("warning: %s\n", text_of(warning).c_str());
    }
  }
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
    if (action == "block" || args.option("--file") == nullptr) {
      throw UsageError("--sha256 goes with approve or unblock --file FILENAME: it names the bytes");
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

} // namespace airlock::cli
