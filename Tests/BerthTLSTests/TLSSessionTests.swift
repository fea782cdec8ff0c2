import BerthPlan
import BerthTLS
import COpenSSL
import Foundation
import Testing

/// The server session against a real OpenSSL client over memory BIOs: handshakes, SNI, ALPN, versions, client
/// certificates, close_notify, and how each failure is classified.
@Suite("TLSSession", .timeLimit(.minutes(2)))
struct TLSSessionTests {
    let scratch: OpenSSLScratch

    init() throws {
        scratch = try OpenSSLScratch()
        for name in ["a", "b"] {
            try scratch.openssl(
                ["req", "-x509", "-nodes", "-days", "30", "-subj", "/CN=\(name).example", "-newkey", "ec",
                 "-pkeyopt", "ec_paramgen_curve:P-256", "-addext", "subjectAltName=DNS:\(name).example,DNS:*.\(name).example",
                 "-keyout", "\(name).key", "-out", "\(name).pem"])
        }
    }

    func settings(_ names: [String] = ["a"], clientCA: (file: String, required: Bool)? = nil, alpn: [String] = [],
                  minimum: TLSVersion = .tls12, strict: Bool = false) throws -> (TLSSettings, [String: [UInt8]]) {
        var credentials: [String: [UInt8]] = [:]
        let pairs = try names.map { name in
            credentials["\(name).pem"] = try scratch.read("\(name).pem")
            credentials["\(name).key"] = try scratch.read("\(name).key")
            return TLSCertificate(certificate: "\(name).pem", key: "\(name).key", certificateSHA256: "", keySHA256: "",
                                  notAfter: "", names: [])
        }
        var authority: TLSClientAuthority?
        if let clientCA {
            credentials[clientCA.file] = try scratch.read(clientCA.file)
            authority = TLSClientAuthority(file: clientCA.file, sha256: "", isRequired: clientCA.required)
        }
        return (TLSSettings(certificates: pairs, clientAuthority: authority, alpn: alpn, minimumVersion: minimum,
                            isStrictSNI: strict), credentials)
    }

    func server(_ made: (TLSSettings, [String: [UInt8]])) throws -> TLSSession {
        TLSSession(context: try TLSServerContext(settings: made.0, credentials: made.1))
    }

    @Test func handshakeThenDataBothWaysOverTLS13() throws {
        let server = try server(try settings())
        let client = TestClient()
        #expect(client.handshake(with: server) == .complete)
        #expect(server.protocolVersion == "TLSv1.3")
        #expect(server.cipher.standardName.hasPrefix("TLS_"))
        #expect(server.serverName == nil && server.alpnProtocol == nil && server.peerCertificate == nil)
        client.write("ping")
        #expect(client.deliver(to: server) == "ping")
        #expect(Array("pong".utf8).withUnsafeBytes { server.write($0) })
        #expect(client.receive(from: server) == "pong")
    }

    @Test func aClientCappedAtTLS12GetsTLS12() throws {
        let server = try server(try settings())
        let client = TestClient(maximumVersion: TLS1_2_VERSION)
        #expect(client.handshake(with: server) == .complete)
        #expect(server.protocolVersion == "TLSv1.2")
        #expect(server.cipher.version == "TLSv1.2")
    }

    @Test func aClientBelowTheMinimumVersionIsAVersionFailure() throws {
        let server = try server(try settings(minimum: .tls13))
        #expect(TestClient(maximumVersion: TLS1_2_VERSION).handshake(with: server) == .failed(.version))
    }

    @Test(arguments: [("b.example", "b"), ("x.b.example", "b"), ("a.example", "a"), (nil, "a"), ("c.example", "a")])
    func sniPicksThePairCoveringTheName(name: String?, expected: String) throws {
        let server = try server(try settings(["a", "b"]))
        let client = TestClient(serverName: name)
        #expect(client.handshake(with: server) == .complete)
        #expect(client.peerCommonName == "\(expected).example")
        #expect(server.serverName == name)
    }

