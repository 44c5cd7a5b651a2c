// PEP 740 provenance verification: the real fixtures of ../shared/fixtures/provenance (every
// case of fixtures.json, verdict and reason class), the byte-level pieces, and policy paths
// against a Sigstore that the tests generate themselves (fake_sigstore.hpp).

#include "fake_sigstore.hpp"
#include "testutil.hpp"

#include <airlock/policy/provenance.hpp>
#include <airlock/util/base64.hpp>
#include <airlock/util/hex.hpp>

#include "der.hpp"
#include "sigstore.hpp"
#include "sigstore_crypto.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>

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
// is stated here, so a case that fails for another reason fails its test. A case that verifies
// also states the certificate's repository and owner IDs (Fulcio .15 and .17; "" if it has none).
struct FixtureCase
{
  const char* id;
  std::string_view reason_class; // empty: must verify
  std::string_view repository_id = {};
  std::string_view owner_id = {};
};

const FixtureCase k_fixture_cases[] = {
  {"p19-publish", "", "772247423", "2314423"},
  {"p19-provenance", "", "772247423", "2314423"},
  {"p19-slsa", "", "772247423", "2314423"},
  {"p19-with-tsa", ""},
  {"sigstore361-provenance", "", "447691086", "71096353"},
  {"gitlab-003", "", "55235664", "12885801"},
  // trailofbits/pypi-attestation-models, renamed to pypi-attestations: the IDs stay.
  {"models-004a2", "", "772247423", "2314423"},
  {"sampleproject-300", ""},
  {"gcb-000-provenance", ""},
  {"sampleproject-400-provenance", "", "14899596", "647025"},
  {"pep740-sampleproject-100-provenance", "", "64895736", "98134409"},
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

void
PrintTo(const FixtureCase& c, std::ostream* os)
{
  *os << c.id;
}

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
    EXPECT_EQ(result.repository_id, GetParam().repository_id);
    EXPECT_EQ(result.owner_id, GetParam().owner_id);
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

// ---------------------------------------------------------------------------------------------
// Pieces: encodings, DSSE PAE, Merkle proofs, DER, SCT input, Rekor bodies, checkpoints, SET

using test::base64;
using test::FakeSigstore;

std::string
bytes_of(std::initializer_list<int> values)
{
  std::string out;
  for (const int v : values) {
    out.push_back(static_cast<char>(v));
  }
  return out;
}

ossl::X509Ptr
pem_certificate(const std::string& pem)
{
  ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return ossl::X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

TEST(SigstoreBase64, RoundTripsAndRejectsEverySecondSpelling)
{
  std::string data;
  for (int n = 0; n < 12; ++n) {
    EXPECT_EQ(base64_decode(base64_encode(data)), data) << n;
    EXPECT_EQ(base64_encode(data), base64(data)) << n;
    data.push_back(static_cast<char>(0xf0 + n));
  }
  EXPECT_EQ(base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64_decode("+/8="), bytes_of({0xfb, 0xff}));
  for (const auto* bad : {"aGVsbG8", "aGVs bG8=", "aGVsbG8==", "a===", "aG=sbG8=", "-_8=", "aGVsbG9=", "YR=="}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
}

TEST(SigstoreInt64, ParsesProtobufJsonIntegers)
{
  EXPECT_EQ(sigstore::parse_int64("0"), 0);
  EXPECT_EQ(sigstore::parse_int64("153454663"), 153454663);
  EXPECT_EQ(sigstore::parse_int64("9223372036854775807"), INT64_MAX);
  for (const auto* bad : {"", "-1", "+1", "01", "9223372036854775808", "1e3", " 1", "99999999999999999999"}) {
    EXPECT_FALSE(sigstore::parse_int64(bad).has_value()) << bad;
  }
}

TEST(Dsse, PreAuthenticationEncoding)
{
  // The example of the DSSE protocol specification.
  EXPECT_EQ(sigstore::dsse_pae("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(sigstore::dsse_pae("application/vnd.in-toto+json", ""), "DSSEv1 28 application/vnd.in-toto+json 0 ");
  const std::string binary("a\0b\n", 4);
  EXPECT_EQ(sigstore::dsse_pae("t", binary), std::string("DSSEv1 1 t 4 a\0b\n", 17));
}

TEST(Merkle, HashesWithDomainSeparation)
{
  EXPECT_EQ(sigstore::merkle_leaf_hash("abc"), Sha256::of(std::string("\0abc", 4)));
  const auto a = Sha256::of("a");
  const auto b = Sha256::of("b");
  EXPECT_EQ(sigstore::merkle_node_hash(a, b),
            Sha256::of("\x01" + std::string(sigstore::as_chars(a)) + std::string(sigstore::as_chars(b))));
}

TEST(Merkle, InclusionProofOfEveryLeafOfEveryTreeUpTo33)
{
  for (std::size_t size = 1; size <= 33; ++size) {
    std::vector<Sha256> leaves;
    for (std::size_t i = 0; i < size; ++i) {
      leaves.push_back(test::reference_leaf_hash("entry " + std::to_string(i)));
    }
    const auto root = test::reference_root(leaves);
    for (std::size_t index = 0; index < size; ++index) {
      auto proof = test::reference_path(index, leaves);
      auto computed = sigstore::merkle_root_from_proof(index, size, leaves[index], proof);
      ASSERT_TRUE(computed.has_value()) << size << "/" << index << ": " << computed.error();
      EXPECT_EQ(*computed, root) << size << "/" << index;
      // Any other leaf, or any changed proof hash, leads elsewhere.
      EXPECT_NE(*sigstore::merkle_root_from_proof(index, size, Sha256::of("other"), proof), root);
      if (!proof.empty()) {
        proof.back().bytes[0] ^= 1;
        EXPECT_NE(*sigstore::merkle_root_from_proof(index, size, leaves[index], proof), root);
      }
    }
  }
}

TEST(Merkle, RejectsProofsOfTheWrongShape)
{
  const std::vector<Sha256> three(3, Sha256::of("x"));
  EXPECT_FALSE(sigstore::merkle_root_from_proof(0, 0, Sha256{}, {}).has_value());
  EXPECT_FALSE(sigstore::merkle_root_from_proof(7, 7, Sha256{}, three).has_value());
  EXPECT_FALSE(sigstore::merkle_root_from_proof(0, 8, Sha256{}, {three.data(), 2}).has_value());
  EXPECT_FALSE(sigstore::merkle_root_from_proof(0, 4, Sha256{}, three).has_value());
  EXPECT_TRUE(sigstore::merkle_root_from_proof(0, 1, Sha256{}, {}).has_value());
}

TEST(Der, ReadsDefiniteMinimalLengthsOnly)
{
  std::string_view in = "\x04\x03" "abc" "rest";
  auto element = der::read(in);
  ASSERT_TRUE(element.has_value());
  EXPECT_EQ(element->tag, 0x04);
  EXPECT_EQ(element->content, "abc");
  EXPECT_EQ(element->encoding, "\x04\x03" "abc");
  EXPECT_EQ(in, "rest");

  const std::string long_form = bytes_of({0x30, 0x81, 0x80}) + std::string(0x80, 'x');
  in = long_form;
  ASSERT_TRUE(der::read(in).has_value());
  EXPECT_TRUE(in.empty());

  for (const auto& bad : {bytes_of({0x30, 0x81, 0x7f}) + std::string(0x7f, 'x'), // long form below 128
                          bytes_of({0x30, 0x82, 0x00, 0x80}) + std::string(0x80, 'x'), // leading zero
                          bytes_of({0x30, 0x80, 0x00, 0x00}),                          // indefinite
                          bytes_of({0x30, 0x05, 0x01}),                                // truncated
                          bytes_of({0x1f, 0x81, 0x01, 0x00}),                          // multi-byte tag
                          bytes_of({0x30, 0x85, 1, 0, 0, 0, 0}),                       // 5 length octets
                          bytes_of({0x30})}) {
    std::string_view view = bad;
    EXPECT_FALSE(der::read(view).has_value()) << to_hex(bad);
  }
}

TEST(Der, EncodeRoundTrips)
{
  for (const std::size_t size : {0u, 1u, 127u, 128u, 255u, 256u, 65535u, 65536u}) {
    const std::string content(size, 'c');
    const auto encoded = der::encode(0x04, content);
    std::string_view in = encoded;
    auto element = der::read(in);
    ASSERT_TRUE(element.has_value()) << size;
    EXPECT_EQ(element->content.size(), size);
    EXPECT_TRUE(in.empty());
  }
}

TEST(Der, DecodesUtf8StringOfFulcioExtensions)
{
  EXPECT_EQ(der::decode_utf8_string("\x0c\x05hello"), "hello");
  EXPECT_EQ(der::decode_utf8_string(der::encode(0x0c, std::string(300, 'u'))), std::string(300, 'u'));
  EXPECT_FALSE(der::decode_utf8_string("\x13\x05hello").has_value()); // PrintableString
  EXPECT_FALSE(der::decode_utf8_string("\x0c\x05hello!").has_value()); // trailing byte
  EXPECT_FALSE(der::decode_utf8_string("\x0c\x06hello").has_value());  // truncated
  EXPECT_FALSE(der::decode_utf8_string("hello").has_value());          // raw, as .1 to .6 are
}

TEST(Der, FulcioExtensionsOfARealCertificate)
{
  REQUIRE_PROVENANCE_FIXTURES();
  auto certificate = pem_certificate(fixture("certs/no-source-repository-ref-extension.pem"));
  ASSERT_TRUE(certificate);
  auto extensions = sigstore::fulcio_extensions(certificate.get());
  ASSERT_TRUE(extensions.has_value()) << extensions.error();
  // .1 (legacy) is the raw string, .8 onwards a DER UTF8String.
  EXPECT_EQ(extensions->at(1), "https://token.actions.githubusercontent.com");
  EXPECT_EQ(der::decode_utf8_string(extensions->at(8)), "https://token.actions.githubusercontent.com");
  EXPECT_EQ(der::decode_utf8_string(extensions->at(12)), "https://github.com/SWIFTSIM/swiftgalaxy");
  EXPECT_EQ(der::decode_utf8_string(extensions->at(13)), "a26eb006d04dd0c41a6e38dc15ddaf7b46143505");
  EXPECT_EQ(der::decode_utf8_string(extensions->at(18)),
            "https://github.com/SWIFTSIM/swiftgalaxy/.github/workflows/python-publish.yml@"
            "a26eb006d04dd0c41a6e38dc15ddaf7b46143505");
  EXPECT_EQ(extensions->count(14), 0u);
  EXPECT_FALSE(der::decode_utf8_string(extensions->at(1)).has_value());
}

// A certificate with extensions A, B, and the SCT list extension in between, to be removed.
struct CertificateWithSct
{
  std::string der;
  std::string tbs_without_sct;
};

CertificateWithSct
certificate_with_sct_in_the_middle()
{
  ossl::EvpPkeyPtr key(EVP_EC_gen("P-256"));
  ossl::X509Ptr certificate(X509_new());
  X509_set_version(certificate.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 600);
  X509_set_pubkey(certificate.get(), key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, certificate.get(), certificate.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_key_usage, "critical,digitalSignature"},
                                   std::pair{NID_ext_key_usage, "codeSigning"}}) {
    X509_EXTENSION* extension = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(certificate.get(), extension, -1);
    X509_EXTENSION_free(extension);
  }
  X509_sign(certificate.get(), key.get(), EVP_sha256());
  CertificateWithSct out;
  unsigned char* tbs = nullptr;
  const int size = i2d_re_X509_tbs(certificate.get(), &tbs);
  out.tbs_without_sct = std::string(reinterpret_cast<char*>(tbs), static_cast<std::size_t>(size));
  OPENSSL_free(tbs);

  ossl::Asn1ObjectPtr oid(OBJ_txt2obj("1.3.6.1.4.1.11129.2.4.2", 1));
  ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(value, reinterpret_cast<const unsigned char*>("\x04\x02\x00\x00"), 4);
  X509_EXTENSION* sct = X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, value);
  X509_add_ext(certificate.get(), sct, 1);
  X509_EXTENSION_free(sct);
  ASN1_OCTET_STRING_free(value);
  X509_sign(certificate.get(), key.get(), EVP_sha256());
  out.der = test::der_of(certificate.get());
  return out;
}

TEST(Der, PrecertificateTbsIsTheTbsWithoutTheSctExtension)
{
  const auto certificate = certificate_with_sct_in_the_middle();
  auto tbs = der::tbs_without_extension(certificate.der, der::k_sct_list_oid);
  ASSERT_TRUE(tbs.has_value()) << tbs.error();
  EXPECT_EQ(*tbs, certificate.tbs_without_sct);

  // Absent extension, and a certificate that is not DER, are errors.
  EXPECT_FALSE(der::tbs_without_extension(certificate.der, "\x2b\x06\x01\x04\x01\xd6\x79\x02\x04\x03").has_value());
  EXPECT_FALSE(der::tbs_without_extension(certificate.der + "x", der::k_sct_list_oid).has_value());
  EXPECT_FALSE(der::tbs_without_extension(certificate.der.substr(0, 100), der::k_sct_list_oid).has_value());
}

TEST(SigstoreCertificate, RejectsBerThatIsNotDer)
{
  REQUIRE_PROVENANCE_FIXTURES();
  auto certificate = pem_certificate(fixture("certs/no-source-repository-ref-extension.pem"));
  ASSERT_TRUE(certificate);
  const auto der = sigstore::to_der(certificate.get());
  ASSERT_TRUE(sigstore::parse_certificate(der));
  // The signature is the last element, a BIT STRING "03 <length> 00 <bytes>" (a short length:
  // an ECDSA signature): claim 3 unused bits and set them. OpenSSL reads that (and would write
  // it with those bits cleared).
  auto padded = der;
  std::size_t bit_string = padded.rfind('\x03');
  while (bit_string != std::string::npos
         && static_cast<unsigned char>(padded[bit_string + 1]) + bit_string + 2 != padded.size()) {
    bit_string = padded.rfind('\x03', bit_string - 1);
  }
  ASSERT_NE(bit_string, std::string::npos);
  ASSERT_EQ(padded[bit_string + 2], '\0');
  padded[bit_string + 2] = '\x03';
  padded.back() = static_cast<char>(padded.back() | 0x07);
  EXPECT_FALSE(sigstore::parse_certificate(padded));
}

TEST(SigstoreSct, SignedInputLayout)
{
  sigstore::Sct sct;
  sct.timestamp_ms = 0x0102030405060708;
  sct.extensions = "\xaa\xbb";
  Sha256 issuer;
  for (std::size_t i = 0; i < 32; ++i) {
    issuer.bytes[i] = static_cast<std::uint8_t>(i);
  }
  std::string expected = bytes_of({0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1});
  expected += sigstore::as_chars(issuer);
  expected += bytes_of({0, 0, 3}) + "TBS" + bytes_of({0, 2, 0xaa, 0xbb});
  EXPECT_EQ(sigstore::sct_signed_input(sct, issuer, "TBS"), expected);
}

TEST(SigstoreSct, ParsesTheTlsList)
{
  std::string sct = bytes_of({0}) + std::string(32, 'L') + bytes_of({0, 0, 0, 0, 0, 0, 1, 0}) + bytes_of({0, 0})
                    + bytes_of({4, 3, 0, 3}) + "sig";
  std::string list = bytes_of({0, static_cast<int>(sct.size())}) + sct;
  std::string tls = bytes_of({0, static_cast<int>(list.size())}) + list;
  auto parsed = sigstore::parse_sct_list(der::encode(0x04, tls));
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ(parsed->front().log_id, std::string(32, 'L'));
  EXPECT_EQ(parsed->front().timestamp_ms, 256u);
  EXPECT_EQ(parsed->front().hash_algorithm, 4);
  EXPECT_EQ(parsed->front().signature_algorithm, 3);
  EXPECT_EQ(parsed->front().signature, "sig");

  EXPECT_FALSE(sigstore::parse_sct_list(tls).has_value());                              // no OCTET STRING
  EXPECT_FALSE(sigstore::parse_sct_list(der::encode(0x04, tls + "x")).has_value());      // list length
  EXPECT_FALSE(sigstore::parse_sct_list(der::encode(0x04, tls.substr(0, 20))).has_value()); // truncated
}

TEST(SigstoreSct, VerifiesTheEmbeddedSctOfARealCertificate)
{
  REQUIRE_PROVENANCE_FIXTURES();
  const auto& root = fixture_root("trust/trusted_root.prod.json").impl();
  auto certificate = pem_certificate(fixture("certs/no-source-repository-ref-extension.pem"));
  ASSERT_TRUE(certificate);
  const auto der = sigstore::to_der(certificate.get());
  // Not Before: Apr 3 15:13:04 2025 GMT.
  const Time t = *parse_rfc3339("2025-04-03T15:14:00Z");
  const Time times[] = {t};
  auto chain = sigstore::verify_certificate_chain(root.certificate_authorities, certificate.get(), times);
  ASSERT_TRUE(chain.has_value()) << chain.error().reason;
  EXPECT_EQ(chain->size(), 3u);
  auto sct = sigstore::verify_embedded_sct(certificate.get(), der, *chain, root.ctlogs);
  EXPECT_TRUE(sct.has_value()) << sct.error().reason;

  // At "now" the ten-minute certificate is long expired: times are the signing time only.
  const Time later[] = {t + std::chrono::hours{24}};
  auto expired = sigstore::verify_certificate_chain(root.certificate_authorities, certificate.get(), later);
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().reason_class, reason::k_certificate_expired);
  // A time past 2262 (a hostile integrated time) is just outside the window: no overflow on
  // the way to OpenSSL (UBSan in the asan build reports one).
  const Time far[] = {*parse_rfc3339("2514-04-20T00:00:00Z")};
  auto future = sigstore::verify_certificate_chain(root.certificate_authorities, certificate.get(), far);
  ASSERT_FALSE(future.has_value());
  EXPECT_EQ(future.error().reason_class, reason::k_certificate_expired);
  const Time late[] = {t, *parse_rfc3339("2514-04-20T00:00:00Z")};
  EXPECT_FALSE(sigstore::verify_certificate_chain(root.certificate_authorities, certificate.get(), late).has_value());
  // Every time must be inside the window, not just the first.
  const Time both[] = {t, t + std::chrono::hours{24}};
  auto second = sigstore::verify_certificate_chain(root.certificate_authorities, certificate.get(), both);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().reason_class, reason::k_certificate_expired);
  EXPECT_NE(second.error().reason.find("depth 0"), std::string::npos) << second.error().reason;

  // One flipped bit in the signed TBS (the SAN) and the SCT no longer verifies.
  auto tampered = der;
  tampered[tampered.find("SWIFTSIM")] ^= 0x20;
  auto tampered_certificate = sigstore::parse_certificate(tampered);
  ASSERT_TRUE(tampered_certificate);
  auto bad = sigstore::verify_embedded_sct(tampered_certificate.get(), tampered, *chain, root.ctlogs);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().reason_class, reason::k_sct);
}

