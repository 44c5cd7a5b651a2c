// Publishing a TUF repository: init, open and reload, signing the bins, targets, snapshot
// and timestamp that changed or near expiry, and serving the published files.
#include "repository_impl.hpp"

#include "metadata.hpp"

#include <airlock/util/assert.hpp>
#include <airlock/util/fs.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

namespace airlock::tuf {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string
bin_name(std::size_t index)
{
  return fmt::format("bin-{:02x}", index);
}

std::size_t
bin_of(std::string_view path)
{
  return Sha256::of(path).bytes[0];
}

// Returns what a published timestamp or snapshot (`lister`) lists for the file `name`.
Expected<MetaInfo>
listed_meta(const Document& doc, std::string_view lister, std::string_view name)
{
  const auto* meta = find_object(*doc.signed_part, "meta");
  if (meta == nullptr) {
    return make_unexpected(fmt::format("{}: \"meta\" is missing", lister));
  }
  return parse_meta(*meta, name, lister);
}

} // namespace

Expected<void>
Repository::Impl::write_root(json::object signed_part, const std::vector<const SigningKey*>& signers)
{
  const auto version = as_count(signed_part.if_contains("version")).value_or(0);
  const std::string bytes = sign_metadata(signed_part, signers);
  if (auto ok = write_metadata(metadata_filename(version, "root"), bytes); !ok) {
    return ok;
  }
  // root.json is a convenience copy of the newest: clients walk "<N>.root.json".
  if (auto ok = write_metadata("root.json", bytes); !ok) {
    return ok;
  }
  root_bytes = bytes;
  root_version = version;
  root_expires = *parse_rfc3339(view(signed_part.at("expires").get_string()));
  root_signed = std::move(signed_part);
  return {};
}

