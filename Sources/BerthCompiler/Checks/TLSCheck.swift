import BerthFolder
import BerthPlan
import BerthTLS
import Foundation

extension Compilation {
    /// Certificate and key of every TLS endpoint: inside the folder (unless `external`), present, PEM, matching,
    /// and valid now (expiring within 30 days is a warning).
    mutating func checkTLS() {
        var inspections: [String: CertificateInspection] = [:]
        for index in liveIndices {
            guard let draft = candidates[index].tlsDraft else { continue }
            var contents: [Result<[UInt8], FileReadError>] = []
            for file in [draft.certificate, draft.key] {
                switch load(file, external: draft.isExternal) {
                case .contents(let result): contents.append(result)
                case .refused(let diagnostic):
                    report(diagnostic)
                    candidates[index].refusals.append(diagnostic.code)
                }
            }
            guard contents.count == 2 else { continue }
            let cacheKey = draft.certificate.value + "\u{0}" + draft.key.value
            let inspection = inspections[cacheKey]
                ?? CertificateInspector.inspect(
                    certificate: contents[0], key: contents[1], now: options.now,
                    certificateName: draft.certificate.value, keyName: draft.key.value)
            inspections[cacheKey] = inspection
            for problem in inspection.problems {
                let diagnostic = Self.diagnostic(for: problem, draft: draft)
                report(diagnostic)
                if diagnostic.severity == .error { candidates[index].refusals.append(diagnostic.code) }
            }
            guard let fingerprint = inspection.certificateSHA256, let notAfter = inspection.notAfter,
                case .success(let certificateBytes) = contents[0], case .success(let keyBytes) = contents[1]
            else { continue }
            for (file, bytes) in [(draft.certificate.value, certificateBytes), (draft.key.value, keyBytes)] {
                credentials[file] = bytes
                if !file.hasPrefix("/") { fileHashes[file] = SHA256.hex(bytes) }
            }
            candidates[index].tls = TLSSettings(certificates: [
                TLSCertificate(
                    certificate: draft.certificate.value, key: draft.key.value, certificateSHA256: fingerprint,
                    keySHA256: SHA256.hex(keyBytes), notAfter: Self.rfc3339(notAfter), names: inspection.names)
            ])
        }
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

    private static func diagnostic(for problem: CertificateProblem, draft: TLSDraft) -> Diagnostic {
        let certificate = draft.certificate.location
        let key = draft.key.location
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
