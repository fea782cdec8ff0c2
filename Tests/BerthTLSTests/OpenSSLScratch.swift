import BerthFolder
import BerthTLS
import Foundation

/// Real certificates and keys made with the `openssl` CLI in a fresh temporary directory, removed on deinit.
final class OpenSSLScratch {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func write(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path(name))) }

    func write(_ name: String, _ text: String) throws { try write(name, Array(text.utf8)) }

    func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    /// Inspects files of this directory, naming them in messages by their bare names.
    func inspect(_ certificate: String, _ key: String, now: Date = Date()) -> CertificateInspection {
        let folder = try! ConfinedFolder(path: directory.path)
        return CertificateInspector.inspect(
            certificate: folder.read(certificate, maximumSize: CertificateInspector.maximumFileSize),
            key: folder.read(key, maximumSize: CertificateInspector.maximumFileSize), now: now,
            certificateName: certificate, keyName: key)
    }

    /// A self-signed `<name>.pem` (subject `CN=<name>.example`) with its key `<name>.key`, valid from now for `days`.
    func selfSigned(_ name: String, ec: Bool = false, days: Int = 365) throws {
        let algorithm = ec ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] : ["-newkey", "rsa:2048"]
        try openssl(
            ["req", "-x509", "-nodes", "-days", "\(days)", "-subj", "/CN=\(name).example"] + algorithm
                + ["-keyout", "\(name).key", "-out", "\(name).pem"])
    }

    /// `<name>.pem`/`<name>.key` signed by `ca.pem` with exactly the given validity (`YYYYMMDDHHMMSSZ`): OpenSSL
    /// 3.0's `req` has no `-not_before`/`-not_after`, `ca` has `-startdate`/`-enddate`.
    func signed(_ name: String, notBefore: String, notAfter: String) throws {
        try makeCA()
        try openssl(
            ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(name).example"]
                + ["-keyout", "\(name).key", "-out", "\(name).csr"])
        try openssl(
            ["ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key"]
                + ["-in", "\(name).csr", "-out", "\(name).pem", "-startdate", notBefore, "-enddate", notAfter])
    }

    /// What `openssl x509 -outform DER | sha256sum` prints for `pem`, without the file-name column.
    func sha256sumOfDER(_ pem: String) throws -> String {
        try openssl(["x509", "-in", pem, "-outform", "DER", "-out", pem + ".der"])
        return String(try run("sha256sum", [pem + ".der"]).prefix(64))
    }

    @discardableResult
    func openssl(_ arguments: [String]) throws -> String { try run("openssl", arguments) }

    /// Runs `tool` from PATH in the directory and returns its standard output; a non-zero exit throws with stderr.
    func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.currentDirectoryURL = directory
        let (output, errors) = (Pipe(), Pipe())
        (process.standardOutput, process.standardError) = (output, errors)
        try process.run()
        // Both outputs are a few lines, so reading stdout to the end first cannot stall on a full stderr pipe.
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailed(command: [tool] + arguments, stderr: String(decoding: stderr, as: UTF8.self))
        }
        return String(decoding: stdout, as: UTF8.self)
    }

    /// The CA `ca.pem`/`ca.key` and the minimal `openssl ca` configuration, made once per directory.
    private func makeCA() throws {
        guard !FileManager.default.fileExists(atPath: path("ca.pem")) else { return }
        try openssl(
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "36500", "-subj", "/CN=Berth Test CA"]
                + ["-keyout", "ca.key", "-out", "ca.pem"])
        try write("index.txt", "")
        try write("serial", "1000\n")
        try write(
            "ca.cnf",
            """
            [ca]
            default_ca = test
            [test]
            dir = .
            database = index.txt
            new_certs_dir = .
            serial = serial
            default_md = sha256
            policy = any
            unique_subject = no
            [any]
            commonName = supplied

            """)
    }
}

struct CommandFailed: Error, CustomStringConvertible {
    var command: [String]
    var stderr: String
    var description: String { "\(command.joined(separator: " ")) failed: \(stderr)" }
}
