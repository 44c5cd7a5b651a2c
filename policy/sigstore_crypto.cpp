// The key-holding half of Sigstore verification on OpenSSL: public keys and signatures, the
// Fulcio chain at given times, code signing, the embedded SCT, checkpoints and RFC 3161 timestamps.

#include "sigstore_crypto.hpp"

#include "der.hpp"

#include <airlock/util/base64.hpp>

#include <fmt/core.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <ctime>

namespace airlock::policy::sigstore {

namespace reason = provenance_reason;

namespace {

constexpr int k_max_chain_depth = 4;
constexpr std::uint8_t k_tls_hash_sha256 = 4;
constexpr std::uint8_t k_tls_signature_rsa = 1;
constexpr std::uint8_t k_tls_signature_ecdsa = 3;

std::optional<Time>
asn1_time(const ASN1_TIME* time)
{
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    return std::nullopt;
  }
  return Time{std::chrono::seconds{timegm(&tm)}};
}

bool
has_extended_key_usage(X509* certificate, int nid)
{
  auto* usages = static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(certificate, NID_ext_key_usage, nullptr, nullptr));
  if (usages == nullptr) {
    return false;
  }
  bool found = false;
  for (int i = 0; i < sk_ASN1_OBJECT_num(usages); ++i) {
    found = found || OBJ_obj2nid(sk_ASN1_OBJECT_value(usages, i)) == nid;
  }
  EXTENDED_KEY_USAGE_free(usages);
  return found;
}

std::string
public_key_info_der(X509* certificate)
{
  unsigned char* out = nullptr;
  const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(certificate), &out);
  if (n <= 0) {
    return {};
  }
  std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

// A store whose only trust anchor is the authority's root, and its other certificates as the
// untrusted pool, verifying at time `t`.
struct AnchoredStore
{
  ossl::X509StorePtr store;
  ossl::X509StackPtr untrusted;
};

// Seconds since the epoch as OpenSSL takes them. Not system_clock::to_time_t: that goes
// through nanoseconds, which overflow after 2262 (a hostile integrated time can say 2514).
std::time_t
seconds_since_epoch(Time t)
{
  return static_cast<std::time_t>(t.time_since_epoch().count());
}

AnchoredStore
anchored_store(const std::vector<const CertificateAuthority*>& authorities, Time t)
{
  AnchoredStore out{ossl::X509StorePtr(X509_STORE_new()), ossl::X509StackPtr(sk_X509_new_null())};
  for (const auto* authority : authorities) {
    X509_STORE_add_cert(out.store.get(), authority->chain.back().get());
    for (std::size_t i = 0; i + 1 < authority->chain.size(); ++i) {
      X509_add_cert(out.untrusted.get(), authority->chain[i].get(), X509_ADD_FLAG_UP_REF);
    }
  }
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(out.store.get());
  X509_VERIFY_PARAM_set_time(param, seconds_since_epoch(t));
  X509_VERIFY_PARAM_set_depth(param, k_max_chain_depth);
  return out;
}

} // namespace

std::string_view
asn1_view(const ASN1_STRING* s)
{
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s))};
}

Expected<std::optional<PublicKey>>
parse_public_key(std::string_view der, std::string_view key_details)
{
  int expected_type = EVP_PKEY_EC;
  int expected_bits = 0;
  const EVP_MD* digest = nullptr;
  bool pkcs1 = false;
  if (key_details == "PKIX_ECDSA_P256_SHA_256") {
    expected_bits = 256;
    digest = EVP_sha256();
  } else if (key_details == "PKIX_ECDSA_P384_SHA_384") {
    expected_bits = 384;
    digest = EVP_sha384();
  } else if (key_details == "PKIX_ECDSA_P521_SHA_512") {
    expected_bits = 521;
    digest = EVP_sha512();
  } else if (key_details == "PKIX_ED25519") {
    expected_type = EVP_PKEY_ED25519;
  } else if (key_details == "PKCS1_RSA_PKCS1V5" || key_details == "PKIX_RSA_PKCS1V5"
             || key_details.starts_with("PKIX_RSA_PKCS1V15_")) {
    expected_type = EVP_PKEY_RSA;
    digest = EVP_sha256();
    pkcs1 = key_details == "PKCS1_RSA_PKCS1V5";
  } else {
    return std::nullopt;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = p + der.size();
  ossl::EvpPkeyPtr key(pkcs1 ? d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size()))
                             : d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key || p != end) {
    return make_unexpected(fmt::format("{} key does not parse", key_details));
  }
  if (EVP_PKEY_get_base_id(key.get()) != expected_type
      || (expected_bits != 0 && EVP_PKEY_get_bits(key.get()) != expected_bits)) {
    return make_unexpected(fmt::format("key is not {}", key_details));
  }
  return PublicKey{std::move(key), digest};
}

