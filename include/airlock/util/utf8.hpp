#pragma once

// UTF-8 validation shared by the page parser and the renderer, so that what Airlock stores from
// an upstream page is exactly what it serves back.

#include <cstddef>
#include <string>
#include <string_view>

namespace airlock {

inline constexpr std::string_view k_replacement_character = "\xEF\xBF\xBD"; // U+FFFD

// Length of the well-formed UTF-8 sequence starting at text[pos], or 0 when it is not one
// (stray continuation bytes, overlong forms, surrogates, beyond U+10FFFF, truncation).
inline std::size_t
utf8_sequence_length(std::string_view text, std::size_t pos)
{
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const auto lead = byte(0);
  const auto remaining = text.size() - pos;
  const auto continuation = [&](std::size_t i) {
    return i < remaining && (byte(i) & 0xC0) == 0x80;
  };
  if (lead >= 0xC2 && lead <= 0xDF) {
    return continuation(1) ? 2 : 0;
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) {
      return 0;
    }
    if ((lead == 0xE0 && byte(1) < 0xA0) || (lead == 0xED && byte(1) >= 0xA0)) {
      return 0; // overlong, or a UTF-16 surrogate
    }
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) {
      return 0;
    }
    if ((lead == 0xF0 && byte(1) < 0x90) || (lead == 0xF4 && byte(1) >= 0x90)) {
      return 0; // overlong, or beyond U+10FFFF
    }
    return 4;
  }
  return 0;
}

// Free text as Airlock keeps it: valid UTF-8 without the C0 controls HTML forbids (tab, LF and
// CR stay). Each invalid byte and each such control becomes U+FFFD, as the renderer writes them.
inline std::string
clean_text(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto c = static_cast<unsigned char>(text[pos]);
    if (c >= 0x80) {
      const auto length = utf8_sequence_length(text, pos);
      if (length == 0) {
        out.append(k_replacement_character);
        ++pos;
      } else {
        out.append(text.substr(pos, length));
        pos += length;
      }
    } else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      out.append(k_replacement_character);
      ++pos;
    } else {
      out.push_back(static_cast<char>(c));
      ++pos;
    }
  }
  return out;
}

} // namespace airlock
