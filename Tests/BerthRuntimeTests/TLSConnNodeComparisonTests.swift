import BerthTestSupport
import Foundation
import Testing

import BerthJS
@testable import BerthRuntime

/// A TLS conn against Node's tls.TLSSocket: real handshakes in Node 20 (real certificates, SNI, ALPN, a client
/// certificate verified, one not verified, none) report what Node's server socket says and the facts a broker would
/// hand over; the same report run on a berth conn given those facts must print what Node printed.
@Suite(.timeLimit(.minutes(2)))
struct TLSConnNodeComparisonTests {
    /// What the handler prints, the same source in both engines: the contract's properties, the certificate's keys
    /// among those the contract names (Node adds ca, bits, pubkey, …), and the details once destroyed.
    static let report = """
        const contractKeys = ['subject', 'issuer', 'subjectaltname', 'valid_from', 'valid_to', 'fingerprint',
          'fingerprint256', 'serialNumber', 'raw'];
        function report(conn) {
          const c = conn.getPeerCertificate();
          const lines = [
            [conn.encrypted, conn.servername, conn.alpnProtocol, conn.authorized,
              typeof conn.authorizationError === 'string' ? conn.authorizationError : 'none'],
            [conn.getProtocol(), conn.getCipher()],
            [Object.keys(c).filter((key) => contractKeys.includes(key))],
            [c.subject ?? 'no subject', c.subject && Object.getPrototypeOf(c.subject), c.issuer ?? 'no issuer',
              c.subjectaltname ?? 'no subjectaltname', 'subjectaltname' in c],
            [c.valid_from, c.valid_to, c.serialNumber, c.fingerprint, c.fingerprint256],
            [Buffer.isBuffer(c.raw), c.raw ? c.raw.toString('hex') : 'no raw', c === conn.getPeerCertificate(),
              Object.keys(conn.getPeerCertificate(true)).filter((key) => contractKeys.includes(key)).join()],
          ];
          conn.destroy();
          lines.push([conn.getProtocol(), conn.getCipher(), conn.getPeerCertificate(), conn.servername]);
          return lines.map((line) => JSON.stringify(line));
        }

        """

    /// Node's side: a server asking for client certificates from `ca.pem`, three clients one after the other. Each
    /// connection prints `FACTS <json>` (TLSConnectionInfo's fields, the certificate's names as [key, value] pairs
    /// in order), then the report's lines.
    static let nodeScript =
        report + """
        const tls = require('node:tls');
        const fs = require('node:fs');
        const path = require('node:path');
        const folder = process.argv[1];
        const read = (name) => fs.readFileSync(path.join(folder, name));
        const pairs = (name) => Object.entries(name).flatMap(([key, value]) =>
          (Array.isArray(value) ? value : [value]).map((item) => [key, item]));
        const clients = [
          { servername: 'localhost', ALPNProtocols: ['h2'], key: read('alice.key'), cert: read('alice.pem'),
            maxVersion: 'TLSv1.2' },
          {},
          { servername: 'localhost', ALPNProtocols: ['x-unknown', 'http/1.1'], key: read('stranger.key'),
            cert: read('stranger.pem') },
        ];
        const server = tls.createServer({ key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem'),
          requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] }, (conn) => {
          const c = conn.getPeerCertificate();
          console.log('FACTS ' + JSON.stringify({
            servername: conn.servername, alpnProtocol: conn.alpnProtocol, protocol: conn.getProtocol(),
            cipher: conn.getCipher(), authorized: conn.authorized, authorizationError: conn.authorizationError,
            peer: c.raw === undefined ? null : { subject: pairs(c.subject), issuer: pairs(c.issuer),
              subjectaltname: c.subjectaltname ?? null, valid_from: c.valid_from, valid_to: c.valid_to,
              serialNumber: c.serialNumber, fingerprint: c.fingerprint, fingerprint256: c.fingerprint256,
              raw: c.raw.toString('hex') },
          }));
          for (const line of report(conn)) console.log(line);
        });
        function connect(index) {
          if (index === clients.length) { server.close(); return; }
          const client = tls.connect({ port: server.address().port, host: '127.0.0.1', rejectUnauthorized: false,
            ...clients[index] });
          client.on('error', () => {});
          client.on('close', () => connect(index + 1));
          client.resume();
        }
        server.listen(0, '127.0.0.1', () => connect(0));
        setTimeout(() => { console.error('timed out'); process.exit(1); }, 20000).unref();
        """

