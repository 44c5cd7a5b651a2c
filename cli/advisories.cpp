// The advisories verbs: list and show the OSV records in force, and import records through
// the server (or, with --local, into the data directory with no server running).
#include "cli/command_line.hpp"

#include "advisories/feed.hpp"

#include <boost/json.hpp>
#include <fmt/core.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace airlock::cli {

namespace {

std::string
read_whole(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string
joined(const json::value& list)
{
  std::string out;
  for (const auto& item : list.as_array()) {
    out += (out.empty() ? "" : ", ") + text_of(item);
  }
  return out.empty() ? "-" : out;
}

int
import(const Arguments& args)
{
  const std::vector<std::string> files(args.positional.begin() + 1, args.positional.end());
  if (files.empty() && !args.accept_large) {
    throw UsageError("usage: airlock advisories import FILE... [--accept-large] [--local [--config FILE]]");
  }
  if (args.local) {
    if (args.accept_large) {
      throw UsageError("--accept-large needs the running server: drop --local");
    }
    const auto config = load(args);
    for (const auto& file : files) {
      const auto kept = proxy::keep_imported(config.storage.path / "advisories", read_whole(file));
      if (!kept) {
        throw Error(fmt::format("{}: {}", file, kept.error()));
      }
      if (!args.json) {
        std::printf("%s: kept as %s; a running server reads it at its next refresh\n", file.c_str(),
                    kept->string().c_str());
      }
    }
    return 0;
  }
  const std::string target =
    std::string("/-/api/v1/advisories/import") + (args.accept_large ? "?accept_large=true" : "");
  json::array answers;
  const auto report = [&](const std::string& what, const json::value& answer) {
    if (args.json) {
      answers.push_back(answer);
    } else {
      std::printf("%s: %s\n", what.c_str(), text_of(answer.at("message")).c_str());
    }
  };
  for (const auto& file : files) {
    std::string body = read_whole(file);
    try {
      report(file, call(args, "POST", target, body));
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", file, e.what()));
    }
  }
  if (files.empty()) {
    report("accepted", call(args, "POST", target));
  }
  if (args.json) {
    print(answers);
  }
  return 0;
}

int
list(const Arguments& args)
{
  expect_positional(args, 1, 1, "advisories list [--project P]");
  std::string target = "/-/api/v1/advisories";
  if (const auto* project = args.option("--project")) {
    target += "?project=" + url_encode(*project);
  }
  const auto value = call(args, "GET", target);
  if (args.json) {
    print(value);
    return 0;
  }
  const auto& v = value.as_object();
  std::printf("%s records in force, newest modified %s; %s files blocked; %s skipped as malformed\n",
              text_of(v.at("records")).c_str(), relative(v.at("newest_modified")).c_str(),
              text_of(v.at("blocked_files")).c_str(), text_of(v.at("skipped")).c_str());
  for (const auto& warning : v.at("warnings").as_array()) {
    std::printf("warning: %s\n", text_of(warning).c_str());
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& advisory : v.at("advisories").as_array()) {
    const auto& a = advisory.as_object();
    const std::string kind = a.at("malicious").as_bool() ? "malicious" : text_of(a.at("severity"));
    rows.push_back({text_of(a.at("id")), kind, joined(a.at("projects")),
                    std::to_string(a.at("blocked_files").as_array().size()) + (a.at("held").as_bool() ? " (held)" : ""),
                    text_of(a.at("summary"))});
  }
  if (!rows.empty()) {
    std::puts("");
    print_table({"ID", "KIND", "PROJECTS", "BLOCKED", "SUMMARY"}, rows);
  }
  return 0;
}

int
show(const Arguments& args)
{
  expect_positional(args, 2, 2, "advisories show ID");
  const auto value = call(args, "GET", "/-/api/v1/advisories/" + url_encode(args.positional[1]));
  if (args.json) {
    print(value);
    return 0;
  }
  const auto& a = value.as_object();
  std::printf("%s (%s)%s\n%s\naliases: %s; modified %s; severity %s%s\n", text_of(a.at("id")).c_str(),
              a.at("malicious").as_bool() ? "malicious package" : "vulnerability",
              a.at("held").as_bool() ? ", held by the guard" : "", text_of(a.at("summary")).c_str(),
              joined(a.at("aliases")).c_str(), text_of(a.at("modified")).c_str(), text_of(a.at("severity")).c_str(),
              a.at("withdrawn").is_null() ? "" : fmt::format("; withdrawn {}", text_of(a.at("withdrawn"))).c_str());
  std::vector<std::vector<std::string>> rows;
  for (const auto& affected : a.at("affected").as_array()) {
    const auto& f = affected.as_object();
    std::string ranges;
    for (const auto& range : f.at("ranges").as_array()) {
      std::string events;
      for (const auto& event : range.at("events").as_array()) {
        for (const auto& [kind, version] : event.as_object()) {
          events += (events.empty() ? "" : " ") + std::string(kind) + " " + text_of(version);
        }
      }
      ranges += (ranges.empty() ? "" : "; ") + events;
    }
    rows.push_back({text_of(f.at("project")), joined(f.at("versions")), ranges.empty() ? "-" : ranges,
                    joined(f.at("fixed"))});
  }
  std::puts("");
  print_table({"PROJECT", "VERSIONS", "RANGES", "FIXED"}, rows);
  rows.clear();
  for (const auto& file : a.at("blocked_files").as_array()) {
    rows.push_back({text_of(file.at("project")), text_of(file.at("version")), text_of(file.at("filename"))});
  }
  if (!rows.empty()) {
    std::puts("");
    print_table({"PROJECT", "VERSION", "BLOCKED FILE"}, rows);
  }
  return 0;
}

} // namespace

int
advisories(const Arguments& args)
{
  const std::string_view verb = args.positional.empty() ? std::string_view() : std::string_view(args.positional[0]);
  if (verb == "import") {
    return import(args);
  }
  if (verb == "list") {
    return list(args);
  }
  if (verb == "show") {
    return show(args);
  }
  throw UsageError("usage: airlock advisories list [--project P] | show ID | import FILE... [--accept-large]");
}

} // namespace airlock::cli
