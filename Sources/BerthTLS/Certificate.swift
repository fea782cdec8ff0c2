internal import COpenSSL
package import Foundation

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// An X.509 certificate, owning one reference to its OpenSSL `X509`.
@safe package final class Certificate {
    let raw: OpaquePointer  // X509*, owned

    init(taking raw: OpaquePointer) { unsafe self.raw = raw }
    deinit { unsafe X509_free(raw) }

    /// Every certificate in `pem`, in file order (leaf first in a chain file); blocks of other types are skipped.
    ///
    /// Throws `CertificateDecodingError` for the first CERTIFICATE block that does not decode; an input with no
    /// CERTIFICATE block returns an empty array.
    package static func readAll(pem: [UInt8]) throws(CertificateDecodingError) -> [Certificate] {
        // Entries left by an earlier caller on this thread would otherwise be reported as this file's fault.
        ERR_clear_error()
        let bio = MemoryBIO(copying: pem)
        var certificates: [Certificate] = []
        while true {
            guard let raw = unsafe PEM_read_bio_X509(bio.raw, nil, refusePassphrase, nil) else {
                let error = OpenSSLError.drain("PEM_read_bio_X509")
                if error.isEndOfPEMInput { return certificates }
                throw CertificateDecodingError(index: certificates.count, underlying: error)
            }
            certificates.append(unsafe Certificate(taking: raw))
        }
    }

    /// The start of the validity period; nil when OpenSSL cannot read the time field.
    package var notBefore: Date? { unsafe Self.date(X509_get0_notBefore(raw)) }

    /// The end of the validity period; nil when OpenSSL cannot read the time field.
    package var notAfter: Date? { unsafe Self.date(X509_get0_notAfter(raw)) }

    /// The subject in RFC 2253 form, e.g. "CN=echo.example,O=Example"; UTF-8 characters stay unescaped.
    package var subject: String {
        let bio = MemoryBIO()
        _ = unsafe X509_NAME_print_ex(bio.raw, X509_get_subject_name(raw), 0, cssl_name_flags_rfc2253_utf8())
        return bio.text()
    }

    /// Lowercase hex SHA-256 of the DER encoding: what `openssl x509 -outform DER | sha256sum` prints.
    package var sha256: String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = unsafe digest.withUnsafeMutableBufferPointer {
            unsafe X509_digest(raw, EVP_sha256(), $0.baseAddress, &length)
        }
        precondition(ok == 1 && length == 32, "X509_digest(SHA-256) failed on a decoded certificate")
        return digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The public key's algorithm as OpenSSL names it: "RSA", "EC", "ED25519", ….
    package var publicKeyAlgorithm: String {
        guard let key = unsafe X509_get0_pubkey(raw), let name = unsafe EVP_PKEY_get0_type_name(key) else {
            _ = OpenSSLError.drain("X509_get0_pubkey")
            return "unknown"
        }
        return unsafe String(cString: name)
    }

    private static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date? {
        guard let time = unsafe time else { return nil }
        var fields = unsafe tm()
        guard unsafe ASN1_TIME_to_tm(time, &fields) == 1 else {
            _ = OpenSSLError.drain("ASN1_TIME_to_tm")
            return nil
        }
        return Date(timeIntervalSince1970: TimeInterval(unsafe timegm(&fields)))
    }
}

/// A CERTIFICATE block in a PEM file that OpenSSL cannot decode.
package struct CertificateDecodingError: Error, Hashable, Sendable {
    package var index: Int  // 0 is the leaf; higher ones are intermediates
    package var underlying: OpenSSLError
}

extension Certificate {
    /// The DNS names the certificate covers: its subject alternative DNS names, or, when it has none, its subject's
    /// common name (what clients fall back to). What SNI matches against.
    package var dnsNames: [String] {
        let alternatives = subjectAlternativeNames.compactMap { if case .dns(let name) = $0 { name } else { nil } }
        if !alternatives.isEmpty { return alternatives }
        return commonName.map { [$0] } ?? []
    }

    /// One subject alternative name of the kinds berth reports.
    package enum AlternativeName: Hashable, Sendable {
        case dns(String)
        case ipAddress(String)
    }

    /// The DNS names and IP addresses of the subjectAltName extension, in certificate order.
    package var subjectAlternativeNames: [AlternativeName] {
        guard let names = unsafe cssl_subject_alt_names(raw) else {
            ERR_clear_error()  // no extension: an answer, not an error
            return []
        }
        defer { unsafe cssl_general_names_free(names) }
        var result: [AlternativeName] = []
        let count = unsafe cssl_general_names_count(names)
        for index in 0..<count {
            var bytes: UnsafePointer<UInt8>?
            var length: Int32 = 0
            let type = unsafe cssl_general_name(names, index, &bytes, &length)
            guard let bytes = unsafe bytes else { continue }
            let value = unsafe Array(UnsafeBufferPointer(start: bytes, count: Int(length)))
            if type == cssl_gen_dns() {
                result.append(.dns(String(decoding: value, as: UTF8.self)))
            } else if type == cssl_gen_ipadd(), let text = Self.ipText(value) {
                result.append(.ipAddress(text))
            }
        }
        return result
    }

