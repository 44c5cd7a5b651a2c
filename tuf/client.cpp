// The TUF client workflow that `airlock verify` runs (spec 5.2-5.6), one function per step:
// the pinned root, root updates, timestamp, snapshot, targets and the delegated bins.
#include <airlock/tuf/client.hpp>

#include "metadata.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace airlock::tuf {

namespace json = boost::json;

std::string
TrustedVersions::to_json() const
{
  json::object meta_object;
  for (const auto& [name, version] : meta) {
    meta_object[name] = version;
  }
  return canonical(json::object{
    {"root", root}, {"timestamp", timestamp}, {"snapshot", snapshot}, {"meta", std::move(meta_object)}});
}

Expected<TrustedVersions>
TrustedVersions::from_json(std::string_view text)
{
  auto parsed = parse_json(text);
  if (!parsed) {
    return make_unexpected("trusted versions: " + parsed.error());
  }
  const auto* object = parsed->if_object();
  if (object == nullptr) {
    return make_unexpected("trusted versions: not a JSON object");
  }
  TrustedVersions out;
  const std::array<std::pair<std::uint64_t*, std::string_view>, 3> fields = {
    {{&out.root, "root"}, {&out.timestamp, "timestamp"}, {&out.snapshot, "snapshot"}}};
  for (const auto& [field, name] : fields) {
    const auto value = as_count(object->if_contains(name));
    if (!value) {
      return make_unexpected(fmt::format("trusted versions: \"{}\" is missing or not a count", name));
    }
    *field = *value;
  }
  const auto* meta = find_object(*object, "meta");
  if (meta == nullptr) {
    return make_unexpected("trusted versions: \"meta\" is missing");
  }
  for (const auto& [name, value] : *meta) {
    const auto version = as_count(&value);
    if (!version) {
      return make_unexpected(fmt::format("trusted versions: meta \"{}\" is not a count", std::string_view(name)));
    }
    out.meta.emplace(std::string(name), *version);
  }
  return out;
}

const Target*
VerifiedTargets::find(std::string_view path) const
{
  const auto it = std::lower_bound(targets.begin(), targets.end(), path,
                                   [](const Target& t, std::string_view p) { return t.path < p; });
  return it != targets.end() && it->path == path ? &*it : nullptr;
}
namespace {

constexpr std::uint64_t k_max_root_rotations = 1024;

struct Delegation
{
  std::string name;
  RoleKeys keys;
  bool terminating = false;
  std::vector<std::string> prefixes;

