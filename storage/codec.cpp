// The binary encoding of every LMDB value: the Encoder and Decoder primitives, and one encode
// and decode per record, reading older format versions too.

#include "codec.hpp"

#include <airlock/util/error.hpp>

#include <algorithm>
#include <limits>

namespace airlock::storage::codec {

void
Encoder::u32(std::uint32_t v)
{
  for (int i = 0; i < 4; ++i) {
    u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
}

void
Encoder::u64(std::uint64_t v)
{
  for (int i = 0; i < 8; ++i) {
    u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
}

void
Encoder::str(std::string_view s)
{
  // Strings come from upstream listings bounded far below 4GiB (and LMDB values by the
  // map size); a longer one is a bug, not input.
  if (s.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw StorageError("cannot store a string of 4GiB or more");
  }
  u32(static_cast<std::uint32_t>(s.size()));
  m_out.append(s);
}

Decoder::Decoder(std::string_view in) : m_in(in)
{
  m_version = u8();
  if (m_version < k_oldest_format_version || m_version > k_format_version) {
    m_ok = false;
  }
}

std::string_view
Decoder::take(std::size_t n)
{
  if (!m_ok || n > m_in.size() - m_pos) {
    m_ok = false;
    return {};
  }
  const auto out = m_in.substr(m_pos, n);
  m_pos += n;
  return out;
}

std::uint8_t
Decoder::u8()
{
  const auto b = take(1);
  return b.empty() ? 0 : static_cast<std::uint8_t>(b[0]);
}

std::uint32_t
Decoder::u32()
{
  const auto b = take(4);
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    v |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(b[i])) << (8 * i);
  }
  return v;
}

std::uint64_t
Decoder::u64()
{
  const auto b = take(8);
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(b[i])) << (8 * i);
  }
  return v;
}

std::string
Decoder::str()
{
  const std::uint32_t n = u32();
  return std::string(take(n));
}

bool
Decoder::flag()
{
  const std::uint8_t b = u8();
  if (b > 1) {
    m_ok = false;
  }
  return b == 1;
}

std::vector<Sha256>
Decoder::sha256s()
{
  const std::uint32_t count = u32();
  std::vector<Sha256> out;
  // 32 bytes each: a count beyond what is left is corruption.
  if (count > (m_in.size() - std::min(m_pos, m_in.size())) / 32) {
    m_ok = false;
    return out;
  }
  out.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    out.push_back(sha256());
  }
  return out;
}

Sha256
Decoder::sha256()
{
  Sha256 out;
  const auto b = take(out.bytes.size());
  for (std::size_t i = 0; i < b.size(); ++i) {
    out.bytes[i] = static_cast<std::uint8_t>(b[i]);
  }
  return out;
}

// Field order is the format: changing it, or adding a field, needs a new version byte and
// a decoder for the old one.


namespace {

void
put_file(Encoder& e, const FileRecord& r)
{
  e.str(r.project);
  e.str(r.filename);
  e.str(r.version);
  e.sha256(r.sha256);
  e.u64(r.size);
  e.optional(r.upload_time, [&](Time t) { e.time(t); });
  e.time(r.first_seen);
  e.str(r.requires_python);
  e.optional(r.yanked, [&](const std::string& s) { e.str(s); });
  e.optional(r.core_metadata, [&](const Sha256& s) { e.sha256(s); });
  e.str(r.url);
  e.optional(r.removed_upstream, [&](Time t) { e.time(t); });
  e.optional(r.provenance_url, [&](const std::string& s) { e.str(s); });
  e.optional(r.replaces, [&](const Sha256& s) { e.sha256(s); });
  e.optional(r.replaced_upstream, [&](Time t) { e.time(t); });
  e.u8(r.backdated ? 1 : 0);
}

FileRecord
get_file(Decoder& d)
{
  FileRecord r;
  r.project = d.str();
  r.filename = d.str();
  r.version = d.str();
  r.sha256 = d.sha256();
  r.size = d.u64();
  r.upload_time = d.optional<Time>([&] { return d.time(); });
  r.first_seen = d.time();
  r.requires_python = d.str();
  r.yanked = d.optional<std::string>([&] { return d.str(); });
  r.core_metadata = d.optional<Sha256>([&] { return d.sha256(); });
  r.url = d.str();
  r.removed_upstream = d.optional<Time>([&] { return d.time(); });
  if (d.version() >= 2) {
    r.provenance_url = d.optional<std::string>([&] { return d.str(); });
  }
  if (d.version() >= 3) {
    r.replaces = d.optional<Sha256>([&] { return d.sha256(); });
    r.replaced_upstream = d.optional<Time>([&] { return d.time(); });
    r.backdated = d.flag();
  }
  return r;
}

void
put_project(Encoder& e, const ProjectRecord& r)
{
  e.str(r.name);
  e.str(r.etag);
  e.time(r.fetched_at);
  e.time(r.first_seen);
  e.str(r.status);
  e.str(r.status_reason);
}

ProjectRecord
get_project(Decoder& d)
{
  ProjectRecord r;
  r.name = d.str();
  r.etag = d.str();
  r.fetched_at = d.time();
  r.first_seen = d.time();
  r.status = d.str();
  r.status_reason = d.str();
  return r;
}

} // namespace

