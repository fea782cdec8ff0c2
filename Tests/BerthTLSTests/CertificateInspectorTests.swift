import BerthFolder
import BerthTLS
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("CertificateInspector", .timeLimit(.minutes(2)))
struct CertificateInspectorTests {
    let scratch: OpenSSLScratch

    init() throws { scratch = try OpenSSLScratch() }

    // MARK: Good pairs

    @Test func validRSAPair() throws {
        try scratch.selfSigned("echo")
        let inspection = scratch.inspect("echo.pem", "echo.key")
        #expect(inspection.problems == [])
        #expect(inspection.subject == "CN=echo.example")
        #expect(inspection.notBefore != nil && inspection.notAfter != nil)
    }

    @Test func validECPair() throws {
        try scratch.selfSigned("ec", ec: true)
        let inspection = scratch.inspect("ec.pem", "ec.key")
        #expect(inspection.problems == [])
        #expect(inspection.subject == "CN=ec.example")
    }

    @Test func traditionalKeyFormats() throws {
        try scratch.selfSigned("rsa")
        try scratch.selfSigned("ec", ec: true)
        try scratch.openssl(["pkey", "-in", "rsa.key", "-traditional", "-out", "rsa-traditional.key"])
        try scratch.openssl(["ec", "-in", "ec.key", "-out", "ec-traditional.key"])
        #expect(try text("rsa-traditional.key").hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
        #expect(try text("ec-traditional.key").hasPrefix("-----BEGIN EC PRIVATE KEY-----"))
        #expect(scratch.inspect("rsa.pem", "rsa-traditional.key").problems == [])
        #expect(scratch.inspect("ec.pem", "ec-traditional.key").problems == [])
    }

    @Test func chainFileIsLeafFirst() throws {
        try scratch.signed("leaf", notBefore: "20200101000000Z", notAfter: "20400101000000Z")
        try scratch.write("chain.pem", try scratch.read("leaf.pem") + scratch.read("ca.pem"))
        let inspection = scratch.inspect("chain.pem", "leaf.key", now: try utc("2030-01-01T00:00:00Z"))
        #expect(inspection.problems == [])
        #expect(inspection.subject == "CN=leaf.example")
        #expect(inspection.certificateSHA256 == (try scratch.sha256sumOfDER("leaf.pem")))
    }

    @Test func certificateAndKeyInOneFile() throws {
        try scratch.selfSigned("echo")
        try scratch.write("key-first.pem", try scratch.read("echo.key") + scratch.read("echo.pem"))
        try scratch.write("cert-first.pem", try scratch.read("echo.pem") + scratch.read("echo.key"))
        #expect(scratch.inspect("key-first.pem", "key-first.pem").problems == [])
        #expect(scratch.inspect("cert-first.pem", "cert-first.pem").problems == [])
    }

    // MARK: What is reported about the leaf

    @Test func fingerprintIsSHA256OfDER() throws {
        try scratch.selfSigned("echo")
        let fingerprint = scratch.inspect("echo.pem", "echo.key").certificateSHA256
        #expect(fingerprint == (try scratch.sha256sumOfDER("echo.pem")))
        #expect(fingerprint?.count == 64)
    }

    @Test func notAfterIsWhatOpenSSLPrints() throws {
        try scratch.selfSigned("echo", days: 400)
        let printed = try scratch.openssl(["x509", "-in", "echo.pem", "-noout", "-enddate", "-dateopt", "iso_8601"])
        // "notAfter=2027-02-23 06:08:25Z"
        let value = printed.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("notAfter=".count)
        #expect(scratch.inspect("echo.pem", "echo.key").notAfter == (try utc(String(value.replacing(" ", with: "T")))))
    }

    @Test func datesAreExactlyTheCertificates() throws {
        // X.509 stores UTCTime before 2050 and GeneralizedTime from 2050 on; both must convert.
        try scratch.signed("dated", notBefore: "20210615123456Z", notAfter: "20510203040506Z")
        let inspection = scratch.inspect("dated.pem", "dated.key", now: try utc("2030-01-01T00:00:00Z"))
        #expect(inspection.problems == [])
        #expect(inspection.notBefore == (try utc("2021-06-15T12:34:56Z")))
        #expect(inspection.notAfter == (try utc("2051-02-03T04:05:06Z")))
    }

