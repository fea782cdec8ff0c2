import BerthTestSupport
import Foundation
import Testing

/// Handshakes that fail next to one that works: a plaintext client, clients that never finish the handshake, and a
/// source the manifest denies, while a healthy TLS client keeps echoing. Each is counted per reason in the endpoint's
/// summary line, never logged one line each, and the denied source costs no handshake work.
@Suite(.serialized, .timeLimit(.minutes(3))) struct TLSRefusalTests {
    /// A TLS client that sends a line every 50 ms and counts the echoes; on SIGUSR2 it stops and prints
    /// `{sent, echoed, errors, closed}` (by itself after 60 s).
    static let healthyClient = """
        const tls = require("tls");
        const port = Number(process.argv[1]);
        let sent = 0, echoed = 0, closed = false, pending = "", timer;
        const errors = [];
        const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
          console.log("secure");
          timer = setInterval(() => socket.write(`beat ${sent++}\\n`), 50);
        });
        socket.setEncoding("utf8");
        socket.on("data", (data) => {
          pending += data;
          for (let newline; (newline = pending.indexOf("\\n")) >= 0; pending = pending.slice(newline + 1)) {
            if (pending.startsWith("beat ")) echoed++;
          }
        });
        socket.on("error", (error) => errors.push(`${error.code}: ${error.message}`));
        socket.on("close", () => { closed = true; });
        const finish = () => { console.log(JSON.stringify({ sent, echoed, errors, closed })); process.exit(0); };
        process.on("SIGUSR2", () => { clearInterval(timer); setTimeout(finish, 500); });
        setTimeout(finish, 60000);
        """

    /// Python clients that misbehave, all at once: plaintext HTTP, a silent connection, half a ClientHello, and three
    /// connections from 127.0.0.2 (a raw ClientHello twice, a full `ssl` handshake once). For each: how long until
    /// the broker closed it, how, and how many bytes it had sent back.
    static let misbehavingClients = """
        import json, socket, ssl, sys, threading, time
        port = int(sys.argv[1])
        results = {}

        def client_hello():
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            connection = context.wrap_bio(incoming, outgoing, server_hostname="guarded.test")
            try:
                connection.do_handshake()
            except ssl.SSLWantReadError:
                pass
            return outgoing.read()

        def until_closed(name, sock, started):
            received, how = b"", "open after 8s"
            sock.settimeout(8)
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        how = "eof"
                        break
                    received += chunk
            except ConnectionResetError:
                how = "reset"
            except socket.timeout:
                pass
            results[name] = {"seconds": round(time.monotonic() - started, 3), "how": how, "bytes": len(received),
                             "text": received[:200].decode("latin-1")}
            sock.close()

        def plaintext():
            sock = socket.create_connection(("127.0.0.1", port))
            started = time.monotonic()
            sock.sendall(b"GET / HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n")
            until_closed("plaintext", sock, started)

        def silent():
            sock = socket.create_connection(("127.0.0.1", port))
            until_closed("silent", sock, time.monotonic())

        def partial():
            hello = client_hello()
            sock = socket.create_connection(("127.0.0.1", port))
            started = time.monotonic()
            sock.sendall(hello[: len(hello) // 2])
            until_closed("partial", sock, started)

        def denied_raw(name):
            hello = client_hello()
            sock = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0))
            started = time.monotonic()
            try:
                sock.sendall(hello)
            except OSError:
                pass
            until_closed(name, sock, started)

        def denied_handshake():
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            started = time.monotonic()
            try:
                sock = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0))
                context.wrap_socket(sock, server_hostname="guarded.test")
                how = "handshake finished"
            except Exception as error:
                how = type(error).__name__
            results["denied-handshake"] = {"seconds": round(time.monotonic() - started, 3), "how": how, "bytes": 0}

        threads = [threading.Thread(target=f) for f in (plaintext, silent, partial, denied_handshake)]
        threads += [threading.Thread(target=denied_raw, args=(name,)) for name in ("denied-1", "denied-2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        print(json.dumps(results))
        """

    @Test func failedHandshakesAreCountedNextToAHealthyClient() throws {
        let port = try FreePort.tcp()
        let site = try TLSSite()
        let server = try site.pki.server("server", names: ["guarded.test"])
        try site.folder.write([
            "guarded.tcp.\(port).port.js": TLSSite.probe,
            "manifest.json": Reload.manifest(
                defaults: #", "deny": ["127.0.0.2/32"]"#,
                handlers: #"{"guarded": {"tls": \#(try site.pair(server, #", "handshakeTimeout": "1s""#))}}"#),
        ])
        let broker = try ServeProcess(folder: site.folder.path, readyCount: 1)
        defer { broker.stop() }

        let healthy = try BackgroundPeer(node: Self.healthyClient, arguments: [String(port)])
        defer { healthy.stop() }
        #expect(healthy.waitForOutput("secure", timeout: 10), "\(healthy.text)\n\(broker.log)")
        Thread.sleep(forTimeInterval: 0.3)

        let report = try #require(
            try PythonTLS.run(Self.misbehavingClients, arguments: [String(port)], timeout: 60) as? [String: [String: Any]])
        func outcome(_ name: String) -> (seconds: Double, how: String, bytes: Int, text: String) {
            let entry = report[name] ?? [:]
            return (entry["seconds"] as? Double ?? -1, entry["how"] as? String ?? "missing", entry["bytes"] as? Int ?? -1,
                    entry["text"] as? String ?? "")
        }
        // Plaintext: closed at once (well before the handshake timeout), never answered by a handler.
        let plaintext = outcome("plaintext")
        #expect(plaintext.how == "eof" || plaintext.how == "reset", "\(report)")
        #expect(plaintext.seconds >= 0 && plaintext.seconds < 0.9, "\(report)")
        #expect(!plaintext.text.contains("GET") && !plaintext.text.contains("{"), "\(report)")
        // Never finishing the handshake: cut at the manifest's 1 s.
        for name in ["silent", "partial"] {
            let stalled = outcome(name)
            #expect(stalled.how == "eof" || stalled.how == "reset", "\(name): \(report)")
            #expect(stalled.seconds >= 0.9 && stalled.seconds < 3.5, "\(name): \(report)")
            #expect(stalled.bytes == 0 || name == "partial", "\(name): \(report)")
        }
        // Denied: reset at once, not one byte of a ServerHello or certificate.
        for name in ["denied-1", "denied-2"] {
            let denied = outcome(name)
            #expect(denied.how == "reset" || denied.how == "eof", "\(name): \(report)")
            #expect(denied.bytes == 0 && denied.seconds < 0.5, "\(name): \(report)")
        }
        let deniedHandshake = outcome("denied-handshake")
        #expect(deniedHandshake.how != "handshake finished" && deniedHandshake.how != "missing", "\(report)")
        #expect(deniedHandshake.seconds < 0.5, "\(report)")

        // The healthy client saw none of it.
        Thread.sleep(forTimeInterval: 0.5)
        let finished = healthy.finish()
        let summary = try #require(
            finished.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }
                as? [String: Any], "\(finished)")
        #expect((summary["errors"] as? [Any])?.isEmpty == true && summary["closed"] as? Bool == false, "\(summary)")
        let sent = summary["sent"] as? Int ?? 0
        #expect(sent >= 20 && summary["echoed"] as? Int == sent, "\(summary)")

        // Counted per reason in the summary line, nothing logged per connection, no handler for any of them.
        let expected = ["deny": 3, "tls-plaintext": 1, "tls-timeout": 2]
        let counts = broker.waitForRefusals(on: "tcp/\(port)", atLeast: expected)
        #expect(counts == expected, "the denied source costs no handshake, so no tls-* count: \(broker.log)")
        for summary in broker.refusalSummaries(on: "tcp/\(port)") {
            #expect(summary.total == summary.reasons.values.reduce(0, +), "\(summary)")
            #expect(summary.entry.level == "warn" && summary.entry.handler == "guarded", "\(summary)")
            #expect(summary.entry.message.contains(" in the last 5s on tcp/\(port)"), "\(summary)")
        }
        let perConnection = broker.entries.filter { entry in
            RefusalSummary(entry) == nil
                && ["handshake", "plaintext", "127.0.0.2"].contains { entry.message.lowercased().contains($0) }
        }
        #expect(perConnection.isEmpty, "\(perConnection.map(\.line))")
        #expect(broker.count(message: "handled ") == 1, "only the healthy client reached the handler: \(broker.log)")
        broker.signal(SIGTERM)
        #expect(broker.waitForExit() == 0)
        #expect(broker.refusals(on: "tcp/\(port)") == expected, "\(broker.log)")
    }

    /// A client below the endpoint's minVersion (TLS 1.2 against "1.3") is refused and counted as tls-version; a
    /// client that resets mid-handshake is counted as tls-aborted.
    @Test func versionAndAbortedHandshakesAreCounted() throws {
        let port = try FreePort.tcp()
        let site = try TLSSite()
        let server = try site.pki.server("server", names: ["modern.test"])
        try site.folder.write([
            "modern.tcp.\(port).port.js": TLSSite.probe,
            "manifest.json": Reload.manifest(
                handlers: #"{"modern": {"tls": \#(try site.pair(server, #", "minVersion": "1.3""#))}}"#),
        ])
        let broker = try ServeProcess(folder: site.folder.path, readyCount: 1)
        defer { broker.stop() }
        let old = try OpenSSLClient.handshake(port: port, .init(version: "1.2"))
        #expect(!old.isEstablished, "\(old)")
        let current = try OpenSSLClient.handshake(port: port, .init(version: "1.3"))
        #expect(current.protocolVersion == "TLSv1.3", "\(current)")
        let aborted = try PythonTLS.run("""
            import socket, ssl, struct, sys
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            connection = context.wrap_bio(incoming, outgoing)
            try:
                connection.do_handshake()
            except ssl.SSLWantReadError:
                pass
            sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            sock.sendall(outgoing.read())
            sock.settimeout(5)
            received = sock.recv(5)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            print(len(received))
            """, arguments: [String(port)])
        #expect(aborted as? Int == 5, "a ServerHello had begun: \(aborted)")
        let counts = broker.waitForRefusals(on: "tcp/\(port)", atLeast: ["tls-version": 1, "tls-aborted": 1])
        #expect(counts == ["tls-version": 1, "tls-aborted": 1], "\(broker.log)")
    }
}