TEST(SigstoreSet, CanonicalJsonPayload)
{
  EXPECT_EQ(sigstore::inclusion_promise_payload("eyJ+/w==", 1733354041, bytes_of({0xc0, 0xd2, 0x3d}), 153454663),
            R"({"body":"eyJ+/w==","integratedTime":1733354041,"logID":"c0d23d","logIndex":153454663})");
  EXPECT_EQ(sigstore::inclusion_promise_payload("a\"b\\\n", 0, "", 0),
            R"({"body":"a\"b\\\n","integratedTime":0,"logID":"","logIndex":0})");
}

// A log key of the fake Sigstore, as the trusted root would hold it.
sigstore::LogKey
log_key(EVP_PKEY* key, std::string id, std::string url)
{
  EVP_PKEY_up_ref(key);
  const bool ed25519 = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
  return sigstore::LogKey{std::move(id), std::move(url),
                          sigstore::PublicKey{ossl::EvpPkeyPtr(key), ed25519 ? nullptr : EVP_sha256()},
                          sigstore::Validity{}};
}

const FakeSigstore&
shared_fake()
{
  static const FakeSigstore fake(*parse_rfc3339("2025-06-01T12:00:00Z"));
  return fake;
}

TEST(SigstoreCheckpoint, ParsesSignedNotes)
{
  const std::string note = "origin\n5\nAAAA\n\n\xe2\x80\x94 name " + base64("hint" + std::string("sig1")) +
                           "\n\xe2\x80\x94 other " + base64("HINTsig2") + "\n";
  auto parsed = sigstore::parse_signed_note(note);
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->text, "origin\n5\nAAAA\n");
  ASSERT_EQ(parsed->signatures.size(), 2u);
  EXPECT_EQ(parsed->signatures[0].name, "name");
  EXPECT_EQ(std::string(parsed->signatures[0].key_hint.begin(), parsed->signatures[0].key_hint.end()), "hint");
  EXPECT_EQ(parsed->signatures[0].signature, "sig1");
  EXPECT_EQ(parsed->signatures[1].name, "other");

  for (const std::string& bad : {std::string("origin\n5\nAAAA\n\xe2\x80\x94 name c2lnbmF0dXJl\n"), // no blank line
                                "origin\n\n- name " + base64("hintsig") + "\n",                  // not an em dash
                                "origin\n\n\xe2\x80\x94 name " + base64("hint") + "\n",          // no signature
                                "origin\n\n\xe2\x80\x94 name " + base64("hintsig"),              // no final newline
                                "origin\n\n\xe2\x80\x94 " + base64("hintsig") + "\n",            // no key name
                                std::string("origin\n\n")}) {
    EXPECT_FALSE(sigstore::parse_signed_note(bad).has_value()) << bad;
  }
}