    @Test func strictSNIRefusesANameNoPairCovers() throws {
        let server = try server(try settings(["a", "b"], strict: true))
        #expect(TestClient(serverName: "c.example").handshake(with: server) == .failed(.unknownName))
        let named = try self.server(try settings(["a", "b"], strict: true))
        #expect(TestClient(serverName: "b.example").handshake(with: named) == .complete)
    }

    @Test func alpnTakesTheServersPreferenceAndRefusesNoOverlap() throws {
        let server = try server(try settings(alpn: ["http/1.1", "h2"]))
        #expect(TestClient(alpn: ["h2", "http/1.1"]).handshake(with: server) == .complete)
        #expect(server.alpnProtocol == "http/1.1")
        let refusing = try self.server(try settings(alpn: ["h2"]))
        #expect(TestClient(alpn: ["http/1.1"]).handshake(with: refusing) == .failed(.noCommonProtocol))
        let silent = try self.server(try settings(alpn: ["h2"]))
        #expect(TestClient().handshake(with: silent) == .complete)
        #expect(silent.alpnProtocol == nil)
    }

    @Test func plaintextIsClassifiedAsSuch() throws {
        let server = try server(try settings())
        Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8).withUnsafeBytes { server.receive($0) }
        #expect(server.handshake() == .failed(.plaintext))
    }

    @Test func closeNotifyEndsTheReadingSide() throws {
        let server = try server(try settings())
        let client = TestClient()
        #expect(client.handshake(with: server) == .complete)
        client.shutdown()
        client.send(to: server)
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(buffer.withUnsafeMutableBytes { server.read(into: $0) } == .closeNotify)
        // The server may still write after the peer's close_notify (half-close), then sends its own.
        #expect(Array("late".utf8).withUnsafeBytes { server.write($0) })
        server.close()
        #expect(client.receive(from: server) == "late")
    }

    @Test func clientCertificatesRequiredOptionalAndVerified() throws {
        try scratch.openssl(["req", "-x509", "-nodes", "-days", "30", "-subj", "/CN=Test CA", "-newkey", "ec",
                             "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", "ca.key", "-out", "ca.pem"])
        try scratch.openssl(["req", "-new", "-nodes", "-subj", "/O=Berth/CN=alice", "-newkey", "ec", "-pkeyopt",
                             "ec_paramgen_curve:P-256", "-keyout", "alice.key", "-out", "alice.csr"])
        try scratch.openssl(["x509", "-req", "-in", "alice.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                             "-CAcreateserial", "-days", "30", "-out", "alice.pem"])
        let required = try server(try settings(clientCA: ("ca.pem", true)))
        #expect(TestClient().handshake(with: required) == .failed(.clientCertificate))
        let stranger = try server(try settings(clientCA: ("ca.pem", true)))
        #expect(TestClient(certificate: scratch.path("b.pem"), key: scratch.path("b.key")).handshake(with: stranger)
                == .failed(.clientCertificate))
        let verified = try server(try settings(clientCA: ("ca.pem", true)))
        #expect(TestClient(certificate: scratch.path("alice.pem"), key: scratch.path("alice.key")).handshake(with: verified)
                == .complete)
        #expect(verified.verifyError == nil)
        #expect(verified.peerCertificate?.subjectAttributes.map(\.1) == ["Berth", "alice"])
        #expect(verified.peerCertificate?.issuerAttributes.last?.1 == "Test CA")
        let optional = try server(try settings(clientCA: ("ca.pem", false)))
        #expect(TestClient().handshake(with: optional) == .complete)
        #expect(optional.verifyError == "UNABLE_TO_GET_ISSUER_CERT")
        let optionalStranger = try server(try settings(clientCA: ("ca.pem", false)))
        #expect(TestClient(certificate: scratch.path("b.pem"), key: scratch.path("b.key")).handshake(with: optionalStranger)
                == .complete)
        #expect(optionalStranger.verifyError == "DEPTH_ZERO_SELF_SIGNED_CERT")
    }

    @Test func aKeyOpenSSLRefusesForTLSFailsTheContextNamingTheFile() throws {
        try scratch.openssl(["req", "-x509", "-nodes", "-days", "30", "-subj", "/CN=weak.example", "-newkey", "rsa:1024",
                             "-keyout", "weak.key", "-out", "weak.pem"])
        #expect(throws: TLSContextError.self) { try server(try settings(["weak"])) }
    }
}

