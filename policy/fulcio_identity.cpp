// The Fulcio certificate's identity: its extensions and SANs, who it was issued to, its CI
// repository IDs, and the identity policy check of PROVENANCE.md step 4.

#include "sigstore_crypto.hpp"

#include "der.hpp"

#include <fmt/core.h>
#include <openssl/objects.h>

#include <array>

namespace airlock::policy::sigstore {

namespace reason = provenance_reason;

namespace {

constexpr std::string_view k_fulcio_prefix = "1.3.6.1.4.1.57264.1.";
constexpr std::string_view k_fulcio_san_oid = "1.3.6.1.4.1.57264.1.7";
// Fulcio extension numbers (1.3.6.1.4.1.57264.1.N).
constexpr int k_issuer_legacy = 1;
constexpr int k_issuer_v2 = 8;
constexpr int k_source_repository_uri = 12;
constexpr int k_source_repository_digest = 13;
constexpr int k_source_repository_ref = 14;
constexpr int k_source_repository_id = 15;
constexpr int k_source_repository_owner_id = 17;
constexpr int k_build_config_uri = 18;

constexpr std::string_view k_github_issuer = "https://token.actions.githubusercontent.com";
constexpr std::string_view k_gitlab_issuer = "https://gitlab.com";
constexpr std::string_view k_google_issuer = "https://accounts.google.com";

std::string
object_text(const ASN1_OBJECT* object)
{
  std::array<char, 128> buffer{};
  const int n = OBJ_obj2txt(buffer.data(), static_cast<int>(buffer.size()), object, 1);
  if (n <= 0 || n >= static_cast<int>(buffer.size())) {
    return {};
  }
  return std::string(buffer.data(), static_cast<std::size_t>(n));
}

// Decodes a Fulcio extension: .1 to .6 hold the raw string, .8 onwards a DER UTF8String.
Checked<std::optional<std::string>>
fulcio_value(const std::map<int, std::string>& extensions, int number)
{
  const auto it = extensions.find(number);
  if (it == extensions.end()) {
    return std::nullopt;
  }
  if (number < k_issuer_v2) {
    return it->second;
  }
  auto decoded = der::decode_utf8_string(it->second);
  if (!decoded) {
    return fail(reason::k_identity,
                fmt::format("certificate extension {}{}: {}", k_fulcio_prefix, number, decoded.error()));
  }
  return std::move(*decoded);
}

// Issuer check of a plain identity: every issuer extension present (.1 legacy, .8 current) must
// be the issuer, and at least one must be present.
Checked<void>
check_issuer(const std::map<int, std::string>& extensions, std::string_view issuer)
{
  auto legacy = fulcio_value(extensions, k_issuer_legacy);
  auto current = fulcio_value(extensions, k_issuer_v2);
  if (!legacy) {
    return tl::unexpected(legacy.error());
  }
  if (!current) {
    return tl::unexpected(current.error());
  }
  if (!*legacy && !*current) {
    return fail(reason::k_identity, "certificate names no OIDC issuer");
  }
  for (const auto& value : {*legacy, *current}) {
    if (value && *value != issuer) {
      return fail(reason::k_identity, fmt::format("certificate issuer is {}, expected {}", *value, issuer));
    }
  }
  return {};
}

Checked<void>
check_signer_identity(X509* leaf, const std::map<int, std::string>& extensions, const SignerIdentity& identity)
{
  if (auto issuer = check_issuer(extensions, identity.issuer); !issuer) {
    return issuer;
  }
  auto names = subject_alternative_names(leaf);
  if (!names) {
    return fail(reason::k_identity, names.error());
  }
  for (const auto& name : *names) {
    if (name == identity.identity) {
      return {};
    }
  }
  return fail(reason::k_identity,
              fmt::format("certificate was issued to {}, expected {}",
                          names->empty() ? std::string("nobody") : names->front(), identity.identity));
}

// GitHub and GitLab Trusted Publishers: issuer, source repository, and a Build Config URI that
// names the workflow at the certificate's own ref or commit (pypi-attestations _impl.py).
Checked<void>
check_ci_publisher(const std::map<int, std::string>& extensions, const Publisher& publisher,
                   std::string_view issuer, std::string_view host, std::string_view workflow_infix)
{
  auto cert_issuer = fulcio_value(extensions, k_issuer_v2);
  auto repository = fulcio_value(extensions, k_source_repository_uri);
  auto build_config = fulcio_value(extensions, k_build_config_uri);
  auto digest = fulcio_value(extensions, k_source_repository_digest);
  auto ref = fulcio_value(extensions, k_source_repository_ref);
  for (const auto* value : {&cert_issuer, &repository, &build_config, &digest, &ref}) {
    if (!*value) {
      return tl::unexpected(value->error());
    }
  }
  if (*cert_issuer != issuer) {
    return fail(reason::k_identity, fmt::format("certificate issuer is {}, expected {} for a {} publisher",
                                                cert_issuer->value_or("missing"), issuer, publisher.kind));
  }
  const auto expected_repository = fmt::format("https://{}/{}", host, publisher.repository);
  if (*repository != expected_repository) {
    return fail(reason::k_identity, fmt::format("certificate source repository is {}, expected {}",
                                                repository->value_or("missing"), expected_repository));
  }
  if (!*build_config) {
    return fail(reason::k_identity, "certificate has no Build Config URI");
  }
  if (!*digest && !*ref) {
    return fail(reason::k_identity, "certificate has neither a source repository ref nor a digest");
  }
  for (const auto& suffix : {*ref, *digest}) {
    if (suffix
        && **build_config
             == fmt::format("https://{}/{}/{}{}@{}", host, publisher.repository, workflow_infix, publisher.workflow,
                            *suffix)) {
      return {};
    }
  }
  return fail(reason::k_identity, fmt::format("certificate Build Config URI is {}, expected workflow {} of {}",
                                              **build_config, publisher.workflow, publisher.repository));
}

} // namespace

Expected<std::map<int, std::string>>
fulcio_extensions(X509* certificate)
{
  std::map<int, std::string> out;
  const int count = X509_get_ext_count(certificate);
  for (int i = 0; i < count; ++i) {
    X509_EXTENSION* extension = X509_get_ext(certificate, i);
    const auto oid = object_text(X509_EXTENSION_get_object(extension));
    if (!oid.starts_with(k_fulcio_prefix)) {
      continue;
    }
    const auto number = parse_int64(std::string_view(oid).substr(k_fulcio_prefix.size()));
    if (!number || *number > 1000) {
      continue; // a deeper arc such as 57264.1.8.1: not one of the extensions read here
    }
    const bool inserted =
      out.emplace(static_cast<int>(*number), std::string(asn1_view(X509_EXTENSION_get_data(extension)))).second;
    if (!inserted) {
      return make_unexpected(fmt::format("certificate repeats extension {}", oid));
    }
  }
  return out;
}

Expected<std::vector<std::string>>
subject_alternative_names(X509* certificate)
{
  int critical = 0;
  ossl::GeneralNamesPtr names(
    static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, &critical, nullptr)));
  if (!names) {
    if (critical == -2) {
      return make_unexpected("certificate has two SAN extensions");
    }
    return std::vector<std::string>{};
  }
  std::vector<std::string> out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_EMAIL || name->type == GEN_URI) {
      out.emplace_back(asn1_view(name->d.ia5));
    } else if (name->type == GEN_OTHERNAME && object_text(name->d.otherName->type_id) == k_fulcio_san_oid
               && name->d.otherName->value->type == V_ASN1_UTF8STRING) {
      out.emplace_back(asn1_view(name->d.otherName->value->value.utf8string));
    }
  }
  return out;
}

