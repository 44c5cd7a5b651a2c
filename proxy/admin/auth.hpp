#pragma once

// Private to proxy/: API tokens. A token is "alk_<id>_<secret>"; Airlock stores the id and
// a BLAKE2b hash of the secret, never the token, and compares hashes in constant time.

#include <airlock/storage/records.hpp>
#include <airlock/storage/store.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace airlock::proxy {

// Who made a request, once their token checked out.
struct Principal
{
  std::string name;
  storage::Role role = storage::Role::reader;
};

struct NewToken
{
  std::string token; // shown once, never stored
  storage::TokenRecord record;
};

std::string_view to_string(storage::Role role);
std::optional<storage::Role> parse_role(std::string_view text);

// Makes a fresh random token (libsodium) for `name` with `role`.
NewToken make_token(std::string name, storage::Role role, Time now);

// Checks an Authorization header: "Bearer <token>", or "Basic base64(user:<token>)" as pip
// sends it (any user name). nullopt when missing, malformed or unknown.
std::optional<Principal> authenticate(const storage::Store& store, std::string_view authorization);

} // namespace airlock::proxy
