import Foundation

/// Makes certificates with the `openssl` command, so TLS checks are tested against real PEM files.
package enum Certificates {
    /// Writes a self-signed certificate valid for `days` from now and its unencrypted key.
    package static func make(certificate: String, key: String, days: Int = 365, curve: Bool = true) throws {
        let keySpec = curve ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] : ["-newkey", "rsa:2048"]
        try Subprocess.checked("/usr/bin/openssl", ["req", "-x509"] + keySpec + [
            "-nodes", "-days", String(days), "-subj", "/CN=berth-test", "-keyout", key, "-out", certificate,
        ])
    }
}
