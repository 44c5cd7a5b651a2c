// The zip entry extractor: checks an entry's local header against the central directory and
// returns its content, stored or inflated, within size and compression-ratio limits.

#include <airlock/policy/zip.hpp>

#include "zip_format.hpp"

#include <fmt/core.h>
// Makes z_stream::next_in a pointer to const, so input is never cast from const.
#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <memory>

namespace airlock::policy {

using namespace zip;

namespace {

// Deflate reaches about 1000:1 on runs of one byte; real .pth files and sources stay far below
// 100:1. Small entries are exempt: their ratio says nothing and their cost is nothing.
constexpr std::uint64_t k_max_ratio = 100;
constexpr std::uint64_t k_ratio_exempt_size = 64 * 1024;
// zlib counts in uInt; feed it at most this much at a time.
constexpr std::size_t k_zlib_chunk = std::size_t{1} << 30;

struct InflateEnd
{
  void
  operator()(z_stream* stream) const
  {
    inflateEnd(stream);
  }
};

Expected<std::string>
inflate_raw(std::string_view data, std::uint64_t expected_size)
{
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) {
    return make_unexpected("zlib cannot start inflating");
  }
  const std::unique_ptr<z_stream, InflateEnd> guard(&stream);

  // One spare byte shows whether the stream inflates past its declared size.
  std::string out(static_cast<std::size_t>(expected_size) + 1, '\0');
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  for (;;) {
    const std::size_t in_chunk = std::min(data.size() - in_pos, k_zlib_chunk);
    const std::size_t out_chunk = std::min(out.size() - out_pos, k_zlib_chunk);
    stream.next_in = reinterpret_cast<const Bytef*>(data.data() + in_pos);
    stream.avail_in = static_cast<uInt>(in_chunk);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    stream.avail_out = static_cast<uInt>(out_chunk);
    const int rc = inflate(&stream, Z_NO_FLUSH);
    in_pos += in_chunk - stream.avail_in;
    out_pos += out_chunk - stream.avail_out;
    if (out_pos > expected_size) {
      return make_unexpected(fmt::format("inflates past its declared {} bytes", expected_size));
    }
    if (rc == Z_STREAM_END) {
      break;
    }
    if (rc == Z_BUF_ERROR && in_pos == data.size()) {
      return make_unexpected("deflate data ends before the end of its stream");
    }
    if (rc != Z_OK) {
      const char* detail = stream.msg != nullptr ? stream.msg : "no detail";
      return make_unexpected(fmt::format("deflate data cannot be inflated ({})", detail));
    }
  }
  if (in_pos != data.size()) {
    return make_unexpected(fmt::format("{} bytes after the end of the deflate stream", data.size() - in_pos));
  }
  if (out_pos != expected_size) {
    return make_unexpected(fmt::format("inflates to {} bytes, not the declared {}", out_pos, expected_size));
  }
  out.resize(out_pos);
  return out;
}

} // namespace

std::uint64_t
local_read_size(const ZipEntry& entry)
{
  if (entry.end_offset < entry.local_header_offset) {
    return 0;
  }
  const std::uint64_t span = entry.end_offset - entry.local_header_offset;
  const std::uint64_t headers = k_local_header_size + k_max_local_name_and_extra;
  if (entry.compressed_size > span || span - entry.compressed_size < headers) {
    return span;
  }
  return headers + entry.compressed_size;
}

Expected<std::string>
extract_entry(const ZipEntry& entry, std::string_view local_bytes, std::size_t max_size)
{
  const auto fail = [&](std::string_view why) { return make_unexpected(entry_error(entry.name, why)); };
  if (entry.uncompressed_size > max_size) {
    return fail(fmt::format("{} bytes exceed the {}-byte limit", entry.uncompressed_size, max_size));
  }
  if (entry.uncompressed_size > k_ratio_exempt_size
      && (entry.compressed_size == 0 || entry.uncompressed_size / entry.compressed_size > k_max_ratio)) {
    return fail(fmt::format("compresses {} bytes into {}, past the {}:1 ratio allowed", entry.uncompressed_size,
                            entry.compressed_size, k_max_ratio));
  }
  if (local_bytes.size() < k_local_header_size || read_u32(local_bytes, 0) != k_local_signature) {
    return fail("no local header where the central directory says");
  }
  const std::uint16_t flags = read_u16(local_bytes, 6);
  const std::uint16_t method = read_u16(local_bytes, 8);
  const std::uint32_t crc = read_u32(local_bytes, 14);
  const std::uint32_t compressed = read_u32(local_bytes, 18);
  const std::uint32_t uncompressed = read_u32(local_bytes, 22);
  const std::uint16_t name_length = read_u16(local_bytes, 26);
  const std::uint16_t extra_length = read_u16(local_bytes, 28);
  const std::uint64_t data_start = k_local_header_size + std::uint64_t{name_length} + extra_length;
  if (local_bytes.size() < k_local_header_size + name_length) {
    return fail("local header truncated");
  }
  // Readers that go front to back trust the local header: it must say what the directory says.
  if (local_bytes.substr(k_local_header_size, name_length) != entry.name) {
    const std::string_view local_name = local_bytes.substr(k_local_header_size, name_length);
    return fail(fmt::format("local header names \"{}\"", display(local_name)));
  }
  if (method != entry.method) {
    return fail(fmt::format("local header says method {}, the directory {}", method, entry.method));
  }
  if ((flags & k_flag_data_descriptor) == 0) {
    const bool sizes_agree = (compressed == k_u32_sentinel || compressed == entry.compressed_size)
                             && (uncompressed == k_u32_sentinel || uncompressed == entry.uncompressed_size);
    if (crc != entry.crc32 || !sizes_agree) {
      return fail("local header's CRC-32 or sizes differ from the central directory's");
    }
  }
  if (entry.end_offset < entry.local_header_offset
      || !fits(data_start, entry.compressed_size, entry.end_offset - entry.local_header_offset)) {
    return fail("data runs into the next entry");
  }
  if (!fits(data_start, entry.compressed_size, local_bytes.size())) {
    return fail(fmt::format("local data truncated: {} bytes read, {} needed", local_bytes.size(),
                            data_start + entry.compressed_size));
  }
  const std::string_view data = local_bytes.substr(data_start, entry.compressed_size);

  Expected<std::string> content;
  if (entry.method == k_method_stored) {
    if (entry.compressed_size != entry.uncompressed_size) {
      return fail("stored entry whose sizes differ");
    }
    content = std::string(data);
  } else if (entry.method == k_method_deflate) {
    content = inflate_raw(data, entry.uncompressed_size);
  } else {
    return fail(fmt::format("compression method {} is not supported", entry.method));
  }
  if (!content) {
    return fail(content.error());
  }
  const auto actual_crc = crc32_z(0, reinterpret_cast<const Bytef*>(content->data()), content->size());
  if (actual_crc != entry.crc32) {
    return fail(fmt::format("CRC-32 {:08x} does not match the declared {:08x}", actual_crc, entry.crc32));
  }
  return content;
}

} // namespace airlock::policy