TEST(SigstoreCheckpoint, ParsesCheckpointText)
{
  const auto root = Sha256::of("root");
  auto parsed = sigstore::parse_checkpoint("rekor.sigstore.dev - 1193050959916656506\n31550402\n" +
                                           base64(sigstore::as_chars(root)) + "\nextra\n");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->origin, "rekor.sigstore.dev - 1193050959916656506");
  EXPECT_EQ(parsed->tree_size, 31550402u);
  EXPECT_EQ(parsed->root_hash, root);
  EXPECT_FALSE(sigstore::parse_checkpoint("origin\n5\n").has_value());
  EXPECT_FALSE(sigstore::parse_checkpoint("origin\nfive\n" + base64(sigstore::as_chars(root)) + "\n").has_value());
  EXPECT_FALSE(sigstore::parse_checkpoint("origin\n5\nAAAA\n").has_value());
  EXPECT_FALSE(sigstore::parse_checkpoint("\n5\n" + base64(sigstore::as_chars(root)) + "\n").has_value());
}

TEST(SigstoreCheckpoint, VerifiesEcdsaAndEd25519Notes)
{
  const auto& fake = shared_fake();
  const auto root = Sha256::of("root");
  for (const auto log : {FakeSigstore::Log::rekor_v1, FakeSigstore::Log::rekor_v2}) {
    const bool v1 = log == FakeSigstore::Log::rekor_v1;
    const auto key = v1 ? log_key(fake.rekor_v1_key(), fake.rekor_v1_log_id(), "https://rekor.fake.test")
                        : log_key(fake.rekor_v2_key(), fake.rekor_v2_log_id(), "https://log2025.rekor.fake.test");
    const auto note = fake.checkpoint(log, 7, root);
    EXPECT_TRUE(sigstore::verify_checkpoint(note, 7, root, key).has_value()) << v1;

    // The signature covers the text: another tree size in the note does not verify.
    auto tampered = note;
    tampered.replace(tampered.find("\n7\n"), 3, "\n8\n");
    auto bad = sigstore::verify_checkpoint(tampered, 8, root, key);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().reason_class, reason::k_checkpoint);
    // A valid note about another tree is not a proof of this one.
    EXPECT_FALSE(sigstore::verify_checkpoint(note, 6, root, key).has_value());
    EXPECT_FALSE(sigstore::verify_checkpoint(note, 7, Sha256::of("other"), key).has_value());
    // Signed by another key (the key hint does not match), or under another log's name.
    const auto other = v1 ? log_key(fake.rekor_v2_key(), fake.rekor_v2_log_id(), "https://rekor.fake.test")
                          : log_key(fake.rekor_v1_key(), fake.rekor_v1_log_id(), "https://log2025.rekor.fake.test");
    EXPECT_FALSE(sigstore::verify_checkpoint(note, 7, root, other).has_value());
    const auto elsewhere = v1 ? log_key(fake.rekor_v1_key(), fake.rekor_v1_log_id(), "https://elsewhere.test")
                              : log_key(fake.rekor_v2_key(), fake.rekor_v2_log_id(), "https://elsewhere.test");
    EXPECT_FALSE(sigstore::verify_checkpoint(note, 7, root, elsewhere).has_value());
  }
}

