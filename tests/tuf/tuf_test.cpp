#include <airlock/tuf/client.hpp>
#include <airlock/tuf/repository.hpp>

#include "metadata.hpp"
#include "testutil.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <sys/stat.h>

#include <map>

namespace airlock::tuf {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string
canonical_of(std::string_view text)
{
  auto value = parse_json(text);
  EXPECT_TRUE(value) << value.error();
  auto out = canonical_json(*value);
  return out ? *out : "error: " + out.error();
}

TEST(CanonicalJson, SortsKeysByBytesWithoutWhitespace)
{
  // Expected strings are what @tufjs/canonical-json produces for the same values.
  EXPECT_EQ(canonical_of(R"({"b": 1, "a": [true, false, null], "c": "x\"y\\z"})"),
            R"({"a":[true,false,null],"b":1,"c":"x\"y\\z"})");
  EXPECT_EQ(canonical_of(R"({"B":1,"a":2,"_":3,"\u00e9":4,"z":{"y":[],"x":{}}})"),
            "{\"B\":1,\"_\":3,\"a\":2,\"z\":{\"x\":{},\"y\":[]},\"\xc3\xa9\":4}");
}

TEST(CanonicalJson, EscapesOnlyQuoteAndBackslash)
{
  EXPECT_EQ(canonical_of(R"({"s":"line\nbreak\ttab \u00e9 \u2603","n":-42,"m":0})"),
            "{\"m\":0,\"n\":-42,\"s\":\"line\nbreak\ttab \xc3\xa9 \xe2\x98\x83\"}");
  EXPECT_EQ(canonical_of(R"(["\/", 18446744073709551615, -9223372036854775808])"),
            R"(["/",18446744073709551615,-9223372036854775808])");
}

TEST(CanonicalJson, RefusesNonIntegers)
{
  EXPECT_EQ(canonical_of(R"({"a":1.5})"), "error: not canonical JSON: a number is not an integer");
  EXPECT_EQ(canonical_of(R"([1.0])"), "error: not canonical JSON: a number is not an integer");
}

TEST(TufTargetPath, ConsistentNamingRoundTrips)
{
  const auto target = make_target("files/abc/pkg-1.0-py3-none-any.whl", "wheel bytes");
  const auto hex = Sha256::of("wheel bytes").hex();
  EXPECT_EQ(consistent_target_path(target), "files/abc/" + hex + ".pkg-1.0-py3-none-any.whl");
  const auto parsed = parse_consistent_target_path(consistent_target_path(target));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->path, target.path);
  EXPECT_EQ(parsed->sha256, target.sha256);
  EXPECT_EQ(consistent_target_path(make_target("top.txt", "x")), Sha256::of("x").hex() + ".top.txt");
  EXPECT_FALSE(parse_consistent_target_path("files/abc/pkg.whl"));
  EXPECT_FALSE(parse_consistent_target_path("files/../" + hex + ".x"));
  EXPECT_EQ(target.sha512_hex->size(), 128u);
}

TEST(TufTargetPath, RefusesUnfetchablePaths)
{
  EXPECT_FALSE(invalid_target_path("snapshots/ci-1/simple/requests/index.html"));
  EXPECT_FALSE(invalid_target_path("files/0a/pkg-1!2.0+local-py3-none-any.whl"));
  EXPECT_TRUE(invalid_target_path(""));
  EXPECT_TRUE(invalid_target_path("/etc/passwd"));
  EXPECT_TRUE(invalid_target_path("a/../b"));
  EXPECT_TRUE(invalid_target_path("a//b"));
  EXPECT_TRUE(invalid_target_path("a/b/"));
  EXPECT_TRUE(invalid_target_path("a b"));
  EXPECT_TRUE(invalid_target_path("a?b"));
  EXPECT_TRUE(invalid_target_path("caf\xc3\xa9"));
}

