import BerthPlan
import BerthTestSupport
import Foundation
import Testing

/// `berth plan` end to end: the summary, the written plan, its schema and its determinism.
@Suite(.timeLimit(.minutes(5))) struct PlanCommandTests {
    @Test func examplesPlanSummaryAndDocument() throws {
        let folder = try TemporaryFolder()
        let out = folder.path + "/plan.json"
        let result = try BerthBinary.run(["plan", "--offline", "examples", "-out", out])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.isEmpty)
        let summary = result.standardOutput
        for line in ["+ tcp/4000  relay  relay.tcp.4000.port.js", "+ tcp/7000  echo  echo.tcp.7000.port.js",
                     "+ udp/9000  ping  ping.udp.9000.port.js",
                     "allow  10.0.0.0/8, 127.0.0.0/8, ::1/128, 2001:db8::/32",
                     "deny   10.9.0.0/16", "limits datagrams 500/s burst 1000 per source /32 (IPv4), /64 (IPv6)",
                     "imports lib/format.js", "tls    certs/uptime.pem  localhost  until 2126-11-01T06:10:57Z",
                     "TLS 1.2+; no ALPN; handshake 10s", "Plan: 4 endpoints, 0 refused."] {
            #expect(summary.contains(line), "missing \(line) in\n\(summary)")
        }
        let check = try BerthBinary.checkSchema("plan.schema.json", [out])
        #expect(check.status == 0, "\(check.standardOutput)\(check.standardError)")
        let second = folder.path + "/again.json"
        _ = try BerthBinary.run(["plan", "--offline", "examples", "--out=\(second)"])
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: second))
    }

    @Test func refusedEntriesAreListedWithReasonsAndTheRunFails() throws {
        let result = try BerthBinary.run(["plan", "--offline", "Tests/BerthCompilerTests/Fixtures/grammar.port-conflict"])
        #expect(result.status == 1)
        #expect(result.standardOutput.contains("- tcp/7000  b-echo.tcp.7000.port.js  grammar.port-conflict"))
        #expect(result.standardError.contains("error[grammar.port-conflict]"))
    }

    @Test func jsonFormatPrintsThePlanDocument() throws {
        let result = try BerthBinary.run(["plan", "--offline", "--format", "json", "examples"])
        #expect(result.status == 0)
        let document = try JSONParser.parse(Array(result.standardOutput.utf8)).plainValue
        #expect(document["endpoints"]?.arrayValue?.count == 4)
        #expect(document["planHash"]?.stringValue?.hasPrefix("sha256:") == true)
    }

    @Test func previousPlanKeepsTheIncumbent() throws {
        let folder = try TemporaryFolder()
        try folder.write(["b.tcp.7000.port.js": "export function handle(c) {}\n", "manifest.json": "{\"version\": 1}\n"])
        let planFile = folder.path + "/../berth-previous-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: planFile) }
        #expect(try BerthBinary.run(["plan", "--offline", folder.path, "-out", planFile]).status == 0)
        try folder.write("a.tcp.7000.port.js", "export function handle(c) {}\n")
        let without = try BerthBinary.run(["validate", "--format", "json", folder.path])
        #expect(without.standardOutput.contains("\"file\": \"b.tcp.7000.port.js\""))
        let with = try BerthBinary.run(["validate", "--format", "json", "--previous", planFile, folder.path])
        #expect(with.standardOutput.contains("\"file\": \"a.tcp.7000.port.js\""))
        #expect(with.standardOutput.contains("the incumbent"))
        let bad = try BerthBinary.run(["validate", "--previous", folder.path + "/b.tcp.7000.port.js", folder.path])
        #expect(bad.status == 2)
    }

    /// Each TLS endpoint shows its pairs with the names SNI matches, then the handshake's settings and mTLS.
    @Test func tlsDetailsArePrinted() throws {
        let folder = try TemporaryFolder()
        try folder.makeDirectory("certs")
        let authority = try CertificateAuthority(certificate: folder.path + "/certs/ca.pem", key: folder.path + "/certs/ca.key")
        try authority.issue(certificate: folder.path + "/certs/api.pem", key: folder.path + "/certs/api.key",
                            names: ["api.example.test"])
        try authority.issue(certificate: folder.path + "/certs/any.pem", key: folder.path + "/certs/any.key",
                            names: ["example.test", "*.example.test"])
        try folder.write([
            "echo.tcp.7443.port.js": "export function handle(c) {}\n",
            "manifest.json": """
                {"version": 1, "handlers": {"echo": {"tls": {
                  "certificates": [{"cert": "certs/api.pem", "key": "certs/api.key"}, {"cert": "certs/any.pem", "key": "certs/any.key"}],
                  "clientCA": "certs/ca.pem", "clientCertificate": "optional", "alpn": ["h2", "http/1.1"],
                  "minVersion": "1.3", "handshakeTimeout": "2s", "strictSNI": true}}}}
                """,
        ])
        let result = try BerthBinary.run(["plan", "--offline", folder.path])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        let start = try #require(lines.firstIndex { $0.contains("tls    certs/api.pem") }, "\(result.standardOutput)")
        let first = try Regex(#" {6}tls {4}certs/api\.pem  api\.example\.test  until \d{4}-\d\d-\d\dT[\d:]{8}Z"#)
        #expect(lines[start].wholeMatch(of: first) != nil, "\(lines[start])")
        let second = try Regex(#" {13}certs/any\.pem  example\.test, \*\.example\.test  until \S+"#)
        #expect(lines[start + 1].wholeMatch(of: second) != nil, "\(lines[start + 1])")
        #expect(lines[start + 2] == "             TLS 1.3+; ALPN h2, http/1.1; handshake 2s; strict SNI (unknown names refused)")
        #expect(lines[start + 3] == "             client certificates optional, CA certs/ca.pem")
    }

    @Test func everyFixturePlanMatchesTheSchema() throws {
        let folder = try TemporaryFolder()
        let fixtures = PackagePaths.path("Tests/BerthCompilerTests/Fixtures")
        var files: [String] = []
        for fixture in try FileManager.default.contentsOfDirectory(atPath: fixtures).sorted() {
            let out = folder.path + "/\(fixture).json"
            let result = try BerthBinary.run(["plan", "--offline", "--format", "json", "-out", out, fixtures + "/" + fixture])
            #expect(result.status != 2, "\(fixture): \(result.standardError)")
            files.append(out)
        }
        let check = try BerthBinary.checkSchema("plan.schema.json", files)
        #expect(check.status == 0, "\(check.standardOutput)\(check.standardError)")
    }
}