TEST(SigstoreCheckpoint, Ed25519NoteKeyIdIsTheRekorV2LogId)
{
  REQUIRE_PROVENANCE_FIXTURES();
  const auto root = json::parse(fixture("trust/trusted_root.staging.json"));
  int checked = 0;
  for (const auto& log : root.at("tlogs").as_array()) {
    if (log.at("publicKey").at("keyDetails").as_string() != "PKIX_ED25519") {
      continue;
    }
    // The raw key is the last 32 bytes of the Ed25519 SPKI.
    const auto spki = *base64_decode(log.at("publicKey").at("rawBytes").as_string());
    std::string name(log.at("baseUrl").as_string());
    name = name.substr(name.find("://") + 3);
    EXPECT_EQ(base64(sigstore::as_chars(sigstore::ed25519_note_key_id(name, spki.substr(spki.size() - 32)))),
              log.at("logId").at("keyId").as_string())
      << name;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

// A real-shaped Rekor entry of the fake Sigstore, and what it is about.
struct LoggedEntry
{
  std::string kind;
  std::string version;
  json::object body;
  std::string statement;
  std::string signature;
  std::string certificate;
};

LoggedEntry
logged_entry(FakeSigstore::Log log, std::string kind, std::string version)
{
  const auto& fake = shared_fake();
  const Time t0 = *parse_rfc3339("2025-06-01T12:00:00Z");
  auto leaf = fake.issue(FakeSigstore::email_leaf(t0, "dev@example.com", "https://github.com/login/oauth"));
  FakeSigstore::EntrySpec spec;
  spec.log = log;
  spec.kind = kind;
  spec.version = version;
  spec.integrated_time = t0;
  const auto statement = test::statement_for("demo-1.0.tar.gz", Sha256::of("demo"));
  const auto attestation = fake.attestation(leaf, statement, spec);
  const auto& entry = attestation.at("verification_material").at("transparency_entries").at(0);
  LoggedEntry out{kind, version, {}, statement, {}, leaf.der};
  out.body = json::parse(*base64_decode(entry.at("canonicalizedBody").as_string())).as_object();
  out.signature = *base64_decode(attestation.at("envelope").at("signature").as_string());
  return out;
}

Expected<void>
check_body(const LoggedEntry& entry, const json::object& body)
{
  return sigstore::check_rekor_body(entry.kind, entry.version, json::serialize(body),
                                    sigstore::SignedArtifact{entry.statement, entry.signature, entry.certificate});
}

TEST(SigstoreRekorBody, DsseV001)
{
  const auto entry = logged_entry(FakeSigstore::Log::rekor_v1, "dsse", "0.0.1");
  EXPECT_TRUE(check_body(entry, entry.body).has_value());

  auto mutate = [&](auto change) {
    auto body = entry.body;
    change(body);
    return check_body(entry, body);
  };
  EXPECT_FALSE(mutate([](json::object& b) { b["kind"] = "hashedrekord"; }));
  EXPECT_FALSE(mutate([](json::object& b) { b["apiVersion"] = "0.0.2"; }));
  const auto payload_hash = [](json::object& b) -> json::object& {
    return b["spec"].as_object()["payloadHash"].as_object();
  };
  EXPECT_FALSE(mutate([&](json::object& b) { payload_hash(b)["value"] = std::string(64, 'a'); }));
  EXPECT_FALSE(mutate([&](json::object& b) { payload_hash(b)["algorithm"] = "sha512"; }));
  EXPECT_FALSE(mutate([](json::object& b) {
    auto& signatures = b["spec"].as_object()["signatures"].as_array();
    signatures.push_back(signatures[0]);
  }));
  EXPECT_FALSE(mutate([](json::object& b) {
    b["spec"].as_object()["signatures"].as_array()[0].as_object()["signature"] = base64("other");
  }));
  EXPECT_FALSE(mutate([&](json::object& b) {
    const auto other = logged_entry(FakeSigstore::Log::rekor_v1, "dsse", "0.0.1");
    b["spec"].as_object()["signatures"] = other.body.at("spec").at("signatures");
  }));
  // Another statement logged under the same signature.
  auto other_statement = entry;
  other_statement.statement += " ";
  EXPECT_FALSE(check_body(other_statement, entry.body).has_value());
  // A kind the entry does not claim, and kinds not supported at all.
  EXPECT_FALSE(sigstore::check_rekor_body("intoto", "0.0.2", json::serialize(entry.body), {}).has_value());
  EXPECT_FALSE(sigstore::check_rekor_body("dsse", "0.0.1", "not json", {}).has_value());
}

TEST(SigstoreRekorBody, RekorV2Kinds)
{
  for (const auto& [kind, inner] : {std::pair{"dsse", "dsseV002"}, std::pair{"hashedrekord", "hashedRekordV002"}}) {
    const auto entry = logged_entry(FakeSigstore::Log::rekor_v2, kind, "0.0.2");
    EXPECT_TRUE(check_body(entry, entry.body).has_value()) << kind;
    auto body = entry.body;
    auto& spec = body["spec"].as_object()[inner].as_object();
    auto& signature = std::string_view(kind) == "dsse" ? spec["signatures"].as_array()[0].as_object()
                                                        : spec["signature"].as_object();
    signature["verifier"].as_object()["keyDetails"] = "PKIX_ECDSA_P384_SHA_384";
    EXPECT_FALSE(check_body(entry, body).has_value()) << kind;
    signature["verifier"].as_object()["keyDetails"] = "PKIX_ECDSA_P256_SHA_256";
    signature["verifier"].as_object()["x509Certificate"].as_object()["rawBytes"] = base64("not the leaf");
    EXPECT_FALSE(check_body(entry, body).has_value()) << kind;
    // The other v2 kind's body is not accepted for this kind.
    EXPECT_FALSE(sigstore::check_rekor_body(std::string_view(kind) == "dsse" ? "hashedrekord" : "dsse", "0.0.2",
                                            json::serialize(entry.body),
                                            {entry.statement, entry.signature, entry.certificate})
                   .has_value());
  }
}

// ---------------------------------------------------------------------------------------------
// Identity policy, publishers and the trusted root

TEST(SigstoreIdentity, GitHubPublisherWithOnlyASourceDigest)
{
  REQUIRE_PROVENANCE_FIXTURES();
  auto certificate = pem_certificate(fixture("certs/no-source-repository-ref-extension.pem"));
  ASSERT_TRUE(certificate);
  const auto check = [&](std::string repository, std::string workflow) {
    return sigstore::check_identity(certificate.get(),
                                    Publisher{"GitHub", std::move(repository), std::move(workflow), "", ""});
  };
  EXPECT_TRUE(check("SWIFTSIM/swiftgalaxy", "python-publish.yml").has_value());
  for (const auto& bad : {check("SWIFTSIM/swiftgalaxy", "release.yml"), check("SWIFTSIM/other", "python-publish.yml"),
                          check("swiftsim/swiftgalaxy", "python-publish.yml")}) {
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().reason_class, reason::k_identity);
  }
  EXPECT_FALSE(sigstore::check_identity(certificate.get(), Publisher{"GitLab", "SWIFTSIM/swiftgalaxy",
                                                                     "python-publish.yml", "", ""})
                 .has_value());
}

TEST(SigstoreIdentity, RepositoryIdsOfRealCertificates)
{
  REQUIRE_PROVENANCE_FIXTURES();
  auto github = pem_certificate(fixture("certs/no-source-repository-ref-extension.pem"));
  auto google = pem_certificate(fixture("certs/200170367.pem"));
  ASSERT_TRUE(github && google);
  EXPECT_EQ(sigstore::repository_ids(github.get()), (sigstore::RepositoryIds{"488271795", "37541309"}));
  EXPECT_EQ(sigstore::repository_ids(google.get()), (sigstore::RepositoryIds{"", ""}));
}

TEST(SigstoreIdentity, GoogleServiceAccountAndPlainIdentities)
{
  REQUIRE_PROVENANCE_FIXTURES();
  auto certificate = pem_certificate(fixture("certs/200170367.pem"));
  ASSERT_TRUE(certificate);
  const std::string email = "919436158236-compute@developer.gserviceaccount.com";
  EXPECT_TRUE(sigstore::check_identity(certificate.get(), Publisher{"Google", "", "", "", email}).has_value());
  EXPECT_FALSE(
    sigstore::check_identity(certificate.get(), Publisher{"Google", "", "", "", "other@example.com"}).has_value());
  EXPECT_TRUE(
    sigstore::check_identity(certificate.get(), SignerIdentity{email, "https://accounts.google.com"}).has_value());
  EXPECT_FALSE(
    sigstore::check_identity(certificate.get(), SignerIdentity{email, "https://github.com/login/oauth"}).has_value());
  EXPECT_FALSE(sigstore::check_identity(certificate.get(), Publisher{"GitHub", "a/b", "c.yml", "", ""}).has_value());
  EXPECT_EQ(sigstore::certificate_identity(certificate.get()),
            (SignerIdentity{email, "https://accounts.google.com"}));
}

TEST(SigstoreIdentity, GitLabBuildConfigHasADoubleSlash)
{
  auto spec = FakeSigstore::github_leaf(*parse_rfc3339("2025-06-01T12:00:00Z"), "group/project", "x");
  const std::string build = "https://gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main";
  spec.san_uri = build;
  spec.extensions = {{8, "https://gitlab.com"},
                     {12, "https://gitlab.com/group/project"},
                     {14, "refs/heads/main"},
                     {18, build}};
  const auto leaf = shared_fake().issue(spec);
  const auto check = [&](std::string workflow) {
    return sigstore::check_identity(leaf.certificate.get(), Publisher{"GitLab", "group/project", workflow, "", ""});
  };
  EXPECT_TRUE(check(".gitlab-ci.yml").has_value());
  EXPECT_FALSE(check("/.gitlab-ci.yml").has_value());
  EXPECT_FALSE(check("ci.yml").has_value());
  // A GitHub publisher of the same name does not match a GitLab certificate.
  EXPECT_FALSE(sigstore::check_identity(leaf.certificate.get(),
                                        Publisher{"GitHub", "group/project", ".gitlab-ci.yml", "", ""})
                 .has_value());
}

TEST(SigstoreIdentity, ExtensionValuesMustBeUtf8Strings)
{
  auto spec = FakeSigstore::github_leaf(*parse_rfc3339("2025-06-01T12:00:00Z"), "acme/demo", "release.yml");
  // .12 written raw, as the legacy extensions are: not a DER UTF8String.
  spec.extensions.erase(12);
  const auto leaf_without = shared_fake().issue(spec);
  const Publisher publisher{"GitHub", "acme/demo", "release.yml", "", ""};
  EXPECT_FALSE(sigstore::check_identity(leaf_without.certificate.get(), publisher).has_value());
  spec.extensions.erase(13);
  spec.extensions.erase(14);
  spec.extensions[12] = "https://github.com/acme/demo";
  const auto leaf_no_ref = shared_fake().issue(spec);
  auto result = sigstore::check_identity(leaf_no_ref.certificate.get(), publisher);
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().reason.find("neither"), std::string::npos) << result.error().reason;
}