    @Test func reportsWhatNodesTLSSocketReports() throws {
        let folder = try TemporaryFolder()
        try Self.makeCertificates(in: folder.path)
        let result = try NodePeer.run(Self.nodeScript, arguments: [folder.path], timeout: 60)
        try #require(result.status == 0, "node failed: \(result.standardError)")
        var scenarios: [(facts: String, lines: [String])] = []
        for line in result.standardOutput.split(separator: "\n").map(String.init) {
            if line.hasPrefix("FACTS ") {
                scenarios.append((String(line.dropFirst(6)), []))
            } else {
                try #require(!scenarios.isEmpty, "node printed \(line) before any FACTS")
                scenarios[scenarios.count - 1].lines.append(line)
            }
        }
        try #require(scenarios.count == 3, "node printed: \(result.standardOutput)")

        let (fixture, runtime) = try HandlerFixture.tcp(
            Self.report + "export function handle(conn) { for (const line of report(conn)) console.log(line); }\n")
        defer { runtime.unload() }
        for (index, scenario) in scenarios.enumerated() {
            var info = peer
            info.tls = try Self.connectionInfo(json: scenario.facts)
            let printedBefore = fixture.host.output.count
            #expect(runtime.acceptConnection(ConnectionID(index + 1), info) == .ok)
            let berth = Array(fixture.host.output.dropFirst(printedBefore))
            #expect(berth == scenario.lines, "scenario \(index + 1): \(scenario.facts)")
        }
        #expect(fixture.host.errors == [])
        // The scenarios cover what they claim: a verified certificate with SNI and ALPN, none at all, and one that
        // did not verify.
        #expect(scenarios[0].lines.first?.hasPrefix(#"[true,"localhost","h2",true,"none"]"#) == true)
        #expect(scenarios[1].lines.first?.hasPrefix(#"[true,false,false,false,"#) == true)
        #expect(scenarios[2].lines.first?.hasPrefix(#"[true,"localhost","http/1.1",false,""#) == true)
    }

    /// A CA, a server certificate, alice's certificate from the CA (repeated OU, subjectAltName) and a stranger's
    /// self-signed one.
    static func makeCertificates(in folder: String) throws {
        let openssl = "/usr/bin/openssl"
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30"]
        func file(_ name: String) -> String { folder + "/" + name }
        let selfSigned = [("ca", "/CN=Test CA/O=Berth"), ("server", "/CN=localhost"), ("stranger", "/CN=stranger")]
        for (name, subject) in selfSigned {
            let files = ["-keyout", file("\(name).key"), "-out", file("\(name).pem")]
            try Subprocess.checked(openssl, ["req", "-x509"] + curve + ["-subj", subject] + files)
        }
        try Subprocess.checked(
            openssl,
            ["req"] + curve + [
                "-subj", "/C=DE/O=Example/OU=One/OU=Two/CN=alice", "-keyout", file("alice.key"), "-out",
                file("alice.csr"),
            ])
        try Data("subjectAltName=DNS:alice.example,IP:127.0.0.1\n".utf8)
            .write(to: URL(fileURLWithPath: file("alice.ext")))
        try Subprocess.checked(
            openssl,
            [
                "x509", "-req", "-in", file("alice.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"),
                "-CAcreateserial", "-days", "30", "-extfile", file("alice.ext"), "-out", file("alice.pem"),
            ])
    }

    /// The TLSConnectionInfo a broker would hand over for the handshake Node described in `json`.
    static func connectionInfo(json: String) throws -> TLSConnectionInfo {
        let facts = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let cipher = try #require(facts["cipher"] as? [String: String])
        func pairs(_ value: Any?) throws -> [(String, String)] {
            try #require(value as? [[String]]).map { ($0[0], $0[1]) }
        }
        var certificate: PeerCertificate?
        if let peer = facts["peer"] as? [String: Any] {
            let hex = try #require(peer["raw"] as? String)
            let raw = stride(from: 0, to: hex.count, by: 2).map { offset in
                let start = hex.index(hex.startIndex, offsetBy: offset)
                return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16) ?? 0
            }
            certificate = PeerCertificate(
                subject: try pairs(peer["subject"]), issuer: try pairs(peer["issuer"]),
                subjectAltName: peer["subjectaltname"] as? String,
                validFrom: try #require(peer["valid_from"] as? String),
                validTo: try #require(peer["valid_to"] as? String),
                serialNumber: try #require(peer["serialNumber"] as? String),
                fingerprint: try #require(peer["fingerprint"] as? String),
                fingerprint256: try #require(peer["fingerprint256"] as? String), raw: raw)
        }
        return TLSConnectionInfo(
            serverName: facts["servername"] as? String, alpnProtocol: facts["alpnProtocol"] as? String,
            protocolVersion: try #require(facts["protocol"] as? String), cipherName: try #require(cipher["name"]),
            cipherStandardName: try #require(cipher["standardName"]), cipherVersion: try #require(cipher["version"]),
            authorized: try #require(facts["authorized"] as? Bool),
            authorizationError: facts["authorizationError"] as? String, peerCertificate: certificate)
    }
}