// Signs what must be signed and writes it, timestamp.json last (the commit point). A role is
// re-signed when its content or key changed, or when it expires within its threshold: `margin`
// when use_margin, else half its lifetime.
Expected<void>
Repository::Impl::sign_and_publish(const std::vector<Target>* new_targets, Time now, Seconds margin, bool use_margin,
                                   bool* changed)
{
  const auto due = [&](const Published& role, Seconds lifetime) {
    const Seconds threshold = use_margin ? margin : lifetime / 2;
    return role.version == 0 || role.expires - now <= threshold;
  };

  // Bins: content from the new targets, when given.
  std::array<std::optional<std::string>, k_bin_count> new_contents;
  if (new_targets != nullptr) {
    std::array<json::object, k_bin_count> objects;
    std::set<std::string_view> seen;
    for (const auto& target : *new_targets) {
      if (auto invalid = invalid_target_path(target.path)) {
        return make_unexpected(fmt::format("target '{}' {}", target.path, *invalid));
      }
      if (target.sha512_hex && !is_lower_hex(*target.sha512_hex, 128)) {
        return make_unexpected(fmt::format("target '{}': sha512 is not 128 lowercase hex digits", target.path));
      }
      if (!seen.insert(target.path).second) {
        return make_unexpected(fmt::format("target '{}' is listed twice", target.path));
      }
      objects[bin_of(target.path)][target.path] = target_json(target);
    }
    for (std::size_t i = 0; i < k_bin_count; ++i) {
      new_contents[i] = canonical(objects[i]);
    }
  }

  std::vector<std::pair<std::string, std::string>> files; // filename, bytes; written in order
  auto new_bins = bins;
  auto new_bin_contents = bin_contents;
  bool any_bin = false;
  for (std::size_t i = 0; i < k_bin_count; ++i) {
    const bool content_changed = new_contents[i] && *new_contents[i] != bin_contents[i];
    if (!content_changed && bins[i].signer == bins_key->keyid() && !due(bins[i], expirations.targets)) {
      continue;
    }
    if (new_contents[i]) {
      new_bin_contents[i] = *new_contents[i];
    }
    auto contents = parse_json(new_bin_contents[i]);
    AIRLOCK_ASSERT(contents && contents->is_object());
    auto& bin = new_bins[i];
    bin.version += 1;
    bin.expires = now + expirations.targets;
    bin.signer = bins_key->keyid();
    auto signed_part = signed_header("targets", bin.version, bin.expires);
    signed_part["targets"] = std::move(contents->get_object());
    bin.bytes = sign_metadata(signed_part, {&*bins_key});
    files.emplace_back(metadata_filename(bin.version, bin_name(i)), bin.bytes);
    any_bin = true;
  }

  auto new_top = targets;
  bool targets_signed = false;
  if (new_top.signer != targets_key->keyid() || delegated_keyid != bins_key->keyid()
      || due(new_top, expirations.targets)) {
    new_top.version += 1;
    new_top.expires = now + expirations.targets;
    new_top.signer = targets_key->keyid();
    json::array roles;
    for (std::size_t i = 0; i < k_bin_count; ++i) {
      roles.push_back(json::object{{"name", bin_name(i)},
                                   {"keyids", json::array{json::string(bins_key->keyid())}},
                                   {"threshold", 1},
                                   {"terminating", true},
                                   {"path_hash_prefixes", json::array{json::string(fmt::format("{:02x}", i))}}});
    }
    auto signed_part = signed_header("targets", new_top.version, new_top.expires);
    signed_part["targets"] = json::object{};
    signed_part["delegations"] = json::object{{"keys", json::object{{bins_key->keyid(), bins_key->public_json()}}},
                                              {"roles", std::move(roles)}};
    new_top.bytes = sign_metadata(signed_part, {&*targets_key});
    files.emplace_back(metadata_filename(new_top.version, "targets"), new_top.bytes);
    targets_signed = true;
  }

  auto new_snapshot = snapshot;
  bool snapshot_signed = false;
  if (any_bin || targets_signed || new_snapshot.signer != snapshot_key->keyid()
      || due(new_snapshot, expirations.snapshot)) {
    new_snapshot.version += 1;
    new_snapshot.expires = now + expirations.snapshot;
    new_snapshot.signer = snapshot_key->keyid();
    json::object meta;
    meta["targets.json"] = meta_json(new_top.version, new_top.bytes);
    for (std::size_t i = 0; i < k_bin_count; ++i) {
      meta[bin_name(i) + ".json"] = meta_json(new_bins[i].version, new_bins[i].bytes);
    }
    auto signed_part = signed_header("snapshot", new_snapshot.version, new_snapshot.expires);
    signed_part["meta"] = std::move(meta);
    new_snapshot.bytes = sign_metadata(signed_part, {&*snapshot_key});
    files.emplace_back(metadata_filename(new_snapshot.version, "snapshot"), new_snapshot.bytes);
    snapshot_signed = true;
  }

  auto new_timestamp = timestamp;
  if (snapshot_signed || new_timestamp.signer != timestamp_key->keyid()
      || due(new_timestamp, expirations.timestamp)) {
    new_timestamp.version += 1;
    new_timestamp.expires = now + expirations.timestamp;
    new_timestamp.signer = timestamp_key->keyid();
    auto signed_part = signed_header("timestamp", new_timestamp.version, new_timestamp.expires);
    signed_part["meta"] = json::object{{"snapshot.json", meta_json(new_snapshot.version, new_snapshot.bytes)}};
    new_timestamp.bytes = sign_metadata(signed_part, {&*timestamp_key});
    files.emplace_back("timestamp.json", new_timestamp.bytes);
  }

  // Everything timestamp.json refers to is durable before timestamp.json is replaced.
  for (const auto& [name, bytes] : files) {
    const bool last = name == "timestamp.json";
    if (last && files.size() > 1) {
      if (auto ok = sync_filesystem(metadata_dir()); !ok) {
        return ok;
      }
    }
    if (auto ok = write_metadata(name, bytes, last ? Fsync::yes : Fsync::no); !ok) {
      return ok;
    }
  }
  bins = std::move(new_bins);
  bin_contents = std::move(new_bin_contents);
  targets = std::move(new_top);
  delegated_keyid = bins_key->keyid();
  snapshot = std::move(new_snapshot);
  timestamp = std::move(new_timestamp);
  if (changed != nullptr) {
    *changed = !files.empty();
  }
  return {};
}
Expected<void>
Repository::Impl::load_state()
{
  const auto read_published = [&](const std::string& filename, std::string_view type,
                                  Published& out) -> Expected<Document> {
    auto bytes = read_small_file(metadata_dir() / filename, k_max_targets_bytes);
    if (!bytes) {
      return make_unexpected(
        fmt::format("{}: cannot read it (has `airlock keys init` run?)", (metadata_dir() / filename).string()));
    }
    auto doc = parse_document(*bytes, filename, type);
    if (!doc) {
      return doc;
    }
    out.version = doc->version;
    out.expires = doc->expires;
    out.signer = doc->signatures.empty() ? std::string() : doc->signatures.begin()->first;
    out.bytes = std::move(*bytes);
    return doc;
  };

  // Reads the version of `role` that the published `lister` names.
  const auto read_listed = [&](const Document& lister_doc, std::string_view lister, const std::string& role,
                               std::string_view type, Published& out) -> Expected<Document> {
    auto info = listed_meta(lister_doc, lister, role + ".json");
    if (!info) {
      return make_unexpected(info.error());
    }
    return read_published(metadata_filename(info->version, role), type, out);
  };

  Published root_file;
  auto root = read_published("root.json", "root", root_file);
  if (!root) {
    return make_unexpected(root.error());
  }
  root_bytes = std::move(root_file.bytes);
  root_signed = *root->signed_part;
  root_version = root->version;
  root_expires = root->expires;

  auto ts = read_published("timestamp.json", "timestamp", timestamp);
  if (!ts) {
    return make_unexpected(ts.error());
  }
  auto snap = read_listed(*ts, "timestamp.json", "snapshot", "snapshot", snapshot);
  if (!snap) {
    return make_unexpected(snap.error());
  }
  auto top = read_listed(*snap, "snapshot.json", "targets", "targets", targets);
  if (!top) {
    return make_unexpected(top.error());
  }
  const auto* delegations = find_object(*top->signed_part, "delegations");
  const auto* delegated_keys = delegations != nullptr ? find_object(*delegations, "keys") : nullptr;
  delegated_keyid = delegated_keys != nullptr && !delegated_keys->empty() ? std::string(delegated_keys->begin()->key())
                                                                          : std::string();
  for (std::size_t i = 0; i < k_bin_count; ++i) {
    auto bin = read_listed(*snap, "snapshot.json", bin_name(i), "targets", bins[i]);
    if (!bin) {
      return make_unexpected(bin.error());
    }
    const auto* contents = bin->signed_part->if_contains("targets");
    if (contents == nullptr || !contents->is_object()) {
      return make_unexpected(fmt::format("{}: \"targets\" is missing", bin_name(i)));
    }
    bin_contents[i] = canonical(*contents);
  }
  return {};
}

