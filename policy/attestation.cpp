// Reads the PEP 740 JSON documents: an attestation's certificate, log entry, timestamps and
// envelope, and a publisher, each field bounded before it is decoded.

#include "attestation.hpp"

#include <airlock/util/base64.hpp>

#include <fmt/core.h>

#include <algorithm>

namespace airlock::policy::pep740 {

namespace {

namespace reason = provenance_reason;
using namespace json_util;
using sigstore::Checked;
using sigstore::fail;

// Bounds, checked before the bytes they bound are decoded. Real attestations are about 10 KB
// with a 2.5 KB certificate.
constexpr std::size_t k_max_certificate_bytes = 16 * 1024;
constexpr std::size_t k_max_statement_bytes = 512 * 1024;
constexpr std::size_t k_max_signature_bytes = 1024;
constexpr std::size_t k_max_body_bytes = 256 * 1024;
constexpr std::size_t k_max_checkpoint_bytes = 16 * 1024;
constexpr std::size_t k_max_proof_hashes = 64;
constexpr std::size_t k_max_timestamps = 32; // sigstore-python MAX_ALLOWED_TIMESTAMP
constexpr std::size_t k_max_timestamp_bytes = 32 * 1024;

// Protobuf JSON writes int64 as a string, but parsers also accept a number.
std::optional<std::int64_t>
int64_field(const json::object& object, std::string_view key)
{
  const auto* value = find(object, key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (const auto* text = value->if_string()) {
    return sigstore::parse_int64(view(*text));
  }
  if (value->is_int64() && value->get_int64() >= 0) {
    return value->get_int64();
  }
  return std::nullopt;
}

// Decodes the base64 string at `key`, bounding the text before decoding it.
Checked<std::string>
base64_field(const json::object& object, std::string_view key, std::size_t max_bytes, std::string_view where)
{
  const auto* text = find_string(object, key);
  if (text == nullptr) {
    return fail(reason::k_malformed, fmt::format("{} is missing", where));
  }
  if (text->size() > (max_bytes + 2) / 3 * 4) {
    return fail(reason::k_too_large, fmt::format("{} is larger than {} bytes", where, max_bytes));
  }
  auto bytes = base64_decode(view(*text));
  if (!bytes) {
    return fail(reason::k_malformed, fmt::format("{} is not base64", where));
  }
  return std::move(*bytes);
}

Checked<Sha256>
hash_field(const json::value& value, std::string_view where)
{
  const auto* text = value.if_string();
  const auto bytes = text != nullptr ? base64_decode(view(*text)) : std::nullopt;
  if (!bytes || bytes->size() != 32) {
    return fail(reason::k_malformed, fmt::format("{} is not base64 of 32 bytes", where));
  }
  Sha256 out;
  std::copy(bytes->begin(), bytes->end(), out.bytes.begin());
  return out;
}

Checked<InclusionProof>
parse_inclusion_proof(const json::object& object)
{
  InclusionProof proof;
  const auto index = int64_field(object, "logIndex");
  const auto size = int64_field(object, "treeSize");
  const auto* root = find(object, "rootHash");
  const auto* hashes = find_array(object, "hashes");
  const auto* checkpoint = find_object(object, "checkpoint");
  const auto* envelope = checkpoint != nullptr ? find_string(*checkpoint, "envelope") : nullptr;
  if (!index || !size || root == nullptr || hashes == nullptr || envelope == nullptr) {
    return fail(reason::k_malformed,
                "inclusionProof needs logIndex, treeSize, rootHash, hashes and checkpoint.envelope");
  }
  if (hashes->size() > k_max_proof_hashes || envelope->size() > k_max_checkpoint_bytes) {
    return fail(reason::k_too_large, "inclusionProof has too many hashes or too large a checkpoint");
  }
  proof.log_index = *index;
  proof.tree_size = *size;
  auto root_hash = hash_field(*root, "inclusionProof.rootHash");
  if (!root_hash) {
    return tl::unexpected(root_hash.error());
  }
  proof.root_hash = *root_hash;
  for (const auto& hash : *hashes) {
    auto parsed = hash_field(hash, "inclusionProof.hashes[]");
    if (!parsed) {
      return tl::unexpected(parsed.error());
    }
    proof.hashes.push_back(*parsed);
  }
  proof.checkpoint = std::string(view(*envelope));
  return proof;
}

Checked<LogEntry>
parse_log_entry(const json::object& object)
{
  LogEntry entry;
  const auto* log_id = find_object(object, "logId");
  const auto* kind_version = find_object(object, "kindVersion");
  const auto* kind = kind_version != nullptr ? find_string(*kind_version, "kind") : nullptr;
  const auto* version = kind_version != nullptr ? find_string(*kind_version, "version") : nullptr;
  const auto log_index = int64_field(object, "logIndex");
  const auto integrated_time = int64_field(object, "integratedTime");
  if (log_id == nullptr || kind == nullptr || version == nullptr || !log_index || !integrated_time) {
    return fail(reason::k_malformed, "transparency entry needs logId, kindVersion, logIndex and integratedTime");
  }
  auto id = base64_field(*log_id, "keyId", 64, "transparency entry logId.keyId");
  if (!id) {
    return tl::unexpected(id.error());
  }
  entry.log_id = std::move(*id);
  entry.kind = std::string(view(*kind));
  entry.version = std::string(view(*version));
  entry.log_index = *log_index;
  entry.integrated_time = *integrated_time;
  const bool v1 = entry.version == "0.0.1";
  if (!(entry.kind == "dsse" && (v1 || entry.version == "0.0.2"))
      && !(entry.kind == "hashedrekord" && entry.version == "0.0.2")) {
    return fail(reason::k_unsupported,
                fmt::format("transparency entry kind {} {} is not supported", entry.kind, entry.version));
  }
  if (const auto* promise = find_object(object, "inclusionPromise")) {
    // Rekor v2 has no signed entry timestamps; one on a v2 entry is not something we can check.
    if (!v1) {
      return fail(reason::k_unsupported, "inclusionPromise on a Rekor v2 entry");
    }
    auto set = base64_field(*promise, "signedEntryTimestamp", k_max_signature_bytes, "signedEntryTimestamp");
    if (!set) {
      return tl::unexpected(set.error());
    }
    entry.signed_entry_timestamp = std::move(*set);
  }
  if (const auto* proof = find_object(object, "inclusionProof")) {
    auto parsed = parse_inclusion_proof(*proof);
    if (!parsed) {
      return tl::unexpected(parsed.error());
    }
    entry.proof = std::move(*parsed);
  }
  const auto* body = find_string(object, "canonicalizedBody");
  if (body == nullptr) {
    return fail(reason::k_malformed, "transparency entry has no canonicalizedBody");
  }
  entry.body_base64 = std::string(view(*body));
  auto decoded = base64_field(object, "canonicalizedBody", k_max_body_bytes, "canonicalizedBody");
  if (!decoded) {
    return tl::unexpected(decoded.error());
  }
  entry.body = std::move(*decoded);
  return entry;
}

} // namespace

bool
is_version_one(const json::value* value)
{
  return value != nullptr
         && ((value->is_int64() && value->get_int64() == 1) || (value->is_uint64() && value->get_uint64() == 1));
}

Checked<json::value>
parse_document(std::string_view text, std::size_t max_bytes, std::string_view what)
{
  if (text.size() > max_bytes) {
    return fail(reason::k_too_large, fmt::format("{} is larger than {} bytes", what, max_bytes));
  }
  boost::system::error_code ec;
  auto value = json_util::parse(text, ec);
  if (ec == json::error::too_deep) {
    return fail(reason::k_too_large, fmt::format("{} nests deeper than {}", what, k_max_depth));
  }
  if (ec || !value.is_object()) {
    return fail(reason::k_malformed, fmt::format("{} is not a JSON object", what));
  }
  return value;
}

Checked<Attestation>
parse_attestation(const json::object& object)
{
  if (!is_version_one(find(object, "version"))) {
    return fail(reason::k_unsupported, "attestation version is not 1");
  }
  const auto* material = find_object(object, "verification_material");
  const auto* envelope = find_object(object, "envelope");
  if (material == nullptr || envelope == nullptr) {
    return fail(reason::k_malformed, "attestation needs verification_material and envelope");
  }
  Attestation out;
  auto certificate = base64_field(*material, "certificate", k_max_certificate_bytes, "certificate");
  if (!certificate) {
    return tl::unexpected(certificate.error());
  }
  out.certificate_der = std::move(*certificate);
  out.certificate = sigstore::parse_certificate(out.certificate_der);
  if (!out.certificate) {
    return fail(reason::k_malformed, "certificate is not one DER X.509 certificate");
  }
  // sigstore-python bundles carry exactly one log entry; pypi-attestations reads only [0].
  const auto* entries = find_array(*material, "transparency_entries");
  if (entries == nullptr || entries->size() != 1 || !(*entries)[0].is_object()) {
    return fail(reason::k_malformed, "transparency_entries must hold exactly one entry");
  }
  auto entry = parse_log_entry((*entries)[0].get_object());
  if (!entry) {
    return tl::unexpected(entry.error());
  }
  out.entry = std::move(*entry);
  if (const auto* timestamps = find(*material, "timestamps"); timestamps != nullptr && !timestamps->is_null()) {
    const auto* array = timestamps->if_array();
    if (array == nullptr) {
      return fail(reason::k_malformed, "timestamps is not an array");
    }
    if (array->size() > k_max_timestamps) {
      return fail(reason::k_too_large, fmt::format("more than {} timestamps", k_max_timestamps));
    }
    for (const auto& timestamp : *array) {
      const auto* text = timestamp.if_string();
      if (text == nullptr) {
        return fail(reason::k_malformed, "a timestamp is not a string");
      }
      if (text->size() > k_max_timestamp_bytes / 3 * 4) {
        return fail(reason::k_too_large, fmt::format("a timestamp is larger than {} bytes", k_max_timestamp_bytes));
      }
      const auto der = base64_decode(view(*text));
      if (!der) {
        return fail(reason::k_malformed, "a timestamp is not base64");
      }
      if (std::find(out.timestamps.begin(), out.timestamps.end(), *der) != out.timestamps.end()) {
        return fail(reason::k_malformed, "duplicate timestamp");
      }
      out.timestamps.push_back(*der);
    }
  }
  auto statement = base64_field(*envelope, "statement", k_max_statement_bytes, "envelope.statement");
  if (!statement) {
    return tl::unexpected(statement.error());
  }
  out.statement = std::move(*statement);
  auto signature = base64_field(*envelope, "signature", k_max_signature_bytes, "envelope.signature");
  if (!signature) {
    return tl::unexpected(signature.error());
  }
  out.signature = std::move(*signature);
  return out;
}

Checked<Publisher>
parse_publisher(const json::object& object)
{
  const auto* kind = find_string(object, "kind");
  if (kind == nullptr) {
    return fail(reason::k_malformed, "publisher has no kind");
  }
  Publisher out;
  out.kind = std::string(view(*kind));
  const auto field = [&](std::string_view key, std::string& target) -> Checked<void> {
    const auto* text = find_string(object, key);
    if (text == nullptr || text->empty()) {
      return fail(reason::k_malformed, fmt::format("{} publisher has no {}", out.kind, key));
    }
    target = std::string(view(*text));
    return {};
  };
  Checked<void> result;
  if (out.kind == "GitHub") {
    result = field("repository", out.repository).and_then([&] { return field("workflow", out.workflow); });
  } else if (out.kind == "GitLab") {
    result = field("repository", out.repository).and_then([&] { return field("workflow_filepath", out.workflow); });
  } else if (out.kind == "Google") {
    result = field("email", out.email);
  } else {
    return fail(reason::k_unsupported_publisher, fmt::format("publisher kind {} is not supported", out.kind));
  }
  if (!result) {
    return tl::unexpected(result.error());
  }
  if (const auto* environment = find(object, "environment"); environment != nullptr && !environment->is_null()) {
    if (!environment->is_string()) {
      return fail(reason::k_malformed, "publisher environment is not a string");
    }
    out.environment = std::string(view(environment->get_string()));
  }
  return out;
}

} // namespace airlock::policy::pep740
