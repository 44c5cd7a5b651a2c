#pragma once

// The key layouts of the LMDB tables, private to airlock_storage: Store writes them and fsck
// reads them raw, so both build keys here.

#include <airlock/util/sha256.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

namespace airlock::storage::keys {

// The schema: how keys are laid out. 1: files and checks keyed by project + filename (no meta
// table); 2: keyed by project + filename + sha256, decisions bound to sha256s.
inline constexpr std::uint32_t k_schema_version = 2;

inline std::string_view
sha(const Sha256& sha256)
{
  return {reinterpret_cast<const char*>(sha256.bytes.data()), sha256.bytes.size()};
}

inline std::optional<Sha256>
sha_of(std::string_view key)
{
  if (key.size() != sizeof(Sha256::bytes)) {
    return std::nullopt;
  }
  Sha256 sha256;
  std::copy(key.begin(), key.end(), reinterpret_cast<char*>(sha256.bytes.data()));
  return sha256;
}

// project + '\0': NUL never occurs in a normalized project name, so "foo\0" cannot prefix
// "foo-bar"'s keys.
inline std::string
project_prefix(std::string_view project)
{
  std::string key(project);
  key += '\0';
  return key;
}

// project + '\0' + name: a snapshot's project, a decision's scope.
inline std::string
within(std::string_view project, std::string_view name)
{
  return project_prefix(project) + std::string(name);
}

// files and checks: project + '\0' + filename + '\0' + 32 raw sha256 bytes. A filename never
// holds NUL, so the filename ends where the digest's NUL begins.
inline std::string
file(std::string_view project, std::string_view filename, const Sha256& sha256)
{
  std::string key = within(project, filename);
  key += '\0';
  key += sha(sha256);
  return key;
}

} // namespace airlock::storage::keys
