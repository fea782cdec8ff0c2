import BerthFolder
import BerthPlan
import BerthTLS
import Foundation

extension Compilation {
    /// Every TLS endpoint's files and settings: each certificate pair inside the folder (unless `external`), present,
    /// PEM, matching and valid now (expiring within 30 days is a warning); the client CA file holding CA
    /// certificates in date; pairs SNI can never pick (a warning). A problem refuses only its endpoint. Each file is
    /// read once however many pairs and endpoints name it, and the endpoints served get its bytes in `credentials`.
    mutating func checkTLS() {
        var files = TLSFileCache()
        for index in liveIndices {
            guard let draft = candidates[index].tlsDraft else { continue }
            var errors: [Diagnostic.Code] = []
            var bytes: [String: [UInt8]] = [:]
            var certificates: [TLSCertificate] = []
            for pair in draft.pairs {
                let certificate = load(pair.certificate, external: draft.isExternal, cache: &files, errors: &errors)
                let key = load(pair.key, external: draft.isExternal, cache: &files, errors: &errors)
                guard let certificate, let key else { continue }
                let pairKey = pair.certificate.value + "\u{0}" + pair.key.value
                let inspection = files.pairs[pairKey]
                    ?? CertificateInspector.inspect(
                        certificate: certificate, key: key, now: options.now,
                        certificateName: pair.certificate.value, keyName: pair.key.value)
                files.pairs[pairKey] = inspection
                for problem in inspection.problems {
                    report(Self.diagnostic(for: problem, pair: pair), collecting: &errors)
                }
                guard let fingerprint = inspection.certificateSHA256, let notAfter = inspection.notAfter,
                    case .success(let certificateBytes) = certificate, case .success(let keyBytes) = key
                else { continue }
                bytes[pair.certificate.value] = certificateBytes
                bytes[pair.key.value] = keyBytes
                certificates.append(TLSCertificate(
                    certificate: pair.certificate.value, key: pair.key.value, certificateSHA256: fingerprint,
                    keySHA256: SHA256.hex(keyBytes), notAfter: Self.rfc3339(notAfter), names: inspection.names))
            }
            if certificates.count == draft.pairs.count {
                for diagnostic in Self.shadowedPairs(draft.pairs, certificates) { report(diagnostic) }
            }
            var clientAuthority: TLSClientAuthority?
            if let file = draft.clientCA,
                let contents = load(file, external: draft.isExternal, cache: &files, errors: &errors)
            {
                let inspection = files.authorities[file.value]
                    ?? CertificateInspector.inspectAuthorities(contents, now: options.now, name: file.value)
                files.authorities[file.value] = inspection
                for problem in inspection.problems {
                    report(Self.authorityDiagnostic(for: problem, at: file.location), collecting: &errors)
                }
                for who in inspection.nonAuthorities {
                    report(Diagnostic(.tlsClientCANotCA, .warning, at: file.location,
                        "\(who) is not a CA certificate (no basicConstraints CA:TRUE): OpenSSL does not accept it as the issuer of a client certificate",
                        hint: "put the certificate of the CA that issues the client certificates in this file (openssl x509 -noout -ext basicConstraints shows CA:TRUE)"))
                }
                if inspection.problems.allSatisfy({ $0.kind == .expiringSoon }), case .success(let caBytes) = contents {
                    bytes[file.value] = caBytes
                    clientAuthority = TLSClientAuthority(
                        file: file.value, sha256: SHA256.hex(caBytes), isRequired: draft.isClientCertificateRequired)
                }
            }
            guard errors.isEmpty else {
                candidates[index].refusals += errors
                continue
            }
            let settings = TLSSettings(
                certificates: certificates, clientAuthority: clientAuthority, alpn: draft.alpn,
                minimumVersion: draft.minimumVersion, handshakeTimeoutMilliseconds: draft.handshakeTimeoutMilliseconds,
                isStrictSNI: draft.isStrictSNI)
            // The broker's own context, built now: what OpenSSL refuses to serve (a weak key or signature) is refused
            // here, so validate never counts as served an endpoint the broker would not serve.
            do {
                _ = try TLSServerContext(settings: settings, credentials: bytes)
            } catch {
                let locations = draft.pairs.flatMap { [$0.certificate, $0.key] } + (draft.clientCA.map { [$0] } ?? [])
                let location = locations.first { $0.value == error.file }?.location ?? draft.pairs[0].certificate.location
                report(Diagnostic(.tlsRejected, .error, at: location,
                    "OpenSSL refuses \(error.file) for TLS: \(error.reason)",
                    hint: "use an RSA key of at least 2048 bits or an EC key (P-256 or larger), signed with SHA-256 or better"))
                candidates[index].refusals.append(.tlsRejected)
                continue
            }
            for (file, contents) in bytes {
                credentials[file] = contents
                if !file.hasPrefix("/") { fileHashes[file] = SHA256.hex(contents) }
            }
            candidates[index].tls = settings
        }
    }

