// PEP 740 provenance objects and attestations as PyPI's Integrity API serves them, verified
// offline against the real Sigstore trusted roots of the shared fixtures (read in place; without
// them only the parsers run). Each input is also tried as a publisher object and as a trusted
// root (configuration, but parsed by the same code). The fixture attestations are extra seeds
// (see CMakeLists.txt). The file under verification is a fixed name and digest, so the statement
// check, which comes last, fails: every other step runs on what the fuzzer keeps valid.
// Properties: verification never says "verified" for another file, a failure always names its
// reason class, and "verified" comes with a signer.

#include "fuzz.hpp"

#include <airlock/policy/provenance.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>

using namespace airlock;
using namespace airlock::policy;

namespace {

std::optional<TrustedRoot>
load_root(const char* name)
{
  const char* env = std::getenv("AIRLOCK_SHARED_DIR");
  const std::string shared = env != nullptr ? env : AIRLOCK_SHARED_DIR;
  std::ifstream in(shared + "/fixtures/provenance/trust/" + name, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto root = TrustedRoot::parse(text);
  if (!root) {
    std::fprintf(stderr, "fuzz_provenance: %s does not parse: %s\n", name, root.error().c_str());
    std::abort();
  }
  return std::move(*root);
}

struct Roots
{
  std::optional<TrustedRoot> prod = load_root("trusted_root.prod.json");
  std::optional<TrustedRoot> staging = load_root("trusted_root.staging.json");
};

const Roots&
roots()
{
  static const Roots instance;
  return instance;
}

void
check_result(const ProvenanceResult& result)
{
  FUZZ_CHECK(result.status != ProvenanceStatus::absent);
  FUZZ_CHECK(result.status != ProvenanceStatus::verified); // the statement names another file
  FUZZ_CHECK(!result.reason_class.empty() && !result.reason.empty());
}

// Verifies with the production root, then with staging when the first says the signer or the
// log is not from that root.
template<typename Verify>
void
verify_both(const Verify& verify)
{
  const auto& all = roots();
  if (!all.prod) {
    return;
  }
  const auto result = verify(*all.prod);
  check_result(result);
  if (all.staging
      && (result.reason_class == provenance_reason::k_certificate_chain
          || result.reason_class == provenance_reason::k_unknown_log)) {
    check_result(verify(*all.staging));
  }
}

} // namespace

extern "C" int
LLVMFuzzerInitialize(int*, char***)
{
  if (!roots().prod) {
    std::fprintf(stderr, "fuzz_provenance: no fixtures (set AIRLOCK_SHARED_DIR): only the parsers are fuzzed\n");
  }
  return 0;
}

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view input = fuzz::as_text(data, size);
  const std::string_view filename = "sample_project-1.0.tar.gz";
  const Sha256 digest = Sha256::of(filename);

  if (auto publisher = Publisher::parse(input)) {
    FUZZ_CHECK(same_signer(*publisher, *publisher));
  }
  (void)TrustedRoot::parse(input);

  verify_both([&](const TrustedRoot& root) { return verify_provenance(input, filename, digest, root, nullptr); });
  const Publisher pinned{"GitHub", "trailofbits/pypi-attestations", "release.yml", "", ""};
  verify_both([&](const TrustedRoot& root) {
    return verify_provenance(input, filename, digest, root, &pinned);
  });
  verify_both([&](const TrustedRoot& root) {
    return verify_attestation(input, filename, digest, root, std::nullopt);
  });
  return 0;
}