TEST(ProvenancePublisher, ParsesThePyPIForms)
{
  auto github = Publisher::parse(
    R"({"kind":"GitHub","repository":"pypa/sampleproject","workflow":"release.yml","environment":"","claims":null})");
  ASSERT_TRUE(github.has_value()) << github.error();
  EXPECT_EQ(*github, (Publisher{"GitHub", "pypa/sampleproject", "release.yml", "", ""}));
  auto with_environment =
    Publisher::parse(R"({"kind":"GitHub","repository":"a/b","workflow":"w.yml","environment":"pypi"})");
  ASSERT_TRUE(with_environment.has_value());
  EXPECT_EQ(with_environment->environment, "pypi");
  EXPECT_TRUE(same_signer(*with_environment, Publisher{"GitHub", "a/b", "w.yml", "", ""}));
  EXPECT_FALSE(same_signer(*with_environment, Publisher{"GitHub", "a/b", "x.yml", "pypi", ""}));

  auto gitlab = Publisher::parse(R"({"kind":"GitLab","repository":"pep740-example/sampleproject",)"
                                 R"("workflow_filepath":".gitlab-ci.yml","environment":null})");
  ASSERT_TRUE(gitlab.has_value()) << gitlab.error();
  EXPECT_EQ(gitlab->workflow, ".gitlab-ci.yml");
  auto google = Publisher::parse(R"({"email":"x@developer.gserviceaccount.com","kind":"Google"})");
  ASSERT_TRUE(google.has_value());
  EXPECT_EQ(google->email, "x@developer.gserviceaccount.com");

  for (const auto* bad : {R"({"kind":"ActiveState","organization":"x"})", R"({"repository":"a/b"})",
                          R"({"kind":"GitHub","repository":"a/b"})",
                          R"({"kind":"GitHub","repository":"","workflow":"w"})",
                          R"({"kind":"GitLab","repository":"a/b","workflow":"w.yml"})",
                          R"({"kind":"GitHub","repository":"a/b","workflow":"w","environment":7})", "[]", "nope"}) {
    EXPECT_FALSE(Publisher::parse(bad).has_value()) << bad;
  }
}

TEST(SigstoreTrustedRoot, ParsesRealRootsAndRejectsBrokenOnes)
{
  REQUIRE_PROVENANCE_FIXTURES();
  for (const auto* name : {"trust/trusted_root.prod.json", "trust/trusted_root.staging.json"}) {
    auto root = TrustedRoot::parse(fixture(name));
    ASSERT_TRUE(root.has_value()) << name << ": " << root.error();
    EXPECT_GE(root->impl().certificate_authorities.size(), 1u);
    EXPECT_GE(root->impl().timestamp_authorities.size(), 1u);
  }
  const auto& prod = fixture_root("trust/trusted_root.prod.json").impl();
  EXPECT_EQ(prod.tlogs.size(), 2u); // Rekor v1 (P-256) and log2025-1 (Ed25519)
  EXPECT_EQ(prod.ctlogs.size(), 2u);
  // Staging's expired RSA CT log is kept too: its PKCS#1 key parses.
  EXPECT_EQ(fixture_root("trust/trusted_root.staging.json").impl().ctlogs.size(), 4u);

  auto edit = [&](auto change) {
    auto value = json::parse(fixture("trust/trusted_root.prod.json"));
    change(value.as_object());
    return TrustedRoot::parse(json::serialize(value));
  };
  EXPECT_FALSE(edit([](json::object& r) { r["mediaType"] = "application/json"; }));
  EXPECT_FALSE(edit([](json::object& r) {
    r["certificateAuthorities"].as_array()[0].as_object()["certChain"].as_object()["certificates"].as_array()[0]
      .as_object()["rawBytes"] = "AAAA";
  }));
  EXPECT_FALSE(edit([](json::object& r) {
    r["tlogs"].as_array()[0].as_object()["publicKey"].as_object()["validFor"].as_object().erase("start");
  }));
  EXPECT_FALSE(edit([](json::object& r) {
    r["tlogs"].as_array()[0].as_object()["publicKey"].as_object()["keyDetails"] = "PKIX_ED25519"; // not that key
  }));
  EXPECT_FALSE(edit([](json::object& r) { r["certificateAuthorities"] = json::array{}; }));
  EXPECT_FALSE(edit([](json::object& r) { r["tlogs"] = "none"; }));
  // A key type this verifier does not know is skipped, not fatal.
  auto unknown = edit([](json::object& r) {
    r["tlogs"].as_array()[1].as_object()["publicKey"].as_object()["keyDetails"] = "PKIX_ML_DSA_65";
  });
  ASSERT_TRUE(unknown.has_value()) << unknown.error();
  EXPECT_EQ(unknown->impl().tlogs.size(), 1u);
  EXPECT_FALSE(TrustedRoot::parse("{").has_value());
  EXPECT_FALSE(TrustedRoot::parse(std::string(2 * 1024 * 1024, ' ')).has_value());
}

// ---------------------------------------------------------------------------------------------
// Policy paths against the tests' own Sigstore

class ProvenancePolicy : public ::testing::Test
{
protected:
  static inline const Time k_t0 = *parse_rfc3339("2025-06-01T12:00:00Z");
  static inline const std::string k_name = "demo-1.0.tar.gz";
  static inline const Sha256 k_digest = Sha256::of("the bytes of demo 1.0");

  ProvenancePolicy() : m_root(*TrustedRoot::parse(fake().trusted_root_json())) {}

  static const FakeSigstore&
  fake()
  {
    return shared_fake();
  }

  static Publisher
  publisher()
  {
    return Publisher{"GitHub", "acme/demo", "release.yml", "", ""};
  }

  static FakeSigstore::EntrySpec
  entry()
  {
    FakeSigstore::EntrySpec spec;
    spec.integrated_time = k_t0 + 1min;
    return spec;
  }

  static FakeSigstore::LeafSpec
  leaf_spec()
  {
    return FakeSigstore::github_leaf(k_t0, "acme/demo", "release.yml");
  }

  static json::object
  attestation(const FakeSigstore::LeafSpec& leaf = leaf_spec(), const FakeSigstore::EntrySpec& spec = entry(),
              const std::string& statement = test::statement_for(k_name, k_digest))
  {
    return fake().attestation(fake().issue(leaf), statement, spec);
  }

  ProvenanceResult
  verify(const json::object& object, std::optional<IdentityPolicy> policy = publisher(),
         std::string_view name = k_name, const Sha256& digest = k_digest) const
  {
    return verify_attestation(json::serialize(object), name, digest, m_root, policy);
  }

  static json::object&
  log_entry(json::object& object)
  {
    return object["verification_material"].as_object()["transparency_entries"].as_array()[0].as_object();
  }

  TrustedRoot m_root;
};

#define EXPECT_INVALID(result, expected_class)                                                 \
  do {                                                                                         \
    const auto& r_ = (result);                                                                 \
    EXPECT_EQ(r_.status, ProvenanceStatus::invalid);                                           \
    EXPECT_EQ(r_.reason_class, (expected_class)) << r_.reason;                                 \
    EXPECT_FALSE(r_.reason.empty());                                                           \
  } while (false)

TEST_F(ProvenancePolicy, ValidAttestationVerifiesAtItsSigningTime)
{
  const auto result = verify(attestation());
  EXPECT_EQ(result.status, ProvenanceStatus::verified) << result.reason_class << ": " << result.reason;
  EXPECT_EQ(result.reason_class, "");
  EXPECT_EQ(result.signed_at, k_t0 + 1min);
  EXPECT_EQ(result.publisher, publisher());
  ASSERT_TRUE(result.signer.has_value());
  EXPECT_EQ(result.signer->identity, "https://github.com/acme/demo/.github/workflows/release.yml@refs/tags/v1.0");
  EXPECT_EQ(result.signer->issuer, "https://token.actions.githubusercontent.com");
  // Without an identity policy, any Fulcio identity passes and is reported.
  const auto any = verify(attestation(), std::nullopt);
  EXPECT_EQ(any.status, ProvenanceStatus::verified) << any.reason;
  EXPECT_FALSE(any.publisher.has_value());
}