std::string
encode(const FileRecord& r)
{
  Encoder e;
  put_file(e, r);
  return e.take();
}

std::optional<FileRecord>
decode_file(std::string_view value)
{
  Decoder d(value);
  auto r = get_file(d);
  if (!d.done()) {
    return std::nullopt;
  }
  return r;
}

std::string
encode(const BlobRecord& r)
{
  Encoder e;
  e.u64(r.size);
  e.time(r.stored_at);
  return e.take();
}

std::optional<BlobRecord>
decode_blob(std::string_view value)
{
  Decoder d(value);
  BlobRecord r;
  r.size = d.u64();
  r.stored_at = d.time();
  if (!d.done()) {
    return std::nullopt;
  }
  return r;
}

std::string
encode(const Decision& r)
{
  Encoder e;
  e.str(r.project);
  e.str(r.version);
  e.str(r.filename);
  e.u8(static_cast<std::uint8_t>(r.action));
  e.str(r.actor);
  e.str(r.reason);
  e.time(r.time);
  e.sha256s(r.sha256s);
  return e.take();
}

std::optional<Decision>
decode_decision(std::string_view value)
{
  Decoder d(value);
  Decision r;
  r.project = d.str();
  r.version = d.str();
  r.filename = d.str();
  const auto action = d.u8();
  r.action = static_cast<DecisionAction>(action);
  r.actor = d.str();
  r.reason = d.str();
  r.time = d.time();
  if (d.version() >= 3) {
    r.sha256s = d.sha256s();
  }
  if (!d.done() || (r.action != DecisionAction::approve && r.action != DecisionAction::block
                      && r.action != DecisionAction::unblock)) {
    return std::nullopt;
  }
  return r;
}

std::string
encode(const AuditEntry& r)
{
  Encoder e;
  e.u64(r.id);
  e.time(r.time);
  e.str(r.actor);
  e.str(r.action);
  e.str(r.project);
  e.str(r.version);
  e.str(r.filename);
  e.str(r.reason);
  e.str(r.before);
  e.str(r.after);
  e.sha256s(r.sha256s);
  return e.take();
}

std::optional<AuditEntry>
decode_audit(std::string_view value)
{
  Decoder d(value);
  AuditEntry r;
  r.id = d.u64();
  r.time = d.time();
  r.actor = d.str();
  r.action = d.str();
  r.project = d.str();
  r.version = d.str();
  r.filename = d.str();
  r.reason = d.str();
  r.before = d.str();
  r.after = d.str();
  if (d.version() >= 3) {
    r.sha256s = d.sha256s();
  }
  if (!d.done()) {
    return std::nullopt;
  }
  return r;
}

std::string
encode(const TokenRecord& r)
{
  Encoder e;
  e.str(r.id);
  e.str(r.name);
  e.u8(static_cast<std::uint8_t>(r.role));
  e.sha256(r.secret_hash);
  e.time(r.created_at);
  return e.take();
}

std::optional<TokenRecord>
decode_token(std::string_view value)
{
  Decoder d(value);
  TokenRecord r;
  r.id = d.str();
  r.name = d.str();
  const auto role = d.u8();
  r.role = static_cast<Role>(role);
  r.secret_hash = d.sha256();
  r.created_at = d.time();
  if (!d.done() || role < 1 || role > 3) {
    return std::nullopt;
  }
  return r;
}

std::string
encode(const ProjectRecord& r)
{
  Encoder e;
  put_project(e, r);
  return e.take();
}

std::optional<ProjectRecord>
decode_project(std::string_view value)
{
  Decoder d(value);
  auto r = get_project(d);
  if (!d.done()) {
    return std::nullopt;
  }
  return r;
}

