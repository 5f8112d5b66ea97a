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
#include <openssl/encoder.h>
#include <openssl/decoder.h>

// OPENSSL_free is a function-like macro; Swift cannot import it.
static inline void chub_openssl_free(void *ptr) { OPENSSL_free(ptr); }

// Initialises an EVP_MAC_CTX (from EVP_MAC "HMAC") with digest SM3 and the given key. Building the
// OSSL_PARAM array here keeps the parameter name and value C string literals alive for the call.
// Returns 1 on success, 0 on failure (the OpenSSL error queue says why).
static inline int chub_hmac_sm3_init(EVP_MAC_CTX *ctx, const unsigned char *key, size_t keylen) {
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SM3", 0);
    params[1] = OSSL_PARAM_construct_end();
    return EVP_MAC_init(ctx, key, keylen, params);
}

// EVP_PKEY_KEYPAIR and EVP_PKEY_PUBLIC_KEY (selections for OSSL_ENCODER/OSSL_DECODER, domain parameters
// included) are macros built from other macros; expose them as functions.
static inline int chub_select_keypair(void) { return EVP_PKEY_KEYPAIR; }
static inline int chub_select_public_key(void) { return EVP_PKEY_PUBLIC_KEY; }
#endif
