#include "fake_sigstore.hpp"

#include <fmt/core.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ts.h>

#include <stdexcept>

namespace airlock::test {

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using policy::ossl::Free;

using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, Free<ASN1_OCTET_STRING_free>>;
using TsReqPtr = std::unique_ptr<TS_REQ, Free<TS_REQ_free>>;
using TsMsgImprintPtr = std::unique_ptr<TS_MSG_IMPRINT, Free<TS_MSG_IMPRINT_free>>;
using TsRespCtxPtr = std::unique_ptr<TS_RESP_CTX, Free<TS_RESP_CTX_free>>;
using X509AlgorPtr = std::unique_ptr<X509_ALGOR, Free<X509_ALGOR_free>>;

constexpr std::string_view k_rekor_v1_name = "rekor.fake.test";
constexpr std::string_view k_rekor_v2_name = "log2025.rekor.fake.test";
constexpr std::int64_t k_shard_offset = 1'000'000; // Rekor v1: global index = shard index + offset

[[noreturn]] void
openssl_failed(std::string_view what)
{
  throw std::runtime_error(fmt::format("fake sigstore: {} failed (OpenSSL error {:x})", what, ERR_get_error()));
}

void
check(bool ok, std::string_view what)
{
  if (!ok) {
    openssl_failed(what);
  }
}

std::string_view
chars(const Sha256& digest)
{
  return {reinterpret_cast<const char*>(digest.bytes.data()), digest.bytes.size()};
}

std::string
utf8_string_der(std::string_view text)
{
  // Fulcio values are short; a one- or two-byte DER length is enough here.
  std::string out = "\x0c";
  if (text.size() < 0x80) {
    out.push_back(static_cast<char>(text.size()));
  } else {
    out += "\x81";
    out.push_back(static_cast<char>(text.size()));
  }
  return out.append(text);
}

EvpPkeyPtr
ec_key(const char* curve)
{
  EvpPkeyPtr key(EVP_EC_gen(curve));
  check(key != nullptr, "EC key generation");
  return key;
}

EvpPkeyPtr
ed25519_key()
{
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  check(key != nullptr, "Ed25519 key generation");
  return key;
}

std::string
spki_der(const EVP_PKEY* key)
{
  unsigned char* out = nullptr;
  const int n = i2d_PUBKEY(key, &out);
  check(n > 0, "i2d_PUBKEY");
  std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

std::string
sign(EVP_PKEY* key, std::string_view data)
{
  const bool ed25519 = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
  policy::ossl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  check(EVP_DigestSignInit(ctx.get(), nullptr, ed25519 ? nullptr : EVP_sha256(), nullptr, key) == 1, "sign init");
  std::size_t size = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  check(EVP_DigestSign(ctx.get(), nullptr, &size, in, data.size()) == 1, "sign size");
  std::string signature(size, '\0');
  check(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, in, data.size()) == 1,
        "sign");
  signature.resize(size);
  return signature;
}

void
add_extension(X509* certificate, X509* issuer, int nid, const char* value)
{
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, certificate, nullptr, nullptr, 0);
  X509ExtensionPtr extension(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  check(extension && X509_add_ext(certificate, extension.get(), -1) == 1, "add extension");
}

void
add_raw_extension(X509* certificate, std::string_view oid, std::string_view value)
{
  policy::ossl::Asn1ObjectPtr object(OBJ_txt2obj(std::string(oid).c_str(), 1));
  Asn1OctetStringPtr data(ASN1_OCTET_STRING_new());
  check(object && data
          && ASN1_OCTET_STRING_set(data.get(), reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()))
               == 1,
        "extension value");
  X509ExtensionPtr extension(X509_EXTENSION_create_by_OBJ(nullptr, object.get(), 0, data.get()));
  check(extension && X509_add_ext(certificate, extension.get(), -1) == 1, "add raw extension");
}

X509Ptr
new_certificate(const EVP_PKEY* key, std::string_view common_name, Time not_before, std::chrono::seconds lifetime)
{
  static long serial = 1;
  X509Ptr certificate(X509_new());
  check(certificate != nullptr, "X509_new");
  X509_set_version(certificate.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), serial++);
  const auto start = std::chrono::system_clock::to_time_t(not_before);
  const auto end = std::chrono::system_clock::to_time_t(not_before + lifetime);
  ASN1_TIME_set(X509_getm_notBefore(certificate.get()), start);
  ASN1_TIME_set(X509_getm_notAfter(certificate.get()), end);
  if (!common_name.empty()) {
    X509_NAME* name = X509_get_subject_name(certificate.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("fake.test"), -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(std::string(common_name).c_str()), -1, -1, 0);
  }
  check(X509_set_pubkey(certificate.get(), const_cast<EVP_PKEY*>(key)) == 1, "set pubkey");
  return certificate;
}

