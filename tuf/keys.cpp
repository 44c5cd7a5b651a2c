// TUF key files: ed25519 seeds generated, loaded (0600 only) and saved as hex, and the
// ".new" files that make a key rotation survive a crash at any point.
#include "keys.hpp"

#include "files.hpp"
#include "metadata.hpp"

#include <airlock/util/assert.hpp>
#include <airlock/util/fd.hpp>
#include <airlock/util/fs.hpp>
#include <airlock/util/hex.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace airlock::tuf {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t k_max_key_file_bytes = 256;

} // namespace

SigningKey
SigningKey::generate()
{
  SigningKey key;
  randombytes_buf(key.m_seed.data(), key.m_seed.size());
  key.derive();
  return key;
}

Expected<SigningKey>
SigningKey::load(const fs::path& path)
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

SigningKey::SigningKey(SigningKey&& other) noexcept
{
  *this = std::move(other);
}

SigningKey&
SigningKey::operator=(SigningKey&& other) noexcept
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

SigningKey::~SigningKey()
{
  wipe();
}

const std::string&
SigningKey::keyid() const
{
  return m_keyid;
}

json::object
SigningKey::public_json() const
{
  return public_key_json(to_hex(m_public));
}

Expected<void>
SigningKey::save(const fs::path& path) const
{
  std::string text = to_hex(m_seed) + "\n";
  auto result = write_secret_file(path, text);
  sodium_memzero(text.data(), text.size());
  return result;
}

std::string
SigningKey::sign_hex(std::string_view message) const
{
  std::array<unsigned char, crypto_sign_BYTES> signature{};
  crypto_sign_detached(signature.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), m_secret.data());
  return to_hex(signature);
}

void
SigningKey::derive()
{
  AIRLOCK_ASSERT(crypto_sign_seed_keypair(m_public.data(), m_secret.data(), m_seed.data()) == 0);
  m_keyid = key_id_of(public_json());
}

void
SigningKey::wipe()
{
  sodium_memzero(m_seed.data(), m_seed.size());
  sodium_memzero(m_secret.data(), m_secret.size());
}

Expected<void>
write_new_key(const SigningKey& key, const fs::path& path)
{
  const fs::path pending = path.string() + ".new";
  ::unlink(pending.c_str()); // a leftover of a rotation that never reached its commit point
  return key.save(pending);
}

Expected<void>
commit_new_key(const fs::path& path)
{
  const fs::path pending = path.string() + ".new";
  if (::rename(pending.c_str(), path.c_str()) != 0) {
    return make_unexpected(fmt::format("{}: rename: {}", pending.string(), errno_text()));
  }
  return fsync_dir(path.parent_path());
}

bool
root_lists_key(const fs::path& path, const json::object& root_signed, std::string_view role)
{
  auto key = SigningKey::load(path);
  if (!key) {
    return false;
  }
  bool listed = false;
  const auto* roles = find_object(root_signed, "roles");
  const auto* entry = roles != nullptr ? find_object(*roles, role) : nullptr;
  const auto* keyids = entry != nullptr ? entry->if_contains("keyids") : nullptr;
  if (keyids != nullptr && keyids->is_array()) {
    for (const auto& id : keyids->get_array()) {
      listed = listed || (id.is_string() && view(id.get_string()) == key->keyid());
    }
  }
  return listed;
}

Expected<void>
settle_new_key(const fs::path& path, const json::object& root_signed, std::string_view role)
{
  const fs::path pending = path.string() + ".new";
  std::error_code ec;
  if (!fs::exists(pending, ec)) {
    return {};
  }
  const bool committed = root_lists_key(pending, root_signed, role);
  if (committed ? ::rename(pending.c_str(), path.c_str()) != 0 : ::unlink(pending.c_str()) != 0) {
    return make_unexpected(fmt::format("{}: {}", pending.string(), errno_text()));
  }
  return fsync_dir(path.parent_path());
}

} // namespace airlock::tuf