  bool
  covers(const std::string& path_hash) const
  {
    return std::any_of(prefixes.begin(), prefixes.end(), [&](const auto& p) { return path_hash.starts_with(p); });
  }
};

struct RootState
{
  Document doc;
  PublicKeys keys;
  std::map<std::string, RoleKeys, std::less<>> roles;
};

Expected<RootState>
parse_root(std::string_view bytes, std::string_view label)
{
  auto doc = parse_document(bytes, label, "root");
  if (!doc) {
    return make_unexpected(doc.error());
  }
  RootState out;
  auto keys = parse_keys(find_object(*doc->signed_part, "keys"), label);
  if (!keys) {
    return make_unexpected(keys.error());
  }
  out.keys = std::move(*keys);
  const auto* roles = find_object(*doc->signed_part, "roles");
  for (const auto role : {"root", "targets", "snapshot", "timestamp"}) {
    auto parsed = parse_role_keys(roles != nullptr ? find_object(*roles, role) : nullptr,
                                  fmt::format("{} ({} role)", label, role));
    if (!parsed) {
      return make_unexpected(parsed.error());
    }
    out.roles.emplace(role, std::move(*parsed));
  }
  const auto* consistent = doc->signed_part->if_contains("consistent_snapshot");
  if (consistent == nullptr || !consistent->is_bool() || !consistent->get_bool()) {
    return make_unexpected(fmt::format("{}: consistent_snapshot is not true (only consistent snapshots are verified)",
                                       label));
  }
  out.doc = std::move(*doc);
  return out;
}

Expected<std::string>
fetch_file(const Fetch& fetch, const std::string& path, std::uint64_t max_bytes, std::string_view label)
{
  auto fetched = fetch(path, max_bytes);
  if (!fetched) {
    return make_unexpected(fmt::format("{}: fetching {}: {}", label, path, fetched.error()));
  }
  if (!*fetched) {
    return make_unexpected(fmt::format("{}: {} not found", label, path));
  }
  if ((*fetched)->size() > max_bytes) {
    return make_unexpected(fmt::format("{}: {} is larger than {} bytes", label, path, max_bytes));
  }
  return std::move(**fetched);
}

Expected<void>
check_expiry(const Document& doc, Time now, std::string_view label)
{
  if (now >= doc.expires) {
    return make_unexpected(fmt::format("{}: version {} expired at {}", label, doc.version, format_rfc3339(doc.expires)));
  }
  return {};
}

bool
same_keys(const RoleKeys& a, const RoleKeys& b)
{
  auto x = a.keyids;
  auto y = b.keyids;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  return x == y && a.threshold == b.threshold;
}

// What the walk has verified so far, carried from one step to the next.
struct Walk
{
  const Fetch& fetch;
  Time now;
  bool keeps_trust = false; // the caller keeps trusted versions (5.3.11 applies)
  TrustedVersions state;    // what the caller trusted, less what 5.3.11 forgets
  VerifiedTargets out;
  std::map<std::string, std::uint64_t> new_meta; // "targets.json", "bin-0a.json" -> version
  std::map<std::string, Target> found;           // path -> the target that counts for it
};

// Checks that `doc` has not expired, and counts its expiry into the earliest one verified.
Expected<void>
note_expiry(Walk& walk, const Document& doc, std::string_view label)
{
  if (auto ok = check_expiry(doc, walk.now, label); !ok) {
    return ok;
  }
  walk.out.expires = std::min(walk.out.expires, doc.expires);
  return {};
}

// Timestamp and snapshot keys of each root seen, by root version, for 5.3.11.
using KeyHistory = std::map<std::uint64_t, std::pair<RoleKeys, RoleKeys>>;

// 5.2: the pinned root, checked against its own keys (its expiry does not matter yet).
Expected<RootState>
load_trusted_root(std::string_view trusted_root_json)
{
  auto root = parse_root(trusted_root_json, "root");
  if (!root) {
    return root;
  }
  if (auto ok = check_signatures(root->doc, root->keys, root->roles.at("root"), "root (pinned)"); !ok) {
    return make_unexpected(ok.error());
  }
  return root;
}

// 5.3.11: after a rotation of the timestamp or snapshot keys, forget their trusted versions
// so a repository can recover from a fast-forward attack made with the old keys.
void
forget_rotated_versions(Walk& walk, const KeyHistory& history, std::uint64_t root_version)
{
  if (!walk.keeps_trust || root_version == walk.state.root) {
    return;
  }
  const auto before = history.find(walk.state.root);
  const auto& [timestamp_keys, snapshot_keys] = history.at(root_version);
  const bool timestamp_rotated = before == history.end() || !same_keys(before->second.first, timestamp_keys);
  const bool snapshot_rotated = before == history.end() || !same_keys(before->second.second, snapshot_keys);
  if (timestamp_rotated) {
    walk.state.timestamp = 0;
  }
  if (timestamp_rotated || snapshot_rotated) {
    walk.state.snapshot = 0;
    walk.state.meta.clear();
  }
}

// 5.3: walks N+1.root.json until a 404, each signed by the previous root's keys and its own;
// then the newest root must be no older than the trusted one, and unexpired.
Expected<void>
update_root(Walk& walk, RootState& root)
{
  KeyHistory history;
  history.emplace(root.doc.version, std::pair{root.roles.at("timestamp"), root.roles.at("snapshot")});
  for (std::uint64_t step = 0; step < k_max_root_rotations; ++step) {
    const std::uint64_t next = root.doc.version + 1;
    const auto label = fmt::format("root version {}", next);
    auto fetched = walk.fetch(fmt::format("metadata/{}", metadata_filename(next, "root")), k_max_root_bytes);
    if (!fetched) {
      return make_unexpected(fmt::format("{}: fetching: {}", label, fetched.error()));
    }
    if (!*fetched) {
      break;
    }
    if ((*fetched)->size() > k_max_root_bytes) {
      return make_unexpected(fmt::format("{}: larger than {} bytes", label, k_max_root_bytes));
    }
    auto candidate = parse_root(**fetched, label);
    if (!candidate) {
      return make_unexpected(candidate.error());
    }
    if (auto ok = check_signatures(candidate->doc, root.keys, root.roles.at("root"),
                                   fmt::format("{} (by the keys of version {})", label, root.doc.version));
        !ok) {
      return ok;
    }
    if (candidate->doc.version != next) {
      return make_unexpected(fmt::format("{}: the file holds version {}", label, candidate->doc.version));
    }
    if (auto ok = check_signatures(candidate->doc, candidate->keys, candidate->roles.at("root"),
                                   fmt::format("{} (by its own keys)", label));
        !ok) {
      return ok;
    }
    root = std::move(*candidate);
    history.emplace(root.doc.version, std::pair{root.roles.at("timestamp"), root.roles.at("snapshot")});
  }
  if (root.doc.version < walk.state.root) {
    return make_unexpected(fmt::format("root: version {} is older than the trusted version {} (rollback, or a root "
                                       "update withheld)",
                                       root.doc.version, walk.state.root));
  }
  if (auto ok = check_expiry(root.doc, walk.now, "root"); !ok) {
    return ok;
  }
  forget_rotated_versions(walk, history, root.doc.version);
  walk.out.root_version = root.doc.version;
  walk.out.expires = root.doc.expires;
  return {};
}

// 5.4: timestamp.json, signed by the root's timestamp keys, no older than the trusted one;
// returns what it lists for snapshot.json.
Expected<MetaInfo>
update_timestamp(Walk& walk, const RootState& root)
{
  auto bytes = fetch_file(walk.fetch, "metadata/timestamp.json", k_max_timestamp_bytes, "timestamp");
  if (!bytes) {
    return make_unexpected(bytes.error());
  }
  auto timestamp = parse_document(*bytes, "timestamp", "timestamp");
  if (!timestamp) {
    return make_unexpected(timestamp.error());
  }
  if (auto ok = check_signatures(*timestamp, root.keys, root.roles.at("timestamp"), "timestamp"); !ok) {
    return make_unexpected(ok.error());
  }
  if (timestamp->version < walk.state.timestamp) {
    return make_unexpected(fmt::format("timestamp: version {} is older than the trusted version {} (rollback)",
                                       timestamp->version, walk.state.timestamp));
  }
  const auto* meta = find_object(*timestamp->signed_part, "meta");
  if (meta == nullptr) {
    return make_unexpected("timestamp: \"meta\" is missing");
  }
  auto snapshot_meta = parse_meta(*meta, "snapshot.json", "timestamp");
  if (!snapshot_meta) {
    return snapshot_meta;
  }
  if (snapshot_meta->version < walk.state.snapshot) {
    return make_unexpected(fmt::format("timestamp: lists snapshot version {}, older than the trusted version {} "
                                       "(rollback)",
                                       snapshot_meta->version, walk.state.snapshot));
  }
  if (auto ok = note_expiry(walk, *timestamp, "timestamp"); !ok) {
    return make_unexpected(ok.error());
  }
  walk.out.timestamp_version = timestamp->version;
  return snapshot_meta;
}

// 5.5: the snapshot version timestamp names (consistent snapshots), matching its length and
// hashes, signed by the root's snapshot keys, still listing every file trusted before at no
// older version. Its "meta" is present.
Expected<Document>
update_snapshot(Walk& walk, const RootState& root, const MetaInfo& snapshot_meta)
{
  auto bytes = fetch_file(walk.fetch, fmt::format("metadata/{}", metadata_filename(snapshot_meta.version, "snapshot")),
                          snapshot_meta.length.value_or(k_max_snapshot_bytes), "snapshot");
  if (!bytes) {
    return make_unexpected(bytes.error());
  }
  if (auto ok = check_meta(*bytes, snapshot_meta, "snapshot", "timestamp.json"); !ok) {
    return make_unexpected(ok.error());
  }
  auto snapshot = parse_document(*bytes, "snapshot", "snapshot");
  if (!snapshot) {
    return snapshot;
  }
  if (auto ok = check_signatures(*snapshot, root.keys, root.roles.at("snapshot"), "snapshot"); !ok) {
    return make_unexpected(ok.error());
  }
  if (snapshot->version != snapshot_meta.version) {
    return make_unexpected(fmt::format("snapshot: version {} is not the version {} that timestamp.json lists",
                                       snapshot->version, snapshot_meta.version));
  }
  const auto* meta = find_object(*snapshot->signed_part, "meta");
  if (meta == nullptr) {
    return make_unexpected("snapshot: \"meta\" is missing");
  }
  for (const auto& [name, version] : walk.state.meta) {
    const auto* entry = find_object(*meta, name);
    const auto listed = entry != nullptr ? as_count(entry->if_contains("version")) : std::nullopt;
    if (!listed) {
      return make_unexpected(fmt::format("snapshot: no longer lists {} (rollback)", name));
    }
    if (*listed < version) {
      return make_unexpected(fmt::format("snapshot: lists {} version {}, older than the trusted version {} (rollback)",
                                         name, *listed, version));
    }
  }
  if (auto ok = note_expiry(walk, *snapshot, "snapshot"); !ok) {
    return make_unexpected(ok.error());
  }
  walk.out.snapshot_version = snapshot->version;
  return snapshot;
}

// 5.6.1-5.6.6, for targets and each delegated role: the version snapshot lists, matching its
// length and hashes, signed by `role_keys` of `keys`, unexpired.
Expected<Document>
load_targets_role(Walk& walk, const json::object& snapshot_meta, std::string_view role, const PublicKeys& keys,
                  const RoleKeys& role_keys)
{
  const std::string meta_name = fmt::format("{}.json", role);
  auto info = parse_meta(snapshot_meta, meta_name, "snapshot");
  if (!info) {
    return make_unexpected(info.error());
  }
  auto bytes = fetch_file(walk.fetch, fmt::format("metadata/{}", metadata_filename(info->version, role)),
                          info->length.value_or(k_max_targets_bytes), role);
  if (!bytes) {
    return make_unexpected(bytes.error());
  }
  if (auto ok = check_meta(*bytes, *info, role, "snapshot.json"); !ok) {
    return make_unexpected(ok.error());
  }
  auto doc = parse_document(*bytes, role, "targets");
  if (!doc) {
    return doc;
  }
  if (auto ok = check_signatures(*doc, keys, role_keys, role); !ok) {
    return make_unexpected(ok.error());
  }
  if (doc->version != info->version) {
    return make_unexpected(fmt::format("{}: version {} is not the version {} that snapshot.json lists (mix-and-match?)",
                                       role, doc->version, info->version));
  }
  if (auto ok = note_expiry(walk, *doc, role); !ok) {
    return make_unexpected(ok.error());
  }
  walk.new_meta[meta_name] = doc->version;
  return doc;
}

// 5.6: the top-level targets role, signed by the root's targets keys; its own targets count
// first. Returns the document for its delegations.
Expected<Document>
update_targets(Walk& walk, const RootState& root, const json::object& snapshot_meta)
{
  auto top = load_targets_role(walk, snapshot_meta, "targets", root.keys, root.roles.at("targets"));
  if (!top) {
    return top;
  }
  walk.out.targets_version = top->version;
  auto targets = parse_targets(find_object(*top->signed_part, "targets"), "targets");
  if (!targets) {
    return make_unexpected(targets.error());
  }
  for (auto& target : *targets) {
    walk.found.emplace(target.path, std::move(target));
  }
  return top;
}

// The delegations of the targets role: the keys and the roles, each with hashed-bin prefixes.
struct Delegations
{
  PublicKeys keys;
  std::vector<Delegation> roles;
};

// Parses targets' "delegations": only listed path_hash_prefixes roles, not succinct_roles.
Expected<Delegations>
parse_delegations(const json::object& delegations)
{
  if (delegations.contains("succinct_roles")) {
    return make_unexpected("targets: succinct_roles delegations are not supported; Airlock lists its bins");
  }
  Delegations out;
  auto keys = parse_keys(find_object(delegations, "keys"), "targets delegations");
  if (!keys) {
    return make_unexpected(keys.error());
  }
  out.keys = std::move(*keys);
  const auto* roles = delegations.if_contains("roles");
  if (roles == nullptr || !roles->is_array()) {
    return make_unexpected("targets: delegations list no roles");
  }
  std::set<std::string, std::less<>> names;
  for (const auto& value : roles->get_array()) {
    const auto* role = value.if_object();
    const auto* name = role != nullptr ? find_string(*role, "name") : nullptr;
    if (name == nullptr || !is_role_name(view(*name))) {
      return make_unexpected("targets: a delegated role has no name, or one outside [A-Za-z0-9_-]");
    }
    Delegation d;
    d.name = std::string(view(*name));
    if (d.name == "root" || d.name == "targets" || d.name == "snapshot" || d.name == "timestamp"
        || !names.insert(d.name).second) {
      return make_unexpected(fmt::format("targets: delegated role name \"{}\" is reserved or repeated", d.name));
    }
    auto role_keys = parse_role_keys(role, fmt::format("targets delegation {}", d.name));
    if (!role_keys) {
      return make_unexpected(role_keys.error());
    }
    d.keys = std::move(*role_keys);
    const auto* terminating = role->if_contains("terminating");
    d.terminating = terminating != nullptr && terminating->is_bool() && terminating->get_bool();
    const auto* prefixes = role->if_contains("path_hash_prefixes");
    if (role->contains("paths") || prefixes == nullptr || !prefixes->is_array()) {
      return make_unexpected(
        fmt::format("targets: delegation {} does not use path_hash_prefixes (the only kind supported)", d.name));
    }
    for (const auto& prefix : prefixes->get_array()) {
      if (!prefix.is_string() || view(prefix.get_string()).size() > 64
          || !is_lower_hex(view(prefix.get_string()), view(prefix.get_string()).size())) {
        return make_unexpected(fmt::format("targets: delegation {} has a bad hash prefix", d.name));
      }
      d.prefixes.emplace_back(view(prefix.get_string()));
    }
    out.roles.push_back(std::move(d));
  }
  return out;
}

// 5.6.7: each delegated bin in order, with no nested delegations, signing only paths its
// prefixes cover. A path counts from the first role that lists it, as a client's preorder
// walk finds it.
Expected<void>
update_delegated_targets(Walk& walk, const json::object& snapshot_meta, const json::object& delegations)
{
  auto parsed = parse_delegations(delegations);
  if (!parsed) {
    return make_unexpected(parsed.error());
  }
  const auto& delegated = parsed->roles;
  for (std::size_t k = 0; k < delegated.size(); ++k) {
    const auto& d = delegated[k];
    auto doc = load_targets_role(walk, snapshot_meta, d.name, parsed->keys, d.keys);
    if (!doc) {
      return make_unexpected(doc.error());
    }
    if (const auto* nested = find_object(*doc->signed_part, "delegations"); nested != nullptr && !nested->empty()) {
      return make_unexpected(fmt::format("{}: nested delegations are not supported", d.name));
    }
    auto role_targets = parse_targets(find_object(*doc->signed_part, "targets"), d.name);
    if (!role_targets) {
      return make_unexpected(role_targets.error());
    }
    for (auto& target : *role_targets) {
      const std::string path_hash = Sha256::of(target.path).hex();
      if (!d.covers(path_hash)) {
        return make_unexpected(fmt::format(
          "{}: signs target '{}', outside its path_hash_prefixes (mix-and-match?)", d.name, target.path));
      }
      // A client's preorder walk stops at the first role that lists the path, and at a
      // terminating role whose prefixes cover it: later roles never count for that path.
      const bool shadowed = std::any_of(delegated.begin(), delegated.begin() + static_cast<std::ptrdiff_t>(k),
                                        [&](const Delegation& e) { return e.terminating && e.covers(path_hash); });
      if (!shadowed) {
        walk.found.emplace(target.path, std::move(target));
      }
    }
  }
  return {};
}

} // namespace

