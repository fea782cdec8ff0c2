import BerthCompiler
import BerthPlan
import BerthTestSupport
import Foundation
import Testing

/// One fixture folder per diagnostic code (`Fixtures/<code>/`), each with `expected.txt`: the diagnostics the folder
/// must produce, with locations and hints. Folders named `case.<what>` are situations rather than codes; their
/// goldens also list what is served and what is refused. `UPDATE_GOLDEN=1 swift test` rewrites the goldens.
@Suite struct CompilerFixtureTests {
    static let fixtures = PackagePaths.path("Tests/BerthCompilerTests/Fixtures")

    /// Fixtures whose files cannot live in git (certificates with dates relative to now, a module over 1 MiB) are
    /// completed here, in a temporary copy; the returned date is the compile instant.
    static func prepare(_ code: String, in folder: TemporaryFolder) throws -> Date {
        let now = Date()
        let day: TimeInterval = 86_400
        let certificate = folder.path + "/certs/echo.pem"
        let key = folder.path + "/certs/echo.key"
        switch code {
        case "tls.key-mismatch":
            try folder.makeDirectory("certs")
            try Certificates.make(certificate: certificate, key: folder.path + "/certs/other.key")
            try Certificates.make(certificate: folder.path + "/certs/other.pem", key: key, curve: false)
        case "tls.rejected":
            // Parses and matches, but OpenSSL's default security level refuses an RSA key under 2048 bits.
            try folder.makeDirectory("certs")
            try Subprocess.checked("/usr/bin/openssl", [
                "req", "-x509", "-newkey", "rsa:1024", "-nodes", "-days", "365", "-subj", "/CN=berth-test",
                "-keyout", key, "-out", certificate,
            ])
        case "tls.expired":
            try folder.makeDirectory("certs")
            try Certificates.make(certificate: certificate, key: key, days: 1)
            return now + 3 * day
        case "tls.expiring":
            try folder.makeDirectory("certs")
            try Certificates.make(certificate: certificate, key: key, days: 10)
        case "tls.not-yet-valid":
            try folder.makeDirectory("certs")
            try Certificates.make(certificate: certificate, key: key, days: 365)
            return now - 2 * day
        case "tls.client-ca":
            try folder.makeDirectory("certs")
            try Certificates.make(certificate: certificate, key: key)
        case "tls.client-ca-not-ca":
            // The server's own leaf (CA:FALSE) named as the client CA.
            try folder.makeDirectory("certs")
            let authority = try CertificateAuthority(
                certificate: folder.path + "/certs/ca.pem", key: folder.path + "/certs/ca.key")
            try authority.issue(certificate: certificate, key: key, names: ["echo.example.test"])
        case "tls.sni-shadowed":
            try folder.makeDirectory("certs")
            let authority = try CertificateAuthority(
                certificate: folder.path + "/certs/ca.pem", key: folder.path + "/certs/ca.key")
            try authority.issue(
                certificate: folder.path + "/certs/wildcard.pem", key: folder.path + "/certs/wildcard.key",
                names: ["example.test", "*.example.test"])
            try authority.issue(
                certificate: folder.path + "/certs/api.pem", key: folder.path + "/certs/api.key",
                names: ["api.example.test", "API.Example.Test"])
        case "module.too-large":
            let numbers = (0..<300_000).map { String($0 * 7919 % 101) }.joined(separator: ", ")
            try folder.write("lib/table.js", "export const table = [\(numbers)];\n")
        default: break
        }
        // After the certificates were made: openssl dates them from the second it runs, which may follow `now`.
        return Date()
    }

    static func compile(fixture code: String) throws -> (DeploymentPlan, TemporaryFolder) {
        let folder = try TemporaryFolder("berth-fixture")
        try folder.copyContents(of: fixtures + "/" + code)
        let now = try prepare(code, in: folder)
        return (try Compiler.compile(folder: folder.path, options: CompileOptions(now: now)), folder)
    }

    /// Dates and temporary paths vary per run; goldens hold `<date>` and `<folder>` in their place.
    static func stable(_ text: String, folder: TemporaryFolder) -> String {
        text.replacingOccurrences(of: folder.path, with: "<folder>")
            .replacingOccurrences(of: #"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"#, with: "<date>", options: .regularExpression)
    }

    @Test func everyCodeHasAFixture() throws {
        let folders = Set(try FileManager.default.contentsOfDirectory(atPath: Self.fixtures))
        for code in Diagnostic.Code.all {
            #expect(folders.contains(code.rawValue), "no fixture folder for \(code.rawValue)")
        }
    }

    @Test(arguments: Diagnostic.Code.all.map(\.rawValue))
    func fixtureProducesItsCode(code: String) throws {
        let (plan, folder) = try Self.compile(fixture: code)
        let produced = plan.diagnostics.filter { $0.code.rawValue == code }
        #expect(!produced.isEmpty, "fixture \(code) did not produce \(code): \(Golden.render(plan.diagnostics))")
        for diagnostic in produced {
            #expect(diagnostic.hint?.isEmpty == false, "\(code) has no hint")
            if code != Diagnostic.Code.grammarNoEntries.rawValue {
                #expect(diagnostic.location != nil, "\(code) has no location")
            }
        }
        try Golden.expect(Self.stable(Golden.render(plan.diagnostics), folder: folder),
                          matches: Self.fixtures + "/" + code + "/expected.txt")
    }

    static let cases = ((try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? [])
        .filter { $0.hasPrefix("case.") }.sorted()

    @Test(arguments: cases)
    func caseMatchesGolden(fixture: String) throws {
        let (plan, folder) = try Self.compile(fixture: fixture)
        let served = plan.endpoints.map { "served: \($0.claim) \($0.file)\n" }.joined()
        let refused = plan.refused.map { "refused: \($0.file) \($0.reasons.map(\.rawValue))\n" }.joined()
        try Golden.expect(Self.stable(Golden.render(plan.diagnostics) + served + refused, folder: folder),
                          matches: Self.fixtures + "/" + fixture + "/expected.txt")
    }
}