const Time k_t0 = std::chrono::sys_days{std::chrono::year{2026} / 3 / 24} + 10h;

std::vector<Target>
snapshot_targets(std::string_view name, std::string_view page_suffix)
{
  std::vector<Target> out;
  for (const std::string project : {"requests", "urllib3", "idna", "certifi", "litellm"}) {
    out.push_back(make_target(fmt::format("snapshots/{}/simple/{}/index.html", name, project),
                              fmt::format("<html>{} {}</html>", project, page_suffix)));
    out.push_back(make_target(fmt::format("snapshots/{}/simple/{}/index.json", name, project),
                              fmt::format("{{\"name\":\"{}\",\"v\":\"{}\"}}", project, page_suffix)));
    const std::string wheel = project + "-1.0-py3-none-any.whl";
    const std::string bytes = "wheel " + project;
    out.push_back(make_target(fmt::format("files/{}/{}", Sha256::of(bytes).hex(), wheel), bytes));
  }
  return out;
}

std::vector<Target>
sorted(std::vector<Target> targets)
{
  std::sort(targets.begin(), targets.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return targets;
}

class TufRepositoryTest : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    ASSERT_GE(sodium_init(), 0);
  }

  void
  init(Expirations expirations = {})
  {
    m_expirations = expirations;
    auto ok = Repository::init(m_dir.path(), k_t0, {}, expirations);
    ASSERT_TRUE(ok) << ok.error();
    reopen();
    m_pinned_root = *m_repo->metadata("1.root.json");
  }

  void
  reopen()
  {
    m_repo.reset();
    auto repo = Repository::open(m_dir.path(), m_expirations);
    ASSERT_TRUE(repo) << repo.error();
    m_repo = std::move(*repo);
  }

  void
  publish(const std::vector<Target>& targets, Time now = k_t0)
  {
    auto ok = m_repo->publish(targets, now);
    ASSERT_TRUE(ok) << ok.error();
  }

  // Serves the repository's metadata, with `m_served` overriding (nullopt = 404).
  Fetch
  fetcher()
  {
    return [this](std::string_view path, std::uint64_t) -> Expected<std::optional<std::string>> {
      EXPECT_TRUE(path.starts_with("metadata/")) << path;
      const std::string name(path.substr(9));
      if (const auto it = m_served.find(name); it != m_served.end()) {
        return it->second;
      }
      return m_repo->metadata(name);
    };
  }

  Expected<VerifiedTargets>
  verify(Time now = k_t0 + 1min, TrustedVersions* trusted = nullptr)
  {
    return verify_repository(m_pinned_root, fetcher(), now, trusted);
  }

  std::string
  current(std::string_view role)
  {
    // The current version of a role, from the chain timestamp -> snapshot.
    const auto timestamp = json::parse(*m_repo->metadata("timestamp.json"));
    const auto snapshot_version = timestamp.at("signed").at("meta").at("snapshot.json").at("version").to_number<int>();
    if (role == "snapshot") {
      return fmt::format("{}.snapshot.json", snapshot_version);
    }
    const auto snapshot = json::parse(*m_repo->metadata(fmt::format("{}.snapshot.json", snapshot_version)));
    const auto version = snapshot.at("signed").at("meta").at(fmt::format("{}.json", role)).at("version").to_number<int>();
    return fmt::format("{}.{}.json", version, role);
  }

  std::uint64_t
  timestamp_version()
  {
    return json::parse(*m_repo->metadata("timestamp.json")).at("signed").at("version").to_number<std::uint64_t>();
  }

  test::TempDir m_dir;
  Expirations m_expirations;
  std::unique_ptr<Repository> m_repo;
  std::string m_pinned_root;
  std::map<std::string, std::optional<std::string>> m_served;
};

std::string
bin_of(std::string_view path)
{
  return fmt::format("bin-{:02x}", Sha256::of(path).bytes[0]);
}

