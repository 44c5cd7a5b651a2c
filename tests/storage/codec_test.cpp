#include "codec.hpp"

#include <gtest/gtest.h>

#include <string>

namespace airlock::storage::codec {
namespace {

Time
at(std::int64_t seconds)
{
  return Time{Seconds{seconds}};
}

FileRecord
full_file()
{
  FileRecord r;
  r.project = "litellm";
  r.filename = "litellm-1.82.7-py3-none-any.whl";
  r.version = "1.82.7";
  r.sha256 = Sha256::of("wheel");
  r.size = 0x0102030405060708ULL;
  r.upload_time = at(1774348740);
  r.first_seen = at(1774348800);
  r.requires_python = ">=3.8";
  r.yanked = "broken release";
  r.core_metadata = Sha256::of("METADATA");
  r.url = "https://files.pythonhosted.org/packages/ab/cd/litellm-1.82.7-py3-none-any.whl";
  r.removed_upstream = at(1774400000);
  r.provenance_url = "https://pypi.org/integrity/litellm/1.82.7/litellm-1.82.7-py3-none-any.whl/provenance";
  r.replaces = Sha256::of("the bytes before");
  r.replaced_upstream = at(1774500000);
  r.backdated = true;
  return r;
}

FileRecord
bare_file()
{
  FileRecord r;
  r.project = "p";
  r.filename = "p-1.0.tar.gz";
  r.sha256 = Sha256::of("sdist");
  r.first_seen = at(-5); // before the epoch still round-trips
  return r;
}

TEST(Codec, file_record_with_every_optional_set_round_trips)
{
  const auto r = full_file();
  const auto decoded = decode_file(encode(r));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, r);
}

TEST(Codec, file_record_with_every_optional_unset_round_trips)
{
  const auto r = bare_file();
  const auto decoded = decode_file(encode(r));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, r);
  EXPECT_FALSE(decoded->upload_time);
  EXPECT_FALSE(decoded->yanked);
  EXPECT_FALSE(decoded->core_metadata);
  EXPECT_FALSE(decoded->removed_upstream);
}

TEST(Codec, yanked_without_reason_differs_from_not_yanked)
{
  auto r = bare_file();
  r.yanked = "";
  const auto decoded = decode_file(encode(r));
  ASSERT_TRUE(decoded);
  ASSERT_TRUE(decoded->yanked);
  EXPECT_EQ(*decoded->yanked, "");
}

TEST(Codec, each_optional_alone_round_trips)
{
  for (int which = 0; which < 4; ++which) {
    auto r = bare_file();
    const auto full = full_file();
    switch (which) {
    case 0:
      r.upload_time = full.upload_time;
      break;
    case 1:
      r.yanked = full.yanked;
      break;
    case 2:
      r.core_metadata = full.core_metadata;
      break;
    default:
      r.removed_upstream = full.removed_upstream;
      break;
    }
    const auto decoded = decode_file(encode(r));
    ASSERT_TRUE(decoded) << which;
    EXPECT_EQ(*decoded, r) << which;
  }
}

TEST(Codec, project_record_round_trips)
{
  ProjectRecord r;
  r.name = "litellm";
  r.etag = "\"abc123\"";
  r.fetched_at = at(1774348800);
  r.first_seen = at(1700000000);
  r.status = "quarantined";
  r.status_reason = "malware report";
  const auto decoded = decode_project(encode(r));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, r);

  const ProjectRecord empty{};
  const auto decoded_empty = decode_project(encode(empty));
  ASSERT_TRUE(decoded_empty);
  EXPECT_EQ(*decoded_empty, empty);
}

TEST(Codec, blob_record_round_trips)
{
  const BlobRecord r{~0ULL, at(1774348800)};
  const auto decoded = decode_blob(encode(r));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, r);
}

