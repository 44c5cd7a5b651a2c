// TUF signing keys (private to tuf/): ed25519 key pairs kept as seed files, and the steps
// that replace a key file safely across a crash (".new" beside the key until committed).
#pragma once

#include <airlock/util/error.hpp>

#include <boost/json/object.hpp>
#include <sodium.h>

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

namespace airlock::tuf {

// An ed25519 key pair made from a 32-byte seed; the secret parts are wiped on destruction.
class SigningKey
{
public:
  // Returns a new key from libsodium's random generator.
  static SigningKey generate();
  // Loads a seed file (64 lowercase hex digits, an optional newline). Fails naming the file
  // when it cannot be read, is readable by others, or holds anything else.
  static Expected<SigningKey> load(const std::filesystem::path& path);

  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(SigningKey&& other) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();

  // Returns the TUF key id of the public key.
  const std::string& keyid() const;
  // Returns the TUF key object of the public key.
  boost::json::object public_json() const;
  // Writes the seed as hex to a new 0600 file (fsynced, with its directory).
  Expected<void> save(const std::filesystem::path& path) const;
  // Returns the ed25519 signature of `message` as lowercase hex.
  std::string sign_hex(std::string_view message) const;

private:
  SigningKey() = default;
  void derive();
  void wipe();

  std::array<unsigned char, crypto_sign_SEEDBYTES> m_seed{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> m_secret{};
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> m_public{};
  std::string m_keyid;
};

// Writes `key` to `path`.new, replacing a leftover of a rotation that never committed.
Expected<void> write_new_key(const SigningKey& key, const std::filesystem::path& path);
// Replaces `path` by the key in `path`.new (written before), then syncs the directory.
Expected<void> commit_new_key(const std::filesystem::path& path);
// Finishes or undoes a key rotation that stopped between writing `path`.new and renaming it:
// adopted when the newest root (`root_signed`) lists its key id for `role`.
Expected<void> settle_new_key(const std::filesystem::path& path, const boost::json::object& root_signed,
                              std::string_view role);
// Returns whether the key in `path` (a pending ".new" file) is one the newest root lists for
// `role`: the commit point of a rotation. False when the file cannot be loaded.
bool root_lists_key(const std::filesystem::path& path, const boost::json::object& root_signed, std::string_view role);

} // namespace airlock::tuf