bool
verify_signature(EVP_PKEY* key, const EVP_MD* digest, std::string_view data, std::string_view signature)
{
  ossl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, digest, nullptr, key) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size())
         == 1;
}

bool
verify_signature(const PublicKey& key, std::string_view data, std::string_view signature)
{
  return verify_signature(key.key.get(), key.digest, data, signature);
}

ossl::X509Ptr
parse_certificate(std::string_view der)
{
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::X509Ptr certificate(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!certificate || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return nullptr;
  }
  // OpenSSL also reads BER that is not DER (non-zero padding bits in the signature BIT STRING,
  // found by fuzzing): such bytes would name the same certificate as their DER form, so a
  // certificate must re-encode to exactly its bytes.
  if (to_der(certificate.get()) != der) {
    return nullptr;
  }
  return certificate;
}

std::string
to_der(X509* certificate)
{
  unsigned char* out = nullptr;
  const int n = i2d_X509(certificate, &out);
  if (n <= 0) {
    return {};
  }
  std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

Checked<std::vector<ossl::X509Ptr>>
verify_certificate_chain(const std::vector<CertificateAuthority>& authorities, X509* leaf,
                         std::span<const Time> times)
{
  if (times.empty()) {
    return fail(reason::k_certificate_chain, "no time to verify the signing certificate at");
  }
  std::vector<const CertificateAuthority*> valid;
  for (const auto& authority : authorities) {
    const bool covers_all =
      std::all_of(times.begin(), times.end(), [&](Time t) { return authority.valid.contains(t); });
    if (covers_all && !authority.chain.empty()) {
      valid.push_back(&authority);
    }
  }
  if (valid.empty()) {
    return fail(reason::k_certificate_chain,
                fmt::format("no Fulcio CA of the trusted root is valid at {}", format_rfc3339(times.front())));
  }
  // Signatures do not depend on the time: verify them once, at the first time.
  auto anchored = anchored_store(valid, times.front());
  ossl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), anchored.store.get(), leaf, anchored.untrusted.get()) != 1) {
    return fail(reason::k_certificate_chain, "cannot set up certificate verification");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    const bool expired = error == X509_V_ERR_CERT_HAS_EXPIRED || error == X509_V_ERR_CERT_NOT_YET_VALID;
    return fail(expired ? reason::k_certificate_expired : reason::k_certificate_chain,
                fmt::format("signing certificate at {}: {} (depth {})", format_rfc3339(times.front()),
                            X509_verify_cert_error_string(error), X509_STORE_CTX_get_error_depth(ctx.get())));
  }
  ossl::X509StackPtr stack(X509_STORE_CTX_get1_chain(ctx.get()));
  std::vector<ossl::X509Ptr> chain;
  while (stack && sk_X509_num(stack.get()) > 0) {
    chain.emplace_back(sk_X509_shift(stack.get()));
  }
  // ...and the validity windows, which do, at every other time.
  for (const auto t : times.subspan(1)) {
    auto when = seconds_since_epoch(t);
    for (std::size_t depth = 0; depth < chain.size(); ++depth) {
      if (X509_cmp_time(X509_get0_notBefore(chain[depth].get()), &when) > 0
          || X509_cmp_time(X509_get0_notAfter(chain[depth].get()), &when) < 0) {
        return fail(reason::k_certificate_expired,
                    fmt::format("signing certificate at {}: certificate is not valid then (depth {})",
                                format_rfc3339(t), depth));
      }
    }
  }
  return chain;
}