    /// Reports `diagnostic`, and collects its code when it is an error (the endpoint is then refused).
    private mutating func report(_ diagnostic: Diagnostic, collecting errors: inout [Diagnostic.Code]) {
        report(diagnostic)
        if diagnostic.severity == .error { errors.append(diagnostic.code) }
    }

    /// The contents of `file` (or why it could not be read, for the inspector to report), read once per compilation;
    /// nil when it may not be opened (reported here).
    private mutating func load(
        _ file: Located<String>, external: Bool, cache: inout TLSFileCache, errors: inout [Diagnostic.Code]
    ) -> Result<[UInt8], FileReadError>? {
        let cacheKey = (external ? "external\u{0}" : "\u{0}") + file.value
        let loaded = cache.files[cacheKey] ?? load(file, external: external)
        cache.files[cacheKey] = loaded
        switch loaded {
        case .contents(let result): return result
        case .refused(let diagnostic):
            // The diagnostic was made for the first place that named the file; each place gets its own.
            var diagnostic = diagnostic
            diagnostic.location = file.location
            report(diagnostic, collecting: &errors)
            return nil
        }
    }

    /// A pair after the first whose names earlier pairs all cover is never chosen by SNI; neither is one without names.
    private static func shadowedPairs(_ pairs: [TLSDraft.Pair], _ certificates: [TLSCertificate]) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for index in certificates.indices.dropFirst() {
            let certificate = certificates[index]
            let location = pairs[index].certificate.location
            guard !certificate.names.isEmpty else {
                diagnostics.append(Diagnostic(.tlsSNIShadowed, .warning, at: location,
                    "\(certificate.certificate) covers no DNS name (no subjectAltName DNS entry, no CN), so SNI never picks it",
                    hint: "use a certificate issued for the names this pair should serve, or remove this pair"))
                continue
            }
            var covering: [Int] = []
            let isCovered = certificate.names.allSatisfy { name in
                guard let earlier = (0..<index).first(where: { other in
                    certificates[other].names.contains { SNIName.covers($0, name) }
                }) else { return false }
                if !covering.contains(earlier) { covering.append(earlier) }
                return true
            }
            guard isCovered else { continue }
            let names = certificate.names.joined(separator: ", ")
            let earlier = covering.map { certificates[$0].certificate }.joined(separator: ", ")
            diagnostics.append(Diagnostic(.tlsSNIShadowed, .warning, at: location,
                "SNI never picks \(certificate.certificate): every name it covers (\(names)) is covered by an earlier pair (\(earlier))",
                hint: "put the pair with the more specific names first in \"certificates\" (SNI picks the first pair that covers the name), or remove this pair",
                related: covering.map { pairs[$0].certificate.location }))
        }
        return diagnostics
    }

    /// The contents of a manifest TLS path (read beneath the folder), or the diagnostic that refuses it. Paths
    /// outside the folder are never opened unless the manifest opts in with `"external": true`.
    private func load(_ file: Located<String>, external: Bool) -> Loaded {
        let written = file.value
        let root = scan.folder.path
        // An absolute path into the folder is read beneath it like a relative one.
        let relative =
            !written.hasPrefix("/") ? written
            : written.hasPrefix(root + "/") ? String(written.dropFirst(root.count + 1)) : nil
        let outside = Diagnostic(.tlsOutsideFolder, .error, at: file.location,
            "\"\(written)\" is outside the handler folder",
            hint: "copy the file into the folder and use a relative path, or add \"external\": true to this tls object to allow it")
        let missing = { (asFile: Bool) in
            Loaded.refused(Diagnostic(.tlsFileMissing, .error, at: file.location,
                "\"\(written)\" does not exist\(asFile ? " as a file" : "")",
                hint: "check the path; relative paths are relative to the handler folder"))
        }
        let maximumSize = CertificateInspector.maximumFileSize
        switch relative.map(scan.folder.resolve) {
        case .file?, .special?: return .contents(scan.folder.read(relative!, maximumSize: maximumSize))
        case .directory?: return missing(true)
        case .missing?, .failed?: return missing(false)
        case .outside?, nil:
            guard external else { return .refused(outside) }
            let result = ConfinedFolder.read(
                atPath: written.hasPrefix("/") ? written : root + "/" + written, maximumSize: maximumSize)
            switch result {
            case .failure(.notFound): return missing(false)
            case .failure(.isDirectory): return missing(true)
            default: return .contents(result)
            }
        }
    }

    private static func diagnostic(for problem: CertificateProblem, pair: TLSDraft.Pair) -> Diagnostic {
        let certificate = pair.certificate.location
        let key = pair.key.location
        switch problem.kind {
        case .certificateMissing:
            return Diagnostic(.tlsFileMissing, .error, at: certificate, problem.message, hint: "check the path and permissions")
        case .keyMissing:
            return Diagnostic(.tlsFileMissing, .error, at: key, problem.message, hint: "check the path and permissions")
        case .certificateInvalid:
            return Diagnostic(.tlsInvalidPEM, .error, at: certificate, problem.message,
                              hint: "point \"cert\" at a PEM file with -----BEGIN CERTIFICATE-----")
        case .keyInvalid:
            return Diagnostic(.tlsInvalidPEM, .error, at: key, problem.message,
                              hint: "point \"key\" at an unencrypted PEM private key")
        case .keyMismatch:
            return Diagnostic(.tlsKeyMismatch, .error, at: key, problem.message,
                              hint: "use the key the certificate was issued for", related: [certificate])
        case .expired:
            return Diagnostic(.tlsExpired, .error, at: certificate, problem.message, hint: "renew the certificate")
        case .expiringSoon:
            return Diagnostic(.tlsExpiring, .warning, at: certificate, problem.message,
                              hint: "renew the certificate before it expires")
        case .notYetValid:
            return Diagnostic(.tlsNotYetValid, .error, at: certificate, problem.message,
                              hint: "check the clock, or use a certificate that is valid now")
        }
    }

    /// A problem of the `clientCA` file, at the place the manifest names it.
    private static func authorityDiagnostic(
        for problem: CertificateProblem, at location: SourceLocation
    ) -> Diagnostic {
        switch problem.kind {
        case .certificateMissing, .keyMissing:
            return Diagnostic(.tlsFileMissing, .error, at: location, problem.message, hint: "check the path and permissions")
        case .certificateInvalid, .keyInvalid, .keyMismatch:
            return Diagnostic(.tlsClientCA, .error, at: location, problem.message,
                              hint: "point \"clientCA\" at a PEM file of the CA certificates that issue client certificates")
        case .expired:
            return Diagnostic(.tlsExpired, .error, at: location, problem.message,
                              hint: "renew the CA certificate, or remove it from the file")
        case .expiringSoon:
            return Diagnostic(.tlsExpiring, .warning, at: location, problem.message,
                              hint: "renew the CA certificate (and the client certificates it issued) before it expires")
        case .notYetValid:
            return Diagnostic(.tlsNotYetValid, .error, at: location, problem.message,
                              hint: "check the clock, or use a CA certificate that is valid now")
        }
    }

    /// The files and inspections of one `checkTLS` run, by path (and whether it was read as external).
    private struct TLSFileCache {
        var files: [String: Loaded] = [:]
        var pairs: [String: CertificateInspection] = [:]
        var authorities: [String: AuthorityInspection] = [:]
    }

    /// A manifest path's contents, or why it may not be opened.
    private enum Loaded {
        case contents(Result<[UInt8], FileReadError>)
        case refused(Diagnostic)
    }

    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

/// DNS names as SNI matches them against a certificate (X509_check_host): case-insensitive, a left-most label of
/// exactly `*` standing for one label, and only below at least two more labels (`*.example.net`, not `*.net`).
package enum SNIName {
    /// Whether every client name `name` matches is also matched by `pattern`. Conservative: a partial wildcard
    /// (`w*.example.net`) covers only itself, since the broker may not accept partial wildcards at all.
    package static func covers(_ pattern: String, _ name: String) -> Bool {
        let (pattern, name) = (pattern.lowercased(), name.lowercased())
        if pattern == name { return true }
        guard pattern.hasPrefix("*."), pattern.dropFirst(2).contains("."), let dot = name.firstIndex(of: ".") else {
            return false
        }
        // `*` matches one whole label of at least one character; a wildcard name is covered when its own wildcard
        // label is (everything `*.a.b` or `x*.a.b` matches is one label below a.b).
        return dot > name.startIndex && name[dot...] == pattern.dropFirst()
    }
}
