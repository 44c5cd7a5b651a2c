#pragma once

// SHA-256 digests (Sha256, the blob store's key) and the incremental hasher for streamed
// bytes, with their hex form.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace airlock {

// The value of a hex digit (either case), or -1.
int hex_digit_value(char c);

// A SHA-256 digest: the key of the blob store.
struct Sha256
{
  std::array<std::uint8_t, 32> bytes{};

  // Lowercase hex, 64 characters.
  std::string hex() const;
  // Parses 64 hex digits (either case); nullopt otherwise.
  static std::optional<Sha256> from_hex(std::string_view hex);
  // Hashes a whole buffer at once.
  static Sha256 of(std::string_view data);

  friend bool operator==(const Sha256&, const Sha256&) = default;
  friend auto operator<=>(const Sha256&, const Sha256&) = default;
};

// Incremental SHA-256 over streamed chunks. Move-only.
class Sha256Hasher
{
public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(Sha256Hasher&&) noexcept;
  Sha256Hasher& operator=(Sha256Hasher&&) noexcept;

  void update(std::span<const std::byte> data);
  void update(std::string_view data);
  // Returns the digest; the hasher must not be used afterwards.
  Sha256 finish();

private:
  struct State;
  std::unique_ptr<State> m_state;
};

} // namespace airlock
