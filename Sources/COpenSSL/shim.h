// OpenSSL for berth: certificate and key inspection at compile time, TLS termination in the broker.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/evp.h>
