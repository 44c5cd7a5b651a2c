#pragma once

// The byte-level pieces of Sigstore verification, private to policy/: encodings, DSSE PAE,
// Merkle proofs, signed notes, the SET payload, SCTs and Rekor entry bodies.

#include <airlock/util/error.hpp>
#include <airlock/util/sha256.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The byte-level pieces of Sigstore verification, without keys or OpenSSL: encodings, DSSE PAE,
// RFC 6962 Merkle proofs, signed notes (checkpoints), the SET payload, SCT parsing and signed
// input, and the Rekor entry body checks. Each is a pure function, unit-tested on its own.
namespace airlock::policy::sigstore {

std::string_view as_chars(const Sha256& digest);

// Parses a protobuf-JSON int64 as Sigstore writes it: decimal digits, no sign, no leading zero.
std::optional<std::int64_t> parse_int64(std::string_view text);

// DSSE v1 pre-authentication encoding: "DSSEv1 <len> <type> <len> <body>".
std::string dsse_pae(std::string_view payload_type, std::string_view payload);

// RFC 6962 hashes: SHA-256(0x00 || leaf) and SHA-256(0x01 || left || right).
Sha256 merkle_leaf_hash(std::string_view leaf);
Sha256 merkle_node_hash(const Sha256& left, const Sha256& right);
// The root hash that an inclusion proof (hashes from the leaf up) implies for the leaf at
// `index` of a tree of `tree_size`; errors when the proof has the wrong shape.
[[nodiscard]] Expected<Sha256> merkle_root_from_proof(std::uint64_t index, std::uint64_t tree_size,
                                                      const Sha256& leaf_hash, std::span<const Sha256> proof);

// A C2SP signed note: the text (ending in '\n') and its signature lines.
struct NoteSignature
{
  std::string name;
  std::array<std::uint8_t, 4> key_hint{};
  std::string signature;
};

struct SignedNote
{
  std::string text;
  std::vector<NoteSignature> signatures;
};

[[nodiscard]] Expected<SignedNote> parse_signed_note(std::string_view note);

// A transparency log checkpoint: the note text's first three lines.
struct Checkpoint
{
  std::string origin;
  std::uint64_t tree_size = 0;
  Sha256 root_hash;
};

[[nodiscard]] Expected<Checkpoint> parse_checkpoint(std::string_view text);

// The C2SP key ID of an Ed25519 note key: SHA-256(name || '\n' || 0x01 || key).
Sha256 ed25519_note_key_id(std::string_view name, std::string_view raw_public_key);

// The bytes a Rekor v1 signed entry timestamp (SET) signs: RFC 8785 JSON of
// {body, integratedTime, logID (hex), logIndex}.
std::string inclusion_promise_payload(std::string_view body_base64, std::int64_t integrated_time,
                                      std::string_view log_id, std::int64_t log_index);

// One RFC 6962 signed certificate timestamp.
struct Sct
{
  std::uint8_t version = 0;
  std::string log_id; // 32 bytes
  std::uint64_t timestamp_ms = 0;
  std::string extensions;
  std::uint8_t hash_algorithm = 0;      // TLS HashAlgorithm: 4 = sha256
  std::uint8_t signature_algorithm = 0; // TLS SignatureAlgorithm: 1 = rsa, 3 = ecdsa
  std::string signature;
};

// Parses the value of the embedded SCT list extension: a DER OCTET STRING around a TLS
// SignedCertificateTimestampList.
[[nodiscard]] Expected<std::vector<Sct>> parse_sct_list(std::string_view extension_value);

// The RFC 6962 digitally-signed input of an SCT over a precertificate entry.
std::string sct_signed_input(const Sct& sct, const Sha256& issuer_key_hash, std::string_view precert_tbs);

// Decodes one PEM CERTIFICATE block to DER.
std::optional<std::string> pem_certificate_to_der(std::string_view pem);

// What a Rekor entry must be about.
struct SignedArtifact
{
  std::string_view statement; // the DSSE payload bytes
  std::string_view signature; // the DSSE signature bytes
  std::string_view certificate; // the leaf, DER
};

// Checks a Rekor entry body (decoded canonicalizedBody) of kind/version dsse 0.0.1, dsse 0.0.2
// or hashedrekord 0.0.2 against the artifact; errors say which field disagrees.
[[nodiscard]] Expected<void> check_rekor_body(std::string_view kind, std::string_view version,
                                              std::string_view body, const SignedArtifact& artifact);

} // namespace airlock::policy::sigstore