Expected<VerifiedTargets>
verify_repository(std::string_view trusted_root_json, const Fetch& fetch, Time now, TrustedVersions* trusted)
{
  Walk walk{fetch, now, trusted != nullptr, trusted != nullptr ? *trusted : TrustedVersions{}, {}, {}, {}};
  auto root = load_trusted_root(trusted_root_json);
  if (!root) {
    return make_unexpected(root.error());
  }
  if (auto ok = update_root(walk, *root); !ok) {
    return make_unexpected(ok.error());
  }
  auto snapshot_meta = update_timestamp(walk, *root);
  if (!snapshot_meta) {
    return make_unexpected(snapshot_meta.error());
  }
  auto snapshot = update_snapshot(walk, *root, *snapshot_meta);
  if (!snapshot) {
    return make_unexpected(snapshot.error());
  }
  const auto& meta = *find_object(*snapshot->signed_part, "meta");
  auto top = update_targets(walk, *root, meta);
  if (!top) {
    return make_unexpected(top.error());
  }
  if (const auto* delegations = find_object(*top->signed_part, "delegations")) {
    if (auto ok = update_delegated_targets(walk, meta, *delegations); !ok) {
      return make_unexpected(ok.error());
    }
  }

  auto& out = walk.out;
  out.targets.reserve(walk.found.size());
  for (auto& [path, target] : walk.found) {
    out.targets.push_back(std::move(target));
  }
  if (trusted != nullptr) {
    trusted->root = out.root_version;
    trusted->timestamp = out.timestamp_version;
    trusted->snapshot = out.snapshot_version;
    trusted->meta = std::move(walk.new_meta);
  }
  return std::move(out);
}

Expected<void>
verify_target(const Target& signed_target, std::uint64_t length, const Sha256& sha256)
{
  if (length != signed_target.length) {
    return make_unexpected(fmt::format("target '{}': length {} does not match the signed length {}",
                                       signed_target.path, length, signed_target.length));
  }
  if (sha256 != signed_target.sha256) {
    return make_unexpected(fmt::format("target '{}': sha256 {} does not match the signed {}", signed_target.path,
                                       sha256.hex(), signed_target.sha256.hex()));
  }
  return {};
}

Expected<void>
verify_target(const Target& signed_target, std::string_view bytes)
{
  if (auto ok = verify_target(signed_target, bytes.size(), Sha256::of(bytes)); !ok) {
    return ok;
  }
  if (signed_target.sha512_hex && sha512_hex(bytes) != *signed_target.sha512_hex) {
    return make_unexpected(fmt::format("target '{}': sha512 does not match the signed one", signed_target.path));
  }
  return {};
}

} // namespace airlock::tuf
