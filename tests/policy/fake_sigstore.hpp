#pragma once

#include "openssl_ptr.hpp"

#include <airlock/util/sha256.hpp>
#include <airlock/util/time.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// A Sigstore of the tests' own, generated with OpenSSL at run time: a Fulcio-like CA (P-384
// root and intermediate), a CT log, a Rekor v1 log (P-256), a Rekor v2 log (Ed25519) and a
// timestamp authority. It builds every signed structure with its own code (base64, PAE, SCT
// input, Merkle paths, notes), not the verifier's, so a bug on one side cannot hide in both.
namespace airlock::test {

using policy::ossl::EvpPkeyPtr;
using policy::ossl::X509Ptr;

std::string base64(std::string_view bytes);
std::string der_of(X509* certificate);

// An in-toto Statement v1 about one file.
std::string statement_for(std::string_view name, const Sha256& digest,
                          std::string_view predicate_type = "https://docs.pypi.org/attestations/publish/v1");

class FakeSigstore
{
public:
  // Everything is valid from `epoch` - 1 day for ten years.
  explicit FakeSigstore(Time epoch);

  struct LeafSpec
  {
    Time not_before{};
    std::chrono::seconds lifetime = std::chrono::minutes{10};
    std::string san_uri;
    std::string san_email;
    // Fulcio extensions 1.3.6.1.4.1.57264.1.N: .1 to .6 raw, .8 onwards DER UTF8String.
    std::map<int, std::string> extensions;
    // Fulcio extensions written exactly as given, whatever N: for values that are not valid.
    std::map<int, std::string> raw_extensions;
    bool code_signing = true;
    bool embed_sct = true;
    const EVP_PKEY* sct_key = nullptr; // nullptr: this Sigstore's CT log
  };

  // A leaf as Fulcio issues it to GitHub Actions for `repository` (owner/name), `workflow`
  // at `ref`.
  static LeafSpec github_leaf(Time not_before, std::string_view repository, std::string_view workflow,
                              std::string_view ref = "refs/tags/v1.0");
  // A leaf as Fulcio issues it to a personal or service-account email.
  static LeafSpec email_leaf(Time not_before, std::string_view email, std::string_view issuer);

  struct Leaf
  {
    EvpPkeyPtr key;
    X509Ptr certificate;
    std::string der;
  };

  Leaf issue(const LeafSpec& spec) const;

  enum class Log { rekor_v1, rekor_v2 };

  struct EntrySpec
  {
    Log log = Log::rekor_v1;
    std::string kind = "dsse";
    std::string version = "0.0.1";
    Time integrated_time{};
    bool with_set = true;
    bool with_proof = true;
    std::optional<Time> timestamp; // an RFC 3161 timestamp at this time
    std::optional<std::string> logged_statement; // what the log entry is about, if not the statement
  };

  // A PEP 740 attestation of `statement` signed by `leaf` and logged as `entry` says.
  boost::json::object attestation(const Leaf& leaf, std::string_view statement, const EntrySpec& entry) const;

  // The TrustedRoot JSON naming all of this Sigstore's keys and CAs.
  std::string trusted_root_json() const;

  // A TimeStampResp from this TSA over SHA-256(`data`) at `t`.
  std::string timestamp(std::string_view data, Time t) const;

  // Replaces the TSA's signing certificate by one valid from `not_before` (the TSA itself stays
  // in the trusted root from epoch - 1 day).
  void reissue_tsa(Time not_before);

  // Signs a checkpoint note for a tree of `size` with `root` by the log.
  std::string checkpoint(Log log, std::uint64_t size, const Sha256& root) const;

  const std::string& rekor_v1_log_id() const { return m_rekor_v1_id; }
  const std::string& rekor_v2_log_id() const { return m_rekor_v2_id; }
  EVP_PKEY* rekor_v1_key() const { return m_rekor_v1.get(); }
  EVP_PKEY* rekor_v2_key() const { return m_rekor_v2.get(); }
  EVP_PKEY* ct_key() const { return m_ct.get(); }

private:
  Time m_epoch;
  EvpPkeyPtr m_root_key;
  X509Ptr m_root;
  EvpPkeyPtr m_intermediate_key;
  X509Ptr m_intermediate;
  EvpPkeyPtr m_ct;
  EvpPkeyPtr m_rekor_v1;
  EvpPkeyPtr m_rekor_v2;
  EvpPkeyPtr m_tsa_root_key;
  X509Ptr m_tsa_root;
  EvpPkeyPtr m_tsa_key;
  X509Ptr m_tsa;
  std::string m_rekor_v1_id;
  std::string m_rekor_v2_id;
  std::string m_ct_id;
};

// RFC 6962 reference tree (recursive MTH and PATH), for building proofs.
Sha256 reference_leaf_hash(std::string_view data);
Sha256 reference_root(const std::vector<Sha256>& leaves);
std::vector<Sha256> reference_path(std::size_t index, const std::vector<Sha256>& leaves);

} // namespace airlock::test