// Flips one character inside the "signed" part of a metadata file.
std::string
tamper(std::string bytes)
{
  const auto at = bytes.find("\"expires\":\"20");
  EXPECT_NE(at, std::string::npos);
  bytes[at + 13] = bytes[at + 13] == '2' ? '3' : '2';
  return bytes;
}

// One ed25519 key listed under two key ids (the second object has an extra field, so its
// id differs) must count once toward a threshold of 2.
TEST(TufVerify, OneKeyUnderTwoKeyIdsIsOneSigner)
{
  ASSERT_GE(sodium_init(), 0);
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};
  crypto_sign_keypair(pk.data(), sk.data());
  std::string pk_hex(pk.size() * 2 + 1, '\0');
  sodium_bin2hex(pk_hex.data(), pk_hex.size(), pk.data(), pk.size());
  pk_hex.pop_back();
  const json::object key{{"keytype", "ed25519"}, {"scheme", "ed25519"}, {"keyval", {{"public", pk_hex}}}};
  auto twin = key;
  twin["x-note"] = "same key";
  const auto id1 = Sha256::of(*canonical_json(key)).hex();
  const auto id2 = Sha256::of(*canonical_json(twin)).hex();
  const json::object role{{"keyids", json::array{json::string(id1), json::string(id2)}}, {"threshold", 2}};
  const json::object signed_part{{"_type", "root"},
                                 {"spec_version", "1.0.31"},
                                 {"version", 1},
                                 {"expires", "2030-01-01T00:00:00Z"},
                                 {"consistent_snapshot", true},
                                 {"keys", {{id1, key}, {id2, twin}}},
                                 {"roles", {{"root", role}, {"targets", role}, {"snapshot", role}, {"timestamp", role}}}};
  const auto message = *canonical_json(signed_part);
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       sk.data());
  std::string sig_hex(sig.size() * 2 + 1, '\0');
  sodium_bin2hex(sig_hex.data(), sig_hex.size(), sig.data(), sig.size());
  sig_hex.pop_back();
  const json::object root{{"signed", signed_part},
                          {"signatures", json::array{json::object{{"keyid", id1}, {"sig", sig_hex}},
                                                     json::object{{"keyid", id2}, {"sig", sig_hex}}}}};
  const auto fetch = [](std::string_view, std::uint64_t) -> Expected<std::optional<std::string>> {
    return std::nullopt;
  };
  auto verified = verify_repository(*canonical_json(root), fetch, k_t0);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "root (pinned): 1 of 2 required signatures are valid (wrong key or tampered metadata)");
}

TEST_F(TufRepositoryTest, InitWritesKeysPrivateAndTheFirstRoot)
{
  init();
  for (const auto* role : {"root", "targets", "snapshot", "timestamp", "bins"}) {
    struct stat st{};
    const auto path = m_dir.path() / "keys" / (std::string(role) + ".key");
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 0777, 0600) << path;
    EXPECT_EQ(test::read_file(path).size(), 65u) << path; // 64 hex digits and a newline
  }
  const auto root = json::parse(m_pinned_root);
  const auto& signed_part = root.at("signed");
  EXPECT_EQ(signed_part.at("_type"), "root");
  EXPECT_EQ(signed_part.at("spec_version"), "1.0.31");
  EXPECT_EQ(signed_part.at("version"), 1);
  EXPECT_EQ(signed_part.at("consistent_snapshot"), true);
  EXPECT_EQ(signed_part.at("expires"), "2027-03-24T10:00:00Z");
  // Key ids are the sha256 of each key's canonical JSON.
  for (const auto& [keyid, key] : signed_part.at("keys").as_object()) {
    EXPECT_EQ(Sha256::of(*canonical_json(key)).hex(), std::string_view(keyid));
    EXPECT_EQ(key.at("keytype"), "ed25519");
    EXPECT_EQ(key.at("keyval").at("public").as_string().size(), 64u);
  }
  // The file itself is canonical JSON.
  EXPECT_EQ(*canonical_json(root), m_pinned_root);
  EXPECT_EQ(*m_repo->metadata("root.json"), m_pinned_root);
  EXPECT_TRUE(m_repo->metadata("timestamp.json"));
  EXPECT_TRUE(m_repo->metadata("1.snapshot.json"));
  EXPECT_TRUE(m_repo->metadata("1.targets.json"));
  EXPECT_TRUE(m_repo->metadata("1.bin-0a.json"));
  EXPECT_FALSE(m_repo->metadata("../keys/root.key"));
  EXPECT_FALSE(m_repo->metadata("1.root.json/../../keys/root.key"));
  EXPECT_EQ(m_repo->root_version(), 1u);
  EXPECT_EQ(m_repo->root_expires(), k_t0 + std::chrono::days{365});

  auto again = Repository::init(m_dir.path(), k_t0);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().find("exist"), std::string::npos) << again.error();
}

