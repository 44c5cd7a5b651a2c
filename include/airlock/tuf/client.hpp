// The checking side of TUF (`airlock verify`): the client workflow that walks a repository's
// metadata from a pinned root, and the checks of fetched targets against it.
#pragma once

#include <airlock/tuf/target.hpp>
#include <airlock/util/error.hpp>
#include <airlock/util/sha256.hpp>
#include <airlock/util/time.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::tuf {

// Versions a client trusts after a successful verification; it must never go back from them
// (TUF 5.3-5.6 rollback checks). `airlock verify` keeps them in a small local state file.
struct TrustedVersions
{
  std::uint64_t root = 0;
  std::uint64_t timestamp = 0;
  std::uint64_t snapshot = 0;
  std::map<std::string, std::uint64_t> meta; // "targets.json", "bin-0a.json" -> version

  // Serializes as one JSON object; from_json fails with a one-line reason.
  std::string to_json() const;
  static Expected<TrustedVersions> from_json(std::string_view text);
};

struct VerifiedTargets
{
  std::vector<Target> targets; // every target of the verified metadata (all bins), sorted by path
  std::uint64_t root_version = 0;
  std::uint64_t timestamp_version = 0;
  std::uint64_t snapshot_version = 0;
  std::uint64_t targets_version = 0;
  Time expires{}; // the earliest expiry of the metadata verified

  // Returns the target at `path`, or nullptr.
  const Target* find(std::string_view path) const;
};

// Fetches the bytes at a path under /tuf/ ("metadata/2.root.json"), reading at most
// `max_bytes` (more is an error); nullopt for a 404, which ends the root chain.
using Fetch = std::function<Expected<std::optional<std::string>>(std::string_view path, std::uint64_t max_bytes)>;

// Walks the chain from a pinned root.json as the TUF client workflow (5.3-5.6): root updates,
// timestamp, snapshot, targets and every delegated bin. Checks signatures with thresholds,
// key ids, versions (and, when `trusted` is given, no rollback below it; it is updated on
// success), expirations against `now`, hashes and lengths. Fails with a one-line reason that
// names the role and the problem, e.g. "snapshot: expired at 2026-03-24T10:39:00Z".
Expected<VerifiedTargets> verify_repository(std::string_view trusted_root_json, const Fetch& fetch, Time now,
                                            TrustedVersions* trusted = nullptr);

// Checks fetched bytes against a verified target: length, sha256 and (when signed) sha512.
Expected<void> verify_target(const Target& signed_target, std::string_view bytes);
// Checks a streamed file's length and sha256 against a verified target.
Expected<void> verify_target(const Target& signed_target, std::uint64_t length, const Sha256& sha256);

} // namespace airlock::tuf
