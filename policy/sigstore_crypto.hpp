#pragma once

// The key-holding half of Sigstore verification, on OpenSSL: signatures, the Fulcio chain at a
// given time, the embedded SCT, RFC 3161 timestamps and the certificate identity policy.

#include "openssl_ptr.hpp"
#include "sigstore.hpp"

#include <airlock/policy/provenance.hpp>
#include <airlock/util/time.hpp>

#include <tl/expected.hpp>

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::policy::sigstore {

// A trusted-root validity window; no end means still valid.
struct Validity
{
  Time start{};
  std::optional<Time> end;

  bool contains(Time t) const { return t >= start && (!end || t <= *end); }
};

// A verification key and the digest its signatures use (nullptr for Ed25519, which has none).
struct PublicKey
{
  ossl::EvpPkeyPtr key;
  const EVP_MD* digest = nullptr;
};

// A Rekor or CT log.
struct LogKey
{
  std::string log_id; // 32 bytes, as the trusted root names it
  std::string base_url;
  PublicKey key;
  Validity valid;
};

// A Fulcio CA or a timestamp authority: its chain, issuing certificate first and root last.
struct CertificateAuthority
{
  std::string uri;
  std::vector<ossl::X509Ptr> chain;
  Validity valid;
};

// A rejection: its reason class (a provenance_reason constant) and a one-line reason.
struct Failure
{
  std::string_view reason_class;
  std::string reason;
};

template<typename T> using Checked = tl::expected<T, Failure>;

inline tl::unexpected<Failure>
fail(std::string_view reason_class, std::string reason)
{
  return tl::unexpected<Failure>(Failure{reason_class, std::move(reason)});
}

// The bytes of an ASN.1 string, valid while the string lives.
std::string_view asn1_view(const ASN1_STRING* s);

// Parses a DER SubjectPublicKeyInfo (or PKCS#1 for PKCS1_RSA_PKCS1V5) of the given Sigstore
// keyDetails. nullopt for key types this verifier does not support; an error when the bytes do
// not parse or are not the announced type.
[[nodiscard]] Expected<std::optional<PublicKey>> parse_public_key(std::string_view der,
                                                                  std::string_view key_details);

// Verifies a signature (DER for ECDSA, raw for Ed25519) over `data`.
bool verify_signature(EVP_PKEY* key, const EVP_MD* digest, std::string_view data, std::string_view signature);
bool verify_signature(const PublicKey& key, std::string_view data, std::string_view signature);

// Parses one DER certificate that spans all of `der` and re-encodes to it; nullptr otherwise.
ossl::X509Ptr parse_certificate(std::string_view der);
std::string to_der(X509* certificate);

// Verifies `leaf` up to a root of one of `authorities` valid at every time of `times` (at least
// one), with every certificate of the chain valid at each of them. Returns the chain, leaf first.
[[nodiscard]] Checked<std::vector<ossl::X509Ptr>>
verify_certificate_chain(const std::vector<CertificateAuthority>& authorities, X509* leaf,
                         std::span<const Time> times);

// Requires the key usage digitalSignature, the extended key usage codeSigning, and a P-256 key.
[[nodiscard]] Checked<void> check_code_signing(X509* leaf);

// Verifies the one embedded SCT of `leaf` (DER `leaf_der`, verified `chain`, leaf first)
// against a CT log of the trusted root.
[[nodiscard]] Checked<void> verify_embedded_sct(X509* leaf, std::string_view leaf_der,
                                                const std::vector<ossl::X509Ptr>& chain,
                                                const std::vector<LogKey>& ctlogs);

// Verifies a checkpoint (a signed note) of `log`: one signature line with the log's key hint and
// name verifies over the note text, and the note names a tree of `tree_size` with `root_hash`.
[[nodiscard]] Checked<void> verify_checkpoint(std::string_view envelope, std::uint64_t tree_size,
                                              const Sha256& root_hash, const LogKey& log);

// Verifies an RFC 3161 TimeStampResp over `signature` (its message imprint is the SHA-256 of
// the signature bytes) against the timestamp authorities; returns its genTime.
[[nodiscard]] Checked<Time> verify_timestamp(std::string_view response, std::string_view signature,
                                             const std::vector<CertificateAuthority>& authorities);

// The Fulcio extensions (1.3.6.1.4.1.57264.1.N) of a certificate, raw extnValue by N. Errors on
// a repeated extension.
[[nodiscard]] Expected<std::map<int, std::string>> fulcio_extensions(X509* certificate);

// The certificate's SAN values: rfc822 names, URIs and Fulcio otherNames (57264.1.7).
[[nodiscard]] Expected<std::vector<std::string>> subject_alternative_names(X509* certificate);

// Checks that the certificate was issued to the publisher or identity (PROVENANCE.md step 4).
[[nodiscard]] Checked<void> check_identity(X509* leaf, const IdentityPolicy& policy);

// The certificate's first SAN and OIDC issuer; nullopt when either is missing.
std::optional<SignerIdentity> certificate_identity(X509* leaf);

// The numeric IDs Fulcio gives a CI source repository and its owner. A name can be deleted and
// registered again by someone else; these IDs then differ, so they tell the two apart.
struct RepositoryIds
{
  std::string repository_id; // Source Repository Identifier, 57264.1.15
  std::string owner_id;      // Source Repository Owner Identifier, 57264.1.17

  friend bool operator==(const RepositoryIds&, const RepositoryIds&) = default;
};

// Reads extensions .15 and .17 of `leaf`; each is "" when the certificate lacks it. Fails as
// identity when one is repeated or is not a DER UTF8String.
[[nodiscard]] Checked<RepositoryIds> repository_ids(X509* leaf);

} // namespace airlock::policy::sigstore

namespace airlock::policy {

struct TrustedRoot::Impl
{
  std::vector<sigstore::CertificateAuthority> certificate_authorities;
  std::vector<sigstore::LogKey> tlogs;
  std::vector<sigstore::LogKey> ctlogs;
  std::vector<sigstore::CertificateAuthority> timestamp_authorities;
};

} // namespace airlock::policy