// A CA certificate signed by `issuer_key` (self-signed when `issuer` is nullptr).
X509Ptr
ca_certificate(const EVP_PKEY* key, std::string_view name, X509* issuer, EVP_PKEY* issuer_key, Time not_before,
               std::string_view extended_key_usage = {})
{
  auto certificate = new_certificate(key, name, not_before, std::chrono::days{3650});
  X509* signer = issuer != nullptr ? issuer : certificate.get();
  X509_set_issuer_name(certificate.get(), X509_get_subject_name(signer));
  const bool leaf_tsa = !extended_key_usage.empty();
  add_extension(certificate.get(), signer, NID_basic_constraints, leaf_tsa ? "critical,CA:FALSE" : "critical,CA:TRUE");
  add_extension(certificate.get(), signer, NID_key_usage,
                leaf_tsa ? "critical,digitalSignature" : "critical,keyCertSign,cRLSign");
  add_extension(certificate.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) {
    add_extension(certificate.get(), signer, NID_authority_key_identifier, "keyid:always");
  }
  if (leaf_tsa) {
    add_extension(certificate.get(), signer, NID_ext_key_usage, std::string(extended_key_usage).c_str());
  }
  check(X509_sign(certificate.get(), issuer_key, EVP_sha384()) > 0, "sign CA");
  return certificate;
}

std::string
pem_of(X509* certificate)
{
  policy::ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(bio.get(), certificate) == 1, "PEM");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

void
append_be(std::string& out, std::uint64_t value, int bytes)
{
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

std::string
to_hex(std::string_view bytes)
{
  std::string out;
  for (const char c : bytes) {
    out += fmt::format("{:02x}", static_cast<unsigned char>(c));
  }
  return out;
}

std::string
rfc3339(Time t)
{
  return format_rfc3339(t);
}

json::object
validity(Time start)
{
  return json::object{{"start", rfc3339(start)}};
}

json::object
log_json(std::string_view url, const EVP_PKEY* key, std::string_view details, std::string_view id, Time start)
{
  return json::object{{"baseUrl", url},
                      {"hashAlgorithm", "SHA2_256"},
                      {"publicKey",
                       json::object{{"rawBytes", base64(spki_der(key))},
                                    {"keyDetails", details},
                                    {"validFor", validity(start)}}},
                      {"logId", json::object{{"keyId", base64(id)}}}};
}

int
fixed_time(TS_RESP_CTX*, void* data, long* seconds, long* microseconds)
{
  *seconds = static_cast<long>(*static_cast<const std::time_t*>(data));
  *microseconds = 0;
  return 1;
}

std::string
dsse_pae(std::string_view statement)
{
  constexpr std::string_view k_type = "application/vnd.in-toto+json";
  return fmt::format("DSSEv1 {} {} {} {}", k_type.size(), k_type, statement.size(), statement);
}

} // namespace

