#pragma once

// TUF (The Update Framework, spec 1.0.31; PEP 458 layout) metadata over Airlock's snapshots:
// root, targets delegating to 256 hashed bins ("bin-00".."bin-ff", by the first two hex digits
// of sha256(target path)), snapshot and timestamp, signed with ed25519 (libsodium) over OLPC
// canonical JSON, with consistent snapshots.

#include <airlock/util/error.hpp>
#include <airlock/util/sha256.hpp>
#include <airlock/util/time.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::proxy::tuf {

// One file CI may fetch and check: a snapshot's index page or a distribution file.
struct Target
{
  std::string path;        // "snapshots/<name>/simple/<project>/index.html", "files/<sha256>/<filename>"
  std::uint64_t length = 0;
  Sha256 sha256;
  std::optional<std::string> sha512_hex; // 128 lowercase hex digits, when Airlock has the bytes

  friend bool operator==(const Target&, const Target&) = default;
};

// Returns the Target of `bytes` published at `path`, with its sha256 and sha512.
Target make_target(std::string path, std::string_view bytes);

// Returns where a TUF client fetches `target` under /tuf/targets/ with consistent snapshots:
// "<dir>/<sha256hex>.<basename>" ("files/<h>/<h>.x.whl" for "files/<h>/x.whl").
std::string consistent_target_path(const Target& target);

// The target path and sha256 named by a consistent target path (the inverse of
// consistent_target_path), or nullopt when `consistent_path` has not that form.
struct ConsistentTargetName
{
  std::string path;
  Sha256 sha256;
};
std::optional<ConsistentTargetName> parse_consistent_target_path(std::string_view consistent_path);

// Returns a one-line reason when `path` cannot be a target: empty, absolute, "." or ".."
// segments, or a character outside [A-Za-z0-9._~+!-] and "/".
std::optional<std::string> invalid_target_path(std::string_view path);

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

// The checking side (`airlock verify`).

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

} // namespace airlock::proxy::tuf
