// PEP 740 provenance verification: the real fixtures of ../shared/fixtures/provenance (every
// case of fixtures.json, verdict and reason class), the byte-level pieces, and policy paths
// against a Sigstore that the tests generate themselves (fake_sigstore.hpp).

#include "testutil.hpp"

#include <airlock/policy/provenance.hpp>

#include "der.hpp"
#include "sigstore.hpp"
#include "sigstore_crypto.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace airlock::policy {
namespace {

namespace json = boost::json;
namespace reason = provenance_reason;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Real fixtures

std::filesystem::path
fixtures_dir()
{
  return test::shared_dir() / "fixtures" / "provenance";
}

// Skips (or, under CI, fails) the calling test when the shared fixtures are not there.
#define REQUIRE_PROVENANCE_FIXTURES()                                                            \
  do {                                                                                           \
    if (!std::filesystem::exists(fixtures_dir() / "fixtures.json")) {                            \
      if (std::getenv("CI") != nullptr) {                                                        \
        FAIL() << "provenance fixtures missing at " << fixtures_dir() << " (required under CI)"; \
      }                                                                                          \
      GTEST_SKIP() << "provenance fixtures missing at " << fixtures_dir()                        \
                   << "; they live in ../shared beside the checkout (set AIRLOCK_SHARED_DIR)";   \
    }                                                                                            \
  } while (false)

std::string
fixture(std::string_view relative)
{
  return test::read_file(fixtures_dir() / relative);
}

const TrustedRoot&
fixture_root(std::string_view relative)
{
  static std::map<std::string, TrustedRoot, std::less<>> roots;
  auto it = roots.find(relative);
  if (it == roots.end()) {
    auto parsed = TrustedRoot::parse(fixture(relative));
    if (!parsed) {
      throw std::runtime_error(std::string(relative) + ": " + parsed.error());
    }
    it = roots.emplace(std::string(relative), std::move(*parsed)).first;
  }
  return it->second;
}

const json::object&
fixture_case(std::string_view id)
{
  static const json::value all = json::parse(fixture("fixtures.json"));
  for (const auto& entry : all.at("cases").as_array()) {
    if (entry.at("id").as_string() == id) {
      return entry.as_object();
    }
  }
  throw std::runtime_error("no fixture case " + std::string(id));
}

// fixtures.json states verdicts and reasons in prose; the reason class each failure must carry
// is stated here, so a case that fails for another reason fails its test.
struct FixtureCase
{
  const char* id;
  std::string_view reason_class; // empty: must verify
};

const FixtureCase k_fixture_cases[] = {
  {"p19-publish", ""},
  {"p19-provenance", ""},
  {"p19-slsa", ""},
  {"p19-with-tsa", ""},
  {"sigstore361-provenance", ""},
  {"gitlab-003", ""},
  {"models-004a2", ""},
  {"sampleproject-300", ""},
  {"gcb-000-provenance", ""},
  {"sampleproject-400-provenance", ""},
  {"pep740-sampleproject-100-provenance", ""},
  {"rfc8785-staging", ""},
  {"spt3g-staging", ""},
  {"p19-rekor2-staging", ""},
  {"rfc8785-vs-prod-root", reason::k_certificate_chain},
  {"p19-vs-tampered-dist", reason::k_subject_digest},
  {"p19-vs-other-dist", reason::k_subject_name},
  {"models-wrong-workflow", reason::k_identity},
  {"gitlab-wrong-workflow", reason::k_identity},
  {"p19-with-tsa-vs-trusted-publisher", reason::k_identity},
  {"neg-tampered-statement", reason::k_signature},
  {"neg-tampered-signature", reason::k_signature},
  {"neg-bad-inclusion-proof", reason::k_inclusion_proof},
  {"neg-bad-set", reason::k_inclusion_promise},
  {"neg-bad-checkpoint", reason::k_checkpoint},
  {"neg-publisher-changed", reason::k_identity},
};

// Runs one case of fixtures.json as the lead's caller would.
ProvenanceResult
run_fixture_case(const json::object& c)
{
  const auto& dist = c.at("dist").as_object();
  const std::string name(dist.at("name").as_string());
  auto digest = Sha256::from_hex(dist.at("sha256").as_string());
  if (!digest) {
    throw std::runtime_error("bad sha256 in fixtures.json");
  }
  // When the file is there, verify against its real digest, not just the listed one.
  if (const auto& file = dist.at("file"); file.is_string()) {
    const auto actual = Sha256::of(fixture(file.as_string()));
    EXPECT_EQ(actual, *digest) << "fixtures.json sha256 of " << file.as_string();
    digest = actual;
  }
  const auto& root = fixture_root(c.at("trusted_root").as_string());
  const auto& publisher = c.at("publisher");
  if (const auto* provenance = c.if_contains("provenance")) {
    EXPECT_TRUE(publisher.is_string() && publisher.as_string() == "from provenance");
    return verify_provenance(fixture(provenance->as_string()), name, *digest, root, nullptr);
  }
  std::optional<IdentityPolicy> policy;
  if (publisher.is_object() && publisher.as_object().contains("identity")) {
    policy = SignerIdentity{std::string(publisher.at("identity").as_string()),
                            std::string(publisher.at("issuer").as_string())};
  } else if (publisher.is_object()) {
    auto parsed = Publisher::parse(json::serialize(publisher));
    if (!parsed) {
      throw std::runtime_error("publisher: " + parsed.error());
    }
    policy = *parsed;
  }
  return verify_attestation(fixture(c.at("attestation").as_string()), name, *digest, root, policy);
}

class ProvenanceFixture : public ::testing::TestWithParam<FixtureCase>
{
};

TEST_P(ProvenanceFixture, Verdict)
{
  REQUIRE_PROVENANCE_FIXTURES();
  const auto& c = fixture_case(GetParam().id);
  const bool pass = c.at("expect").as_string() == "pass";
  ASSERT_EQ(pass, GetParam().reason_class.empty()) << "the table above disagrees with fixtures.json";
  const auto result = run_fixture_case(c);
  if (pass) {
    EXPECT_EQ(result.status, ProvenanceStatus::verified) << result.reason_class << ": " << result.reason;
    EXPECT_EQ(result.reason_class, "");
    EXPECT_GT(result.signed_at, Time{}) << "a verified result carries its signing time";
    EXPECT_TRUE(result.signer.has_value());
  } else {
    EXPECT_EQ(result.status, ProvenanceStatus::invalid);
    EXPECT_EQ(result.reason_class, GetParam().reason_class)
      << "got: " << result.reason << "\nfixture says: " << c.at("reason").as_string();
    EXPECT_FALSE(result.reason.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ProvenanceFixture, ::testing::ValuesIn(k_fixture_cases),
                         [](const ::testing::TestParamInfo<FixtureCase>& param_info) {
                           std::string name = param_info.param.id;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(ProvenanceFixtures, EveryCaseOfFixturesJsonHasATest)
{
  REQUIRE_PROVENANCE_FIXTURES();
  const auto all = json::parse(fixture("fixtures.json"));
  std::set<std::string> listed;
  for (const auto& entry : all.at("cases").as_array()) {
    listed.emplace(entry.at("id").as_string());
  }
  std::set<std::string> tested;
  for (const auto& c : k_fixture_cases) {
    tested.emplace(c.id);
  }
  EXPECT_EQ(listed, tested);
  EXPECT_EQ(tested.size(), 26u);
}

} // namespace
} // namespace airlock::policy