TEST_F(TufRepositoryTest, OfflineRootKeyStaysOutOfTheRepository)
{
  test::TempDir offline;
  const auto root_key = offline.path() / "root.key";
  auto ok = Repository::init(m_dir.path(), k_t0, root_key);
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_FALSE(std::filesystem::exists(m_dir.path() / "keys" / "root.key"));
  struct stat st{};
  ASSERT_EQ(::stat(root_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  reopen();
  m_pinned_root = *m_repo->metadata("1.root.json");
  publish(snapshot_targets("ci-1", "a"));
  auto rotated = m_repo->rotate_online_keys(k_t0 + 1h);
  ASSERT_FALSE(rotated); // keys/root.key is not there
  rotated = m_repo->rotate_online_keys(k_t0 + 1h, root_key);
  ASSERT_TRUE(rotated) << rotated.error();
  auto verified = verify(k_t0 + 2h);
  ASSERT_TRUE(verified) << verified.error();
  EXPECT_EQ(verified->root_version, 2u);
}

TEST_F(TufRepositoryTest, PublishThenVerifyReturnsEveryTarget)
{
  init();
  const auto targets = snapshot_targets("ci-1", "a");
  publish(targets);
  TrustedVersions trusted;
  auto verified = verify(k_t0 + 1min, &trusted);
  ASSERT_TRUE(verified) << verified.error();
  EXPECT_EQ(verified->targets, sorted(targets));
  EXPECT_EQ(verified->root_version, 1u);
  EXPECT_EQ(verified->expires, k_t0 + 24h);
  const auto* page = verified->find("snapshots/ci-1/simple/requests/index.html");
  ASSERT_NE(page, nullptr);
  EXPECT_TRUE(verify_target(*page, "<html>requests a</html>"));
  auto wrong = verify_target(*page, "<html>requests b</html>");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error(), "target 'snapshots/ci-1/simple/requests/index.html': sha256 "
                             + Sha256::of("<html>requests b</html>").hex() + " does not match the signed "
                             + page->sha256.hex());
  EXPECT_FALSE(verify_target(*page, "<html>requests a</html> "));
  EXPECT_EQ(verified->find("snapshots/ci-1/simple/nope/index.html"), nullptr);

  // The trusted versions round-trip through their state-file form.
  EXPECT_EQ(trusted.timestamp, verified->timestamp_version);
  EXPECT_EQ(trusted.meta.size(), 257u);
  auto reread = TrustedVersions::from_json(trusted.to_json());
  ASSERT_TRUE(reread) << reread.error();
  EXPECT_EQ(reread->meta, trusted.meta);
  EXPECT_EQ(reread->snapshot, trusted.snapshot);
  EXPECT_FALSE(TrustedVersions::from_json("{\"root\":1}"));

  // Verifying again with the trusted versions succeeds (same versions are no rollback).
  auto again = verify(k_t0 + 2min, &trusted);
  ASSERT_TRUE(again) << again.error();
}

TEST_F(TufRepositoryTest, PublishSignsOnlyWhatChanged)
{
  init();
  auto targets = snapshot_targets("ci-1", "a");
  publish(targets);
  const auto version = timestamp_version();
  const auto snapshot_name = current("snapshot");
  publish(targets, k_t0 + 1h);
  EXPECT_EQ(timestamp_version(), version); // nothing changed, nothing expiring
  EXPECT_EQ(current("snapshot"), snapshot_name);

  const auto changed_bin = bin_of("snapshots/ci-2/simple/requests/index.html");
  const auto before = current(changed_bin);
  targets.push_back(make_target("snapshots/ci-2/simple/requests/index.html", "<html>ci-2</html>"));
  publish(targets, k_t0 + 2h);
  EXPECT_EQ(timestamp_version(), version + 1);
  EXPECT_NE(current(changed_bin), before);
  const auto untouched = changed_bin == "bin-00" ? "bin-01" : "bin-00";
  EXPECT_EQ(current(untouched).substr(0, 2), "1."); // still the first version

  // Reopening reads the published state back: the same targets change nothing.
  reopen();
  publish(targets, k_t0 + 3h);
  EXPECT_EQ(timestamp_version(), version + 1);
  auto verified = verify(k_t0 + 3h);
  ASSERT_TRUE(verified) << verified.error();
  EXPECT_EQ(verified->targets, sorted(targets));
}

TEST_F(TufRepositoryTest, PublishRefusesBadTargetsAndChangesNothing)
{
  init();
  publish(snapshot_targets("ci-1", "a"));
  const auto version = timestamp_version();
  auto targets = snapshot_targets("ci-1", "a");
  targets.push_back(targets.front());
  auto duplicate = m_repo->publish(targets, k_t0);
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error(), "target 'snapshots/ci-1/simple/requests/index.html' is listed twice");
  auto bad = m_repo->publish({make_target("../escape", "x")}, k_t0);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "target '../escape' has an empty, \".\" or \"..\" segment");
  EXPECT_EQ(timestamp_version(), version);
}