TEST_F(ProvenancePolicy, ConcurrentVerificationsShareOneRoot)
{
  const auto good = json::serialize(attestation());
  auto bad_object = attestation();
  bad_object["envelope"].as_object()["signature"] = attestation().at("envelope").at("signature");
  const auto bad = json::serialize(bad_object);
  std::vector<ProvenanceResult> results(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < 5; ++n) {
        results[i] = verify_attestation(i % 2 == 0 ? good : bad, k_name, k_digest, m_root, publisher());
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].status, i % 2 == 0 ? ProvenanceStatus::verified : ProvenanceStatus::invalid) << i;
  }
}

TEST_F(ProvenancePolicy, CertificateExpiredAtSigningTime)
{
  auto late = entry();
  late.integrated_time = k_t0 + 20min; // the leaf lives ten minutes
  EXPECT_INVALID(verify(attestation(leaf_spec(), late)), reason::k_certificate_expired);
  auto early = entry();
  early.integrated_time = k_t0 - 1min;
  EXPECT_INVALID(verify(attestation(leaf_spec(), early)), reason::k_certificate_expired);
}

TEST_F(ProvenancePolicy, WrongIdentity)
{
  const auto object = attestation();
  EXPECT_INVALID(verify(object, Publisher{"GitHub", "acme/other", "release.yml", "", ""}), reason::k_identity);
  EXPECT_INVALID(verify(object, Publisher{"GitHub", "acme/demo", "publish.yml", "", ""}), reason::k_identity);
  EXPECT_INVALID(verify(object, Publisher{"GitLab", "acme/demo", "release.yml", "", ""}), reason::k_identity);
  EXPECT_INVALID(verify(object, Publisher{"Google", "", "", "", "dev@example.com"}), reason::k_identity);
  EXPECT_INVALID(verify(object, SignerIdentity{"dev@example.com", "https://token.actions.githubusercontent.com"}),
                 reason::k_identity);
  // The signer is still reported, so a caller can say who did sign.
  const auto result = verify(object, Publisher{"GitHub", "acme/other", "release.yml", "", ""});
  ASSERT_TRUE(result.signer.has_value());
  EXPECT_EQ(result.signer->issuer, "https://token.actions.githubusercontent.com");
  // A personal identity is not a Trusted Publisher, but matches as a plain identity.
  const auto personal =
    attestation(FakeSigstore::email_leaf(k_t0, "dev@example.com", "https://github.com/login/oauth"));
  EXPECT_INVALID(verify(personal), reason::k_identity);
  EXPECT_EQ(verify(personal, SignerIdentity{"dev@example.com", "https://github.com/login/oauth"}).status,
            ProvenanceStatus::verified);
}

TEST_F(ProvenancePolicy, TamperedSignature)
{
  auto object = attestation();
  auto& envelope = object["envelope"].as_object();
  auto signature = *base64_decode(envelope["signature"].as_string());
  signature[signature.size() - 3] ^= 0x01;
  envelope["signature"] = base64(signature);
  EXPECT_INVALID(verify(object), reason::k_signature);

  // A valid signature over another statement, swapped in.
  auto swapped = attestation();
  const auto other = attestation();
  swapped["envelope"].as_object()["signature"] = other.at("envelope").at("signature");
  EXPECT_INVALID(verify(swapped), reason::k_signature);
}

TEST_F(ProvenancePolicy, TamperedStatement)
{
  auto object = attestation();
  object["envelope"].as_object()["statement"] =
    base64(test::statement_for(k_name, Sha256::of("other bytes")));
  EXPECT_INVALID(verify(object), reason::k_signature);
}

TEST_F(ProvenancePolicy, RekorV2WithTimestampAuthority)
{
  for (const auto* kind : {"hashedrekord", "dsse"}) {
    auto spec = entry();
    spec.log = FakeSigstore::Log::rekor_v2;
    spec.kind = kind;
    spec.version = "0.0.2";
    spec.with_set = false;
    spec.timestamp = k_t0 + 2min;
    const auto result = verify(attestation(leaf_spec(), spec));
    EXPECT_EQ(result.status, ProvenanceStatus::verified)
      << kind << ": " << result.reason_class << ": " << result.reason;
    EXPECT_EQ(result.signed_at, k_t0 + 2min) << kind;

    // Rekor v2 gives no time of its own: without the timestamp there is none.
    spec.timestamp.reset();
    EXPECT_INVALID(verify(attestation(leaf_spec(), spec)), reason::k_no_verified_time);
    // A timestamp after the leaf expired.
    spec.timestamp = k_t0 + 11min;
    EXPECT_INVALID(verify(attestation(leaf_spec(), spec)), reason::k_certificate_expired);
  }
}

TEST_F(ProvenancePolicy, TimestampMustCoverThisSignature)
{
  auto spec = entry();
  spec.timestamp = k_t0 + 2min;
  auto object = attestation(leaf_spec(), spec);
  EXPECT_EQ(verify(object).status, ProvenanceStatus::verified);
  EXPECT_EQ(verify(object).signed_at, k_t0 + 1min); // the earlier of SET and TSA

  // A genuine timestamp, but over other data.
  auto& material = object["verification_material"].as_object();
  material["timestamps"] = json::array{json::value(base64(fake().timestamp("other", k_t0 + 2min)))};
  EXPECT_INVALID(verify(object), reason::k_timestamp);
  // Bytes that are no TimeStampResp at all.
  material["timestamps"] = json::array{json::value(base64("garbage"))};
  EXPECT_INVALID(verify(object), reason::k_timestamp);
  // The same timestamp twice.
  const auto good = base64(fake().timestamp(*base64_decode(object.at("envelope").at("signature").as_string()),
                                            k_t0 + 2min));
  material["timestamps"] = json::array{json::value(good), json::value(good)};
  EXPECT_INVALID(verify(object), reason::k_malformed);
}

TEST_F(ProvenancePolicy, TimestampAuthorityCertificateIsCheckedAtGenTime)
{
  // The TSA's certificate starts an hour after the timestamp it signed; it is valid "now".
  FakeSigstore sigstore(k_t0);
  sigstore.reissue_tsa(k_t0 + 1h);
  auto root = TrustedRoot::parse(sigstore.trusted_root_json());
  ASSERT_TRUE(root.has_value()) << root.error();
  auto spec = entry();
  spec.timestamp = k_t0 + 2min;
  const auto object = sigstore.attestation(sigstore.issue(leaf_spec()), test::statement_for(k_name, k_digest), spec);
  const auto result = verify_attestation(json::serialize(object), k_name, k_digest, *root, publisher());
  EXPECT_INVALID(result, reason::k_timestamp);
  EXPECT_NE(result.reason.find("does not verify"), std::string::npos) << result.reason;
}

TEST_F(ProvenancePolicy, NoVerifiedTime)
{
  auto spec = entry();
  spec.with_set = false; // an integratedTime without a SET proves nothing
  EXPECT_INVALID(verify(attestation(leaf_spec(), spec)), reason::k_no_verified_time);
}

TEST_F(ProvenancePolicy, TransparencyLogChecks)
{
  auto unknown = attestation();
  log_entry(unknown)["logId"] = json::object{{"keyId", base64(std::string(32, 'x'))}};
  EXPECT_INVALID(verify(unknown), reason::k_unknown_log);

  auto spec = entry();
  spec.logged_statement = test::statement_for(k_name, Sha256::of("something else"));
  EXPECT_INVALID(verify(attestation(leaf_spec(), spec)), reason::k_tlog_body);

  spec = entry();
  spec.with_proof = false;
  EXPECT_INVALID(verify(attestation(leaf_spec(), spec)), reason::k_inclusion_proof);

  auto bad_proof = attestation();
  auto& hashes = log_entry(bad_proof)["inclusionProof"].as_object()["hashes"].as_array();
  std::swap(hashes[0], hashes[1]);
  EXPECT_INVALID(verify(bad_proof), reason::k_inclusion_proof);

  auto short_proof = attestation();
  log_entry(short_proof)["inclusionProof"].as_object()["hashes"].as_array().pop_back();
  EXPECT_INVALID(verify(short_proof), reason::k_inclusion_proof);

  // A checkpoint the log really signed, but for another tree.
  auto other_tree = attestation();
  log_entry(other_tree)["inclusionProof"].as_object()["checkpoint"].as_object()["envelope"] =
    fake().checkpoint(FakeSigstore::Log::rekor_v1, 7, Sha256::of("another root"));
  EXPECT_INVALID(verify(other_tree), reason::k_checkpoint);

  auto bad_set = attestation();
  auto& entry_object = log_entry(bad_set);
  entry_object["integratedTime"] = std::to_string((k_t0 + 1min + 1s).time_since_epoch().count());
  EXPECT_INVALID(verify(bad_set), reason::k_inclusion_promise);

  // The SET signs the global index, not the shard-local one of the proof.
  auto shard_index = attestation();
  log_entry(shard_index)["logIndex"] = log_entry(shard_index)["inclusionProof"].as_object()["logIndex"];
  EXPECT_INVALID(verify(shard_index), reason::k_inclusion_promise);
}