Repository::Repository(std::unique_ptr<Impl> impl) : m_impl(std::move(impl))
{
}

Repository::~Repository() = default;

Expected<void>
Repository::init(const fs::path& dir, Time now, const fs::path& offline_root_key, Expirations expirations)
{
  std::error_code ec;
  fs::create_directories(dir / "metadata", ec);
  if (ec) {
    return make_unexpected(fmt::format("{}: {}", (dir / "metadata").string(), ec.message()));
  }
  if (::mkdir((dir / "keys").c_str(), 0700) != 0) {
    return make_unexpected(fmt::format("{}: {} (keys exist already?)", (dir / "keys").string(), errno_text()));
  }
  if (fs::exists(dir / "metadata" / "root.json", ec)) {
    return make_unexpected(fmt::format("{}: exists already", (dir / "metadata" / "root.json").string()));
  }
  const fs::path root_path = offline_root_key.empty() ? dir / "keys" / "root.key" : offline_root_key;
  const auto root_key = SigningKey::generate();
  if (auto ok = root_key.save(root_path); !ok) {
    return ok;
  }
  std::map<std::string, SigningKey, std::less<>> online;
  for (const auto role : k_online_roles) {
    auto key = SigningKey::generate();
    if (auto ok = key.save(dir / "keys" / (std::string(role) + ".key")); !ok) {
      return ok;
    }
    online.emplace(std::string(role), std::move(key));
  }

  Impl impl;
  impl.dir = dir;
  impl.expirations = expirations;
  auto root = signed_header("root", 1, now + expirations.root);
  root["consistent_snapshot"] = true;
  json::object keys{{root_key.keyid(), root_key.public_json()}};
  json::object roles{{"root", role_json(root_key.keyid())}};
  for (const auto role : {"targets", "snapshot", "timestamp"}) {
    const auto& key = online.at(role);
    keys[key.keyid()] = key.public_json();
    roles[role] = role_json(key.keyid());
  }
  root["keys"] = std::move(keys);
  root["roles"] = std::move(roles);
  if (auto ok = impl.write_root(std::move(root), {&root_key}); !ok) {
    return ok;
  }
  impl.targets_key.emplace(std::move(online.at("targets")));
  impl.snapshot_key.emplace(std::move(online.at("snapshot")));
  impl.timestamp_key.emplace(std::move(online.at("timestamp")));
  impl.bins_key.emplace(std::move(online.at("bins")));
  const std::vector<Target> none;
  return impl.sign_and_publish(&none, now, Seconds{0}, false, nullptr);
}

