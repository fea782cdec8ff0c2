import BerthTestSupport
import Foundation
import Testing

/// Flow control over TLS as in plain TCP: 64 MiB to a slow reader arrives intact without growing the broker,
/// maxBufferedBytes closes a reader that never reads, half-close works both ways, and `destroy()` is immediate.
@Suite(.serialized, .timeLimit(.minutes(5))) struct TLSBackpressureTests {
    /// The JavaScript both the handler and the Node client run to make chunk `index` of the 64 MiB stream: a fixed
    /// pseudo-random 64 KiB block with the index in its first four bytes (a lost, doubled or reordered chunk changes
    /// the SHA-256).
    static let chunkMaker = """
        const chunkSize = 65536, chunkCount = 1024;
        const block = new Uint8Array(chunkSize);
        for (let i = 0, state = 0x12345678; i < chunkSize; i++) {
          state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
          block[i] = state & 0xff;
        }
        const makeChunk = (index) => { const chunk = Buffer.from(block); chunk.writeUInt32BE(index, 0); return chunk; };
        """

    /// Writes the 64 MiB stream, waiting for 'drain' whenever write() returns false, then ends.
    static let bulkHandler = chunkMaker + """

        export function handle(conn) {
          let index = 0, refusals = 0, drains = 0, mostBuffered = 0;
          conn.on("error", () => {});
          conn.on("drain", () => { drains++; pump(); });
          const pump = () => {
            while (index < chunkCount) {
              const accepted = conn.write(makeChunk(index++));
              mostBuffered = Math.max(mostBuffered, conn.writableLength);
              if (!accepted) { refusals++; return; }
            }
            conn.end();
            console.log(`bulk sent ${chunkCount * chunkSize} bytes; write() false ${refusals} times, ${drains} drains, at most ${mostBuffered} buffered`);
          };
          pump();
        }

        """

    /// Reads the stream over TLS, pausing 40 ms after every 512 KiB; prints the SHA-256 of what came and of what the
    /// handler made.
    static let slowReader = chunkMaker + """

        const tls = require("tls"), crypto = require("crypto");
        const expected = crypto.createHash("sha256");
        for (let index = 0; index < chunkCount; index++) expected.update(makeChunk(index));
        const hash = crypto.createHash("sha256");
        let received = 0, nextPause = 512 * 1024, pauses = 0;
        const started = Date.now();
        const socket = tls.connect({ host: "127.0.0.1", port: Number(process.argv[1]), rejectUnauthorized: false },
          () => console.log("secure"));
        socket.on("data", (data) => {
          hash.update(data);
          received += data.length;
          if (received >= nextPause) {
            nextPause += 512 * 1024;
            pauses++;
            socket.pause();
            setTimeout(() => socket.resume(), 40);
          }
        });
        socket.on("error", (error) => console.log(JSON.stringify({ error: error.message, received })));
        socket.on("end", () => console.log(JSON.stringify({
          received, sha256: hash.digest("hex"), expected: expected.digest("hex"), pauses,
          seconds: (Date.now() - started) / 1000 })));
        setTimeout(() => { console.log(JSON.stringify({ error: "timeout", received })); process.exit(1); }, 120000).unref();
        """

    @Test func sixtyFourMiBToASlowReaderArriveIntactWithinTheBufferCap() throws {
        let port = try FreePort.tcp()
        let site = try TLSSite()
        let server = try site.pki.server("server", names: ["bulk.test"])
        try site.folder.write([
            "bulk.tcp.\(port).port.js": Self.bulkHandler,
            "manifest.json": Reload.manifest(
                defaults: #", "maxBufferedBytes": 4194304"#, handlers: #"{"bulk": {"tls": \#(try site.pair(server))}}"#),
        ])
        let broker = try ServeProcess(folder: site.folder.path, readyCount: 1)
        defer { broker.stop() }
        // One handshake first, so the baseline includes what every TLS connection loads once.
        #expect(try OpenSSLClient.handshake(port: port).isEstablished)
        Thread.sleep(forTimeInterval: 0.3)
        let baseline = broker.residentKiB

        let reader = try BackgroundPeer(node: Self.slowReader, arguments: [String(port)])
        defer { reader.stop() }
        var peak = baseline
        let deadline = Date() + 150
        while Date() < deadline, !reader.text.contains("\"received\"") {
            peak = max(peak, broker.residentKiB)
            Thread.sleep(forTimeInterval: 0.05)
        }
        let line = try #require(reader.text.split(separator: "\n").last { $0.hasPrefix("{") }, "\(reader.text)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(result["error"] == nil, "\(result)\n\(broker.log)")
        #expect(result["received"] as? Int == 64 << 20, "\(result)")
        #expect(result["sha256"] as? String == result["expected"] as? String, "\(result)")
        #expect((result["pauses"] as? Int ?? 0) >= 100, "the reader was slow: \(result)")
        #expect(peak - baseline < 32 * 1024, "RSS grew \(peak - baseline) KiB (baseline \(baseline) KiB)")
        let sent = try #require(broker.waitForEntry { $0.message.hasPrefix("bulk sent ") }, "\(broker.log)")
        #expect(sent.message.hasPrefix("bulk sent 67108864 bytes"), "\(sent.line)")
        // The handler met backpressure and its buffer stayed near the 16 KiB mark plus one chunk.
        let refusals = sent.message.split(separator: " ").dropFirst(6).first.flatMap { Int($0) } ?? 0
        #expect(refusals >= 100, "\(sent.line)")
        let mostBuffered = sent.message.split(separator: " ").dropLast().last.flatMap { Int($0) } ?? .max
        #expect(mostBuffered <= 16384 + 65536, "\(sent.line)")
        #expect(!broker.log.contains("closing a slow consumer"), "\(broker.log)")
    }

    @Test func maxBufferedBytesClosesAReaderThatNeverReads() throws {
        let port = try FreePort.tcp()
        let site = try TLSSite()
        let server = try site.pki.server("server", names: ["flood.test"])
        try site.folder.write([
            "flood.tcp.\(port).port.js": """
                const chunk = Buffer.alloc(65536, 120);
                export function handle(conn) {
                  // Ignores backpressure on purpose: the broker's cap must protect itself.
                  const timer = setInterval(() => { for (let i = 0; i < 16; i++) conn.write(chunk); }, 10);
                  conn.on("close", () => { clearInterval(timer); console.log("flood connection closed"); });
                  conn.on("error", () => {});
                }
                """,
            "manifest.json": Reload.manifest(
                defaults: #", "maxBufferedBytes": 1048576"#, handlers: #"{"flood": {"tls": \#(try site.pair(server))}}"#),
        ])
        let broker = try ServeProcess(folder: site.folder.path, readyCount: 1)
        defer { broker.stop() }
        #expect(try OpenSSLClient.handshake(port: port).isEstablished)
        Thread.sleep(forTimeInterval: 0.3)
        let baseline = broker.residentKiB
        let stalled = try BackgroundPeer(node: """
            const tls = require("tls");
            const socket = tls.connect({ host: "127.0.0.1", port: Number(process.argv[1]), rejectUnauthorized: false },
              () => { socket.pause(); console.log("secure, never reading"); });
            socket.on("error", () => {});
            setTimeout(() => process.exit(0), 30000);
            """, arguments: [String(port)])
        defer { stalled.stop() }
        #expect(stalled.waitForOutput("secure, never reading", timeout: 10), "\(stalled.text)")
        #expect(broker.waitForLog("closing a slow consumer", timeout: 10), "\(broker.log)")
        #expect(broker.waitForLog("flood connection closed", timeout: 5), "\(broker.log)")
        #expect(broker.residentKiB - baseline < 64 * 1024)
        #expect(try OpenSSLClient.handshake(port: port).isEstablished, "the endpoint keeps serving")
        let counts = broker.waitForRefusals(on: "tcp/\(port)", atLeast: ["slowConsumer": 1])
        #expect(counts["slowConsumer"] == 1, "\(broker.log)")
    }

    // MARK: Half-close and destroy

    /// The client ends (close_notify, then FIN) and still reads what the handler writes on its 'end' (as a Node
    /// server with the default allowHalfOpen: false, the broker ends its side once those writes are flushed).
    @Test func theClientEndsAndStillReadsTheReply() throws {
        let port = try FreePort.tcp()
        let site = try TLSSite()
        let server = try site.pki.server("server", names: ["half.test"])
        try site.folder.write([
            "replier.tcp.\(port).port.js": """
                export function handle(conn) {
                  conn.setEncoding("utf8");
                  let text = "";
                  conn.on("data", (data) => { text += data; });
                  conn.on("end", () => {
                    console.log(`client ended after ${text.length} chars`);
                    conn.write(`you sent ${JSON.stringify(text)}; `);
                    conn.end("and this came after your end\\n");
                  });
                  conn.on("close", () => console.log("replier closed"));
                  conn.on("error", (error) => console.log(`replier error ${error.message}`));
                }

                """,
            "manifest.json": Reload.manifest(handlers: #"{"replier": {"tls": \#(try site.pair(server))}}"#),
        ])
        let broker = try ServeProcess(folder: site.folder.path, readyCount: 1)
        defer { broker.stop() }
        for version in ["1.2", "1.3"] {
            let result = try NodeTLS.run("""
                const tls = require("tls");
                const [port, version] = process.argv.slice(1);
                const socket = tls.connect({ host: "127.0.0.1", port: Number(port), rejectUnauthorized: false,
                  allowHalfOpen: true, minVersion: version, maxVersion: version }, () => {
                  socket.write("ping over tls");
                  socket.end();
                });
                socket.setEncoding("utf8");
                let text = "", ended = false, error = null;
                socket.on("data", (data) => { text += data; });
                socket.on("end", () => { ended = true; });
                socket.on("error", (e) => { error = e.message; });
                socket.on("close", () => console.log(JSON.stringify({ text, ended, error })));
                setTimeout(() => socket.destroy(), 10000).unref();
                """, arguments: [String(port), "TLSv" + version]) as? [String: Any]
            #expect(result?["text"] as? String == #"you sent "ping over tls"; and this came after your end"# + "\n",
                    "TLS \(version): \(String(describing: result))\n\(broker.log)")
            #expect(result?["ended"] as? Bool == true && result?["error"] is NSNull, "\(String(describing: result))")
        }
        #expect(broker.count(message: "client ended after 13 chars") == 2, "\(broker.log)")
        #expect(broker.count(message: "replier error") == 0, "\(broker.log)")
    }

    /// The handler ends first (close_notify, then FIN); the client still writes and the handler still reads it.
    @Test func theHandlerEndsAndStillReadsTheClient() throws {
        let port = try FreePort.tcp()
        let site = try TLSSite()
        let server = try site.pki.server("server", names: ["half.test"])
        try site.folder.write([
            "hangup.tcp.\(port).port.js": """
                export function handle(conn) {
                  conn.setEncoding("utf8");
                  let text = "";
                  conn.end("bye\\n");
                  conn.on("data", (data) => { text += data; });
                  conn.on("end", () => console.log(`read after my end: ${JSON.stringify(text)}`));
                  conn.on("error", (error) => console.log(`hangup error ${error.message}`));
                }

                """,
            "manifest.json": Reload.manifest(handlers: #"{"hangup": {"tls": \#(try site.pair(server))}}"#),
        ])
        let broker = try ServeProcess(folder: site.folder.path, readyCount: 1)
        defer { broker.stop() }

        let node = try NodeTLS.run("""
            const tls = require("tls");
            const socket = tls.connect({ host: "127.0.0.1", port: Number(process.argv[1]), rejectUnauthorized: false,
              allowHalfOpen: true });
            socket.setEncoding("utf8");
            let text = "", error = null;
            socket.on("data", (data) => { text += data; });
            socket.on("end", () => {
              socket.write("node still here 1\\n");
              setTimeout(() => socket.end("node still here 2\\n"), 100);
            });
            socket.on("error", (e) => { error = e.message; });
            socket.on("close", () => console.log(JSON.stringify({ text, error })));
            setTimeout(() => socket.destroy(), 10000).unref();
            """, arguments: [String(port)]) as? [String: Any]
        #expect(node?["text"] as? String == "bye\n" && node?["error"] is NSNull, "\(String(describing: node))")
        #expect(broker.waitForLog(#"read after my end: \"node still here 1\\nnode still here 2\\n\""#), "\(broker.log)")

        // Python: reads to the close_notify, then writes and closes (a FIN without close_notify is an end too).
        let python = try PythonTLS.run("""
            import json, socket, ssl, sys
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            s = context.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10))
            received = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                received += chunk
            s.sendall(b"python still here\\n")
            s.close()
            print(json.dumps(received.decode()))
            """, arguments: [String(port)])
        #expect(python as? String == "bye\n", "\(python)")
        #expect(broker.waitForLog(#"read after my end: \"python still here\\n\""#), "\(broker.log)")
        #expect(broker.count(message: "hangup error") == 0, "\(broker.log)")
    }

    /// destroy() closes at once: 32 MiB written just before it are not waited for.
    @Test func destroyIsImmediate() throws {
        let port = try FreePort.tcp()
        let site = try TLSSite()
        let server = try site.pki.server("server", names: ["abrupt.test"])
        try site.folder.write([
            "abrupt.tcp.\(port).port.js": """
                const big = Buffer.alloc(32 << 20, 97);
                export function handle(conn) {
                  conn.once("data", () => {
                    conn.write(big);
                    const unsent = conn.writableLength;
                    conn.destroy();
                    console.log(`destroyed with ${unsent} bytes unsent: ${conn.destroyed}`);
                  });
                  conn.on("close", () => console.log("abrupt closed"));
                  conn.on("error", () => {});
                }

                """,
            "manifest.json": Reload.manifest(handlers: #"{"abrupt": {"tls": \#(try site.pair(server))}}"#),
        ])
        let broker = try ServeProcess(folder: site.folder.path, readyCount: 1)
        defer { broker.stop() }
        let result = try NodeTLS.run("""
            const tls = require("tls");
            let received = 0, sentAt = 0;
            const socket = tls.connect({ host: "127.0.0.1", port: Number(process.argv[1]), rejectUnauthorized: false },
              () => { sentAt = Date.now(); socket.write("go"); });
            socket.on("data", (data) => { received += data.length; });
            socket.on("error", () => {});
            socket.on("close", () => console.log(JSON.stringify({ received, milliseconds: Date.now() - sentAt })));
            setTimeout(() => socket.destroy(), 20000).unref();
            """, arguments: [String(port)]) as? [String: Any]
        #expect((result?["milliseconds"] as? Int ?? .max) < 2000, "\(String(describing: result))")
        #expect((result?["received"] as? Int ?? .max) < 32 << 20, "\(String(describing: result))")
        #expect(broker.waitForLog("destroyed with "), "\(broker.log)")
        #expect(broker.lines.contains { $0.contains("bytes unsent: true") }, "\(broker.log)")
        #expect(broker.waitForLog("abrupt closed", timeout: 2), "\(broker.log)")
    }
}
