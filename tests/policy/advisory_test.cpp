// OSV advisories: the real records of ../shared/fixtures/osv read in place, hand-written
// records for each rule and each refusal, the CVSS v3 base score, range evaluation, the
// per-project index, and zips of records written by the tests' zip writer (zip_builder.hpp).

#include <airlock/policy/advisory.hpp>

#include <airlock/util/sha256.hpp>
#include <airlock/util/time.hpp>

#include <gtest/gtest.h>

#include "testutil.hpp"
#include "zip_builder.hpp"

#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::policy {
namespace {

// --- Helpers ------------------------------------------------------------------------------

Time
at(std::string_view text)
{
  const auto time = parse_rfc3339(text);
  EXPECT_TRUE(time.has_value()) << "not a time: " << text;
  return time.value_or(Time{});
}

Advisory
parse_ok(std::string_view text)
{
  auto record = parse_osv_record(text);
  EXPECT_TRUE(record.has_value()) << record.error() << "\nin: " << text;
  return record ? std::move(*record) : Advisory{};
}

std::string
parse_error(std::string_view text)
{
  const auto record = parse_osv_record(text);
  return record ? "parsed" : record.error();
}

// A record with the required fields and `fields` (JSON members, comma-separated) after them.
std::string
record_with(std::string_view fields, std::string_view id = "OSV-2026-1")
{
  std::string text = R"({"id": ")" + std::string(id) + R"(", "modified": "2026-01-02T03:04:05Z")";
  if (!fields.empty()) {
    text += ", ";
    text += fields;
  }
  return text + "}";
}

// One PyPI `affected` entry (JSON) with the given ranges and versions (JSON arrays).
std::string
pypi(std::string_view name, std::string_view ranges = "[]", std::string_view versions = "[]")
{
  return R"({"package": {"ecosystem": "PyPI", "name": ")" + std::string(name) + R"("}, "ranges": )"
         + std::string(ranges) + R"(, "versions": )" + std::string(versions) + "}";
}

std::string
ecosystem_range(std::string_view events)
{
  return R"({"type": "ECOSYSTEM", "events": )" + std::string(events) + "}";
}

// The one PyPI project of a record with one ECOSYSTEM range of these events.
AffectedProject
project_with_events(std::string_view events)
{
  const Advisory advisory =
    parse_ok(record_with(R"("affected": [)" + pypi("demo", "[" + ecosystem_range(events) + "]") + "]"));
  EXPECT_EQ(advisory.affected.size(), 1u);
  return advisory.affected.empty() ? AffectedProject{} : advisory.affected.front();
}

bool
has_note(const Advisory& advisory, std::string_view text)
{
  for (const std::string& note : advisory.notes) {
    if (note.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// --- Zips of records (zip_builder.hpp) ---------------------------------------------------

using test::build_zip;
using test::Method;
using test::put_zip64_end;
using test::TestEntry;

// Zip64 end records for a directory of `entries` records at offset 0 (its bytes are zeros):
// enough for the reader to learn the count and refuse it before reading any entry.
std::string
zip64_claiming(std::uint64_t entries)
{
  const std::uint64_t directory_size = entries * 46;
  std::string out(directory_size, '\0');
  put_zip64_end(out, entries, directory_size, 0);
  return out;
}

// --- The shared fixtures, read in place -------------------------------------------------

std::filesystem::path
osv_dir()
{
  return test::shared_dir() / "fixtures" / "osv";
}

// Fails the calling test, naming the path, when a fixture is not there: these tests must run.
#define READ_OSV_FIXTURE(var, relative)                                                                   \
  const std::filesystem::path var##_path = osv_dir() / (relative);                                        \
  ASSERT_TRUE(std::filesystem::is_regular_file(var##_path))                                               \
    << "OSV fixture missing: " << var##_path                                                              \
    << " (the shared fixtures live in ../shared beside the checkout; set AIRLOCK_SHARED_DIR)";           \
  const std::string var = test::read_file(var##_path)

struct MaliciousFixture
{
  const char* id;
  const char* project;
  std::vector<std::string> versions; // empty: the whole project (introduced "0")
  const char* published;
  const char* modified; // as format_rfc3339 writes it (fractions dropped)
};

const std::vector<MaliciousFixture> k_malicious = {
  {"MAL-2026-2144", "litellm", {"1.82.7", "1.82.8"}, "2026-03-24T11:15:14Z", "2026-03-26T09:53:17Z"},
  {"MAL-2026-2254", "telnyx", {"4.87.1", "4.87.2"}, "2026-03-27T04:26:10Z", "2026-03-27T04:26:10Z"},
  {"MAL-2025-6794", "num2words", {"0.5.15", "0.5.16"}, "2025-08-06T01:01:03Z", "2025-08-06T01:01:03Z"},
  {"MAL-2026-3607", "guardrails-ai", {"0.10.1"}, "2026-05-12T05:49:00Z", "2026-05-12T06:19:26Z"},
  {"MAL-2026-3083", "elementary-data", {"0.23.3"}, "2026-04-24T22:54:25Z", "2026-04-27T12:06:48Z"},
  {"MAL-2026-3201", "lightning", {"2.6.2", "2.6.3"}, "2026-04-30T16:53:41Z", "2026-06-08T19:21:16Z"},
  {"MAL-2026-3608", "mistralai", {"2.4.6"}, "2026-05-12T05:49:00Z", "2026-05-12T06:19:26Z"},
  {"MAL-2026-4174", "durabletask", {"1.4.1", "1.4.2", "1.4.3"}, "2026-05-19T16:47:48Z", "2026-05-19T22:33:24Z"},
  {"MAL-2026-3000", "xinference", {"2.6.0", "2.6.1", "2.6.2"}, "2026-04-22T22:06:22Z", "2026-06-08T19:21:16Z"},
  {"MAL-2023-1578", "aiohtt", {}, "2023-02-10T20:48:07Z", "2023-08-21T20:12:58Z"},
  {"MAL-2023-1638", "beautiulsoup4", {}, "2023-02-10T12:45:05Z", "2023-08-21T20:12:58Z"},
  {"MAL-2026-16135", "openaii", {"1.55.3"}, "2026-09-11T20:59:18Z", "2026-09-11T22:18:16Z"},
};

struct VulnerabilityFixture
{
  const char* id;
  const char* alias;
  const char* project;
  // One ECOSYSTEM range per entry: (introduced, fixed).
  std::vector<std::pair<std::string, std::string>> ranges;
  double cvss;
  Severity severity;
  const char* summary;
  const char* published;
  const char* modified;
};

const std::vector<VulnerabilityFixture> k_vulnerabilities = {
  {"GHSA-j8r2-6x86-q33q", "CVE-2023-32681", "requests", {{"2.3.0", "2.31.0"}}, 6.1, Severity::medium,
   "Unintended leak of Proxy-Authorization header in requests", "2023-05-22T20:36:32Z", "2024-03-12T17:11:27Z"},
  {"GHSA-9wx4-h78v-vm56", "CVE-2024-35195", "requests", {{"0", "2.32.0"}}, 5.6, Severity::medium,
   "Requests `Session` object does not verify requests after making first request with verify=False",
   "2024-05-20T20:15:00Z", "2024-05-20T22:07:29Z"},
  {"GHSA-v845-jxx5-vc9f", "CVE-2023-43804", "urllib3", {{"2.0.0", "2.0.6"}, {"0", "1.26.17"}}, 5.9,
   Severity::medium, "`Cookie` HTTP header isn't stripped on cross-origin redirects", "2023-10-02T23:27:05Z",
   "2023-10-02T23:27:05Z"},
  {"GHSA-h5c8-rqwp-cp95", "CVE-2024-22195", "jinja2", {{"0", "3.1.3"}}, 5.4, Severity::medium,
   "Jinja vulnerable to HTML attribute injection when passing user input as keys to xmlattr filter",
   "2024-01-11T15:20:48Z", "2024-01-11T15:20:48Z"},
  {"GHSA-cx63-2mw6-8hw5", "CVE-2024-6345", "setuptools", {{"0", "70.0.0"}}, 8.8, Severity::high,
   "setuptools vulnerable to Command Injection via package URL", "2024-07-15T03:30:57Z", "2024-07-15T16:25:38Z"},
  {"GHSA-3f63-hfp8-52jq", "CVE-2023-50447", "pillow", {{"0", "10.2.0"}}, 8.1, Severity::high,
   "Arbitrary Code Execution in Pillow", "2024-01-19T21:30:35Z", "2024-08-02T10:37:51Z"},
  {"GHSA-jfhm-5ghh-2f97", "CVE-2023-49083", "cryptography", {{"3.1", "41.0.6"}}, 5.9, Severity::medium,
   "cryptography vulnerable to NULL-dereference when loading PKCS7 certificates", "2023-11-28T20:46:46Z",
   "2024-02-20T18:14:36Z"},
  {"GHSA-mq26-g339-26xf", "CVE-2023-5752", "pip", {{"0", "23.3"}}, 5.5, Severity::medium,
   "Command Injection in pip when used with Mercurial", "2023-10-25T18:32:26Z", "2024-04-22T14:50:20Z"},
};

TEST(OsvFixtures, MaliciousRecords)
{
  for (const MaliciousFixture& expected : k_malicious) {
    SCOPED_TRACE(expected.id);
    READ_OSV_FIXTURE(text, std::string("malicious/") + expected.id + ".json");
    const Advisory advisory = parse_ok(text);
    EXPECT_EQ(advisory.id, expected.id);
    EXPECT_TRUE(advisory.malicious);
    EXPECT_EQ(format_rfc3339(advisory.modified), expected.modified);
    ASSERT_TRUE(advisory.published.has_value());
    EXPECT_EQ(format_rfc3339(*advisory.published), expected.published);
    EXPECT_FALSE(advisory.withdrawn.has_value());
    EXPECT_EQ(advisory.severity, Severity::none);
    EXPECT_FALSE(advisory.cvss_score.has_value());
    EXPECT_EQ(advisory.summary, std::string("Malicious code in ") + expected.project
                                  + (expected.id == std::string_view("MAL-2023-1638") ? " (pypi)" : " (PyPI)"));
    EXPECT_TRUE(advisory.notes.empty()) << advisory.notes.front();
    ASSERT_EQ(advisory.affected.size(), 1u);
    const AffectedProject& affected = advisory.affected.front();
    EXPECT_EQ(affected.project, expected.project);
    EXPECT_EQ(affected.versions, expected.versions);
    EXPECT_TRUE(affected.fixed.empty());
    if (expected.versions.empty()) {
      EXPECT_TRUE(affected.every_version);
      ASSERT_EQ(affected.ranges.size(), 1u);
      EXPECT_EQ(affected.ranges[0].events,
                (std::vector<std::pair<VersionRange::Event, std::string>>{{VersionRange::Event::introduced, "0"}}));
      EXPECT_TRUE(affected.matches("1.0"));
      EXPECT_TRUE(affected.matches("0.0.0.dev0"));
      EXPECT_TRUE(affected.matches("not a version"));
    } else {
      EXPECT_FALSE(affected.every_version);
      EXPECT_TRUE(affected.ranges.empty());
      for (const std::string& version : expected.versions) {
        EXPECT_TRUE(affected.matches(version)) << version;
        EXPECT_TRUE(affected.matches(version + ".0")) << version; // PEP 440 equality
      }
      EXPECT_FALSE(affected.matches("0.0.1"));
      EXPECT_FALSE(affected.matches(expected.versions.front() + ".post1"));
    }
  }
}

TEST(OsvFixtures, MaliciousAliases)
{
  READ_OSV_FIXTURE(text, "malicious/MAL-2025-6794.json");
  EXPECT_EQ(parse_ok(text).aliases, (std::vector<std::string>{"PYSEC-2025-72", "GHSA-jxr6-qrxx-2ph2"}));
  READ_OSV_FIXTURE(litellm, "malicious/MAL-2026-2144.json");
  EXPECT_EQ(parse_ok(litellm).aliases, std::vector<std::string>{"PYSEC-2026-2"});
}

TEST(OsvFixtures, VulnerabilityRecords)
{
  for (const VulnerabilityFixture& expected : k_vulnerabilities) {
    SCOPED_TRACE(expected.id);
    READ_OSV_FIXTURE(text, std::string("vulnerabilities/") + expected.id + ".json");
    const Advisory advisory = parse_ok(text);
    EXPECT_EQ(advisory.id, expected.id);
    EXPECT_EQ(advisory.aliases, std::vector<std::string>{expected.alias});
    EXPECT_FALSE(advisory.malicious);
    EXPECT_EQ(advisory.summary, expected.summary);
    ASSERT_TRUE(advisory.cvss_score.has_value());
    EXPECT_DOUBLE_EQ(*advisory.cvss_score, expected.cvss);
    EXPECT_EQ(advisory.severity, expected.severity);
    EXPECT_EQ(format_rfc3339(advisory.modified), expected.modified);
    ASSERT_TRUE(advisory.published.has_value());
    EXPECT_EQ(format_rfc3339(*advisory.published), expected.published);
    EXPECT_TRUE(advisory.notes.empty()) << advisory.notes.front();
    ASSERT_EQ(advisory.affected.size(), 1u);
    const AffectedProject& affected = advisory.affected.front();
    EXPECT_EQ(affected.project, expected.project);
    EXPECT_TRUE(affected.versions.empty());
    EXPECT_FALSE(affected.every_version);
    ASSERT_EQ(affected.ranges.size(), expected.ranges.size());
    std::vector<std::string> fixed;
    for (std::size_t i = 0; i < expected.ranges.size(); ++i) {
      const auto& [introduced, fix] = expected.ranges[i];
      EXPECT_EQ(affected.ranges[i].events, (std::vector<std::pair<VersionRange::Event, std::string>>{
                                             {VersionRange::Event::introduced, introduced},
                                             {VersionRange::Event::fixed, fix}}));
      fixed.push_back(fix);
      EXPECT_FALSE(affected.matches(fix)) << fix;
      if (introduced != "0") {
        EXPECT_TRUE(affected.matches(introduced)) << introduced;
      }
    }
    EXPECT_EQ(affected.fixed, fixed);
  }
}

TEST(OsvFixtures, VulnerabilityVersions)
{
  READ_OSV_FIXTURE(requests_text, "vulnerabilities/GHSA-j8r2-6x86-q33q.json");
  const Advisory requests = parse_ok(requests_text);
  const AffectedProject& leak = requests.affected.at(0);
  EXPECT_FALSE(leak.matches("2.2.1"));
  EXPECT_TRUE(leak.matches("2.3.0"));
  EXPECT_TRUE(leak.matches("2.30.0"));
  EXPECT_TRUE(leak.matches("2.31.0rc1")); // a pre-release of the fix is before it
  EXPECT_FALSE(leak.matches("2.31.0"));
  EXPECT_FALSE(leak.matches("2.32.3"));

  // Two `affected` entries for urllib3, one per release line, merged into one project.
  READ_OSV_FIXTURE(urllib3_text, "vulnerabilities/GHSA-v845-jxx5-vc9f.json");
  const Advisory urllib3 = parse_ok(urllib3_text);
  const AffectedProject& cookie = urllib3.affected.at(0);
  EXPECT_TRUE(cookie.matches("1.25.0"));
  EXPECT_TRUE(cookie.matches("1.26.16"));
  EXPECT_FALSE(cookie.matches("1.26.17"));
  EXPECT_FALSE(cookie.matches("1.26.18"));
  EXPECT_TRUE(cookie.matches("2.0.0"));
  EXPECT_TRUE(cookie.matches("2.0.5"));
  EXPECT_FALSE(cookie.matches("2.0.6"));
  EXPECT_FALSE(cookie.matches("2.2.0"));

  READ_OSV_FIXTURE(crypto_text, "vulnerabilities/GHSA-jfhm-5ghh-2f97.json");
  const Advisory cryptography = parse_ok(crypto_text);
  const AffectedProject& pkcs7 = cryptography.affected.at(0);
  EXPECT_FALSE(pkcs7.matches("3.0"));
  EXPECT_TRUE(pkcs7.matches("3.1"));
  EXPECT_TRUE(pkcs7.matches("3.1.0"));
  EXPECT_TRUE(pkcs7.matches("41.0.5"));
  EXPECT_FALSE(pkcs7.matches("41.0.6"));
  EXPECT_FALSE(pkcs7.matches("not a version"));
}

// Every fixture through a zip, then the index, as the refresh will read osv.dev's all.zip.
TEST(OsvFixtures, ZipAndIndex)
{
  std::vector<TestEntry> files;
  for (const char* folder : {"malicious", "vulnerabilities"}) {
    ASSERT_TRUE(std::filesystem::is_directory(osv_dir() / folder))
      << "OSV fixtures missing: " << osv_dir() / folder
      << " (the shared fixtures live in ../shared beside the checkout; set AIRLOCK_SHARED_DIR)";
    for (const auto& entry : std::filesystem::directory_iterator(osv_dir() / folder)) {
      files.push_back({entry.path().filename().string(), test::read_file(entry.path()), Method::deflate});
    }
  }
  ASSERT_EQ(files.size(), k_malicious.size() + k_vulnerabilities.size())
    << "OSV fixtures missing or changed under " << osv_dir();
  READ_OSV_FIXTURE(readme, "README.md");
  files.push_back({"README.md", readme, Method::deflate});

  const auto zip = read_zip_records(build_zip(files).bytes);
  ASSERT_TRUE(zip) << zip.error();
  EXPECT_TRUE(zip->skipped.empty());
  ASSERT_EQ(zip->records.size(), files.size() - 1);
  std::vector<Advisory> records;
  for (std::size_t i = 0; i < zip->records.size(); ++i) {
    EXPECT_EQ(zip->records[i].first, files[i].name);
    EXPECT_EQ(zip->records[i].second, files[i].content);
    records.push_back(parse_ok(zip->records[i].second));
  }

  const Advisories advisories(std::move(records));
  ASSERT_EQ(advisories.records().size(), 20u);
  for (std::size_t i = 1; i < advisories.records().size(); ++i) {
    EXPECT_LT(advisories.records()[i - 1].id, advisories.records()[i].id);
  }
  const auto requests = advisories.for_project("requests");
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].advisory->id, "GHSA-9wx4-h78v-vm56");
  EXPECT_EQ(requests[1].advisory->id, "GHSA-j8r2-6x86-q33q");
  EXPECT_EQ(requests[0].affected->project, "requests");
  EXPECT_EQ(requests[0].only, nullptr);
  EXPECT_EQ(advisories.for_project("pillow").size(), 1u);
  EXPECT_TRUE(advisories.for_project("Pillow").empty()); // callers pass normalized names
  EXPECT_EQ(advisories.for_project("litellm").size(), 1u);
  EXPECT_TRUE(advisories.for_project("numpy").empty());

  ASSERT_NE(advisories.find("CVE-2023-32681"), nullptr);
  EXPECT_EQ(advisories.find("CVE-2023-32681")->id, "GHSA-j8r2-6x86-q33q");
  ASSERT_NE(advisories.find("PYSEC-2026-2"), nullptr);
  EXPECT_EQ(advisories.find("PYSEC-2026-2")->id, "MAL-2026-2144");
  EXPECT_EQ(advisories.find("MAL-2026-16135")->affected.at(0).project, "openaii");
  EXPECT_EQ(advisories.find("MAL-1999-1"), nullptr);

  EXPECT_EQ(advisories.newest_modified(at("2030-01-01T00:00:00Z")), at("2026-09-11T22:18:16Z"));
  EXPECT_EQ(advisories.newest_modified(at("2026-09-01T00:00:00Z")), at("2026-06-08T19:21:16Z"));
  EXPECT_EQ(advisories.newest_modified(at("2023-01-01T00:00:00Z")), std::nullopt);
}

// --- CVSS v3 ----------------------------------------------------------------------------

TEST(Cvss3, KnownScores)
{
  const std::vector<std::pair<const char*, double>> known = {
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},
    {"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1}, // scope changed
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1}, // scope changed
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0}, // scope changed, capped
    {"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9}, // PR:L weighs 0.68 when scope changes
    {"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:N/A:N", 5.0},
    {"CVSS:3.1/AV:A/AC:H/PR:L/UI:R/S:C/C:L/I:H/A:N", 6.2},
    {"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8},
    {"CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N", 5.6},
    {"CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:H/I:H/A:N", 5.9},
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N", 5.4},
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8},
    {"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1},
    {"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", 5.9},
    {"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:H/A:N", 5.5},
    {"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6},
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0}, // no impact, no score
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:N", 0.0},
    {"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},
    {"CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1},
    // Metrics in another order, and temporal and environmental ones, which the base ignores.
    {"CVSS:3.1/S:U/A:H/I:H/C:H/UI:N/PR:N/AC:L/AV:N", 9.8},
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C", 9.8},
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:X/CR:H/MAV:L/MS:C", 9.8},
  };
  for (const auto& [vector, score] : known) {
    const auto computed = cvss3_base_score(vector);
    ASSERT_TRUE(computed.has_value()) << vector;
    EXPECT_DOUBLE_EQ(*computed, score) << vector;
  }
}

// Every one of the 2,592 base vectors: scores in [0, 10] in tenths, the same under v3.0's
// rounding as under v3.1's (the two differ only on environmental scores), and summing to what
// an independent model of the specification computes (Python, the same rounding).
TEST(Cvss3, EveryBaseVector)
{
  std::int64_t tenths = 0;
  std::size_t count = 0;
  for (const char av : std::string_view("NALP")) {
    for (const char ac : std::string_view("LH")) {
      for (const char pr : std::string_view("NLH")) {
        for (const char ui : std::string_view("NR")) {
          for (const char s : std::string_view("UC")) {
            for (const char c : std::string_view("HLN")) {
              for (const char i : std::string_view("HLN")) {
                for (const char a : std::string_view("HLN")) {
                  const std::string metrics = std::string("AV:") + av + "/AC:" + ac + "/PR:" + pr + "/UI:" + ui
                                              + "/S:" + s + "/C:" + c + "/I:" + i + "/A:" + a;
                  const auto v31 = cvss3_base_score("CVSS:3.1/" + metrics);
                  const auto v30 = cvss3_base_score("CVSS:3.0/" + metrics);
                  ASSERT_TRUE(v31 && v30) << metrics;
                  EXPECT_EQ(*v30, *v31) << metrics;
                  EXPECT_GE(*v31, 0.0);
                  EXPECT_LE(*v31, 10.0);
                  const double scaled = *v31 * 10.0;
                  EXPECT_DOUBLE_EQ(scaled, std::round(scaled)) << metrics;
                  EXPECT_EQ(*v31 == 0.0, c == 'N' && i == 'N' && a == 'N') << metrics;
                  tenths += std::llround(scaled);
                  ++count;
                }
              }
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(count, 2592u);
  EXPECT_EQ(tenths, 142706);
}

TEST(Cvss3, MalformedVectors)
{
  for (const char* vector : {
         "",
         "CVSS:3.1",
         "CVSS:3.1/",
         "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",                     // no version
         "CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",            // another version
         "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
         "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
         "cvss:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
         "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",                // A missing
         "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:H",        // A twice
         "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:L/A:H",
         "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",            // unknown value
         "CVSS:3.1/AV:NN/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
         "CVSS:3.1/AV:/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
         "CVSS:3.1/AV:n/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
         "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",           // trailing slash
         "CVSS:3.1/AV:N//AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
         "CVSS:3.1/AVN/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
         "CVSS:3.1/AV:N:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
         "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E",
         "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/e:P",
         " CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
         "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H ",
       }) {
    EXPECT_EQ(cvss3_base_score(vector), std::nullopt) << vector;
  }
  EXPECT_EQ(cvss3_base_score(std::string_view("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\0", 45)), std::nullopt);
}

TEST(Severity, OfScore)
{
  EXPECT_EQ(severity_of_score(0.0), Severity::none);
  EXPECT_EQ(severity_of_score(-1.0), Severity::none);
  EXPECT_EQ(severity_of_score(std::numeric_limits<double>::quiet_NaN()), Severity::none);
  EXPECT_EQ(severity_of_score(0.1), Severity::low);
  EXPECT_EQ(severity_of_score(3.9), Severity::low);
  EXPECT_EQ(severity_of_score(4.0), Severity::medium);
  EXPECT_EQ(severity_of_score(6.9), Severity::medium);
  EXPECT_EQ(severity_of_score(7.0), Severity::high);
  EXPECT_EQ(severity_of_score(8.9), Severity::high);
  EXPECT_EQ(severity_of_score(9.0), Severity::critical);
  EXPECT_EQ(severity_of_score(10.0), Severity::critical);
}

TEST(Severity, Names)
{
  for (const Severity severity : {Severity::none, Severity::low, Severity::medium, Severity::high, Severity::critical}) {
    EXPECT_EQ(parse_severity(to_string(severity)), severity);
  }
  EXPECT_EQ(to_string(Severity::medium), "medium");
  EXPECT_EQ(parse_severity("moderate"), std::nullopt);
  EXPECT_EQ(parse_severity("High"), std::nullopt);
  EXPECT_EQ(parse_severity(""), std::nullopt);
}

// --- parse_osv_record: fields -------------------------------------------------------------

TEST(OsvParse, MinimalRecord)
{
  const Advisory advisory = parse_ok(record_with(""));
  EXPECT_EQ(advisory.id, "OSV-2026-1");
  EXPECT_EQ(advisory.modified, at("2026-01-02T03:04:05Z"));
  EXPECT_EQ(advisory.published, std::nullopt);
  EXPECT_EQ(advisory.withdrawn, std::nullopt);
  EXPECT_TRUE(advisory.aliases.empty());
  EXPECT_TRUE(advisory.summary.empty());
  EXPECT_EQ(advisory.severity, Severity::none);
  EXPECT_FALSE(advisory.malicious);
  EXPECT_TRUE(advisory.affected.empty());
  EXPECT_TRUE(advisory.notes.empty());
}

TEST(OsvParse, Times)
{
  const Advisory advisory = parse_ok(
    R"({"id": "X-1", "modified": "2026-09-11T22:18:16.608996949Z", "published": "2026-09-11T20:59:18+02:00",
        "withdrawn": "2026-09-12T00:00:00Z"})");
  EXPECT_EQ(advisory.modified, at("2026-09-11T22:18:16Z"));
  EXPECT_EQ(advisory.published, at("2026-09-11T18:59:18Z"));
  EXPECT_EQ(advisory.withdrawn, at("2026-09-12T00:00:00Z"));

  // An optional time that cannot be read is left out with a note: the record stays in force.
  const Advisory unreadable = parse_ok(record_with(R"("published": "yesterday", "withdrawn": "2026-13-01T00:00:00Z")"));
  EXPECT_EQ(unreadable.published, std::nullopt);
  EXPECT_EQ(unreadable.withdrawn, std::nullopt);
  EXPECT_TRUE(has_note(unreadable, R"(published: "yesterday" is not an RFC 3339 time; ignored)"));
  EXPECT_TRUE(has_note(unreadable, "withdrawn: "));
}

TEST(OsvParse, Aliases)
{
  const Advisory advisory =
    parse_ok(record_with(R"("aliases": ["CVE-2026-1", "OSV-2026-1", "CVE-2026-1", "bad alias", "PYSEC-2026-9"])"));
  EXPECT_EQ(advisory.aliases, (std::vector<std::string>{"CVE-2026-1", "PYSEC-2026-9"}));
  EXPECT_TRUE(has_note(advisory, R"(aliases[3]: "bad alias" is not an id; ignored)"));
  EXPECT_FALSE(advisory.malicious);
}

TEST(OsvParse, MaliciousByIdOrAlias)
{
  EXPECT_TRUE(parse_ok(record_with("", "MAL-2026-1")).malicious);
  EXPECT_TRUE(parse_ok(record_with(R"("aliases": ["CVE-2026-2", "MAL-2026-7"])", "GHSA-aaaa-bbbb-cccc")).malicious);
  EXPECT_FALSE(parse_ok(record_with(R"("aliases": ["XMAL-1", "mal-2026-1"])", "PYSEC-2026-1")).malicious);
}

TEST(OsvParse, SummaryIsOneBoundedLine)
{
  EXPECT_EQ(parse_ok(record_with(R"("summary": "  Bad\tthings\r\n happen \u0007here\u001b[31m ")")).summary,
            "Bad things happen here[31m");
  // Without a summary, the first line of the details with text on it.
  EXPECT_EQ(parse_ok(record_with(R"("details": "\n  \n## Impact\nMore text.")")).summary, "## Impact");
  EXPECT_EQ(parse_ok(record_with(R"("summary": "", "details": "From details")")).summary, "From details");
  EXPECT_EQ(parse_ok(record_with(R"("summary": "  \n ", "details": "From details")")).summary, "From details");
  // C1 controls, bidi overrides, line separators.
  EXPECT_EQ(parse_ok(record_with(R"("summary": "a\u0085b\u202ec\u2028d\u2066e")")).summary, "abc de");
  // Non-ASCII text is kept.
  EXPECT_EQ(parse_ok(record_with(R"("summary": "Mańkowski – café")")).summary, "Mańkowski – café");

  const std::string long_ascii(400, 'x');
  const std::string cut = parse_ok(record_with(R"("summary": ")" + long_ascii + R"(")")).summary;
  EXPECT_EQ(cut, std::string(297, 'x') + "...");
  // 299 ASCII bytes then 2-byte characters: the cut falls between characters, never inside one.
  std::string mixed(296, 'y');
  for (int i = 0; i < 20; ++i) {
    mixed += "\xC5\x84"; // U+0144
  }
  const std::string cut_mixed = parse_ok(record_with(R"("summary": ")" + mixed + R"(")")).summary;
  EXPECT_LE(cut_mixed.size(), 300u);
  EXPECT_EQ(cut_mixed, std::string(296, 'y') + "...");
  std::string exact(300, 'z');
  EXPECT_EQ(parse_ok(record_with(R"("summary": ")" + exact + R"(")")).summary, exact);
}

TEST(OsvParse, SeverityFromCvssV3)
{
  const Advisory advisory = parse_ok(record_with(
    R"("severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
                    {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}],
        "database_specific": {"severity": "CRITICAL"})"));
  EXPECT_EQ(advisory.cvss_score, 6.1);
  EXPECT_EQ(advisory.severity, Severity::medium); // the vector wins over the database's rating
  EXPECT_TRUE(advisory.notes.empty());

  // Several v3 vectors: the highest.
  const Advisory several = parse_ok(record_with(
    R"("severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"},
                    {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}])"));
  EXPECT_EQ(several.cvss_score, 9.8);
  EXPECT_EQ(several.severity, Severity::critical);
}

TEST(OsvParse, SeverityFromDatabase)
{
  const std::vector<std::pair<const char*, Severity>> ratings = {
    {"LOW", Severity::low}, {"MODERATE", Severity::medium}, {"MEDIUM", Severity::medium},
    {"HIGH", Severity::high}, {"CRITICAL", Severity::critical}, {"high", Severity::high}};
  for (const auto& [rating, severity] : ratings) {
    const Advisory advisory =
      parse_ok(record_with(std::string(R"("database_specific": {"severity": ")") + rating + R"("})"));
    EXPECT_EQ(advisory.severity, severity) << rating;
    EXPECT_EQ(advisory.cvss_score, std::nullopt);
  }
  const Advisory unknown = parse_ok(record_with(R"("database_specific": {"severity": "SEVERE"})"));
  EXPECT_EQ(unknown.severity, Severity::none);
  EXPECT_TRUE(has_note(unknown, R"(database_specific.severity: "SEVERE" is not a rating; ignored)"));

  // An unreadable v3 vector falls back to the database's rating, with a note.
  const Advisory fallback = parse_ok(record_with(
    R"("severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N"}], "database_specific": {"severity": "HIGH"})"));
  EXPECT_EQ(fallback.severity, Severity::high);
  EXPECT_EQ(fallback.cvss_score, std::nullopt);
  EXPECT_TRUE(has_note(fallback, R"(severity[0]: "CVSS:3.1/AV:N" is not a CVSS v3 vector; ignored)"));

  // A v4 vector alone gives no severity Airlock reads.
  const Advisory v4 = parse_ok(record_with(
    R"("severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}])"));
  EXPECT_EQ(v4.severity, Severity::none);
  EXPECT_TRUE(has_note(v4, "severity[0]: CVSS_V4 severity not read"));
  // database_specific is free-form: another shape is no rating, not an error.
  EXPECT_EQ(parse_ok(record_with(R"("database_specific": {"severity": 3})")).severity, Severity::none);
  EXPECT_EQ(parse_ok(record_with(R"("database_specific": [1, 2])")).severity, Severity::none);
}

// --- parse_osv_record: affected -----------------------------------------------------------

TEST(OsvParse, OnlyPyPIProper)
{
  const Advisory advisory = parse_ok(record_with(
    R"("affected": [
      {"package": {"ecosystem": "npm", "name": "left-pad"}, "versions": ["1.0.0"]},
      {"package": {"ecosystem": "pypi", "name": "lower"}, "versions": ["1.0"]},
      {"package": {"ecosystem": "PyPI:extra", "name": "suffixed"}, "versions": ["1.0"]},
      {"package": {"ecosystem": "Debian:12", "name": "python3-requests"}, "versions": ["2.28.1"]},
      {"package": {"name": "no-ecosystem"}, "versions": ["1.0"]},
      {"versions": ["1.0"]},
      {"package": {"ecosystem": "npm", "name": "@scope/not a pypi name!"}},
      )" + pypi("Real_Project", "[]", R"(["1.0"])") + "]"));
  ASSERT_EQ(advisory.affected.size(), 1u);
  EXPECT_EQ(advisory.affected[0].project, "real-project");
  EXPECT_TRUE(advisory.notes.empty());
}

TEST(OsvParse, ProjectNamesNormalized)
{
  const Advisory advisory =
    parse_ok(record_with(R"("affected": [)" + pypi("Pillow", "[]", R"(["1.0"])") + ","
                         + pypi("Zope.Interface", "[]", R"(["2.0"])") + "]"));
  ASSERT_EQ(advisory.affected.size(), 2u);
  EXPECT_EQ(advisory.affected[0].project, "pillow");
  EXPECT_EQ(advisory.affected[1].project, "zope-interface");
}

TEST(OsvParse, EntriesForOneProjectMerge)
{
  const Advisory advisory = parse_ok(record_with(
    R"("affected": [)" + pypi("Foo_Bar", "[" + ecosystem_range(R"([{"introduced": "1.0"}, {"fixed": "1.5"}])") + "]",
                              R"(["1.0", "1.1"])")
    + "," + pypi("foo.bar", "[" + ecosystem_range(R"([{"introduced": "2.0"}, {"fixed": "2.5"}])") + "]", R"(["1.1", "2.0"])")
    + "," + pypi("other", "[]", R"(["9"])") + "]"));
  ASSERT_EQ(advisory.affected.size(), 2u);
  const AffectedProject& merged = advisory.affected[0];
  EXPECT_EQ(merged.project, "foo-bar");
  EXPECT_EQ(merged.versions, (std::vector<std::string>{"1.0", "1.1", "2.0"}));
  EXPECT_EQ(merged.ranges.size(), 2u);
  EXPECT_EQ(merged.fixed, (std::vector<std::string>{"1.5", "2.5"}));
  EXPECT_TRUE(merged.matches("1.2"));
  EXPECT_FALSE(merged.matches("1.7"));
  EXPECT_TRUE(merged.matches("2.4"));
  EXPECT_EQ(advisory.affected[1].project, "other");
}

TEST(OsvParse, OtherRangeTypesIgnoredWithNotes)
{
  const Advisory advisory = parse_ok(record_with(
    R"("affected": [)"
    + pypi("demo", R"([{"type": "GIT", "repo": "https://github.com/x/y", "events": [{"introduced": "abc123"}]},
                       {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "not-pep440-but-ignored"}]},
                       {"type": "FUTURE", "events": []},
                       )" + ecosystem_range(R"([{"introduced": "0"}, {"fixed": "1.0"}])") + "]")
    + "]"));
  ASSERT_EQ(advisory.affected.size(), 1u);
  EXPECT_EQ(advisory.affected[0].ranges.size(), 1u);
  EXPECT_EQ(advisory.notes, (std::vector<std::string>{"affected[0].ranges[0]: GIT range ignored",
                                                      "affected[0].ranges[1]: SEMVER range ignored",
                                                      "affected[0].ranges[2]: FUTURE range ignored"}));
}

TEST(OsvParse, EveryVersion)
{
  EXPECT_TRUE(project_with_events(R"([{"introduced": "0"}])").every_version);
  EXPECT_TRUE(project_with_events(R"([{"introduced": "0"}, {"limit": "*"}])").every_version);
  EXPECT_TRUE(project_with_events(R"([{"introduced": "0"}, {"introduced": "2.0"}])").every_version);
  EXPECT_FALSE(project_with_events(R"([{"introduced": "0"}, {"fixed": "2.0"}])").every_version);
  EXPECT_FALSE(project_with_events(R"([{"introduced": "0"}, {"last_affected": "2.0"}])").every_version);
  EXPECT_FALSE(project_with_events(R"([{"introduced": "0"}, {"limit": "2.0"}])").every_version);
  EXPECT_FALSE(project_with_events(R"([{"introduced": "0.0"}])").every_version);
  EXPECT_FALSE(project_with_events(R"([{"introduced": "1.0"}])").every_version);
  EXPECT_FALSE(project_with_events(R"([])").every_version);

  // A `versions` list beside it changes nothing: the range still admits every version.
  const Advisory listed = parse_ok(record_with(
    R"("affected": [)" + pypi("demo", "[" + ecosystem_range(R"([{"introduced": "0"}])") + "]", R"(["1.0"])") + "]"));
  ASSERT_EQ(listed.affected.size(), 1u);
  EXPECT_TRUE(listed.affected[0].every_version);
  EXPECT_TRUE(listed.affected[0].matches("7.3"));
  EXPECT_TRUE(listed.affected[0].matches(""));
}

// --- AffectedProject::matches -------------------------------------------------------------

TEST(OsvMatch, VersionsList)
{
  AffectedProject project;
  project.versions = {"1.0", "2.0rc1", "legacy-1_x", "v3"};
  EXPECT_TRUE(project.matches("1.0"));
  EXPECT_TRUE(project.matches("1.0.0"));
  EXPECT_TRUE(project.matches("1.0.0.0"));
  EXPECT_TRUE(project.matches("v1.0"));
  EXPECT_TRUE(project.matches("2.0c1"));
  EXPECT_TRUE(project.matches("2.0.0-rc.1"));
  EXPECT_TRUE(project.matches("3.0"));
  EXPECT_FALSE(project.matches("1.0.1"));
  EXPECT_FALSE(project.matches("1.0+local"));
  EXPECT_FALSE(project.matches("1.0.post1"));
  EXPECT_FALSE(project.matches("2.0"));
  // Versions that are not PEP 440 match only as written.
  EXPECT_TRUE(project.matches("legacy-1_x"));
  EXPECT_FALSE(project.matches("LEGACY-1_x"));
  EXPECT_FALSE(project.matches(""));
}

TEST(OsvMatch, IntroducedFixed)
{
  const AffectedProject project = project_with_events(R"([{"introduced": "1.2"}, {"fixed": "1.5"}])");
  EXPECT_FALSE(project.matches("1.1.9"));
  EXPECT_FALSE(project.matches("1.2rc1"));
  EXPECT_TRUE(project.matches("1.2"));
  EXPECT_TRUE(project.matches("1.2.0"));
  EXPECT_TRUE(project.matches("1.2.post1"));
  EXPECT_TRUE(project.matches("1.4.99"));
  EXPECT_TRUE(project.matches("1.5.dev0"));
  EXPECT_TRUE(project.matches("1.5rc1"));
  EXPECT_FALSE(project.matches("1.5"));
  EXPECT_FALSE(project.matches("1.5.0"));
  EXPECT_FALSE(project.matches("1.5.post1"));
  EXPECT_FALSE(project.matches("2.0"));
  EXPECT_FALSE(project.matches("1!1.3")); // a later epoch
  EXPECT_FALSE(project.matches("not a version"));
}

TEST(OsvMatch, IntroducedZeroIsBeforeEverything)
{
  const AffectedProject project = project_with_events(R"([{"introduced": "0"}, {"fixed": "1.0"}])");
  EXPECT_TRUE(project.matches("0"));
  EXPECT_TRUE(project.matches("0.dev0"));
  EXPECT_TRUE(project.matches("0a1"));
  EXPECT_TRUE(project.matches("0.9"));
  EXPECT_FALSE(project.matches("1.0"));
  EXPECT_FALSE(project.matches("1!0.1"));
  EXPECT_FALSE(project.matches("unparseable"));
  // Written last, "0" still sorts first.
  const AffectedProject reversed = project_with_events(R"([{"fixed": "1.0"}, {"introduced": "0"}])");
  EXPECT_TRUE(reversed.matches("0.5"));
  EXPECT_FALSE(reversed.matches("1.0"));
}

TEST(OsvMatch, LastAffectedIsInclusive)
{
  const AffectedProject project = project_with_events(R"([{"introduced": "1.0"}, {"last_affected": "1.4"}])");
  EXPECT_FALSE(project.matches("0.9"));
  EXPECT_TRUE(project.matches("1.0"));
  EXPECT_TRUE(project.matches("1.4"));
  EXPECT_TRUE(project.matches("1.4.0"));
  EXPECT_FALSE(project.matches("1.4.post1"));
  EXPECT_FALSE(project.matches("1.4.1"));
  EXPECT_EQ(project.fixed, std::vector<std::string>{});
}

TEST(OsvMatch, UnsortedEventsAndSeveralIntervals)
{
  const AffectedProject project = project_with_events(
    R"([{"fixed": "2.5"}, {"introduced": "2.0"}, {"fixed": "1.5"}, {"introduced": "1.0"}, {"introduced": "3.0"}])");
  EXPECT_FALSE(project.matches("0.9"));
  EXPECT_TRUE(project.matches("1.0"));
  EXPECT_TRUE(project.matches("1.4"));
  EXPECT_FALSE(project.matches("1.5"));
  EXPECT_FALSE(project.matches("1.9"));
  EXPECT_TRUE(project.matches("2.0"));
  EXPECT_TRUE(project.matches("2.4.9"));
  EXPECT_FALSE(project.matches("2.5"));
  EXPECT_TRUE(project.matches("3.0"));
  EXPECT_TRUE(project.matches("99"));
  EXPECT_EQ(project.fixed, (std::vector<std::string>{"2.5", "1.5"}));
}

TEST(OsvMatch, SeveralRanges)
{
  const Advisory advisory = parse_ok(record_with(
    R"("affected": [)"
    + pypi("demo", "[" + ecosystem_range(R"([{"introduced": "1.0"}, {"fixed": "1.1"}])") + ","
                     + ecosystem_range(R"([{"introduced": "3.0"}, {"last_affected": "3.2"}])") + "]",
           R"(["2.7"])")
    + "]"));
  const AffectedProject& project = advisory.affected.at(0);
  EXPECT_TRUE(project.matches("1.0.5"));
  EXPECT_FALSE(project.matches("1.1"));
  EXPECT_TRUE(project.matches("2.7"));
  EXPECT_FALSE(project.matches("2.8"));
  EXPECT_TRUE(project.matches("3.2"));
  EXPECT_FALSE(project.matches("3.3"));
}

TEST(OsvMatch, Limits)
{
  const AffectedProject limited = project_with_events(R"([{"introduced": "0"}, {"limit": "2.0"}])");
  EXPECT_TRUE(limited.matches("1.9"));
  EXPECT_FALSE(limited.matches("2.0"));
  EXPECT_FALSE(limited.matches("3.0"));
  const AffectedProject unlimited = project_with_events(R"([{"introduced": "1.0"}, {"limit": "*"}])");
  EXPECT_FALSE(unlimited.matches("0.9"));
  EXPECT_TRUE(unlimited.matches("100"));
}

TEST(OsvMatch, HandBuiltRangeThatCannotBeOrderedAdmitsNothing)
{
  AffectedProject project;
  project.ranges.push_back({{{VersionRange::Event::introduced, "0"}, {VersionRange::Event::fixed, "x y"}}});
  EXPECT_FALSE(project.matches("1.0"));
}

// --- parse_osv_record: refusals -----------------------------------------------------------

TEST(OsvParse, RefusalsAreOneLineNamingTheField)
{
  const std::string deep = std::string(40, '[') + std::string(40, ']');
  const std::vector<std::pair<std::string, std::string>> cases = {
    {"", "not JSON: "},
    {"{", "not JSON: "},
    {R"({"id": "X-1", "modified": "2026-01-01T00:00:00Z",})", "not JSON: "},
    {"\xff", "not JSON: "},
    {R"({"id": "X-\xff", "modified": "2026-01-01T00:00:00Z"})", "not JSON: "},
    {"[]", "not a JSON object"},
    {"\"text\"", "not a JSON object"},
    {record_with(R"("database_specific": )" + deep), "not JSON: nesting over 32 levels"},
    {R"({"modified": "2026-01-01T00:00:00Z"})", "id: missing"},
    {R"({"id": 7, "modified": "2026-01-01T00:00:00Z"})", "id: not a string"},
    {R"({"id": "", "modified": "2026-01-01T00:00:00Z"})", R"(id: "" is not 1-128 printable ASCII characters)"},
    {R"({"id": "GHSA 1", "modified": "2026-01-01T00:00:00Z"})", R"(id: "GHSA 1" is not 1-128 printable ASCII)"},
    {R"({"id": "X-\n1", "modified": "2026-01-01T00:00:00Z"})", R"(id: "X-\x0a1" is not)"},
    {R"({"id": "é", "modified": "2026-01-01T00:00:00Z"})", R"(id: "\xc3\xa9" is not)"},
    {R"({"id": ")" + std::string(129, 'A') + R"(", "modified": "2026-01-01T00:00:00Z"})", "id: \"AAAA"},
    {R"({"id": "X-1"})", "modified: missing"},
    {R"({"id": "X-1", "modified": 1700000000})", "modified: not a string"},
    {R"({"id": "X-1", "modified": "2026-01-01"})", R"(modified: "2026-01-01" is not an RFC 3339 time)"},
    {R"({"id": "X-1", "modified": "2026-02-30T00:00:00Z"})", "modified: "},
    {record_with(R"("published": 5)"), "published: not a string"},
    {record_with(R"("withdrawn": 7)"), "withdrawn: not a string"},
    {record_with(R"("aliases": "CVE-1")"), "aliases: not an array"},
    {record_with(R"("aliases": [1])"), "aliases[0]: not a string"},
    {record_with(R"("summary": ["x"])"), "summary: not a string"},
    {record_with(R"("details": {})"), "details: not a string"},
    {record_with(R"("severity": {})"), "severity: not an array"},
    {record_with(R"("severity": [7])"), "severity[0]: not an object"},
    {record_with(R"("severity": [{"type": "CVSS_V3"}])"), "severity[0]: needs a type and a score"},
    {record_with(R"("severity": [{"type": 3, "score": "x"}])"), "severity[0].type: not a string"},
    {record_with(R"("affected": {})"), "affected: not an array"},
    {record_with(R"("affected": [1])"), "affected[0]: not an object"},
    {record_with(R"("affected": [{"package": "PyPI/requests"}])"), "affected[0].package: not an object"},
    {record_with(R"("affected": [{"package": {"ecosystem": ["PyPI"]}}])"), "affected[0].package.ecosystem: not a string"},
    {record_with(R"("affected": [{"package": {"ecosystem": "PyPI"}}])"), "affected[0].package.name: missing"},
    {record_with(R"("affected": [{"package": {"ecosystem": "PyPI", "name": 3}}])"), "affected[0].package.name: not a string"},
    {record_with(R"("affected": [)" + pypi("") + "]"), R"(affected[0].package.name: "" is not a valid project name)"},
    {record_with(R"("affected": [)" + pypi("-lead") + "]"), R"(affected[0].package.name: "-lead" is not a valid)"},
    {record_with(R"("affected": [)" + pypi("a b") + "]"), R"(affected[0].package.name: "a b" is not a valid)"},
    {record_with(R"("affected": [)" + pypi("ok") + "," + pypi("../x") + "]"), "affected[1].package.name: "},
    {record_with(R"("affected": [)" + pypi("ok", "[]", "[1]") + "]"), "affected[0].versions[0]: not a string"},
    {record_with(R"("affected": [)" + pypi("ok", "{}") + "]"), "affected[0].ranges: not an array"},
    {record_with(R"("affected": [)" + pypi("ok", "[1]") + "]"), "affected[0].ranges[0]: not an object"},
    {record_with(R"("affected": [)" + pypi("ok", R"([{"events": []}])") + "]"), "affected[0].ranges[0].type: missing"},
    {record_with(R"("affected": [)" + pypi("ok", R"([{"type": "ECOSYSTEM"}])") + "]"),
     "affected[0].ranges[0].events: missing"},
    {record_with(R"("affected": [)" + pypi("ok", R"([{"type": "ECOSYSTEM", "events": {}}])") + "]"),
     "affected[0].ranges[0].events: not an array"},
    {record_with(R"("affected": [)" + pypi("ok", "[" + ecosystem_range("[1]") + "]") + "]"),
     "affected[0].ranges[0].events[0]: not an object"},
    {record_with(R"("affected": [)" + pypi("ok", "[" + ecosystem_range("[{}]") + "]") + "]"),
     "affected[0].ranges[0].events[0]: not exactly one of introduced, fixed, last_affected, limit"},
    {record_with(R"("affected": [)" + pypi("ok", "[" + ecosystem_range(R"([{"introduced": "0", "fixed": "1"}])") + "]") + "]"),
     "affected[0].ranges[0].events[0]: not exactly one of"},
    {record_with(R"("affected": [)" + pypi("ok", "[" + ecosystem_range(R"([{"removed": "1.0"}])") + "]") + "]"),
     "affected[0].ranges[0].events[0]: not exactly one of"},
    {record_with(R"("affected": [)" + pypi("ok", "[" + ecosystem_range(R"([{"introduced": 0}])") + "]") + "]"),
     "affected[0].ranges[0].events[0].introduced: not a string"},
    {record_with(R"("affected": [)" + pypi("ok", "[" + ecosystem_range(R"([{"introduced": "0"}, {"fixed": "1.0 final"}])") + "]") + "]"),
     R"(affected[0].ranges[0].events[1].fixed: "1.0 final" is not a PEP 440 version)"},
    {record_with(R"("affected": [)" + pypi("ok", "[" + ecosystem_range(R"([{"introduced": "*"}])") + "]") + "]"),
     R"(affected[0].ranges[0].events[0].introduced: "*" is not a PEP 440 version)"},
    {record_with(R"("affected": [)" + pypi("ok", "[" + ecosystem_range(R"([{"introduced": "1"}, {"last_affected": ""}])") + "]") + "]"),
     R"(affected[0].ranges[0].events[1].last_affected: "" is not a PEP 440 version)"},
    {record_with(R"("affected": [)" + pypi("ok", "[" + ecosystem_range(R"([{"introduced": "1"}, {"limit": "2.x"}])") + "]") + "]"),
     R"(affected[0].ranges[0].events[1].limit: "2.x" is not a PEP 440 version)"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string error = parse_error(text);
    EXPECT_EQ(error.rfind(expected, 0), 0u) << "error: " << error << "\nexpected to start: " << expected
                                            << "\nfor: " << text;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    for (const char c : error) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "unprintable byte in: " << error;
    }
  }
  // A long unreadable value is shown cut.
  const std::string long_version(500, '~');
  const std::string error = parse_error(
    record_with(R"("affected": [)" + pypi("ok", "[" + ecosystem_range(R"([{"fixed": ")" + long_version + R"("}])") + "]") + "]"));
  EXPECT_LT(error.size(), 200u) << error;
}

TEST(OsvParse, NestingWithinTheLimit)
{
  const std::string nested = std::string(25, '[') + std::string(25, ']');
  EXPECT_EQ(parse_error(record_with(R"("database_specific": {"x": )" + nested + "}")), "parsed");
}

TEST(OsvParse, NullIsAbsent)
{
  const Advisory advisory = parse_ok(record_with(
    R"("withdrawn": null, "published": null, "aliases": null, "summary": null, "severity": null,
       "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"}, "versions": null, "ranges": null}])"));
  EXPECT_EQ(advisory.withdrawn, std::nullopt);
  ASSERT_EQ(advisory.affected.size(), 1u);
  EXPECT_FALSE(advisory.affected[0].matches("1.0"));
}

TEST(OsvParse, UnknownFieldsIgnored)
{
  const Advisory advisory = parse_ok(record_with(
    R"("schema_version": "9.9.9", "related": ["X-2"], "references": [{"type": "WEB", "url": "u"}],
       "credits": 5, "upstream": null, "affected": [{"package": {"ecosystem": "PyPI", "name": "demo",
       "purl": "pkg:pypi/demo"}, "ecosystem_specific": {"x": 1}, "database_specific": [],
       "severity": [{"type": "CVSS_V3", "score": "nonsense"}], "versions": ["1.0"]}])"));
  ASSERT_EQ(advisory.affected.size(), 1u);
  EXPECT_EQ(advisory.affected[0].project, "demo");
}

// --- Advisories -----------------------------------------------------------------------------

Advisory
record(std::string id, std::string_view modified, std::vector<std::string> projects = {"demo"})
{
  Advisory advisory;
  advisory.id = std::move(id);
  advisory.modified = at(modified);
  for (std::string& project : projects) {
    AffectedProject affected;
    affected.project = std::move(project);
    affected.every_version = true;
    advisory.affected.push_back(std::move(affected));
  }
  return advisory;
}

TEST(Advisories, EmptyAndMovedFrom)
{
  const Advisories empty;
  EXPECT_TRUE(empty.for_project("demo").empty());
  EXPECT_EQ(empty.find("X"), nullptr);
  EXPECT_TRUE(empty.records().empty());
  EXPECT_EQ(empty.newest_modified(at("2030-01-01T00:00:00Z")), std::nullopt);

  std::vector<Advisory> records;
  records.push_back(record("X-1", "2026-01-01T00:00:00Z"));
  Advisories first(std::move(records));
  const Advisory* kept = first.find("X-1");
  ASSERT_NE(kept, nullptr);
  const Advisories second(std::move(first));
  EXPECT_EQ(second.find("X-1"), kept); // the records do not move with the object
  EXPECT_EQ(second.for_project("demo")[0].advisory, kept);
  EXPECT_TRUE(first.records().empty()); // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(first.find("X-1"), nullptr);
}

TEST(Advisories, LaterModifiedWins)
{
  Advisory older = record("X-1", "2026-01-01T00:00:00Z", {"old-project"});
  Advisory newer = record("X-1", "2026-02-01T00:00:00Z", {"new-project"});
  for (const bool newer_first : {false, true}) {
    std::vector<Advisory> records;
    records.push_back(newer_first ? newer : older);
    records.push_back(newer_first ? older : newer);
    const Advisories advisories(std::move(records));
    ASSERT_EQ(advisories.records().size(), 1u);
    EXPECT_EQ(advisories.records()[0].modified, at("2026-02-01T00:00:00Z"));
    EXPECT_EQ(advisories.for_project("new-project").size(), 1u);
    EXPECT_TRUE(advisories.for_project("old-project").empty());
  }

  // Equal `modified`: the first seen stays.
  std::vector<Advisory> tied;
  tied.push_back(record("X-1", "2026-01-01T00:00:00Z", {"first"}));
  tied.push_back(record("X-1", "2026-01-01T00:00:00Z", {"second"}));
  const Advisories advisories(std::move(tied));
  EXPECT_EQ(advisories.for_project("first").size(), 1u);
  EXPECT_TRUE(advisories.for_project("second").empty());
}

TEST(Advisories, Withdrawn)
{
  Advisory live = record("X-1", "2026-01-01T00:00:00Z");
  Advisory withdrawal = record("X-1", "2026-03-01T00:00:00Z");
  withdrawal.withdrawn = at("2026-03-01T00:00:00Z");
  Advisory stale_withdrawal = record("X-2", "2026-01-01T00:00:00Z");
  stale_withdrawal.withdrawn = at("2026-01-01T00:00:00Z");
  Advisory republished = record("X-2", "2026-04-01T00:00:00Z");

  std::vector<Advisory> records = {live, withdrawal, republished, stale_withdrawal};
  const Advisories advisories(std::move(records));
  // X-1's later withdrawal wins: gone from the index, still found.
  const auto demo = advisories.for_project("demo");
  ASSERT_EQ(demo.size(), 1u);
  EXPECT_EQ(demo[0].advisory->id, "X-2");
  ASSERT_NE(advisories.find("X-1"), nullptr);
  EXPECT_TRUE(advisories.find("X-1")->withdrawn.has_value());
  ASSERT_EQ(advisories.records().size(), 2u);
  EXPECT_EQ(advisories.records()[0].id, "X-1");
  // X-2's withdrawal is older than the record it would withdraw: the record stays in force.
  EXPECT_FALSE(advisories.find("X-2")->withdrawn.has_value());
}

TEST(Advisories, IndexSortedByIdWithHeldFiles)
{
  std::vector<Advisory> records;
  records.push_back(record("PYSEC-2026-3", "2026-01-01T00:00:00Z", {"alpha", "beta"}));
  records.push_back(record("GHSA-zzzz-zzzz-zzzz", "2026-01-01T00:00:00Z", {"alpha"}));
  records.push_back(record("MAL-2026-1", "2026-01-01T00:00:00Z", {"alpha"}));
  records.push_back(record("X-no-pypi", "2026-01-01T00:00:00Z", {}));
  const storage::FileKey b{"alpha-1.0.tar.gz", Sha256::of("b")};
  const storage::FileKey a{"alpha-1.0-py3-none-any.whl", Sha256::of("a")};
  const Advisories advisories(std::move(records), {{"MAL-2026-1", {b, a}}, {"UNKNOWN-1", {a}}});

  const auto alpha = advisories.for_project("alpha");
  ASSERT_EQ(alpha.size(), 3u);
  EXPECT_EQ(alpha[0].advisory->id, "GHSA-zzzz-zzzz-zzzz");
  EXPECT_EQ(alpha[1].advisory->id, "MAL-2026-1");
  EXPECT_EQ(alpha[2].advisory->id, "PYSEC-2026-3");
  EXPECT_EQ(alpha[0].only, nullptr);
  ASSERT_NE(alpha[1].only, nullptr);
  EXPECT_EQ(*alpha[1].only, (std::vector<storage::FileKey>{a, b})); // sorted
  EXPECT_EQ(alpha[2].affected->project, "alpha");
  const auto beta = advisories.for_project("beta");
  ASSERT_EQ(beta.size(), 1u);
  EXPECT_EQ(beta[0].affected->project, "beta");
  EXPECT_EQ(advisories.records().size(), 4u);
  EXPECT_NE(advisories.find("X-no-pypi"), nullptr);
}

TEST(Advisories, FindByIdOrAlias)
{
  Advisory first = record("GHSA-aaaa-aaaa-aaaa", "2026-01-01T00:00:00Z");
  first.aliases = {"CVE-2026-1", "PYSEC-2026-1"};
  Advisory second = record("PYSEC-2026-1", "2026-01-01T00:00:00Z");
  second.aliases = {"CVE-2026-1"};
  std::vector<Advisory> records = {second, first};
  const Advisories advisories(std::move(records));
  EXPECT_EQ(advisories.find("GHSA-aaaa-aaaa-aaaa")->id, "GHSA-aaaa-aaaa-aaaa");
  EXPECT_EQ(advisories.find("PYSEC-2026-1")->id, "PYSEC-2026-1"); // an id wins over an alias
  EXPECT_EQ(advisories.find("CVE-2026-1")->id, "GHSA-aaaa-aaaa-aaaa"); // a shared alias: the first id
  EXPECT_EQ(advisories.find("cve-2026-1"), nullptr);
}

TEST(Advisories, NewestModifiedIgnoresTheFuture)
{
  std::vector<Advisory> records;
  records.push_back(record("X-1", "2026-01-01T00:00:00Z"));
  records.push_back(record("X-2", "2026-03-01T00:00:00Z"));
  records.push_back(record("X-3", "2099-01-01T00:00:00Z"));
  Advisory withdrawn = record("X-4", "2026-02-01T00:00:00Z");
  withdrawn.withdrawn = withdrawn.modified;
  records.push_back(withdrawn);
  const Advisories advisories(std::move(records));
  EXPECT_EQ(advisories.newest_modified(at("2026-06-01T00:00:00Z")), at("2026-03-01T00:00:00Z"));
  EXPECT_EQ(advisories.newest_modified(at("2026-03-01T00:00:00Z")), at("2026-03-01T00:00:00Z"));
  EXPECT_EQ(advisories.newest_modified(at("2026-02-15T00:00:00Z")), at("2026-02-01T00:00:00Z"));
  EXPECT_EQ(advisories.newest_modified(at("2025-01-01T00:00:00Z")), std::nullopt);
}

// --- read_zip_records -------------------------------------------------------------------

TEST(OsvZip, ReadsJsonEntriesInDirectoryOrder)
{
  const std::string a = record_with("", "A-1");
  const std::string b = record_with("", "B-1");
  const auto zip = read_zip_records(build_zip({{"PyPI/", "", Method::stored},
                                               {"PyPI/B-1.json", b, Method::deflate},
                                               {"PyPI/README.md", "# not a record", Method::stored},
                                               {"PyPI/A-1.json", a, Method::stored},
                                               {"PyPI/upper.JSON", "{}", Method::stored},
                                               {"PyPI/.json", "{}", Method::stored},
                                               {"last_modified.txt", "2026", Method::stored}})
                                      .bytes);
  ASSERT_TRUE(zip) << zip.error();
  ASSERT_EQ(zip->records.size(), 2u);
  EXPECT_EQ(zip->records[0], (std::pair<std::string, std::string>{"PyPI/B-1.json", b}));
  EXPECT_EQ(zip->records[1], (std::pair<std::string, std::string>{"PyPI/A-1.json", a}));
  EXPECT_TRUE(zip->skipped.empty());
}

TEST(OsvZip, EmptyZip)
{
  const auto zip = read_zip_records(build_zip({}).bytes);
  ASSERT_TRUE(zip) << zip.error();
  EXPECT_TRUE(zip->records.empty());
}

TEST(OsvZip, BadEntriesAreSkippedAndTheRestRead)
{
  const std::string good = record_with("");
  const auto zip =
    read_zip_records(build_zip({{"bad-crc.json", "{}", Method::stored, std::nullopt, 0x12345678},
                                {"good.json", good, Method::deflate},
                                {"huge.json", std::string(k_zip_max_record_size + 1, ' '), Method::stored}})
                       .bytes);
  ASSERT_TRUE(zip) << zip.error();
  ASSERT_EQ(zip->records.size(), 1u);
  EXPECT_EQ(zip->records[0].first, "good.json");
  ASSERT_EQ(zip->skipped.size(), 2u);
  EXPECT_EQ(zip->skipped[0], "huge.json: 4194305 bytes, over the 4194304-byte limit of a record");
  EXPECT_EQ(zip->skipped[1].rfind("bad-crc.json: ", 0), 0u) << zip->skipped[1];
  EXPECT_NE(zip->skipped[1].find("CRC"), std::string::npos) << zip->skipped[1];
}

TEST(OsvZip, MalformedZipRefused)
{
  EXPECT_FALSE(read_zip_records(""));
  EXPECT_FALSE(read_zip_records("not a zip at all"));
  std::string truncated = build_zip({{"a.json", "{}", Method::stored}}).bytes;
  truncated.erase(0, 10);
  EXPECT_FALSE(read_zip_records(truncated));
}

TEST(OsvZip, TotalSizeLimit)
{
  // Entries that claim the largest record size each, until their sum passes the limit: refused
  // from the directory alone, before anything is inflated.
  std::vector<TestEntry> files;
  for (std::uint64_t i = 0; i <= k_zip_max_total_size / k_zip_max_record_size; ++i) {
    files.push_back({"r" + std::to_string(i) + ".json", "{}", Method::deflate, k_zip_max_record_size});
  }
  const auto zip = read_zip_records(build_zip(files).bytes);
  ASSERT_FALSE(zip);
  EXPECT_EQ(zip.error(), "zip records hold over 1073741824 bytes uncompressed");
}

TEST(OsvZip, EntryLimit)
{
  const auto refused = read_zip_records(zip64_claiming(k_zip_max_entries + 1));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), "zip archive lists 200001 entries, more than 200000");

  // More entries than a wheel may have are fine in a zip of records.
  std::vector<TestEntry> files;
  files.reserve(100'002);
  for (int i = 0; i < 100'001; ++i) {
    files.push_back({"d/" + std::to_string(i), "", Method::stored});
  }
  files.push_back({"d/x.json", "{}", Method::stored});
  const test::BuiltZip built = build_zip(files);
  // The count does not fit the plain end record's 16 bits: rewrite it as Zip64, as osv.dev's does.
  std::string zip64 = built.bytes.substr(0, built.eocd_at);
  put_zip64_end(zip64, files.size(), built.directory_size, built.directory_at);
  const auto read = read_zip_records(zip64);
  ASSERT_TRUE(read) << read.error();
  ASSERT_EQ(read->records.size(), 1u);
  EXPECT_EQ(read->records[0].first, "d/x.json");
}

} // namespace
} // namespace airlock::policy