// Reads the published state and the keys, settling an interrupted rotation first.
Expected<void>
Repository::Impl::load()
{
  if (auto ok = load_state(); !ok) {
    return ok;
  }
  if (auto ok = settle_rotation(); !ok) {
    return ok;
  }
  const auto keys = keys_dir();
  std::array<std::optional<SigningKey>*, 4> slots = {&targets_key, &snapshot_key, &timestamp_key, &bins_key};
  for (std::size_t i = 0; i < k_online_roles.size(); ++i) {
    auto key = SigningKey::load(keys / (std::string(k_online_roles[i]) + ".key"));
    if (!key) {
      return make_unexpected(key.error());
    }
    slots[i]->emplace(std::move(*key));
  }
  // The top-level online keys must be the ones the newest root names.
  const auto* roles = find_object(root_signed, "roles");
  for (std::size_t i = 0; i < 3; ++i) {
    auto role = parse_role_keys(roles != nullptr ? find_object(*roles, k_online_roles[i]) : nullptr,
                                fmt::format("root.json {}", k_online_roles[i]));
    if (!role) {
      return make_unexpected(role.error());
    }
    if (std::find(role->keyids.begin(), role->keyids.end(), (*slots[i])->keyid()) == role->keyids.end()) {
      return make_unexpected(fmt::format("{}: not the {} key that root.json version {} names",
                                         (keys / (std::string(k_online_roles[i]) + ".key")).string(),
                                         k_online_roles[i], root_version));
    }
  }
  return {};
}

// Serializes the repository's writers across processes (`airlock keys rotate` beside a
// running server): an flock on <dir>/lock, released when the Fd closes.
Expected<Fd>
Repository::Impl::lock_exclusive() const
{
  const fs::path path = dir / "lock";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) {
    return make_unexpected(fmt::format("{}: {}", path.string(), errno_text()));
  }
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) {
      return make_unexpected(fmt::format("{}: flock: {}", path.string(), errno_text()));
    }
  }
  return fd;
}

// Reloads when another process published or rotated since this one last wrote.
Expected<void>
Repository::Impl::reload_if_changed()
{
  const auto on_disk_root = read_small_file(metadata_dir() / "root.json", k_max_root_bytes);
  const auto on_disk_timestamp = read_small_file(metadata_dir() / "timestamp.json", k_max_timestamp_bytes);
  if (on_disk_root == root_bytes && on_disk_timestamp == timestamp.bytes) {
    return {};
  }
  return load();
}

Expected<Fd>
Repository::Impl::lock_for_writing()
{
  auto file_lock = lock_exclusive();
  if (!file_lock) {
    return file_lock;
  }
  if (auto ok = reload_if_changed(); !ok) {
    return make_unexpected(ok.error());
  }
  return file_lock;
}

Expected<std::unique_ptr<Repository>>
Repository::open(const fs::path& dir, Expirations expirations)
{
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->expirations = expirations;
  if (!fs::exists(impl->metadata_dir() / "root.json")) {
    return make_unexpected(fmt::format("{}: not found (has `airlock keys init` run?)",
                                       (impl->metadata_dir() / "root.json").string()));
  }
  auto file_lock = impl->lock_exclusive();
  if (!file_lock) {
    return make_unexpected(file_lock.error());
  }
  if (auto ok = impl->load(); !ok) {
    return make_unexpected(ok.error());
  }
  return std::unique_ptr<Repository>(new Repository(std::move(impl)));
}

Expected<void>
Repository::publish(const std::vector<Target>& targets, Time now)
{
  std::lock_guard lock(m_impl->mutex);
  auto file_lock = m_impl->lock_for_writing();
  if (!file_lock) {
    return make_unexpected(file_lock.error());
  }
  return m_impl->sign_and_publish(&targets, now, Seconds{0}, false, nullptr);
}

Expected<bool>
Repository::refresh(Time now, Seconds margin)
{
  std::lock_guard lock(m_impl->mutex);
  auto file_lock = m_impl->lock_for_writing();
  if (!file_lock) {
    return make_unexpected(file_lock.error());
  }
  bool changed = false;
  if (auto ok = m_impl->sign_and_publish(nullptr, now, margin, true, &changed); !ok) {
    return make_unexpected(ok.error());
  }
  return changed;
}

std::optional<std::string>
Repository::metadata(std::string_view filename) const
{
  // Only names the repository writes: "root.json", "timestamp.json", "<digits>.<role>.json".
  if (filename != "root.json" && filename != "timestamp.json") {
    const auto dot = filename.find('.');
    if (dot == std::string_view::npos || dot == 0 || !filename.ends_with(".json")
        || !std::all_of(filename.begin(), filename.begin() + static_cast<std::ptrdiff_t>(dot),
                        [](char c) { return c >= '0' && c <= '9'; })
        || dot + 1 + 5 > filename.size() || !is_role_name(filename.substr(dot + 1, filename.size() - dot - 6))) {
      return std::nullopt;
    }
  }
  return read_small_file(m_impl->metadata_dir() / std::string(filename), k_max_targets_bytes);
}

Time
Repository::root_expires() const
{
  std::lock_guard lock(m_impl->mutex);
  return m_impl->root_expires;
}

std::uint64_t
Repository::root_version() const
{
  std::lock_guard lock(m_impl->mutex);
  return m_impl->root_version;
}

} // namespace airlock::tuf
