#ifndef SCHEMAGATE_CCRYPTO_SHIM_H
#define SCHEMAGATE_CCRYPTO_SHIM_H
// OpenSSL's libcrypto, only for SHA-256: libpq is linked against it already, so using it adds
// no library to the process.
//
// The low-level SHA256_Init/Update/Final, which OpenSSL 3 marks deprecated but keeps (with the
// same assembly, SHA extensions included): the EVP interface fetches the algorithm from a
// provider, and loading the default provider cost 5.3 million instructions on every start,
// more than a tenth of `schemagate migrate` with nothing pending.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#endif
