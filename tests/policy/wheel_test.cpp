// Wheel inspection on real zip bytes, written by the tests' zip writer (zip_builder.hpp), with
// Zip64 records built by hand and damage applied on purpose.

#include <airlock/policy/wheel.hpp>
#include <airlock/policy/zip.hpp>

#include <airlock/util/sha256.hpp>

#include <gtest/gtest.h>

#include "zip_builder.hpp"

#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace airlock::policy {
namespace {

using test::build_zip;
using test::BuiltZip;
using test::crc_of;
using test::Method;
using test::set16;
using test::set32;
using test::set64;
using test::TestEntry;

// --- Reading as the proxy will: the tail, then the directory, then each local record -------

// A substring that is empty past the end, so a wrong offset fails a check, not the test binary.
std::string_view
slice(std::string_view bytes, std::uint64_t offset, std::uint64_t size = std::string_view::npos)
{
  return offset > bytes.size() ? std::string_view{} : bytes.substr(offset, size);
}

std::string_view
tail_of(std::string_view file)
{
  return slice(file, file.size() - tail_read_size(file.size()));
}

Expected<std::vector<ZipEntry>>
read_entries(std::string_view file)
{
  const auto where = locate_central_directory(tail_of(file), file.size());
  if (!where) {
    return make_unexpected(where.error());
  }
  return parse_central_directory(slice(file, where->offset), *where, file.size());
}

Expected<std::string>
read_entry(std::string_view file, const ZipEntry& entry, std::size_t max_size = 1 << 20)
{
  return extract_entry(entry, slice(file, entry.local_header_offset, local_read_size(entry)), max_size);
}

const ZipEntry*
find(const std::vector<ZipEntry>& entries, std::string_view name)
{
  for (const ZipEntry& entry : entries) {
    if (entry.name == name) {
      return &entry;
    }
  }
  return nullptr;
}

// Reads a wheel through the whole pipeline and summarizes it.
WheelSummary
summarize_wheel(std::string_view file)
{
  const auto entries = read_entries(file);
  EXPECT_TRUE(entries) << entries.error();
  if (!entries) {
    return {};
  }
  std::map<std::string, std::string> contents;
  for (const std::string& name : startup_files(*entries)) {
    const auto content = read_entry(file, *find(*entries, name));
    EXPECT_TRUE(content) << content.error();
    if (content) {
      contents[name] = *content;
    }
  }
  return summarize(*entries, contents);
}

std::string
error_of(const Expected<std::vector<ZipEntry>>& result)
{
  return result ? "no error" : result.error();
}

std::string
error_of(const Expected<std::string>& result)
{
  return result ? "no error" : result.error();
}

std::string
error_of(const Expected<CentralDirectoryLocation>& result)
{
  return result ? "no error" : result.error();
}

std::string
error_of(const Expected<void>& result)
{
  return result ? "no error" : result.error();
}

std::vector<ZipEntry>
entries_named(std::initializer_list<const char*> names)
{
  std::vector<ZipEntry> entries;
  for (const char* name : names) {
    entries.push_back(ZipEntry{name});
  }
  return entries;
}

std::string
hex_of(std::string_view content)
{
  return Sha256::of(content).hex();
}

// Real contents: setuptools' distutils-precedence.pth, a namespace package's -nspkg.pth (as
// setuptools writes it for zope), a path-only .pth, and the March 2026 LiteLLM payload's shape.
const std::string k_distutils_precedence =
  "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; "
  "enabled and __import__('_distutils_hack').add_shim(); \n";
const std::string k_nspkg =
  "import sys, types, os;has_mfs = sys.version_info > (3, 5);p = "
  "os.path.join(sys._getframe(1).f_locals['sitedir'], *('zope',));importlib = has_mfs and "
  "__import__('importlib.util');has_mfs and __import__('importlib.machinery');m = has_mfs and "
  "sys.modules.setdefault('zope', "
  "importlib.util.module_from_spec(importlib.machinery.PathFinder.find_spec('zope', "
  "[os.path.dirname(p)])));m = m or sys.modules.setdefault('zope', types.ModuleType('zope'));mp = (m or "
  "[]) and m.__dict__.setdefault('__path__',[]);(p not in mp) and mp.append(p)\n";
const std::string k_path_only = "# vendored libraries\nsrc\n/opt/extra/lib\n";
const std::string k_payload = "import os, subprocess, sys; subprocess.Popen([sys.executable, '-c', 'x'])\n";

std::vector<TestEntry>
simple_wheel()
{
  return {{"demo/__init__.py", "VERSION = '1.0'\n"},
          {"demo/data.bin", std::string("\x00\x01\x02\xff", 4), Method::stored},
          {"demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"},
          {"demo-1.0.dist-info/RECORD", "", Method::stored}};
}

// --- locate_central_directory ---------------------------------------------------------------

TEST(ZipLocate, FindsDirectoryWithoutComment)
{
  const BuiltZip zip = build_zip(simple_wheel());
  const auto where = locate_central_directory(tail_of(zip.bytes), zip.bytes.size());
  ASSERT_TRUE(where) << where.error();
  EXPECT_EQ(*where, (CentralDirectoryLocation{zip.directory_at, zip.directory_size, 4}));
}

TEST(ZipLocate, FindsDirectoryBehindComments)
{
  for (const std::size_t length : {std::size_t{1}, std::size_t{1000}, std::size_t{65535}}) {
    const BuiltZip zip = build_zip(simple_wheel(), {.comment = std::string(length, 'c')});
    const auto where = locate_central_directory(tail_of(zip.bytes), zip.bytes.size());
    ASSERT_TRUE(where) << length << ": " << where.error();
    EXPECT_EQ(*where, (CentralDirectoryLocation{zip.directory_at, zip.directory_size, 4})) << length;
    const auto entries = read_entries(zip.bytes);
    ASSERT_TRUE(entries) << entries.error();
    EXPECT_EQ(entries->size(), 4u);
  }
}

TEST(ZipLocate, TailReadSizeCoversTheLongestCommentAndZip64Records)
{
  EXPECT_EQ(tail_read_size(10), 10u);
  EXPECT_EQ(tail_read_size(1'000'000), 65536u + 22 + 20 + 56);
  const BuiltZip zip = build_zip(simple_wheel(), {.comment = std::string(65535, 'c'), .zip64 = true});
  const auto entries = read_entries(zip.bytes);
  ASSERT_TRUE(entries) << entries.error();
  EXPECT_EQ(entries->size(), 4u);
}

TEST(ZipLocate, RefusesDecoyEndRecordInComment)
{
  // CPython takes the last signature; a decoy in the comment with a comment length that does
  // not end the file is where readers part ways.
  std::string decoy = "PK\x05\x06";
  decoy += std::string(18, '\0');
  const BuiltZip zip = build_zip(simple_wheel(), {.comment = "note " + decoy + " more"});
  EXPECT_NE(error_of(read_entries(zip.bytes)).find("does not end the file"), std::string::npos)
    << error_of(read_entries(zip.bytes));
}

TEST(ZipLocate, RefusesTruncatedAndGarbageTails)
{
  const BuiltZip zip = build_zip(simple_wheel());
  EXPECT_FALSE(locate_central_directory("", 0));
  EXPECT_FALSE(locate_central_directory(std::string(21, 'x'), 21));
  EXPECT_FALSE(locate_central_directory(std::string(500, 'x'), 500));
  EXPECT_FALSE(locate_central_directory(std::string(500, '\0'), 500));
  EXPECT_NE(error_of(locate_central_directory(zip.bytes, zip.bytes.size() - 1)).find("longer than"),
            std::string::npos);
  EXPECT_NE(error_of(locate_central_directory("PK\x05\x06", 4)).find("too short"), std::string::npos);
  // The file cut short by one byte: the end record is incomplete.
  const std::string cut = zip.bytes.substr(0, zip.bytes.size() - 1);
  EXPECT_NE(error_of(read_entries(cut)).find("truncated"), std::string::npos) << error_of(read_entries(cut));
  // A tail that stops short of a commented end record cannot tell whether one is there.
  const BuiltZip commented = build_zip(simple_wheel(), {.comment = std::string(70'000 - 200, 'c')});
  const std::string_view short_tail = std::string_view(commented.bytes).substr(commented.bytes.size() - 500);
  EXPECT_NE(error_of(locate_central_directory(short_tail, commented.bytes.size())).find("too short"),
            std::string::npos);
}

TEST(ZipLocate, RefusesDirectoryOutsideTheFileOrAwayFromTheEndRecord)
{
  const BuiltZip zip = build_zip(simple_wheel());
  std::string beyond = zip.bytes;
  set32(beyond, zip.eocd_at + 16, beyond.size() + 10);
  EXPECT_NE(error_of(read_entries(beyond)).find("beyond"), std::string::npos) << error_of(read_entries(beyond));

  std::string huge = zip.bytes;
  set32(huge, zip.eocd_at + 12, 0xfffffff0);
  EXPECT_NE(error_of(read_entries(huge)).find("beyond"), std::string::npos) << error_of(read_entries(huge));

  // CPython would read the directory at its real place and shift every offset by one.
  std::string shifted = zip.bytes;
  set32(shifted, zip.eocd_at + 16, zip.directory_at - 1);
  EXPECT_NE(error_of(read_entries(shifted)).find("does not end at the end record"), std::string::npos)
    << error_of(read_entries(shifted));
}

TEST(ZipLocate, RefusesArchivesSpanningDisks)
{
  const BuiltZip zip = build_zip(simple_wheel());
  std::string multi = zip.bytes;
  set16(multi, zip.eocd_at + 4, 1);
  EXPECT_NE(error_of(read_entries(multi)).find("span disks"), std::string::npos);
}

TEST(ZipLocate, ReadsZip64Archive)
{
  const std::vector<TestEntry> files = {{"demo/__init__.py", "print('hi')\n"},
                                        {"demo.pth", k_payload, Method::stored}};
  const BuiltZip zip = build_zip(files, {.zip64 = true});
  // Every 32-bit field is a sentinel: the numbers can only come from the Zip64 records.
  std::string_view bytes = zip.bytes;
  EXPECT_EQ(bytes.substr(zip.eocd_at + 12, 8), std::string(8, '\xff'));
  const auto where = locate_central_directory(tail_of(bytes), bytes.size());
  ASSERT_TRUE(where) << where.error();
  EXPECT_EQ(*where, (CentralDirectoryLocation{zip.directory_at, zip.directory_size, 2}));
  const auto entries = read_entries(bytes);
  ASSERT_TRUE(entries) << entries.error();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[1].local_header_offset, zip.local_at[1]);
  EXPECT_EQ((*entries)[1].compressed_size, k_payload.size());
  EXPECT_EQ((*entries)[1].end_offset, zip.directory_at);
  EXPECT_EQ(read_entry(bytes, (*entries)[0]).value_or("failed"), "print('hi')\n");
  EXPECT_EQ(read_entry(bytes, (*entries)[1]).value_or("failed"), k_payload);
}

TEST(ZipLocate, RefusesInconsistentZip64Records)
{
  const BuiltZip zip = build_zip(simple_wheel(), {.zip64 = true});

  std::string elsewhere = zip.bytes;
  set64(elsewhere, zip.locator_at + 8, zip.zip64_record_at - 8);
  EXPECT_NE(error_of(read_entries(elsewhere)).find("Zip64 locator points"), std::string::npos)
    << error_of(read_entries(elsewhere));

  std::string disagree = zip.bytes;
  set16(disagree, zip.eocd_at + 10, 3);
  EXPECT_NE(error_of(read_entries(disagree)).find("disagree"), std::string::npos) << error_of(read_entries(disagree));

  std::string extensible = zip.bytes;
  set64(extensible, zip.zip64_record_at + 4, 60);
  EXPECT_NE(error_of(read_entries(extensible)).find("extensible"), std::string::npos);

  std::string no_record = zip.bytes;
  set32(no_record, zip.zip64_record_at, 0x12345678);
  EXPECT_NE(error_of(read_entries(no_record)).find("without a Zip64 end record"), std::string::npos);

  // A Zip64 extra field missing the offset the sentinel promises.
  std::string short_extra = zip.bytes;
  set16(short_extra, zip.central_at[0] + 46 + std::strlen("demo/__init__.py") + 2, 16);
  EXPECT_NE(error_of(read_entries(short_extra)).find("Zip64 extra field too short"), std::string::npos)
    << error_of(read_entries(short_extra));
}

// --- parse_central_directory ----------------------------------------------------------------

TEST(ZipCentralDirectory, ReadsEntriesInDirectoryOrderWithSpans)
{
  const BuiltZip zip = build_zip(simple_wheel());
  const auto entries = read_entries(zip.bytes);
  ASSERT_TRUE(entries) << entries.error();
  ASSERT_EQ(entries->size(), 4u);
  EXPECT_EQ((*entries)[0].name, "demo/__init__.py");
  EXPECT_EQ((*entries)[0].method, 8);
  EXPECT_EQ((*entries)[1].method, 0);
  EXPECT_EQ((*entries)[1].crc32, crc_of(std::string("\x00\x01\x02\xff", 4)));
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*entries)[i].local_header_offset, zip.local_at[i]);
    EXPECT_EQ((*entries)[i].end_offset, i + 1 < 4 ? zip.local_at[i + 1] : zip.directory_at);
  }
}

