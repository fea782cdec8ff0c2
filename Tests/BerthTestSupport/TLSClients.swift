package import Foundation

/// A program a test talks to while it runs (an `openssl s_client` session): its standard input is a pipe the test
/// writes and closes, its output is collected as it comes; killed (SIGKILL) when released.
package final class InteractiveProcess: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let lock = NSLock()
    // Guarded by `lock`: appended by the reader threads.
    private var outputBytes = Data()
    private var errorBytes = Data()

    package init(_ executable: String, _ arguments: [String]) throws {
        // A write to a program that already exited must fail with EPIPE, not kill the test process.
        _ = signal(SIGPIPE, SIG_IGN)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = input
        let (out, err) = (Pipe(), Pipe())
        process.standardOutput = out
        process.standardError = err
        for (handle, isError) in [(out.fileHandleForReading, false), (err.fileHandleForReading, true)] {
            Thread { [self] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    lock.withLock { if isError { errorBytes.append(chunk) } else { outputBytes.append(chunk) } }
                }
            }.start()
        }
        try process.run()
    }

    deinit { stop() }

    package var standardOutput: String { lock.withLock { String(decoding: outputBytes, as: UTF8.self) } }
    package var standardError: String { lock.withLock { String(decoding: errorBytes, as: UTF8.self) } }
    package var isRunning: Bool { process.isRunning }

    /// Writes `text` to the program's standard input; false once it is gone.
    @discardableResult
    package func write(_ text: String) -> Bool {
        guard process.isRunning else { return false }
        do {
            try input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
            return true
        } catch {
            return false
        }
    }

    /// Closes the program's standard input (its end of file).
    package func closeInput() { try? input.fileHandleForWriting.close() }

    /// Waits until standard output (or, with `inError`, standard error) contains `fragment`; false on timeout or
    /// once the program exited without printing it.
    package func waitForOutput(_ fragment: String, inError: Bool = false, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date() + timeout
        while Date() < deadline {
            if (inError ? standardError : standardOutput).contains(fragment) { return true }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        Thread.sleep(forTimeInterval: 0.05)
        return (inError ? standardError : standardOutput).contains(fragment)
    }

    /// Waits for the program to exit and returns its status; nil if it is still running after `timeout`.
    @discardableResult
    package func waitForExit(timeout: TimeInterval = 10) -> Int32? {
        let deadline = Date() + timeout
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { return nil }
        // The readers may still hold the last bytes: the pipes close when the program exits.
        Thread.sleep(forTimeInterval: 0.05)
        return process.terminationStatus
    }

    package func stop() {
        closeInput()
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// `openssl s_client` against a loopback port: one handshake whose outcome is parsed, or an interactive session.
package enum OpenSSLClient {
    /// What one TLS client asks for in a handshake; nil members are left to the client's defaults.
    package struct Options: Sendable {
        /// The SNI name; nil sends none.
        package var serverName: String?
        /// "1.2" or "1.3": forced (both the oldest and the newest version the client offers).
        package var version: String?
        /// ALPN protocols offered, in order; empty offers none.
        package var alpn: [String]
        /// The client certificate (mTLS); nil sends none.
        package var certificate: TestPKI.Issued?
        /// The CA file the client verifies the server against; nil skips verification.
        package var trusting: String?

        package init(
            serverName: String? = nil, version: String? = nil, alpn: [String] = [], certificate: TestPKI.Issued? = nil,
            trusting: String? = nil
        ) {
            (self.serverName, self.version, self.alpn) = (serverName, version, alpn)
            (self.certificate, self.trusting) = (certificate, trusting)
        }
    }

    /// What `s_client` printed about one handshake.
    package struct Handshake: Sendable, CustomStringConvertible {
        /// "TLSv1.2" or "TLSv1.3"; nil when no handshake finished.
        package var protocolVersion: String?
        /// OpenSSL's name of the cipher agreed; nil when no handshake finished.
        package var cipher: String?
        /// The ALPN protocol agreed; nil when none was.
        package var alpnProtocol: String?
        /// The server's leaf certificate, PEM, and its serial number (uppercase hex) and subject line.
        package var serverCertificatePEM: String?
        package var serverSerialNumber: String?
        package var serverSubject: String?
        /// "Verify return code: N (text)"'s N; nil when not printed.
        package var verifyCode: Int?
        package var status: Int32
        package var standardOutput: String
        package var standardError: String

        /// A cipher was agreed and no alert ended it: in TLS 1.2 the server refuses a client certificate after the
        /// cipher is chosen, so s_client still prints one, then the alert, and exits 1.
        package var isEstablished: Bool { protocolVersion != nil && status == 0 }
        package var description: String { "s_client exited \(status)\n\(standardOutput)\n\(standardError)" }
    }

    /// The `s_client` arguments for `options` against 127.0.0.1:`port`.
    package static func arguments(port: Int, _ options: Options) -> [String] {
        var arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-nocommands"]
        if let serverName = options.serverName {
            arguments += ["-servername", serverName]
        } else {
            arguments += ["-noservername"]
        }
        switch options.version {
        case "1.2"?: arguments += ["-tls1_2"]
        case "1.3"?: arguments += ["-tls1_3"]
        default: break
        }
        if !options.alpn.isEmpty { arguments += ["-alpn", options.alpn.joined(separator: ",")] }
        if let certificate = options.certificate {
            arguments += ["-cert", certificate.certificatePath, "-key", certificate.keyPath]
        }
        if let trusting = options.trusting { arguments += ["-CAfile", trusting, "-verify_return_error"] }
        return arguments
    }

    /// Connects, handshakes and closes at once (standard input is empty): what the handshake came to.
    package static func handshake(port: Int, _ options: Options = Options(), timeout: TimeInterval = 20) throws
        -> Handshake
    {
        let result = try Subprocess.run(
            "/usr/bin/openssl", arguments(port: port, options) + ["-showcerts"], timeout: timeout)
        let output = result.standardOutput
        var handshake = Handshake(
            status: result.status, standardOutput: output, standardError: result.standardError)
        // "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384", or "New, (NONE), Cipher is (NONE)" when it failed.
        if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("New, ") }) {
            let parts = line.dropFirst("New, ".count).components(separatedBy: ", Cipher is ")
            if parts.count == 2, parts[0] != "(NONE)" {
                handshake.protocolVersion = parts[0]
                handshake.cipher = parts[1]
            }
        }
        for line in output.split(separator: "\n") {
            if line.hasPrefix("ALPN protocol: ") { handshake.alpnProtocol = String(line.dropFirst("ALPN protocol: ".count)) }
            if handshake.serverSubject == nil, line.hasPrefix("subject=") { handshake.serverSubject = String(line.dropFirst(8)) }
            if let range = line.range(of: "Verify return code: ") {
                handshake.verifyCode = Int(line[range.upperBound...].prefix { $0.isNumber })
            }
        }
        if let begin = output.range(of: "-----BEGIN CERTIFICATE-----"),
            let end = output.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<output.endIndex)
        {
            let pem = String(output[begin.lowerBound..<end.upperBound]) + "\n"
            handshake.serverCertificatePEM = pem
            handshake.serverSerialNumber = try? TestPKI.serialNumber(ofPEM: pem)
        }
        return handshake
    }

    /// An `s_client -brief` session: connection details on standard error ("CONNECTION ESTABLISHED", "Protocol
    /// version: TLSv1.3"), the server's bytes alone on standard output; closing its input sends close_notify and
    /// ends it.
    package static func session(port: Int, _ options: Options = Options()) throws -> InteractiveProcess {
        try InteractiveProcess("/usr/bin/openssl", arguments(port: port, options) + ["-brief"])
    }
}