TEST_F(ProvenancePolicy, CertificateTransparency)
{
  auto no_sct = leaf_spec();
  no_sct.embed_sct = false;
  EXPECT_INVALID(verify(attestation(no_sct)), reason::k_sct);

  ossl::EvpPkeyPtr rogue(EVP_EC_gen("P-256"));
  auto rogue_sct = leaf_spec();
  rogue_sct.sct_key = rogue.get();
  EXPECT_INVALID(verify(attestation(rogue_sct)), reason::k_sct);
}

TEST_F(ProvenancePolicy, CertificateChainAndUsage)
{
  // A leaf of another Fulcio (as staging is to production).
  const FakeSigstore other(k_t0);
  const auto foreign = other.attestation(other.issue(leaf_spec()), test::statement_for(k_name, k_digest), entry());
  EXPECT_INVALID(verify(foreign), reason::k_certificate_chain);

  auto no_code_signing = leaf_spec();
  no_code_signing.code_signing = false;
  EXPECT_INVALID(verify(attestation(no_code_signing)), reason::k_certificate_usage);

  auto not_a_certificate = attestation();
  not_a_certificate["verification_material"].as_object()["certificate"] = base64("not DER");
  EXPECT_INVALID(verify(not_a_certificate), reason::k_malformed);
}

TEST_F(ProvenancePolicy, StatementAndSubject)
{
  EXPECT_INVALID(verify(attestation(), publisher(), k_name, Sha256::of("tampered")), reason::k_subject_digest);
  EXPECT_INVALID(verify(attestation(), publisher(), "demo-1.1.tar.gz"), reason::k_subject_name);
  EXPECT_INVALID(verify(attestation(), publisher(), "other-1.0.tar.gz"), reason::k_subject_name);
  EXPECT_INVALID(verify(attestation(), publisher(), "demo-1.0.zip"), reason::k_subject_name);
  EXPECT_INVALID(verify(attestation(), publisher(), "not a distribution"), reason::k_subject_name);
  // Names compare in their normalized forms.
  EXPECT_EQ(verify(attestation(), publisher(), "Demo-1.0.tar.gz").status, ProvenanceStatus::verified);
  EXPECT_EQ(verify(attestation(), publisher(), "demo-01.0.tar.gz").status, ProvenanceStatus::verified);

  const auto wheel = [&](std::string subject, std::string dist) {
    return verify(attestation(leaf_spec(), entry(), test::statement_for(subject, k_digest)), publisher(), dist);
  };
  EXPECT_EQ(wheel("demo-1.0-py2.py3-none-any.whl", "demo-1.0-py3.py2-none-any.whl").status, ProvenanceStatus::verified);
  EXPECT_EQ(wheel("demo-1.0-1-py3-none-any.whl", "demo-1.0-01-py3-none-any.whl").status, ProvenanceStatus::verified);
  EXPECT_INVALID(wheel("demo-1.0-1-py3-none-any.whl", "demo-1.0-2-py3-none-any.whl"), reason::k_subject_name);
  EXPECT_INVALID(wheel("demo-1.0-py3-none-any.whl", "demo-1.0-py3-none-manylinux1_x86_64.whl"),
                 reason::k_subject_name);
  EXPECT_INVALID(wheel("demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"), reason::k_subject_name);

  const auto statement = [&](json::object object) {
    return verify(attestation(leaf_spec(), entry(), json::serialize(object)));
  };
  auto base = json::parse(test::statement_for(k_name, k_digest)).as_object();
  auto other_predicate = base;
  other_predicate["predicateType"] = "https://example.com/whatever/v1";
  EXPECT_INVALID(statement(other_predicate), reason::k_predicate_type);
  auto slsa = base;
  slsa["predicateType"] = "https://slsa.dev/provenance/v1";
  EXPECT_EQ(statement(slsa).status, ProvenanceStatus::verified);
  auto two_subjects = base;
  two_subjects["subject"].as_array().push_back(two_subjects["subject"].as_array()[0]);
  EXPECT_INVALID(statement(two_subjects), reason::k_statement);
  auto old_type = base;
  old_type["_type"] = "https://in-toto.io/Statement/v0.1";
  EXPECT_INVALID(statement(old_type), reason::k_statement);
  EXPECT_INVALID(verify(attestation(leaf_spec(), entry(), "not json")), reason::k_statement);
}

TEST_F(ProvenancePolicy, MalformedAndOversizedInputFailClosed)
{
  EXPECT_INVALID(verify_attestation("not json", k_name, k_digest, m_root, publisher()), reason::k_malformed);
  EXPECT_INVALID(verify_attestation("[]", k_name, k_digest, m_root, publisher()), reason::k_malformed);
  EXPECT_INVALID(verify_attestation("{}", k_name, k_digest, m_root, publisher()), reason::k_unsupported);
  EXPECT_INVALID(verify_attestation(std::string(2 * 1024 * 1024, ' '), k_name, k_digest, m_root, publisher()),
                 reason::k_too_large);
  EXPECT_INVALID(verify_attestation(std::string(100, '[') + std::string(100, ']'), k_name, k_digest, m_root,
                                    publisher()),
                 reason::k_too_large);

  auto version_two = attestation();
  version_two["version"] = 2;
  EXPECT_INVALID(verify(version_two), reason::k_unsupported);
  auto intoto = attestation();
  log_entry(intoto)["kindVersion"] = json::object{{"kind", "intoto"}, {"version", "0.0.2"}};
  EXPECT_INVALID(verify(intoto), reason::k_unsupported);
  auto two_entries = attestation();
  auto& entries = two_entries["verification_material"].as_object()["transparency_entries"].as_array();
  entries.push_back(entries[0]);
  EXPECT_INVALID(verify(two_entries), reason::k_malformed);
  auto bad_base64 = attestation();
  bad_base64["envelope"].as_object()["statement"] = "not base64!";
  EXPECT_INVALID(verify(bad_base64), reason::k_malformed);
  auto huge_statement = attestation();
  huge_statement["envelope"].as_object()["statement"] = base64(std::string(600 * 1024, 'x'));
  EXPECT_INVALID(verify(huge_statement), reason::k_too_large);
  auto many_timestamps = attestation();
  json::array timestamps(33, json::value(base64("x")));
  many_timestamps["verification_material"].as_object()["timestamps"] = timestamps;
  EXPECT_INVALID(verify(many_timestamps), reason::k_too_large);

  // Failures leave nothing on this thread's OpenSSL error queue.
  EXPECT_EQ(ERR_peek_error(), 0u);
}

json::object
provenance_of(std::initializer_list<std::pair<json::object, json::array>> bundles)
{
  json::array array;
  for (const auto& [publisher, attestations] : bundles) {
    array.push_back(json::object{{"publisher", publisher}, {"attestations", attestations}});
  }
  return json::object{{"version", 1}, {"attestation_bundles", std::move(array)}};
}

const json::object k_demo_publisher{
  {"kind", "GitHub"}, {"repository", "acme/demo"}, {"workflow", "release.yml"}, {"environment", nullptr}};