std::string
encode(const SnapshotRecord& r)
{
  Encoder e;
  e.str(r.name);
  e.time(r.created_at);
  e.str(r.created_by);
  e.u64(r.projects);
  e.u64(r.files);
  e.u64(r.bytes);
  return e.take();
}

std::optional<SnapshotRecord>
decode_snapshot(std::string_view value)
{
  Decoder d(value);
  SnapshotRecord r;
  r.name = d.str();
  r.created_at = d.time();
  r.created_by = d.str();
  r.projects = d.u64();
  r.files = d.u64();
  r.bytes = d.u64();
  if (!d.done()) {
    return std::nullopt;
  }
  return r;
}

std::string
encode(const Listing& listing)
{
  Encoder e;
  put_project(e, listing.project);
  e.u32(static_cast<std::uint32_t>(listing.files.size()));
  for (const auto& file : listing.files) {
    put_file(e, file);
  }
  return e.take();
}

std::optional<Listing>
decode_listing(std::string_view value)
{
  Decoder d(value);
  Listing listing;
  listing.project = get_project(d);
  const std::uint32_t count = d.u32();
  // Each file takes dozens of bytes: a count beyond what the value can hold is corruption.
  if (count > value.size()) {
    return std::nullopt;
  }
  listing.files.reserve(count);
  for (std::uint32_t i = 0; i < count && d.done() == false; ++i) {
    listing.files.push_back(get_file(d));
  }
  if (!d.done() || listing.files.size() != count) {
    return std::nullopt;
  }
  return listing;
}

std::string
encode(const FileChecks& r)
{
  Encoder e;
  e.u8(static_cast<std::uint8_t>(r.provenance));
  e.str(r.reason_class);
  e.str(r.reason);
  e.str(r.publisher_kind);
  e.str(r.repository);
  e.str(r.workflow);
  e.str(r.email);
  e.time(r.signed_at);
  e.str(r.document);
  e.u32(r.attempts);
  e.u8(r.inspected ? 1 : 0);
  e.str(r.inspection_error);
  e.u32(static_cast<std::uint32_t>(r.executable_pth.size()));
  for (const auto& file : r.executable_pth) {
    e.str(file.name);
    e.str(file.sha256);
  }
  e.u32(static_cast<std::uint32_t>(r.top_level.size()));
  for (const auto& name : r.top_level) {
    e.str(name);
  }
  e.time(r.checked_at);
  e.u8(r.inspected_by_range ? 1 : 0);
  e.u8(r.gave_up ? 1 : 0);
  e.str(r.failure);
  e.str(r.repository_id);
  e.str(r.owner_id);
  return e.take();
}

std::optional<FileChecks>
decode_checks(std::string_view value)
{
  Decoder d(value);
  FileChecks r;
  const auto provenance = d.u8();
  r.provenance = static_cast<ProvenanceState>(provenance);
  r.reason_class = d.str();
  r.reason = d.str();
  r.publisher_kind = d.str();
  r.repository = d.str();
  r.workflow = d.str();
  r.email = d.str();
  r.signed_at = d.time();
  r.document = d.str();
  r.attempts = d.u32();
  const auto inspected = d.u8();
  r.inspected = inspected == 1;
  r.inspection_error = d.str();
  // Each item takes at least four bytes: a count beyond what the value can hold is corruption.
  const auto pth_count = d.u32();
  if (pth_count > value.size()) {
    return std::nullopt;
  }
  for (std::uint32_t i = 0; i < pth_count; ++i) {
    StartupFile file;
    file.name = d.str();
    // Before version 3 only names were kept: the digest is unknown.
    file.sha256 = d.version() >= 3 ? d.str() : std::string();
    r.executable_pth.push_back(std::move(file));
  }
  const auto top_count = d.u32();
  if (top_count > value.size()) {
    return std::nullopt;
  }
  for (std::uint32_t i = 0; i < top_count; ++i) {
    r.top_level.push_back(d.str());
  }
  r.checked_at = d.time();
  if (d.version() >= 3) {
    r.inspected_by_range = d.flag();
    r.gave_up = d.flag();
    r.failure = d.str();
    r.repository_id = d.str();
    r.owner_id = d.str();
  }
  if (!d.done() || provenance > 3 || inspected > 1) {
    return std::nullopt;
  }
  return r;
}

} // namespace airlock::storage::codec
