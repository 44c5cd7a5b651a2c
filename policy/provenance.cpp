// PEP 740 provenance verification, steps 1 to 7 of PROVENANCE.md for each attestation (times,
// chain, SCT, signature, log entry, identity, statement), and the provenance object's bundles.

#include <airlock/policy/provenance.hpp>
#include <airlock/util/base64.hpp>

#include "ascii.hpp"
#include "attestation.hpp"
#include "json_util.hpp"
#include "sigstore.hpp"
#include "sigstore_crypto.hpp"

#include <airlock/policy/filename.hpp>
#include <airlock/policy/version.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <set>

namespace airlock::policy {

namespace {

namespace reason = provenance_reason;
using namespace json_util;
using sigstore::Checked;
using sigstore::fail;
using sigstore::Failure;
using pep740::Attestation;
using pep740::is_version_one;
using pep740::parse_attestation;
using pep740::parse_document;
using pep740::parse_publisher;

// Bounds, checked before the bytes they bound are parsed or decoded. Real attestations are about
// 10 KB; PyPI serves one bundle with one or two attestations.
constexpr std::size_t k_max_provenance_bytes = 4 * 1024 * 1024;
constexpr std::size_t k_max_attestation_bytes = 1024 * 1024;
constexpr std::size_t k_max_bundles = 8;
constexpr std::size_t k_max_attestations = 16; // in one provenance object
constexpr std::size_t k_max_publisher_bytes = 16 * 1024;

constexpr std::string_view k_payload_type = "application/vnd.in-toto+json";
constexpr std::string_view k_statement_type = "https://in-toto.io/Statement/v1";
constexpr std::array<std::string_view, 2> k_predicate_types = {"https://docs.pypi.org/attestations/publish/v1",
                                                               "https://slsa.dev/provenance/v1"};

// PROVENANCE.md step 1: every time source; the SET behind integratedTime is verified in step 6.
Checked<std::vector<Time>>
signing_times(const Attestation& attestation, const TrustedRoot::Impl& root)
{
  std::vector<Time> times;
  const auto& entry = attestation.entry;
  if (entry.version == "0.0.1" && entry.signed_entry_timestamp && entry.integrated_time > 0) {
    times.push_back(Time{std::chrono::seconds{entry.integrated_time}});
  }
  for (const auto& timestamp : attestation.timestamps) {
    auto time = sigstore::verify_timestamp(timestamp, attestation.signature, root.timestamp_authorities);
    if (!time) {
      return tl::unexpected(time.error());
    }
    times.push_back(*time);
  }
  if (times.empty()) {
    return fail(reason::k_no_verified_time, "neither a signed entry timestamp nor an RFC 3161 timestamp");
  }
  return times;
}

// PROVENANCE.md step 6: the entry is in a trusted log and is about this signature.
Checked<void>
verify_log_entry(const Attestation& attestation, const TrustedRoot::Impl& root, const std::vector<Time>& times)
{
  const auto& entry = attestation.entry;
  const auto log = std::find_if(root.tlogs.begin(), root.tlogs.end(),
                                [&](const sigstore::LogKey& key) { return key.log_id == entry.log_id; });
  if (log == root.tlogs.end()) {
    return fail(reason::k_unknown_log,
                fmt::format("transparency log {} is not in the trusted root", base64_encode(entry.log_id)));
  }
  for (const auto t : times) {
    if (!log->valid.contains(t)) {
      return fail(reason::k_unknown_log, fmt::format("transparency log {} was not valid at {}", log->base_url,
                                                     format_rfc3339(t)));
    }
  }
  auto body = sigstore::check_rekor_body(
    entry.kind, entry.version, entry.body,
    sigstore::SignedArtifact{attestation.statement, attestation.signature, attestation.certificate_der});
  if (!body) {
    return fail(reason::k_tlog_body, "transparency entry: " + body.error());
  }
  // sigstore-python requires the proof and its checkpoint even when a SET is present.
  if (!entry.proof) {
    return fail(reason::k_inclusion_proof, "transparency entry has no inclusion proof");
  }
  const auto& proof = *entry.proof;
  auto root_hash = sigstore::merkle_root_from_proof(static_cast<std::uint64_t>(proof.log_index),
                                                    static_cast<std::uint64_t>(proof.tree_size),
                                                    sigstore::merkle_leaf_hash(entry.body), proof.hashes);
  if (!root_hash) {
    return fail(reason::k_inclusion_proof, root_hash.error());
  }
  if (*root_hash != proof.root_hash) {
    return fail(reason::k_inclusion_proof, "inclusion proof does not lead to its root hash");
  }
  if (auto checkpoint = sigstore::verify_checkpoint(proof.checkpoint, static_cast<std::uint64_t>(proof.tree_size),
                                                    proof.root_hash, *log);
      !checkpoint) {
    return checkpoint;
  }
  if (entry.signed_entry_timestamp) {
    const auto payload = sigstore::inclusion_promise_payload(entry.body_base64, entry.integrated_time, entry.log_id,
                                                             entry.log_index);
    if (!sigstore::verify_signature(log->key, payload, *entry.signed_entry_timestamp)) {
      return fail(reason::k_inclusion_promise, "signed entry timestamp does not verify");
    }
  }
  return {};
}

// A distribution filename in the form PEP 740 compares: pypi-attestations'
// _ultranormalize_dist_filename, with the wheel's compressed tag sets as sets.
struct DistName
{
  std::string extension; // ".whl", ".tar.gz", ".zip"
  std::string project;   // normalized
  std::string version;   // PEP 440 normalized
  std::optional<std::pair<std::uint64_t, std::string>> build;
  std::set<std::string> pythons;
  std::set<std::string> abis;
  std::set<std::string> platforms;

