package import BerthFolder
package import Foundation

/// Compile-time checks of a TLS certificate file and its key file: both readable, decodable, matching, and in date.
package enum CertificateInspector {
    /// How close to `notAfter` a certificate draws an `expiringSoon` warning.
    package static let expiryWarningWindow: TimeInterval = 30 * 86_400

    /// Inspects the contents of a certificate file and a key file (or why each could not be read, from
    /// `ConfinedFolder`); every problem found is listed. Messages name the files as `certificateName` and `keyName`.
    package static func inspect(
        certificate: Result<[UInt8], FileReadError>, key: Result<[UInt8], FileReadError>, now: Date,
        certificateName: String, keyName: String
    ) -> CertificateInspection {
        var inspection = CertificateInspection()
        let chain = readCertificates(certificate, named: certificateName, problems: &inspection.problems)
        let key = readKey(key, named: keyName, problems: &inspection.problems)
        guard let leaf = chain.first else { return inspection }

        inspection.notBefore = leaf.notBefore
        inspection.notAfter = leaf.notAfter
        inspection.subject = leaf.subject
        inspection.certificateSHA256 = leaf.sha256
        inspection.names = leaf.dnsNames
        for (index, certificate) in chain.enumerated() {
            let who =
                index == 0
                ? certificateName : "intermediate certificate \"\(certificate.subject)\" in \(certificateName)"
            inspection.problems += validityProblems(of: certificate, describedAs: who, now: now)
        }
        if let key, !key.matches(leaf) {
            inspection.problems.append(mismatch(key, keyName, chain, certificateName))
        }
        return inspection
    }

    /// Inspects the contents of a CA file for client certificates (`clientCA`): it must hold at least one PEM
    /// certificate, each in date; certificates that are not CAs are listed apart (OpenSSL will not take them as the
    /// issuer of a client certificate). Messages name the file as `name`.
    package static func inspectAuthorities(
        _ contents: Result<[UInt8], FileReadError>, now: Date, name: String
    ) -> AuthorityInspection {
        var inspection = AuthorityInspection()
        let pem: [UInt8]
        switch contents {
        case .success(let bytes): pem = bytes
        case .failure(let error):
            inspection.problems.append(
                CertificateProblem(kind: .certificateMissing, message: "\(name) \(clause(error))"))
            return inspection
        }
        let certificates: [Certificate]
        do { certificates = try Certificate.readAll(pem: pem) } catch {
            inspection.problems.append(
                CertificateProblem(
                    kind: .certificateInvalid,
                    message: "\(name): certificate \(error.index + 1) cannot be decoded: \(error.underlying.reasons)"))
            return inspection
        }
        guard !certificates.isEmpty else {
            let contents = PEMContents(pem)
            let why: String
            if contents.isBlank {
                why = "is empty; it must hold the PEM certificates of the CAs that issue client certificates"
            } else if contents.labels.contains(where: PEMContents.isPrivateKeyLabel) {
                why = "holds a private key, not CA certificates"
            } else if let binary = contents.binaryDescription(convertWith: "openssl x509 -inform DER -outform PEM") {
                why = binary
            } else if !contents.labels.isEmpty {
                why = "holds no certificate, only PEM \(contents.labelList); it must hold -----BEGIN CERTIFICATE-----"
            } else {
                why = "is not a PEM certificate file: it has no -----BEGIN CERTIFICATE----- line"
            }
            inspection.problems.append(CertificateProblem(kind: .certificateInvalid, message: "\(name) \(why)"))
            return inspection
        }
        for (index, certificate) in certificates.enumerated() {
            let which =
                certificates.count == 1
                ? ("the CA certificate", "the certificate", "\"\(certificate.subject)\" in \(name)")
                : ("CA certificate \(index + 1)", "certificate \(index + 1)", "(\"\(certificate.subject)\") in \(name)")
            inspection.problems += validityProblems(of: certificate, describedAs: "\(which.0) \(which.2)", now: now)
            if !certificate.isCertificateAuthority { inspection.nonAuthorities.append("\(which.1) \(which.2)") }
        }
        inspection.subjects = certificates.map(\.subject)
        return inspection
    }

    /// Files larger than this are refused unread: a certificate chain or key is a few kilobytes.
    package static let maximumFileSize = 1 << 20

    private static func clause(_ error: FileReadError) -> String {
        guard case .tooLarge(let bytes) = error else { return error.clause }
        return "is \(bytes) bytes, too large for a certificate or key file (at most \(maximumFileSize))"
    }

    private static func readCertificates(
        _ contents: Result<[UInt8], FileReadError>, named name: String, problems: inout [CertificateProblem]
    ) -> [Certificate] {
        let pem: [UInt8]
        switch contents {
        case .success(let bytes): pem = bytes
        case .failure(let error):
            problems.append(CertificateProblem(kind: .certificateMissing, message: "\(name) \(clause(error))"))
            return []
        }
        let chain: [Certificate]
        do { chain = try Certificate.readAll(pem: pem) } catch {
            let which =
                error.index == 0 ? "the certificate" : "certificate \(error.index + 1) of the chain (an intermediate)"
            problems.append(
                CertificateProblem(
                    kind: .certificateInvalid,
                    message: "\(name): \(which) cannot be decoded: \(error.underlying.reasons)"))
            return []
        }
        if chain.isEmpty {
            let contents = PEMContents(pem)
            let why: String
            if contents.isBlank {
                why = "is empty; it must hold a PEM certificate (-----BEGIN CERTIFICATE-----)"
            } else if contents.labels.contains(where: PEMContents.isPrivateKeyLabel) {
                why = "holds a private key, not a certificate; are the certificate and key files swapped?"
            } else if let binary = contents.binaryDescription(convertWith: "openssl x509 -inform DER -outform PEM") {
                why = binary
            } else if !contents.labels.isEmpty {
                why = "holds no certificate, only PEM \(contents.labelList); it must hold -----BEGIN CERTIFICATE-----"
            } else {
                why = "is not a PEM certificate: it has no -----BEGIN CERTIFICATE----- line"
            }
            problems.append(CertificateProblem(kind: .certificateInvalid, message: "\(name) \(why)"))
        }
        return chain
    }

    private static func readKey(
        _ contents: Result<[UInt8], FileReadError>, named name: String, problems: inout [CertificateProblem]
    ) -> PrivateKey? {
        let pem: [UInt8]
        switch contents {
        case .success(let bytes): pem = bytes
        case .failure(let error):
            problems.append(CertificateProblem(kind: .keyMissing, message: "\(name) \(clause(error))"))
            return nil
        }
        let failure: OpenSSLError
        do { return try PrivateKey(pem: pem) } catch {
            switch error {
            case .encrypted:
                problems.append(
                    CertificateProblem(
                        kind: .keyInvalid, message: "\(name): the key is encrypted; berth needs an unencrypted key file"
                    ))
                return nil
            case .undecodable(let error): failure = error
            }
        }
        let contents = PEMContents(pem)
        let why: String
        if contents.isBlank {
            why = " is empty; it must hold a PEM private key (-----BEGIN PRIVATE KEY-----)"
        } else if contents.labels.contains(where: PEMContents.isPrivateKeyLabel) {
            why = ": the private key cannot be decoded: \(failure.reasons)"
        } else if contents.labels.contains(where: { $0.hasSuffix("CERTIFICATE") }) {
            why = " holds a certificate, not a private key; are the certificate and key files swapped?"
        } else if contents.labels.contains(where: { $0.hasSuffix("PUBLIC KEY") }) {
            why = " holds a public key; berth needs the private key (-----BEGIN PRIVATE KEY-----)"
        } else if let binary = contents.binaryDescription(convertWith: "openssl pkey -inform DER -outform PEM") {
            why = " " + binary
        } else if !contents.labels.isEmpty {
            why = " holds no private key, only PEM \(contents.labelList); it must hold -----BEGIN PRIVATE KEY-----"
        } else {
            why = " is not a PEM private key: it has no -----BEGIN PRIVATE KEY----- line"
        }
        problems.append(CertificateProblem(kind: .keyInvalid, message: name + why))
        return nil
    }

    private static func validityProblems(
        of certificate: Certificate, describedAs who: String, now: Date
    ) -> [CertificateProblem] {
        guard let notBefore = certificate.notBefore, let notAfter = certificate.notAfter else {
            return [
                CertificateProblem(kind: .certificateInvalid, message: "\(who) has a validity date that cannot be read")
            ]
        }
        var problems: [CertificateProblem] = []
        if notAfter < now {
            problems.append(CertificateProblem(kind: .expired, message: "\(who) expired on \(rfc3339(notAfter))"))
        } else if notAfter < now + expiryWarningWindow {
            let days = Int((notAfter.timeIntervalSince(now) / 86_400).rounded())
            let remaining =
                notAfter.timeIntervalSince(now) < 86_400
                ? "in less than a day" : days == 1 ? "in 1 day" : "in \(days) days"
            problems.append(
                CertificateProblem(kind: .expiringSoon, message: "\(who) expires on \(rfc3339(notAfter)), \(remaining)")
            )
        }
        if notBefore > now {
            problems.append(
                CertificateProblem(kind: .notYetValid, message: "\(who) is not valid before \(rfc3339(notBefore))"))
        }
        return problems
    }

    private static func mismatch(
        _ key: PrivateKey, _ keyName: String, _ chain: [Certificate], _ certificateName: String
    ) -> CertificateProblem {
        let leaf = chain[0]
        let why: String
        if leaf.publicKeyAlgorithm != key.algorithm {
            why = "the certificate's key type is \(leaf.publicKeyAlgorithm), the key file's is \(key.algorithm)"
        } else if let index = chain.indices.dropFirst().first(where: { key.matches(chain[$0]) }) {
            why = "it matches certificate \(index + 1) instead; the server's own certificate must come first"
        } else {
            why = "it is a different \(key.algorithm) key"
        }
        return CertificateProblem(kind: .keyMismatch, message: "\(keyName) does not match \(certificateName): \(why)")
    }

    /// `2026-01-02T03:04:05Z`: certificate times have whole seconds, always shown in UTC.
    private static func rfc3339(_ date: Date) -> String { date.formatted(.iso8601) }
}

