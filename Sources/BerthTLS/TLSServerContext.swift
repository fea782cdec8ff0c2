internal import COpenSSL
package import BerthPlan

/// What one TLS endpoint's handshakes use: an OpenSSL `SSL_CTX` per certificate pair (SNI switches between them),
/// the client CA, the ALPN list and the minimum version. Built from the bytes the compiler checked; immutable, so a
/// rotation builds a new one for new handshakes while open connections keep the one they started with.
@safe package final class TLSServerContext {
    /// One per pair, in manifest order; the first serves clients without SNI.
    let contexts: [OpaquePointer]  // SSL_CTX*, owned
    /// The leaf of each pair, for matching SNI names (X509_check_host: SAN DNS names, wildcards, CN fallback).
    private let leaves: [Certificate]
    let isStrictSNI: Bool
    /// The ALPN protocols in wire format (length-prefixed), server preference first; empty: no ALPN. Allocated
    /// here: OpenSSL keeps a pointer into it for the handshake.
    let alpnWire: UnsafeMutableBufferPointer<UInt8>
    let hasClientAuthority: Bool
    /// The settings this context was built from.
    package let settings: TLSSettings

    /// Builds the contexts; throws when OpenSSL refuses a file the compiler accepted (then the endpoint keeps what
    /// it had), naming the file.
    package init(settings: TLSSettings, credentials: [String: [UInt8]]) throws(TLSContextError) {
        self.settings = settings
        isStrictSNI = settings.isStrictSNI
        let wire = settings.alpn.flatMap { [UInt8(clamping: $0.utf8.count)] + Array($0.utf8) }
        alpnWire = UnsafeMutableBufferPointer.allocate(capacity: wire.count)
        _ = unsafe alpnWire.initialize(from: wire)
        hasClientAuthority = settings.clientAuthority != nil
        var contexts: [OpaquePointer] = []
        var leaves: [Certificate] = []
        var authorities: [Certificate] = []
        do throws(TLSContextError) {
            if let authority = settings.clientAuthority {
                authorities = try Self.certificates(authority.file, credentials)
                if authorities.isEmpty { throw TLSContextError(file: authority.file, reason: "holds no certificate") }
            }
            for pair in settings.certificates {
                let chain = try Self.certificates(pair.certificate, credentials)
                guard let leaf = chain.first else {
                    throw TLSContextError(file: pair.certificate, reason: "holds no certificate")
                }
                guard let keyBytes = credentials[pair.key] else {
                    throw TLSContextError(file: pair.key, reason: "was not read by the compile")
                }
                let key: PrivateKey
                do { key = try PrivateKey(pem: keyBytes) } catch {
                    throw TLSContextError(file: pair.key, reason: "cannot be decoded")
                }
                let context = try Self.makeContext(settings: settings)
                contexts.append(context)
                leaves.append(leaf)
                try Self.use(chain: chain, key: key, in: context, naming: pair)
                for authority in authorities { try Self.trust(authority, in: context, file: settings.clientAuthority!.file) }
            }
        } catch {
            for context in contexts { unsafe SSL_CTX_free(context) }
            unsafe alpnWire.deallocate()
            throw error
        }
        self.contexts = contexts
        self.leaves = leaves
        let me = unsafe Unmanaged.passUnretained(self).toOpaque()
        for context in contexts {
            _ = unsafe cssl_ctx_set_servername_callback(context, chooseCertificate, me)
            if !alpnWire.isEmpty { unsafe SSL_CTX_set_alpn_select_cb(context, chooseProtocol, me) }
            if let authority = settings.clientAuthority {
                let mode = cssl_verify_peer() | (authority.isRequired ? cssl_verify_fail_if_no_peer_cert() : 0)
                // Optional: every certificate is let through, and `authorized` reports the verdict afterwards.
                unsafe SSL_CTX_set_verify(context, mode, authority.isRequired ? nil : acceptAnyCertificate)
            }
        }
    }

    deinit {
        for context in contexts { unsafe SSL_CTX_free(context) }
        unsafe alpnWire.deallocate()
    }

    /// The SHA-256 of the first pair's leaf, for log lines.
    package var leafSHA256: String { leaves[0].sha256 }

    private static func certificates(
        _ file: String, _ credentials: [String: [UInt8]]
    ) throws(TLSContextError) -> [Certificate] {
        guard let bytes = credentials[file] else { throw TLSContextError(file: file, reason: "was not read by the compile") }
        do { return try Certificate.readAll(pem: bytes) } catch {
            throw TLSContextError(file: file, reason: "cannot be decoded: \(error.underlying.reasons)")
        }
    }

    private static func makeContext(settings: TLSSettings) throws(TLSContextError) -> OpaquePointer {
        ERR_clear_error()
        guard let context = unsafe SSL_CTX_new(TLS_server_method()) else {
            throw TLSContextError(file: "", reason: OpenSSLError.drain("SSL_CTX_new").reasons)
        }
        let version = settings.minimumVersion == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION
        _ = unsafe cssl_ctx_set_min_proto_version(context, version)
        _ = unsafe SSL_CTX_set_options(context, cssl_server_options())
        // Idle connections give their record buffers back: memory per open connection is what a broker holds most of.
        _ = unsafe cssl_ctx_set_mode(context, cssl_mode_release_buffers())
        // Resumed sessions must come back to the same endpoint (OpenSSL refuses resumption with client certificates
        // without an id context).
        let id = Array("berth".utf8)
        _ = unsafe SSL_CTX_set_session_id_context(context, id, UInt32(id.count))
        return context
    }

    private static func use(
        chain: [Certificate], key: PrivateKey, in context: OpaquePointer, naming pair: TLSCertificate
    ) throws(TLSContextError) {
        ERR_clear_error()
        guard unsafe SSL_CTX_use_certificate(context, chain[0].raw) == 1 else {
            throw TLSContextError(file: pair.certificate, reason: OpenSSLError.drain("SSL_CTX_use_certificate").reasons)
        }
        for intermediate in chain.dropFirst() {
            // add0 takes the reference it is given: one more for the context, ours stays with `intermediate`.
            _ = unsafe X509_up_ref(intermediate.raw)
            guard unsafe cssl_ctx_add_extra_chain_certificate(context, intermediate.raw) == 1 else {
                unsafe X509_free(intermediate.raw)
                throw TLSContextError(file: pair.certificate, reason: OpenSSLError.drain("SSL_CTX_add0_chain_cert").reasons)
            }
        }
        guard unsafe SSL_CTX_use_PrivateKey(context, key.raw) == 1, unsafe SSL_CTX_check_private_key(context) == 1 else {
            throw TLSContextError(file: pair.key, reason: OpenSSLError.drain("SSL_CTX_use_PrivateKey").reasons)
        }
    }

    private static func trust(_ authority: Certificate, in context: OpaquePointer, file: String) throws(TLSContextError) {
        ERR_clear_error()
        guard let store = unsafe SSL_CTX_get_cert_store(context), unsafe X509_STORE_add_cert(store, authority.raw) == 1,
            unsafe SSL_CTX_add_client_CA(context, authority.raw) == 1
        else { throw TLSContextError(file: file, reason: OpenSSLError.drain("X509_STORE_add_cert").reasons) }
    }

    /// The index of the pair for an SNI name: the first whose leaf covers it; nil when none does.
    func pairIndex(serving name: String) -> Int? {
        let bytes = Array(name.utf8)
        return leaves.firstIndex { leaf in
            unsafe X509_check_host(leaf.raw, bytes.map { CChar(bitPattern: $0) }, bytes.count, 0, nil) == 1
        }
    }
}