/// A TLS client over memory BIOs, driven by hand against a `TLSSession`.
final class TestClient {
    let context: OpaquePointer
    let ssl: OpaquePointer
    let input: OpaquePointer
    let output: OpaquePointer

    init(serverName: String? = nil, alpn: [String] = [], maximumVersion: Int32 = 0, certificate: String? = nil,
         key: String? = nil) {
        context = SSL_CTX_new(TLS_client_method())!
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        if let certificate, let key {
            SSL_CTX_use_certificate_file(context, certificate, SSL_FILETYPE_PEM)
            SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM)
        }
        ssl = SSL_new(context)!
        input = BIO_new(BIO_s_mem())!
        output = BIO_new(BIO_s_mem())!
        BIO_ctrl(input, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, nil)
        SSL_set_bio(ssl, input, output)
        SSL_set_connect_state(ssl)
        if let serverName {
            _ = serverName.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
        }
        if maximumVersion != 0 { SSL_ctrl(ssl, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(maximumVersion), nil) }
        if !alpn.isEmpty {
            let wire = alpn.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
            SSL_set_alpn_protos(ssl, wire, UInt32(wire.count))
        }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// Moves the client's pending output into the server.
    func send(to server: TLSSession) {
        var data: UnsafeMutablePointer<CChar>?
        let count = BIO_ctrl(output, BIO_CTRL_INFO, 0, &data)
        guard count > 0, let data else { return }
        server.receive(UnsafeRawBufferPointer(start: data, count: count))
        BIO_ctrl(output, BIO_CTRL_RESET, 0, nil)
    }

    func take(from server: TLSSession) {
        server.takeOutput { bytes in _ = BIO_write(input, bytes.baseAddress, Int32(bytes.count)) }
    }

    /// Runs both sides until the server's handshake settles (and the client's, when it completes).
    func handshake(with server: TLSSession) -> TLSHandshakeStep {
        for _ in 0..<10 {
            _ = SSL_do_handshake(ssl)
            send(to: server)
            let step = server.handshake()
            take(from: server)
            if case .failed = step { return step }
            if step == .complete {
                // The client finishes on the server's last flight (and reads the tickets).
                _ = SSL_do_handshake(ssl)
                var byte: UInt8 = 0
                _ = SSL_read(ssl, &byte, 0)
                // A client rejected after its Finished (TLS 1.3 client certificates) learns it from the alert.
                send(to: server)
                var buffer = [UInt8](repeating: 0, count: 16)
                if case .failed = buffer.withUnsafeMutableBytes({ server.read(into: $0) }) { return .failed(.clientCertificate) }
                take(from: server)
                return .complete
            }
        }
        return .inProgress
    }

    func write(_ text: String) { _ = SSL_write(ssl, text, Int32(text.utf8.count)) }

    func shutdown() { _ = SSL_shutdown(ssl) }

    /// Sends what the client wrote and returns the plaintext the server read.
    func deliver(to server: TLSSession) -> String {
        send(to: server)
        var buffer = [UInt8](repeating: 0, count: 1024)
        guard case .plaintext(let count) = buffer.withUnsafeMutableBytes({ server.read(into: $0) }) else { return "" }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Takes the server's output and returns what the client reads of it.
    func receive(from server: TLSSession) -> String {
        take(from: server)
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = SSL_read(ssl, &buffer, Int32(buffer.count))
        return count > 0 ? String(decoding: buffer[..<Int(count)], as: UTF8.self) : ""
    }

    var peerCommonName: String? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        var buffer = [CChar](repeating: 0, count: 256)
        let length = X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, &buffer, 256)
        return length > 0 ? String(cString: buffer) : nil
    }
}