Checked<void>
check_identity(X509* leaf, const IdentityPolicy& policy)
{
  auto extensions = fulcio_extensions(leaf);
  if (!extensions) {
    return fail(reason::k_identity, extensions.error());
  }
  if (const auto* identity = std::get_if<SignerIdentity>(&policy)) {
    return check_signer_identity(leaf, *extensions, *identity);
  }
  const auto& publisher = std::get<Publisher>(policy);
  if (publisher.kind == "GitHub") {
    return check_ci_publisher(*extensions, publisher, k_github_issuer, "github.com", ".github/workflows/");
  }
  if (publisher.kind == "GitLab") {
    // GitLab's Build Config URI puts a double slash before the workflow file path.
    return check_ci_publisher(*extensions, publisher, k_gitlab_issuer, "gitlab.com", "/");
  }
  if (publisher.kind == "Google") {
    return check_signer_identity(leaf, *extensions, SignerIdentity{publisher.email, std::string(k_google_issuer)});
  }
  return fail(reason::k_unsupported_publisher, fmt::format("publisher kind {} is not supported", publisher.kind));
}

std::optional<SignerIdentity>
certificate_identity(X509* leaf)
{
  auto names = subject_alternative_names(leaf);
  auto extensions = fulcio_extensions(leaf);
  if (!names || names->empty() || !extensions) {
    return std::nullopt;
  }
  auto issuer = fulcio_value(*extensions, k_issuer_v2);
  if (!issuer || !*issuer) {
    issuer = fulcio_value(*extensions, k_issuer_legacy);
  }
  if (!issuer || !*issuer) {
    return std::nullopt;
  }
  return SignerIdentity{names->front(), **issuer};
}

Checked<RepositoryIds>
repository_ids(X509* leaf)
{
  auto extensions = fulcio_extensions(leaf);
  if (!extensions) {
    return fail(reason::k_identity, extensions.error());
  }
  auto repository = fulcio_value(*extensions, k_source_repository_id);
  if (!repository) {
    return tl::unexpected(repository.error());
  }
  auto owner = fulcio_value(*extensions, k_source_repository_owner_id);
  if (!owner) {
    return tl::unexpected(owner.error());
  }
  return RepositoryIds{repository->value_or(""), owner->value_or("")};
}

} // namespace airlock::policy::sigstore
