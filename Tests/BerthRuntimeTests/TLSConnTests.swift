import Testing

import BerthJS
@testable import BerthRuntime

/// `conn` on a connection the broker terminated TLS on: a Socket that also has what Node's tls.TLSSocket tells a
/// server, from the `TLSConnectionInfo` the broker hands over; plain connections have none of it.
@Suite(.timeLimit(.minutes(2)))
struct TLSConnTests {
    /// A DER-like byte string with the values a copy could get wrong (0x00, 0x80, 0xFF).
    static let rawCertificate: [UInt8] = [0x30, 0x82, 0x01, 0x0A, 0x00, 0x80, 0xFF, 0x7F, 0x01]

    static let alice = PeerCertificate(
        subject: [("C", "DE"), ("O", "Example"), ("OU", "One"), ("OU", "Two"), ("CN", "alice")],
        issuer: [("CN", "Test CA"), ("O", "Berth")],
        subjectAltName: "DNS:alice.example, IP Address:127.0.0.1", validFrom: "Mar  5 12:00:00 2026 GMT",
        validTo: "Mar  5 12:00:00 2027 GMT", serialNumber: "44198A6A44DADB06", fingerprint: "6E:7E:85:F9",
        fingerprint256: "AB:CD:EF:01", raw: rawCertificate)

    static func tls(
        serverName: String? = "api.example", alpn: String? = "h2", version: String = "TLSv1.3",
        authorized: Bool = true, authorizationError: String? = nil, certificate: PeerCertificate? = alice
    ) -> ConnectionInfo {
        var info = peer
        info.tls = TLSConnectionInfo(
            serverName: serverName, alpnProtocol: alpn, protocolVersion: version,
            cipherName: version == "TLSv1.3" ? "TLS_AES_256_GCM_SHA384" : "ECDHE-ECDSA-AES128-GCM-SHA256",
            cipherStandardName: version == "TLSv1.3"
                ? "TLS_AES_256_GCM_SHA384" : "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            cipherVersion: version, authorized: authorized,
            authorizationError: authorizationError, peerCertificate: certificate)
        return info
    }

    /// A handler that prints `lines(conn)` (a JSON array per line) for each connection.
    static func printing(_ lines: String) throws -> (HandlerFixture, HandlerRuntime) {
        try HandlerFixture.tcp(
            """
            export function handle(conn) {
              for (const line of (\(lines))(conn)) console.log(JSON.stringify(line));
            }
            """)
    }

