// Drives a tuf::Repository for the tuf-js interop test (tuf_interop.py), one step a run:
//
//   tuf_fixture init    REPO
//   tuf_fixture publish REPO CONTENT   every file under CONTENT is a target at its relative path
//   tuf_fixture rotate-online REPO
//   tuf_fixture rotate-root   REPO
//
// After each step it lays out REPO/www as Airlock serves /tuf/: www/metadata/<name> from
// Repository::metadata(), www/targets/<consistent target path> from the content.
#include <airlock/proxy/tuf.hpp>

#include <fmt/format.h>
#include <sodium.h>

#include <fstream>
#include <iostream>
#include <sstream>

namespace fs = std::filesystem;
namespace tuf = airlock::proxy::tuf;

namespace {

std::string
read_file(const fs::path& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void
write_file(const fs::path& path, const std::string& bytes)
{
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

template<typename T>
T
check(airlock::Expected<T>&& result, std::string_view step)
{
  if (!result) {
    throw std::runtime_error(fmt::format("{}: {}", step, result.error()));
  }
  if constexpr (!std::is_void_v<T>) {
    return std::move(*result);
  }
}

void
export_metadata(const tuf::Repository& repo, const fs::path& repo_dir)
{
  const fs::path out = repo_dir / "www" / "metadata";
  fs::create_directories(out);
  for (const auto& entry : fs::directory_iterator(repo_dir / "metadata")) {
    const auto name = entry.path().filename().string();
    if (name.find(".tmp.") != std::string::npos) {
      continue;
    }
    const auto bytes = repo.metadata(name);
    if (!bytes) {
      throw std::runtime_error("Repository::metadata does not serve " + name);
    }
    write_file(out / name, *bytes);
  }
}

int
run(int argc, char** argv)
{
  if (argc < 3) {
    std::cerr << "usage: tuf_fixture init|publish|rotate-online|rotate-root REPO [CONTENT]\n";
    return 2;
  }
  const std::string_view step = argv[1];
  const fs::path repo_dir = argv[2];
  const auto now = airlock::SystemClock().now();
  if (step == "init") {
    check(tuf::Repository::init(repo_dir, now), "init");
  }
  auto repo = check(tuf::Repository::open(repo_dir), "open");
  if (step == "publish") {
    if (argc < 4) {
      throw std::runtime_error("publish needs a CONTENT directory");
    }
    const fs::path content = argv[3];
    std::vector<tuf::Target> targets;
    for (const auto& entry : fs::recursive_directory_iterator(content)) {
      if (!entry.is_regular_file()) {
        continue;
      }
      const auto bytes = read_file(entry.path());
      auto target = tuf::make_target(fs::relative(entry.path(), content).generic_string(), bytes);
      write_file(repo_dir / "www" / "targets" / tuf::consistent_target_path(target), bytes);
      targets.push_back(std::move(target));
    }
    check(repo->publish(targets, now), "publish");
  } else if (step == "rotate-online") {
    check(repo->rotate_online_keys(now), "rotate-online");
  } else if (step == "rotate-root") {
    check(repo->rotate_root_key(now), "rotate-root");
  } else if (step != "init") {
    throw std::runtime_error(fmt::format("unknown step {}", step));
  }
  export_metadata(*repo, repo_dir);
  return 0;
}

} // namespace

int
main(int argc, char** argv)
{
  try {
    if (sodium_init() < 0) {
      throw std::runtime_error("libsodium failed to initialize");
    }
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "tuf_fixture: " << e.what() << "\n";
    return 1;
  }
}
