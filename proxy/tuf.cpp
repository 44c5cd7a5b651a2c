#include <airlock/proxy/tuf.hpp>

#include "canonical_json.hpp"

#include <airlock/util/assert.hpp>
#include <airlock/util/fd.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <sodium.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <span>

namespace airlock::proxy::tuf {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_spec_version = "1.0.31";
constexpr std::size_t k_bin_count = 256;
// Download limits of the client: tuf-js uses 512000 for root and 16384 for timestamp.
constexpr std::uint64_t k_max_root_bytes = 512'000;
constexpr std::uint64_t k_max_timestamp_bytes = 16'384;
constexpr std::uint64_t k_max_snapshot_bytes = 4 * 1024 * 1024;
constexpr std::uint64_t k_max_targets_bytes = 64 * 1024 * 1024;
constexpr std::uint64_t k_max_root_rotations = 1024;
constexpr std::size_t k_max_target_path = 1024;
constexpr std::size_t k_max_key_file_bytes = 256;

const std::array<std::string_view, 4> k_online_roles = {"targets", "snapshot", "timestamp", "bins"};

// --- small helpers ----------------------------------------------------------------------

std::string
to_hex(const unsigned char* data, std::size_t size)
{
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = k_digits[data[i] >> 4];
    out[2 * i + 1] = k_digits[data[i] & 0xf];
  }
  return out;
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
  return to_hex(digest.data(), digest.size());
}

std::string_view
view(const json::string& s)
{
  return {s.data(), s.size()};
}

std::string
canonical(const json::value& value)
{
  auto text = canonical_json(value);
  AIRLOCK_ASSERT(text.has_value()); // everything we build is integers and strings
  return std::move(*text);
}

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

std::string
errno_text()
{
  return std::strerror(errno);
}

// --- files --------------------------------------------------------------------------------

Expected<void>
fsync_dir(const fs::path& dir)
{
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) {
    return make_unexpected(fmt::format("{}: fsync: {}", dir.string(), errno_text()));
  }
  return {};
}

Expected<void>
write_all(int fd, std::string_view data, const fs::path& path)
{
  while (!data.empty()) {
    const auto written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_unexpected(fmt::format("{}: write: {}", path.string(), errno_text()));
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return {};
}

// Creates `path` (which must not exist) with mode 0600 and `secret`, fsynced.
Expected<void>
write_secret_file(const fs::path& path, std::string_view secret)
{
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) {
    return make_unexpected(fmt::format("{}: {}", path.string(), errno_text()));
  }
  if (auto ok = write_all(fd.get(), secret, path); !ok) {
    return ok;
  }
  if (::fsync(fd.get()) != 0) {
    return make_unexpected(fmt::format("{}: fsync: {}", path.string(), errno_text()));
  }
  return fsync_dir(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

enum class Fsync { yes, no };

// Replaces `path` atomically: temp file, (fsync), rename, (fsync of the directory). Fsync::no
// is for files made durable together by sync_filesystem() before anything refers to them.
Expected<void>
write_file_atomic(const fs::path& path, std::string_view data, Fsync fsync = Fsync::yes)
{
  std::string temp = path.string() + ".tmp.XXXXXX";
  Fd fd(::mkstemp(temp.data()));
  if (!fd) {
    return make_unexpected(fmt::format("{}: {}", temp, errno_text()));
  }
  auto fail = [&](std::string message) -> Expected<void> {
    ::unlink(temp.c_str());
    return make_unexpected(std::move(message));
  };
  if (auto ok = write_all(fd.get(), data, temp); !ok) {
    return fail(ok.error());
  }
  if (::fchmod(fd.get(), 0644) != 0 || (fsync == Fsync::yes && ::fsync(fd.get()) != 0)) {
    return fail(fmt::format("{}: {}", temp, errno_text()));
  }
  fd.reset();
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return fail(fmt::format("{}: rename: {}", path.string(), errno_text()));
  }
  return fsync == Fsync::yes ? fsync_dir(path.parent_path()) : Expected<void>{};
}

// One syncfs() for a publication's many files (256 bins), instead of two fsyncs each.
Expected<void>
sync_filesystem(const fs::path& dir)
{
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::syncfs(fd.get()) != 0) {
    return make_unexpected(fmt::format("{}: syncfs: {}", dir.string(), errno_text()));
  }
  return {};
}

