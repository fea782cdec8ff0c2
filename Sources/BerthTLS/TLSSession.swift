internal import COpenSSL

/// One server-side TLS connection over two memory BIOs. It does no I/O: the broker feeds it the ciphertext its socket
/// read and sends the ciphertext it produced, so the handshake and the records run on the broker's loop, as Node's
/// TLSWrap does.
@safe package final class TLSSession {
    private let ssl: OpaquePointer  // SSL*, owned; owns both BIOs
    private var input: OpaquePointer  // BIO*: ciphertext from the peer
    private var output: OpaquePointer  // BIO*: ciphertext for the peer
    /// A memory BIO keeps the largest buffer it ever needed; past this, an emptied one is replaced, so a connection
    /// that once moved a burst does not hold its size while idle.
    private static let retainedBufferLimit = 64 * 1024
    /// Held for the session's life: the SSL and the callbacks point into it.
    package let context: TLSServerContext
    /// Set by the context's callbacks when they refuse the handshake: the reason it failed.
    var failure: TLSHandshakeFailure?
    /// The first byte the peer sent: a TLS connection starts with a handshake record (22).
    private var firstByte: UInt8?
    package private(set) var isHandshakeComplete = false

    package init(context: TLSServerContext) {
        self.context = context
        guard let ssl = unsafe SSL_new(context.contexts[0]), let input = unsafe BIO_new(BIO_s_mem()),
            let output = unsafe BIO_new(BIO_s_mem())
        else { preconditionFailure("SSL_new/BIO_new: out of memory") }
        // An empty input BIO means "more to come", not end of file.
        unsafe cssl_bio_set_mem_eof_return(input, -1)
        unsafe SSL_set_bio(ssl, input, output)
        unsafe SSL_set_accept_state(ssl)
        unsafe (self.ssl, self.input, self.output) = (ssl, input, output)
        _ = unsafe SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { unsafe SSL_free(ssl) }

    /// The session an SSL belongs to, for the context's callbacks.
    static func from(_ ssl: OpaquePointer) -> TLSSession? {
        guard let pointer = unsafe SSL_get_ex_data(ssl, 0) else { return nil }
        return unsafe Unmanaged<TLSSession>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Takes a copy of ciphertext the socket read.
    package func receive(_ ciphertext: UnsafeRawBufferPointer) {
        guard let base = ciphertext.baseAddress, !ciphertext.isEmpty else { return }
        if firstByte == nil { firstByte = unsafe base.load(as: UInt8.self) }
        let written = unsafe BIO_write(input, base, Int32(ciphertext.count))
        precondition(written == ciphertext.count, "BIO_write: out of memory")
    }

    /// Runs the handshake as far as the ciphertext received allows; its replies wait in `output`.
    package func handshake() -> TLSHandshakeStep {
        guard !isHandshakeComplete else { return .complete }
        ERR_clear_error()
        let result = unsafe SSL_do_handshake(ssl)
        if result == 1 {
            isHandshakeComplete = true
            return .complete
        }
        let error = unsafe SSL_get_error(ssl, result)
        if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return .inProgress }
        return .failed(classifyFailure())
    }

    private func classifyFailure() -> TLSHandshakeFailure {
        let reasons = OpenSSLError.drain("SSL_do_handshake").entries.map { Int32(ERR_GET_REASON($0.code)) }
        if let failure { return failure }
        if let firstByte, firstByte != 22 { return .plaintext }
        for reason in reasons {
            switch reason {
            case SSL_R_WRONG_VERSION_NUMBER, SSL_R_HTTP_REQUEST: return .plaintext
            case SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_UNSUPPORTED_SSL_VERSION, SSL_R_VERSION_TOO_LOW,
                SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, SSL_R_NO_PROTOCOLS_AVAILABLE:
                return .version
            case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE, SSL_R_CERTIFICATE_VERIFY_FAILED: return .clientCertificate
            case SSL_R_NO_APPLICATION_PROTOCOL: return .noCommonProtocol
            default: continue
            }
        }
        return .other
    }

    /// Decrypts into `buffer` what the received ciphertext holds.
    package func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSReadStep {
        var count = 0
        let result = unsafe SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count)
        if result == 1 { return .plaintext(count) }
        let error = unsafe SSL_get_error(ssl, 0)
        switch error {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .needsData
        case SSL_ERROR_ZERO_RETURN: return .closeNotify
        default: return .failed(OpenSSLError.drain("SSL_read").reasons)
        }
    }

    /// Encrypts `plaintext` whole into `output`; false when the session can no longer write (closed, failed).
    package func write(_ plaintext: UnsafeRawBufferPointer) -> Bool {
        guard !plaintext.isEmpty else { return true }
        var written = 0
        if unsafe SSL_write_ex(ssl, plaintext.baseAddress, plaintext.count, &written) == 1 { return true }
        _ = OpenSSLError.drain("SSL_write")
        return false
    }

    /// Queues close_notify in `output` (once): the peer learns that nothing more will be written.
    package func close() {
        guard isHandshakeComplete, unsafe SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN == 0 else { return }
        _ = unsafe SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// Whether ciphertext waits to be sent.
    package var hasOutput: Bool { unsafe cssl_bio_pending(output) > 0 }

    /// Lends the ciphertext waiting to be sent, then forgets it: `send` must take all of it (send or copy).
    package func takeOutput(_ send: (UnsafeRawBufferPointer) -> Void) {
        var data: UnsafeMutablePointer<CChar>?
        let count = unsafe cssl_bio_get_mem_data(output, &data)
        guard count > 0, let data = unsafe data else { return }
        unsafe send(UnsafeRawBufferPointer(start: data, count: count))
        if unsafe cssl_bio_mem_capacity(output) > Self.retainedBufferLimit {
            output = Self.newBIO()
            unsafe SSL_set0_wbio(ssl, output)  // frees the old one
        } else {
            _ = unsafe cssl_bio_reset(output)
        }
    }

    /// Gives back a large input buffer once everything in it was decrypted.
    package func trimInput() {
        guard unsafe cssl_bio_pending(input) == 0, unsafe cssl_bio_mem_capacity(input) > Self.retainedBufferLimit else {
            return
        }
        input = Self.newBIO()
        unsafe cssl_bio_set_mem_eof_return(input, -1)
        unsafe SSL_set0_rbio(ssl, input)  // frees the old one
    }

    private static func newBIO() -> OpaquePointer {
        guard let bio = unsafe BIO_new(BIO_s_mem()) else { preconditionFailure("BIO_new: out of memory") }
        return bio
    }

    /// Ciphertext received and not yet decrypted, or plaintext decrypted and not yet read.
    package var hasPendingInput: Bool { unsafe cssl_bio_pending(input) > 0 || SSL_pending(ssl) > 0 }

    // MARK: What the handshake agreed

    /// The SNI name the client sent.
    package var serverName: String? {
        unsafe SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { unsafe String(cString: $0) }
    }

    /// The ALPN protocol agreed.
    package var alpnProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        unsafe SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data = unsafe data, length > 0 else { return nil }
        return unsafe String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// "TLSv1.3", "TLSv1.2".
    package var protocolVersion: String { unsafe String(cString: SSL_get_version(ssl)) }

    /// The cipher as Node's `getCipher()` describes it: OpenSSL's name, the IETF name, and the version that
    /// introduced it.
    package var cipher: (name: String, standardName: String, version: String) {
        guard let cipher = unsafe SSL_get_current_cipher(ssl) else { return ("", "", "") }
        return unsafe (
            String(cString: SSL_CIPHER_get_name(cipher)), String(cString: SSL_CIPHER_standard_name(cipher)),
            String(cString: SSL_CIPHER_get_version(cipher))
        )
    }

    /// The client's certificate, when it sent one.
    package var peerCertificate: Certificate? {
        unsafe SSL_get1_peer_certificate(ssl).map { unsafe Certificate(taking: $0) }
    }

    /// The client certificate's verdict against the client CA: nil when verified, else the verify error's name as
    /// Node spells it ("UNABLE_TO_GET_ISSUER_CERT" when the client sent none, as Node reports it).
    package var verifyError: String? {
        guard peerCertificate != nil else { return "UNABLE_TO_GET_ISSUER_CERT" }
        let result = unsafe SSL_get_verify_result(ssl)
        return result == X509_V_OK ? nil : VerifyErrorName.name(of: Int32(result))
    }
}

/// Where a handshake stands after the ciphertext received so far.
package enum TLSHandshakeStep: Equatable, Sendable {
    case inProgress
    case complete
    case failed(TLSHandshakeFailure)
}

/// What decrypting the received ciphertext gave.
package enum TLSReadStep: Equatable, Sendable {
    case plaintext(Int)
    /// Nothing (more) until more ciphertext arrives.
    case needsData
    /// The peer sent close_notify: it will write nothing more.
    case closeNotify
    case failed(String)
}

/// Why a handshake failed, as the endpoint's summary line counts it.
package enum TLSHandshakeFailure: String, CaseIterable, Sendable {
    /// The first bytes are not a TLS record: a plaintext client on a TLS port.
    case plaintext = "tls-plaintext"
    case timeout = "tls-timeout"
    /// `strictSNI`, and no certificate covers the name the client asked for.
    case unknownName = "tls-unknown-name"
    /// A required client certificate was missing or did not verify against the client CA.
    case clientCertificate = "tls-client-certificate"
    /// The client's ALPN protocols and the endpoint's have none in common.
    case noCommonProtocol = "tls-alpn"
    /// The client offered only versions below the endpoint's minimum.
    case version = "tls-version"
    /// The peer closed or reset the connection before the handshake finished.
    case aborted = "tls-aborted"
    case other = "tls-handshake"
}

/// OpenSSL's X509_V_ERR codes by the names Node gives them in `authorizationError`.
enum VerifyErrorName {
    static func name(of code: Int32) -> String {
        switch code {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT: "UNABLE_TO_GET_ISSUER_CERT"
        case X509_V_ERR_UNABLE_TO_GET_CRL: "UNABLE_TO_GET_CRL"
        case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE: "UNABLE_TO_DECRYPT_CERT_SIGNATURE"
        case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY"
        case X509_V_ERR_CERT_SIGNATURE_FAILURE: "CERT_SIGNATURE_FAILURE"
        case X509_V_ERR_CERT_NOT_YET_VALID: "CERT_NOT_YET_VALID"
        case X509_V_ERR_CERT_HAS_EXPIRED: "CERT_HAS_EXPIRED"
        case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD: "ERROR_IN_CERT_NOT_BEFORE_FIELD"
        case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD: "ERROR_IN_CERT_NOT_AFTER_FIELD"
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: "DEPTH_ZERO_SELF_SIGNED_CERT"
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: "SELF_SIGNED_CERT_IN_CHAIN"
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
        case X509_V_ERR_CERT_CHAIN_TOO_LONG: "CERT_CHAIN_TOO_LONG"
        case X509_V_ERR_CERT_REVOKED: "CERT_REVOKED"
        case X509_V_ERR_INVALID_CA: "INVALID_CA"
        case X509_V_ERR_PATH_LENGTH_EXCEEDED: "PATH_LENGTH_EXCEEDED"
        case X509_V_ERR_INVALID_PURPOSE: "INVALID_PURPOSE"
        case X509_V_ERR_CERT_UNTRUSTED: "CERT_UNTRUSTED"
        case X509_V_ERR_CERT_REJECTED: "CERT_REJECTED"
        case X509_V_ERR_HOSTNAME_MISMATCH: "HOSTNAME_MISMATCH"
        default: "UNSPECIFIED"
        }
    }
}
