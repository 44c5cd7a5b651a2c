// The checking side of TUF (`airlock verify`): metadata a server sends, walked from a pinned
// root. Input: documents separated by NUL bytes; the first is the pinned root.json, the others
// answer the client's fetches in the order it makes them (an empty or missing one is a 404).
// Every document is also read as the local trusted-versions state and canonicalized.
// Properties: canonical JSON is a fixed point (it parses and canonicalizes to itself, unless it
// holds control characters, which OLPC canonical JSON leaves unescaped); the
// trusted-versions state round-trips; a verified walk never goes back from the state it had.

#include "fuzz.hpp"

#include "metadata.hpp"

#include <airlock/tuf/client.hpp>
#include <airlock/tuf/repository.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace airlock;

namespace {

// When the seeds were signed; verification runs an hour later (timestamps live a day).
const Time k_signed = Time{std::chrono::sys_days{std::chrono::year{2026} / 11 / 28}} + std::chrono::hours{20};
const Time k_now = k_signed + std::chrono::hours{1};

// AIRLOCK_FUZZ_TUF_SEEDS=<dir>: writes seeds (a fresh repository publishing `targets`, its
// documents in the order the client fetches them) to <dir> and exits. Each seed verifies up to
// its bins (checked here, before it is cut short).
void
write_seed(const std::filesystem::path& out, const std::vector<tuf::Target>& targets)
{
  const auto dir = std::filesystem::temp_directory_path() / ("airlock-tuf-seed-" + out.filename().string());
  std::filesystem::remove_all(dir);
  FUZZ_CHECK(tuf::Repository::init(dir, k_signed).has_value());
  auto repository = tuf::Repository::open(dir);
  FUZZ_CHECK(repository.has_value());
  if (!targets.empty()) {
    FUZZ_CHECK((*repository)->publish(targets, k_signed).has_value());
  }
  std::string seed = *(*repository)->metadata("1.root.json");
  const tuf::Fetch fetch = [&](std::string_view path, std::uint64_t) -> Expected<std::optional<std::string>> {
    const auto name = path.substr(path.find('/') + 1);
    auto bytes = (*repository)->metadata(name);
    seed += '\0';
    seed += bytes.value_or("");
    return bytes;
  };
  const auto verified = tuf::verify_repository(seed.substr(0, seed.find('\0')), fetch, k_now);
  FUZZ_CHECK(verified.has_value());
  // The root, the 404 of 2.root.json, timestamp, snapshot, targets and the first bins: the
  // other 250 bins would only make every input 80 KB longer.
  std::size_t end = 0;
  for (int documents = 0; documents < 9 && end != std::string::npos; ++documents) {
    end = seed.find('\0', end + 1);
  }
  std::ofstream(out, std::ios::binary) << seed.substr(0, end);
  std::filesystem::remove_all(dir);
}

} // namespace

extern "C" int
LLVMFuzzerInitialize(int*, char***)
{
  if (const char* dir = std::getenv("AIRLOCK_FUZZ_TUF_SEEDS")) {
    const std::filesystem::path out(dir);
    write_seed(out / "empty", {});
    write_seed(out / "targets",
               {tuf::make_target("files/" + Sha256::of("w").hex() + "/sample_project-1.0-py3-none-any.whl", "w"),
                tuf::make_target("snapshots/ci-1/simple/sample-project/index.html", "<html></html>"),
                tuf::make_target("snapshots/ci-1/simple/sample-project/index.json", "{}")});
    std::exit(0);
  }
  return 0;
}

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  std::string_view rest = fuzz::as_text(data, size);
  std::vector<std::string_view> documents;
  while (!rest.empty() && documents.size() < 300) {
    documents.push_back(fuzz::take_until(rest, '\0'));
  }
  if (documents.empty()) {
    return 0;
  }

  for (const auto document : documents) {
    if (auto value = tuf::parse_json(document)) {
      auto canonical = tuf::canonical_json(*value);
      // OLPC canonical JSON writes control characters raw (only '"' and '\\' are escaped), which
      // strict JSON refuses: the fixed point holds for the other documents.
      const auto has_control = canonical && std::any_of(canonical->begin(), canonical->end(),
                                                        [](unsigned char c) { return c < 0x20; });
      if (canonical && !has_control) {
        auto again = tuf::parse_json(*canonical);
        FUZZ_CHECK(again.has_value());
        const auto twice = tuf::canonical_json(*again);
        FUZZ_CHECK(twice.has_value() && *twice == *canonical);
      }
    }
    if (auto state = tuf::TrustedVersions::from_json(document)) {
      const auto back = tuf::TrustedVersions::from_json(state->to_json());
      FUZZ_CHECK(back.has_value());
      FUZZ_CHECK(back->root == state->root && back->timestamp == state->timestamp
                 && back->snapshot == state->snapshot && back->meta == state->meta);
    }
  }

  std::size_t next = 1;
  const tuf::Fetch fetch = [&](std::string_view, std::uint64_t max_bytes) -> Expected<std::optional<std::string>> {
    if (next >= documents.size() || documents[next].empty()) {
      ++next;
      return std::optional<std::string>();
    }
    const auto document = documents[next++];
    if (document.size() > max_bytes) {
      return make_unexpected(std::string("response over the size limit"));
    }
    return std::optional<std::string>(std::string(document));
  };
  tuf::TrustedVersions trusted;
  const auto verified = tuf::verify_repository(documents[0], fetch, k_now, &trusted);
  if (verified) {
    FUZZ_CHECK(trusted.root == verified->root_version && trusted.timestamp == verified->timestamp_version);
    FUZZ_CHECK(std::is_sorted(verified->targets.begin(), verified->targets.end(),
                              [](const auto& a, const auto& b) { return a.path < b.path; }));
    for (const auto& target : verified->targets) {
      FUZZ_CHECK(!tuf::invalid_target_path(target.path));
      FUZZ_CHECK(verified->find(target.path) != nullptr);
    }
  } else {
    FUZZ_CHECK(!verified.error().empty() && verified.error().find('\n') == std::string::npos);
  }
  return 0;
}