std::optional<std::string>
read_small_file(const fs::path& path, std::size_t max_bytes)
{
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return std::nullopt;
  }
  std::string out;
  std::array<char, 65536> buffer{};
  while (true) {
    const auto got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return std::nullopt;
    }
    if (got == 0) {
      break;
    }
    out.append(buffer.data(), static_cast<std::size_t>(got));
    if (out.size() > max_bytes) {
      return std::nullopt;
    }
  }
  return out;
}

// --- keys ---------------------------------------------------------------------------------

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

// An ed25519 key pair made from a 32-byte seed; the secret parts are wiped on destruction.
class SigningKey
{
public:
  static SigningKey
  generate()
  {
    SigningKey key;
    randombytes_buf(key.m_seed.data(), key.m_seed.size());
    key.derive();
    return key;
  }

  static Expected<SigningKey>
  load(const fs::path& path)
  {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      return make_unexpected(fmt::format("{}: {}", path.string(), errno_text()));
    }
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0) {
      return make_unexpected(fmt::format("{}: {}", path.string(), errno_text()));
    }
    if ((st.st_mode & 077) != 0) {
      return make_unexpected(fmt::format("{}: mode {:04o} lets others read a signing key; chmod 600 it",
                                         path.string(), st.st_mode & 07777));
    }
    std::array<char, k_max_key_file_bytes> text{};
    const auto got = ::read(fd.get(), text.data(), text.size());
    std::size_t size = got > 0 ? static_cast<std::size_t>(got) : 0;
    if (size > 0 && text[size - 1] == '\n') {
      --size;
    }
    SigningKey key;
    const bool ok = from_lower_hex(std::string_view(text.data(), size), key.m_seed);
    sodium_memzero(text.data(), text.size());
    if (!ok) {
      return make_unexpected(
        fmt::format("{}: not an ed25519 key (expected 64 lowercase hex digits of a 32-byte seed)", path.string()));
    }
    key.derive();
    return key;
  }

  SigningKey(SigningKey&& other) noexcept { *this = std::move(other); }
  SigningKey&
  operator=(SigningKey&& other) noexcept
  {
    if (this != &other) {
      m_seed = other.m_seed;
      m_secret = other.m_secret;
      m_public = other.m_public;
      m_keyid = std::move(other.m_keyid);
      other.wipe();
    }
    return *this;
  }
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey() { wipe(); }

  const std::string&
  keyid() const
  {
    return m_keyid;
  }

  json::object
  public_json() const
  {
    return public_key_json(to_hex(m_public.data(), m_public.size()));
  }

  // Writes the seed as hex to a new 0600 file.
  Expected<void>
  save(const fs::path& path) const
  {
    std::string text = to_hex(m_seed.data(), m_seed.size()) + "\n";
    auto result = write_secret_file(path, text);
    sodium_memzero(text.data(), text.size());
    return result;
  }

  std::string
  sign_hex(std::string_view message) const
  {
    std::array<unsigned char, crypto_sign_BYTES> signature{};
    crypto_sign_detached(signature.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                         message.size(), m_secret.data());
    return to_hex(signature.data(), signature.size());
  }

private:
  SigningKey() = default;

  void
  derive()
  {
    AIRLOCK_ASSERT(crypto_sign_seed_keypair(m_public.data(), m_secret.data(), m_seed.data()) == 0);
    m_keyid = key_id_of(public_json());
  }

  void
  wipe()
  {
    sodium_memzero(m_seed.data(), m_seed.size());
    sodium_memzero(m_secret.data(), m_secret.size());
  }

  std::array<unsigned char, crypto_sign_SEEDBYTES> m_seed{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> m_secret{};
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> m_public{};
  std::string m_keyid;
};

