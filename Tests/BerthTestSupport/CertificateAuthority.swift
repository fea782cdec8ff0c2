import Foundation

/// A certificate authority made with the `openssl` command, issuing leaf certificates for DNS names: SNI, client
/// certificates (mTLS) and CA-file checks are tested against real chains.
package struct CertificateAuthority: Sendable {
    /// The CA's PEM certificate (basicConstraints CA:TRUE): what a `clientCA` file holds.
    package let certificate: String
    package let key: String

    /// Writes a new self-signed CA certificate, valid for `days` from now, and its unencrypted P-256 key.
    package init(certificate: String, key: String, commonName: String = "berth test CA", days: Int = 365) throws {
        (self.certificate, self.key) = (certificate, key)
        try Subprocess.checked("/usr/bin/openssl", ["req", "-x509"] + Self.newKey + [
            "-nodes", "-days", String(days), "-subj", "/CN=\(commonName)", "-keyout", key, "-out", certificate,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
    }

    /// Writes a leaf certificate this CA signed (basicConstraints CA:FALSE) and its key. `names` become subjectAltName
    /// DNS entries (none: the certificate has no SAN, so clients fall back to `commonName`).
    package func issue(
        certificate: String, key: String, names: [String], commonName: String = "berth-test-leaf", days: Int = 365
    ) throws {
        var extensions = ["-addext", "basicConstraints=critical,CA:FALSE"]
        if !names.isEmpty {
            extensions += ["-addext", "subjectAltName=" + names.map { "DNS:\($0)" }.joined(separator: ",")]
        }
        try Subprocess.checked("/usr/bin/openssl", ["req", "-x509", "-CA", self.certificate, "-CAkey", self.key]
            + Self.newKey + [
                "-nodes", "-days", String(days), "-subj", "/CN=\(commonName)", "-keyout", key, "-out", certificate,
            ] + extensions)
    }

    private static let newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
}