  friend bool operator==(const DistName&, const DistName&) = default;
};

std::set<std::string>
tag_set(std::string_view tags)
{
  std::set<std::string> out;
  while (true) {
    const auto dot = tags.find('.');
    std::string tag(tags.substr(0, dot));
    std::transform(tag.begin(), tag.end(), tag.begin(), ascii::to_lower);
    out.insert(std::move(tag));
    if (dot == std::string_view::npos) {
      return out;
    }
    tags.remove_prefix(dot + 1);
  }
}

bool
is_tag(std::string_view tag)
{
  return !tag.empty()
         && std::all_of(tag.begin(), tag.end(), [](char c) { return ascii::is_alnum(c) || c == '_' || c == '.'; });
}

std::optional<DistName>
parse_dist_name(std::string_view filename)
{
  DistName out;
  std::string_view stem;
  for (const std::string_view extension : {".whl", ".tar.gz", ".zip"}) {
    if (filename.ends_with(extension)) {
      out.extension = std::string(extension);
      stem = filename.substr(0, filename.size() - extension.size());
      break;
    }
  }
  if (out.extension.empty()) {
    return std::nullopt;
  }
  std::string_view name;
  std::string_view version;
  if (out.extension == ".whl") {
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
      const auto dash = stem.find('-', start);
      parts.push_back(stem.substr(start, dash - start));
      if (dash == std::string_view::npos) {
        break;
      }
      start = dash + 1;
    }
    if (parts.size() != 5 && parts.size() != 6) {
      return std::nullopt;
    }
    name = parts[0];
    version = parts[1];
    if (parts.size() == 6) {
      // A build tag is digits, then anything: (int, str) in packaging.
      const auto build = parts[2];
      const auto digits = std::min(build.find_first_not_of("0123456789"), build.size());
      auto number_text = build.substr(0, digits);
      while (number_text.size() > 1 && number_text.front() == '0') {
        number_text.remove_prefix(1);
      }
      const auto number = sigstore::parse_int64(number_text);
      if (digits == 0 || !number) {
        return std::nullopt;
      }
      out.build = std::pair{static_cast<std::uint64_t>(*number), std::string(build.substr(digits))};
    }
    const auto python = parts[parts.size() - 3];
    const auto abi = parts[parts.size() - 2];
    const auto platform = parts[parts.size() - 1];
    if (!is_tag(python) || !is_tag(abi) || !is_tag(platform)) {
      return std::nullopt;
    }
    out.pythons = tag_set(python);
    out.abis = tag_set(abi);
    out.platforms = tag_set(platform);
  } else {
    // An sdist's version follows the last '-' (packaging's parse_sdist_filename).
    const auto dash = stem.rfind('-');
    if (dash == std::string_view::npos) {
      return std::nullopt;
    }
    name = stem.substr(0, dash);
    version = stem.substr(dash + 1);
  }
  const auto parsed_version = Version::parse(version);
  if (!is_valid_project_name(name) || !parsed_version) {
    return std::nullopt;
  }
  out.project = normalize_project_name(name);
  out.version = parsed_version->normalized();
  return out;
}

// PROVENANCE.md step 7: the statement is about this file.
Checked<void>
check_statement(std::string_view statement, std::string_view dist_filename, const Sha256& dist_sha256)
{
  boost::system::error_code ec;
  const auto value = json_util::parse(statement, ec);
  if (ec || !value.is_object()) {
    return fail(reason::k_statement, "statement is not a JSON object");
  }
  // A repeated key keeps its last value in Boost.JSON, as in Python's json that PyPI's tools use:
  // the statement cannot read one way here and another way there.
  const auto& object = value.get_object();
  const auto* type = find_string(object, "_type");
  if (type == nullptr || view(*type) != k_statement_type) {
    return fail(reason::k_statement, fmt::format("statement _type is not {}", k_statement_type));
  }
  const auto* subjects = find_array(object, "subject");
  if (subjects == nullptr || subjects->size() != 1 || !(*subjects)[0].is_object()) {
    return fail(reason::k_statement, "statement must have exactly one subject");
  }
  const auto& subject = (*subjects)[0].get_object();
  const auto* name = find_string(subject, "name");
  if (name == nullptr || name->empty()) {
    return fail(reason::k_statement, "statement subject has no name");
  }
  const auto* predicate_type = find_string(object, "predicateType");
  if (predicate_type == nullptr
      || std::find(k_predicate_types.begin(), k_predicate_types.end(), view(*predicate_type))
           == k_predicate_types.end()) {
    return fail(reason::k_predicate_type,
                fmt::format("predicateType {} is not accepted",
                            predicate_type != nullptr ? std::string(view(*predicate_type)) : "(missing)"));
  }
  const auto subject_name = parse_dist_name(view(*name));
  if (!subject_name) {
    return fail(reason::k_subject_name,
                fmt::format("subject {} is not a valid sdist or wheel filename", std::string(view(*name))));
  }
  const auto expected_name = parse_dist_name(dist_filename);
  if (!expected_name) {
    return fail(reason::k_subject_name, fmt::format("{} is not a valid sdist or wheel filename", dist_filename));
  }
  if (*subject_name != *expected_name) {
    return fail(reason::k_subject_name,
                fmt::format("attestation is for {}, not {}", std::string(view(*name)), dist_filename));
  }
  const auto* digest = find_object(subject, "digest");
  const auto* sha256 = digest != nullptr ? find_string(*digest, "sha256") : nullptr;
  if (sha256 == nullptr || view(*sha256) != dist_sha256.hex()) {
    return fail(reason::k_subject_digest,
                fmt::format("attestation is for sha256 {}, not {}",
                            sha256 != nullptr ? std::string(view(*sha256)) : "(missing)", dist_sha256.hex()));
  }
  return {};
}

struct Verified
{
  Time signed_at{};
  sigstore::RepositoryIds ids;
};

// PROVENANCE.md steps 1 to 7 for one attestation. `signer` is set once the chain verifies.
Checked<Verified>
verify_attestation_object(const json::object& object, std::string_view dist_filename, const Sha256& dist_sha256,
                          const TrustedRoot::Impl& root, const IdentityPolicy* policy,
                          std::optional<SignerIdentity>& signer)
{
  auto attestation = parse_attestation(object);
  if (!attestation) {
    return tl::unexpected(attestation.error());
  }
  X509* leaf = attestation->certificate.get();
  auto times = signing_times(*attestation, root);
  if (!times) {
    return tl::unexpected(times.error());
  }
  // The leaf lives ten minutes: it must be valid at every verified time, never "now".
  auto chain = sigstore::verify_certificate_chain(root.certificate_authorities, leaf, *times);
  if (!chain) {
    return tl::unexpected(chain.error());
  }
  signer = sigstore::certificate_identity(leaf);
  if (auto usage = sigstore::check_code_signing(leaf); !usage) {
    return tl::unexpected(usage.error());
  }
  if (auto sct = sigstore::verify_embedded_sct(leaf, attestation->certificate_der, *chain, root.ctlogs); !sct) {
    return tl::unexpected(sct.error());
  }
  const auto pae = sigstore::dsse_pae(k_payload_type, attestation->statement);
  if (!sigstore::verify_signature(X509_get0_pubkey(leaf), EVP_sha256(), pae, attestation->signature)) {
    return fail(reason::k_signature, "envelope signature does not verify with the signing certificate");
  }
  if (auto logged = verify_log_entry(*attestation, root, *times); !logged) {
    return tl::unexpected(logged.error());
  }
  if (policy != nullptr) {
    if (auto identity = sigstore::check_identity(leaf, *policy); !identity) {
      return tl::unexpected(identity.error());
    }
  }
  auto ids = sigstore::repository_ids(leaf);
  if (!ids) {
    return tl::unexpected(ids.error());
  }
  if (auto statement = check_statement(attestation->statement, dist_filename, dist_sha256); !statement) {
    return tl::unexpected(statement.error());
  }
  return Verified{*std::min_element(times->begin(), times->end()), std::move(*ids)};
}

std::string
describe(const Publisher& publisher)
{
  if (publisher.kind == "Google") {
    return fmt::format("Google publisher {}", publisher.email);
  }
  return fmt::format("{} publisher {} ({})", publisher.kind, publisher.repository, publisher.workflow);
}

std::string
describe(const sigstore::RepositoryIds& ids)
{
  const auto or_none = [](const std::string& id) { return id.empty() ? std::string("none") : id; };
  return fmt::format("repository ID {}, owner ID {}", or_none(ids.repository_id), or_none(ids.owner_id));
}

ProvenanceResult
invalid(const Failure& failure, std::string_view context = {})
{
  ProvenanceResult result;
  result.status = ProvenanceStatus::invalid;
  result.reason_class = std::string(failure.reason_class);
  result.reason = context.empty() ? failure.reason : fmt::format("{}: {}", context, failure.reason);
  return result;
}

} // namespace