/// OpenSSL refused a file of a TLS endpoint when the broker built its handshake context.
package struct TLSContextError: Error, Hashable, Sendable {
    package var file: String
    package var reason: String
    package var message: String { file.isEmpty ? reason : "\(file) \(reason)" }
}

// The callbacks get the context as their argument and the session through the SSL's app data.

private func chooseCertificate(_ ssl: OpaquePointer?, _ alert: UnsafeMutablePointer<Int32>?, _ argument: UnsafeMutableRawPointer?) -> Int32 {
    guard let ssl = unsafe ssl, let argument = unsafe argument else { return cssl_tlsext_err_ok() }
    let context = unsafe Unmanaged<TLSServerContext>.fromOpaque(argument).takeUnretainedValue()
    guard let name = unsafe SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return cssl_tlsext_err_ok() }
    let text = unsafe String(cString: name)
    if let index = context.pairIndex(serving: text) {
        if index != 0 { _ = unsafe SSL_set_SSL_CTX(ssl, context.contexts[index]) }
        return cssl_tlsext_err_ok()
    }
    guard context.isStrictSNI else { return cssl_tlsext_err_ok() }
    unsafe TLSSession.from(ssl)?.failure = .unknownName
    unsafe alert?.pointee = SSL_AD_UNRECOGNIZED_NAME
    return cssl_tlsext_err_alert_fatal()
}

private func chooseProtocol(
    _ ssl: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ outLength: UnsafeMutablePointer<UInt8>?,
    _ offered: UnsafePointer<UInt8>?, _ offeredLength: UInt32, _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    guard let argument = unsafe argument else { return cssl_tlsext_err_noack() }
    let context = unsafe Unmanaged<TLSServerContext>.fromOpaque(argument).takeUnretainedValue()
    var chosen: UnsafeMutablePointer<UInt8>?
    var chosenLength: UInt8 = 0
    // SSL_select_next_proto picks the first of the server's list that the client offers and points into the server's
    // list: `alpnWire`'s storage, which lives as long as the context, and the context outlives its sessions.
    let server = context.alpnWire
    let result = unsafe SSL_select_next_proto(
        &chosen, &chosenLength, server.baseAddress, UInt32(server.count), offered, offeredLength)
    guard result == OPENSSL_NPN_NEGOTIATED, let chosen = unsafe chosen else {
        if let ssl = unsafe ssl { unsafe TLSSession.from(ssl)?.failure = .noCommonProtocol }
        return cssl_tlsext_err_alert_fatal()
    }
    unsafe out?.pointee = UnsafePointer(chosen)
    unsafe outLength?.pointee = chosenLength
    return cssl_tlsext_err_ok()
}

/// Optional client certificates: the handshake goes on whatever the verdict; `authorized` reports it.
private func acceptAnyCertificate(_ preverified: Int32, _ store: OpaquePointer?) -> Int32 { 1 }
