// Timing of PEP 740 verification on the real fixtures (../shared/fixtures/provenance).
// Not a test: build with `ninja provenance_bench` and run it; it exits 1 without the fixtures.

#include "testutil.hpp"

#include <airlock/policy/provenance.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace {

using namespace airlock;
using namespace airlock::policy;

std::string
fixture(const std::string& relative)
{
  return test::read_file(test::shared_dir() / "fixtures" / "provenance" / relative);
}

const TrustedRoot&
root(const std::string& relative)
{
  static TrustedRoot prod = *TrustedRoot::parse(fixture("trust/trusted_root.prod.json"));
  static TrustedRoot staging = *TrustedRoot::parse(fixture("trust/trusted_root.staging.json"));
  return relative == "prod" ? prod : staging;
}

const Sha256 k_p19 = *Sha256::from_hex("9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3");

// Fails the run rather than timing a rejection.
void
require_verified(const ProvenanceResult& result)
{
  if (result.status != ProvenanceStatus::verified) {
    throw std::runtime_error(result.reason_class + ": " + result.reason);
  }
}

void
attestation(benchmark::State& state, const std::string& file, const std::string& root_name,
            std::optional<IdentityPolicy> policy)
{
  const auto json = fixture(file);
  const auto& trusted = root(root_name);
  require_verified(verify_attestation(json, "pypi_attestations-0.0.19.tar.gz", k_p19, trusted, policy));
  for (auto _ : state) {
    benchmark::DoNotOptimize(verify_attestation(json, "pypi_attestations-0.0.19.tar.gz", k_p19, trusted, policy));
  }
}

void
RekorV1(benchmark::State& state)
{
  attestation(state, "prod/pypi_attestations-0.0.19.tar.gz.publish.attestation", "prod",
              Publisher{"GitHub", "trailofbits/pypi-attestations", "release.yml", "", ""});
}

void
RekorV1WithTimestamp(benchmark::State& state)
{
  attestation(state, "prod/pypi_attestations-0.0.19.tar.gz.publish.attestation.with_timestamp", "prod",
              SignerIdentity{"jku@goto.fi", "https://github.com/login/oauth"});
}

void
RekorV2WithTimestamp(benchmark::State& state)
{
  attestation(state, "staging/pypi_attestations-0.0.19.tar.gz.publish.attestation.with_rekor2_timestamp", "staging",
              SignerIdentity{"jku@goto.fi", "https://github.com/login/oauth"});
}

void
Provenance(benchmark::State& state)
{
  const auto json = fixture("prod/pypi_attestations-0.0.19.tar.gz.provenance");
  const auto& trusted = root("prod");
  require_verified(verify_provenance(json, "pypi_attestations-0.0.19.tar.gz", k_p19, trusted, nullptr));
  for (auto _ : state) {
    benchmark::DoNotOptimize(verify_provenance(json, "pypi_attestations-0.0.19.tar.gz", k_p19, trusted, nullptr));
  }
}

void
ParseTrustedRoot(benchmark::State& state)
{
  const auto json = fixture("trust/trusted_root.prod.json");
  for (auto _ : state) {
    benchmark::DoNotOptimize(TrustedRoot::parse(json));
  }
}

BENCHMARK(RekorV1)->Unit(benchmark::kMicrosecond);
BENCHMARK(RekorV1WithTimestamp)->Unit(benchmark::kMicrosecond);
BENCHMARK(RekorV2WithTimestamp)->Unit(benchmark::kMicrosecond);
BENCHMARK(Provenance)->Unit(benchmark::kMicrosecond);
BENCHMARK(ParseTrustedRoot)->Unit(benchmark::kMicrosecond);

} // namespace

int
main(int argc, char** argv)
{
  if (!std::filesystem::exists(test::shared_dir() / "fixtures" / "provenance" / "fixtures.json")) {
    std::fprintf(stderr, "provenance fixtures missing under %s\n", test::shared_dir().c_str());
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