TEST_F(TufRepositoryTest, ExpiredTimestampIsRefused)
{
  init();
  publish(snapshot_targets("ci-1", "a"));
  auto verified = verify(k_t0 + 24h);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "timestamp: version 2 expired at 2026-03-25T10:00:00Z");
}

TEST_F(TufRepositoryTest, ExpiredSnapshotIsRefused)
{
  init({.snapshot = 1h});
  publish(snapshot_targets("ci-1", "a"));
  auto verified = verify(k_t0 + 2h);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "snapshot: version 2 expired at 2026-03-24T11:00:00Z");
}

TEST_F(TufRepositoryTest, ExpiredTargetsAndBinsAreRefused)
{
  init({.targets = 1h});
  publish(snapshot_targets("ci-1", "a"));
  auto verified = verify(k_t0 + 2h);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "targets: version 1 expired at 2026-03-24T11:00:00Z");
}

TEST_F(TufRepositoryTest, ExpiredRootIsRefused)
{
  init({.root = 1h});
  auto verified = verify(k_t0 + 2h);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "root: version 1 expired at 2026-03-24T11:00:00Z");
}

TEST_F(TufRepositoryTest, RefreshResignsBeforeExpiry)
{
  init({.snapshot = 48h});
  publish(snapshot_targets("ci-1", "a"));
  const auto version = timestamp_version();
  auto refreshed = m_repo->refresh(k_t0 + 12h, 6h);
  ASSERT_TRUE(refreshed) << refreshed.error();
  EXPECT_FALSE(*refreshed);
  refreshed = m_repo->refresh(k_t0 + 19h, 6h);
  ASSERT_TRUE(refreshed) << refreshed.error();
  EXPECT_TRUE(*refreshed);
  EXPECT_EQ(timestamp_version(), version + 1);
  auto verified = verify(k_t0 + 30h);
  ASSERT_TRUE(verified) << verified.error();
  // The snapshot (48 h) is re-signed too once it is within the margin.
  const auto snapshot_name = current("snapshot");
  ASSERT_TRUE(m_repo->refresh(k_t0 + 43h, 6h));
  EXPECT_NE(current("snapshot"), snapshot_name);
  verified = verify(k_t0 + 60h);
  ASSERT_TRUE(verified) << verified.error();
}