TEST(ZipCentralDirectory, RefusesEntryCountLies)
{
  std::vector<TestEntry> files = {{std::string(100, 'a') + ".py", "a"}, {std::string(100, 'b') + ".py", "b"}};
  const BuiltZip zip = build_zip(files);
  std::string more = zip.bytes;
  set16(more, zip.eocd_at + 8, 3);
  set16(more, zip.eocd_at + 10, 3);
  EXPECT_NE(error_of(read_entries(more)).find("counts 3 entries, the central directory holds 2"), std::string::npos)
    << error_of(read_entries(more));

  std::string fewer = zip.bytes;
  set16(fewer, zip.eocd_at + 8, 1);
  set16(fewer, zip.eocd_at + 10, 1);
  EXPECT_NE(error_of(read_entries(fewer)).find("more than the 1 entries"), std::string::npos)
    << error_of(read_entries(fewer));

  std::string impossible = zip.bytes;
  set16(impossible, zip.eocd_at + 8, 60000);
  set16(impossible, zip.eocd_at + 10, 60000);
  EXPECT_NE(error_of(read_entries(impossible)).find("more than its"), std::string::npos)
    << error_of(read_entries(impossible));

  const CentralDirectoryLocation too_many{0, 100'001 * 46, 100'001};
  EXPECT_NE(error_of(parse_central_directory("", too_many, 100'001 * 46)).find("more than 100000"),
            std::string::npos);
  EXPECT_NE(error_of(parse_central_directory("", {0, 100, 0}, 100)).find("truncated"), std::string::npos);
  EXPECT_NE(error_of(parse_central_directory("", {90, 20, 0}, 100)).find("beyond"), std::string::npos);
}

TEST(ZipCentralDirectory, RefusesPathTricksNamingTheEntry)
{
  const std::vector<std::pair<std::string, std::string>> cases = {
    {"/etc/evil.pth", "absolute path"},
    {"../evil.pth", "'..' segment"},
    {"demo/../../evil.pth", "'..' segment"},
    {"./evil.pth", "'.' segment"},
    {"demo/./x.py", "'.' segment"},
    {"demo//x.py", "empty segment"},
    {"demo\\..\\evil.pth", "backslash"},
    {"C:/evil.pth", "drive letter"},
    {std::string("evil.pth\0.txt", 13), "NUL"},
    {"evil\n.pth", "control character"},
    {"caf\xc3.py", "not valid UTF-8"},
  };
  for (const auto& [name, reason] : cases) {
    std::vector<TestEntry> files = simple_wheel();
    files.push_back({name, "import os\n"});
    const std::string error = error_of(read_entries(build_zip(files).bytes));
    EXPECT_NE(error.find(reason), std::string::npos) << error;
    EXPECT_EQ(error.rfind("zip entry \"", 0), 0u) << error;
  }
  // The entry is named, escaped, in the message.
  std::vector<TestEntry> files = simple_wheel();
  files.push_back({std::string("evil.pth\0.txt", 13), "x"});
  EXPECT_EQ(error_of(read_entries(build_zip(files).bytes)),
            "zip entry \"evil.pth\\x00.txt\": name contains a NUL byte");
}

TEST(ZipCentralDirectory, AcceptsDirectoriesAndUtf8Names)
{
  std::vector<TestEntry> files = simple_wheel();
  files.push_back({"demo/", "", Method::stored});
  files.push_back({"demo/caf\xc3\xa9.py", "x = 1\n"});
  const auto entries = read_entries(build_zip(files).bytes);
  ASSERT_TRUE(entries) << entries.error();
  EXPECT_EQ(entries->size(), 6u);

  // The same non-ASCII name without the UTF-8 flag is cp437 to CPython: another name.
  BuiltZip unflagged = build_zip(files);
  set16(unflagged.bytes, unflagged.central_at[5] + 8, 0);
  EXPECT_NE(error_of(read_entries(unflagged.bytes)).find("not flagged as UTF-8"), std::string::npos);
}

TEST(ZipCentralDirectory, RefusesLongNamesAndDuplicates)
{
  std::vector<TestEntry> files = simple_wheel();
  files.push_back({std::string(4097, 'n'), "x"});
  EXPECT_NE(error_of(read_entries(build_zip(files).bytes)).find("4097-byte name"), std::string::npos);

  files = simple_wheel();
  files.push_back({std::string(4096, 'n'), "x"});
  EXPECT_TRUE(read_entries(build_zip(files).bytes));

  files = simple_wheel();
  files.push_back({"demo/__init__.py", "import os\n"});
  EXPECT_EQ(error_of(read_entries(build_zip(files).bytes)), "zip entry \"demo/__init__.py\": listed twice");
}

TEST(ZipCentralDirectory, RefusesOverlappingEntries)
{
  const BuiltZip zip = build_zip(simple_wheel());
  std::string shared = zip.bytes;
  set32(shared, zip.central_at[2] + 42, zip.local_at[0]);
  EXPECT_NE(error_of(read_entries(shared)).find("overlap"), std::string::npos) << error_of(read_entries(shared));

  std::string inside = zip.bytes;
  set32(inside, zip.central_at[1] + 42, zip.local_at[0] + 10);
  EXPECT_NE(error_of(read_entries(inside)).find("overlap"), std::string::npos) << error_of(read_entries(inside));

  std::string into_directory = zip.bytes;
  set32(into_directory, zip.central_at[3] + 42, zip.directory_at - 10);
  EXPECT_NE(error_of(read_entries(into_directory)).find("runs past the central directory"), std::string::npos)
    << error_of(read_entries(into_directory));
}

TEST(ZipCentralDirectory, RefusesDataBeforeTheFirstEntryAndEncryption)
{
  const BuiltZip prefixed = build_zip(simple_wheel(), {.prefix = std::string(100, 'p')});
  EXPECT_EQ(error_of(read_entries(prefixed.bytes)), "zip archive has 100 bytes before its first entry");

  BuiltZip encrypted = build_zip(simple_wheel());
  set16(encrypted.bytes, encrypted.central_at[1] + 8, 0x0001);
  EXPECT_NE(error_of(read_entries(encrypted.bytes)).find("encrypted"), std::string::npos);
}

// --- extract_entry --------------------------------------------------------------------------

TEST(ZipExtract, ReadsStoredAndDeflatedEntries)
{
  // Incompressible bytes: a repeating pattern would deflate past the ratio cap.
  std::mt19937 random(7);
  std::string binary;
  for (int i = 0; i < 100'000; ++i) {
    binary += static_cast<char>(random());
  }
  const std::vector<TestEntry> files = {{"a.py", "print('a')\n" + std::string(5000, 'x')},
                                        {"b.bin", binary, Method::stored},
                                        {"c.bin", binary},
                                        {"empty", "", Method::stored},
                                        {"empty-deflated", ""}};
  const BuiltZip zip = build_zip(files);
  const auto entries = read_entries(zip.bytes);
  ASSERT_TRUE(entries) << entries.error();
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto content = read_entry(zip.bytes, (*entries)[i]);
    ASSERT_TRUE(content) << content.error();
    EXPECT_EQ(*content, files[i].content) << files[i].name;
  }
}

TEST(ZipExtract, NeedsExactlyTheLocalRecord)
{
  const BuiltZip zip = build_zip({{"x.pth", k_distutils_precedence}, {"y.py", "y = 1\n"}});
  const auto entries = read_entries(zip.bytes);
  ASSERT_TRUE(entries) << entries.error();
  const ZipEntry& entry = (*entries)[0];
  // The read is bounded by the next entry, so it is the whole local record and no more.
  EXPECT_EQ(local_read_size(entry), zip.local_at[1]);
  const std::string_view bytes = zip.bytes;
  const std::uint64_t needed = 30 + entry.name.size() + entry.compressed_size;
  EXPECT_EQ(extract_entry(entry, bytes.substr(0, needed), 1024).value_or("failed"), k_distutils_precedence);
  EXPECT_NE(error_of(extract_entry(entry, bytes.substr(0, needed - 1), 1024)).find("truncated"), std::string::npos);
  EXPECT_NE(error_of(extract_entry(entry, bytes.substr(0, 20), 1024)).find("no local header"), std::string::npos);
  EXPECT_NE(error_of(extract_entry(entry, bytes.substr(1), 1024)).find("no local header"), std::string::npos);

  ZipEntry far = entry;
  far.compressed_size = 10'000'000;
  far.end_offset = 20'000'000;
  EXPECT_EQ(local_read_size(far), 30u + 2 * 65535 + 10'000'000);
}

TEST(ZipExtract, RefusesZipBombs)
{
  const std::string zeros(20 << 20, '\0');
  const BuiltZip zip = build_zip({{"bomb.pth", zeros}});
  const auto entries = read_entries(zip.bytes);
  ASSERT_TRUE(entries) << entries.error();
  const ZipEntry& bomb = (*entries)[0];
  ASSERT_LT(bomb.compressed_size, 100'000u);
  // Refused by ratio even when the size limit would allow it, and by the size limit.
  EXPECT_NE(error_of(read_entry(zip.bytes, bomb, 100 << 20)).find("ratio"), std::string::npos);
  EXPECT_NE(error_of(read_entry(zip.bytes, bomb, 1 << 20)).find("exceed the 1048576-byte limit"), std::string::npos);

  // A bomb that lies about its size inflates only as far as the declared size.
  const BuiltZip liar = build_zip({{"bomb.pth", zeros, Method::deflate, 1000}});
  const auto lied = read_entries(liar.bytes);
  ASSERT_TRUE(lied) << lied.error();
  EXPECT_NE(error_of(read_entry(liar.bytes, (*lied)[0], 100 << 20)).find("inflates past its declared 1000 bytes"),
            std::string::npos)
    << error_of(read_entry(liar.bytes, (*lied)[0], 100 << 20));

  // A moderately compressible file of the same size passes.
  const BuiltZip fine = build_zip({{"ok.pth", k_path_only}});
  EXPECT_TRUE(read_entry(fine.bytes, read_entries(fine.bytes)->at(0)));
}

TEST(ZipExtract, RefusesCrcAndSizeMismatches)
{
  const std::uint32_t crc = crc_of(k_payload);
  const BuiltZip bad_crc = build_zip({{"evil.pth", k_payload, Method::deflate, std::nullopt, crc ^ 1}});
  const auto entries = read_entries(bad_crc.bytes);
  ASSERT_TRUE(entries) << entries.error();
  EXPECT_NE(error_of(read_entry(bad_crc.bytes, (*entries)[0])).find("CRC-32"), std::string::npos);

  const BuiltZip bad_stored_crc = build_zip({{"evil.pth", k_payload, Method::stored, std::nullopt, crc ^ 1}});
  EXPECT_NE(error_of(read_entry(bad_stored_crc.bytes, read_entries(bad_stored_crc.bytes)->at(0))).find("CRC-32"),
            std::string::npos);

  const BuiltZip longer = build_zip({{"evil.pth", k_payload, Method::deflate, k_payload.size() + 5}});
  EXPECT_NE(error_of(read_entry(longer.bytes, read_entries(longer.bytes)->at(0))).find("not the declared"),
            std::string::npos);

  const BuiltZip stored_lie = build_zip({{"evil.pth", k_payload, Method::stored, k_payload.size() - 1}});
  EXPECT_NE(error_of(read_entry(stored_lie.bytes, read_entries(stored_lie.bytes)->at(0))).find("sizes differ"),
            std::string::npos);
}

TEST(ZipExtract, RefusesLocalHeadersThatDisagree)
{
  const BuiltZip zip = build_zip({{"good.pth", k_payload}, {"next.py", "x\n"}});
  const auto entries = read_entries(zip.bytes);
  ASSERT_TRUE(entries) << entries.error();
  const ZipEntry& entry = (*entries)[0];

  std::string renamed = zip.bytes;
  renamed[30] = 'G';
  EXPECT_NE(error_of(read_entry(renamed, entry)).find("local header names \"Good.pth\""), std::string::npos);

  std::string method = zip.bytes;
  set16(method, 8, 0);
  EXPECT_NE(error_of(read_entry(method, entry)).find("method"), std::string::npos);

  std::string crc = zip.bytes;
  set32(crc, 14, 0);
  EXPECT_NE(error_of(read_entry(crc, entry)).find("differ from the central directory"), std::string::npos);

  // A long local extra field would push the data into the next entry.
  std::string extra = zip.bytes;
  set16(extra, 28, 200);
  EXPECT_NE(error_of(read_entry(extra, entry)).find("into the next entry"), std::string::npos);

  ZipEntry other_method = entry;
  other_method.method = 12;
  std::string bzip = zip.bytes;
  set16(bzip, 8, 12);
  EXPECT_NE(error_of(read_entry(bzip, other_method)).find("method 12 is not supported"), std::string::npos);

  // Truncated deflate data: the declared sizes fit, the stream does not end.
  ZipEntry cut = entry;
  cut.compressed_size -= 3;
  std::string cut_bytes = zip.bytes;
  set32(cut_bytes, 18, cut.compressed_size);
  EXPECT_NE(error_of(read_entry(cut_bytes, cut)).find("ends before the end of its stream"), std::string::npos)
    << error_of(read_entry(cut_bytes, cut));
}

// --- .pth content ---------------------------------------------------------------------------

TEST(PthContent, RealExecutablePthFiles)
{
  EXPECT_TRUE(pth_has_executable_lines(k_distutils_precedence));
  EXPECT_TRUE(pth_has_executable_lines(k_nspkg));
  EXPECT_TRUE(pth_has_executable_lines(k_payload));
}

TEST(PthContent, PathsCommentsAndBlankLinesAreNotExecutable)
{
  EXPECT_FALSE(pth_has_executable_lines(""));
  EXPECT_FALSE(pth_has_executable_lines(k_path_only));
  EXPECT_FALSE(pth_has_executable_lines("# import os\n#import os\n\n   \n"));
  EXPECT_FALSE(pth_has_executable_lines(" import os\n"));   // site.py does not strip before the test
  EXPECT_FALSE(pth_has_executable_lines("\timport os\n"));
  EXPECT_FALSE(pth_has_executable_lines("importlib\n"));    // a directory named importlib
  EXPECT_FALSE(pth_has_executable_lines("import\n"));
  EXPECT_FALSE(pth_has_executable_lines("Import os\n"));
  EXPECT_FALSE(pth_has_executable_lines("lib # import os\n"));
}

TEST(PthContent, ExecutableLinesUnderEveryLineSplitting)
{
  EXPECT_TRUE(pth_has_executable_lines("import\tos"));
  EXPECT_TRUE(pth_has_executable_lines("src\nimport os"));
  EXPECT_TRUE(pth_has_executable_lines("# comment\n\nimport os\n"));
  EXPECT_TRUE(pth_has_executable_lines("src\r\nimport os\r\n"));
  EXPECT_TRUE(pth_has_executable_lines("src\rimport os"));             // universal newlines
  EXPECT_TRUE(pth_has_executable_lines("src\x0cimport os"));           // newer site.py: str.splitlines()
  EXPECT_TRUE(pth_has_executable_lines("src\x0bimport os"));
  EXPECT_TRUE(pth_has_executable_lines("src\x1eimport os"));
  EXPECT_TRUE(pth_has_executable_lines("src\xc2\x85import os"));       // U+0085
  EXPECT_TRUE(pth_has_executable_lines("src\xe2\x80\xa8import os"));   // U+2028
  EXPECT_TRUE(pth_has_executable_lines("src\x85import os"));           // U+0085 in Latin-1
  EXPECT_TRUE(pth_has_executable_lines("\xef\xbb\xbfimport os\n"));    // BOM, utf-8-sig
}

TEST(PthFiles, FindsWhatSitePyWouldProcess)
{
  std::vector<ZipEntry> entries;
  for (const char* name : {"a.pth",
                           "demo/b.pth",
                           "demo-1.0.data/purelib/c.pth",
                           "demo-1.0.data/platlib/d.pth",
                           "demo-1.0.data/scripts/e.pth",
                           "demo-1.0.dist-info/f.pth",
                           "demo-1.0.data/data/lib/python3.12/site-packages/g.pth",
                           "demo-1.0.data/data/Lib/site-packages/g2.pth",
                           "demo-1.0.data/data/lib/python3/dist-packages/g3.pth",
                           "demo-1.0.data/data/share/h.pth",
                           "demo-1.0.data/purelib/sub/i.pth",
                           "dir.pth/",
                           ".hidden.pth",
                           "A.PTH",
                           "a.pth.txt"}) {
    entries.push_back(ZipEntry{name});
  }
  EXPECT_EQ(pth_files(entries), (std::vector<std::string>{"a.pth", "demo-1.0.data/purelib/c.pth",
                                                          "demo-1.0.data/platlib/d.pth",
                                                          "demo-1.0.data/data/lib/python3.12/site-packages/g.pth",
                                                          "demo-1.0.data/data/Lib/site-packages/g2.pth",
                                                          "demo-1.0.data/data/lib/python3/dist-packages/g3.pth",
                                                          ".hidden.pth"}));
}

TEST(WheelSummarize, TopLevelNamesAndExecutablePthByInstalledName)
{
  const auto entries = entries_named({"demo/__init__.py", "demo/sub/x.py", "mod.py", "demo-1.0.dist-info/METADATA",
                                      "demo-1.0.data/purelib/extra/__init__.py", "demo-1.0.data/scripts/tool",
                                      "demo-1.0.data/headers/x.h", "demo-1.0.data/purelib/init.pth", "paths.pth",
                                      "unread.pth", "demo/", "demo-1.0.data/purelib/"});
  const std::map<std::string, std::string> contents = {{"demo-1.0.data/purelib/init.pth", k_payload},
                                                       {"paths.pth", k_path_only}};
  const WheelSummary summary = summarize(entries, contents);
  // unread.pth has no content: what could not be read counts as executable, of unknown content.
  EXPECT_EQ(summary.executable_pth,
            (std::vector<StartupFile>{{"init.pth", hex_of(k_payload)}, {"unread.pth", ""}}));
  EXPECT_EQ(summary.top_level,
            (std::vector<std::string>{"demo", "extra", "init.pth", "mod.py", "paths.pth", "unread.pth"}));
}

TEST(WheelSummary, SitecustomizeAndUsercustomizeRunAtStartLikePth)
{
  const auto entries =
    entries_named({"sitecustomize.py", "demo-1.0.data/platlib/usercustomize.cpython-312-x86_64-linux-gnu.so",
                   "usercustomize/__init__.py", "usercustomize/helper.py", "demo/sitecustomize.py",
                   "sitecustomizer.py", "demo-1.0.data/scripts/sitecustomize.py"});
  const std::string site = "import os\n";
  const std::string user = "from . import helper\n";
  const WheelSummary summary =
    summarize(entries, {{"sitecustomize.py", site}, {"usercustomize/__init__.py", user}});
  // Only what lands at the root of site-packages is imported by site.py; the compiled module
  // was not read, so its content is unknown.
  EXPECT_EQ(summary.executable_pth, (std::vector<StartupFile>{{"sitecustomize.py", hex_of(site)},
                                                              {"usercustomize", hex_of(user)},
                                                              {"usercustomize.cpython-312-x86_64-linux-gnu.so", ""}}));
}

TEST(WheelSummary, StartupFilesAreThePthFilesAndStartupSources)
{
  const auto entries = entries_named(
    {"a.pth", "demo/b.pth", "sitecustomize.py", "demo-1.0.data/purelib/usercustomize/__init__.py",
     "usercustomize/helper.py", "sitecustomize.cpython-312-x86_64-linux-gnu.so", "demo/sitecustomize.py",
     "demo-1.0.data/scripts/sitecustomize.py", "sitecustomizer.py", "demo-1.0.data/purelib/c.pth"});
  EXPECT_EQ(startup_files(entries),
            (std::vector<std::string>{"a.pth", "sitecustomize.py", "demo-1.0.data/purelib/usercustomize/__init__.py",
                                      "demo-1.0.data/purelib/c.pth"}));
}

TEST(WheelSummary, ContentIsUnknownWithoutInitOrWhenTwoCopiesDisagree)
{
  // A package without __init__.py, and one .pth installed from two places with other content.
  const auto entries =
    entries_named({"sitecustomize/", "sitecustomize/impl.py", "x.pth", "demo-1.0.data/purelib/x.pth", "y.pth",
                   "demo-1.0.data/platlib/y.pth"});
  const std::string other = k_payload + "import sys\n";
  const WheelSummary summary = summarize(entries, {{"x.pth", k_payload},
                                                   {"demo-1.0.data/purelib/x.pth", other},
                                                   {"y.pth", k_payload},
                                                   {"demo-1.0.data/platlib/y.pth", k_payload}});
  EXPECT_EQ(summary.executable_pth, (std::vector<StartupFile>{{"sitecustomize", ""},
                                                              {"x.pth", ""},
                                                              {"y.pth", hex_of(k_payload)}}));
}

// --- compare ---------------------------------------------------------------------------------

TEST(WheelCompare, NewExecutablePthIsFoundAndNamed)
{
  const StartupFile distutils{"distutils-precedence.pth", hex_of(k_distutils_precedence)};
  const WheelSummary previous{{distutils}, {"litellm"}};
  const WheelSummary current{{distutils, {"litellm_init.pth", hex_of(k_payload)}}, {"litellm", "litellm_init.pth"}};
  const WheelFindings findings = compare(current, &previous);
  EXPECT_EQ(findings.new_executable_pth, std::vector<std::string>{"litellm_init.pth"});
  EXPECT_TRUE(findings.changed_executable_pth.empty());
  EXPECT_EQ(findings.new_top_level, std::vector<std::string>{"litellm_init.pth"});
}

TEST(WheelCompare, ExistingExecutablePthWithTheSameContentIsNotFlagged)
{
  const StartupFile distutils{"distutils-precedence.pth", hex_of(k_distutils_precedence)};
  const WheelSummary previous{{distutils}, {"_distutils_hack", "setuptools"}};
  const WheelSummary current{{distutils}, {"_distutils_hack", "pkg_resources", "setuptools"}};
  const WheelFindings findings = compare(current, &previous);
  EXPECT_TRUE(findings.new_executable_pth.empty());
  EXPECT_TRUE(findings.changed_executable_pth.empty());
  EXPECT_EQ(findings.new_top_level, std::vector<std::string>{"pkg_resources"});
}

TEST(WheelCompare, NewCodeInAnExistingPthIsChanged)
{
  // The payload hidden in setuptools' own file name: same name, other content.
  const WheelSummary previous{{{"distutils-precedence.pth", hex_of(k_distutils_precedence)}}, {"setuptools"}};
  const WheelSummary current{{{"distutils-precedence.pth", hex_of(k_distutils_precedence + k_payload)}},
                             {"setuptools"}};
  const WheelFindings findings = compare(current, &previous);
  EXPECT_TRUE(findings.new_executable_pth.empty());
  EXPECT_EQ(findings.changed_executable_pth, std::vector<std::string>{"distutils-precedence.pth"});
}

TEST(WheelCompare, PthThatTurnsExecutableIsNew)
{
  // paths.pth was there, path-only, so it is not among the previous executable ones.
  const WheelSummary previous{{}, {"demo", "paths.pth"}};
  const WheelSummary current{{{"paths.pth", hex_of(k_payload)}}, {"demo", "paths.pth"}};
  EXPECT_EQ(compare(current, &previous).new_executable_pth, std::vector<std::string>{"paths.pth"});
}

TEST(WheelCompare, UnknownCurrentContentIsChanged)
{
  const WheelSummary previous{{{"demo.pth", hex_of(k_payload)}, {"old.pth", ""}}, {}};
  const WheelSummary current{{{"demo.pth", ""}, {"old.pth", ""}}, {}};
  EXPECT_EQ(compare(current, &previous).changed_executable_pth, (std::vector<std::string>{"demo.pth", "old.pth"}));
}

TEST(WheelCompare, BaselineWithoutDigestsComparesByName)
{
  // Records written before digests existed name the file and nothing more.
  const WheelSummary previous{{{"distutils-precedence.pth", ""}}, {"setuptools"}};
  const WheelSummary current{{{"distutils-precedence.pth", hex_of(k_distutils_precedence)},
                              {"litellm_init.pth", hex_of(k_payload)}},
                             {"setuptools"}};
  const WheelFindings findings = compare(current, &previous);
  EXPECT_EQ(findings.new_executable_pth, std::vector<std::string>{"litellm_init.pth"});
  EXPECT_TRUE(findings.changed_executable_pth.empty());
}

TEST(WheelCompare, FirstReleaseHoldsNothingAndReportsItsNames)
{
  const WheelSummary current{{{"distutils-precedence.pth", ""}}, {"_distutils_hack", "setuptools"}};
  const WheelFindings findings = compare(current, nullptr);
  EXPECT_TRUE(findings.new_executable_pth.empty());
  EXPECT_TRUE(findings.changed_executable_pth.empty());
  EXPECT_EQ(findings.new_top_level, current.top_level);
}

TEST(WheelCompare, ReleasesReadFromZipBytes)
{
  // 1.82.6 ships setuptools-style and nspkg .pth files; 1.82.7 moves one into .data/purelib
  // (same installed file), adds the payload and appends to the other.
  const BuiltZip previous = build_zip({{"litellm/__init__.py", "x = 1\n"},
                                       {"distutils-precedence.pth", k_distutils_precedence},
                                       {"litellm-1.82.6-py3.9-nspkg.pth", k_nspkg, Method::stored},
                                       {"paths.pth", k_path_only},
                                       {"litellm-1.82.6.dist-info/RECORD", ""}});
  const BuiltZip current = build_zip({{"litellm/__init__.py", "x = 2\n"},
                                      {"distutils-precedence.pth", k_distutils_precedence + k_payload},
                                      {"litellm-1.82.7.data/purelib/litellm-1.82.6-py3.9-nspkg.pth", k_nspkg},
                                      {"paths.pth", k_path_only},
                                      {"litellm_init.pth", k_payload},
                                      {"litellm-1.82.7.dist-info/RECORD", ""}},
                                     {.comment = "built by a test"});
  const WheelSummary before = summarize_wheel(previous.bytes);
  const WheelSummary after = summarize_wheel(current.bytes);
  EXPECT_EQ(before.executable_pth,
            (std::vector<StartupFile>{{"distutils-precedence.pth", hex_of(k_distutils_precedence)},
                                      {"litellm-1.82.6-py3.9-nspkg.pth", hex_of(k_nspkg)}}));
  const WheelFindings findings = compare(after, &before);
  EXPECT_EQ(findings.new_executable_pth, std::vector<std::string>{"litellm_init.pth"});
  EXPECT_EQ(findings.changed_executable_pth, std::vector<std::string>{"distutils-precedence.pth"});
  EXPECT_EQ(findings.new_top_level, std::vector<std::string>{"litellm_init.pth"});
}

// --- RECORD -----------------------------------------------------------------------------------

// Hashes and sizes below were written by Python's hashlib, base64 and csv modules, as wheel does.
const std::string k_init = "VERSION = '1.0'\n";
const std::string k_comma_module = "x = 1\n";
const std::string k_metadata = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n";
const std::string k_wheel = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
const std::string k_init_row = "demo/__init__.py,sha256=qDELPlksFSwWLqsldfcO3h82HUM9qbRemTxcdjn1Jb8,16\n";
const std::string k_comma_row = "\"demo/a,b.py\",sha256=nia_NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q,6\n";
const std::string k_pth_row = "distutils-precedence.pth,sha256=JjjOniUA5XKl4N5_rtZmHrVp0baW_LoHsN0iPaX10iQ,151\n";
const std::string k_metadata_row =
  "demo-1.0.dist-info/METADATA,sha256=NKonpgZPlYtBt4GiF_KQ_Qq1-WUeK25Kzas0G3uTwwU,46\n";
const std::string k_wheel_row = "demo-1.0.dist-info/WHEEL,sha256=GOJWfGKy_s7ZRMtmrMyJFvIHxzo0gLZVhGWWyTqB6uo,75\n";
const std::string k_record_row = "demo-1.0.dist-info/RECORD,,\n";

std::string
full_record()
{
  return k_init_row + k_comma_row + k_pth_row + k_metadata_row + k_wheel_row + k_record_row;
}

// The archive's entries, read back from zip bytes so names and sizes are the real ones.
std::vector<ZipEntry>
record_wheel(std::vector<TestEntry> extra = {})
{
  std::vector<TestEntry> files = {{"demo/", ""},
                                  {"demo/__init__.py", k_init},
                                  {"demo/a,b.py", k_comma_module},
                                  {"distutils-precedence.pth", k_distutils_precedence},
                                  {"demo-1.0.dist-info/METADATA", k_metadata},
                                  {"demo-1.0.dist-info/WHEEL", k_wheel},
                                  {"demo-1.0.dist-info/RECORD", full_record()}};
  files.insert(files.end(), extra.begin(), extra.end());
  const auto entries = read_entries(build_zip(files).bytes);
  EXPECT_TRUE(entries) << entries.error();
  return entries ? *entries : std::vector<ZipEntry>{};
}

const std::map<std::string, std::string> k_startup_contents = {{"distutils-precedence.pth", k_distutils_precedence}};

TEST(WheelRecord, FindsTheRecordEntry)
{
  EXPECT_EQ(record_entry(record_wheel()).value_or("none"), "demo-1.0.dist-info/RECORD");
  EXPECT_EQ(error_of(record_entry(entries_named({"demo/__init__.py", "demo-1.0.dist-info/METADATA",
                                                 "demo-1.0.data/purelib/x-1.0.dist-info/RECORD",
                                                 "demo/x.dist-info/RECORD"}))),
            "wheel has no .dist-info/RECORD");
  EXPECT_EQ(error_of(record_entry(entries_named({"a-1.0.dist-info/RECORD", "b-1.0.dist-info/RECORD"}))),
            "wheel has RECORD files in 2 .dist-info directories (\"a-1.0.dist-info/RECORD\", "
            "\"b-1.0.dist-info/RECORD\")");
  // Another .dist-info directory without a RECORD is no ambiguity.
  EXPECT_EQ(record_entry(entries_named({"a-1.0.dist-info/RECORD", "b-1.0.dist-info/METADATA"})).value_or("none"),
            "a-1.0.dist-info/RECORD");
  EXPECT_EQ(error_of(check_record(entries_named({"demo/__init__.py"}), k_init_row, {})),
            "wheel has no .dist-info/RECORD");
}

TEST(WheelRecord, MatchingRecordPasses)
{
  EXPECT_EQ(error_of(check_record(record_wheel(), full_record(), k_startup_contents)), "no error");
  // CRLF line ends, blank lines and no final newline are all CSV that csv.reader reads alike.
  std::string crlf;
  for (const char c : full_record()) {
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  }
  EXPECT_EQ(error_of(check_record(record_wheel(), crlf + "\r\n", k_startup_contents)), "no error");
  std::string unterminated = full_record();
  unterminated.pop_back();
  EXPECT_EQ(error_of(check_record(record_wheel(), "\n" + unterminated, k_startup_contents)), "no error");
}

TEST(WheelRecord, SignaturesBesideRecordNeedNoRow)
{
  const auto entries =
    record_wheel({{"demo-1.0.dist-info/RECORD.jws", "{}"}, {"demo-1.0.dist-info/RECORD.p7s", "sig"}});
  EXPECT_EQ(error_of(check_record(entries, full_record(), k_startup_contents)), "no error");
  // Only beside the RECORD in use.
  const auto elsewhere = record_wheel({{"other-1.0.dist-info/RECORD.jws", "{}"}});
  EXPECT_EQ(error_of(check_record(elsewhere, full_record(), {})),
            "RECORD does not list \"other-1.0.dist-info/RECORD.jws\"");
}

TEST(WheelRecord, UnlistedEntryIsRefused)
{
  const auto entries = record_wheel({{"evil.pth", k_payload}});
  EXPECT_EQ(error_of(check_record(entries, full_record(), {})), "RECORD does not list \"evil.pth\"");
}

TEST(WheelRecord, ListedPathMissingFromTheArchiveIsRefused)
{
  const std::string record = full_record() + "demo/x.py,sha256=nia_NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q,6\n";
  EXPECT_EQ(error_of(check_record(record_wheel(), record, {})), "RECORD lists \"demo/x.py\", which the archive lacks");
  // Unquoted, "demo/a,b.py" would be the path "demo/a" and too many fields.
  std::string unquoted = full_record();
  unquoted.replace(unquoted.find(k_comma_row), k_comma_row.size(), k_comma_row.substr(1, 11) + k_comma_row.substr(13));
  EXPECT_EQ(error_of(check_record(record_wheel(), unquoted, {})), "RECORD line 2: more than 3 fields");
}

TEST(WheelRecord, QuotedPathsFollowCsvQuoting)
{
  // csv.writer quotes a path with a comma or quote and doubles the quote.
  const std::string quote_row = "\"demo/q\"\"x.py\",sha256=nia_NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q,6\n";
  const auto entries = record_wheel({{"demo/q\"x.py", k_comma_module}});
  EXPECT_EQ(error_of(check_record(entries, full_record() + quote_row, {{"demo/a,b.py", k_comma_module}})),
            "no error");
  for (const std::string bad : {"\"demo/q\"x.py\",sha256=x,6\n", "demo/q\"x.py,,\n", "\"demo/q.py,,\n",
                                "demo/q.py\r,,\n"}) {
    EXPECT_NE(error_of(check_record(entries, full_record() + bad, {})).find("RECORD line 7: "), std::string::npos)
      << bad;
  }
  EXPECT_EQ(error_of(check_record(entries, full_record() + "\"demo/q.py\"x,,\n", {})),
            "RECORD line 7: malformed quoted field");
}

TEST(WheelRecord, WrongHashForStartupFileIsRefused)
{
  std::string record = full_record();
  record.replace(record.find("JjjOniUA"), 8, "AAAAAAAA");
  EXPECT_EQ(error_of(check_record(record_wheel(), record, k_startup_contents)),
            "RECORD hash of \"distutils-precedence.pth\" does not match its content");
  // Content the caller did not read is not verified.
  EXPECT_EQ(error_of(check_record(record_wheel(), record, {})), "no error");
}

TEST(WheelRecord, HashAlgorithmsAndFormats)
{
  const auto with_row = [](const std::string& row) {
    std::string record = full_record();
    record.replace(record.find(k_comma_row), k_comma_row.size(), row);
    return error_of(check_record(record_wheel(), record, {{"demo/a,b.py", k_comma_module}}));
  };
  const std::string sha512 =
    "sha512=e73veyKgykOKZRFOeqVV-RiHar0CPb8GFYkM-jCLUlHBkx-rU_sUNgozT0yN7lCJ48E3W_3uNVShst_MuAk21g";
  EXPECT_EQ(with_row("\"demo/a,b.py\"," + sha512 + ",6\n"), "no error");
  EXPECT_EQ(with_row("\"demo/a,b.py\",sha384=" + std::string(64, 'A') + ",6\n"), "no error");
  EXPECT_EQ(with_row("\"demo/a,b.py\",md5=DMF1ucDxtqgxw5niaXcmYQ,6\n"),
            "RECORD hash of \"demo/a,b.py\" uses unknown algorithm \"md5\"");
  EXPECT_EQ(with_row("\"demo/a,b.py\",sha256=nia_NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q=,6\n"),
            "RECORD hash of \"demo/a,b.py\" is not 32 bytes of unpadded urlsafe base64");
  EXPECT_EQ(with_row("\"demo/a,b.py\",sha256=nia/NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q,6\n"),
            "RECORD hash of \"demo/a,b.py\" is not 32 bytes of unpadded urlsafe base64");
  EXPECT_EQ(with_row("\"demo/a,b.py\",,6\n"), "RECORD has no hash for \"demo/a,b.py\"");
  EXPECT_EQ(with_row("\"demo/a,b.py\",sha256=nia_NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q,7\n"),
            "RECORD size of \"demo/a,b.py\" is 7, the archive's 6");
  EXPECT_EQ(with_row("\"demo/a,b.py\",sha256=nia_NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q,-6\n"),
            "RECORD size of \"demo/a,b.py\" is not a number");
  EXPECT_EQ(with_row("\"demo/a,b.py\",sha256=nia_NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q\n"),
            "RECORD line 2: 2 fields, not 3");
  EXPECT_EQ(with_row(",,\n"), "RECORD line 2: empty path");
}

TEST(WheelRecord, DuplicateRowsAndHugeRecordsAreRefused)
{
  EXPECT_EQ(error_of(check_record(record_wheel(), full_record() + k_init_row, {})),
            "RECORD lists \"demo/__init__.py\" twice");
  std::string huge;
  for (int i = 0; i <= 100'000; ++i) {
    huge += "a,,\n";
  }
  EXPECT_EQ(error_of(check_record(record_wheel(), huge, {})), "RECORD has more than 100000 rows");
}

TEST(WheelRecord, AnyRecordTextGivesAnAnswer)
{
  const auto entries = record_wheel();
  std::mt19937_64 random(20260301);
  const std::string alphabet = ",\"\r\n a=";
  int passed = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string record = full_record();
    const std::size_t at = random() % (record.size() + 1);
    record.insert(at, 1, alphabet[random() % alphabet.size()]);
    passed += check_record(entries, record, k_startup_contents) ? 1 : 0;
  }
  // A blank line, or a CR before a LF, keeps RECORD valid: some pass and most do not.
  EXPECT_GT(passed, 0);
  EXPECT_LT(passed, 2000);
}

// --- damage -----------------------------------------------------------------------------------

// Mutated archives must give an error or a result, never a crash or a hang; run under ASan and
// UBSan too. The counts show the mutations reach both outcomes, so the loop tests something.
TEST(ZipDamage, RandomlyDamagedArchivesNeverCrash)
{
  const std::vector<TestEntry> files = {{"demo/__init__.py", "print('hello')\n" + std::string(300, 'z')},
                                        {"demo.pth", k_distutils_precedence},
                                        {"demo/raw.txt", "stored text\n", Method::stored},
                                        {"demo-1.0.data/purelib/x.pth", k_path_only},
                                        {"demo-1.0.dist-info/RECORD", ""}};
  const std::vector<std::string> bases = {build_zip(files).bytes, build_zip(files, {.comment = "c"}).bytes,
                                          build_zip(files, {.zip64 = true}).bytes};
  std::mt19937_64 random(20260324);
  const auto below = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(random() % n); };
  int refused = 0;
  int listed = 0;
  int extracted = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string bytes = bases[below(bases.size())];
    const std::size_t mutations = 1 + below(4);
    for (std::size_t m = 0; m < mutations && !bytes.empty(); ++m) {
      // Half the damage lands in the directory and end records, where the parsing is.
      const std::size_t region = below(2) == 0 ? bytes.size() : std::min<std::size_t>(bytes.size(), 400);
      const std::size_t at = bytes.size() - region + below(region);
      switch (below(6)) {
        case 0:
          bytes[at] = static_cast<char>(random());
          break;
        case 1:
          bytes[at] = static_cast<char>(bytes[at] ^ (1 << below(8)));
          break;
        case 2:
          bytes.resize(at);
          break;
        case 3:
          bytes.insert(at, std::string(1 + below(8), static_cast<char>(random())));
          break;
        case 4:
          bytes.replace(at, 4, below(2) == 0 ? std::string(4, '\xff') : std::string(4, '\0'));
          break;
        default:
          bytes.erase(at, 1 + below(16));
          break;
      }
    }
    const auto entries = read_entries(bytes);
    if (!entries) {
      ++refused;
      EXPECT_FALSE(entries.error().empty());
      continue;
    }
    ++listed;
    std::map<std::string, std::string> contents;
    for (const ZipEntry& entry : *entries) {
      ASSERT_LE(entry.local_header_offset, entry.end_offset);
      ASSERT_LE(entry.end_offset, bytes.size());
      const auto content = read_entry(bytes, entry, 1 << 16);
      if (content) {
        ++extracted;
        contents[entry.name] = *content;
      }
    }
    const WheelSummary summary = summarize(*entries, contents);
    EXPECT_LE(summary.executable_pth.size(), entries->size());
    if (const auto record = record_entry(*entries); record && contents.contains(*record)) {
      (void)check_record(*entries, contents.at(*record), contents);
    }
  }
  EXPECT_GT(refused, 100);
  EXPECT_GT(listed, 100);
  EXPECT_GT(extracted, 100);
}

} // namespace
} // namespace airlock::policy
