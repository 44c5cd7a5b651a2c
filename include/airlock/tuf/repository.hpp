// The signing side of TUF (spec 1.0.31, PEP 458 layout): a repository of ed25519 keys and
// metadata that publishes Airlock's targets and rotates its keys.
#pragma once

#include <airlock/tuf/target.hpp>
#include <airlock/util/error.hpp>
#include <airlock/util/time.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::tuf {

// Root and targets delegate to 256 hashed bins ("bin-00".."bin-ff", by the first two hex
// digits of sha256(target path)); snapshot and timestamp follow. Everything is signed with
// ed25519 over OLPC canonical JSON, with consistent snapshots.

struct Expirations
{
  Seconds root = std::chrono::days{365};
  Seconds targets = std::chrono::days{90};
  Seconds snapshot = std::chrono::days{7};
  Seconds timestamp = std::chrono::days{1};
};

// The signing side, rooted in <dir>: keys/ (ed25519 seeds as hex, files 0600: targets, snapshot,
// timestamp, bins and, unless kept offline, root) and metadata/ (every published version, as
// served under /tuf/metadata/). Thread-safe. Writers in several processes (the server and
// `airlock keys ...`) are serialized by an flock on <dir>/lock, and each reloads what another
// published or rotated before it writes.
class Repository
{
public:
  // Creates the keys of every role, the first root.json (version 1) and an empty first
  // publication. Fails when keys or metadata exist already. The root key is written to
  // `offline_root_key` when given (kept off the server afterwards), else to keys/root.key.
  static Expected<void> init(const std::filesystem::path& dir, Time now,
                             const std::filesystem::path& offline_root_key = {},
                             Expirations expirations = {});

  // Opens an initialized repository; fails naming the missing file when `airlock keys init`
  // has not run, or when a key does not match the published metadata.
  static Expected<std::unique_ptr<Repository>> open(const std::filesystem::path& dir, Expirations expirations = {});
  ~Repository();

  // Publishes the complete current set of targets: new versions of the bins whose content
  // changed, then targets, snapshot and timestamp as needed ("<version>.<role>.json",
  // timestamp.json unversioned). Roles with less than half their lifetime left are re-signed.
  // Fails on an invalid or duplicate target path, leaving the published metadata unchanged.
  Expected<void> publish(const std::vector<Target>& targets, Time now);
  // Re-signs every online role that expires within `margin` of `now` (bins, targets,
  // snapshot, timestamp: each with a new version), or whose key changed; returns whether it
  // re-signed anything. Call it periodically (e.g. every 10 minutes with a 6 h margin).
  Expected<bool> refresh(Time now, Seconds margin);
  // Replaces the online keys (targets, snapshot, timestamp, bins) with new ones, signs a new
  // root version with the root key (`root_key`, else keys/root.key), and republishes.
  Expected<void> rotate_online_keys(Time now, const std::filesystem::path& root_key = {});
  // Replaces the root key in `root_key` (else keys/root.key): the new root version is signed
  // by the old and the new root keys (TUF 5.3.4). The old key is overwritten.
  Expected<void> rotate_root_key(Time now, const std::filesystem::path& root_key = {});
  // Signs a new root version with the same keys and a fresh expiry (root never expires
  // unattended: it needs the offline key).
  Expected<void> renew_root(Time now, const std::filesystem::path& root_key = {});

  // Returns the bytes of a published metadata file ("1.root.json", "root.json" = the newest,
  // "timestamp.json", "3.snapshot.json", "3.targets.json", "2.bin-0a.json"), or nullopt.
  // Safe to call concurrently with publishing (files are replaced by rename).
  std::optional<std::string> metadata(std::string_view filename) const;
  // Returns when the newest root expires, so the server can warn well before.
  Time root_expires() const;
  // Returns the version of the newest root.
  std::uint64_t root_version() const;

private:
  struct Impl;
  explicit Repository(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

} // namespace airlock::tuf