    /// The subject's first common name (CN), if it has one.
    package var commonName: String? {
        guard let name = unsafe X509_get_subject_name(raw) else { return nil }
        let index = unsafe X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = unsafe X509_NAME_get_entry(name, index),
            let data = unsafe X509_NAME_ENTRY_get_data(entry)
        else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = unsafe ASN1_STRING_to_UTF8(&utf8, data)
        guard length >= 0, let utf8 = unsafe utf8 else { return nil }
        defer { unsafe CRYPTO_free(utf8, #fileID, #line) }
        return unsafe String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    /// An IP address SAN as text, the way Node prints it (IPv6 in full lowercase groups, as OpenSSL does).
    private static func ipText(_ bytes: [UInt8]) -> String? {
        switch bytes.count {
        case 4: return bytes.map(String.init).joined(separator: ".")
        case 16:
            return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16, uppercase: true) }
                .joined(separator: ":")
        default: return nil
        }
    }
}

// What Node's `getPeerCertificate()` reports of a certificate.
extension Certificate {
    /// The subject's attributes in order, by OpenSSL's short names: [("C", "DE"), ("O", "Example"), ("CN", "alice")].
    package var subjectAttributes: [(String, String)] { unsafe Self.attributes(X509_get_subject_name(raw)) }
    package var issuerAttributes: [(String, String)] { unsafe Self.attributes(X509_get_issuer_name(raw)) }

    /// "DNS:alice.example, IP Address:127.0.0.1", as Node prints `subjectaltname`; nil without the extension.
    package var subjectAltNameText: String? {
        let names = subjectAlternativeNames
        guard !names.isEmpty else { return nil }
        return names.map {
            switch $0 {
            case .dns(let name): "DNS:\(name)"
            case .ipAddress(let address): "IP Address:\(address)"
            }
        }.joined(separator: ", ")
    }

    /// "Mar  5 12:00:00 2026 GMT" (Node's `valid_from`).
    package var validFromText: String { unsafe Self.text(X509_get0_notBefore(raw)) }
    package var validToText: String { unsafe Self.text(X509_get0_notAfter(raw)) }

    /// Uppercase hex without separators (Node's `serialNumber`).
    package var serialNumberHex: String {
        guard let serial = unsafe X509_get0_serialNumber(raw), let number = unsafe ASN1_INTEGER_to_BN(serial, nil) else {
            return ""
        }
        defer { unsafe BN_free(number) }
        guard let hex = unsafe BN_bn2hex(number) else { return "" }
        defer { unsafe CRYPTO_free(hex, #fileID, #line) }
        return unsafe String(cString: hex)
    }

    /// The DER encoding.
    package var der: [UInt8] {
        let length = unsafe i2d_X509(raw, nil)
        guard length > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        unsafe bytes.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            _ = unsafe i2d_X509(raw, &cursor)
        }
        return bytes
    }

    /// "AB:CD:…" of the DER's SHA-1 (`sha256: false`) or SHA-256, as Node prints `fingerprint` / `fingerprint256`.
    package func fingerprint(sha256: Bool) -> String {
        var digest = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        _ = unsafe digest.withUnsafeMutableBufferPointer {
            unsafe X509_digest(raw, sha256 ? EVP_sha256() : EVP_sha1(), $0.baseAddress, &length)
        }
        return digest.prefix(Int(length)).map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }
            .joined(separator: ":")
    }

    private static func attributes(_ name: OpaquePointer?) -> [(String, String)] {
        guard let name = unsafe name else { return [] }
        var result: [(String, String)] = []
        let count = unsafe X509_NAME_entry_count(name)
        for index in 0..<count {
            guard let entry = unsafe X509_NAME_get_entry(name, index),
                let object = unsafe X509_NAME_ENTRY_get_object(entry), let data = unsafe X509_NAME_ENTRY_get_data(entry)
            else { continue }
            let nid = unsafe OBJ_obj2nid(object)
            let key = unsafe OBJ_nid2sn(nid).map { unsafe String(cString: $0) } ?? "UNDEF"
            var utf8: UnsafeMutablePointer<UInt8>?
            let length = unsafe ASN1_STRING_to_UTF8(&utf8, data)
            guard length >= 0, let utf8 = unsafe utf8 else { continue }
            result.append((key, unsafe String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)))
            unsafe CRYPTO_free(utf8, #fileID, #line)
        }
        return result
    }

    private static func text(_ time: UnsafePointer<ASN1_TIME>?) -> String {
        guard let time = unsafe time else { return "" }
        let bio = MemoryBIO()
        _ = unsafe ASN1_TIME_print(bio.raw, time)
        return bio.text()
    }
}

extension Certificate {
    /// Whether OpenSSL accepts the certificate as an issuer (basicConstraints CA:TRUE, or an old self-signed v1
    /// certificate): what a CA file for client certificates must hold.
    package var isCertificateAuthority: Bool { unsafe X509_check_ca(raw) != 0 }
}
