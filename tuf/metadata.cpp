// TUF metadata (both sides): OLPC canonical JSON, parsing and checking signed documents
// (envelopes, keys, roles, signatures, meta entries, targets), and building what is signed.
#include "metadata.hpp"

#include "keys.hpp"

#include <airlock/util/assert.hpp>
#include <airlock/util/hex.hpp>
#include <airlock/util/sha256.hpp>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace airlock::tuf {

namespace json = boost::json;

namespace {

void
append_string(std::string& out, std::string_view s)
{
  out.push_back('"');
  for (const char c : s) {
    // OLPC escapes only these two; control characters and non-ASCII go out as raw bytes.
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
}

bool
append_value(std::string& out, const json::value& value)
{
  switch (value.kind()) {
  case json::kind::null:
    out += "null";
    return true;
  case json::kind::bool_:
    out += value.get_bool() ? "true" : "false";
    return true;
  case json::kind::int64:
    out += std::to_string(value.get_int64());
    return true;
  case json::kind::uint64:
    out += std::to_string(value.get_uint64());
    return true;
  case json::kind::double_:
    return false;
  case json::kind::string:
    append_string(out, std::string_view(value.get_string().data(), value.get_string().size()));
    return true;
  case json::kind::array: {
    out.push_back('[');
    bool first = true;
    for (const auto& element : value.get_array()) {
      if (!first) {
        out.push_back(',');
      }
      first = false;
      if (!append_value(out, element)) {
        return false;
      }
    }
    out.push_back(']');
    return true;
  }
  case json::kind::object: {
    const auto& object = value.get_object();
    std::vector<const json::key_value_pair*> members;
    members.reserve(object.size());
    for (const auto& member : object) {
      members.push_back(&member);
    }
    // std::string_view compares as unsigned bytes: UTF-8 byte order is code point order, as
    // securesystemslib sorts. (JavaScript sorts UTF-16 units; the two differ only between
    // characters above U+FFFF and U+E000..U+FFFF, which target path checks keep out.)
    std::sort(members.begin(), members.end(),
              [](const auto* a, const auto* b) { return a->key() < b->key(); });
    out.push_back('{');
    bool first = true;
    for (const auto* member : members) {
      if (!first) {
        out.push_back(',');
      }
      first = false;
      append_string(out, member->key());
      out.push_back(':');
      if (!append_value(out, member->value())) {
        return false;
      }
    }
    out.push_back('}');
    return true;
  }
  }
  return false;
}

} // namespace

Expected<std::string>
canonical_json(const json::value& value)
{
  std::string out;
  if (!append_value(out, value)) {
    return make_unexpected("not canonical JSON: a number is not an integer");
  }
  return out;
}

Expected<json::value>
parse_json(std::string_view text)
{
  json::parse_options options;
  options.max_depth = k_max_json_depth;
  std::error_code error;
  auto value = json::parse(text, error, {}, options);
  if (error) {
    return make_unexpected("not JSON: " + error.message());
  }
  return value;
}

std::string
canonical(const json::value& value)
{
  auto text = canonical_json(value);
  AIRLOCK_ASSERT(text.has_value()); // everything we build is integers and strings
  return std::move(*text);
}

bool
is_lower_hex(std::string_view text, std::size_t digits)
{
  return text.size() == digits
         && std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Decodes exactly `out.size()` bytes of lowercase hex; false on any other input.
bool
from_lower_hex(std::string_view text, std::span<unsigned char> out)
{
  if (!is_lower_hex(text, out.size() * 2)) {
    return false;
  }
  const auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<unsigned char>((nibble(text[2 * i]) << 4) | nibble(text[2 * i + 1]));
  }
  return true;
}

std::string
sha512_hex(std::string_view data)
{
  std::array<unsigned char, crypto_hash_sha512_BYTES> digest{};
  crypto_hash_sha512(digest.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return to_hex(digest);
}

std::string_view
view(const json::string& s)
{
  return {s.data(), s.size()};
}

std::optional<std::uint64_t>
as_count(const json::value* value)
{
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->is_uint64()) {
    return value->get_uint64();
  }
  if (value->is_int64() && value->get_int64() >= 0) {
    return static_cast<std::uint64_t>(value->get_int64());
  }
  return std::nullopt;
}

const json::string*
find_string(const json::object& object, std::string_view key)
{
  const auto* value = object.if_contains(key);
  return value != nullptr ? value->if_string() : nullptr;
}

const json::object*
find_object(const json::object& object, std::string_view key)
{
  const auto* value = object.if_contains(key);
  return value != nullptr ? value->if_object() : nullptr;
}

bool
is_role_name(std::string_view name)
{
  return !name.empty() && name.size() <= 64
         && std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
                     || c == '_';
            });
}

