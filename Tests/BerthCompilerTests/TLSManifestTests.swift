import BerthCompiler
import BerthPlan
import BerthTestSupport
import Foundation
import Testing

/// The manifest's `tls` object: every key decoded into `TLSSettings`, every file checked where the manifest names it,
/// the credentials the broker gets, and the plan document.
@Suite(.timeLimit(.minutes(5))) struct TLSManifestTests {
    /// A handler folder with a CA that issues certificates into `certs/`.
    final class TLSFolder {
        let folder: TemporaryFolder
        let authority: CertificateAuthority

        init() throws {
            folder = try TemporaryFolder("berth-tls")
            try folder.makeDirectory("certs")
            authority = try CertificateAuthority(certificate: folder.path + "/certs/ca.pem", key: folder.path + "/certs/ca.key")
            try folder.write(["echo.tcp.7443.port.js": Self.handler, "plain.tcp.7000.port.js": Self.handler])
        }

        static let handler = "export function handle(conn) { conn.end(); }\n"

        /// Issues `certs/<name>.pem` and `certs/<name>.key`.
        func issue(_ name: String, names: [String], commonName: String = "berth-test-leaf", days: Int = 365) throws {
            try authority.issue(
                certificate: folder.path + "/certs/\(name).pem", key: folder.path + "/certs/\(name).key", names: names,
                commonName: commonName, days: days)
        }

        /// The manifest line every test writes: `echo` gets `tls`, `plain` (no TLS) shows what a TLS error leaves alone.
        static let prefix = #"{"version": 1, "handlers": {"plain": {"maxConnections": 100}, "echo": {"tls": "#

        func compile(tls: String, now: Date = Date()) throws -> DeploymentPlan {
            try folder.write("manifest.json", Self.prefix + tls + "}}}\n")
            return try Compiler.compile(folder: folder.path, options: CompileOptions(now: now))
        }

        func bytes(_ relativePath: String) -> [UInt8] {
            Array(FileManager.default.contents(atPath: folder.path + "/" + relativePath) ?? Data())
        }

        /// What `openssl x509 -fingerprint -sha256` says: the plan's `certificateSHA256`.
        func fingerprint(_ relativePath: String) throws -> String {
            let output = try Subprocess.checked(
                "/usr/bin/openssl", ["x509", "-in", folder.path + "/" + relativePath, "-noout", "-fingerprint", "-sha256"]
            ).standardOutput
            return String(output.split(separator: "=").last ?? "").filter { $0.isHexDigit }.lowercased()
        }
    }

    /// The column (1-based, on line 1) where `marker` first appears in the `tls` text of `TLSFolder.compile`.
    static func column(of marker: String, in tls: String) throws -> Int {
        let range = try #require(tls.range(of: marker), "\(marker) not in \(tls)")
        return TLSFolder.prefix.utf8.count + tls.utf8.distance(from: tls.startIndex, to: range.lowerBound) + 1
    }

    static func endpoint(_ plan: DeploymentPlan, _ claim: String = "tcp/7443") throws -> Endpoint {
        try #require(plan.endpoints.first { $0.claim == claim }, "\(claim) not served: \(Golden.render(plan.diagnostics))")
    }

    // MARK: Settings

    @Test func everyKeyIsDecodedIntoTheSettings() throws {
        let tls = try TLSFolder()
        try tls.issue("a", names: ["a.example.test", "*.a.example.test"])
        try tls.issue("b", names: [], commonName: "b.example.test")
        let plan = try tls.compile(tls: """
            {"certificates": [{"cert": "certs/a.pem", "key": "certs/a.key"}, {"cert": "certs/b.pem", "key": "certs/b.key"}],
             "clientCA": "certs/ca.pem", "clientCertificate": "optional", "alpn": ["h2", "http/1.1"], "minVersion": "1.3",
             "handshakeTimeout": "500ms", "strictSNI": true}
            """.replacingOccurrences(of: "\n", with: " "))
        #expect(plan.diagnostics.isEmpty, "\(Golden.render(plan.diagnostics))")
        let settings = try #require(try Self.endpoint(plan).tls)
        #expect(settings.certificates.map(\.certificate) == ["certs/a.pem", "certs/b.pem"])
        #expect(settings.certificates.map(\.key) == ["certs/a.key", "certs/b.key"])
        // SNI names: the subjectAltName DNS entries, or the CN of a certificate without them.
        #expect(settings.certificates.map(\.names) == [["a.example.test", "*.a.example.test"], ["b.example.test"]])
        #expect(settings.certificates[0].certificateSHA256 == (try tls.fingerprint("certs/a.pem")))
        #expect(settings.certificates[1].certificateSHA256 == (try tls.fingerprint("certs/b.pem")))
        #expect(settings.certificates[0].keySHA256 == SHA256.hex(tls.bytes("certs/a.key")))
        #expect(settings.certificates.allSatisfy { $0.notAfter.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil })
        #expect(settings.clientAuthority == TLSClientAuthority(
            file: "certs/ca.pem", sha256: SHA256.hex(tls.bytes("certs/ca.pem")), isRequired: false))
        #expect(settings.alpn == ["h2", "http/1.1"])
        #expect(settings.minimumVersion == .tls13)
        #expect(settings.handshakeTimeoutMilliseconds == 500)
        #expect(settings.isStrictSNI)
        // The schema editors complete from accepts what berth accepts.
        let schema = try BerthBinary.checkSchema("manifest.schema.json", [tls.folder.path + "/manifest.json"])
        #expect(schema.status == 0, "\(schema.standardOutput)\(schema.standardError)")
    }

    @Test func unsetKeysTakeTheirDefaults() throws {
        let tls = try TLSFolder()
        try tls.issue("a", names: ["a.example.test"])
        let single = try #require(try Self.endpoint(try tls.compile(tls: #"{"cert": "certs/a.pem", "key": "certs/a.key"}"#)).tls)
        #expect(single.certificates.count == 1)
        #expect(single.clientAuthority == nil)
        #expect(single.alpn.isEmpty)
        #expect(single.minimumVersion == .tls12)
        #expect(single.handshakeTimeoutMilliseconds == 10_000)
        #expect(!single.isStrictSNI)
        // A client CA alone asks for client certificates and requires them.
        let mutual = try tls.compile(tls: #"{"cert": "certs/a.pem", "key": "certs/a.key", "clientCA": "certs/ca.pem"}"#)
        #expect(try Self.endpoint(mutual).tls?.clientAuthority?.isRequired == true)
        let required = try tls.compile(
            tls: #"{"cert": "certs/a.pem", "key": "certs/a.key", "clientCA": "certs/ca.pem", "clientCertificate": "required"}"#)
        #expect(try Self.endpoint(required).tls?.clientAuthority?.isRequired == true)
    }

    /// The broker handshakes with the bytes the compiler checked: `credentials` holds every file the served TLS
    /// endpoints name, and nothing else (no other endpoint's, no CA key, no handler).
    @Test func credentialsHoldExactlyTheTLSFilesBytes() throws {
        let tls = try TLSFolder()
        try tls.issue("a", names: ["a.example.test"])
        try tls.issue("b", names: ["b.example.test"])
        try tls.folder.write("other.tcp.7444.port.js", TLSFolder.handler)
        try tls.folder.write("broken.tcp.7445.port.js", TLSFolder.handler)
        try tls.folder.write("certs/broken.pem", "not a certificate\n")
        try tls.folder.write("manifest.json", """
            {"version": 1, "handlers": {
              "echo": {"tls": {"certificates": [{"cert": "certs/a.pem", "key": "certs/a.key"},
                                                {"cert": "certs/b.pem", "key": "certs/b.key"}], "clientCA": "certs/ca.pem"}},
              "other": {"tls": {"cert": "certs/a.pem", "key": "certs/a.key"}},
              "broken": {"tls": {"cert": "certs/broken.pem", "key": "certs/b.key"}}}}
            """)
        let plan = try Compiler.compile(folder: tls.folder.path)
        #expect(plan.endpoints.map(\.claim) == ["tcp/7000", "tcp/7443", "tcp/7444"])
        #expect(plan.refused.map(\.file) == ["broken.tcp.7445.port.js"])
        #expect(plan.refused.first?.reasons == [.tlsInvalidPEM])
        let files = ["certs/a.pem", "certs/a.key", "certs/b.pem", "certs/b.key", "certs/ca.pem"]
        #expect(Set(plan.credentials.keys) == Set(files))
        for file in files { #expect(plan.credentials[file] == tls.bytes(file), "\(file)") }
        // A TLS file is part of the folder: changing it changes the folder hash.
        try tls.authority.issue(
            certificate: tls.folder.path + "/certs/a.pem", key: tls.folder.path + "/certs/a.key", names: ["a.example.test"])
        let renewed = try Compiler.compile(folder: tls.folder.path)
        #expect(renewed.folderHash != plan.folderHash)
        #expect(renewed.credentials["certs/a.pem"] == tls.bytes("certs/a.pem"))
    }

    @Test func planDocumentCarriesTheSettingsAndMatchesTheSchema() throws {
        let tls = try TLSFolder()
        try tls.issue("a", names: ["a.example.test"])
        try tls.issue("b", names: ["b.example.test"])
        let plan = try tls.compile(tls: """
            {"certificates": [{"cert": "certs/a.pem", "key": "certs/a.key"}, {"cert": "certs/b.pem", "key": "certs/b.key"}], \
            "clientCA": "certs/ca.pem", "clientCertificate": "optional", "alpn": ["h2"], "handshakeTimeout": "2s"}
            """)
        let document = plan.json
        let endpoint = try #require(document["endpoints"]?.arrayValue?.first { $0["port"]?.intValue == 7443 })
        let settings = try #require(endpoint["tls"])
        #expect(settings["certificates"]?.arrayValue?.compactMap { $0["certificate"]?.stringValue } == ["certs/a.pem", "certs/b.pem"])
        #expect(settings["certificates"]?.arrayValue?.first?["names"]?.arrayValue?.compactMap(\.stringValue) == ["a.example.test"])
        #expect(settings["clientCA"]?["file"]?.stringValue == "certs/ca.pem")
        #expect(settings["clientCA"]?["required"] == .bool(false))
        #expect(settings["alpn"]?.arrayValue?.compactMap(\.stringValue) == ["h2"])
        #expect(settings["minVersion"]?.stringValue == "1.2")
        #expect(settings["handshakeTimeoutMs"]?.intValue == 2000)
        #expect(settings["strictSNI"] == .bool(false))
        let file = try tls.folder.write("plan.json", String(decoding: JSONWriter.compactUTF8(document), as: UTF8.self))
        let check = try BerthBinary.checkSchema("plan.schema.json", [file])
        #expect(check.status == 0, "\(check.standardOutput)\(check.standardError)")
    }

    /// Two endpoints naming the same files get the same bytes and the same certificate facts.
    @Test func filesSharedByEndpointsAreServedAlike() throws {
        let tls = try TLSFolder()
        try tls.issue("a", names: ["a.example.test"])
        try tls.folder.write("other.tcp.7444.port.js", TLSFolder.handler)
        let pair = #"{"cert": "certs/a.pem", "key": "certs/a.key", "clientCA": "certs/ca.pem"}"#
        try tls.folder.write("manifest.json", #"{"version": 1, "handlers": {"echo": {"tls": \#(pair)}, "other": {"tls": \#(pair)}}}"#)
        let plan = try Compiler.compile(folder: tls.folder.path)
        #expect(plan.diagnostics.isEmpty, "\(Golden.render(plan.diagnostics))")
        let first = try #require(try Self.endpoint(plan).tls)
        #expect(try Self.endpoint(plan, "tcp/7444").tls == first)
        #expect(plan.credentials.count == 3)
    }

    // MARK: Decoding errors

    struct DecodeCase: CustomTestStringConvertible, Sendable {
        var tls: String
        var code: Diagnostic.Code
        /// Where the diagnostic points: the first occurrence of this text in `tls`.
        var at: String
        var hint: String
        var message = ""
        var testDescription: String { "\(code.rawValue): \(tls)" }
    }

    static let pair = #""cert": "certs/a.pem", "key": "certs/a.key""#

    static let decodeCases: [DecodeCase] = [
        DecodeCase(tls: #"{\#(pair), "minVersion": "1.0"}"#, code: .tlsMinVersion, at: #""1.0""#,
                   hint: #"write "1.2" (the default) or "1.3""#, message: "RFC 8996"),
        DecodeCase(tls: #"{\#(pair), "minVersion": "1.1"}"#, code: .tlsMinVersion, at: #""1.1""#,
                   hint: #"write "1.2" (the default) or "1.3""#, message: "RFC 8996"),
        DecodeCase(tls: #"{\#(pair), "minVersion": "TLSv1.3"}"#, code: .tlsMinVersion, at: #""TLSv1.3""#,
                   hint: #"write "1.3""#),
        DecodeCase(tls: #"{\#(pair), "minVersion": "1.4"}"#, code: .tlsMinVersion, at: #""1.4""#,
                   hint: #"write "1.2" (the default) or "1.3""#),
        DecodeCase(tls: #"{\#(pair), "minVersion": 1.3}"#, code: .manifestType, at: "1.3}",
                   hint: #"write "minVersion": "1.3""#),
        DecodeCase(tls: #"{\#(pair), "alpn": []}"#, code: .tlsALPN, at: "[]", hint: "or remove \"alpn\""),
        DecodeCase(tls: #"{\#(pair), "alpn": ["h2", "h2"]}"#, code: .tlsALPN, at: #""h2"]"#, hint: "remove this entry",
                   message: "appears twice"),
        DecodeCase(tls: #"{\#(pair), "alpn": [""]}"#, code: .tlsALPN, at: #""""#, hint: "remove the empty entry"),
        DecodeCase(tls: #"{\#(pair), "alpn": ["\#(String(repeating: "x", count: 256))"]}"#, code: .tlsALPN, at: #""xx"#,
                   hint: "registered identifier", message: "256 bytes"),
        DecodeCase(tls: #"{\#(pair), "alpn": ["h2\u0001"]}"#, code: .tlsALPN, at: #""h2\u"#, hint: "registered identifier",
                   message: "visible ASCII"),
        DecodeCase(tls: #"{\#(pair), "alpn": ["h2,http/1.1"]}"#, code: .tlsALPN, at: #""h2,"#,
                   hint: #"write each as its own entry: ["h2", "http/1.1"]"#),
        DecodeCase(tls: #"{\#(pair), "alpn": "h2"}"#, code: .manifestType, at: #""h2""#, hint: #"write "alpn": ["h2"]"#),
        DecodeCase(tls: #"{\#(pair), "alpn": [2]}"#, code: .manifestType, at: "2]", hint: #"write "http/1.1""#),
        DecodeCase(tls: #"{\#(pair), "clientCA": "certs/ca.pem", "clientCertificate": "always"}"#, code: .tlsClientAuth,
                   at: #""always""#, hint: "write \"required\" (no verified certificate, no connection)"),
        DecodeCase(tls: #"{\#(pair), "clientCA": "certs/ca.pem", "clientCertificate": "optinal"}"#, code: .tlsClientAuth,
                   at: #""optinal""#, hint: #"write "optional""#),
        DecodeCase(tls: #"{\#(pair), "clientCertificate": "optional"}"#, code: .tlsClientAuth, at: #""clientCertificate""#,
                   hint: #"add "clientCA": "certs/clients-ca.pem""#, message: "no \"clientCA\""),
        DecodeCase(tls: #"{\#(pair), "clientCA": "certs/ca.pem", "clientCertificate": true}"#, code: .manifestType,
                   at: "true", hint: #"write "clientCertificate": "required""#),
        DecodeCase(tls: #"{\#(pair), "clientCA": ""}"#, code: .manifestType, at: #""""#,
                   hint: #"write "clientCA": "certs/clients-ca.pem""#),
        DecodeCase(tls: #"{\#(pair), "handshakeTimeout": "6m"}"#, code: .tlsHandshakeTimeout, at: #""6m""#,
                   hint: #"write a duration from "100ms" to "5m""#, message: "outside 100ms...5m"),
        DecodeCase(tls: #"{\#(pair), "handshakeTimeout": "99ms"}"#, code: .tlsHandshakeTimeout, at: #""99ms""#,
                   hint: #"write a duration from "100ms" to "5m""#),
        DecodeCase(tls: #"{\#(pair), "handshakeTimeout": "10 s"}"#, code: .manifestDuration, at: #""10 s""#,
                   hint: #"write a whole number with a unit"#),
        DecodeCase(tls: #"{\#(pair), "handshakeTimeout": 10}"#, code: .manifestType, at: "10}",
                   hint: #"write "handshakeTimeout": "10s""#),
        DecodeCase(tls: #"{\#(pair), "strictSNI": "yes"}"#, code: .manifestType, at: #""yes""#,
                   hint: #"write "strictSNI": true"#),
        DecodeCase(tls: #"{\#(pair), "strictSni": true}"#, code: .manifestUnknownKey, at: #""strictSni""#,
                   hint: #"did you mean "strictSNI"?"#),
        DecodeCase(tls: #"{\#(pair), "external": 1}"#, code: .manifestType, at: "1}", hint: #"write "external": true"#),
        DecodeCase(tls: #"{}"#, code: .tlsPairs, at: "{", hint: #"write "tls": {"cert": "certs/echo.pem""#,
                   message: "names no certificate"),
        DecodeCase(tls: #"{"cert": "certs/a.pem"}"#, code: .tlsPairs, at: "{", hint: #"add "key""#,
                   message: #"has a "cert" but no "key""#),
        DecodeCase(tls: #"{"key": "certs/a.key"}"#, code: .tlsPairs, at: "{", hint: #"add "cert""#),
        DecodeCase(tls: #"{"certificates": []}"#, code: .tlsPairs, at: "[]", hint: #"write "certificates": [{"cert""#,
                   message: "is empty"),
        DecodeCase(tls: #"{\#(pair), "certificates": [{\#(pair)}]}"#, code: .tlsPairs, at: #""certificates""#,
                   hint: #"move the "cert" and "key" pair into "certificates""#, message: "not both"),
        DecodeCase(tls: #"{"certificates": [{"cert": "certs/a.pem"}]}"#, code: .tlsPairs, at: #"{"cert""#,
                   hint: #"add "key""#, message: #"pair has no "key""#),
        DecodeCase(tls: #"{"certificates": [{"cert": "certs/a.pem", "kee": "certs/a.key"}]}"#, code: .manifestUnknownKey,
                   at: #""kee""#, hint: #"did you mean "key"?"#),
        DecodeCase(tls: #"{"certificates": [{\#(pair), "external": true}]}"#, code: .manifestUnknownKey,
                   at: #""external""#, hint: #"move "external": true to the tls object"#),
        DecodeCase(tls: #"{"certificates": "certs/a.pem"}"#, code: .manifestType, at: #""certs/a.pem""#,
                   hint: #"write "certificates": [{"cert""#),
        DecodeCase(tls: #"{"certificates": ["certs/a.pem"]}"#, code: .manifestType, at: #""certs/a.pem""#,
                   hint: #"write {"cert": "certs/echo.pem""#),
        DecodeCase(tls: #""certs/a.pem""#, code: .manifestType, at: #""certs/a.pem""#, hint: #"write "tls": {"cert""#),
    ]

    /// Each mistake is reported where it was written, with its fix, and refuses the TLS endpoint only.
    @Test(arguments: decodeCases)
    func decodeErrorsPointAtTheValueWithTheirFix(_ example: DecodeCase) throws {
        let tls = try TLSFolder()
        let plan = try tls.compile(tls: example.tls)
        let diagnostic = try #require(plan.diagnostics.first { $0.code == example.code },
                                      "no \(example.code.rawValue): \(Golden.render(plan.diagnostics))")
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.location == SourceLocation(
            file: "manifest.json", line: 1, column: try Self.column(of: example.at, in: example.tls)))
        #expect(diagnostic.hint?.contains(example.hint) == true, "hint: \(diagnostic.hint ?? "none")")
        #expect(example.message.isEmpty || diagnostic.message.contains(example.message), "message: \(diagnostic.message)")
        #expect(plan.endpoints.map(\.claim) == ["tcp/7000"])
        #expect(plan.refused.map(\.file) == ["echo.tcp.7443.port.js"])
        #expect(plan.refused.first?.reasons.contains(example.code) == true)
        #expect(plan.credentials.isEmpty)
    }

    @Test func bothFormsPointAtTheLoneCertToo() throws {
        let tls = try TLSFolder()
        let text = #"{\#(Self.pair), "certificates": [{"cert": "certs/b.pem", "key": "certs/b.key"}]}"#
        let plan = try tls.compile(tls: text)
        let diagnostic = try #require(plan.diagnostics.first { $0.code == .tlsPairs })
        #expect(diagnostic.location?.column == (try Self.column(of: #""certificates""#, in: text)))
        #expect(diagnostic.related == [SourceLocation(file: "manifest.json", line: 1, column: try Self.column(of: #""cert""#, in: text))])
    }

    // MARK: Files

    /// Problems of the second pair point at the second pair's values.
    @Test func eachPairIsCheckedAtItsOwnPosition() throws {
        let tls = try TLSFolder()
        try tls.issue("a", names: ["a.example.test"])
        try tls.issue("b", names: ["b.example.test"])
        let mismatched = #"{"certificates": [{"cert": "certs/a.pem", "key": "certs/a.key"}, {"cert": "certs/b.pem", "key": "certs/a.key"}]}"#
        let plan = try tls.compile(tls: mismatched)
        let mismatch = try #require(plan.diagnostics.first { $0.code == .tlsKeyMismatch }, "\(Golden.render(plan.diagnostics))")
        #expect(mismatch.location?.column == (try Self.column(of: #""certs/a.key"}]"#, in: mismatched)))
        #expect(mismatch.related.map(\.column) == [try Self.column(of: #""certs/b.pem""#, in: mismatched)])
        #expect(mismatch.message.contains("certs/a.key does not match certs/b.pem"))
        #expect(plan.refused.first?.reasons == [.tlsKeyMismatch])

        let missing = #"{"certificates": [{"cert": "certs/a.pem", "key": "certs/a.key"}, {"cert": "certs/c.pem", "key": "certs/c.key"}]}"#
        let gone = try tls.compile(tls: missing)
        let columns = gone.diagnostics.filter { $0.code == .tlsFileMissing }.compactMap(\.location?.column)
        #expect(columns == [try Self.column(of: #""certs/c.pem""#, in: missing), try Self.column(of: #""certs/c.key""#, in: missing)])
        #expect(gone.refused.first?.reasons == [.tlsFileMissing])
    }

    @Test func theClientCAFileIsChecked() throws {
        let tls = try TLSFolder()
        try tls.issue("a", names: ["a.example.test"])
        func compile(clientCA: String, external: Bool = false, now: Date = Date()) throws -> (DeploymentPlan, Int) {
            let text = #"{"cert": "certs/a.pem", "key": "certs/a.key", "clientCA": "\#(clientCA)"\#(external ? #", "external": true"# : "")}"#
            let marker = #""clientCA": "#
            return (try tls.compile(tls: text, now: now), try Self.column(of: marker, in: text) + marker.utf8.count)
        }
        // A key, an empty file, a file that is not there, a file outside the folder.
        try tls.folder.write("certs/empty.pem", "")
        for (file, code, message) in [
            ("certs/a.key", Diagnostic.Code.tlsClientCA, "certs/a.key holds a private key, not CA certificates"),
            ("certs/empty.pem", .tlsClientCA, "certs/empty.pem is empty"),
            ("certs/none.pem", .tlsFileMissing, "\"certs/none.pem\" does not exist"),
            ("../ca.pem", .tlsOutsideFolder, "\"../ca.pem\" is outside the handler folder"),
        ] {
            let (plan, column) = try compile(clientCA: file)
            let diagnostic = try #require(plan.diagnostics.first { $0.code == code }, "\(Golden.render(plan.diagnostics))")
            #expect(diagnostic.location == SourceLocation(file: "manifest.json", line: 1, column: column))
            #expect(diagnostic.message.contains(message), "\(diagnostic.message)")
            #expect(diagnostic.hint?.isEmpty == false)
            #expect(plan.refused.first?.reasons == [code])
            #expect(plan.endpoints.map(\.claim) == ["tcp/7000"])
        }
        // A leaf where the CA belongs: served (a self-signed leaf pins itself), with a warning.
        let (leaf, leafColumn) = try compile(clientCA: "certs/a.pem")
        let warning = try #require(leaf.diagnostics.first { $0.code == .tlsClientCANotCA }, "\(Golden.render(leaf.diagnostics))")
        #expect(warning.severity == .warning)
        #expect(warning.location?.column == leafColumn)
        #expect(warning.message.contains(#"the certificate "CN=berth-test-leaf" in certs/a.pem is not a CA certificate"#))
        #expect(try Self.endpoint(leaf).tls?.clientAuthority?.file == "certs/a.pem")
        // Expired: checked three days after a one-day CA was made.
        _ = try CertificateAuthority(
            certificate: tls.folder.path + "/certs/old-ca.pem", key: tls.folder.path + "/certs/old-ca.key", days: 1)
        let (expired, expiredColumn) = try compile(clientCA: "certs/old-ca.pem", now: Date() + 3 * 86_400)
        let error = try #require(expired.diagnostics.first { $0.code == .tlsExpired }, "\(Golden.render(expired.diagnostics))")
        #expect(error.location?.column == expiredColumn)
        #expect(error.message.contains(#"the CA certificate "CN=berth test CA" in certs/old-ca.pem expired on"#))
        #expect(error.hint == "renew the CA certificate, or remove it from the file")
        #expect(expired.refused.first?.reasons == [.tlsExpired])
        // A bundle of two CAs: served; the plan records the whole file's hash.
        try tls.folder.write("certs/bundle.pem",
            String(decoding: tls.bytes("certs/ca.pem") + tls.bytes("certs/old-ca.pem"), as: UTF8.self))
        let (bundle, _) = try compile(clientCA: "certs/bundle.pem")
        #expect(try Self.endpoint(bundle).tls?.clientAuthority?.sha256 == SHA256.hex(tls.bytes("certs/bundle.pem")))
        #expect(bundle.credentials["certs/bundle.pem"] == tls.bytes("certs/bundle.pem"))
    }

    /// `"external": true` opts every file of the tls object out of the folder, the client CA included; such files
    /// are in the credentials under their absolute path, not in the folder hash.
    @Test func externalCoversTheClientCA() throws {
        let tls = try TLSFolder()
        try tls.issue("a", names: ["a.example.test"])
        let outside = try TemporaryFolder("berth-tls-outside")
        let authority = try CertificateAuthority(certificate: outside.path + "/ca.pem", key: outside.path + "/ca.key")
        let text = #"{"cert": "certs/a.pem", "key": "certs/a.key", "clientCA": "\#(authority.certificate)", "external": true}"#
        let plan = try tls.compile(tls: text)
        #expect(try Self.endpoint(plan).tls?.clientAuthority?.file == authority.certificate)
        #expect(plan.credentials[authority.certificate] == Array(FileManager.default.contents(atPath: authority.certificate)!))
        _ = try CertificateAuthority(certificate: outside.path + "/ca.pem", key: outside.path + "/ca.key")
        #expect(try tls.compile(tls: text).folderHash == plan.folderHash)
    }

    // MARK: SNI

    @Test func aPairWhoseNamesEarlierPairsCoverIsShadowed() throws {
        let tls = try TLSFolder()
        try tls.issue("wildcard", names: ["example.test", "*.example.test"])
        try tls.issue("api", names: ["api.example.test"])
        try tls.issue("deep", names: ["a.api.example.test"])
        try tls.issue("cn", names: [], commonName: "API.example.test")
        func pairs(_ names: [String]) -> String {
            #"{"certificates": ["# + names.map { #"{"cert": "certs/\#($0).pem", "key": "certs/\#($0).key"}"# }
                .joined(separator: ", ") + "]}"
        }
        let shadowed = pairs(["wildcard", "api"])
        let plan = try tls.compile(tls: shadowed)
        let warning = try #require(plan.diagnostics.first { $0.code == .tlsSNIShadowed }, "\(Golden.render(plan.diagnostics))")
        #expect(warning.severity == .warning)
        #expect(warning.location?.column == (try Self.column(of: #""certs/api.pem""#, in: shadowed)))
        #expect(warning.related.map(\.column) == [try Self.column(of: #""certs/wildcard.pem""#, in: shadowed)])
        #expect(warning.message == "SNI never picks certs/api.pem: every name it covers (api.example.test) is covered by an earlier pair (certs/wildcard.pem)")
        #expect(warning.hint?.contains("more specific names first") == true)
        #expect(try Self.endpoint(plan).tls?.certificates.count == 2)

        // The specific pair first; a name one label deeper than the wildcard; the same pair twice; a CN in other case.
        for (order, isShadowed) in [
            (["api", "wildcard"], false), (["wildcard", "deep"], false), (["api", "api"], true), (["api", "cn"], true),
        ] {
            let plan = try tls.compile(tls: pairs(order))
            #expect(plan.diagnostics.contains { $0.code == .tlsSNIShadowed } == isShadowed,
                    "\(order): \(Golden.render(plan.diagnostics))")
            #expect(plan.endpoints.count == 2)
        }
    }

    @Test(arguments: [
        ("a.example.test", "a.example.test", true), ("A.Example.Test", "a.example.test", true),
        ("*.example.test", "api.example.test", true), ("*.example.test", "*.example.test", true),
        ("*.example.test", "w*.example.test", true), ("*.example.test", "example.test", false),
        ("*.example.test", "a.b.example.test", false), ("*.example.test", "*.b.example.test", false),
        ("*.test", "example.test", false), ("w*.example.test", "www.example.test", false),
        ("api.example.test", "*.example.test", false), ("*.example.test", ".example.test", false),
    ])
    func sniNameCoverage(pattern: String, name: String, covers: Bool) {
        #expect(SNIName.covers(pattern, name) == covers)
    }
}
