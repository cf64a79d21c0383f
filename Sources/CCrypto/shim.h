#ifndef SCHEMAGATE_CCRYPTO_SHIM_H
#define SCHEMAGATE_CCRYPTO_SHIM_H
// OpenSSL's libcrypto, only for SHA-256: libpq is linked against it already, so using it adds
// no library to the process.
#include <openssl/evp.h>
#endif