Expected<Publisher>
Publisher::parse(std::string_view json_text)
{
  auto value = parse_document(json_text, k_max_publisher_bytes, "publisher");
  if (!value) {
    return make_unexpected(value.error().reason);
  }
  auto publisher = parse_publisher(value->get_object());
  if (!publisher) {
    return make_unexpected(publisher.error().reason);
  }
  return std::move(*publisher);
}

bool
same_signer(const Publisher& a, const Publisher& b)
{
  return a.kind == b.kind && a.repository == b.repository && a.workflow == b.workflow && a.email == b.email;
}

ProvenanceResult
verify_attestation(std::string_view attestation_json, std::string_view dist_filename, const Sha256& dist_sha256,
                   const TrustedRoot& root, const std::optional<IdentityPolicy>& policy)
{
  const ossl::ErrorQueueGuard clear_errors;
  auto value = parse_document(attestation_json, k_max_attestation_bytes, "attestation");
  if (!value) {
    return invalid(value.error());
  }
  std::optional<SignerIdentity> signer;
  auto verified = verify_attestation_object(value->get_object(), dist_filename, dist_sha256, root.impl(),
                                            policy ? &*policy : nullptr, signer);
  if (!verified) {
    auto result = invalid(verified.error());
    result.signer = std::move(signer);
    return result;
  }
  ProvenanceResult result;
  result.status = ProvenanceStatus::verified;
  result.signer = std::move(signer);
  result.signed_at = verified->signed_at;
  result.repository_id = std::move(verified->ids.repository_id);
  result.owner_id = std::move(verified->ids.owner_id);
  result.reason = "verified";
  if (policy) {
    if (const auto* publisher = std::get_if<Publisher>(&*policy)) {
      result.publisher = *publisher;
    }
  }
  return result;
}

