#pragma once

// The zip format's record layouts, flags and little-endian readers, and how an entry name shows
// in a message: what the directory reader, the extractor and the RECORD check share (policy/ only).

#include <airlock/util/assert.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace airlock::policy::zip {

inline constexpr std::uint32_t k_eocd_signature = 0x06054b50;
inline constexpr std::uint32_t k_zip64_locator_signature = 0x07064b50;
inline constexpr std::uint32_t k_zip64_eocd_signature = 0x06064b50;
inline constexpr std::uint32_t k_central_signature = 0x02014b50;
inline constexpr std::uint32_t k_local_signature = 0x04034b50;
inline constexpr std::string_view k_eocd_magic{"PK\x05\x06", 4};

inline constexpr std::uint64_t k_eocd_size = 22;
inline constexpr std::uint64_t k_zip64_locator_size = 20;
inline constexpr std::uint64_t k_zip64_eocd_size = 56;
inline constexpr std::uint64_t k_central_header_size = 46;
inline constexpr std::uint64_t k_local_header_size = 30;
inline constexpr std::uint64_t k_max_comment = 0xffff;
inline constexpr std::uint64_t k_max_local_name_and_extra = 2 * 0xffff;

inline constexpr std::uint16_t k_flag_encrypted = 0x0001;
inline constexpr std::uint16_t k_flag_data_descriptor = 0x0008;
inline constexpr std::uint16_t k_flag_patched = 0x0020;
inline constexpr std::uint16_t k_flag_strong_encryption = 0x0040;
inline constexpr std::uint16_t k_flag_utf8 = 0x0800;

inline constexpr std::uint16_t k_zip64_extra_id = 0x0001;
inline constexpr std::uint16_t k_u16_sentinel = 0xffff;
inline constexpr std::uint32_t k_u32_sentinel = 0xffffffff;

inline constexpr std::uint16_t k_method_stored = 0;
inline constexpr std::uint16_t k_method_deflate = 8;

// Readers over bounds the caller has checked: reading past them is a bug in the caller.
inline std::uint16_t
read_u16(std::string_view bytes, std::uint64_t pos)
{
  AIRLOCK_ASSERT(pos <= bytes.size() && bytes.size() - pos >= 2);
  const auto byte = [&](std::uint64_t i) { return static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[i])); };
  return static_cast<std::uint16_t>(byte(pos) | (byte(pos + 1) << 8));
}

inline std::uint32_t
read_u32(std::string_view bytes, std::uint64_t pos)
{
  return read_u16(bytes, pos) | (std::uint32_t{read_u16(bytes, pos + 2)} << 16);
}

inline std::uint64_t
read_u64(std::string_view bytes, std::uint64_t pos)
{
  return read_u32(bytes, pos) | (std::uint64_t{read_u32(bytes, pos + 4)} << 32);
}

// True when [offset, offset + size) lies within [0, limit), without overflowing.
inline bool
fits(std::uint64_t offset, std::uint64_t size, std::uint64_t limit)
{
  return offset <= limit && size <= limit - offset;
}

// Returns an entry name escaped (\xNN for control, non-ASCII, '"' and '\\' bytes) and cut at
// 200 bytes: names come from upstream bytes.
std::string display(std::string_view name);

// Returns "zip entry \"<name>\": <why>", the name shown as display() does.
std::string entry_error(std::string_view name, std::string_view why);

} // namespace airlock::policy::zip
