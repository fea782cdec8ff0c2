import BerthTestSupport
import Foundation
import Testing

/// The manifest schema and berth agree: valid manifests pass both; what the schema rejects, berth rejects.
@Suite(.timeLimit(.minutes(3))) struct ManifestSchemaTests {
    @Test func exampleManifestIsValid() throws {
        let check = try BerthBinary.checkSchema("manifest.schema.json", [PackagePaths.path("examples/manifest.json")])
        #expect(check.status == 0, "\(check.standardOutput)\(check.standardError)")
    }

    static let rejected: [String] = [
        #"{}"#,
        #"{"version": 2}"#,
        #"{"version": "1"}"#,
        #"{"version": 1, "extra": true}"#,
        #"{"version": 1, "defaults": {"maxConnection": 10}}"#,
        #"{"version": 1, "defaults": {"maxConnections": 0}}"#,
        #"{"version": 1, "defaults": {"maxConnections": "10"}}"#,
        #"{"version": 1, "defaults": {"maxConnections": 1.5}}"#,
        #"{"version": 1, "defaults": {"burst": 2000000}}"#,
        #"{"version": 1, "defaults": {"allow": "10.0.0.0/8"}}"#,
        #"{"version": 1, "defaults": {"allow": ["10.0.0/8"]}}"#,
        #"{"version": 1, "defaults": {"allow": ["10.0.0.0/33"]}}"#,
        #"{"version": 1, "defaults": {"allow": ["fe80::1%eth0/64"]}}"#,
        #"{"version": 1, "defaults": {"connectionRate": "50 per second"}}"#,
        #"{"version": 1, "defaults": {"idleTimeout": "5 minutes"}}"#,
        #"{"version": 1, "defaults": {"maxBufferedBytes": 10}}"#,
        #"{"version": 1, "defaults": {"sourcePrefix": {"ipv4": 33}}}"#,
        #"{"version": 1, "defaults": {"sourcePrefix": {"ipv5": 3}}}"#,
        #"{"version": 1, "handlers": {"tcp/0": {}}}"#,
        #"{"version": 1, "handlers": {"echo server": {}}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {"cert": "a.pem"}}}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {"cert": "a.pem", "key": "a.key", "pass": "x"}}}}"#,
        #"{"version": 1, "handlers": {"echo": []}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {}}}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {"cert": "a.pem", "key": "a.key", "certificates": [{"cert": "b.pem", "key": "b.key"}]}}}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {"certificates": []}}}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {"certificates": [{"cert": "b.pem", "key": "b.key", "external": true}]}}}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {"cert": "a.pem", "key": "a.key", "minVersion": "1.1"}}}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {"cert": "a.pem", "key": "a.key", "alpn": []}}}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {"cert": "a.pem", "key": "a.key", "alpn": ["h2", "h2"]}}}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {"cert": "a.pem", "key": "a.key", "alpn": ["h2,http/1.1"]}}}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {"cert": "a.pem", "key": "a.key", "clientCertificate": "required"}}}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {"cert": "a.pem", "key": "a.key", "clientCA": "ca.pem", "clientCertificate": "always"}}}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {"cert": "a.pem", "key": "a.key", "handshakeTimeout": "10 s"}}}}"#,
        #"{"version": 1, "handlers": {"echo": {"tls": {"cert": "a.pem", "key": "a.key", "strictSNI": "yes"}}}}"#,
    ]

    @Test func whatTheSchemaRejectsBerthRejects() throws {
        let folder = try TemporaryFolder()
        for (index, manifest) in Self.rejected.enumerated() {
            let handlers = try TemporaryFolder()
            try handlers.write(["echo.tcp.7000.port.js": "export function handle(c) {}\n", "manifest.json": manifest])
            let file = try folder.write("m\(index).json", manifest)
            let schema = try BerthBinary.checkSchema("manifest.schema.json", [file])
            #expect(schema.status == 1, "schema accepted \(manifest)")
            let berth = try BerthBinary.run(["validate", handlers.path])
            #expect(berth.status == 1, "berth accepted \(manifest): \(berth.standardOutput)")
        }
    }

    @Test func manifestsBerthAcceptsTheSchemaAccepts() throws {
        let folder = try TemporaryFolder()
        let accepted = [
            #"{"version": 1}"#,
            #"{"$schema": "../schemas/manifest.schema.json", "version": 1, "defaults": {"allow": ["10.0.0.0/8", "::1", "2001:db8::/32"], "deny": []}}"#,
            #"{"version": 1, "handlers": {"echo": {"idleTimeout": "250ms", "connectionRate": "600/min", "sourcePrefix": {"ipv6": 48}}}}"#,
            #"{"version": 1, "handlers": {"tcp/7000": {"maxBufferedBytes": 1024}, "echo.tcp.7000.port.js": {"burst": 1}}}"#,
        ]
        for (index, manifest) in accepted.enumerated() {
            let handlers = try TemporaryFolder()
            try handlers.write(["echo.tcp.7000.port.js": "export function handle(c) {}\n", "manifest.json": manifest])
            let file = try folder.write("m\(index).json", manifest)
            let schema = try BerthBinary.checkSchema("manifest.schema.json", [file])
            #expect(schema.status == 0, "schema rejected \(manifest): \(schema.standardOutput)")
            let berth = try BerthBinary.run(["validate", "--format", "json", handlers.path])
            #expect(berth.status == 0, "berth rejected \(manifest): \(berth.standardOutput)")
        }
    }
}
