// TUF metadata (private to tuf/): OLPC canonical JSON, the parsed form of a signed document,
// the checks both sides make on it, and the JSON pieces the repository signs.
#pragma once

#include <airlock/tuf/target.hpp>
#include <airlock/util/error.hpp>
#include <airlock/util/time.hpp>

#include <boost/json.hpp>
#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airlock::tuf {

class SigningKey;

inline constexpr std::string_view k_spec_version = "1.0.31";
// Nesting limit of every metadata document parsed: TUF metadata nests about 6 deep.
inline constexpr std::size_t k_max_json_depth = 32;
// Download limits of the client: tuf-js uses 512000 for root and 16384 for timestamp.
inline constexpr std::uint64_t k_max_root_bytes = 512'000;
inline constexpr std::uint64_t k_max_timestamp_bytes = 16'384;
inline constexpr std::uint64_t k_max_snapshot_bytes = 4 * 1024 * 1024;
inline constexpr std::uint64_t k_max_targets_bytes = 64 * 1024 * 1024;

// --- canonical JSON: the bytes TUF signs ----------------------------------------------------

// Returns the OLPC canonical form of `value`: keys sorted by their UTF-8 bytes, no whitespace,
// integers only, and in strings only '"' and '\' escaped, as securesystemslib and tuf-js
// (@tufjs/canonical-json) produce. Fails on a non-integer number.
Expected<std::string> canonical_json(const boost::json::value& value);
// Returns canonical_json of a value built from integers and strings only (asserted).
std::string canonical(const boost::json::value& value);

// Parses a JSON document (UTF-8 checked, depth limited); fails with Boost.JSON's message.
Expected<boost::json::value> parse_json(std::string_view text);

// --- small readers ----------------------------------------------------------------------------

// Returns whether `text` is exactly `digits` lowercase hex digits.
bool is_lower_hex(std::string_view text, std::size_t digits);
// Decodes exactly `out.size()` bytes of lowercase hex; false on any other input.
bool from_lower_hex(std::string_view text, std::span<unsigned char> out);
// Returns the sha512 of `data` as 128 lowercase hex digits.
std::string sha512_hex(std::string_view data);

// Returns the characters of a JSON string.
std::string_view view(const boost::json::string& s);
// Returns a non-negative integer value, or nullopt (also for a null pointer).
std::optional<std::uint64_t> as_count(const boost::json::value* value);
// Return the member `key` when it exists and has that type, else nullptr.
const boost::json::string* find_string(const boost::json::object& object, std::string_view key);
const boost::json::object* find_object(const boost::json::object& object, std::string_view key);

// Returns whether `name` can name a role (and so a file): [A-Za-z0-9_-], 1 to 64 of them.
bool is_role_name(std::string_view name);
// Returns "<version>.<role>.json", the consistent-snapshot name of a metadata file.
std::string metadata_filename(std::uint64_t version, std::string_view role);

// --- reading metadata (both sides) ----------------------------------------------------------

// The version, length and hashes a parent role lists for a metadata file.
struct MetaInfo
{
  std::uint64_t version = 0;
  std::optional<std::uint64_t> length;
  std::vector<std::pair<std::string, std::string>> hashes; // algorithm, lowercase hex
};

// The keys a role trusts and how many of them must sign.
struct RoleKeys
{
  std::vector<std::string> keyids;
  std::uint64_t threshold = 1;
};

using PublicKey = std::array<unsigned char, crypto_sign_PUBLICKEYBYTES>;
using PublicKeys = std::map<std::string, PublicKey, std::less<>>;

// A parsed metadata file: the whole value is kept (on the heap, so moving the Document
// never moves it) and `signed_part` points into it.
struct Document
{
  std::unique_ptr<boost::json::value> value;
  const boost::json::object* signed_part = nullptr;
  std::string message; // canonical JSON of "signed": what the signatures cover
  std::map<std::string, std::string, std::less<>> signatures; // keyid -> sig hex
  std::uint64_t version = 0;
  Time expires{};
};

// Parses an envelope and the fields every role has; fails unless "_type" is `type`.
// `label` names the role in reasons.
Expected<Document> parse_document(std::string_view bytes, std::string_view label, std::string_view type);

// Parses a "keys" object: ed25519 keys whose key ids are the hash of their canonical form.
// Keys of other types are skipped: their signatures never count.
Expected<PublicKeys> parse_keys(const boost::json::object* keys, std::string_view label);
// Parses a role's "keyids" (no repeats) and "threshold" (at least 1).
Expected<RoleKeys> parse_role_keys(const boost::json::object* role, std::string_view label);

// Counts the role's keys with a valid signature over the document (TUF 5.3.4, 5.4.2, ...);
// fails when fewer than the threshold are valid.
Expected<void> check_signatures(const Document& doc, const PublicKeys& keys, const RoleKeys& role,
                                std::string_view label);

// Parses what `meta` (of a timestamp or snapshot) lists for the file `name`.
Expected<MetaInfo> parse_meta(const boost::json::object& meta, std::string_view name, std::string_view label);
// Checks fetched bytes against the length and hashes a parent role lists (TUF 5.5.2, 5.6.2).
Expected<void> check_meta(std::string_view bytes, const MetaInfo& meta, std::string_view label,
                          std::string_view lister);

// Parses a targets object into Target values, checking each path and hash.
Expected<std::vector<Target>> parse_targets(const boost::json::object* targets, std::string_view label);

// --- building metadata (the repository) ---------------------------------------------------

// Returns the TUF key object of an ed25519 public key given as hex.
boost::json::object public_key_json(std::string_view public_hex);
// Returns the TUF key id: the sha256 of the canonical JSON of the public key object.
std::string key_id_of(const boost::json::object& key);

// Returns the fields every role's "signed" part starts with.
boost::json::object signed_header(std::string_view type, std::uint64_t version, Time expires);
// Returns the file bytes: {"signatures": [...], "signed": signed}, all in canonical JSON.
std::string sign_metadata(const boost::json::object& signed_part, const std::vector<const SigningKey*>& keys);
// Returns a root's role entry for one key with threshold 1.
boost::json::object role_json(const std::string& keyid);
// Returns the entry snapshot and timestamp list for a metadata file.
boost::json::object meta_json(std::uint64_t version, std::string_view file_bytes);
// Returns the entry a targets role lists for a target.
boost::json::object target_json(const Target& target);

} // namespace airlock::tuf