    @Test func everyPropertyWithSNIALPNAndAClientCertificate() throws {
        let (fixture, runtime) = try Self.printing(
            """
            (conn) => [
              [conn.encrypted, conn.servername, conn.alpnProtocol, conn.authorized, conn.authorizationError ?? 'undefined',
                'authorizationError' in conn],
              [conn.getProtocol(), conn.getCipher()],
              [conn.getPeerCertificate()],
              [Object.keys(conn.getPeerCertificate()), Object.getPrototypeOf(conn.getPeerCertificate().subject),
                Object.getPrototypeOf(conn.getPeerCertificate().issuer), Buffer.isBuffer(conn.getPeerCertificate().raw)],
              [JSON.stringify(conn.getPeerCertificate(true)) === JSON.stringify(conn.getPeerCertificate())],
            ]
            """)
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, Self.tls()) == .ok)
        #expect(
            fixture.host.output == [
                #"[true,"api.example","h2",true,"undefined",true]"#,
                #"["TLSv1.3",{"name":"TLS_AES_256_GCM_SHA384","standardName":"TLS_AES_256_GCM_SHA384","version":"TLSv1.3"}]"#,
                #"[{"subject":{"C":"DE","O":"Example","OU":["One","Two"],"CN":"alice"},"issuer":{"CN":"Test CA","O":"Berth"},"#
                    + #""subjectaltname":"DNS:alice.example, IP Address:127.0.0.1","valid_from":"Mar  5 12:00:00 2026 GMT","#
                    + #""valid_to":"Mar  5 12:00:00 2027 GMT","fingerprint":"6E:7E:85:F9","fingerprint256":"AB:CD:EF:01","#
                    + #""serialNumber":"44198A6A44DADB06","raw":{"type":"Buffer","data":[48,130,1,10,0,128,255,127,1]}}]"#,
                #"[["subject","issuer","subjectaltname","valid_from","valid_to","fingerprint","fingerprint256","#
                    + #""serialNumber","raw"],null,null,true]"#,
                "[true]",
            ])
        #expect(fixture.host.errors == [])
    }

    @Test func withoutSNIALPNOrAClientCertificate() throws {
        let (fixture, runtime) = try Self.printing(
            """
            (conn) => [
              [conn.encrypted, conn.servername, conn.alpnProtocol, conn.authorized, conn.authorizationError ?? 'undefined'],
              [conn.getProtocol(), conn.getCipher()],
              [conn.getPeerCertificate(), Object.getPrototypeOf(conn.getPeerCertificate()) === Object.prototype,
                conn.getPeerCertificate() !== conn.getPeerCertificate()],
            ]
            """)
        defer { runtime.unload() }
        let info = Self.tls(serverName: nil, alpn: nil, version: "TLSv1.2", authorized: false, certificate: nil)
        #expect(runtime.acceptConnection(1, info) == .ok)
        #expect(
            fixture.host.output == [
                #"[true,false,false,false,"undefined"]"#,
                #"["TLSv1.2",{"name":"ECDHE-ECDSA-AES128-GCM-SHA256","standardName":"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256","version":"TLSv1.2"}]"#,
                "[{},true,true]",
            ])
    }

    /// `authorized` is true only with a verified client certificate; `authorizationError` is a string only when the
    /// broker says why not, undefined otherwise.
    @Test(arguments: [
        (true, nil, TLSConnTests.alice, #"[true,"undefined"]"#),
        (false, nil, nil, #"[false,"undefined"]"#),
        (false, "NO_PEER_CERTIFICATE", nil, #"[false,"NO_PEER_CERTIFICATE"]"#),
        (false, "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", TLSConnTests.alice, #"[false,"UNABLE_TO_GET_ISSUER_CERT_LOCALLY"]"#),
        (false, "CERT_HAS_EXPIRED", TLSConnTests.alice, #"[false,"CERT_HAS_EXPIRED"]"#),
    ] as [(Bool, String?, PeerCertificate?, String)])
    func authorizedAndAuthorizationError(
        authorized: Bool, error: String?, certificate: PeerCertificate?, expected: String
    ) throws {
        let (fixture, runtime) = try Self.printing(
            "(conn) => [[conn.authorized, conn.authorizationError === undefined ? 'undefined' : "
                + "conn.authorizationError]]")
        defer { runtime.unload() }
        let info = Self.tls(authorized: authorized, authorizationError: error, certificate: certificate)
        #expect(runtime.acceptConnection(1, info) == .ok)
        #expect(fixture.host.output == [expected])
    }

    /// A plain connection has none of it, as a net.Socket; a TLS connection is an instance of the same Socket class.
    @Test func plainConnectionsHaveNoneOfItAndTLSConnectionsAreSockets() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            const names = ['encrypted', 'servername', 'alpnProtocol', 'authorized', 'authorizationError', 'getProtocol',
              'getCipher', 'getPeerCertificate'];
            let plain;
            export function handle(conn) {
              if (plain === undefined) {
                plain = conn;
                console.log(JSON.stringify(names.map((name) => name in conn)), JSON.stringify(Object.keys(conn)),
                  conn.constructor.name);
                return;
              }
              console.log(JSON.stringify(names.map((name) => name in conn)), JSON.stringify(Object.keys(conn)),
                conn.constructor.name, conn instanceof plain.constructor, Object.getPrototypeOf(conn) === Object.getPrototypeOf(plain),
                typeof conn.write, typeof conn.on, conn.remoteAddress, conn.remotePort, conn.remoteFamily, conn.localPort);
            }
            """)
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(runtime.acceptConnection(2, Self.tls()) == .ok)
        let plainKeys = #"["_events","_eventsCount","remoteAddress","remotePort","localAddress","localPort"]"#
        let tlsKeys =
            #"["_events","_eventsCount","remoteAddress","remotePort","localAddress","localPort","servername","#
            + #""alpnProtocol","authorized","authorizationError","encrypted"]"#
        #expect(
            fixture.host.output == [
                "[false,false,false,false,false,false,false,false] \(plainKeys) Socket",
                "[true,true,true,true,true,true,true,true] \(tlsKeys) TLSSocket true false function function "
                    + "192.0.2.7 50000 IPv4 7000",
            ])
        #expect(fixture.host.errors == [])
    }

    /// The seed's echo handler, verbatim, over TLS: the same greeting, echo, backpressure and 'drain'.
    @Test func theEchoHandlerUnchangedWorksOnATLSConnection() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn, ctx) {
              conn.setEncoding("utf8");
              conn.write(`hello from :${ctx.port}\\n`);
              conn.on("data", (chunk) => conn.write(chunk));
              conn.on("error", () => conn.destroy());
              conn.on("drain", () => console.log("drain", conn.writableLength));
            }
            """)
        defer { runtime.unload() }
        let host = fixture.host
        #expect(runtime.acceptConnection(1, Self.tls()) == .ok)
        #expect(runtime.deliver(1, "héllo over TLS\n") == .ok)
        #expect(host.text(1) == "hello from :7000\nhéllo over TLS\n")
        host.syncWriteLimit = 0
        #expect(runtime.deliver(1, String(repeating: "x", count: 20000)) == .ok)
        #expect(host.queuedCount(1) == 20000)
        #expect(host.flush(1, runtime) == .ok)
        #expect(host.output == ["drain 0"])
        #expect(runtime.deliverEnd(1) == .ok)
        #expect(host.ended == [1])
        #expect(runtime.deliverClose(1, hadError: false) == .ok)
        #expect(host.errors == [])
    }

    /// `raw` is a Buffer with exactly the bytes the broker gave, and a fresh copy per call: a handler that changes
    /// one changes nothing the next call returns.
    @Test func peerCertificateRawIsABufferOfTheGivenBytes() throws {
        let (fixture, runtime) = try Self.printing(
            """
            (conn) => {
              const first = conn.getPeerCertificate();
              first.raw[0] = 0;
              first.subject.CN = 'mallory';
              const second = conn.getPeerCertificate();
              return [[Buffer.isBuffer(second.raw), second.raw.toString('hex'), second.raw.length, first.raw !== second.raw,
                second.subject.CN, second.raw.buffer.byteLength]];
            }
            """)
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, Self.tls()) == .ok)
        #expect(fixture.host.output == [#"[true,"3082010a0080ff7f01",9,true,"alice",9]"#])
    }

    /// A certificate without subjectAltName has no `subjectaltname` key, as in Node; an attribute repeated three
    /// times is an array of three.
    @Test func certificateWithoutSubjectAltNameAndRepeatedAttributes() throws {
        let (fixture, runtime) = try Self.printing(
            "(conn) => [Object.keys(conn.getPeerCertificate()), [conn.getPeerCertificate().subject]]")
        defer { runtime.unload() }
        var certificate = Self.alice
        certificate.subjectAltName = nil
        certificate.subject = [("DC", "org"), ("DC", "example"), ("DC", "www"), ("CN", "bob")]
        #expect(runtime.acceptConnection(1, Self.tls(certificate: certificate)) == .ok)
        #expect(
            fixture.host.output == [
                #"["subject","issuer","valid_from","valid_to","fingerprint","fingerprint256","serialNumber","raw"]"#,
                #"[{"DC":["org","example","www"],"CN":"bob"}]"#,
            ])
    }

    /// As in Node, getProtocol(), getCipher() and getPeerCertificate() give null once the socket is destroyed; the
    /// properties stay.
    @Test func handshakeDetailsAreNullOnceDestroyed() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) {
              conn.on('end', () => console.log('end', conn.getProtocol(), conn.getPeerCertificate().subject.CN));
              conn.on('close', () => console.log('close', conn.getProtocol(), conn.getCipher(), conn.getPeerCertificate(),
                conn.servername, conn.authorized, conn.encrypted));
              conn.on('data', () => conn.destroy());
            }
            """)
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, Self.tls()) == .ok)
        #expect(runtime.deliverEnd(1) == .ok)
        #expect(runtime.deliverClose(1, hadError: false) == .ok)
        #expect(fixture.host.output == ["end TLSv1.3 alice", "close null null null api.example true true"])
    }

    /// Setters and getters a handler puts on Object.prototype neither catch nor replace the facts.
    @Test func objectPrototypeAccessorsDoNotChangeTheFacts() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            for (const name of ['authorized', 'authorizationError', 'servername', 'peerCertificate', 'subjectaltname']) {
              Object.defineProperty(Object.prototype, name, { get() { return 'forged'; }, set() {}, configurable: true });
            }
            export function handle(conn) {
              const certificate = conn.getPeerCertificate();
              console.log(conn.authorized, conn.authorizationError, conn.servername, Object.keys(certificate).length,
                Object.hasOwn(certificate, 'subjectaltname'));
            }
            """)
        defer { runtime.unload() }
        var certificate = Self.alice
        certificate.subjectAltName = nil
        #expect(runtime.acceptConnection(1, Self.tls(authorized: false, certificate: certificate)) == .ok)
        #expect(fixture.host.output == ["false undefined api.example 8 false"])
        #expect(fixture.host.errors == [])
    }

    /// console.log shows a TLS conn as Node does: a TLSSocket with its handshake's properties.
    @Test func inspectShowsATLSSocket() throws {
        let (fixture, runtime) = try HandlerFixture.tcp(
            """
            export function handle(conn) { console.log(conn); console.log(cloneError(conn)); }
            function cloneError(value) { try { structuredClone(value); } catch (error) { return error.message; } }
            """)
        defer { runtime.unload() }
        #expect(runtime.acceptConnection(1, Self.tls(alpn: nil)) == .ok)
        #expect(
            fixture.host.output == [
                """
                TLSSocket {
                  _events: [Object: null prototype] {},
                  _eventsCount: 0,
                  remoteAddress: '192.0.2.7',
                  remotePort: 50000,
                  localAddress: '192.0.2.1',
                  localPort: 7000,
                  servername: 'api.example',
                  alpnProtocol: false,
                  authorized: true,
                  authorizationError: undefined,
                  encrypted: true
                }
                """,
                "#<TLSSocket> could not be cloned",
            ])
    }

    /// A client certificate too big for the heap fails the runtime as any allocation failure does: logged once,
    /// the connection destroyed, nothing of the handler run.
    @Test func aCertificateTheHeapCannotHoldFailsTheRuntime() throws {
        let (fixture, runtime) = try HandlerFixture.tcp("export function handle(conn) { console.log('handled'); }")
        defer { runtime.unload() }
        var certificate = Self.alice
        certificate.raw = [UInt8](repeating: 0x30, count: 32 << 20)
        guard case .faulted(let message) = runtime.acceptConnection(1, Self.tls(certificate: certificate)) else {
            Issue.record("expected a fault")
            return
        }
        #expect(message.contains("out of memory in handle()"))
        #expect(fixture.host.errors == [message])
        #expect(fixture.host.output == [])
        #expect(fixture.host.destroyed == [1])
        #expect(runtime.isFailed)
    }

    /// Connections with equal facts share their strings: a thousand idle TLS connections cost about what a thousand
    /// plain ones do, plus a few properties each.
    @Test func idleTLSConnectionsCostLittleMoreThanPlainOnes() throws {
        let (_, runtime) = try HandlerFixture.tcp("export function handle(conn) {}")
        defer { runtime.unload() }
        let heap = { runtime.context?.runtime.heapBytes ?? 0 }
        let count = 1000
        let measure = { (first: Int, info: ConnectionInfo) -> Int in
            runtime.context?.runtime.collectGarbage()
            let before = heap()
            let outcomes = (first..<first + count).map { runtime.acceptConnection(ConnectionID($0), info) }
            #expect(outcomes.allSatisfy { $0 == .ok })
            runtime.context?.runtime.collectGarbage()
            return (heap() - before) / count
        }
        let plain = measure(1, peer)
        let tls = measure(1 + count, Self.tls(certificate: nil))
        print("idle connection: plain \(plain) bytes, TLS \(tls) bytes")
        #expect(tls - plain <= 160)
    }
}