TEST_F(ProvenancePolicy, ProvenanceUsesEachBundlesPublisher)
{
  const auto run = [&](const json::object& provenance, const Publisher* expected) {
    return verify_provenance(json::serialize(provenance), k_name, k_digest, m_root, expected);
  };
  auto slsa = json::parse(test::statement_for(k_name, k_digest)).as_object();
  slsa["predicateType"] = "https://slsa.dev/provenance/v1";
  const auto slsa_attestation = attestation(leaf_spec(), entry(), json::serialize(slsa));
  const auto provenance = provenance_of({{k_demo_publisher, json::array{attestation(), slsa_attestation}}});

  const auto verified = run(provenance, nullptr);
  EXPECT_EQ(verified.status, ProvenanceStatus::verified) << verified.reason;
  EXPECT_EQ(verified.publisher, publisher());
  EXPECT_EQ(verified.signed_at, k_t0 + 1min);
  auto pinned = publisher();
  pinned.environment = "pypi"; // not in the certificate: not compared
  EXPECT_EQ(run(provenance, &pinned).status, ProvenanceStatus::verified);

  // Valid, but not the publisher the project had: the proxy holds it.
  const Publisher previous{"GitHub", "acme/demo-old", "release.yml", "", ""};
  const auto changed = run(provenance, &previous);
  EXPECT_INVALID(changed, reason::k_publisher_mismatch);
  EXPECT_EQ(changed.publisher, publisher());

  // The publisher object is not signed: one the certificate does not match fails.
  auto attacker = k_demo_publisher;
  attacker["repository"] = "attacker/demo";
  EXPECT_INVALID(run(provenance_of({{attacker, json::array{attestation()}}}), nullptr), reason::k_identity);
  auto active_state = json::object{{"kind", "ActiveState"}, {"organization", "acme"}};
  EXPECT_INVALID(run(provenance_of({{active_state, json::array{attestation()}}}), nullptr),
                 reason::k_unsupported_publisher);

  // Every attestation counts: one bad one spoils the lot.
  auto tampered = attestation();
  tampered["envelope"].as_object()["signature"] = attestation().at("envelope").at("signature");
  EXPECT_INVALID(run(provenance_of({{k_demo_publisher, json::array{attestation(), tampered}}}), nullptr),
                 reason::k_signature);

  // Two bundles, each valid for its own publisher, still disagree about who published.
  auto other_publisher = k_demo_publisher;
  other_publisher["repository"] = "acme/fork";
  const auto fork = attestation(FakeSigstore::github_leaf(k_t0, "acme/fork", "release.yml"));
  const auto two_bundles =
    provenance_of({{k_demo_publisher, json::array{attestation()}}, {other_publisher, json::array{fork}}});
  EXPECT_INVALID(run(two_bundles, nullptr), reason::k_publisher_mismatch);
}

TEST_F(ProvenancePolicy, RepositoryAndOwnerIdsComeFromTheCertificate)
{
  auto spec = leaf_spec();
  spec.extensions[15] = "772247423";
  spec.extensions[17] = "2314423";
  const auto with_ids = verify(attestation(spec));
  EXPECT_EQ(with_ids.status, ProvenanceStatus::verified) << with_ids.reason;
  EXPECT_EQ(with_ids.repository_id, "772247423");
  EXPECT_EQ(with_ids.owner_id, "2314423");
  // They are the certificate's, not the publisher's: also without an identity policy.
  const auto any = verify(attestation(spec), std::nullopt);
  EXPECT_EQ(any.status, ProvenanceStatus::verified) << any.reason;
  EXPECT_EQ(any.repository_id, "772247423");
  EXPECT_EQ(any.owner_id, "2314423");
  const auto one = provenance_of({{k_demo_publisher, json::array{attestation(spec)}}});
  const auto provenance = verify_provenance(json::serialize(one), k_name, k_digest, m_root, nullptr);
  EXPECT_EQ(provenance.status, ProvenanceStatus::verified) << provenance.reason;
  EXPECT_EQ(provenance.repository_id, "772247423");
  EXPECT_EQ(provenance.owner_id, "2314423");

  const auto without = verify(attestation());
  EXPECT_EQ(without.status, ProvenanceStatus::verified) << without.reason;
  EXPECT_EQ(without.repository_id, "");
  EXPECT_EQ(without.owner_id, "");
  auto owner_only = leaf_spec();
  owner_only.extensions[17] = "2314423";
  const auto partial = verify(attestation(owner_only));
  EXPECT_EQ(partial.status, ProvenanceStatus::verified) << partial.reason;
  EXPECT_EQ(partial.repository_id, "");
  EXPECT_EQ(partial.owner_id, "2314423");
  // Nothing verifies, nothing is reported.
  auto tampered = attestation(spec);
  tampered["envelope"].as_object()["signature"] = attestation(spec).at("envelope").at("signature");
  const auto bad = verify(tampered);
  EXPECT_INVALID(bad, reason::k_signature);
  EXPECT_EQ(bad.repository_id, "");
  EXPECT_EQ(bad.owner_id, "");
}

TEST_F(ProvenancePolicy, RepositoryIdsThatAreNotUtf8StringsFailClosed)
{
  const std::string values[] = {
    "772247423",                    // raw, as .1 to .6 are
    "",                             // empty extnValue
    "\x0c",                         // no length
    "\x0c\x80",                     // indefinite length
    "\x0c\x09" "7722",              // truncated
    "\x0c\x84\xff\xff\xff\xff",     // a length past the end
    "\x13\x03" "123",               // PrintableString
  };
  for (const int number : {15, 17}) {
    for (const auto& value : values) {
      auto spec = leaf_spec();
      spec.raw_extensions[number] = value;
      EXPECT_INVALID(verify(attestation(spec)), reason::k_identity);
      EXPECT_INVALID(verify(attestation(spec), std::nullopt), reason::k_identity);
    }
    // Twice, even with the same value.
    auto repeated = leaf_spec();
    repeated.extensions[number] = "772247423";
    repeated.raw_extensions[number] = der::encode(0x0c, "772247423");
    EXPECT_INVALID(verify(attestation(repeated), std::nullopt), reason::k_identity);
  }
}

TEST_F(ProvenancePolicy, ProvenanceAttestationsMustAgreeOnRepositoryIds)
{
  const auto run = [&](const json::object& provenance, const Publisher* expected = nullptr) {
    return verify_provenance(json::serialize(provenance), k_name, k_digest, m_root, expected);
  };
  const auto signed_by = [&](std::string_view repository_id, std::string_view owner_id) {
    auto spec = leaf_spec();
    if (!repository_id.empty()) {
      spec.extensions[15] = std::string(repository_id);
    }
    if (!owner_id.empty()) {
      spec.extensions[17] = std::string(owner_id);
    }
    return json::value(attestation(spec));
  };
  const auto original = signed_by("772247423", "2314423");
  const auto agreed = run(provenance_of({{k_demo_publisher, json::array{original, original}},
                                         {k_demo_publisher, json::array{original}}}));
  EXPECT_EQ(agreed.status, ProvenanceStatus::verified) << agreed.reason;
  EXPECT_EQ(agreed.repository_id, "772247423");
  EXPECT_EQ(agreed.owner_id, "2314423");
  const auto none = signed_by("", "");
  const auto agreed_none = run(provenance_of({{k_demo_publisher, json::array{none, none}}}));
  EXPECT_EQ(agreed_none.status, ProvenanceStatus::verified) << agreed_none.reason;
  EXPECT_EQ(agreed_none.repository_id, "");

  // acme/demo deleted and registered again (repository, or the acme account): every certificate
  // names acme/demo and verifies, but the IDs say they are not the same repository.
  const json::value others[] = {signed_by("901234567", "2314423"), signed_by("772247423", "98765432"),
                                signed_by("772247423", ""), none};
  for (const auto& other : others) {
    for (const auto& [first, second] : {std::pair{original, other}, std::pair{other, original}}) {
      const auto one_bundle = run(provenance_of({{k_demo_publisher, json::array{first, second}}}));
      EXPECT_INVALID(one_bundle, reason::k_publisher_mismatch);
      EXPECT_NE(one_bundle.reason.find("owner ID"), std::string::npos) << one_bundle.reason;
      EXPECT_EQ(one_bundle.repository_id, "");
      const auto two_bundles =
        run(provenance_of({{k_demo_publisher, json::array{first}}, {k_demo_publisher, json::array{second}}}));
      EXPECT_INVALID(two_bundles, reason::k_publisher_mismatch);
    }
  }

  // Not the pinned publisher: the IDs of the one that did sign are reported with it.
  const Publisher previous{"GitHub", "acme/demo-old", "release.yml", "", ""};
  const auto changed = run(provenance_of({{k_demo_publisher, json::array{original}}}), &previous);
  EXPECT_INVALID(changed, reason::k_publisher_mismatch);
  EXPECT_EQ(changed.publisher, publisher());
  EXPECT_EQ(changed.repository_id, "772247423");
  EXPECT_EQ(changed.owner_id, "2314423");
}

TEST_F(ProvenancePolicy, ProvenanceShape)
{
  const auto run = [&](const std::string& text) {
    return verify_provenance(text, k_name, k_digest, m_root, nullptr);
  };
  EXPECT_INVALID(run(R"({"version":1,"attestation_bundles":[]})"), reason::k_malformed);
  EXPECT_INVALID(run(R"({"version":2,"attestation_bundles":[]})"), reason::k_unsupported);
  EXPECT_INVALID(run(json::serialize(provenance_of({{k_demo_publisher, json::array{}}}))), reason::k_malformed);
  const json::object no_publisher{{"attestations", json::array{attestation()}}};
  EXPECT_INVALID(run(json::serialize(json::object{{"version", 1}, {"attestation_bundles", json::array{no_publisher}}})),
                 reason::k_malformed);
  // Bounds are checked before any signature: 17 attestations are refused as such.
  json::array many(17, json::value(json::object{}));
  EXPECT_INVALID(run(json::serialize(provenance_of({{k_demo_publisher, many}}))), reason::k_too_large);
  EXPECT_INVALID(run("null"), reason::k_malformed);
}

} // namespace
} // namespace airlock::policy
