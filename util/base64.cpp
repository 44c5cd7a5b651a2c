// Base64 on libsodium's codec. Its decoder with no `ignore` characters and a padded variant
// accepts exactly the one canonical spelling; tests/util/base64_test.cpp pins that set.
#include <airlock/util/base64.hpp>

#include <sodium.h>

#include <algorithm>

namespace airlock {

namespace {

std::string
encode(std::string_view bytes, int variant)
{
  // sodium_base64_encoded_len counts the terminating NUL that sodium_bin2base64 writes.
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    variant);
  out.pop_back();
  return out;
}

} // namespace

std::string
base64_encode(std::string_view bytes)
{
  return encode(bytes, sodium_base64_VARIANT_ORIGINAL);
}

std::string
base64url_encode(std::string_view bytes)
{
  return encode(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::optional<std::string>
base64_decode(std::string_view text)
{
  // libsodium reads bytes as signed chars: some above 0x7f pass for alphabet letters.
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) > 0x7f; })) {
    return std::nullopt;
  }
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t length = 0;
  // No `ignore` set and no end pointer: whitespace, stray '=' and trailing characters fail.
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &length, nullptr, sodium_base64_VARIANT_ORIGINAL)
      != 0) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

} // namespace airlock
