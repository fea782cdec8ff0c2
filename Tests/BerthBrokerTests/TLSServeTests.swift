import BerthTestSupport
import Foundation
import Testing

/// `berth serve` terminating TLS for real clients (`openssl s_client`, Node's `tls`, Python's `ssl`): the seed's echo
/// handler unchanged over TLS 1.2 and 1.3, what a handler's `conn` says about the handshake, certificates chosen by
/// SNI, client certificates (mTLS) and ALPN, and the handshakes refused for each, counted in the summary line.
@Suite(.serialized, .timeLimit(.minutes(5))) struct TLSServeTests {
    // MARK: The seed's echo over TLS 1.2 and 1.3

    @Test(arguments: ["1.2", "1.3"])
    func seedEchoServesEveryClientOverTLS(version: String) throws {
        let (port, probePort) = (try FreePort.tcp(), try FreePort.tcp())
        let site = try TLSSite()
        let server = try site.pki.server("server", names: ["echo.test", "localhost"])
        try site.folder.write([
            "echo.tcp.\(port).port.js": try TLSSite.seedEcho(),
            "probe.tcp.\(probePort).port.js": TLSSite.probe,
            "manifest.json": Reload.manifest(handlers: """
                {"echo": {"tls": \(try site.pair(server))}, "probe": {"tls": \(try site.pair(server))}}
                """),
        ])
        let broker = try ServeProcess(folder: site.folder.path, readyCount: 2)
        defer { broker.stop() }
        let options = OpenSSLClient.Options(serverName: "echo.test", version: version, trusting: site.pki.authority.certificatePath)
        let protocolName = "TLSv" + version

        // openssl s_client, typed at: the greeting, then each line back as it was sent.
        let session = try OpenSSLClient.session(port: port, options)
        defer { session.stop() }
        #expect(session.waitForOutput("hello from :\(port)\n"), "\(session.standardOutput)\(session.standardError)\n\(broker.log)")
        for line in ["hi there", "ünïcode ✓ over \(protocolName)", String(repeating: "0123456789", count: 1000)] {
            session.write(line + "\n")
            #expect(session.waitForOutput(line + "\n"), "\(line.prefix(40)) echoed: \(session.standardOutput.suffix(200))")
        }
        session.closeInput()
        #expect(session.waitForExit() == 0, "\(session.standardError)")
        #expect(session.standardOutput.hasPrefix("hello from :\(port)\n"))
        #expect(session.standardError.contains("Protocol version: \(protocolName)"), "\(session.standardError)")
        #expect(session.standardError.contains("Verification: OK"), "\(session.standardError)")

        // Node and Python: 256 KiB of multi-byte text through the seed echo, intact.
        let text = (0..<4000).map { "line \($0): grüße, 日本語, ✓\n" }.joined()
        for client in [NodeTLS.exchange, PythonTLS.exchange] {
            let exchange = try client(port, options, text, 60)
            #expect(exchange.error == nil, "\(exchange)")
            #expect(exchange.protocolVersion == protocolName, "\(exchange)")
            #expect(exchange.firstLine == "hello from :\(port)", "\(exchange)")
            #expect(exchange.echo == text, "\(exchange.echo?.utf8.count ?? -1) of \(text.utf8.count) bytes came back")
            #expect(exchange.serverSerialNumber == server.serialNumber, "\(exchange)")
        }

        // What the handler's conn says, as each client negotiated it.
        for client in [NodeTLS.exchange, PythonTLS.exchange] {
            let exchange = try client(probePort, options, "after the report\n", 30)
            let report = try #require(exchange.firstObject, "\(exchange)\n\(broker.log)")
            #expect(report["encrypted"] as? Bool == true, "\(report)")
            #expect(report["servername"] as? String == "echo.test", "\(report)")
            #expect(report["alpnProtocol"] as? Bool == false, "no ALPN offered or configured: \(report)")
            #expect(report["protocol"] as? String == protocolName, "\(report)")
            let cipher = try #require(report["cipher"] as? [String: Any], "\(report)")
            #expect(cipher["name"] as? String == exchange.cipher, "the client agreed \(exchange.cipher ?? "?"): \(cipher)")
            #expect((cipher["standardName"] as? String)?.hasPrefix("TLS_") == true, "\(cipher)")
            #expect((cipher["version"] as? String)?.hasPrefix("TLSv1") == true, "\(cipher)")
            if version == "1.3" { #expect(cipher["standardName"] as? String == exchange.cipher, "\(cipher)") }
            #expect(report["authorized"] as? Bool == false, "no client CA: \(report)")
            #expect(report["authorizationError"] is NSNull, "no client CA: \(report)")
            #expect((report["peer"] as? [String: Any])?.isEmpty == true, "no client certificate: \(report)")
            #expect(exchange.echo == "after the report\n", "\(exchange)")
        }
        #expect(broker.isRunning)
    }

    /// A plain TCP endpoint beside a TLS one: its conn has none of the TLS members, as a Node `net.Socket`.
    @Test func aPlainConnectionHasNoneOfTheTLSMembers() throws {
        let (plain, secure) = (try FreePort.tcp(), try FreePort.tcp())
        let site = try TLSSite()
        let server = try site.pki.server("server", names: ["probe.test"])
        try site.folder.write([
            "plain.tcp.\(plain).port.js": TLSSite.probe,
            "secure.tcp.\(secure).port.js": TLSSite.probe,
            "manifest.json": Reload.manifest(handlers: #"{"secure": {"tls": \#(try site.pair(server))}}"#),
        ])
        let broker = try ServeProcess(folder: site.folder.path, readyCount: 2)
        defer { broker.stop() }
        let line = try #require(Reload.ask(plain), "\(broker.log)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        #expect(report["kinds"] as? [String: String] == TLSSite.absentMembers, "\(report)")
        let exchange = try NodeTLS.exchange(port: secure)
        #expect(exchange.firstObject?["encrypted"] as? Bool == true, "\(exchange)")
        #expect(broker.isRunning)
    }

    // MARK: SNI

    /// Two pairs on one endpoint (ECDSA for a.test and *.a.test, RSA for b.test): each client sees the certificate its
    /// name matches; no SNI and an unknown name get the first; with strictSNI an unknown name is refused and counted.
    @Test func sniChoosesBetweenTwoCertificates() throws {
        let (port, strictPort) = (try FreePort.tcp(), try FreePort.tcp())
        let site = try TLSSite()
        let a = try site.pki.server("a", names: ["a.test", "*.a.test"], keyType: .ecdsaP256)
        let b = try site.pki.server("b", names: ["b.test"], keyType: .rsa2048)
        let pairs = "[\(try site.pair(a)), \(try site.pair(b))]"
        try site.folder.write([
            "sni.tcp.\(port).port.js": TLSSite.probe,
            "strict.tcp.\(strictPort).port.js": TLSSite.probe,
            "manifest.json": Reload.manifest(handlers: """
                {"sni": {"tls": {"certificates": \(pairs)}},
                 "strict": {"tls": {"certificates": \(pairs), "strictSNI": true}}}
                """),
        ])
        let broker = try ServeProcess(folder: site.folder.path, readyCount: 2)
        defer { broker.stop() }
        let ca = site.pki.authority.certificatePath

        // openssl s_client: the serial and subject of the certificate each name gets.
        let cases: [(name: String?, expected: TestPKI.Issued)] = [
            ("b.test", b), ("a.test", a), ("x.a.test", a), (nil, a), ("c.test", a),
        ]
        for (name, expected) in cases {
            let handshake = try OpenSSLClient.handshake(port: port, .init(serverName: name, trusting: ca))
            #expect(handshake.isEstablished && handshake.verifyCode == 0, "\(name ?? "no SNI"): \(handshake)")
            #expect(handshake.serverSerialNumber == expected.serialNumber, "\(name ?? "no SNI"): \(handshake)")
            #expect(handshake.serverSubject?.hasSuffix("CN = \(expected.commonName)") == true, "\(handshake)")
        }

        // Python and Node verify the name they asked for, and the handler sees it as conn.servername.
        for (name, expected) in [("b.test", b), ("x.a.test", a)] {
            for client in [PythonTLS.exchange, NodeTLS.exchange] {
                let exchange = try client(port, .init(serverName: name, trusting: ca), nil, 30)
                #expect(exchange.error == nil && exchange.serverSerialNumber == expected.serialNumber, "\(exchange)")
                #expect(exchange.firstObject?["servername"] as? String == name, "\(exchange)")
            }
        }
        let anonymous = try NodeTLS.exchange(port: port, .init(trusting: ca))
        #expect(anonymous.serverSerialNumber == a.serialNumber, "\(anonymous)")
        #expect(anonymous.firstObject?["servername"] as? Bool == false, "no SNI: \(anonymous)")

        // strictSNI: the known names and no SNI are served; an unknown name is refused, and counted.
        for (name, expected) in [("b.test", b), (nil, a)] as [(String?, TestPKI.Issued)] {
            let handshake = try OpenSSLClient.handshake(port: strictPort, .init(serverName: name, trusting: ca))
            #expect(handshake.serverSerialNumber == expected.serialNumber, "\(name ?? "no SNI"): \(handshake)")
        }
        let unknown = try OpenSSLClient.handshake(port: strictPort, .init(serverName: "c.test", trusting: ca))
        #expect(!unknown.isEstablished && unknown.status != 0, "\(unknown)")
        let python = try PythonTLS.exchange(port: strictPort, .init(serverName: "c.test"))
        #expect(python.protocolVersion == nil && python.firstLine == nil && python.error != nil, "\(python)")

        let counts = broker.waitForRefusals(on: "tcp/\(strictPort)", atLeast: ["tls-unknown-name": 2])
        #expect(counts == ["tls-unknown-name": 2], "\(broker.log)")
        #expect(broker.refusals(on: "tcp/\(port)").isEmpty, "the lenient endpoint refused nothing: \(broker.log)")
        #expect(broker.isRunning)
    }

    // MARK: Client certificates (mTLS)

    @Test func clientCertificatesRequiredAndOptional() throws {
        let (required, optional) = (try FreePort.tcp(), try FreePort.tcp())
        let site = try TLSSite()
        let server = try site.pki.server("server", names: ["mtls.test"])
        let alice = try site.pki.client("alice", commonName: "alice", organization: "berth clients")
        let unrelated = try TestPKI(directory: site.pkiFolder.path + "/unrelated", name: "unrelated CA")
        let mallory = try unrelated.client("mallory", commonName: "mallory")
        let clientCA = try site.authority()
        let pair = try site.pair(server, #", "clientCA": "\#(clientCA)""#)
        try site.folder.write([
            "required.tcp.\(required).port.js": TLSSite.probe,
            "optional.tcp.\(optional).port.js": TLSSite.probe,
            "manifest.json": Reload.manifest(handlers: """
                {"required": {"tls": \(pair)},
                 "optional": {"tls": \(try site.pair(server, #", "clientCA": "\#(clientCA)", "clientCertificate": "optional""#))}}
                """),
        ])
        let broker = try ServeProcess(folder: site.folder.path, readyCount: 2)
        defer { broker.stop() }
        let ca = site.pki.authority.certificatePath

        // Required, with a certificate the CA signed: served, authorized, the subject as the handler sees it.
        for client in [NodeTLS.exchange, PythonTLS.exchange] {
            let exchange = try client(required, .init(serverName: "mtls.test", certificate: alice, trusting: ca), "hi\n", 30)
            let report = try #require(exchange.firstObject, "\(exchange)\n\(broker.log)")
            #expect(report["authorized"] as? Bool == true, "\(report)")
            #expect(report["authorizationError"] is NSNull, "\(report)")
            let peer = try #require(report["peer"] as? [String: Any], "\(report)")
            #expect(peer["subjectCN"] as? String == "alice" && peer["subjectO"] as? String == "berth clients", "\(peer)")
            #expect(peer["issuerCN"] as? String == "berth test CA", "\(peer)")
            #expect(peer["serialNumber"] as? String == alice.serialNumber, "\(peer)")
            #expect(peer["rawIsBuffer"] as? Bool == true && (peer["rawLength"] as? Int ?? 0) > 100, "\(peer)")
            #expect((peer["fingerprint256"] as? String)?.count == 95, "32 hex pairs and colons: \(peer)")
            #expect((peer["validTo"] as? String)?.hasSuffix(" GMT") == true, "as OpenSSL prints a time: \(peer)")
            #expect(exchange.echo == "hi\n", "\(exchange)")
        }

        // Required, without a certificate or with one from another CA: the handshake fails, no handler runs.
        var refused = 0
        let failing: [(String, OpenSSLClient.Options, (Int, OpenSSLClient.Options, String?, TimeInterval) throws -> TLSExchange)] = [
            ("Node, TLS 1.3, no certificate", .init(version: "1.3"), NodeTLS.exchange),
            ("Python, TLS 1.2, no certificate", .init(version: "1.2"), PythonTLS.exchange),
            ("Node, TLS 1.2, another CA's certificate", .init(version: "1.2", certificate: mallory), NodeTLS.exchange),
            ("Python, TLS 1.3, another CA's certificate", .init(version: "1.3", certificate: mallory), PythonTLS.exchange),
        ]
        for (label, options, client) in failing {
            let exchange = try client(required, options, nil, 30)
            #expect(exchange.firstLine == nil && exchange.error != nil, "\(label): \(exchange)")
            refused += 1
        }
        let handshake = try OpenSSLClient.handshake(port: required, .init(version: "1.2", certificate: mallory))
        #expect(!handshake.isEstablished, "s_client with another CA's certificate: \(handshake)")
        refused += 1

        // Optional: served either way; authorized says whether it verified.
        let anonymous = try PythonTLS.exchange(port: optional, .init(serverName: "mtls.test", trusting: ca))
        let anonymousReport = try #require(anonymous.firstObject, "\(anonymous)\n\(broker.log)")
        #expect(anonymousReport["authorized"] as? Bool == false, "\(anonymousReport)")
        #expect((anonymousReport["authorizationError"] as? String)?.isEmpty == false, "\(anonymousReport)")
        #expect((anonymousReport["peer"] as? [String: Any])?.isEmpty == true, "\(anonymousReport)")
        let stranger = try NodeTLS.exchange(port: optional, .init(certificate: mallory))
        let strangerReport = try #require(stranger.firstObject, "\(stranger)")
        #expect(strangerReport["authorized"] as? Bool == false, "\(strangerReport)")
        // What Node's own server reports for a leaf whose issuer it does not know (checked against tls.createServer).
        #expect(strangerReport["authorizationError"] as? String == "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "\(strangerReport)")
        #expect((strangerReport["peer"] as? [String: Any])?["subjectCN"] as? String == "mallory", "\(strangerReport)")
        let known = try NodeTLS.exchange(port: optional, .init(certificate: alice))
        #expect(known.firstObject?["authorized"] as? Bool == true, "\(known)")

        let counts = broker.waitForRefusals(on: "tcp/\(required)", atLeast: ["tls-client-certificate": refused])
        #expect(counts == ["tls-client-certificate": refused], "\(broker.log)")
        #expect(broker.refusals(on: "tcp/\(optional)").isEmpty, "\(broker.log)")
        #expect(broker.count(message: "handled ") == 5, "only the served connections reached the handler: \(broker.log)")
    }

    // MARK: ALPN

    @Test func alpnIsNegotiatedAndNoOverlapIsRefused() throws {
        let port = try FreePort.tcp()
        let site = try TLSSite()
        let server = try site.pki.server("server", names: ["alpn.test"])
        try site.folder.write([
            "alpn.tcp.\(port).port.js": TLSSite.probe,
            "manifest.json": Reload.manifest(handlers: #"""
                {"alpn": {"tls": \#(try site.pair(server, #", "alpn": ["http/1.1"]"#))}}
                """#),
        ])
        let broker = try ServeProcess(folder: site.folder.path, readyCount: 1)
        defer { broker.stop() }

        let offered = OpenSSLClient.Options(alpn: ["h2", "http/1.1"])
        for client in [PythonTLS.exchange, NodeTLS.exchange] {
            let exchange = try client(port, offered, nil, 30)
            #expect(exchange.alpnProtocol == "http/1.1", "\(exchange)")
            #expect(exchange.firstObject?["alpnProtocol"] as? String == "http/1.1", "\(exchange)")
        }
        let handshake = try OpenSSLClient.handshake(port: port, offered)
        #expect(handshake.alpnProtocol == "http/1.1", "\(handshake)")

        let none = try NodeTLS.exchange(port: port)
        #expect(none.alpnProtocol == nil && none.firstObject?["alpnProtocol"] as? Bool == false, "\(none)")

        let disjoint = try OpenSSLClient.handshake(port: port, .init(alpn: ["h2"]))
        #expect(!disjoint.isEstablished, "\(disjoint)")
        #expect(disjoint.standardError.contains("no application protocol"), "\(disjoint.standardError)")
        let python = try PythonTLS.exchange(port: port, .init(alpn: ["h2", "spdy/3"]))
        #expect(python.protocolVersion == nil && python.firstLine == nil, "\(python)")

        let counts = broker.waitForRefusals(on: "tcp/\(port)", atLeast: ["tls-alpn": 2])
        #expect(counts == ["tls-alpn": 2], "\(broker.log)")
    }
}

// MARK: - Shared by the TLS suites

/// A served folder and, beside it, a test authority that issues certificates; `pair` installs one into the folder's
/// `certs/` (as a deployment copies its certificates in) and says it as the manifest does.
final class TLSSite {
    let folder: TemporaryFolder
    let pkiFolder: TemporaryFolder
    let pki: TestPKI
    var sync: FolderSync { FolderSync(root: folder.path) }

    init() throws {
        folder = try TemporaryFolder("berth-tls")
        pkiFolder = try TemporaryFolder("berth-pki")
        pki = try TestPKI(directory: pkiFolder.path)
    }

    /// Copies `issued`'s certificate and key to `certs/NAME.pem` and `certs/NAME.key` (NAME: `name`, or the issued
    /// files' own) unless there, and returns the manifest `tls` object (or `certificates` entry) for them.
    func pair(_ issued: TestPKI.Issued, as name: String? = nil, _ extra: String = "") throws -> String {
        let base = name ?? URL(fileURLWithPath: issued.certificatePath).deletingPathExtension().lastPathComponent
        try install(issued.certificatePath, as: "certs/\(base).pem")
        try install(issued.keyPath, as: "certs/\(base).key")
        return #"{"cert": "certs/\#(base).pem", "key": "certs/\#(base).key"\#(extra)}"#
    }

    /// Copies the authority's certificate to `certs/NAME` (for `clientCA`) and returns that relative path.
    func authority(as name: String = "clients-ca.pem") throws -> String {
        try install(pki.authority.certificatePath, as: "certs/" + name)
        return "certs/" + name
    }

    private func install(_ source: String, as relativePath: String) throws {
        let destination = folder.path + "/" + relativePath
        guard !FileManager.default.fileExists(atPath: destination) else { return }
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: destination).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }

    /// examples/echo.tcp.7000.port.js, verbatim.
    static func seedEcho() throws -> String {
        try String(contentsOfFile: PackagePaths.path("examples/echo.tcp.7000.port.js"), encoding: .utf8)
    }

    /// The TLS members of a Node `tls.TLSSocket`, each as `typeof` reports it on a plain `net.Socket`.
    static let absentMembers = [
        "encrypted": "undefined", "servername": "undefined", "alpnProtocol": "undefined", "getProtocol": "undefined",
        "getCipher": "undefined", "getPeerCertificate": "undefined", "authorized": "undefined",
        "authorizationError": "undefined",
    ]

    /// Writes what its conn says about the handshake as one JSON line, logs `handled PORT`, then echoes.
    static let probe = """
        export function handle(conn) {
          console.log(`handled ${conn.remotePort}`);
          const members = ["encrypted", "servername", "alpnProtocol", "getProtocol", "getCipher", "getPeerCertificate",
            "authorized", "authorizationError"];
          const kinds = Object.fromEntries(members.map((name) => [name, typeof conn[name]]));
          const report = { kinds };
          if (conn.encrypted) {
            const peer = conn.getPeerCertificate();
            Object.assign(report, {
              encrypted: conn.encrypted, servername: conn.servername, alpnProtocol: conn.alpnProtocol,
              protocol: conn.getProtocol(), cipher: conn.getCipher(), authorized: conn.authorized,
              authorizationError: conn.authorizationError ?? null,
              peer: Object.keys(peer).length === 0 ? {} : {
                subjectCN: peer.subject.CN, subjectO: peer.subject.O, issuerCN: peer.issuer.CN,
                serialNumber: peer.serialNumber, fingerprint256: peer.fingerprint256, validTo: peer.valid_to,
                rawIsBuffer: Buffer.isBuffer(peer.raw), rawLength: peer.raw.length,
              },
            });
          }
          conn.write(JSON.stringify(report) + "\\n");
          conn.on("data", (data) => conn.write(data));
          conn.on("error", () => {});
        }

        """
}