TEST_F(TufRepositoryTest, RollbackOfTimestampIsRefused)
{
  init();
  publish(snapshot_targets("ci-1", "a"));
  const auto old_timestamp = *m_repo->metadata("timestamp.json");
  publish(snapshot_targets("ci-2", "b"), k_t0 + 1h);
  TrustedVersions trusted;
  ASSERT_TRUE(verify(k_t0 + 1h, &trusted));
  m_served["timestamp.json"] = old_timestamp;
  auto verified = verify(k_t0 + 1h, &trusted);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "timestamp: version 2 is older than the trusted version 3 (rollback)");
  // Without the trusted versions the old (still valid) metadata verifies: that is what
  // the state file of `airlock verify` is for.
  EXPECT_TRUE(verify(k_t0 + 1h));
}

TEST_F(TufRepositoryTest, RollbackOfSnapshotAndBinsIsRefused)
{
  init();
  publish(snapshot_targets("ci-1", "a"));
  TrustedVersions trusted;
  ASSERT_TRUE(verify(k_t0, &trusted));
  // A state that trusted a later bin version than the repository now lists.
  trusted.meta["bin-00.json"] += 5;
  auto verified = verify(k_t0, &trusted);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), fmt::format("snapshot: lists bin-00.json version {}, older than the trusted version {} "
                                          "(rollback)",
                                          trusted.meta["bin-00.json"] - 5, trusted.meta["bin-00.json"]));
  trusted.meta["bin-00.json"] -= 5;
  trusted.snapshot += 1;
  verified = verify(k_t0, &trusted);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "timestamp: lists snapshot version 2, older than the trusted version 3 (rollback)");
}

TEST_F(TufRepositoryTest, WithheldRootUpdateIsRefused)
{
  init();
  publish(snapshot_targets("ci-1", "a"));
  ASSERT_TRUE(m_repo->renew_root(k_t0 + 1h));
  TrustedVersions trusted;
  ASSERT_TRUE(verify(k_t0 + 1h, &trusted));
  EXPECT_EQ(trusted.root, 2u);
  m_served["2.root.json"] = std::nullopt;
  auto verified = verify(k_t0 + 1h, &trusted);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "root: version 1 is older than the trusted version 2 (rollback, or a root update "
                              "withheld)");
}

TEST_F(TufRepositoryTest, WrongSignaturesAreRefused)
{
  init();
  publish(snapshot_targets("ci-1", "a"));
  // A signature altered by one digit.
  auto timestamp = *m_repo->metadata("timestamp.json");
  const auto sig = timestamp.find("\"sig\":\"") + 7;
  timestamp[sig] = timestamp[sig] == '0' ? '1' : '0';
  m_served["timestamp.json"] = timestamp;
  auto verified = verify();
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "timestamp: 0 of 1 required signatures are valid (wrong key or tampered metadata)");

  // Metadata signed by another repository's keys.
  test::TempDir other_dir;
  ASSERT_TRUE(Repository::init(other_dir.path(), k_t0));
  auto other = Repository::open(other_dir.path());
  ASSERT_TRUE(other);
  m_served["timestamp.json"] = (*other)->metadata("timestamp.json");
  verified = verify();
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "timestamp: 0 of 1 required signatures are valid (wrong key or tampered metadata)");

  // A root that is not signed by the pinned root's keys.
  m_served.clear();
  m_served["2.root.json"] = (*other)->metadata("1.root.json");
  verified = verify();
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "root version 2 (by the keys of version 1): 0 of 1 required signatures are valid "
                              "(wrong key or tampered metadata)");
}

