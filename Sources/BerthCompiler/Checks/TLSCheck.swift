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
            var paths: [String] = []
            for file in [draft.certificate, draft.key] {
                switch confine(file, external: draft.isExternal) {
                case .path(let path): paths.append(path)
                case .refused(let diagnostic):
                    report(diagnostic)
                    candidates[index].refusals.append(diagnostic.code)
                }
            }
            guard paths.count == 2 else { continue }
            let cacheKey = paths.joined(separator: "\u{0}")
            let inspection = inspections[cacheKey]
                ?? CertificateInspector.inspect(
                    certificatePath: paths[0], keyPath: paths[1], now: options.now,
                    certificateName: draft.certificate.value, keyName: draft.key.value)
            inspections[cacheKey] = inspection
            for problem in inspection.problems {
                let diagnostic = Self.diagnostic(for: problem, draft: draft)
                report(diagnostic)
                if diagnostic.severity == .error { candidates[index].refusals.append(diagnostic.code) }
            }
            guard let fingerprint = inspection.certificateSHA256, let notAfter = inspection.notAfter else { continue }
            for file in [draft.certificate.value, draft.key.value] where !file.hasPrefix("/") { _ = read(file) }
            candidates[index].tls = TLSReference(
                certificate: draft.certificate.value, key: draft.key.value, certificateSHA256: fingerprint,
                notAfter: Self.rfc3339(notAfter))
        }
    }

    /// The absolute path of a manifest TLS path, or the diagnostic that refuses it. Paths outside the folder are
    /// never opened unless the manifest opts in with `"external": true`.
    private func confine(_ file: Located<String>, external: Bool) -> Confinement {
        let written = file.value
        let absolute = written.hasPrefix("/") ? written : scan.root + "/" + written
        let real = URL(fileURLWithPath: absolute).resolvingSymlinksInPath().path
        if !external, !FolderScan.isInside(real, root: scan.root) {
            return .refused(Diagnostic(.tlsOutsideFolder, .error, at: file.location,
                "\"\(written)\" is outside the handler folder",
                hint: "copy the file into the folder and use a relative path, or add \"external\": true to this tls object to allow it"))
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return .refused(Diagnostic(.tlsFileMissing, .error, at: file.location,
                "\"\(written)\" does not exist\(isDirectory.boolValue ? " as a file" : "")",
                hint: "check the path; relative paths are relative to the handler folder"))
        }
        return .path(real)
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

    /// A manifest path made absolute, or why it may not be opened.
    private enum Confinement {
        case path(String)
        case refused(Diagnostic)
    }

    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
