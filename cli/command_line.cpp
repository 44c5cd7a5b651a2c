// The command line every verb shares: arguments, the admin API call, and printing its
// answers as tables or JSON.
#include "cli/command_line.hpp"

#include "cli/api_client.hpp"

#include <airlock/util/time.hpp>
#include <airlock/util/units.hpp>

#include <boost/json.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace airlock::cli {

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
    if (arg == "--accept-large") {
      args.accept_large = true;
      continue;
    }
    if (arg == "--local") {
      args.local = true;
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
  return path == nullptr ? Config{} : proxy::load_config(*path);
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
call(const Arguments& args, std::string_view method, const std::string& target, const std::string& body)
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

} // namespace airlock::cli
