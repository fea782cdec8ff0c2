import Foundation

/// A certificate authority and the certificates it signs, made with the `openssl` command into a directory (usually
/// the served folder's `certs/`), so TLS tests run real handshakes against real PEM files: server certificates with
/// SAN names for SNI, client certificates for mTLS, ECDSA P-256 or RSA 2048 keys.
package struct TestPKI: Sendable {
    package enum KeyType: String, Sendable, CaseIterable {
        case ecdsaP256 = "ECDSA P-256"
        case rsa2048 = "RSA 2048"

        var newKeyArguments: [String] {
            switch self {
            case .ecdsaP256: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
            case .rsa2048: ["-newkey", "rsa:2048"]
            }
        }
    }

    /// One certificate and its key on disk, with what a client sees of it.
    package struct Issued: Sendable {
        package var certificatePath: String
        package var keyPath: String
        /// Uppercase hex without separators, as `openssl x509 -serial`, Node's `serialNumber` and Python's
        /// `getpeercert()` print it.
        package var serialNumber: String
        package var commonName: String
        /// Lowercase hex of the DER encoding's SHA-256 (what the broker logs the first 12 digits of).
        package var sha256: String

        package var certificatePEM: String { (try? String(contentsOfFile: certificatePath, encoding: .utf8)) ?? "" }
        package var keyPEM: String { (try? String(contentsOfFile: keyPath, encoding: .utf8)) ?? "" }
    }

    /// Where every file of this authority goes.
    package let directory: String
    /// The authority's own (self-signed) certificate: what clients trust, and what an endpoint's `clientCA` names.
    package let authority: Issued

    /// Makes a new ECDSA P-256 authority named `name` as `directory/fileName.pem` and `.key`; a second TestPKI in
    /// the same directory with another `fileName` is an unrelated authority.
    package init(directory: String, name: String = "berth test CA", fileName: String = "ca", days: Int = 365) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        let certificate = directory + "/" + fileName + ".pem"
        let key = directory + "/" + fileName + ".key"
        let serial = Self.randomSerial()
        try Self.openssl(["req", "-x509"] + KeyType.ecdsaP256.newKeyArguments + [
            "-nodes", "-days", String(days), "-subj", "/O=berth tests/CN=\(name)", "-set_serial", "0x" + serial,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", key, "-out", certificate,
        ])
        authority = try Self.describe(certificate: certificate, key: key, commonName: name)
    }

    /// A server certificate for `names` (SAN DNS names; the first is also the CN), signed by this authority; with
    /// `reusingKey` (a key file) the new certificate is for that key, as a renewal with certbot's `--reuse-key` is.
    package func server(
        _ fileName: String, names: [String], keyType: KeyType = .ecdsaP256, reusingKey: String? = nil, days: Int = 365
    ) throws -> Issued {
        let alternativeNames = names.map { "DNS:" + $0 }.joined(separator: ",")
        return try issue(
            fileName, subject: "/O=berth tests/CN=\(names.first ?? fileName)", commonName: names.first ?? fileName,
            keyType: keyType, reusingKey: reusingKey, days: days,
            extensions: ["subjectAltName=\(alternativeNames)", "extendedKeyUsage=serverAuth"])
    }

    /// A client certificate (for mTLS) with CN `commonName` and O `organization`, signed by this authority.
    package func client(
        _ fileName: String, commonName: String, organization: String = "berth clients",
        keyType: KeyType = .ecdsaP256, days: Int = 365
    ) throws -> Issued {
        try issue(
            fileName, subject: "/O=\(organization)/CN=\(commonName)", commonName: commonName, keyType: keyType,
            days: days, extensions: ["extendedKeyUsage=clientAuth"])
    }

    /// The `openssl` command, or a thrown failure with its standard error.
    @discardableResult
    package static func openssl(_ arguments: [String]) throws -> String {
        let result = try Subprocess.run("/usr/bin/openssl", arguments, timeout: 60)
        guard result.status == 0 else {
            throw Subprocess.Failure(
                description: "openssl \(arguments.joined(separator: " ")) exited \(result.status): \(result.standardError)")
        }
        return result.standardOutput
    }

    /// The serial number (uppercase hex) of the first certificate in `pem`.
    package static func serialNumber(ofPEM pem: String) throws -> String {
        let folder = try TemporaryFolder("berth-pem")
        let path = try folder.write("certificate.pem", pem)
        return try field("serial", of: try openssl(["x509", "-in", path, "-noout", "-serial"]))
    }

    // MARK: -

    private func issue(
        _ fileName: String, subject: String, commonName: String, keyType: KeyType, reusingKey: String? = nil,
        days: Int, extensions: [String]
    ) throws -> Issued {
        let certificate = directory + "/" + fileName + ".pem"
        let key = directory + "/" + fileName + ".key"
        let request = directory + "/" + fileName + ".csr"
        let extensionFile = directory + "/" + fileName + ".ext"
        defer {
            try? FileManager.default.removeItem(atPath: request)
            try? FileManager.default.removeItem(atPath: extensionFile)
        }
        try (extensions + ["basicConstraints=critical,CA:FALSE"]).joined(separator: "\n")
            .write(toFile: extensionFile, atomically: false, encoding: .utf8)
        if let reusingKey {
            if reusingKey != key {
                try? FileManager.default.removeItem(atPath: key)
                try FileManager.default.copyItem(atPath: reusingKey, toPath: key)
            }
            try Self.openssl(["req", "-new", "-key", key, "-subj", subject, "-out", request])
        } else {
            try Self.openssl(["req", "-new"] + keyType.newKeyArguments + [
                "-nodes", "-subj", subject, "-keyout", key, "-out", request,
            ])
        }
        try Self.openssl([
            "x509", "-req", "-in", request, "-CA", authority.certificatePath, "-CAkey", authority.keyPath,
            "-set_serial", "0x" + Self.randomSerial(), "-days", String(days), "-sha256", "-extfile", extensionFile,
            "-out", certificate,
        ])
        return try Self.describe(certificate: certificate, key: key, commonName: commonName)
    }

    private static func describe(certificate: String, key: String, commonName: String) throws -> Issued {
        let serial = try field("serial", of: try openssl(["x509", "-in", certificate, "-noout", "-serial"]))
        let fingerprint = try field(
            "sha256 Fingerprint", of: try openssl(["x509", "-in", certificate, "-noout", "-fingerprint", "-sha256"]))
        return Issued(
            certificatePath: certificate, keyPath: key, serialNumber: serial, commonName: commonName,
            sha256: fingerprint.replacingOccurrences(of: ":", with: "").lowercased())
    }

    /// The value of `name=value` in openssl's output.
    private static func field(_ name: String, of output: String) throws -> String {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(name + "=") }) else {
            throw Subprocess.Failure(description: "no \(name)= in openssl's output: \(output)")
        }
        return String(line.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces)
    }

    /// 16 hex digits whose first is 1–7: positive, and printed the same (no leading zero) by every client.
    private static func randomSerial() -> String {
        String("1234567".randomElement()!) + String((0..<15).map { _ in "0123456789ABCDEF".randomElement()! })
    }
}
