// The byte-level pieces of Sigstore verification: encodings, DSSE PAE, Merkle proofs, signed notes
// and checkpoints, the SET payload, SCT lists and the Rekor entry body checks.

#include "sigstore.hpp"

#include "der.hpp"
#include "json_util.hpp"

#include <airlock/util/base64.hpp>
#include <airlock/util/hex.hpp>

#include <fmt/core.h>

#include <bit>
#include <limits>

namespace airlock::policy::sigstore {

namespace {

using namespace json_util;

constexpr std::string_view k_em_dash = "\xe2\x80\x94";
constexpr std::string_view k_in_toto_payload_type = "application/vnd.in-toto+json";
constexpr std::size_t k_max_note_signatures = 16;
constexpr std::size_t k_max_proof_hashes = 64;

void
append_be(std::string& out, std::uint64_t value, int bytes)
{
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

// Big-endian reads over TLS structures; each returns false when the input is too short.
class TlsReader
{
public:
  explicit TlsReader(std::string_view input) : m_input(input) {}

  bool
  number(int bytes, std::uint64_t& out)
  {
    if (m_input.size() < static_cast<std::size_t>(bytes)) {
      return false;
    }
    out = 0;
    for (int i = 0; i < bytes; ++i) {
      out = (out << 8) | static_cast<std::uint8_t>(m_input[static_cast<std::size_t>(i)]);
    }
    m_input.remove_prefix(static_cast<std::size_t>(bytes));
    return true;
  }

  bool
  bytes(std::size_t count, std::string_view& out)
  {
    if (m_input.size() < count) {
      return false;
    }
    out = m_input.substr(0, count);
    m_input.remove_prefix(count);
    return true;
  }

  // A length-prefixed vector (<0..2^(8*bytes)-1>).
  bool
  vector(int length_bytes, std::string_view& out)
  {
    std::uint64_t length = 0;
    return number(length_bytes, length) && bytes(length, out);
  }

  bool empty() const { return m_input.empty(); }

private:
  std::string_view m_input;
};

// RFC 8785 string: only '"', '\\' and control characters are escaped.
std::string
jcs_string(std::string_view text)
{
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      switch (c) {
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += fmt::format("\\u{:04x}", u);
      }
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// Walks a path of object keys; nullptr when any step is missing or not an object.
const json::object*
path(const json::object& root, std::initializer_list<std::string_view> keys)
{
  const json::object* at = &root;
  for (const auto key : keys) {
    at = find_object(*at, key);
    if (at == nullptr) {
      return nullptr;
    }
  }
  return at;
}

Expected<std::string>
base64_field(const json::object& object, std::string_view key, std::string_view where)
{
  const auto* text = find_string(object, key);
  if (text == nullptr) {
    return make_unexpected(fmt::format("{}.{} is missing", where, key));
  }
  auto bytes = base64_decode(view(*text));
  if (!bytes) {
    return make_unexpected(fmt::format("{}.{} is not base64", where, key));
  }
  return std::move(*bytes);
}

bool
string_equals(const json::object& object, std::string_view key, std::string_view expected)
{
  const auto* text = find_string(object, key);
  return text != nullptr && view(*text) == expected;
}

// The one signature of a Rekor v2 entry: {content, verifier: {keyDetails, x509Certificate}}.
Expected<void>
check_v2_signature(const json::object& signature, const SignedArtifact& artifact, std::string_view where)
{
  auto content = base64_field(signature, "content", where);
  if (!content) {
    return make_unexpected(content.error());
  }
  if (*content != artifact.signature) {
    return make_unexpected(fmt::format("{}.content is not the envelope's signature", where));
  }
  const auto* verifier = find_object(signature, "verifier");
  if (verifier == nullptr) {
    return make_unexpected(fmt::format("{}.verifier is missing", where));
  }
  if (!string_equals(*verifier, "keyDetails", "PKIX_ECDSA_P256_SHA_256")) {
    return make_unexpected(fmt::format("{}.verifier.keyDetails is not PKIX_ECDSA_P256_SHA_256", where));
  }
  const auto* certificate = find_object(*verifier, "x509Certificate");
  if (certificate == nullptr) {
    return make_unexpected(fmt::format("{}.verifier.x509Certificate is missing", where));
  }
  auto raw = base64_field(*certificate, "rawBytes", "verifier.x509Certificate");
  if (!raw) {
    return make_unexpected(raw.error());
  }
  if (*raw != artifact.certificate) {
    return make_unexpected(fmt::format("{}.verifier is not the signing certificate", where));
  }
  return {};
}

Expected<void>
check_dsse_v001(const json::object& spec, const SignedArtifact& artifact)
{
  const auto* payload_hash = find_object(spec, "payloadHash");
  const auto digest = Sha256::of(artifact.statement);
  if (payload_hash == nullptr || !string_equals(*payload_hash, "algorithm", "sha256")
      || !string_equals(*payload_hash, "value", digest.hex())) {
    return make_unexpected("spec.payloadHash is not the sha256 of the statement");
  }
  // spec.envelopeHash cannot be checked: the envelope JSON it hashes is not canonical.
  const auto* signatures = find_array(spec, "signatures");
  if (signatures == nullptr || signatures->size() != 1 || !(*signatures)[0].is_object()) {
    return make_unexpected("spec.signatures must hold exactly one signature");
  }
  const auto& signature = (*signatures)[0].get_object();
  auto bytes = base64_field(signature, "signature", "spec.signatures[0]");
  if (!bytes) {
    return make_unexpected(bytes.error());
  }
  if (*bytes != artifact.signature) {
    return make_unexpected("spec.signatures[0].signature is not the envelope's signature");
  }
  auto pem = base64_field(signature, "verifier", "spec.signatures[0]");
  if (!pem) {
    return make_unexpected(pem.error());
  }
  const auto certificate = pem_certificate_to_der(*pem);
  if (!certificate || *certificate != artifact.certificate) {
    return make_unexpected("spec.signatures[0].verifier is not the signing certificate");
  }
  return {};
}

Expected<void>
check_dsse_v002(const json::object& spec, const SignedArtifact& artifact)
{
  const auto* inner = find_object(spec, "dsseV002");
  if (inner == nullptr) {
    return make_unexpected("spec.dsseV002 is missing");
  }
  const auto* payload_hash = find_object(*inner, "payloadHash");
  const auto digest = Sha256::of(artifact.statement);
  if (payload_hash == nullptr || !string_equals(*payload_hash, "algorithm", "SHA2_256")
      || !string_equals(*payload_hash, "digest", base64_encode(as_chars(digest)))) {
    return make_unexpected("spec.dsseV002.payloadHash is not the SHA2_256 of the statement");
  }
  const auto* signatures = find_array(*inner, "signatures");
  if (signatures == nullptr || signatures->size() != 1 || !(*signatures)[0].is_object()) {
    return make_unexpected("spec.dsseV002.signatures must hold exactly one signature");
  }
  return check_v2_signature((*signatures)[0].get_object(), artifact, "spec.dsseV002.signatures[0]");
}

Expected<void>
check_hashedrekord_v002(const json::object& spec, const SignedArtifact& artifact)
{
  const auto* inner = find_object(spec, "hashedRekordV002");
  if (inner == nullptr) {
    return make_unexpected("spec.hashedRekordV002 is missing");
  }
  // For a DSSE envelope, Rekor v2 logs the digest of the PAE: what the signature signs.
  const auto* data = find_object(*inner, "data");
  const auto digest = Sha256::of(dsse_pae(k_in_toto_payload_type, artifact.statement));
  if (data == nullptr || !string_equals(*data, "algorithm", "SHA2_256")
      || !string_equals(*data, "digest", base64_encode(as_chars(digest)))) {
    return make_unexpected("spec.hashedRekordV002.data is not the SHA2_256 of the DSSE PAE");
  }
  const auto* signature = find_object(*inner, "signature");
  if (signature == nullptr) {
    return make_unexpected("spec.hashedRekordV002.signature is missing");
  }
  return check_v2_signature(*signature, artifact, "spec.hashedRekordV002.signature");
}

} // namespace

std::string_view
as_chars(const Sha256& digest)
{
  return {reinterpret_cast<const char*>(digest.bytes.data()), digest.bytes.size()};
}

std::optional<std::int64_t>
parse_int64(std::string_view text)
{
  if (text.empty() || text.size() > 19 || (text.size() > 1 && text[0] == '0')) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(value);
}

std::string
dsse_pae(std::string_view payload_type, std::string_view payload)
{
  return fmt::format("DSSEv1 {} {} {} ", payload_type.size(), payload_type, payload.size()).append(payload);
}

Sha256
merkle_leaf_hash(std::string_view leaf)
{
  Sha256Hasher hasher;
  hasher.update(std::string_view("\x00", 1));
  hasher.update(leaf);
  return hasher.finish();
}

Sha256
merkle_node_hash(const Sha256& left, const Sha256& right)
{
  Sha256Hasher hasher;
  hasher.update(std::string_view("\x01", 1));
  hasher.update(as_chars(left));
  hasher.update(as_chars(right));
  return hasher.finish();
}

Expected<Sha256>
merkle_root_from_proof(std::uint64_t index, std::uint64_t tree_size, const Sha256& leaf_hash,
                       std::span<const Sha256> proof)
{
  if (index >= tree_size) {
    return make_unexpected(fmt::format("leaf index {} is outside a tree of size {}", index, tree_size));
  }
  if (proof.size() > k_max_proof_hashes) {
    return make_unexpected(fmt::format("{} proof hashes is more than any tree needs", proof.size()));
  }
  // RFC 9162 section 2.1.3.2: the proof splits into the path inside the largest full subtree
  // holding the leaf (`inner`), then the roots of the subtrees to its left (`border`).
  const auto inner = static_cast<std::size_t>(std::bit_width(index ^ (tree_size - 1)));
  const auto border = static_cast<std::size_t>(std::popcount(inner >= 64 ? 0 : index >> inner));
  if (proof.size() != inner + border) {
    return make_unexpected(fmt::format("{} proof hashes, expected {} for leaf {} of {}", proof.size(),
                                       inner + border, index, tree_size));
  }
  Sha256 seed = leaf_hash;
  for (std::size_t i = 0; i < inner; ++i) {
    seed = ((index >> i) & 1) == 0 ? merkle_node_hash(seed, proof[i]) : merkle_node_hash(proof[i], seed);
  }
  for (std::size_t i = inner; i < proof.size(); ++i) {
    seed = merkle_node_hash(proof[i], seed);
  }
  return seed;
}

Expected<SignedNote>
parse_signed_note(std::string_view note)
{
  const auto split = note.find("\n\n");
  if (split == std::string_view::npos) {
    return make_unexpected("signed note has no blank line before its signatures");
  }
  SignedNote out;
  // The signed text keeps its final newline.
  out.text = std::string(note.substr(0, split + 1));
  std::string_view rest = note.substr(split + 2);
  if (rest.empty() || rest.back() != '\n') {
    return make_unexpected("signed note does not end with a signature line");
  }
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    if (out.signatures.size() == k_max_note_signatures) {
      return make_unexpected("signed note has too many signatures");
    }
    if (line.substr(0, k_em_dash.size() + 1) != fmt::format("{} ", k_em_dash)) {
      return make_unexpected("signed note signature line does not start with an em dash");
    }
    line.remove_prefix(k_em_dash.size() + 1);
    const auto space = line.find(' ');
    if (space == 0 || space == std::string_view::npos) {
      return make_unexpected("signed note signature line has no key name");
    }
    const auto bytes = base64_decode(line.substr(space + 1));
    if (!bytes || bytes->size() < 5) {
      return make_unexpected("signed note signature is not base64 of a key hint and a signature");
    }
    NoteSignature signature;
    signature.name = std::string(line.substr(0, space));
    for (std::size_t i = 0; i < 4; ++i) {
      signature.key_hint[i] = static_cast<std::uint8_t>((*bytes)[i]);
    }
    signature.signature = bytes->substr(4);
    out.signatures.push_back(std::move(signature));
  }
  return out;
}

Expected<Checkpoint>
parse_checkpoint(std::string_view text)
{
  std::vector<std::string_view> lines;
  while (!text.empty() && lines.size() < 3) {
    const auto end = text.find('\n');
    if (end == std::string_view::npos) {
      return make_unexpected("checkpoint line without a newline");
    }
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  if (lines.size() < 3) {
    return make_unexpected("checkpoint has fewer than three lines");
  }
  Checkpoint out;
  out.origin = std::string(lines[0]);
  if (out.origin.empty()) {
    return make_unexpected("checkpoint origin is empty");
  }
  const auto size = parse_int64(lines[1]);
  if (!size) {
    return make_unexpected("checkpoint tree size is not a number");
  }
  out.tree_size = static_cast<std::uint64_t>(*size);
  const auto root = base64_decode(lines[2]);
  if (!root || root->size() != out.root_hash.bytes.size()) {
    return make_unexpected("checkpoint root hash is not base64 of 32 bytes");
  }
  std::copy(root->begin(), root->end(), out.root_hash.bytes.begin());
  return out;
}

Sha256
ed25519_note_key_id(std::string_view name, std::string_view raw_public_key)
{
  Sha256Hasher hasher;
  hasher.update(name);
  hasher.update(std::string_view("\n\x01", 2));
  hasher.update(raw_public_key);
  return hasher.finish();
}

std::string
inclusion_promise_payload(std::string_view body_base64, std::int64_t integrated_time, std::string_view log_id,
                          std::int64_t log_index)
{
  // Keys in RFC 8785 order (UTF-16 code units; all ASCII here), integers as plain numbers.
  return fmt::format(R"({{"body":{},"integratedTime":{},"logID":{},"logIndex":{}}})", jcs_string(body_base64),
                     integrated_time, jcs_string(to_hex(log_id)), log_index);
}

Expected<std::vector<Sct>>
parse_sct_list(std::string_view extension_value)
{
  std::string_view input = extension_value;
  auto octets = der::read(input);
  if (!octets || octets->tag != der::k_octet_string || !input.empty()) {
    return make_unexpected("SCT list extension is not one OCTET STRING");
  }
  TlsReader list_reader(octets->content);
  std::string_view list;
  if (!list_reader.vector(2, list) || !list_reader.empty()) {
    return make_unexpected("SCT list length does not match its content");
  }
  TlsReader reader(list);
  std::vector<Sct> out;
  while (!reader.empty()) {
    std::string_view serialized;
    if (!reader.vector(2, serialized)) {
      return make_unexpected("truncated SCT");
    }
    TlsReader field(serialized);
    Sct sct;
    std::uint64_t version = 0;
    std::uint64_t hash = 0;
    std::uint64_t algorithm = 0;
    std::string_view log_id;
    std::string_view extensions;
    std::string_view signature;
    if (!field.number(1, version) || !field.bytes(32, log_id) || !field.number(8, sct.timestamp_ms)
        || !field.vector(2, extensions) || !field.number(1, hash) || !field.number(1, algorithm)
        || !field.vector(2, signature) || !field.empty()) {
      return make_unexpected("malformed SCT");
    }
    sct.version = static_cast<std::uint8_t>(version);
    sct.log_id = std::string(log_id);
    sct.extensions = std::string(extensions);
    sct.hash_algorithm = static_cast<std::uint8_t>(hash);
    sct.signature_algorithm = static_cast<std::uint8_t>(algorithm);
    sct.signature = std::string(signature);
    out.push_back(std::move(sct));
  }
  return out;
}

std::string
sct_signed_input(const Sct& sct, const Sha256& issuer_key_hash, std::string_view precert_tbs)
{
  std::string out;
  out.reserve(precert_tbs.size() + sct.extensions.size() + 50);
  out.push_back(static_cast<char>(sct.version));
  out.push_back(0); // signature_type: certificate_timestamp
  append_be(out, sct.timestamp_ms, 8);
  append_be(out, 1, 2); // entry_type: precert_entry
  out += as_chars(issuer_key_hash);
  append_be(out, precert_tbs.size(), 3);
  out += precert_tbs;
  append_be(out, sct.extensions.size(), 2);
  out += sct.extensions;
  return out;
}

std::optional<std::string>
pem_certificate_to_der(std::string_view pem)
{
  constexpr std::string_view k_begin = "-----BEGIN CERTIFICATE-----";
  constexpr std::string_view k_end = "-----END CERTIFICATE-----";
  if (pem.substr(0, k_begin.size()) != k_begin) {
    return std::nullopt;
  }
  const auto end = pem.find(k_end);
  if (end == std::string_view::npos) {
    return std::nullopt;
  }
  for (const char c : pem.substr(end + k_end.size())) {
    if (c != '\n' && c != '\r') {
      return std::nullopt; // anything after the one block
    }
  }
  std::string body;
  for (const char c : pem.substr(k_begin.size(), end - k_begin.size())) {
    if (c != '\n' && c != '\r') {
      body.push_back(c);
    }
  }
  return base64_decode(body);
}

Expected<void>
check_rekor_body(std::string_view kind, std::string_view version, std::string_view body,
                 const SignedArtifact& artifact)
{
  boost::system::error_code error;
  const auto value = json_util::parse(body, error);
  if (error || !value.is_object()) {
    return make_unexpected("entry body is not a JSON object");
  }
  const auto& object = value.get_object();
  // The body must be the kind the entry claims, or a check of one kind could pass for another.
  if (!string_equals(object, "kind", kind) || !string_equals(object, "apiVersion", version)) {
    return make_unexpected(fmt::format("entry body is not of kind {} {}", kind, version));
  }
  const auto* spec = path(object, {"spec"});
  if (spec == nullptr) {
    return make_unexpected("entry body has no spec");
  }
  if (kind == "dsse" && version == "0.0.1") {
    return check_dsse_v001(*spec, artifact);
  }
  if (kind == "dsse" && version == "0.0.2") {
    return check_dsse_v002(*spec, artifact);
  }
  if (kind == "hashedrekord" && version == "0.0.2") {
    return check_hashedrekord_v002(*spec, artifact);
  }
  return make_unexpected(fmt::format("entry kind {} {} is not supported", kind, version));
}

} // namespace airlock::policy::sigstore
