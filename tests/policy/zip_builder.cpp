#include "zip_builder.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

namespace airlock::test {

namespace {

constexpr std::uint64_t k_sentinel32 = 0xffffffff;
constexpr std::size_t k_zip64_record_size = 56;
constexpr std::size_t k_zip64_locator_size = 20;

bool
is_ascii(std::string_view text)
{
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return false;
    }
  }
  return true;
}

} // namespace

void
put16(std::string& out, std::uint64_t value)
{
  out += static_cast<char>(value & 0xff);
  out += static_cast<char>((value >> 8) & 0xff);
}

void
put32(std::string& out, std::uint64_t value)
{
  put16(out, value & 0xffff);
  put16(out, (value >> 16) & 0xffff);
}

void
put64(std::string& out, std::uint64_t value)
{
  put32(out, value & 0xffffffff);
  put32(out, value >> 32);
}

void
set16(std::string& bytes, std::size_t at, std::uint64_t value)
{
  std::string encoded;
  put16(encoded, value);
  bytes.replace(at, 2, encoded);
}

void
set32(std::string& bytes, std::size_t at, std::uint64_t value)
{
  std::string encoded;
  put32(encoded, value);
  bytes.replace(at, 4, encoded);
}

void
set64(std::string& bytes, std::size_t at, std::uint64_t value)
{
  std::string encoded;
  put64(encoded, value);
  bytes.replace(at, 8, encoded);
}

std::uint32_t
crc_of(std::string_view data)
{
  return static_cast<std::uint32_t>(crc32_z(0, reinterpret_cast<const Bytef*>(data.data()), data.size()));
}

std::string
deflate_raw(std::string_view data)
{
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

void
put_zip64_end(std::string& out, std::uint64_t entries, std::uint64_t directory_size, std::uint64_t directory_at,
              std::string_view comment)
{
  const std::uint64_t record_at = out.size();
  put32(out, 0x06064b50);
  put64(out, k_zip64_record_size - 12); // the size of the rest of the record
  put16(out, 45);
  put16(out, 45);
  put32(out, 0);
  put32(out, 0);
  put64(out, entries);
  put64(out, entries);
  put64(out, directory_size);
  put64(out, directory_at);
  put32(out, 0x07064b50);
  put32(out, 0);
  put64(out, record_at);
  put32(out, 1);
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0xffff);
  put16(out, 0xffff);
  put32(out, k_sentinel32);
  put32(out, k_sentinel32);
  put16(out, comment.size());
  out += comment;
}

BuiltZip
build_zip(const std::vector<TestEntry>& entries, const ZipOptions& options)
{
  BuiltZip zip;
  zip.bytes = options.prefix;
  struct Written
  {
    std::uint64_t offset;
    std::uint64_t compressed;
    std::uint64_t size;
    std::uint32_t crc;
    std::uint16_t method;
    std::uint16_t flags;
  };
  std::vector<Written> written;
  for (const TestEntry& entry : entries) {
    const std::string data = entry.method == Method::deflate ? deflate_raw(entry.content) : entry.content;
    const Written w{zip.bytes.size(),
                    data.size(),
                    entry.declared_size.value_or(entry.content.size()),
                    entry.declared_crc.value_or(crc_of(entry.content)),
                    static_cast<std::uint16_t>(entry.method == Method::deflate ? 8 : 0),
                    static_cast<std::uint16_t>(is_ascii(entry.name) ? 0 : 0x800)};
    written.push_back(w);
    zip.local_at.push_back(zip.bytes.size());
    std::string& out = zip.bytes;
    put32(out, 0x04034b50);
    put16(out, options.zip64 ? 45 : 20);
    put16(out, w.flags);
    put16(out, w.method);
    put16(out, 0);      // time
    put16(out, 0x0021); // date: 1980-01-01
    put32(out, w.crc);
    put32(out, options.zip64 ? k_sentinel32 : w.compressed);
    put32(out, options.zip64 ? k_sentinel32 : w.size);
    put16(out, entry.name.size());
    put16(out, options.zip64 ? 20 : 0);
    out += entry.name;
    if (options.zip64) {
      put16(out, 0x0001);
      put16(out, 16);
      put64(out, w.size);
      put64(out, w.compressed);
    }
    out += data;
  }
  zip.directory_at = zip.bytes.size();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Written& w = written[i];
    zip.central_at.push_back(zip.bytes.size());
    std::string& out = zip.bytes;
    put32(out, 0x02014b50);
    put16(out, 0x031e); // made by: Unix, 3.0
    put16(out, options.zip64 ? 45 : 20);
    put16(out, w.flags);
    put16(out, w.method);
    put16(out, 0);
    put16(out, 0x0021);
    put32(out, w.crc);
    put32(out, options.zip64 ? k_sentinel32 : w.compressed);
    put32(out, options.zip64 ? k_sentinel32 : w.size);
    put16(out, entries[i].name.size());
    put16(out, options.zip64 ? 28 : 0);
    put16(out, 0); // comment
    put16(out, 0); // disk
    put16(out, 0); // internal attributes
    put32(out, 0644u << 16);
    put32(out, options.zip64 ? k_sentinel32 : w.offset);
    out += entries[i].name;
    if (options.zip64) {
      put16(out, 0x0001);
      put16(out, 24);
      put64(out, w.size);
      put64(out, w.compressed);
      put64(out, w.offset);
    }
  }
  zip.directory_size = zip.bytes.size() - zip.directory_at;
  if (options.zip64) {
    zip.zip64_record_at = zip.bytes.size();
    zip.locator_at = zip.zip64_record_at + k_zip64_record_size;
    zip.eocd_at = zip.locator_at + k_zip64_locator_size;
    put_zip64_end(zip.bytes, entries.size(), zip.directory_size, zip.directory_at, options.comment);
    return zip;
  }
  zip.eocd_at = zip.bytes.size();
  put32(zip.bytes, 0x06054b50);
  put16(zip.bytes, 0);
  put16(zip.bytes, 0);
  put16(zip.bytes, entries.size());
  put16(zip.bytes, entries.size());
  put32(zip.bytes, zip.directory_size);
  put32(zip.bytes, zip.directory_at);
  put16(zip.bytes, options.comment.size());
  zip.bytes += options.comment;
  return zip;
}

} // namespace airlock::test