// --- building metadata --------------------------------------------------------------------

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

// --- reading metadata (both sides) --------------------------------------------------------

struct MetaInfo
{
  std::uint64_t version = 0;
  std::optional<std::uint64_t> length;
  std::vector<std::pair<std::string, std::string>> hashes; // algorithm, lowercase hex
};

struct RoleKeys
{
  std::vector<std::string> keyids;
  std::uint64_t threshold = 1;
};

using PublicKeys = std::map<std::string, std::array<unsigned char, crypto_sign_PUBLICKEYBYTES>, std::less<>>;

// A parsed metadata file: the whole value is kept (on the heap, so moving the Document
// never moves it) and `signed_part` points into it.
struct Document
{
  std::unique_ptr<json::value> value;
  const json::object* signed_part = nullptr;
  std::string message; // canonical JSON of "signed": what the signatures cover
  std::map<std::string, std::string, std::less<>> signatures; // keyid -> sig hex
  std::uint64_t version = 0;
  Time expires{};
};

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

bool
is_role_name(std::string_view name)
{
  return !name.empty() && name.size() <= 64
         && std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
                     || c == '_';
            });
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

std::string
metadata_filename(std::uint64_t version, std::string_view role)
{
  return fmt::format("{}.{}.json", version, role);
}

} // namespace

// --- targets ------------------------------------------------------------------------------

Target
make_target(std::string path, std::string_view bytes)
{
  return Target{std::move(path), bytes.size(), Sha256::of(bytes), sha512_hex(bytes)};
}

std::string
consistent_target_path(const Target& target)
{
  const auto slash = target.path.rfind('/');
  if (slash == std::string::npos) {
    return target.sha256.hex() + "." + target.path;
  }
  return target.path.substr(0, slash + 1) + target.sha256.hex() + "." + target.path.substr(slash + 1);
}