Checked<void>
check_code_signing(X509* leaf)
{
  const auto flags = X509_get_extension_flags(leaf);
  if ((flags & EXFLAG_KUSAGE) == 0 || (X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE) == 0) {
    return fail(reason::k_certificate_usage, "signing certificate lacks the digitalSignature key usage");
  }
  if ((flags & EXFLAG_XKUSAGE) == 0 || (X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN) == 0) {
    return fail(reason::k_certificate_usage, "signing certificate lacks the codeSigning extended key usage");
  }
  // PEP 740 attestation version 1 fixes the signature suite to ECDSA P-256 with SHA-256.
  EVP_PKEY* key = X509_get0_pubkey(leaf);
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != 256) {
    return fail(reason::k_certificate_usage, "signing certificate key is not ECDSA P-256");
  }
  return {};
}

Checked<void>
verify_embedded_sct(X509* leaf, std::string_view leaf_der, const std::vector<ossl::X509Ptr>& chain,
                    const std::vector<LogKey>& ctlogs)
{
  const int index = X509_get_ext_by_NID(leaf, NID_ct_precert_scts, -1);
  if (index < 0) {
    return fail(reason::k_sct, "signing certificate carries no SCT");
  }
  if (X509_get_ext_by_NID(leaf, NID_ct_precert_scts, index) >= 0) {
    return fail(reason::k_sct, "signing certificate carries two SCT lists");
  }
  auto scts = parse_sct_list(asn1_view(X509_EXTENSION_get_data(X509_get_ext(leaf, index))));
  if (!scts) {
    return fail(reason::k_sct, scts.error());
  }
  if (scts->size() != 1) {
    return fail(reason::k_sct, fmt::format("signing certificate carries {} SCTs, expected one", scts->size()));
  }
  const auto& sct = scts->front();
  if (sct.version != 0 || sct.hash_algorithm != k_tls_hash_sha256) {
    return fail(reason::k_sct, "SCT is not a v1 SCT signed over SHA-256");
  }
  // The issuer key hash names the CA that signed the precertificate: the intermediate, unless
  // that delegated to a dedicated precertificate signing certificate.
  std::size_t issuer = 1;
  if (chain.size() > 2 && has_extended_key_usage(chain[1].get(), NID_ct_precert_signer)) {
    issuer = 2;
  }
  if (chain.size() <= issuer) {
    return fail(reason::k_sct, "no issuer for the SCT's precertificate");
  }
  const auto issuer_key_hash = Sha256::of(public_key_info_der(chain[issuer].get()));
  auto tbs = der::tbs_without_extension(leaf_der, der::k_sct_list_oid);
  if (!tbs) {
    return fail(reason::k_sct, tbs.error());
  }
  const Time sct_time{std::chrono::duration_cast<std::chrono::seconds>(std::chrono::milliseconds{sct.timestamp_ms})};
  for (const auto& log : ctlogs) {
    if (log.log_id != sct.log_id) {
      continue;
    }
    if (!log.valid.contains(sct_time)) {
      return fail(reason::k_sct, fmt::format("CT log {} was not valid at the SCT's time", log.base_url));
    }
    const int type = EVP_PKEY_get_base_id(log.key.key.get());
    if ((sct.signature_algorithm == k_tls_signature_ecdsa) != (type == EVP_PKEY_EC)
        || (sct.signature_algorithm == k_tls_signature_rsa) != (type == EVP_PKEY_RSA)) {
      return fail(reason::k_sct, "SCT signature algorithm does not match the CT log's key");
    }
    if (!verify_signature(log.key.key.get(), EVP_sha256(), sct_signed_input(sct, issuer_key_hash, *tbs),
                          sct.signature)) {
      return fail(reason::k_sct, fmt::format("SCT signature of CT log {} does not verify", log.base_url));
    }
    return {};
  }
  return fail(reason::k_sct, fmt::format("SCT is from CT log {}, which is not in the trusted root",
                                         base64_encode(sct.log_id)));
}