/// What `CertificateInspector.inspect` found: problems (errors and the `expiringSoon` warning) and the leaf's facts.
package struct CertificateInspection: Sendable {
    package var problems: [CertificateProblem] = []
    package var notAfter: Date?  // of the leaf certificate
    package var notBefore: Date?
    package var subject: String?  // RFC 2253, e.g. "CN=echo.example"
    package var certificateSHA256: String?  // lowercase hex SHA-256 of the leaf's DER encoding
    package var names: [String] = []  // the leaf's DNS names (`Certificate.dnsNames`)

    package init() {}
}

/// What `CertificateInspector.inspectAuthorities` found in a CA file: problems (the kinds `certificateMissing`,
/// `certificateInvalid`, and the validity ones) and the certificates that are not CAs (a warning, not a problem).
package struct AuthorityInspection: Sendable {
    package var problems: [CertificateProblem] = []
    /// The subjects of the file's certificates, in file order (RFC 2253).
    package var subjects: [String] = []
    /// Each certificate OpenSSL does not take as an issuer, described as the messages name it.
    package var nonAuthorities: [String] = []

    package init() {}
}

/// One thing wrong with a certificate or key file; `message` names the file and, for dates, the instant in UTC.
package struct CertificateProblem: Hashable, Sendable {
    package enum Kind: Hashable, Sendable {
        case certificateMissing, keyMissing, certificateInvalid, keyInvalid, keyMismatch, expired, expiringSoon
        case notYetValid
    }

    package var kind: Kind
    package var message: String

    package init(kind: Kind, message: String) { (self.kind, self.message) = (kind, message) }
}
