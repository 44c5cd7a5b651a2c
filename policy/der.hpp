#pragma once

// Just enough DER to take certificates apart where OpenSSL would re-encode them: the precert
// TBSCertificate an SCT signs, and the UTF8String values of Fulcio's extensions.

#include <airlock/util/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace airlock::policy::der {

inline constexpr std::uint8_t k_sequence = 0x30;
inline constexpr std::uint8_t k_oid = 0x06;
inline constexpr std::uint8_t k_octet_string = 0x04;
inline constexpr std::uint8_t k_utf8_string = 0x0c;
inline constexpr std::uint8_t k_extensions = 0xa3; // [3] EXPLICIT in TBSCertificate

// The content octets of OID 1.3.6.1.4.1.11129.2.4.2, the embedded SCT list extension.
inline constexpr std::string_view k_sct_list_oid{"\x2b\x06\x01\x04\x01\xd6\x79\x02\x04\x02", 10};

// One element: its tag, its content, and its whole encoding (tag, length and content).
struct Element
{
  std::uint8_t tag = 0;
  std::string_view content;
  std::string_view encoding;
};

// Reads one element from the front of `input` and advances past it. Accepts DER only:
// single-byte tags, definite and minimally encoded lengths of at most 4 bytes.
[[nodiscard]] Expected<Element> read(std::string_view& input);

// Encodes tag, DER length and content.
std::string encode(std::uint8_t tag, std::string_view content);

// Decodes a DER UTF8String that spans all of `der`, as Fulcio's extensions .8 to .22 hold.
[[nodiscard]] Expected<std::string> decode_utf8_string(std::string_view der);

// Returns the TBSCertificate of a DER certificate with the one extension whose OID content is
// `oid` removed (the rest byte for byte), as RFC 6962 rebuilds a precertificate. Errors when
// the extension is absent or present twice.
[[nodiscard]] Expected<std::string> tbs_without_extension(std::string_view certificate, std::string_view oid);

} // namespace airlock::policy::der
