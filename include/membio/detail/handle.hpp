// Owning handles for OpenSSL objects: a unique_ptr whose deleter frees.
#ifndef MEMBIO_DETAIL_HANDLE_HPP
#define MEMBIO_DETAIL_HANDLE_HPP

#include <memory>

#include "openssl.hpp"

namespace membio::detail {

/// Calls the OpenSSL function that frees one kind of object.
template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* object) const noexcept { Free(object); }
};

// BIO_free returns int, so it gets a wrapper with the shape Deleter needs.
inline void free_bio(BIO* bio) noexcept { BIO_free(bio); }

using SslCtxHandle = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using SslHandle = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;
using BioHandle = std::unique_ptr<BIO, Deleter<BIO, free_bio>>;
using X509Handle = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using X509NameHandle =
    std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using X509ExtensionHandle =
    std::unique_ptr<X509_EXTENSION,
                    Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using PkeyHandle = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Asn1IntegerHandle =
    std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using Asn1OctetStringHandle =
    std::unique_ptr<ASN1_OCTET_STRING,
                    Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using BignumHandle = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

// A stack of certificates whose entries are not owned: the caller keeps
// its own references and frees them.
inline void free_x509_stack(STACK_OF(X509) * stack) noexcept {
  sk_X509_free(stack);
}

using X509StackHandle =
    std::unique_ptr<STACK_OF(X509), Deleter<STACK_OF(X509), free_x509_stack>>;

// A stack of certificates that owns them, as PKCS12_parse returns it.
inline void free_owning_x509_stack(STACK_OF(X509) * stack) noexcept {
  sk_X509_pop_free(stack, X509_free);
}

using OwningX509StackHandle =
    std::unique_ptr<STACK_OF(X509),
                    Deleter<STACK_OF(X509), free_owning_x509_stack>>;

using Pkcs12Handle = std::unique_ptr<PKCS12, Deleter<PKCS12, PKCS12_free>>;

// Stacks of names come back from X509_get_ext_d2i and are freed as a whole.
inline void free_general_names(GENERAL_NAMES* names) noexcept {
  GENERAL_NAMES_free(names);
}

using GeneralNamesHandle =
    std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, free_general_names>>;

// OPENSSL_free is a macro, so it gets a function to point at.
inline void free_openssl_string(char* text) noexcept { OPENSSL_free(text); }

using OpensslStringHandle =
    std::unique_ptr<char, Deleter<char, free_openssl_string>>;

}  // namespace membio::detail

#endif  // MEMBIO_DETAIL_HANDLE_HPP
