#pragma once

// Owning pointers for the OpenSSL objects the provenance verifier uses. Private to policy/
// (and its tests): public headers never include OpenSSL.

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace airlock::policy::ossl {

// A stateless deleter calling one OpenSSL free function.
template<auto FreeFn> struct Free
{
  template<typename T>
  void
  operator()(T* p) const
  {
    FreeFn(p);
  }
};

inline void
free_x509_stack(STACK_OF(X509) * stack)
{
  sk_X509_pop_free(stack, X509_free);
}

using X509Ptr = std::unique_ptr<X509, Free<X509_free>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Free<free_x509_stack>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Free<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, Free<ASN1_OBJECT_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX_free>>;
using TsRespPtr = std::unique_ptr<TS_RESP, Free<TS_RESP_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO_free_all>>;

// Empties this thread's OpenSSL error queue on scope exit. Failed parses and verifications
// queue errors that would otherwise surface later in unrelated code on the thread (TLS).
class ErrorQueueGuard
{
public:
  ErrorQueueGuard() = default;
  ~ErrorQueueGuard() { ERR_clear_error(); }
  ErrorQueueGuard(const ErrorQueueGuard&) = delete;
  ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
};

} // namespace airlock::policy::ossl