/// What a client saw of one TLS exchange with a handler that writes a first line (the seed echo's greeting, a probe's
/// JSON) and then echoes: the handshake, that line, and the echo of what it sent.
package struct TLSExchange: Sendable, CustomStringConvertible {
    /// "TLSv1.2" or "TLSv1.3"; nil when the handshake failed.
    package var protocolVersion: String?
    /// OpenSSL's name of the cipher agreed.
    package var cipher: String?
    /// The ALPN protocol agreed; nil when none was.
    package var alpnProtocol: String?
    /// The server certificate's serial number (uppercase hex).
    package var serverSerialNumber: String?
    /// The handler's first line, without its newline; nil when none came.
    package var firstLine: String?
    /// What came back after the client sent its text (as many bytes as it sent); nil when it sent nothing or it did
    /// not all come.
    package var echo: String?
    /// The client's error ("ECONNRESET: …", "SSLError: …"); nil when none.
    package var error: String?
    package var output: String

    package var description: String { output }

    /// The first line decoded as a JSON object (a probe handler's report), or nil.
    package var firstObject: [String: Any]? {
        firstLine.flatMap { $0.data(using: .utf8) }.flatMap { try? JSONSerialization.jsonObject(with: $0) }
            as? [String: Any]
    }

    init(json output: String) throws {
        guard let data = output.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw Subprocess.Failure(description: "not a client report: \(output)") }
        self.output = output
        protocolVersion = object["protocol"] as? String
        cipher = object["cipher"] as? String
        alpnProtocol = object["alpn"] as? String
        serverSerialNumber = object["serial"] as? String
        firstLine = object["first"] as? String
        echo = object["echo"] as? String
        error = object["error"] as? String
    }

    /// The client options as the JSON file (`request.json` in the folder returned) the scripts read: a file, as
    /// what a client sends may exceed what one command-line argument can hold (128 KiB).
    static func request(port: Int, _ options: OpenSSLClient.Options, send: String?) throws -> TemporaryFolder {
        var object: [String: Any] = ["port": port]
        object["serverName"] = options.serverName
        object["version"] = options.version
        if !options.alpn.isEmpty { object["alpn"] = options.alpn }
        object["cert"] = options.certificate?.certificatePath
        object["key"] = options.certificate?.keyPath
        object["ca"] = options.trusting
        object["send"] = send
        let folder = try TemporaryFolder("berth-tls-client")
        try JSONSerialization.data(withJSONObject: object).write(to: folder.url("request.json"))
        return folder
    }
}