TEST_F(TufRepositoryTest, MixAndMatchIsRefused)
{
  init();
  const auto first = snapshot_targets("ci-1", "a");
  publish(first);
  const auto page = "snapshots/ci-1/simple/requests/index.html";
  const auto bin = bin_of(page);
  const auto old_bin_name = current(bin);
  const auto old_bin = *m_repo->metadata(old_bin_name);
  auto second = first;
  second[0] = make_target(page, "<html>requests b</html>");
  publish(second, k_t0 + 1h);
  const auto new_bin_name = current(bin);
  ASSERT_NE(new_bin_name, old_bin_name);

  // The bin of the first publication served as the current one.
  m_served[new_bin_name] = old_bin;
  auto verified = verify(k_t0 + 1h);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().substr(0, bin.size() + 2), bin + ": ") << verified.error();
  EXPECT_NE(verified.error().find("does not match the"), std::string::npos) << verified.error();

  // A target of the first publication checked against the second's signed targets.
  m_served.clear();
  verified = verify(k_t0 + 1h);
  ASSERT_TRUE(verified) << verified.error();
  auto mismatch = verify_target(*verified->find(page), "<html>requests a</html>");
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().find("does not match the signed"), std::string::npos);
}

TEST_F(TufRepositoryTest, TamperedMetadataIsRefused)
{
  init();
  publish(snapshot_targets("ci-1", "a"));
  for (const auto* role : {"targets", "snapshot"}) {
    m_served.clear();
    const auto name = current(role);
    m_served[name] = tamper(*m_repo->metadata(name));
    auto verified = verify();
    ASSERT_FALSE(verified) << role;
    EXPECT_EQ(verified.error(), fmt::format("{}: sha256 does not match the one {} lists", role,
                                            std::string_view(role) == "targets" ? "snapshot.json" : "timestamp.json"));
  }
  m_served.clear();
  m_served["timestamp.json"] = tamper(*m_repo->metadata("timestamp.json"));
  auto verified = verify();
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "timestamp: 0 of 1 required signatures are valid (wrong key or tampered metadata)");

  m_served.clear();
  m_served["timestamp.json"] = "{\"signed\": 1.5}";
  verified = verify();
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "timestamp: metadata lacks \"signed\" or \"signatures\"");
}

TEST_F(TufRepositoryTest, OnlineKeyRotationVerifiesFromTheOriginalRoot)
{
  init();
  const auto targets = snapshot_targets("ci-1", "a");
  publish(targets);
  TrustedVersions trusted;
  ASSERT_TRUE(verify(k_t0, &trusted));
  const auto old_timestamp = *m_repo->metadata("timestamp.json");
  const auto old_key = test::read_file(m_dir.path() / "keys" / "timestamp.key");

  auto rotated = m_repo->rotate_online_keys(k_t0 + 1h);
  ASSERT_TRUE(rotated) << rotated.error();
  EXPECT_EQ(m_repo->root_version(), 2u);
  EXPECT_NE(test::read_file(m_dir.path() / "keys" / "timestamp.key"), old_key);
  EXPECT_FALSE(std::filesystem::exists(m_dir.path() / "keys" / "timestamp.key.new"));

  auto verified = verify(k_t0 + 2h, &trusted);
  ASSERT_TRUE(verified) << verified.error();
  EXPECT_EQ(verified->root_version, 2u);
  EXPECT_EQ(verified->targets, sorted(targets));
  EXPECT_EQ(trusted.root, 2u);

  // Metadata signed with the retired timestamp key no longer counts.
  m_served["timestamp.json"] = old_timestamp;
  auto stale = verify(k_t0 + 2h);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error(), "timestamp: 0 of 1 required signatures are valid (wrong key or tampered metadata)");
  m_served.clear();

  // The repository reopens with the new keys and keeps publishing.
  reopen();
  publish(snapshot_targets("ci-2", "b"), k_t0 + 3h);
  verified = verify(k_t0 + 3h, &trusted);
  ASSERT_TRUE(verified) << verified.error();
}