Checked<void>
verify_checkpoint(std::string_view envelope, std::uint64_t tree_size, const Sha256& root_hash, const LogKey& log)
{
  auto note = parse_signed_note(envelope);
  if (!note) {
    return fail(reason::k_checkpoint, note.error());
  }
  // The key hint is the first four bytes of the log ID (the C2SP key ID, for Rekor v1 the
  // SHA-256 of the key). sigstore-js also requires the key name to be part of the log's URL.
  bool signed_by_log = false;
  for (const auto& signature : note->signatures) {
    const bool hint_matches =
      log.log_id.size() >= 4
      && std::equal(signature.key_hint.begin(), signature.key_hint.end(), log.log_id.begin(),
                    [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); });
    if (hint_matches && log.base_url.find(signature.name) != std::string::npos
        && verify_signature(log.key, note->text, signature.signature)) {
      signed_by_log = true;
      break;
    }
  }
  if (!signed_by_log) {
    return fail(reason::k_checkpoint, fmt::format("checkpoint is not signed by {}", log.base_url));
  }
  auto checkpoint = parse_checkpoint(note->text);
  if (!checkpoint) {
    return fail(reason::k_checkpoint, checkpoint.error());
  }
  if (checkpoint->tree_size != tree_size || checkpoint->root_hash != root_hash) {
    return fail(reason::k_checkpoint, "checkpoint is for another tree than the inclusion proof");
  }
  return {};
}

Checked<Time>
verify_timestamp(std::string_view response, std::string_view signature,
                 const std::vector<CertificateAuthority>& authorities)
{
  const auto* p = reinterpret_cast<const unsigned char*>(response.data());
  ossl::TsRespPtr resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(response.size())));
  if (!resp || p != reinterpret_cast<const unsigned char*>(response.data()) + response.size()) {
    return fail(reason::k_timestamp, "timestamp is not a DER TimeStampResp");
  }
  const long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp.get())));
  TS_TST_INFO* info = TS_RESP_get_tst_info(resp.get());
  PKCS7* token = TS_RESP_get_token(resp.get());
  // PKIStatus granted (0) or grantedWithMods (1).
  if ((status != 0 && status != 1) || info == nullptr || token == nullptr) {
    return fail(reason::k_timestamp, "timestamp response was not granted");
  }
  if (TS_TST_INFO_get_version(info) != 1) {
    return fail(reason::k_timestamp, "TSTInfo version is not 1");
  }
  TS_MSG_IMPRINT* imprint = TS_TST_INFO_get_msg_imprint(info);
  const ASN1_OBJECT* algorithm = nullptr;
  X509_ALGOR_get0(&algorithm, nullptr, nullptr, TS_MSG_IMPRINT_get_algo(imprint));
  const auto digest = Sha256::of(signature);
  if (OBJ_obj2nid(algorithm) != NID_sha256 || asn1_view(TS_MSG_IMPRINT_get_msg(imprint)) != as_chars(digest)) {
    return fail(reason::k_timestamp, "timestamp is not over the SHA-256 of the envelope signature");
  }
  const auto gen_time = asn1_time(TS_TST_INFO_get_time(info));
  if (!gen_time) {
    return fail(reason::k_timestamp, "timestamp genTime does not parse");
  }
  // Each authority is tried alone: a response must chain to the one whose window covers it.
  bool any = false;
  for (const auto& authority : authorities) {
    if (!authority.valid.contains(*gen_time) || authority.chain.empty()) {
      continue;
    }
    any = true;
    auto anchored = anchored_store({&authority}, *gen_time);
    X509* signer = nullptr;
    if (TS_RESP_verify_signature(token, anchored.untrusted.get(), anchored.store.get(), &signer) == 1) {
      X509_free(signer);
      return *gen_time;
    }
    X509_free(signer);
  }
  ERR_clear_error();
  if (!any) {
    return fail(reason::k_timestamp,
                fmt::format("no timestamp authority of the trusted root is valid at {}", format_rfc3339(*gen_time)));
  }
  return fail(reason::k_timestamp, fmt::format("timestamp signature of {} does not verify against a trusted "
                                               "timestamp authority",
                                               format_rfc3339(*gen_time)));
}

} // namespace airlock::policy::sigstore
