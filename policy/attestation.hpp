#pragma once

// The PEP 740 JSON documents as the verifier reads them (private to policy/): an attestation's
// shape (step 0 of PROVENANCE.md), a publisher, and the bounded parse of a whole document.

#include "json_util.hpp"
#include "openssl_ptr.hpp"
#include "sigstore_crypto.hpp"

#include <airlock/policy/provenance.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::policy::pep740 {

namespace json = json_util::json;

struct InclusionProof
{
  std::int64_t log_index = 0; // within the log shard's tree
  std::int64_t tree_size = 0;
  Sha256 root_hash;
  std::vector<Sha256> hashes;
  std::string checkpoint;
};

struct LogEntry
{
  std::string log_id;
  std::int64_t log_index = 0; // global: what the SET signs
  std::string kind;
  std::string version;
  std::int64_t integrated_time = 0;
  std::optional<std::string> signed_entry_timestamp;
  std::optional<InclusionProof> proof;
  std::string body_base64;
  std::string body;
};

struct Attestation
{
  std::string certificate_der;
  ossl::X509Ptr certificate;
  LogEntry entry;
  std::vector<std::string> timestamps;
  std::string statement;
  std::string signature;
};

// True when `value` is the number 1, as a version field must be.
bool is_version_one(const json::value* value);

// Parses a whole document of at most `max_bytes` (k_too_large past it) within the depth limit;
// k_malformed when it is not a JSON object. `what` names it in the message.
[[nodiscard]] sigstore::Checked<json::value> parse_document(std::string_view text, std::size_t max_bytes,
                                                            std::string_view what);

// PROVENANCE.md step 0: the attestation's shape, before any cryptography. Bounds every field
// before decoding it and parses the certificate.
[[nodiscard]] sigstore::Checked<Attestation> parse_attestation(const json::object& object);

// Parses a bundle's publisher: GitHub, GitLab or Google with their required fields.
[[nodiscard]] sigstore::Checked<Publisher> parse_publisher(const json::object& object);

} // namespace airlock::policy::pep740
