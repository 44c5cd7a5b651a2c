// SHA-256 on OpenSSL: digests of whole strings and of streamed chunks (Sha256Hasher), and their
// lowercase hex form.

#include <airlock/util/sha256.hpp>

#include <airlock/util/assert.hpp>
#include <airlock/util/hex.hpp>

#include <openssl/evp.h>

namespace airlock {

namespace {

struct MdCtxDeleter
{
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

} // namespace

int
hex_digit_value(char c)
{
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}


std::string
Sha256::hex() const
{
  return to_hex(bytes);
}

std::optional<Sha256>
Sha256::from_hex(std::string_view hex)
{
  if (hex.size() != 64) {
    return std::nullopt;
  }
  Sha256 out;
  for (size_t i = 0; i < 32; ++i) {
    const int hi = hex_digit_value(hex[2 * i]);
    const int lo = hex_digit_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

Sha256
Sha256::of(std::string_view data)
{
  Sha256Hasher hasher;
  hasher.update(data);
  return hasher.finish();
}

struct Sha256Hasher::State
{
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx{EVP_MD_CTX_new()};
};

Sha256Hasher::Sha256Hasher() : m_state(std::make_unique<State>())
{
  AIRLOCK_ASSERT(m_state->ctx);
  AIRLOCK_ASSERT(EVP_DigestInit_ex(m_state->ctx.get(), EVP_sha256(), nullptr) == 1);
}

Sha256Hasher::~Sha256Hasher() = default;
Sha256Hasher::Sha256Hasher(Sha256Hasher&&) noexcept = default;
Sha256Hasher& Sha256Hasher::operator=(Sha256Hasher&&) noexcept = default;

void
Sha256Hasher::update(std::span<const std::byte> data)
{
  AIRLOCK_ASSERT(EVP_DigestUpdate(m_state->ctx.get(), data.data(), data.size()) == 1);
}

void
Sha256Hasher::update(std::string_view data)
{
  AIRLOCK_ASSERT(EVP_DigestUpdate(m_state->ctx.get(), data.data(), data.size()) == 1);
}

Sha256
Sha256Hasher::finish()
{
  Sha256 out;
  unsigned int len = 0;
  AIRLOCK_ASSERT(EVP_DigestFinal_ex(m_state->ctx.get(), out.bytes.data(), &len) == 1);
  AIRLOCK_ASSERT(len == out.bytes.size());
  return out;
}

} // namespace airlock
