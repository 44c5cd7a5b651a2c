#include <airlock/proxy/cli.hpp>

#include <airlock/proxy/config.hpp>
#include <airlock/proxy/server.hpp>
#include <airlock/util/error.hpp>
#include <airlock/util/log.hpp>

#include <fmt/core.h>
#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::proxy {

namespace {

constexpr std::string_view k_usage = R"(usage: airlock <command> [options]

commands:
  serve [--config FILE]     run the proxy (embedded defaults without --config)
  help                      show this text
  version                   print the version

environment:
  AIRLOCK_LOG=error|warn|info|debug   log verbosity (default info)
)";

// A command-line problem: reported as one line, exit code 2.
class UsageError : public Error
{
public:
  using Error::Error;
};

struct Arguments
{
  std::vector<std::string_view> positional;
  std::string config_path;
};

Arguments
parse_arguments(int argc, char** argv, int first)
{
  Arguments args;
  for (int i = first; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config") {
      if (i + 1 >= argc) {
        throw UsageError("--config needs a file name");
      }
      args.config_path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      args.config_path = std::string(arg.substr(9));
    } else if (arg.starts_with("--")) {
      throw UsageError(fmt::format("unknown option {}", arg));
    } else {
      args.positional.push_back(arg);
    }
  }
  return args;
}

Config
load(const Arguments& args)
{
  return args.config_path.empty() ? Config{} : load_config(args.config_path);
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