std::string
metadata_filename(std::uint64_t version, std::string_view role)
{
  return fmt::format("{}.{}.json", version, role);
}

// --- reading metadata (both sides) --------------------------------------------------------

// Parses an envelope and the fields every role has. `label` names the role in reasons.
Expected<Document>
parse_document(std::string_view bytes, std::string_view label, std::string_view type)
{
  auto fail = [&](std::string_view problem) { return make_unexpected(fmt::format("{}: {}", label, problem)); };
  auto parsed = parse_json(bytes);
  if (!parsed) {
    return fail(parsed.error());
  }
  Document doc;
  doc.value = std::make_unique<json::value>(std::move(*parsed));
  const auto* envelope = doc.value->if_object();
  if (envelope == nullptr) {
    return fail("metadata is not a JSON object");
  }
  doc.signed_part = find_object(*envelope, "signed");
  const auto* signatures = envelope->if_contains("signatures");
  if (doc.signed_part == nullptr || signatures == nullptr || !signatures->is_array()) {
    return fail("metadata lacks \"signed\" or \"signatures\"");
  }
  const auto* type_field = find_string(*doc.signed_part, "_type");
  if (type_field == nullptr || view(*type_field) != type) {
    return fail(fmt::format("_type is not \"{}\"", type));
  }
  const auto* spec = find_string(*doc.signed_part, "spec_version");
  if (spec == nullptr || !view(*spec).starts_with("1.")) {
    return fail("spec_version is missing or not 1.x");
  }
  const auto version = as_count(doc.signed_part->if_contains("version"));
  if (!version || *version == 0) {
    return fail("version is missing or not a positive integer");
  }
  doc.version = *version;
  const auto* expires = find_string(*doc.signed_part, "expires");
  const auto expires_time = expires != nullptr ? parse_rfc3339(view(*expires)) : std::nullopt;
  if (!expires_time) {
    return fail("expires is missing or not an RFC 3339 time");
  }
  doc.expires = *expires_time;
  auto message = canonical_json(*envelope->if_contains("signed"));
  if (!message) {
    return fail(message.error());
  }
  doc.message = std::move(*message);
  for (const auto& entry : signatures->get_array()) {
    const auto* signature = entry.if_object();
    const auto* keyid = signature != nullptr ? find_string(*signature, "keyid") : nullptr;
    const auto* sig = signature != nullptr ? find_string(*signature, "sig") : nullptr;
    if (keyid == nullptr || sig == nullptr) {
      return fail("a signature lacks \"keyid\" or \"sig\"");
    }
    if (!doc.signatures.emplace(std::string(view(*keyid)), std::string(view(*sig))).second) {
      return fail(fmt::format("two signatures by key {}", view(*keyid)));
    }
  }
  return doc;
}

// Parses a "keys" object: ed25519 keys whose key ids are the hash of their canonical form.
// Keys of other types are skipped: their signatures never count.
Expected<PublicKeys>
parse_keys(const json::object* keys, std::string_view label)
{
  if (keys == nullptr) {
    return make_unexpected(fmt::format("{}: \"keys\" is missing", label));
  }
  PublicKeys out;
  for (const auto& [keyid, value] : *keys) {
    const auto* key = value.if_object();
    if (key == nullptr) {
      return make_unexpected(fmt::format("{}: key {} is not an object", label, std::string_view(keyid)));
    }
    const auto* keytype = find_string(*key, "keytype");
    const auto* scheme = find_string(*key, "scheme");
    if (keytype == nullptr || scheme == nullptr || view(*keytype) != "ed25519" || view(*scheme) != "ed25519") {
      continue;
    }
    const auto* keyval = find_object(*key, "keyval");
    const auto* public_hex = keyval != nullptr ? find_string(*keyval, "public") : nullptr;
    std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> public_key{};
    if (public_hex == nullptr || !from_lower_hex(view(*public_hex), public_key)) {
      return make_unexpected(
        fmt::format("{}: key {} is not 64 lowercase hex digits of an ed25519 key", label, std::string_view(keyid)));
    }
    // The key id covers exactly the object as listed.
    if (key_id_of(*key) != std::string_view(keyid)) {
      return make_unexpected(
        fmt::format("{}: key id {} is not the sha256 of its key", label, std::string_view(keyid)));
    }
    out.emplace(std::string(keyid), public_key);
  }
  return out;
}

