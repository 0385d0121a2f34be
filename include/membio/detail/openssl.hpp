// The one place that includes OpenSSL, and the check that it is 3.0 or newer.
#ifndef MEMBIO_DETAIL_OPENSSL_HPP
#define MEMBIO_DETAIL_OPENSSL_HPP

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#if OPENSSL_VERSION_MAJOR < 3
#error "membio needs OpenSSL 3.0 or newer"
#endif

#endif  // MEMBIO_DETAIL_OPENSSL_HPP