TEST(Codec, layout_is_version_byte_then_little_endian_fields)
{
  const std::string value = encode(BlobRecord{0x0102030405060708ULL, at(1)});
  ASSERT_EQ(value.size(), 1U + 8 + 8);
  EXPECT_EQ(value[0], '\x03');
  EXPECT_EQ(value.substr(1, 8), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  EXPECT_EQ(value.substr(9, 8), std::string("\x01\0\0\0\0\0\0\0", 8));
}

TEST(Codec, every_truncation_is_rejected)
{
  const std::string file = encode(full_file());
  for (size_t n = 0; n < file.size(); ++n) {
    EXPECT_FALSE(decode_file(file.substr(0, n))) << "file record cut to " << n << " bytes";
  }
  const std::string bare = encode(bare_file());
  for (size_t n = 0; n < bare.size(); ++n) {
    EXPECT_FALSE(decode_file(bare.substr(0, n))) << "bare file record cut to " << n << " bytes";
  }
  ProjectRecord p;
  p.name = "x";
  const std::string project = encode(p);
  for (size_t n = 0; n < project.size(); ++n) {
    EXPECT_FALSE(decode_project(project.substr(0, n))) << n;
  }
  const std::string blob = encode(BlobRecord{1, at(2)});
  for (size_t n = 0; n < blob.size(); ++n) {
    EXPECT_FALSE(decode_blob(blob.substr(0, n))) << n;
  }
}

TEST(Codec, trailing_bytes_are_rejected)
{
  EXPECT_FALSE(decode_file(encode(full_file()) + '\0'));
  EXPECT_FALSE(decode_blob(encode(BlobRecord{}) + 'x'));
}

TEST(Codec, unknown_version_is_rejected)
{
  for (const char version : {'\0', '\x04', '\xff'}) {
    std::string value = encode(full_file());
    value[0] = version;
    EXPECT_FALSE(decode_file(value));
    std::string blob = encode(BlobRecord{});
    blob[0] = version;
    EXPECT_FALSE(decode_blob(blob));
  }
}

// A file record (or listing) without version 3's fields as `version` wrote it: version 3
// appended replaces and replaced_upstream (presence bytes, 0 when absent) and backdated (0);
// version 2 the provenance URL's presence byte before them.
std::string
as_version(std::string value, char version)
{
  for (int i = version == '\x01' ? 4 : 3; i > 0; --i) {
    EXPECT_EQ(value.back(), '\0');
    value.pop_back();
  }
  value[0] = version;
  return value;
}

FileRecord
without_version_3_fields(FileRecord r)
{
  r.replaces.reset();
  r.replaced_upstream.reset();
  r.backdated = false;
  return r;
}

TEST(Codec, version_1_and_2_file_records_are_still_read)
{
  auto r = without_version_3_fields(full_file());
  r.provenance_url.reset();
  for (const char version : {'\x01', '\x02'}) {
    const std::string value = as_version(encode(r), version);
    const auto decoded = decode_file(value);
    ASSERT_TRUE(decoded) << int(version);
    EXPECT_EQ(*decoded, r);
    // An old value with the next version's extra byte is not that version.
    EXPECT_FALSE(decode_file(value + '\0'));
    // Listings (and snapshot listings) hold file records too.
    Listing listing{ProjectRecord{}, {r}};
    listing.project.name = "litellm";
    const auto old = decode_listing(as_version(encode(listing), version));
    ASSERT_TRUE(old);
    EXPECT_EQ(old->files, listing.files);
  }
}

TEST(Codec, version_2_decisions_and_checks_are_read_without_the_bytes_they_bind)
{
  Decision decision{"litellm", "1.82.7", "", DecisionAction::approve, "alice", "reviewed", at(5),
                    {Sha256::of("a"), Sha256::of("b")}};
  EXPECT_EQ(decode_decision(encode(decision)), decision);
  std::string old = encode(Decision{decision.project, decision.version, "", decision.action, decision.actor,
                                    decision.reason, decision.time, {}});
  old.resize(old.size() - 4); // the empty list's count
  old[0] = '\x02';
  const auto read = decode_decision(old);
  ASSERT_TRUE(read);
  EXPECT_TRUE(read->sha256s.empty());
  EXPECT_EQ(read->reason, "reviewed");
  // A count beyond the value is corruption, not an allocation.
  std::string lying = encode(decision);
  lying.replace(lying.size() - 4 - 64, 4, "\xff\xff\xff\x7f");
  EXPECT_FALSE(decode_decision(lying));
}

TEST(Codec, huge_string_length_is_rejected_without_allocating)
{
  // A length prefix of 0xffffffff must fail the bounds check, not read past the value.
  std::string value = encode(bare_file());
  value.replace(1, 4, "\xff\xff\xff\xff");
  EXPECT_FALSE(decode_file(value));
}

TEST(Codec, presence_byte_other_than_zero_or_one_is_rejected)
{
  const auto r = bare_file();
  std::string value = encode(r);
  // version, project, filename, version string, sha256, size: then upload_time's presence byte.
  const size_t presence =
    1 + (4 + r.project.size()) + (4 + r.filename.size()) + (4 + r.version.size()) + 32 + 8;
  ASSERT_EQ(value[presence], '\0');
  value[presence] = '\x02';
  EXPECT_FALSE(decode_file(value));
}

} // namespace
} // namespace airlock::storage::codec