/// Python's `ssl` module as a TLS client.
package enum PythonTLS {
    /// Connects with `options`, reads the handler's first line, sends `send` and reads as many bytes back.
    package static func exchange(
        port: Int, _ options: OpenSSLClient.Options = OpenSSLClient.Options(), send: String? = nil,
        timeout: TimeInterval = 60
    ) throws -> TLSExchange {
        let request = try TLSExchange.request(port: port, options, send: send)
        let result = try Subprocess.run(
            "/usr/bin/env", ["python3", "-c", exchangeScript, request.path + "/request.json"], timeout: timeout)
        return try TLSExchange(json: result.standardOutput + result.standardError)
    }

    /// Runs `script` with `arguments` (as `sys.argv[1...]`) and decodes its standard output as JSON.
    package static func run(_ script: String, arguments: [String] = [], timeout: TimeInterval = 60) throws -> Any {
        let result = try Subprocess.run("/usr/bin/env", ["python3", "-c", script] + arguments, timeout: timeout)
        guard let data = result.standardOutput.data(using: .utf8),
            let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        else {
            throw Subprocess.Failure(
                description: "python3 exited \(result.status): \(result.standardOutput)\n\(result.standardError)")
        }
        return value
    }

    static let exchangeScript = """
        import json, socket, ssl, sys
        with open(sys.argv[1]) as request:
            o = json.load(request)
        result = {}
        try:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if o.get("ca"):
                context.load_verify_locations(o["ca"])
                context.check_hostname = bool(o.get("serverName"))
            else:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            version = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}.get(o.get("version"))
            if version:
                context.minimum_version = version
                context.maximum_version = version
            if o.get("alpn"):
                context.set_alpn_protocols(o["alpn"])
            if o.get("cert"):
                context.load_cert_chain(o["cert"], o["key"])
            raw = socket.create_connection(("127.0.0.1", o["port"]), timeout=15)
            s = context.wrap_socket(raw, server_hostname=o.get("serverName"))
            result["protocol"] = s.version()
            result["cipher"] = s.cipher()[0]
            result["alpn"] = s.selected_alpn_protocol()
            if o.get("ca"):
                result["serial"] = s.getpeercert().get("serialNumber")
            received = b""
            while b"\\n" not in received:
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += chunk
            if b"\\n" in received:
                line, _, received = received.partition(b"\\n")
                result["first"] = line.decode()
            if o.get("send") is not None and "first" in result:
                data = o["send"].encode()
                s.sendall(data)
                while len(received) < len(data):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    received += chunk
                if len(received) >= len(data):
                    result["echo"] = received.decode()
            s.close()
        except Exception as error:
            result["error"] = type(error).__name__ + ": " + str(error)
        print(json.dumps(result))
        """
}

