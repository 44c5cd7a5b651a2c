// TrustedRoot::parse: reads a Sigstore trusted root (Fulcio CAs, Rekor and CT logs, timestamp
// authorities, each with its validity window), bounded and strict.

#include "json_util.hpp"
#include "sigstore_crypto.hpp"

#include <airlock/policy/provenance.hpp>
#include <airlock/util/base64.hpp>

#include <fmt/core.h>

namespace airlock::policy {

namespace {

using namespace json_util;
using sigstore::CertificateAuthority;
using sigstore::LogKey;
using sigstore::Validity;

// A real trusted root is under 10 KB; this bounds the parse, not the content.
constexpr std::size_t k_max_root_bytes = 1024 * 1024;
constexpr std::size_t k_max_entries = 64;
constexpr std::string_view k_media_type_prefix = "application/vnd.dev.sigstore.trustedroot";

Expected<Validity>
parse_validity(const json::object& object, std::string_view where)
{
  const auto* valid_for = find_object(object, "validFor");
  const auto* start = valid_for != nullptr ? find_string(*valid_for, "start") : nullptr;
  if (start == nullptr) {
    return make_unexpected(fmt::format("{}: validFor.start is missing", where));
  }
  Validity out;
  const auto start_time = parse_rfc3339(view(*start));
  if (!start_time) {
    return make_unexpected(fmt::format("{}: validFor.start is not an RFC 3339 time", where));
  }
  out.start = *start_time;
  if (const auto* end = find_string(*valid_for, "end")) {
    out.end = parse_rfc3339(view(*end));
    if (!out.end) {
      return make_unexpected(fmt::format("{}: validFor.end is not an RFC 3339 time", where));
    }
  }
  return out;
}

// Calls parse_entry(where, entry) for each entry of the array at `key`, `where` naming it
// ("tlogs[2]"), and stops at its first error. A missing key has no entries; anything but an
// array of at most k_max_entries is an error.
template<typename ParseEntry>
Expected<void>
for_each_entry(const json::object& root, std::string_view key, ParseEntry parse_entry)
{
  const auto* value = find(root, key);
  if (value == nullptr) {
    return {};
  }
  const auto* array = value->if_array();
  if (array == nullptr) {
    return make_unexpected(fmt::format("{} is not an array", key));
  }
  if (array->size() > k_max_entries) {
    return make_unexpected(fmt::format("{} has more than {} entries", key, k_max_entries));
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    if (auto parsed = parse_entry(fmt::format("{}[{}]", key, i), (*array)[i]); !parsed) {
      return parsed;
    }
  }
  return {};
}

// Appends the logs of `key` (tlogs or ctlogs); key types this verifier does not know are left
// out, so a root that adds a new algorithm still works for the logs it knows.
Expected<void>
parse_logs(const json::object& root, std::string_view key, std::vector<LogKey>& out)
{
  return for_each_entry(root, key, [&](const std::string& where, const json::value& element) -> Expected<void> {
    const auto* log = element.if_object();
    const auto* public_key = log != nullptr ? find_object(*log, "publicKey") : nullptr;
    const auto* log_id = log != nullptr ? find_object(*log, "logId") : nullptr;
    if (public_key == nullptr || log_id == nullptr) {
      return make_unexpected(fmt::format("{}: publicKey or logId is missing", where));
    }
    const auto* raw = find_string(*public_key, "rawBytes");
    const auto* details = find_string(*public_key, "keyDetails");
    const auto* key_id = find_string(*log_id, "keyId");
    const auto* base_url = find_string(*log, "baseUrl");
    if (raw == nullptr || details == nullptr || key_id == nullptr || base_url == nullptr) {
      return make_unexpected(fmt::format("{}: rawBytes, keyDetails, keyId or baseUrl is missing", where));
    }
    const auto der = base64_decode(view(*raw));
    const auto id = base64_decode(view(*key_id));
    if (!der || !id || id->size() != 32) {
      return make_unexpected(fmt::format("{}: rawBytes or keyId is not base64 (of 32 bytes)", where));
    }
    auto parsed = sigstore::parse_public_key(*der, view(*details));
    if (!parsed) {
      return make_unexpected(fmt::format("{}: {}", where, parsed.error()));
    }
    auto valid = parse_validity(*public_key, where);
    if (!valid) {
      return make_unexpected(valid.error());
    }
    if (!*parsed) {
      return {};
    }
    out.push_back(LogKey{*id, std::string(view(*base_url)), std::move(**parsed), *valid});
    return {};
  });
}

Expected<void>
parse_authorities(const json::object& root, std::string_view key, std::vector<CertificateAuthority>& out)
{
  return for_each_entry(root, key, [&](const std::string& where, const json::value& element) -> Expected<void> {
    const auto* authority = element.if_object();
    const auto* chain = authority != nullptr ? find_object(*authority, "certChain") : nullptr;
    const auto* certificates = chain != nullptr ? find_array(*chain, "certificates") : nullptr;
    if (certificates == nullptr || certificates->empty() || certificates->size() > 8) {
      return make_unexpected(fmt::format("{}: certChain.certificates must hold 1 to 8 certificates", where));
    }
    CertificateAuthority parsed;
    if (const auto* uri = find_string(*authority, "uri")) {
      parsed.uri = std::string(view(*uri));
    }
    for (const auto& entry : *certificates) {
      const auto* raw = entry.is_object() ? find_string(entry.get_object(), "rawBytes") : nullptr;
      const auto der = raw != nullptr ? base64_decode(view(*raw)) : std::nullopt;
      auto certificate = der ? sigstore::parse_certificate(*der) : nullptr;
      if (!certificate) {
        return make_unexpected(fmt::format("{}: a certificate is not base64 DER", where));
      }
      parsed.chain.push_back(std::move(certificate));
    }
    auto valid = parse_validity(*authority, where);
    if (!valid) {
      return make_unexpected(valid.error());
    }
    parsed.valid = *valid;
    out.push_back(std::move(parsed));
    return {};
  });
}

} // namespace

TrustedRoot::TrustedRoot(std::unique_ptr<Impl> impl) : m_impl(std::move(impl))
{
}

TrustedRoot::~TrustedRoot() = default;
TrustedRoot::TrustedRoot(TrustedRoot&&) noexcept = default;
TrustedRoot& TrustedRoot::operator=(TrustedRoot&&) noexcept = default;

Expected<TrustedRoot>
TrustedRoot::parse(std::string_view text)
{
  const ossl::ErrorQueueGuard clear_errors;
  if (text.size() > k_max_root_bytes) {
    return make_unexpected("trusted root: larger than 1 MiB");
  }
  boost::system::error_code ec;
  const auto value = json_util::parse(text, ec);
  if (ec || !value.is_object()) {
    return make_unexpected(fmt::format("trusted root: not a JSON object{}", ec ? ": " + ec.message() : ""));
  }
  const auto& root = value.get_object();
  const auto* media_type = find_string(root, "mediaType");
  if (media_type == nullptr || !view(*media_type).starts_with(k_media_type_prefix)) {
    return make_unexpected("trusted root: mediaType is not a Sigstore TrustedRoot");
  }
  auto impl = std::make_unique<Impl>();
  for (auto result : {parse_logs(root, "tlogs", impl->tlogs), parse_logs(root, "ctlogs", impl->ctlogs),
                      parse_authorities(root, "certificateAuthorities", impl->certificate_authorities),
                      parse_authorities(root, "timestampAuthorities", impl->timestamp_authorities)}) {
    if (!result) {
      return make_unexpected("trusted root: " + result.error());
    }
  }
  // An empty root would reject everything; say so at load time instead.
  if (impl->certificate_authorities.empty() || impl->tlogs.empty() || impl->ctlogs.empty()) {
    return make_unexpected("trusted root: needs at least one certificate authority, tlog and ctlog");
  }
  return TrustedRoot(std::move(impl));
}

} // namespace airlock::policy
