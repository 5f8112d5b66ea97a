// Thin shim over OpenSSL 3. Deprecated APIs are hidden so that only EVP is reachable.
#ifndef CHUB_OPENSSL_SHIM_H
#define CHUB_OPENSSL_SHIM_H
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/bio.h>

// OPENSSL_free is a function-like macro; Swift cannot import it.
static inline void chub_openssl_free(void *ptr) { OPENSSL_free(ptr); }
#endif