Expected<RoleKeys>
parse_role_keys(const json::object* role, std::string_view label)
{
  if (role == nullptr) {
    return make_unexpected(fmt::format("{}: role is not defined", label));
  }
  RoleKeys out;
  const auto* keyids = role->if_contains("keyids");
  if (keyids == nullptr || !keyids->is_array()) {
    return make_unexpected(fmt::format("{}: keyids is missing", label));
  }
  std::set<std::string, std::less<>> seen;
  for (const auto& keyid : keyids->get_array()) {
    if (!keyid.is_string()) {
      return make_unexpected(fmt::format("{}: a key id is not a string", label));
    }
    if (!seen.emplace(view(keyid.get_string())).second) {
      return make_unexpected(fmt::format("{}: key id {} is listed twice", label, view(keyid.get_string())));
    }
    out.keyids.emplace_back(view(keyid.get_string()));
  }
  const auto threshold = as_count(role->if_contains("threshold"));
  if (!threshold || *threshold == 0) {
    return make_unexpected(fmt::format("{}: threshold is missing or below 1", label));
  }
  out.threshold = *threshold;
  return out;
}

// Counts the role's keys with a valid signature over the document (TUF 5.3.4, 5.4.2, ...).
Expected<void>
check_signatures(const Document& doc, const PublicKeys& keys, const RoleKeys& role, std::string_view label)
{
  // Distinct public keys count, not key ids: one key listed under two ids is one signer.
  std::set<std::array<unsigned char, crypto_sign_PUBLICKEYBYTES>> signers;
  for (const auto& keyid : role.keyids) {
    const auto key = keys.find(keyid);
    const auto signature = doc.signatures.find(keyid);
    if (key == keys.end() || signature == doc.signatures.end()) {
      continue;
    }
    std::array<unsigned char, crypto_sign_BYTES> sig{};
    if (!from_lower_hex(signature->second, sig)) {
      continue;
    }
    if (crypto_sign_verify_detached(sig.data(), reinterpret_cast<const unsigned char*>(doc.message.data()),
                                    doc.message.size(), key->second.data())
        == 0) {
      signers.insert(key->second);
    }
  }
  const std::uint64_t valid = signers.size();
  if (valid < role.threshold) {
    return make_unexpected(fmt::format("{}: {} of {} required signatures are valid (wrong key or tampered metadata)",
                                       label, valid, role.threshold));
  }
  return {};
}

Expected<MetaInfo>
parse_meta(const json::object& meta, std::string_view name, std::string_view label)
{
  const auto* entry = find_object(meta, name);
  if (entry == nullptr) {
    return make_unexpected(fmt::format("{}: does not list {}", label, name));
  }
  MetaInfo out;
  const auto version = as_count(entry->if_contains("version"));
  if (!version || *version == 0) {
    return make_unexpected(fmt::format("{}: the version of {} is missing or not positive", label, name));
  }
  out.version = *version;
  if (const auto* length = entry->if_contains("length")) {
    out.length = as_count(length);
    if (!out.length) {
      return make_unexpected(fmt::format("{}: the length of {} is not a count", label, name));
    }
  }
  if (const auto* hashes = entry->if_contains("hashes")) {
    if (!hashes->is_object()) {
      return make_unexpected(fmt::format("{}: the hashes of {} are not an object", label, name));
    }
    for (const auto& [algorithm, value] : hashes->get_object()) {
      if (!value.is_string()) {
        return make_unexpected(fmt::format("{}: a hash of {} is not a string", label, name));
      }
      out.hashes.emplace_back(std::string(algorithm), std::string(view(value.get_string())));
    }
  }
  return out;
}

