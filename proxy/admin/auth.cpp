// API tokens: made (a public id and a secret shown once), stored as a BLAKE2b hash, and
// checked in constant time from a bearer or basic-auth header.
#include "admin/auth.hpp"

#include <airlock/util/assert.hpp>
#include <airlock/util/base64.hpp>
#include <airlock/util/hex.hpp>

#include <sodium.h>

#include <array>

namespace airlock::proxy {

namespace {

constexpr std::string_view k_prefix = "alk_";
constexpr std::size_t k_id_bytes = 8;
constexpr std::size_t k_secret_bytes = 32;

Sha256
hash_secret(std::string_view secret)
{
  Sha256 out;
  AIRLOCK_ASSERT(crypto_generichash(out.bytes.data(), out.bytes.size(),
                                    reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), nullptr,
                                    0)
                 == 0);
  return out;
}

bool
starts_with_ci(std::string_view text, std::string_view prefix)
{
  if (text.size() < prefix.size()) {
    return false;
  }
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<Principal>
check_token(const storage::Store& store, std::string_view token)
{
  // alk_<16 hex id>_<secret>
  if (!token.starts_with(k_prefix) || token.size() != k_prefix.size() + 2 * k_id_bytes + 1 + 43
      || token[k_prefix.size() + 2 * k_id_bytes] != '_') {
    return std::nullopt;
  }
  const auto id = token.substr(k_prefix.size(), 2 * k_id_bytes);
  const auto secret = token.substr(k_prefix.size() + 2 * k_id_bytes + 1);
  const auto record = store.token(id);
  if (!record) {
    return std::nullopt;
  }
  const Sha256 presented = hash_secret(secret);
  if (sodium_memcmp(presented.bytes.data(), record->secret_hash.bytes.data(), presented.bytes.size()) != 0) {
    return std::nullopt;
  }
  return Principal{record->name, record->role};
}

} // namespace

std::string_view
to_string(storage::Role role)
{
  switch (role) {
  case storage::Role::reader:
    return "reader";
  case storage::Role::reviewer:
    return "reviewer";
  case storage::Role::admin:
    return "admin";
  }
  return "unknown";
}

std::optional<storage::Role>
parse_role(std::string_view text)
{
  if (text == "reader") {
    return storage::Role::reader;
  }
  if (text == "reviewer") {
    return storage::Role::reviewer;
  }
  if (text == "admin") {
    return storage::Role::admin;
  }
  return std::nullopt;
}

NewToken
make_token(std::string name, storage::Role role, Time now)
{
  std::array<unsigned char, k_id_bytes> id{};
  std::array<unsigned char, k_secret_bytes> secret{};
  randombytes_buf(id.data(), id.size());
  randombytes_buf(secret.data(), secret.size());
  NewToken out;
  const std::string id_hex = to_hex(id);
  std::string secret_text =
    base64url_encode(std::string_view(reinterpret_cast<const char*>(secret.data()), secret.size()));
  sodium_memzero(secret.data(), secret.size());
  out.token = std::string(k_prefix) + id_hex + "_" + secret_text;
  out.record = storage::TokenRecord{id_hex, std::move(name), role, hash_secret(secret_text), now};
  sodium_memzero(secret_text.data(), secret_text.size());
  return out;
}

std::optional<Principal>
authenticate(const storage::Store& store, std::string_view authorization)
{
  if (starts_with_ci(authorization, "Bearer ")) {
    return check_token(store, authorization.substr(7));
  }
  if (starts_with_ci(authorization, "Basic ")) {
    auto decoded = base64_decode(authorization.substr(6));
    if (!decoded) {
      return std::nullopt;
    }
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) {
      return std::nullopt;
    }
    auto principal = check_token(store, std::string_view(*decoded).substr(colon + 1));
    sodium_memzero(decoded->data(), decoded->size());
    return principal;
  }
  return std::nullopt;
}

} // namespace airlock::proxy
