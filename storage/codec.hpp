#pragma once

// The binary encoding of LMDB values, private to airlock_storage. A value is a format
// version byte (k_format_version), then its fields in order: integers fixed-width little
// endian, times as int64 seconds since the epoch, strings as a uint32 length and the
// bytes, digests as 32 raw bytes, optional fields as a presence byte (0 or 1) and the
// field when 1. Decoding checks every bound and rejects trailing bytes.

#include <airlock/storage/records.hpp>
#include <airlock/storage/store.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::storage::codec {

// Version 2 added FileRecord::provenance_url; version 3 binds verdicts to bytes (FileRecord
// replaces/replaced_upstream/backdated, Decision and AuditEntry sha256s, FileChecks startup
// digests, inspected_by_range, gave_up, failure). Versions 1 and 2 are still read.
inline constexpr std::uint8_t k_format_version = 3;
inline constexpr std::uint8_t k_oldest_format_version = 1;

class Encoder
{
public:
  Encoder() { u8(k_format_version); }

  void u8(std::uint8_t v) { m_out.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void time(Time t) { u64(static_cast<std::uint64_t>(t.time_since_epoch().count())); }
  void str(std::string_view s);
  void sha256(const Sha256& s)
  {
    m_out.append(reinterpret_cast<const char*>(s.bytes.data()), s.bytes.size());
  }
  void sha256s(const std::vector<Sha256>& list)
  {
    u32(static_cast<std::uint32_t>(list.size()));
    for (const auto& s : list) {
      sha256(s);
    }
  }
  template<typename T, typename Fn>
  void optional(const std::optional<T>& v, Fn&& put)
  {
    u8(v ? 1 : 0);
    if (v) {
      put(*v);
    }
  }

  std::string take() { return std::move(m_out); }

private:
  std::string m_out;
};

// Reads fields in order. The first out-of-bounds or invalid read makes ok() false, after
// which every read returns a zero value, so decoders check once at the end.
class Decoder
{
public:
  // Consumes and checks the version byte.
  explicit Decoder(std::string_view in);

  std::uint8_t u8();
  std::uint32_t u32();
  std::uint64_t u64();
  Time time() { return Time{Seconds{static_cast<std::int64_t>(u64())}}; }
  std::string str();
  Sha256 sha256();
  std::vector<Sha256> sha256s();
  bool flag(); // a u8 that must be 0 or 1
  template<typename T, typename Fn>
  std::optional<T> optional(Fn&& get)
  {
    const std::uint8_t present = u8();
    if (present > 1) {
      m_ok = false;
    }
    if (present != 1 || !m_ok) {
      return std::nullopt;
    }
    return get();
  }

  // True when every read was in bounds and valid and the whole input was consumed.
  bool done() const { return m_ok && m_pos == m_in.size(); }
  // The format version of the value being read.
  std::uint8_t version() const { return m_version; }

private:
  // The next n bytes, or an empty view (and ok() false) when fewer are left.
  std::string_view take(std::size_t n);

  std::string_view m_in;
  std::size_t m_pos = 0;
  bool m_ok = true;
  std::uint8_t m_version = 0;
};

std::string encode(const ProjectRecord& record);
std::string encode(const FileRecord& record);
std::string encode(const BlobRecord& record);
std::string encode(const Decision& record);
std::string encode(const AuditEntry& record);
std::string encode(const TokenRecord& record);
std::string encode(const SnapshotRecord& record);
std::string encode(const FileChecks& record);
// A snapshot's project: its project record and frozen files, in one value.
std::string encode(const Listing& listing);

// nullopt when the value is malformed or of another format version.
std::optional<ProjectRecord> decode_project(std::string_view value);
std::optional<FileRecord> decode_file(std::string_view value);
std::optional<BlobRecord> decode_blob(std::string_view value);
std::optional<Decision> decode_decision(std::string_view value);
std::optional<AuditEntry> decode_audit(std::string_view value);
std::optional<TokenRecord> decode_token(std::string_view value);
std::optional<SnapshotRecord> decode_snapshot(std::string_view value);
std::optional<FileChecks> decode_checks(std::string_view value);
std::optional<Listing> decode_listing(std::string_view value);

} // namespace airlock::storage::codec
