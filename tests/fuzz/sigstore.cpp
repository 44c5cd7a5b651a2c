// The byte-level pieces of Sigstore bundles, each reached from an attestation PyPI serves:
// DER elements, certificates (Fulcio extensions, SANs), embedded SCT lists, signed notes and
// checkpoints, base64, protobuf-JSON integers, Rekor entry bodies, RFC 3161 responses.
// Input: one selector byte, then the bytes for that piece.
// Properties: a DER element re-encodes to its own bytes; base64 and int64 have one spelling
// (decode then encode gives the input back); a checkpoint's text is the note's first lines.

#include "fuzz.hpp"

#include "der.hpp"
#include "sigstore.hpp"
#include "sigstore_crypto.hpp"

#include <airlock/policy/provenance.hpp>
#include <airlock/util/base64.hpp>

#include <string>

using namespace airlock;
using namespace airlock::policy;

namespace {

void
certificate_pieces(X509* certificate, std::string_view der_bytes)
{
  if (certificate == nullptr) {
    return;
  }
  (void)sigstore::fulcio_extensions(certificate);
  (void)sigstore::subject_alternative_names(certificate);
  (void)sigstore::certificate_identity(certificate);
  (void)sigstore::repository_ids(certificate);
  (void)sigstore::check_code_signing(certificate);
  const Publisher publisher{"GitHub", "owner/project", "release.yml", "", ""};
  (void)sigstore::check_identity(certificate, IdentityPolicy{publisher});
  (void)sigstore::check_identity(certificate, IdentityPolicy{SignerIdentity{"a@example.com", "https://accounts.google.com"}});
  const auto tbs = der::tbs_without_extension(der_bytes, der::k_sct_list_oid);
  if (tbs) {
    FUZZ_CHECK(tbs->size() < der_bytes.size());
  }
  (void)sigstore::verify_embedded_sct(certificate, der_bytes, {}, {});
  FUZZ_CHECK_EQ(sigstore::to_der(certificate), der_bytes);
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size == 0) {
    return 0;
  }
  // PEM certificates (the fixtures' certs/, read as seeds) are taken whole.
  const bool pem = fuzz::as_text(data, size).starts_with("-----BEGIN");
  const std::uint8_t selector = pem ? 6 : data[0];
  const std::string_view input = pem ? fuzz::as_text(data, size) : fuzz::as_text(data + 1, size - 1);
  switch (selector % 10) {
  case 0: {
    std::string_view rest = input;
    while (!rest.empty()) {
      const auto before = rest.size();
      auto element = der::read(rest);
      if (!element) {
        break;
      }
      FUZZ_CHECK(rest.size() < before);
      FUZZ_CHECK(der::encode(element->tag, element->content) == element->encoding);
      std::string_view inner = element->content;
      while (!inner.empty() && der::read(inner)) {
      }
    }
    break;
  }
  case 1:
    if (auto text = der::decode_utf8_string(input)) {
      FUZZ_CHECK(der::encode(der::k_utf8_string, *text) == input);
    }
    break;
  case 2:
    (void)sigstore::parse_sct_list(input);
    break;
  case 3:
    if (auto note = sigstore::parse_signed_note(input)) {
      FUZZ_CHECK(input.starts_with(note->text));
      if (auto checkpoint = sigstore::parse_checkpoint(note->text)) {
        FUZZ_CHECK(note->text.starts_with(checkpoint->origin + "\n" + std::to_string(checkpoint->tree_size) + "\n"));
      }
    }
    (void)sigstore::parse_checkpoint(input);
    break;
  case 4:
    if (auto decoded = base64_decode(input)) {
      FUZZ_CHECK(base64_encode(*decoded) == input);
    }
    if (auto number = sigstore::parse_int64(input)) {
      FUZZ_CHECK(std::to_string(*number) == input);
    }
    break;
  case 5: {
    static const std::string k_statement = R"({"_type":"https://in-toto.io/Statement/v1"})";
    static const std::string k_signature = "\x30\x06\x02\x01\x01\x02\x01\x01";
    const sigstore::SignedArtifact artifact{k_statement, k_signature, "\x30\x03\x02\x01\x01"};
    for (const auto& [kind, version] : {std::pair{"dsse", "0.0.1"}, {"dsse", "0.0.2"}, {"hashedrekord", "0.0.2"}}) {
      (void)sigstore::check_rekor_body(kind, version, input, artifact);
    }
    break;
  }
  case 6:
    if (auto der_bytes = sigstore::pem_certificate_to_der(input)) {
      auto certificate = sigstore::parse_certificate(*der_bytes);
      certificate_pieces(certificate.get(), *der_bytes);
    }
    break;
  case 7: {
    auto certificate = sigstore::parse_certificate(input);
    certificate_pieces(certificate.get(), input);
    break;
  }
  case 8:
    for (const auto details : {"PKIX_ECDSA_P256_SHA_256", "PKIX_ECDSA_P384_SHA_384", "PKIX_ED25519",
                               "PKCS1_RSA_PKCS1V5", "PKIX_RSA_PKCS1V15_2048_SHA256"}) {
      if (auto key = sigstore::parse_public_key(input, details); key && *key) {
        (void)sigstore::verify_signature(**key, "data", input);
      }
    }
    break;
  case 9:
    (void)sigstore::verify_timestamp(input, "signature", {});
    break;
  }
  return 0;
}