// Checks fetched bytes against the length and hashes a parent role lists (TUF 5.5.2, 5.6.2).
Expected<void>
check_meta(std::string_view bytes, const MetaInfo& meta, std::string_view label, std::string_view lister)
{
  if (meta.length && *meta.length != bytes.size()) {
    return make_unexpected(
      fmt::format("{}: length {} does not match the {} that {} lists", label, bytes.size(), *meta.length, lister));
  }
  for (const auto& [algorithm, expected] : meta.hashes) {
    std::string actual;
    if (algorithm == "sha256") {
      actual = Sha256::of(bytes).hex();
    } else if (algorithm == "sha512") {
      actual = sha512_hex(bytes);
    } else {
      return make_unexpected(fmt::format("{}: {} lists an unsupported hash algorithm \"{}\"", label, lister, algorithm));
    }
    if (actual != expected) {
      return make_unexpected(fmt::format("{}: {} does not match the one {} lists", label, algorithm, lister));
    }
  }
  return {};
}

// Parses a targets object into Target values, checking each path and hash.
Expected<std::vector<Target>>
parse_targets(const json::object* targets, std::string_view label)
{
  if (targets == nullptr) {
    return make_unexpected(fmt::format("{}: \"targets\" is missing", label));
  }
  std::vector<Target> out;
  out.reserve(targets->size());
  for (const auto& [path_key, value] : *targets) {
    const std::string_view path(path_key);
    if (auto invalid = invalid_target_path(path)) {
      return make_unexpected(fmt::format("{}: target '{}' {}", label, path, *invalid));
    }
    const auto* entry = value.if_object();
    const auto length = entry != nullptr ? as_count(entry->if_contains("length")) : std::nullopt;
    const auto* hashes = entry != nullptr ? find_object(*entry, "hashes") : nullptr;
    if (!length || hashes == nullptr) {
      return make_unexpected(fmt::format("{}: target '{}' lacks a length or hashes", label, path));
    }
    Target target;
    target.path = std::string(path);
    target.length = *length;
    bool have_sha256 = false;
    for (const auto& [algorithm, hash] : *hashes) {
      const auto* hex = hash.if_string();
      if (std::string_view(algorithm) == "sha256" && hex != nullptr && is_lower_hex(view(*hex), 64)) {
        target.sha256 = *Sha256::from_hex(view(*hex));
        have_sha256 = true;
      } else if (std::string_view(algorithm) == "sha512" && hex != nullptr && is_lower_hex(view(*hex), 128)) {
        target.sha512_hex = std::string(view(*hex));
      } else {
        return make_unexpected(fmt::format("{}: target '{}' has a bad or unsupported {} hash", label, path,
                                           std::string_view(algorithm)));
      }
    }
    if (!have_sha256) {
      return make_unexpected(fmt::format("{}: target '{}' has no sha256 hash", label, path));
    }
    out.push_back(std::move(target));
  }
  return out;
}

// --- building metadata --------------------------------------------------------------------

json::object
public_key_json(std::string_view public_hex)
{
  return json::object{{"keytype", "ed25519"}, {"scheme", "ed25519"}, {"keyval", json::object{{"public", public_hex}}}};
}

// TUF key id: the sha256 of the canonical JSON of the public key object.
std::string
key_id_of(const json::object& key)
{
  return Sha256::of(canonical(key)).hex();
}

json::object
signed_header(std::string_view type, std::uint64_t version, Time expires)
{
  return json::object{{"_type", type},
                      {"spec_version", k_spec_version},
                      {"version", version},
                      {"expires", format_rfc3339(expires)}};
}

// Returns the file bytes: {"signatures": [...], "signed": signed}, all in canonical JSON.
std::string
sign_metadata(const json::object& signed_part, const std::vector<const SigningKey*>& keys)
{
  const std::string message = canonical(signed_part);
  json::array signatures;
  for (const auto* key : keys) {
    signatures.push_back(json::object{{"keyid", key->keyid()}, {"sig", key->sign_hex(message)}});
  }
  return canonical(json::object{{"signatures", std::move(signatures)}, {"signed", signed_part}});
}

json::object
role_json(const std::string& keyid)
{
  return json::object{{"keyids", json::array{json::string(keyid)}}, {"threshold", 1}};
}

json::object
meta_json(std::uint64_t version, std::string_view file_bytes)
{
  return json::object{{"version", version},
                      {"length", file_bytes.size()},
                      {"hashes", json::object{{"sha256", Sha256::of(file_bytes).hex()}}}};
}

json::object
target_json(const Target& target)
{
  json::object hashes{{"sha256", target.sha256.hex()}};
  if (target.sha512_hex) {
    hashes["sha512"] = *target.sha512_hex;
  }
  return json::object{{"length", target.length}, {"hashes", std::move(hashes)}};
}

} // namespace airlock::tuf
