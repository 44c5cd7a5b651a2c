// Lowercase hex of bytes, for every module: one encoder instead of one per caller.
// No allocation beyond the result, and no dependency (digests are hexed on hot paths).
#include <airlock/util/hex.hpp>

namespace airlock {

std::string
to_hex(std::span<const unsigned char> bytes)
{
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = k_digits[bytes[i] >> 4];
    out[2 * i + 1] = k_digits[bytes[i] & 0xf];
  }
  return out;
}

std::string
to_hex(std::string_view bytes)
{
  return to_hex(std::span(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()));
}

} // namespace airlock
