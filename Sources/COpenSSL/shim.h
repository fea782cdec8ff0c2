// OpenSSL for berth: certificate and key inspection at compile time, TLS termination in the broker.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/evp.h>

// XN_FLAG_RFC2253 is a macro built from other macros, which Swift cannot import; dropping ESC_MSB keeps UTF-8 as is.
static inline unsigned long cssl_name_flags_rfc2253_utf8(void) { return XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB; }
