#pragma once

// PEP 740 provenance: the publisher and identity an attestation must name, the trusted root,
// and the verification of a file's attestations to a result with a named reason.

#include <airlock/util/error.hpp>
#include <airlock/util/sha256.hpp>
#include <airlock/util/time.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

// Offline verification of PEP 740 attestations (Sigstore bundles as PyPI serves them), as
// /work/shared/PROVENANCE.md describes. Pure: no I/O, no clock. Certificates are checked at the
// attestation's verified signing time, never "now". Every failure is a named reason class.
namespace airlock::policy {

// A PyPI Trusted Publisher, as the provenance object's "publisher" names it. That object is not
// signed: verification checks the signing certificate against it.
struct Publisher
{
  std::string kind;        // "GitHub", "GitLab" or "Google"
  std::string repository;  // GitHub/GitLab "owner/project"
  std::string workflow;    // GitHub "workflow" (a filename), GitLab "workflow_filepath"
  std::string environment; // informational only: no certificate carries it; null reads as ""
  std::string email;       // Google service account

  // Parses a PyPI publisher JSON object; errors name the missing or bad field. Kinds other than
  // the three above are errors, as no certificate policy exists for them.
  [[nodiscard]] static Expected<Publisher> parse(std::string_view json);

  friend bool operator==(const Publisher&, const Publisher&) = default;
};

// True when both name the same signer: kind, repository, workflow and email. The environment
// is ignored because nothing verifies it.
bool same_signer(const Publisher& a, const Publisher& b);

// A plain Sigstore identity: one of the certificate's SAN values (email, URI) and its OIDC
// issuer. Personal identities are not Trusted Publishers, but sign real attestations.
struct SignerIdentity
{
  std::string identity;
  std::string issuer;

  friend bool operator==(const SignerIdentity&, const SignerIdentity&) = default;
};

// Who must have signed.
using IdentityPolicy = std::variant<Publisher, SignerIdentity>;

// A Sigstore TrustedRoot (Fulcio CAs, Rekor and CT log keys, timestamp authorities, each with a
// validity window). Immutable after parse; safe to share between threads. Move-only.
class TrustedRoot
{
public:
  // Parses trusted_root.json (media type application/vnd.dev.sigstore.trustedroot+json;
  // version=0.1). Entries with key types this verifier does not know are skipped; anything
  // malformed is an error.
  [[nodiscard]] static Expected<TrustedRoot> parse(std::string_view json);

  ~TrustedRoot();
  TrustedRoot(TrustedRoot&&) noexcept;
  TrustedRoot& operator=(TrustedRoot&&) noexcept;

  // The parsed contents; an opaque type outside the verifier.
  struct Impl;
  const Impl& impl() const { return *m_impl; }

private:
  explicit TrustedRoot(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// absent is for callers (no provenance advertised, or a 404): the verifier never returns it.
enum class ProvenanceStatus { verified, absent, invalid };

// Reason classes: stable names for why verification failed.
namespace provenance_reason {
inline constexpr std::string_view k_malformed = "malformed";     // not the expected JSON/base64/DER
inline constexpr std::string_view k_too_large = "too_large";     // a size, count or depth bound
inline constexpr std::string_view k_unsupported = "unsupported"; // version, entry kind, algorithm
inline constexpr std::string_view k_unsupported_publisher = "unsupported_publisher";
inline constexpr std::string_view k_no_verified_time = "no_verified_time"; // neither a SET nor a TSA
inline constexpr std::string_view k_timestamp = "timestamp";     // an RFC 3161 timestamp fails
inline constexpr std::string_view k_certificate_chain = "certificate_chain"; // not from Fulcio
inline constexpr std::string_view k_certificate_expired = "certificate_expired"; // at signing time
inline constexpr std::string_view k_certificate_usage = "certificate_usage"; // KU/EKU/key type
inline constexpr std::string_view k_sct = "sct";                 // certificate transparency
inline constexpr std::string_view k_signature = "signature";     // the DSSE envelope signature
inline constexpr std::string_view k_unknown_log = "unknown_log"; // Rekor log not in the root
inline constexpr std::string_view k_tlog_body = "tlog_body";     // log entry is about other data
inline constexpr std::string_view k_inclusion_proof = "inclusion_proof";
inline constexpr std::string_view k_checkpoint = "checkpoint";   // the log's signed tree head
inline constexpr std::string_view k_inclusion_promise = "inclusion_promise"; // the SET
inline constexpr std::string_view k_identity = "identity"; // certificate != publisher/identity
inline constexpr std::string_view k_statement = "statement";     // in-toto statement shape
inline constexpr std::string_view k_predicate_type = "predicate_type";
inline constexpr std::string_view k_subject_name = "subject_name";     // attests another file
inline constexpr std::string_view k_subject_digest = "subject_digest"; // attests other bytes
inline constexpr std::string_view k_publisher_mismatch = "publisher_mismatch"; // valid, other publisher
} // namespace provenance_reason

struct ProvenanceResult
{
  ProvenanceStatus status = ProvenanceStatus::invalid;
  std::string reason_class; // one of provenance_reason; empty when verified
  std::string reason;       // one line for humans
  // The verified Trusted Publisher (set on publisher_mismatch too: the one that did sign).
  std::optional<Publisher> publisher;
  // The certificate's identity (its first SAN and OIDC issuer), when the chain verified.
  std::optional<SignerIdentity> signer;
  Time signed_at{}; // the earliest verified signing time; epoch unless verified
  // The certificate's numeric Source Repository Identifier and Owner Identifier (Fulcio
  // 57264.1.15 and .17), which tell a re-registered GitHub/GitLab name from the original. ""
  // when the certificate lacks one. Set when verified and on publisher_mismatch, as publisher.
  std::string repository_id;
  std::string owner_id;
};

// Verifies a PyPI Integrity API provenance object for one distribution file: every attestation
// of every bundle, against its bundle's publisher. Bundles or certificates (repository/owner IDs)
// that disagree, or a signer other than `expected_publisher` (pinned), fail as publisher_mismatch.
// Pure and thread-safe; ~2 ms of CPU per attestation, so callers cache verdicts by provenance sha256.
ProvenanceResult verify_provenance(std::string_view provenance_json, std::string_view dist_filename,
                                   const Sha256& dist_sha256, const TrustedRoot& root,
                                   const Publisher* expected_publisher);

// Verifies one PEP 740 attestation object for one distribution file. With nullopt, any
// identity that Fulcio certified is accepted (the caller must then look at result.signer).
// Pure and thread-safe.
ProvenanceResult verify_attestation(std::string_view attestation_json, std::string_view dist_filename,
                                    const Sha256& dist_sha256, const TrustedRoot& root,
                                    const std::optional<IdentityPolicy>& policy);

} // namespace airlock::policy