std::optional<ConsistentTargetName>
parse_consistent_target_path(std::string_view consistent_path)
{
  const auto slash = consistent_path.rfind('/');
  const auto dir = slash == std::string_view::npos ? std::string_view() : consistent_path.substr(0, slash + 1);
  const auto base = slash == std::string_view::npos ? consistent_path : consistent_path.substr(slash + 1);
  if (base.size() < 66 || base[64] != '.' || !is_lower_hex(base.substr(0, 64), 64)) {
    return std::nullopt;
  }
  ConsistentTargetName out{std::string(dir) + std::string(base.substr(65)), *Sha256::from_hex(base.substr(0, 64))};
  if (invalid_target_path(out.path)) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string>
invalid_target_path(std::string_view path)
{
  if (path.empty()) {
    return "is empty";
  }
  if (path.size() > k_max_target_path) {
    return fmt::format("is longer than {} bytes", k_max_target_path);
  }
  for (const char c : path) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
                    || c == '_' || c == '~' || c == '+' || c == '!' || c == '-' || c == '/';
    if (!ok) {
      return "has a character outside [A-Za-z0-9._~+!-/]";
    }
  }
  std::size_t start = 0;
  while (true) {
    const auto end = path.find('/', start);
    const auto segment = path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return "has an empty, \".\" or \"..\" segment";
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return std::nullopt;
}

// --- the signing side ---------------------------------------------------------------------

namespace {

// What one published role file is, as the next publication needs it.
struct Published
{
  std::uint64_t version = 0;
  Time expires{};
  std::string signer; // key id that signed it
  std::string bytes;  // the file as published (hashed into snapshot/timestamp)
};

} // namespace

struct Repository::Impl
{
  fs::path dir;
  Expirations expirations;
  mutable std::mutex mutex;

  std::optional<SigningKey> targets_key;
  std::optional<SigningKey> snapshot_key;
  std::optional<SigningKey> timestamp_key;
  std::optional<SigningKey> bins_key;

  json::object root_signed; // the newest root's "signed"
  std::string root_bytes;   // the newest root file, to notice another process's rotation
  std::uint64_t root_version = 0;
  Time root_expires{};

  Published targets;
  std::string delegated_keyid; // the bins key id targets delegates to
  std::array<Published, k_bin_count> bins;
  std::array<std::string, k_bin_count> bin_contents; // canonical JSON of each bin's "targets"
  Published snapshot;
  Published timestamp;

  fs::path keys_dir() const { return dir / "keys"; }
  fs::path metadata_dir() const { return dir / "metadata"; }
  fs::path default_root_key() const { return keys_dir() / "root.key"; }

  Expected<void> write_metadata(std::string_view filename, std::string_view bytes, Fsync fsync = Fsync::yes) const
  {
    return write_file_atomic(metadata_dir() / std::string(filename), bytes, fsync);
  }

  Expected<void> write_root(json::object signed_part, const std::vector<const SigningKey*>& signers);
  Expected<void> sign_and_publish(const std::vector<Target>* targets, Time now, Seconds margin_override,
                                  bool use_margin, bool* changed);
  Expected<void> load_state();
  Expected<void> load();
  Expected<Fd> lock_exclusive() const;
  Expected<void> reload_if_changed();
  // With both locks held: brings the state up to date, then loads the root key at `path`,
  // checking that it is the key root.json names (shared by every root change).
  Expected<SigningKey> load_root_key(const fs::path& path);
};

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

namespace {

// Finishes or undoes a key rotation that stopped between writing "<key>.new" and renaming it:
// adopted when the newest root lists its key id for `role` (the rotation's commit point).
Expected<void>
settle_new_key(const fs::path& path, const json::object& root_signed, std::string_view role)
{
  const fs::path pending = path.string() + ".new";
  std::error_code ec;
  if (!fs::exists(pending, ec)) {
    return {};
  }
  auto key = SigningKey::load(pending);
  bool committed = false;
  if (key) {
    const auto* roles = find_object(root_signed, "roles");
    const auto* entry = roles != nullptr ? find_object(*roles, role) : nullptr;
    const auto* keyids = entry != nullptr ? entry->if_contains("keyids") : nullptr;
    if (keyids != nullptr && keyids->is_array()) {
      for (const auto& id : keyids->get_array()) {
        committed = committed || (id.is_string() && view(id.get_string()) == key->keyid());
      }
    }
  }
  if (committed ? ::rename(pending.c_str(), path.c_str()) != 0 : ::unlink(pending.c_str()) != 0) {
    return make_unexpected(fmt::format("{}: {}", pending.string(), errno_text()));
  }
  return fsync_dir(path.parent_path());
}

// Replaces `path` by the key in `path`.new (written before), then syncs the directory.
Expected<void>
commit_new_key(const fs::path& path)
{
  const fs::path pending = path.string() + ".new";
  if (::rename(pending.c_str(), path.c_str()) != 0) {
    return make_unexpected(fmt::format("{}: rename: {}", pending.string(), errno_text()));
  }
  return fsync_dir(path.parent_path());
}

Expected<void>
write_new_key(const SigningKey& key, const fs::path& path)
{
  const fs::path pending = path.string() + ".new";
  ::unlink(pending.c_str()); // a leftover of a rotation that never reached its commit point
  return key.save(pending);
}

} // namespace

// Reads the newest root and the published chain timestamp -> snapshot -> targets -> bins.
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
  const auto* timestamp_meta = find_object(*ts->signed_part, "meta");
  if (timestamp_meta == nullptr) {
    return make_unexpected("timestamp.json: \"meta\" is missing");
  }
  auto snapshot_meta = parse_meta(*timestamp_meta, "snapshot.json", "timestamp.json");
  if (!snapshot_meta) {
    return make_unexpected(snapshot_meta.error());
  }
  auto snap = read_published(metadata_filename(snapshot_meta->version, "snapshot"), "snapshot", snapshot);
  if (!snap) {
    return make_unexpected(snap.error());
  }
  const auto* meta = find_object(*snap->signed_part, "meta");
  if (meta == nullptr) {
    return make_unexpected("snapshot.json: \"meta\" is missing");
  }
  auto targets_meta = parse_meta(*meta, "targets.json", "snapshot.json");
  if (!targets_meta) {
    return make_unexpected(targets_meta.error());
  }
  auto top = read_published(metadata_filename(targets_meta->version, "targets"), "targets", targets);
  if (!top) {
    return make_unexpected(top.error());
  }
  const auto* delegations = find_object(*top->signed_part, "delegations");
  const auto* delegated_keys = delegations != nullptr ? find_object(*delegations, "keys") : nullptr;
  delegated_keyid = delegated_keys != nullptr && !delegated_keys->empty() ? std::string(delegated_keys->begin()->key())
                                                                          : std::string();
  for (std::size_t i = 0; i < k_bin_count; ++i) {
    auto bin_meta = parse_meta(*meta, bin_name(i) + ".json", "snapshot.json");
    if (!bin_meta) {
      return make_unexpected(bin_meta.error());
    }
    auto bin = read_published(metadata_filename(bin_meta->version, bin_name(i)), "targets", bins[i]);
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
  // An online rotation writes timestamp.key.new first and renames it last, so its fate
  // decides the others'.
  const auto keys = keys_dir();
  std::error_code ec;
  const bool pending = fs::exists(keys / "timestamp.key.new", ec);
  bool committed = false;
  if (pending) {
    auto key = SigningKey::load(keys / "timestamp.key.new");
    if (key) {
      const auto* roles = find_object(root_signed, "roles");
      const auto* ts = roles != nullptr ? find_object(*roles, "timestamp") : nullptr;
      const auto* ids = ts != nullptr ? ts->if_contains("keyids") : nullptr;
      if (ids != nullptr && ids->is_array()) {
        for (const auto& id : ids->get_array()) {
          committed = committed || (id.is_string() && view(id.get_string()) == key->keyid());
        }
      }
    }
  }
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
  if (auto ok = settle_new_key(default_root_key(), root_signed, "root"); !ok) {
    return ok;
  }
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
  auto file_lock = m_impl->lock_exclusive();
  if (!file_lock) {
    return make_unexpected(file_lock.error());
  }
  if (auto ok = m_impl->reload_if_changed(); !ok) {
    return make_unexpected(ok.error());
  }
  return m_impl->sign_and_publish(&targets, now, Seconds{0}, false, nullptr);
}

Expected<bool>
Repository::refresh(Time now, Seconds margin)
{
  std::lock_guard lock(m_impl->mutex);
  auto file_lock = m_impl->lock_exclusive();
  if (!file_lock) {
    return make_unexpected(file_lock.error());
  }
  if (auto ok = m_impl->reload_if_changed(); !ok) {
    return make_unexpected(ok.error());
  }
  bool changed = false;
  if (auto ok = m_impl->sign_and_publish(nullptr, now, margin, true, &changed); !ok) {
    return make_unexpected(ok.error());
  }
  return changed;
}

Expected<SigningKey>
Repository::Impl::load_root_key(const fs::path& path)
{
  if (auto ok = reload_if_changed(); !ok) {
    return make_unexpected(ok.error());
  }
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

Expected<void>
Repository::rotate_online_keys(Time now, const fs::path& root_key_path)
{
  std::lock_guard lock(m_impl->mutex);
  auto file_lock = m_impl->lock_exclusive();
  if (!file_lock) {
    return make_unexpected(file_lock.error());
  }
  const fs::path root_path = root_key_path.empty() ? m_impl->default_root_key() : root_key_path;
  auto root_key = m_impl->load_root_key(root_path);
  if (!root_key) {
    return make_unexpected(root_key.error());
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
  auto root = m_impl->root_signed;
  root["version"] = m_impl->root_version + 1;
  root["expires"] = format_rfc3339(now + m_impl->expirations.root);
  json::object new_keys{{root_key->keyid(), root_key->public_json()}};
  auto& roles = root["roles"].as_object();
  for (const auto role : {"targets", "snapshot", "timestamp"}) {
    const auto& key = fresh.at(role);
    new_keys[key.keyid()] = key.public_json();
    roles[role] = role_json(key.keyid());
  }
  root["keys"] = std::move(new_keys);
  if (auto ok = m_impl->write_root(std::move(root), {&*root_key}); !ok) {
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
  auto file_lock = m_impl->lock_exclusive();
  if (!file_lock) {
    return make_unexpected(file_lock.error());
  }
  const fs::path root_path = root_key_path.empty() ? m_impl->default_root_key() : root_key_path;
  auto old_key = m_impl->load_root_key(root_path);
  if (!old_key) {
    return make_unexpected(old_key.error());
  }
  auto new_key = SigningKey::generate();
  if (auto ok = write_new_key(new_key, root_path); !ok) {
    return ok;
  }
  auto root = m_impl->root_signed;
  root["version"] = m_impl->root_version + 1;
  root["expires"] = format_rfc3339(now + m_impl->expirations.root);
  auto& keys = root["keys"].as_object();
  keys.erase(old_key->keyid());
  keys[new_key.keyid()] = new_key.public_json();
  root["roles"].as_object()["root"] = role_json(new_key.keyid());
  // TUF 5.3.4: clients check the new root against the old root's keys and its own.
  if (auto ok = m_impl->write_root(std::move(root), {&*old_key, &new_key}); !ok) {
    return ok;
  }
  return commit_new_key(root_path);
}

Expected<void>
Repository::renew_root(Time now, const fs::path& root_key_path)
{
  std::lock_guard lock(m_impl->mutex);
  auto file_lock = m_impl->lock_exclusive();
  if (!file_lock) {
    return make_unexpected(file_lock.error());
  }
  const fs::path root_path = root_key_path.empty() ? m_impl->default_root_key() : root_key_path;
  auto root_key = m_impl->load_root_key(root_path);
  if (!root_key) {
    return make_unexpected(root_key.error());
  }
  auto root = m_impl->root_signed;
  root["version"] = m_impl->root_version + 1;
  root["expires"] = format_rfc3339(now + m_impl->expirations.root);
  return m_impl->write_root(std::move(root), {&*root_key});
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

// --- the checking side --------------------------------------------------------------------

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

} // namespace

Expected<VerifiedTargets>
verify_repository(std::string_view trusted_root_json, const Fetch& fetch, Time now, TrustedVersions* trusted)
{
  VerifiedTargets out;
  TrustedVersions state = trusted != nullptr ? *trusted : TrustedVersions{};

  // 5.2: the pinned root, checked against its own keys (its expiry does not matter yet).
  auto root = parse_root(trusted_root_json, "root");
  if (!root) {
    return make_unexpected(root.error());
  }
  if (auto ok = check_signatures(root->doc, root->keys, root->roles.at("root"), "root (pinned)"); !ok) {
    return make_unexpected(ok.error());
  }
  // Timestamp and snapshot keys of each root seen, for 5.3.11.
  std::map<std::uint64_t, std::pair<RoleKeys, RoleKeys>> history;
  history.emplace(root->doc.version, std::pair{root->roles.at("timestamp"), root->roles.at("snapshot")});

  // 5.3: walk N+1.root.json until a 404, each signed by the previous root's keys and its own.
  for (std::uint64_t step = 0; step < k_max_root_rotations; ++step) {
    const std::uint64_t next = root->doc.version + 1;
    const auto label = fmt::format("root version {}", next);
    auto fetched = fetch(fmt::format("metadata/{}", metadata_filename(next, "root")), k_max_root_bytes);
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
    if (auto ok = check_signatures(candidate->doc, root->keys, root->roles.at("root"),
                                   fmt::format("{} (by the keys of version {})", label, root->doc.version));
        !ok) {
      return make_unexpected(ok.error());
    }
    if (candidate->doc.version != next) {
      return make_unexpected(fmt::format("{}: the file holds version {}", label, candidate->doc.version));
    }
    if (auto ok = check_signatures(candidate->doc, candidate->keys, candidate->roles.at("root"),
                                   fmt::format("{} (by its own keys)", label));
        !ok) {
      return make_unexpected(ok.error());
    }
    root = std::move(candidate);
    history.emplace(root->doc.version, std::pair{root->roles.at("timestamp"), root->roles.at("snapshot")});
  }
  if (root->doc.version < state.root) {
    return make_unexpected(fmt::format("root: version {} is older than the trusted version {} (rollback, or a root "
                                       "update withheld)",
                                       root->doc.version, state.root));
  }
  if (auto ok = check_expiry(root->doc, now, "root"); !ok) {
    return make_unexpected(ok.error());
  }
  // 5.3.11: after a rotation of the timestamp or snapshot keys, forget their trusted versions
  // so a repository can recover from a fast-forward attack made with the old keys.
  if (trusted != nullptr && root->doc.version != state.root) {
    const auto before = history.find(state.root);
    const auto& [timestamp_keys, snapshot_keys] = history.at(root->doc.version);
    const bool timestamp_rotated = before == history.end() || !same_keys(before->second.first, timestamp_keys);
    const bool snapshot_rotated = before == history.end() || !same_keys(before->second.second, snapshot_keys);
    if (timestamp_rotated) {
      state.timestamp = 0;
    }
    if (timestamp_rotated || snapshot_rotated) {
      state.snapshot = 0;
      state.meta.clear();
    }
  }
  out.root_version = root->doc.version;
  out.expires = root->doc.expires;

  // 5.4: timestamp.
  auto timestamp_bytes = fetch_file(fetch, "metadata/timestamp.json", k_max_timestamp_bytes, "timestamp");
  if (!timestamp_bytes) {
    return make_unexpected(timestamp_bytes.error());
  }
  auto timestamp = parse_document(*timestamp_bytes, "timestamp", "timestamp");
  if (!timestamp) {
    return make_unexpected(timestamp.error());
  }
  if (auto ok = check_signatures(*timestamp, root->keys, root->roles.at("timestamp"), "timestamp"); !ok) {
    return make_unexpected(ok.error());
  }
  if (timestamp->version < state.timestamp) {
    return make_unexpected(fmt::format("timestamp: version {} is older than the trusted version {} (rollback)",
                                       timestamp->version, state.timestamp));
  }
  const auto* timestamp_meta = find_object(*timestamp->signed_part, "meta");
  if (timestamp_meta == nullptr) {
    return make_unexpected("timestamp: \"meta\" is missing");
  }
  auto snapshot_meta = parse_meta(*timestamp_meta, "snapshot.json", "timestamp");
  if (!snapshot_meta) {
    return make_unexpected(snapshot_meta.error());
  }
  if (snapshot_meta->version < state.snapshot) {
    return make_unexpected(fmt::format("timestamp: lists snapshot version {}, older than the trusted version {} "
                                       "(rollback)",
                                       snapshot_meta->version, state.snapshot));
  }
  if (auto ok = check_expiry(*timestamp, now, "timestamp"); !ok) {
    return make_unexpected(ok.error());
  }
  out.timestamp_version = timestamp->version;
  out.expires = std::min(out.expires, timestamp->expires);

  // 5.5: snapshot, by the version timestamp names (consistent snapshots).
  auto snapshot_bytes = fetch_file(fetch, fmt::format("metadata/{}", metadata_filename(snapshot_meta->version, "snapshot")),
                                   snapshot_meta->length.value_or(k_max_snapshot_bytes), "snapshot");
  if (!snapshot_bytes) {
    return make_unexpected(snapshot_bytes.error());
  }
  if (auto ok = check_meta(*snapshot_bytes, *snapshot_meta, "snapshot", "timestamp.json"); !ok) {
    return make_unexpected(ok.error());
  }
  auto snapshot = parse_document(*snapshot_bytes, "snapshot", "snapshot");
  if (!snapshot) {
    return make_unexpected(snapshot.error());
  }
  if (auto ok = check_signatures(*snapshot, root->keys, root->roles.at("snapshot"), "snapshot"); !ok) {
    return make_unexpected(ok.error());
  }
  if (snapshot->version != snapshot_meta->version) {
    return make_unexpected(fmt::format("snapshot: version {} is not the version {} that timestamp.json lists",
                                       snapshot->version, snapshot_meta->version));
  }
  const auto* meta = find_object(*snapshot->signed_part, "meta");
  if (meta == nullptr) {
    return make_unexpected("snapshot: \"meta\" is missing");
  }
  for (const auto& [name, version] : state.meta) {
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
  if (auto ok = check_expiry(*snapshot, now, "snapshot"); !ok) {
    return make_unexpected(ok.error());
  }
  out.snapshot_version = snapshot->version;
  out.expires = std::min(out.expires, snapshot->expires);

  std::map<std::string, std::uint64_t> new_meta;

  // 5.6: targets, then each delegated bin.
  const auto load_targets_role = [&](std::string_view role, const PublicKeys& keys,
                                     const RoleKeys& role_keys) -> Expected<Document> {
    const std::string meta_name = fmt::format("{}.json", role);
    auto info = parse_meta(*meta, meta_name, "snapshot");
    if (!info) {
      return make_unexpected(info.error());
    }
    auto bytes = fetch_file(fetch, fmt::format("metadata/{}", metadata_filename(info->version, role)),
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
    if (auto ok = check_expiry(*doc, now, role); !ok) {
      return make_unexpected(ok.error());
    }
    new_meta[meta_name] = doc->version;
    out.expires = std::min(out.expires, doc->expires);
    return doc;
  };

  auto top = load_targets_role("targets", root->keys, root->roles.at("targets"));
  if (!top) {
    return make_unexpected(top.error());
  }
  out.targets_version = top->version;
  auto top_targets = parse_targets(find_object(*top->signed_part, "targets"), "targets");
  if (!top_targets) {
    return make_unexpected(top_targets.error());
  }
  std::map<std::string, Target> found;
  for (auto& target : *top_targets) {
    found.emplace(target.path, std::move(target));
  }

  if (const auto* delegations = find_object(*top->signed_part, "delegations")) {
    if (delegations->contains("succinct_roles")) {
      return make_unexpected("targets: succinct_roles delegations are not supported; Airlock lists its bins");
    }
    auto keys = parse_keys(find_object(*delegations, "keys"), "targets delegations");
    if (!keys) {
      return make_unexpected(keys.error());
    }
    const auto* roles = delegations->if_contains("roles");
    if (roles == nullptr || !roles->is_array()) {
      return make_unexpected("targets: delegations list no roles");
    }
    std::vector<Delegation> delegated;
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
      delegated.push_back(std::move(d));
    }

    for (std::size_t k = 0; k < delegated.size(); ++k) {
      const auto& d = delegated[k];
      auto doc = load_targets_role(d.name, *keys, d.keys);
      if (!doc) {
        return make_unexpected(doc.error());
      }
      if (const auto* nested = find_object(*doc->signed_part, "delegations");
          nested != nullptr && !nested->empty()) {
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
          found.emplace(target.path, std::move(target));
        }
      }
    }
  }

  out.targets.reserve(found.size());
  for (auto& [path, target] : found) {
    out.targets.push_back(std::move(target));
  }
  if (trusted != nullptr) {
    trusted->root = out.root_version;
    trusted->timestamp = out.timestamp_version;
    trusted->snapshot = out.snapshot_version;
    trusted->meta = std::move(new_meta);
  }
  return out;
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

} // namespace airlock::proxy::tuf
