// OpenSSL for berth: certificate and key inspection at compile time, TLS termination in the broker.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/evp.h>

// XN_FLAG_RFC2253 is a macro built from other macros, which Swift cannot import; dropping ESC_MSB keeps UTF-8 as is.
static inline unsigned long cssl_name_flags_rfc2253_utf8(void) { return XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB; }

// The subject alternative names of a certificate (NULL when it has none); free with cssl_general_names_free.
static inline GENERAL_NAMES *cssl_subject_alt_names(const X509 *certificate) {
    return (GENERAL_NAMES *)X509_get_ext_d2i(certificate, NID_subject_alt_name, NULL, NULL);
}
static inline int cssl_general_names_count(const GENERAL_NAMES *names) { return sk_GENERAL_NAME_num(names); }
// Entry `index`: its type (GEN_DNS, GEN_IPADD, …) and, for a DNS name or an IP address, its bytes.
static inline int cssl_general_name(const GENERAL_NAMES *names, int index, const unsigned char **bytes, int *length) {
    const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, index);
    const ASN1_STRING *value = name->type == GEN_DNS ? name->d.dNSName : name->type == GEN_IPADD ? name->d.iPAddress : NULL;
    *bytes = value ? ASN1_STRING_get0_data(value) : NULL;
    *length = value ? ASN1_STRING_length(value) : 0;
    return name->type;
}
static inline void cssl_general_names_free(GENERAL_NAMES *names) { GENERAL_NAMES_free(names); }
static inline int cssl_gen_dns(void) { return GEN_DNS; }
static inline int cssl_gen_ipadd(void) { return GEN_IPADD; }

// Macros over SSL_CTX_ctrl / SSL_ctrl, which Swift cannot import.
static inline int cssl_ctx_set_min_proto_version(SSL_CTX *context, int version) {
    return (int)SSL_CTX_set_min_proto_version(context, version);
}
static inline long cssl_ctx_set_mode(SSL_CTX *context, long mode) { return SSL_CTX_set_mode(context, mode); }
static inline long cssl_ctx_set_session_cache_mode(SSL_CTX *context, long mode) {
    return SSL_CTX_set_session_cache_mode(context, mode);
}
static inline int cssl_ctx_set_servername_callback(SSL_CTX *context, int (*callback)(SSL *, int *, void *), void *arg) {
    return (int)SSL_CTX_set_tlsext_servername_callback(context, callback) && (int)SSL_CTX_set_tlsext_servername_arg(context, arg);
}
static inline int cssl_ctx_add_extra_chain_certificate(SSL_CTX *context, X509 *certificate) {
    return (int)SSL_CTX_add0_chain_cert(context, certificate);
}
static inline int cssl_tlsext_err_ok(void) { return SSL_TLSEXT_ERR_OK; }
static inline int cssl_tlsext_err_alert_fatal(void) { return SSL_TLSEXT_ERR_ALERT_FATAL; }
static inline int cssl_tlsext_err_noack(void) { return SSL_TLSEXT_ERR_NOACK; }
static inline long cssl_bio_pending(BIO *bio) { return (long)BIO_pending(bio); }
static inline void cssl_bio_set_mem_eof_return(BIO *bio, int value) { (void)BIO_set_mem_eof_return(bio, value); }
static inline long cssl_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
static inline int cssl_bio_reset(BIO *bio) { return BIO_reset(bio); }
static inline uint64_t cssl_server_options(void) {
    return SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION;
}
static inline long cssl_mode_release_buffers(void) { return SSL_MODE_RELEASE_BUFFERS; }
static inline int cssl_verify_peer(void) { return SSL_VERIFY_PEER; }
static inline int cssl_verify_fail_if_no_peer_cert(void) { return SSL_VERIFY_FAIL_IF_NO_PEER_CERT; }
// The bytes a memory BIO has allocated (its BUF_MEM's max), whatever it holds now.
static inline size_t cssl_bio_mem_capacity(BIO *bio) {
    BUF_MEM *memory = NULL;
    BIO_get_mem_ptr(bio, &memory);
    return memory ? memory->max : 0;
}