/// Node's `tls` module as a TLS client.
package enum NodeTLS {
    /// Connects with `options`, reads the handler's first line, sends `send` and reads as many bytes back.
    package static func exchange(
        port: Int, _ options: OpenSSLClient.Options = OpenSSLClient.Options(), send: String? = nil,
        timeout: TimeInterval = 60
    ) throws -> TLSExchange {
        let request = try TLSExchange.request(port: port, options, send: send)
        let result = try NodePeer.run(exchangeScript, arguments: [request.path + "/request.json"], timeout: timeout)
        return try TLSExchange(json: result.standardOutput + result.standardError)
    }

    /// Runs `script` with `arguments` (as `process.argv.slice(1)`) and decodes its standard output as JSON.
    package static func run(_ script: String, arguments: [String] = [], timeout: TimeInterval = 60) throws -> Any {
        let result = try NodePeer.run(script, arguments: arguments, timeout: timeout)
        guard let data = result.standardOutput.data(using: .utf8),
            let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        else {
            throw Subprocess.Failure(
                description: "node exited \(result.status): \(result.standardOutput)\n\(result.standardError)")
        }
        return value
    }

    static let exchangeScript = """
        const tls = require("tls"), fs = require("fs");
        const o = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
        const result = {};
        const options = { host: "127.0.0.1", port: o.port, rejectUnauthorized: !!o.ca };
        if (o.ca) options.ca = fs.readFileSync(o.ca);
        if (o.serverName) options.servername = o.serverName;
        else options.checkServerIdentity = () => undefined;
        if (o.version) options.minVersion = options.maxVersion = "TLSv" + o.version;
        if (o.alpn) options.ALPNProtocols = o.alpn;
        if (o.cert) { options.cert = fs.readFileSync(o.cert); options.key = fs.readFileSync(o.key); }
        const socket = tls.connect(options, () => {
          result.protocol = socket.getProtocol();
          result.cipher = socket.getCipher().name;
          result.alpn = socket.alpnProtocol || null;
          result.serial = socket.getPeerCertificate().serialNumber;
        });
        const expected = o.send === undefined ? 0 : Buffer.byteLength(o.send);
        let received = Buffer.alloc(0);
        socket.on("data", (data) => {
          received = Buffer.concat([received, data]);
          if (result.first === undefined) {
            const newline = received.indexOf(10);
            if (newline < 0) return;
            result.first = received.subarray(0, newline).toString();
            received = received.subarray(newline + 1);
            if (o.send === undefined) return socket.end();
            socket.write(o.send);
          }
          if (received.length >= expected) { result.echo = received.toString(); socket.end(); }
        });
        socket.on("error", (error) => { result.error = result.error || `${error.code}: ${error.message}`; });
        socket.on("close", () => { clearTimeout(timer); console.log(JSON.stringify(result)); });
        const timer = setTimeout(() => { result.error = result.error || "timeout"; socket.destroy(); }, 20000);
        """
}