std::string
base64(std::string_view bytes)
{
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string
der_of(X509* certificate)
{
  unsigned char* out = nullptr;
  const int n = i2d_X509(certificate, &out);
  check(n > 0, "i2d_X509");
  std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

std::string
statement_for(std::string_view name, const Sha256& digest, std::string_view predicate_type)
{
  const json::object subject{{"name", name}, {"digest", json::object{{"sha256", digest.hex()}}}};
  return json::serialize(json::object{{"_type", "https://in-toto.io/Statement/v1"},
                                      {"subject", json::array{subject}},
                                      {"predicateType", predicate_type},
                                      {"predicate", nullptr}});
}

Sha256
reference_leaf_hash(std::string_view data)
{
  return Sha256::of(std::string(1, '\0') + std::string(data));
}

namespace {

Sha256
reference_node(const Sha256& left, const Sha256& right)
{
  return Sha256::of(std::string(1, '\1') + std::string(chars(left)) + std::string(chars(right)));
}

std::size_t
split_point(std::size_t n)
{
  std::size_t k = 1;
  while (k * 2 < n) {
    k *= 2;
  }
  return k;
}

Sha256
mth(const Sha256* leaves, std::size_t n)
{
  if (n == 1) {
    return leaves[0];
  }
  const auto k = split_point(n);
  return reference_node(mth(leaves, k), mth(leaves + k, n - k));
}

void
path(std::size_t m, const Sha256* leaves, std::size_t n, std::vector<Sha256>& out)
{
  if (n == 1) {
    return;
  }
  const auto k = split_point(n);
  if (m < k) {
    path(m, leaves, k, out);
    out.push_back(mth(leaves + k, n - k));
  } else {
    path(m - k, leaves + k, n - k, out);
    out.push_back(mth(leaves, k));
  }
}

} // namespace

Sha256
reference_root(const std::vector<Sha256>& leaves)
{
  return mth(leaves.data(), leaves.size());
}

std::vector<Sha256>
reference_path(std::size_t index, const std::vector<Sha256>& leaves)
{
  std::vector<Sha256> out;
  path(index, leaves.data(), leaves.size(), out);
  return out;
}

FakeSigstore::FakeSigstore(Time epoch)
  : m_epoch(epoch),
    m_root_key(ec_key("P-384")),
    m_intermediate_key(ec_key("P-384")),
    m_ct(ec_key("P-256")),
    m_rekor_v1(ec_key("P-256")),
    m_rekor_v2(ed25519_key()),
    m_tsa_root_key(ec_key("P-384")),
    m_tsa_key(ec_key("P-384"))
{
  const Time start = epoch - std::chrono::days{1};
  m_root = ca_certificate(m_root_key.get(), "sigstore", nullptr, m_root_key.get(), start);
  m_intermediate =
    ca_certificate(m_intermediate_key.get(), "sigstore-intermediate", m_root.get(), m_root_key.get(), start);
  m_tsa_root = ca_certificate(m_tsa_root_key.get(), "sigstore-tsa-selfsigned", nullptr, m_tsa_root_key.get(), start);
  m_tsa = ca_certificate(m_tsa_key.get(), "sigstore-tsa", m_tsa_root.get(), m_tsa_root_key.get(), start,
                         "critical,timeStamping");
  m_rekor_v1_id = std::string(chars(Sha256::of(spki_der(m_rekor_v1.get()))));
  m_ct_id = std::string(chars(Sha256::of(spki_der(m_ct.get()))));
  std::string raw(32, '\0');
  std::size_t raw_size = raw.size();
  check(EVP_PKEY_get_raw_public_key(m_rekor_v2.get(), reinterpret_cast<unsigned char*>(raw.data()), &raw_size) == 1,
        "raw Ed25519 key");
  m_rekor_v2_id = std::string(chars(Sha256::of(std::string(k_rekor_v2_name) + "\n\x01" + raw)));
}

void
FakeSigstore::reissue_tsa(Time not_before)
{
  m_tsa = ca_certificate(m_tsa_key.get(), "sigstore-tsa", m_tsa_root.get(), m_tsa_root_key.get(), not_before,
                         "critical,timeStamping");
}

FakeSigstore::LeafSpec
FakeSigstore::github_leaf(Time not_before, std::string_view repository, std::string_view workflow, std::string_view ref)
{
  LeafSpec spec;
  spec.not_before = not_before;
  const auto build = fmt::format("https://github.com/{}/.github/workflows/{}@{}", repository, workflow, ref);
  spec.san_uri = build;
  spec.extensions = {{1, "https://token.actions.githubusercontent.com"},
                     {8, "https://token.actions.githubusercontent.com"},
                     {9, build},
                     {12, fmt::format("https://github.com/{}", repository)},
                     {13, "0123456789abcdef0123456789abcdef01234567"},
                     {14, std::string(ref)},
                     {18, build},
                     {20, "release"}};
  return spec;
}

FakeSigstore::LeafSpec
FakeSigstore::email_leaf(Time not_before, std::string_view email, std::string_view issuer)
{
  LeafSpec spec;
  spec.not_before = not_before;
  spec.san_email = email;
  spec.extensions = {{1, std::string(issuer)}, {8, std::string(issuer)}};
  return spec;
}

FakeSigstore::Leaf
FakeSigstore::issue(const LeafSpec& spec) const
{
  Leaf leaf;
  leaf.key = ec_key("P-256");
  leaf.certificate = new_certificate(leaf.key.get(), "", spec.not_before, spec.lifetime);
  X509* certificate = leaf.certificate.get();
  X509_set_issuer_name(certificate, X509_get_subject_name(m_intermediate.get()));
  add_extension(certificate, m_intermediate.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(certificate, m_intermediate.get(), NID_ext_key_usage,
                spec.code_signing ? "codeSigning" : "emailProtection");
  add_extension(certificate, m_intermediate.get(), NID_subject_key_identifier, "hash");
  add_extension(certificate, m_intermediate.get(), NID_authority_key_identifier, "keyid:always");
  if (!spec.san_uri.empty()) {
    add_extension(certificate, m_intermediate.get(), NID_subject_alt_name, ("critical,URI:" + spec.san_uri).c_str());
  }
  if (!spec.san_email.empty()) {
    add_extension(certificate, m_intermediate.get(), NID_subject_alt_name,
                  ("critical,email:" + spec.san_email).c_str());
  }
  for (const auto& [number, value] : spec.extensions) {
    add_raw_extension(certificate, fmt::format("1.3.6.1.4.1.57264.1.{}", number),
                      number < 8 ? value : utf8_string_der(value));
  }
  for (const auto& [number, value] : spec.raw_extensions) {
    add_raw_extension(certificate, fmt::format("1.3.6.1.4.1.57264.1.{}", number), value);
  }
  // The precertificate TBS is what the leaf is before its SCT extension: sign it once to fix the
  // signature algorithm field, take the TBS, and have the CT log sign over it (RFC 6962 3.2).
  check(X509_sign(certificate, m_intermediate_key.get(), EVP_sha384()) > 0, "sign precertificate");
  if (spec.embed_sct) {
    unsigned char* tbs_out = nullptr;
    const int tbs_size = i2d_re_X509_tbs(certificate, &tbs_out);
    check(tbs_size > 0, "i2d_re_X509_tbs");
    const std::string tbs(reinterpret_cast<const char*>(tbs_out), static_cast<std::size_t>(tbs_size));
    OPENSSL_free(tbs_out);
    EVP_PKEY* log_key = const_cast<EVP_PKEY*>(spec.sct_key != nullptr ? spec.sct_key : m_ct.get());
    const std::uint64_t timestamp_ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   spec.not_before.time_since_epoch())
                                   .count());
    std::string input;
    input.push_back(0); // v1
    input.push_back(0); // certificate_timestamp
    append_be(input, timestamp_ms, 8);
    append_be(input, 1, 2); // precert_entry
    input += chars(Sha256::of(spki_der(X509_get0_pubkey(m_intermediate.get()))));
    append_be(input, tbs.size(), 3);
    input += tbs;
    append_be(input, 0, 2); // no extensions
    const auto signature = sign(log_key, input);

    std::string sct;
    sct.push_back(0);
    sct += chars(Sha256::of(spki_der(log_key)));
    append_be(sct, timestamp_ms, 8);
    append_be(sct, 0, 2);
    sct.push_back(4); // sha256
    sct.push_back(3); // ecdsa
    append_be(sct, signature.size(), 2);
    sct += signature;
    std::string list;
    append_be(list, sct.size(), 2);
    list += sct;
    std::string tls;
    append_be(tls, list.size(), 2);
    tls += list;
    // The extension value is an OCTET STRING around the TLS-encoded list.
    std::string value = "\x04";
    if (tls.size() >= 0x80) {
      value.push_back(static_cast<char>(0x81));
    }
    value.push_back(static_cast<char>(tls.size()));
    value += tls;
    add_raw_extension(certificate, "1.3.6.1.4.1.11129.2.4.2", value);
    check(X509_sign(certificate, m_intermediate_key.get(), EVP_sha384()) > 0, "sign certificate");
  }
  leaf.der = der_of(certificate);
  return leaf;
}

std::string
FakeSigstore::timestamp(std::string_view data, Time t) const
{
  const auto digest = Sha256::of(data);
  TsReqPtr request(TS_REQ_new());
  TsMsgImprintPtr imprint(TS_MSG_IMPRINT_new());
  X509AlgorPtr algorithm(X509_ALGOR_new());
  check(request && imprint && algorithm, "TS_REQ");
  X509_ALGOR_set0(algorithm.get(), OBJ_nid2obj(NID_sha256), V_ASN1_NULL, nullptr);
  TS_MSG_IMPRINT_set_algo(imprint.get(), algorithm.get());
  TS_MSG_IMPRINT_set_msg(imprint.get(), const_cast<unsigned char*>(digest.bytes.data()), 32);
  TS_REQ_set_version(request.get(), 1);
  TS_REQ_set_msg_imprint(request.get(), imprint.get());
  TS_REQ_set_cert_req(request.get(), 1);
  policy::ossl::BioPtr request_bio(BIO_new(BIO_s_mem()));
  check(i2d_TS_REQ_bio(request_bio.get(), request.get()) == 1, "i2d_TS_REQ_bio");

  TsRespCtxPtr ctx(TS_RESP_CTX_new());
  policy::ossl::Asn1ObjectPtr policy_oid(OBJ_txt2obj("1.3.6.1.4.1.57264.2", 1));
  std::time_t when = std::chrono::system_clock::to_time_t(t);
  check(ctx && TS_RESP_CTX_set_signer_cert(ctx.get(), m_tsa.get()) == 1
          && TS_RESP_CTX_set_signer_key(ctx.get(), m_tsa_key.get()) == 1
          && TS_RESP_CTX_set_def_policy(ctx.get(), policy_oid.get()) == 1
          && TS_RESP_CTX_add_md(ctx.get(), EVP_sha256()) == 1
          && TS_RESP_CTX_set_signer_digest(ctx.get(), EVP_sha384()) == 1
          && TS_RESP_CTX_set_ess_cert_id_digest(ctx.get(), EVP_sha256()) == 1,
        "TS_RESP_CTX");
  TS_RESP_CTX_set_time_cb(ctx.get(), fixed_time, &when);
  policy::ossl::TsRespPtr response(TS_RESP_create_response(ctx.get(), request_bio.get()));
  check(response != nullptr, "TS_RESP_create_response");
  unsigned char* out = nullptr;
  const int n = i2d_TS_RESP(response.get(), &out);
  check(n > 0, "i2d_TS_RESP");
  std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

std::string
FakeSigstore::checkpoint(Log log, std::uint64_t size, const Sha256& root) const
{
  const bool v1 = log == Log::rekor_v1;
  const auto name = v1 ? k_rekor_v1_name : k_rekor_v2_name;
  const auto text = fmt::format("{}{}\n{}\n{}\n", name, v1 ? " - 1193050959916656506" : "", size, base64(chars(root)));
  const auto& id = v1 ? m_rekor_v1_id : m_rekor_v2_id;
  const auto signature = sign(v1 ? m_rekor_v1.get() : m_rekor_v2.get(), text);
  return fmt::format("{}\n\xe2\x80\x94 {} {}\n", text, name, base64(id.substr(0, 4) + signature));
}

json::object
FakeSigstore::attestation(const Leaf& leaf, std::string_view statement, const EntrySpec& spec) const
{
  const auto signature = sign(leaf.key.get(), dsse_pae(statement));
  const std::string logged = spec.logged_statement.value_or(std::string(statement));
  const auto logged_signature = spec.logged_statement ? sign(leaf.key.get(), dsse_pae(logged)) : signature;

  // The Rekor entry body of each supported kind, as the log canonicalizes it.
  json::object body{{"apiVersion", spec.version}, {"kind", spec.kind}};
  if (spec.kind == "dsse" && spec.version == "0.0.1") {
    const json::object payload_hash{{"algorithm", "sha256"}, {"value", Sha256::of(logged).hex()}};
    const json::object signature_entry{{"signature", base64(logged_signature)},
                                       {"verifier", base64(pem_of(leaf.certificate.get()))}};
    // envelopeHash is not checked by verifiers (the envelope JSON is not canonical).
    const json::object envelope_hash{{"algorithm", "sha256"}, {"value", std::string(64, '0')}};
    body["spec"] = json::object{{"envelopeHash", envelope_hash},
                                {"payloadHash", payload_hash},
                                {"signatures", json::array{signature_entry}}};
  } else {
    const json::object verifier{{"keyDetails", "PKIX_ECDSA_P256_SHA_256"},
                                {"x509Certificate", json::object{{"rawBytes", base64(leaf.der)}}}};
    const json::object signature_entry{{"content", base64(logged_signature)}, {"verifier", verifier}};
    if (spec.kind == "dsse") {
      const json::object payload_hash{{"algorithm", "SHA2_256"}, {"digest", base64(chars(Sha256::of(logged)))}};
      body["spec"] = json::object{
        {"dsseV002", json::object{{"payloadHash", payload_hash}, {"signatures", json::array{signature_entry}}}}};
    } else {
      const json::object data{{"algorithm", "SHA2_256"}, {"digest", base64(chars(Sha256::of(dsse_pae(logged))))}};
      body["spec"] =
        json::object{{"hashedRekordV002", json::object{{"data", data}, {"signature", signature_entry}}}};
    }
  }
  const auto body_bytes = json::serialize(body);
  const auto body_base64 = base64(body_bytes);

  // A tree of seven entries with ours at index 5: an uneven tree exercises both proof parts.
  std::vector<Sha256> leaves;
  for (int i = 0; i < 7; ++i) {
    leaves.push_back(reference_leaf_hash(i == 5 ? body_bytes : fmt::format("other entry {}", i)));
  }
  const std::int64_t index = 5;
  const bool v1 = spec.log == Log::rekor_v1;
  const std::int64_t global_index = v1 ? index + k_shard_offset : index;
  const auto root = reference_root(leaves);
  const auto& log_id = v1 ? m_rekor_v1_id : m_rekor_v2_id;

  json::object entry{{"logIndex", std::to_string(global_index)},
                     {"logId", json::object{{"keyId", base64(log_id)}}},
                     {"kindVersion", json::object{{"kind", spec.kind}, {"version", spec.version}}},
                     {"integratedTime", v1 ? std::to_string(spec.integrated_time.time_since_epoch().count()) : "0"},
                     {"canonicalizedBody", body_base64}};
  if (spec.with_set) {
    const auto payload = fmt::format(R"({{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}})", body_base64,
                                     spec.integrated_time.time_since_epoch().count(), to_hex(log_id), global_index);
    entry["inclusionPromise"] = json::object{{"signedEntryTimestamp", base64(sign(m_rekor_v1.get(), payload))}};
  }
  if (spec.with_proof) {
    json::array hashes;
    for (const auto& hash : reference_path(static_cast<std::size_t>(index), leaves)) {
      hashes.emplace_back(base64(chars(hash)));
    }
    entry["inclusionProof"] = json::object{{"logIndex", std::to_string(index)},
                                           {"rootHash", base64(chars(root))},
                                           {"treeSize", std::to_string(leaves.size())},
                                           {"hashes", std::move(hashes)},
                                           {"checkpoint",
                                            json::object{{"envelope", checkpoint(spec.log, leaves.size(), root)}}}};
  }
  json::object material{{"certificate", base64(leaf.der)}, {"transparency_entries", json::array{std::move(entry)}}};
  if (spec.timestamp) {
    material["timestamps"] = json::array{json::value(base64(timestamp(signature, *spec.timestamp)))};
  }
  return json::object{{"version", 1},
                      {"verification_material", std::move(material)},
                      {"envelope", json::object{{"statement", base64(statement)}, {"signature", base64(signature)}}}};
}

std::string
FakeSigstore::trusted_root_json() const
{
  const Time start = m_epoch - std::chrono::days{1};
  const auto chain = [](X509* first, X509* second) {
    return json::object{
      {"certificates", json::array{json::object{{"rawBytes", base64(der_of(first))}},
                                   json::object{{"rawBytes", base64(der_of(second))}}}}};
  };
  const json::object root{
    {"mediaType", "application/vnd.dev.sigstore.trustedroot+json;version=0.1"},
    {"tlogs", json::array{log_json(fmt::format("https://{}", k_rekor_v1_name), m_rekor_v1.get(),
                                   "PKIX_ECDSA_P256_SHA_256", m_rekor_v1_id, start),
                          log_json(fmt::format("https://{}", k_rekor_v2_name), m_rekor_v2.get(), "PKIX_ED25519",
                                   m_rekor_v2_id, start)}},
    {"certificateAuthorities",
     json::array{json::object{{"subject", json::object{{"organization", "fake.test"}, {"commonName", "sigstore"}}},
                              {"uri", "https://fulcio.fake.test"},
                              {"certChain", chain(m_intermediate.get(), m_root.get())},
                              {"validFor", validity(start)}}}},
    {"ctlogs",
     json::array{log_json("https://ctfe.fake.test/2022", m_ct.get(), "PKIX_ECDSA_P256_SHA_256", m_ct_id, start)}},
    {"timestampAuthorities",
     json::array{json::object{{"uri", "https://timestamp.fake.test/api/v1/timestamp"},
                              {"certChain", chain(m_tsa.get(), m_tsa_root.get())},
                              {"validFor", validity(start)}}}}};
  return json::serialize(root);
}

} // namespace airlock::test
