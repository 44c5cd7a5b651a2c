// Rotating the keys of a TUF repository: new online keys or a new root key, each committed
// by a new root version, and the settling of a rotation that a crash interrupted.
#include "repository_impl.hpp"

#include "metadata.hpp"

#include <airlock/util/fs.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <cstdio>
#include <map>

namespace airlock::tuf {

namespace json = boost::json;
namespace fs = std::filesystem;

Expected<void>
Repository::Impl::settle_rotation()
{
  // An online rotation writes timestamp.key.new first and renames it last, so its fate
  // decides the others'.
  const auto keys = keys_dir();
  std::error_code ec;
  const bool pending = fs::exists(keys / "timestamp.key.new", ec);
  const bool committed = pending && root_lists_key(keys / "timestamp.key.new", root_signed, "timestamp");
  for (const auto role : k_online_roles) {
    const fs::path path = keys / (std::string(role) + ".key");
    const fs::path new_path = path.string() + ".new";
    if (!fs::exists(new_path, ec)) {
      continue;
    }
    if (committed ? ::rename(new_path.c_str(), path.c_str()) != 0 : ::unlink(new_path.c_str()) != 0) {
      return make_unexpected(fmt::format("{}: {}", new_path.string(), errno_text()));
    }
  }
  return settle_new_key(default_root_key(), root_signed, "root");
}

Expected<SigningKey>
Repository::Impl::load_root_key(const fs::path& path)
{
  if (auto ok = settle_new_key(path, root_signed, "root"); !ok) {
    return make_unexpected(ok.error());
  }
  auto key = SigningKey::load(path);
  if (!key) {
    return key;
  }
  const auto& root_keyids = root_signed.at("roles").at("root").at("keyids").as_array();
  if (root_keyids.empty() || view(root_keyids[0].as_string()) != key->keyid()) {
    return make_unexpected(
      fmt::format("{}: not the root key of root.json version {}", path.string(), root_version));
  }
  return key;
}

Expected<RootChange>
Repository::Impl::begin_root_change(const fs::path& root_key_path, Time now)
{
  auto file_lock = lock_for_writing();
  if (!file_lock) {
    return make_unexpected(file_lock.error());
  }
  fs::path root_path = root_key_path.empty() ? default_root_key() : root_key_path;
  auto root_key = load_root_key(root_path);
  if (!root_key) {
    return make_unexpected(root_key.error());
  }
  auto root = root_signed;
  root["version"] = root_version + 1;
  root["expires"] = format_rfc3339(now + expirations.root);
  return RootChange{std::move(*file_lock), std::move(root_path), std::move(*root_key), std::move(root)};
}

Expected<void>
Repository::rotate_online_keys(Time now, const fs::path& root_key_path)
{
  std::lock_guard lock(m_impl->mutex);
  auto change = m_impl->begin_root_change(root_key_path, now);
  if (!change) {
    return make_unexpected(change.error());
  }
  const auto keys = m_impl->keys_dir();
  std::map<std::string, SigningKey, std::less<>> fresh;
  // timestamp first: Repository::open decides an interrupted rotation by timestamp.key.new.
  for (const auto role : {"timestamp", "targets", "snapshot", "bins"}) {
    auto key = SigningKey::generate();
    if (auto ok = write_new_key(key, keys / (std::string(role) + ".key")); !ok) {
      return ok;
    }
    fresh.emplace(role, std::move(key));
  }
  auto& root = change->root;
  json::object new_keys{{change->root_key.keyid(), change->root_key.public_json()}};
  auto& roles = root["roles"].as_object();
  for (const auto role : {"targets", "snapshot", "timestamp"}) {
    const auto& key = fresh.at(role);
    new_keys[key.keyid()] = key.public_json();
    roles[role] = role_json(key.keyid());
  }
  root["keys"] = std::move(new_keys);
  if (auto ok = m_impl->write_root(std::move(root), {&change->root_key}); !ok) {
    return ok;
  }
  // The new root is the commit point: from here on the new keys are the keys.
  for (const auto role : {"bins", "targets", "snapshot", "timestamp"}) {
    if (auto ok = commit_new_key(keys / (std::string(role) + ".key")); !ok) {
      return ok;
    }
  }
  m_impl->targets_key.emplace(std::move(fresh.at("targets")));
  m_impl->snapshot_key.emplace(std::move(fresh.at("snapshot")));
  m_impl->timestamp_key.emplace(std::move(fresh.at("timestamp")));
  m_impl->bins_key.emplace(std::move(fresh.at("bins")));
  return m_impl->sign_and_publish(nullptr, now, Seconds{0}, false, nullptr);
}

Expected<void>
Repository::rotate_root_key(Time now, const fs::path& root_key_path)
{
  std::lock_guard lock(m_impl->mutex);
  auto change = m_impl->begin_root_change(root_key_path, now);
  if (!change) {
    return make_unexpected(change.error());
  }
  const auto& old_key = change->root_key;
  auto new_key = SigningKey::generate();
  if (auto ok = write_new_key(new_key, change->root_path); !ok) {
    return ok;
  }
  auto& root = change->root;
  auto& keys = root["keys"].as_object();
  keys.erase(old_key.keyid());
  keys[new_key.keyid()] = new_key.public_json();
  root["roles"].as_object()["root"] = role_json(new_key.keyid());
  // TUF 5.3.4: clients check the new root against the old root's keys and its own.
  if (auto ok = m_impl->write_root(std::move(root), {&old_key, &new_key}); !ok) {
    return ok;
  }
  return commit_new_key(change->root_path);
}

Expected<void>
Repository::renew_root(Time now, const fs::path& root_key_path)
{
  std::lock_guard lock(m_impl->mutex);
  auto change = m_impl->begin_root_change(root_key_path, now);
  if (!change) {
    return make_unexpected(change.error());
  }
  return m_impl->write_root(std::move(change->root), {&change->root_key});
}

} // namespace airlock::tuf
