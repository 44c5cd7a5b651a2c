// TUF targets as the public API names them: the files CI may fetch and check, and the
// consistent-snapshot paths a client fetches them by.
#pragma once

#include <airlock/util/sha256.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace airlock::tuf {

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

} // namespace airlock::tuf