TEST_F(TufRepositoryTest, AnotherProcessRotatingIsNoticedBeforeTheNextWrite)
{
  init();
  publish(snapshot_targets("ci-1", "a"));
  // `airlock keys rotate` beside the running server: a second Repository on the directory.
  auto cli = Repository::open(m_dir.path());
  ASSERT_TRUE(cli) << cli.error();
  auto rotated = (*cli)->rotate_online_keys(k_t0 + 1h);
  ASSERT_TRUE(rotated) << rotated.error();
  cli->reset();
  // The server's next publication reloads the new keys instead of signing with retired ones.
  publish(snapshot_targets("ci-2", "b"), k_t0 + 2h);
  EXPECT_EQ(m_repo->root_version(), 2u);
  auto verified = verify(k_t0 + 2h);
  ASSERT_TRUE(verified) << verified.error();
  EXPECT_EQ(verified->targets, sorted(snapshot_targets("ci-2", "b")));
}

TEST_F(TufRepositoryTest, RootRotationVerifiesFromTheOriginalRoot)
{
  init();
  publish(snapshot_targets("ci-1", "a"));
  const auto old_root_key = test::read_file(m_dir.path() / "keys" / "root.key");
  auto rotated = m_repo->rotate_root_key(k_t0 + 1h);
  ASSERT_TRUE(rotated) << rotated.error();
  EXPECT_NE(test::read_file(m_dir.path() / "keys" / "root.key"), old_root_key);
  const auto root2 = json::parse(*m_repo->metadata("2.root.json"));
  EXPECT_EQ(root2.at("signatures").as_array().size(), 2u); // old and new root keys (5.3.4)
  auto verified = verify(k_t0 + 2h);
  ASSERT_TRUE(verified) << verified.error();
  EXPECT_EQ(verified->root_version, 2u);

  // The new root key signs the next rotation; the chain 1 -> 2 -> 3 still verifies.
  rotated = m_repo->rotate_online_keys(k_t0 + 3h);
  ASSERT_TRUE(rotated) << rotated.error();
  verified = verify(k_t0 + 4h);
  ASSERT_TRUE(verified) << verified.error();
  EXPECT_EQ(verified->root_version, 3u);

  // A tampered link in the chain breaks it.
  m_served["2.root.json"] = tamper(*m_repo->metadata("2.root.json"));
  verified = verify(k_t0 + 4h);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "root version 2 (by the keys of version 1): 0 of 1 required signatures are valid "
                              "(wrong key or tampered metadata)");
}

TEST_F(TufRepositoryTest, OpenDiscardsAnUncommittedRotationAndRefusesLooseKeys)
{
  init();
  publish(snapshot_targets("ci-1", "a"));
  // A rotation that died before writing its new root leaves a .new key behind.
  const auto stray = m_dir.path() / "keys" / "timestamp.key.new";
  test::write_file(stray, std::string(64, 'a') + "\n");
  ASSERT_EQ(::chmod(stray.c_str(), 0600), 0);
  reopen();
  EXPECT_FALSE(std::filesystem::exists(stray));
  EXPECT_TRUE(verify());

  m_repo.reset();
  ASSERT_EQ(::chmod((m_dir.path() / "keys" / "snapshot.key").c_str(), 0644), 0);
  auto opened = Repository::open(m_dir.path());
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().find("chmod 600"), std::string::npos) << opened.error();

  test::TempDir empty;
  opened = Repository::open(empty.path());
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().find("keys init"), std::string::npos) << opened.error();
}

} // namespace
} // namespace airlock::tuf