ProvenanceResult
verify_provenance(std::string_view provenance_json, std::string_view dist_filename, const Sha256& dist_sha256,
                  const TrustedRoot& root, const Publisher* expected_publisher)
{
  const ossl::ErrorQueueGuard clear_errors;
  auto value = parse_document(provenance_json, k_max_provenance_bytes, "provenance");
  if (!value) {
    return invalid(value.error());
  }
  const auto& object = value->get_object();
  if (!is_version_one(find(object, "version"))) {
    return invalid(Failure{reason::k_unsupported, "provenance version is not 1"});
  }
  const auto* bundles = find_array(object, "attestation_bundles");
  if (bundles == nullptr || bundles->empty()) {
    return invalid(Failure{reason::k_malformed, "provenance has no attestation_bundles"});
  }
  if (bundles->size() > k_max_bundles) {
    return invalid(Failure{reason::k_too_large, fmt::format("more than {} attestation bundles", k_max_bundles)});
  }
  // Shape first, so that an oversized object is rejected before any cryptography runs.
  std::size_t total = 0;
  for (const auto& bundle : *bundles) {
    const auto* attestations = bundle.is_object() ? find_array(bundle.get_object(), "attestations") : nullptr;
    if (attestations == nullptr || attestations->empty()) {
      return invalid(Failure{reason::k_malformed, "an attestation bundle has no attestations"});
    }
    total += attestations->size();
  }
  if (total > k_max_attestations) {
    return invalid(Failure{reason::k_too_large, fmt::format("more than {} attestations", k_max_attestations)});
  }

  ProvenanceResult result;
  std::optional<Time> earliest;
  std::optional<sigstore::RepositoryIds> ids; // the first attestation's: all must carry the same
  for (std::size_t b = 0; b < bundles->size(); ++b) {
    const auto& bundle = (*bundles)[b].get_object();
    const auto* publisher_object = find_object(bundle, "publisher");
    if (publisher_object == nullptr) {
      return invalid(Failure{reason::k_malformed, "an attestation bundle has no publisher"});
    }
    auto publisher = parse_publisher(*publisher_object);
    if (!publisher) {
      return invalid(publisher.error(), fmt::format("bundle {}", b));
    }
    const auto& attestations = *find_array(bundle, "attestations");
    const IdentityPolicy policy = *publisher;
    for (std::size_t a = 0; a < attestations.size(); ++a) {
      const auto* attestation = attestations[a].if_object();
      if (attestation == nullptr) {
        return invalid(Failure{reason::k_malformed, "an attestation is not an object"});
      }
      std::optional<SignerIdentity> signer;
      auto verified =
        verify_attestation_object(*attestation, dist_filename, dist_sha256, root.impl(), &policy, signer);
      if (!verified) {
        auto failed = invalid(verified.error(), fmt::format("bundle {} attestation {}", b, a));
        failed.signer = std::move(signer);
        return failed;
      }
      if (!earliest || verified->signed_at < *earliest) {
        earliest = verified->signed_at;
      }
      // The same names with other IDs is a deleted repository or owner registered again by
      // someone else. A certificate without IDs beside one with them is refused too: nothing then
      // says that both name the same repository.
      if (!ids) {
        ids = std::move(verified->ids);
      } else if (*ids != verified->ids) {
        return invalid(Failure{reason::k_publisher_mismatch,
                               fmt::format("bundle {} attestation {} was signed for {}, an earlier one for {}", b, a,
                                           describe(verified->ids), describe(*ids))});
      }
      result.signer = std::move(signer);
    }
    // Two bundles naming different publishers for one file is not something PyPI makes.
    if (result.publisher && !same_signer(*result.publisher, *publisher)) {
      return invalid(Failure{reason::k_publisher_mismatch, "attestation bundles name different publishers"});
    }
    result.publisher = std::move(*publisher);
  }
  if (expected_publisher != nullptr && !same_signer(*result.publisher, *expected_publisher)) {
    auto mismatch = invalid(Failure{reason::k_publisher_mismatch,
                                    fmt::format("signed by {}, expected {}", describe(*result.publisher),
                                                describe(*expected_publisher))});
    mismatch.publisher = std::move(result.publisher);
    mismatch.signer = std::move(result.signer);
    mismatch.repository_id = std::move(ids->repository_id);
    mismatch.owner_id = std::move(ids->owner_id);
    return mismatch;
  }
  result.status = ProvenanceStatus::verified;
  result.reason = "verified";
  result.signed_at = *earliest;
  result.repository_id = std::move(ids->repository_id);
  result.owner_id = std::move(ids->owner_id);
  return result;
}

} // namespace airlock::policy