    @Test func utf8SubjectStaysReadable() throws {
        try scratch.openssl(
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-utf8"]
                + ["-subj", "/O=Caf\u{E9}, Ltd/CN=caf\u{E9}.example", "-keyout", "u.key", "-out", "u.pem"])
        #expect(scratch.inspect("u.pem", "u.key").subject == "CN=caf\u{E9}.example,O=Caf\u{E9}\\, Ltd")
    }

    // MARK: Dates

    @Test func expired() throws {
        try scratch.signed("old", notBefore: "20200101000000Z", notAfter: "20210615123456Z")
        let problems = scratch.inspect("old.pem", "old.key", now: try utc("2024-01-01T00:00:00Z")).problems
        #expect(problems == [problem(.expired, "old.pem expired on 2021-06-15T12:34:56Z")])
    }

    @Test func expiringWithinThirtyDays() throws {
        try scratch.signed("soon", notBefore: "20200101000000Z", notAfter: "20210615123456Z")
        let tenDaysBefore = scratch.inspect("soon.pem", "soon.key", now: try utc("2021-06-05T12:34:56Z"))
        #expect(
            tenDaysBefore.problems == [problem(.expiringSoon, "soon.pem expires on 2021-06-15T12:34:56Z, in 10 days")])
        let hoursBefore = scratch.inspect("soon.pem", "soon.key", now: try utc("2021-06-15T00:00:00Z"))
        #expect(hoursBefore.problems.map(\.message) == ["soon.pem expires on 2021-06-15T12:34:56Z, in less than a day"])
        let thirtyDaysAndASecondBefore = try utc("2021-05-16T12:34:55Z")
        #expect(scratch.inspect("soon.pem", "soon.key", now: thirtyDaysAndASecondBefore).problems == [])
    }

    @Test func expiringSoonOnTheRealClock() throws {
        try scratch.selfSigned("short", days: 10)
        let problems = scratch.inspect("short.pem", "short.key").problems
        #expect(problems.map(\.kind) == [.expiringSoon])
        #expect(problems.first?.message.hasSuffix(", in 10 days") == true)
    }

    @Test func notYetValid() throws {
        try scratch.signed("future", notBefore: "20350101000000Z", notAfter: "20360101000000Z")
        let problems = scratch.inspect("future.pem", "future.key", now: try utc("2034-01-01T00:00:00Z")).problems
        #expect(problems == [problem(.notYetValid, "future.pem is not valid before 2035-01-01T00:00:00Z")])
    }

    @Test func expiredIntermediateIsNamed() throws {
        try scratch.signed("leaf", notBefore: "20200101000000Z", notAfter: "20400101000000Z")
        try scratch.signed("old", notBefore: "20200101000000Z", notAfter: "20210101000000Z")
        try scratch.write("chain.pem", try scratch.read("leaf.pem") + scratch.read("old.pem"))
        let problems = scratch.inspect("chain.pem", "leaf.key", now: try utc("2030-01-01T00:00:00Z")).problems
        let message = "intermediate certificate \"CN=old.example\" in chain.pem expired on 2021-01-01T00:00:00Z"
        #expect(problems == [problem(.expired, message)])
    }

    // MARK: Pairs that do not belong together

    @Test func mismatchedPair() throws {
        try scratch.selfSigned("a")
        try scratch.selfSigned("b")
        try scratch.selfSigned("ec", ec: true)
        #expect(
            scratch.inspect("a.pem", "b.key").problems == [
                problem(.keyMismatch, "b.key does not match a.pem: it is a different RSA key")
            ])
        #expect(
            scratch.inspect("a.pem", "ec.key").problems == [
                problem(
                    .keyMismatch, "ec.key does not match a.pem: the certificate's key type is RSA, the key file's is EC"
                )
            ])
    }

    @Test func chainInWrongOrderNamesTheMatchingCertificate() throws {
        try scratch.signed("leaf", notBefore: "20200101000000Z", notAfter: "20400101000000Z")
        try scratch.write("reversed.pem", try scratch.read("ca.pem") + scratch.read("leaf.pem"))
        let problems = scratch.inspect("reversed.pem", "leaf.key", now: try utc("2030-01-01T00:00:00Z")).problems
        let message =
            "leaf.key does not match reversed.pem: it matches certificate 2 instead; "
            + "the server's own certificate must come first"
        #expect(problems == [problem(.keyMismatch, message)])
    }

    @Test func swappedCertificateAndKey() throws {
        try scratch.selfSigned("echo")
        let swapped = "; are the certificate and key files swapped?"
        #expect(
            scratch.inspect("echo.key", "echo.pem").problems == [
                problem(.certificateInvalid, "echo.key holds a private key, not a certificate" + swapped),
                problem(.keyInvalid, "echo.pem holds a certificate, not a private key" + swapped),
            ])
    }

    @Test func otherPEMTypes() throws {
        try scratch.selfSigned("echo")
        try scratch.openssl(["req", "-new", "-key", "echo.key", "-subj", "/CN=echo.example", "-out", "echo.csr"])
        try scratch.openssl(["pkey", "-in", "echo.key", "-pubout", "-out", "echo.pub"])
        #expect(
            scratch.inspect("echo.csr", "echo.pub").problems == [
                problem(
                    .certificateInvalid,
                    "echo.csr holds no certificate, only PEM blocks of type CERTIFICATE REQUEST; "
                        + "it must hold -----BEGIN CERTIFICATE-----"),
                problem(
                    .keyInvalid,
                    "echo.pub holds a public key; berth needs the private key (-----BEGIN PRIVATE KEY-----)"),
            ])
    }

    // MARK: Files that are not there

    @Test func missingFiles() {
        #expect(
            scratch.inspect("none.pem", "none.key").problems == [
                problem(.certificateMissing, "none.pem does not exist"),
                problem(.keyMissing, "none.key does not exist"),
            ])
    }

    @Test func directoriesAndPipesAreNotFiles() throws {
        try FileManager.default.createDirectory(atPath: scratch.path("certs"), withIntermediateDirectories: false)
        #expect(mkfifo(scratch.path("pipe"), 0o600) == 0)
        #expect(
            scratch.inspect("certs", "pipe").problems == [
                problem(.certificateMissing, "certs is a directory, not a file"),
                problem(.keyMissing, "pipe is not a regular file (a device, socket or pipe)"),
            ])
    }

    @Test func unreadableFile() throws {
        try scratch.selfSigned("echo")
        #expect(chmod(scratch.path("echo.key"), 0) == 0)
        // root reads any file whatever its mode, so the end-to-end check runs only for other users.
        if geteuid() != 0 {
            #expect(
                scratch.inspect("echo.pem", "echo.key").problems == [
                    problem(.keyMissing, "echo.key cannot be read: permission denied")
                ])
        }
        #expect(FileReadError(errno: EACCES).clause == "cannot be read: permission denied")
        #expect(FileReadError(errno: EIO).clause == "cannot be read: Input/output error")
    }

    // MARK: Files that are not PEM certificates and keys

    @Test func emptyFiles() throws {
        try scratch.write("empty.pem", "")
        try scratch.write("empty.key", "\n  \n")
        #expect(
            scratch.inspect("empty.pem", "empty.key").problems == [
                problem(
                    .certificateInvalid,
                    "empty.pem is empty; it must hold a PEM certificate (-----BEGIN CERTIFICATE-----)"),
                problem(
                    .keyInvalid, "empty.key is empty; it must hold a PEM private key (-----BEGIN PRIVATE KEY-----)"),
            ])
    }

    @Test func derInsteadOfPEM() throws {
        try scratch.selfSigned("echo")
        try scratch.openssl(["x509", "-in", "echo.pem", "-outform", "DER", "-out", "echo.der"])
        try scratch.openssl(["pkey", "-in", "echo.key", "-outform", "DER", "-out", "echo.key.der"])
        #expect(
            scratch.inspect("echo.der", "echo.key.der").problems == [
                problem(
                    .certificateInvalid,
                    "echo.der is binary DER, not PEM; convert it with `openssl x509 -inform DER -outform PEM`"),
                problem(
                    .keyInvalid,
                    "echo.key.der is binary DER, not PEM; convert it with `openssl pkey -inform DER -outform PEM`"),
            ])
    }

    @Test func garbage() throws {
        try scratch.write("text.pem", "hello, this is not a certificate\n")
        try scratch.write("text.key", "nor is this a key\n")
        try scratch.write("random.key", (0..<4096).map { _ in UInt8.random(in: 0...255) })
        #expect(
            scratch.inspect("text.pem", "text.key").problems == [
                problem(
                    .certificateInvalid, "text.pem is not a PEM certificate: it has no -----BEGIN CERTIFICATE----- line"
                ),
                problem(.keyInvalid, "text.key is not a PEM private key: it has no -----BEGIN PRIVATE KEY----- line"),
            ])
        #expect(scratch.inspect("text.pem", "random.key").problems.map(\.kind) == [.certificateInvalid, .keyInvalid])
    }

    @Test func garbledPEMBodiesCarryOpenSSLsReason() throws {
        try scratch.write("bad.pem", "-----BEGIN CERTIFICATE-----\nMIIBaGVsbG8=\n-----END CERTIFICATE-----\n")
        try scratch.write("bad.key", "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n")
        #expect(
            scratch.inspect("bad.pem", "bad.key").problems.map(\.message) == [
                "bad.pem: the certificate cannot be decoded: too long; bad object header",
                "bad.key: the private key cannot be decoded: OpenSSL recognizes no key or certificate encoding in it",
            ])
    }

    @Test func garbledIntermediateIsInvalid() throws {
        try scratch.selfSigned("leaf")
        try scratch.selfSigned("other")
        var intermediate = try text("other.pem").split(separator: "\n")
        intermediate[3] = "@@@@ this line is not base64 @@@@"
        try scratch.write("chain.pem", try text("leaf.pem") + intermediate.joined(separator: "\n"))
        #expect(
            scratch.inspect("chain.pem", "leaf.key").problems == [
                problem(
                    .certificateInvalid,
                    "chain.pem: certificate 2 of the chain (an intermediate) cannot be decoded: bad base64 decode")
            ])
    }

    @Test(arguments: [["-aes256"], ["-traditional", "-aes128"]])
    func encryptedKey(cipher: [String]) throws {
        try scratch.selfSigned("echo")
        try scratch.write("pass", "secret\n")
        try scratch.openssl(["pkey", "-in", "echo.key", "-out", "locked.key", "-passout", "file:pass"] + cipher)
        #expect(
            scratch.inspect("echo.pem", "locked.key").problems == [
                problem(.keyInvalid, "locked.key: the key is encrypted; berth needs an unencrypted key file")
            ])
    }

    @Test func encryptedHeaderInACertificateDoesNotPrompt() throws {
        try scratch.selfSigned("echo")
        try scratch.write(
            "odd.pem",
            "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n"
                + "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END CERTIFICATE-----\n")
        #expect(scratch.inspect("odd.pem", "echo.key").problems.map(\.kind) == [.certificateInvalid])
    }

    @Test func mangledFilesNeverCrash() throws {
        try scratch.selfSigned("echo")
        let certificate = try scratch.read("echo.pem")
        let key = try scratch.read("echo.key")
        for round in 0..<200 {
            var (mangledCertificate, mangledKey) = (certificate, key)
            for _ in 0...(round % 8) {
                mangledCertificate[Int.random(in: 0..<certificate.count)] = UInt8.random(in: 0...255)
                mangledKey[Int.random(in: 0..<key.count)] = UInt8.random(in: 0...255)
            }
            let truncated = Array(mangledCertificate[..<Int.random(in: 0...certificate.count)])
            try scratch.write("m.pem", round.isMultiple(of: 2) ? mangledCertificate : truncated)
            try scratch.write("m.key", mangledKey)
            #expect(scratch.inspect("m.pem", "m.key").problems.allSatisfy { !$0.message.isEmpty })
        }
    }

    private func text(_ name: String) throws -> String { String(decoding: try scratch.read(name), as: UTF8.self) }

    private func problem(_ kind: CertificateProblem.Kind, _ message: String) -> CertificateProblem {
        CertificateProblem(kind: kind, message: message)
    }

    /// `2021-06-15T12:34:56Z` as a Date.
    private func utc(_ text: String) throws -> Date { try Date(text, strategy: .iso8601) }
}
