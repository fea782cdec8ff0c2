import BerthTestSupport
import Foundation
import Testing

/// `berth serve` end to end: a real broker process, real peers (nc, Node's net and dgram) on loopback.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ServeTests {
    /// Loopback only, with limits generous enough for load tests from one source address.
    static let allowLoopback = #"""
        {"version": 1, "defaults": {"allow": ["127.0.0.0/8", "::1"], "maxConnections": 4096,
         "maxConnectionsPerSource": 4096, "connectionRate": "100000/s", "burst": 100000, "datagramRate": "100000/s"}}
        """#
    static let plainEcho = "export function handle(conn) { conn.on(\"data\", (d) => conn.write(d)); }\n"

    func seedEcho() throws -> String {
        try String(contentsOfFile: PackagePaths.path("examples/echo.tcp.7000.port.js"), encoding: .utf8)
    }

    @Test func seedEchoGreetsAndEchoesOverNetcatAndNode() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write(["echo.tcp.\(port).port.js": try seedEcho(), "manifest.json": Self.allowLoopback])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }

        let nc = try Subprocess.run("/bin/sh", ["-c", "printf 'hi there\\n' | nc -N 127.0.0.1 \(port)"], timeout: 20)
        #expect(nc.standardOutput == "hello from :\(port)\nhi there\n", "\(nc.standardError)\n\(broker.log)")

        let node = try NodePeer.run("""
            const net = require("net");
            const socket = net.connect(\(port), "127.0.0.1");
            let text = "";
            socket.setEncoding("utf8");
            socket.on("data", (d) => { text += d; if (text.endsWith("ünïcode ✓\\n")) socket.end(); });
            socket.on("connect", () => socket.write("ünïcode ✓\\n"));
            socket.on("close", () => { process.stdout.write(JSON.stringify(text)); });
            """)
        #expect(node.standardOutput == "\"hello from :\(port)\\nünïcode ✓\\n\"", "\(node.standardError)")
    }

    @Test func udpHandlerRepliesThroughCtxReply() throws {
        let port = try FreePort.udp()
        let folder = try TemporaryFolder()
        try folder.write([
            "ping.udp.\(port).port.js": """
                let n = 0;
                export function message(msg, rinfo, ctx) {
                  n += 1;
                  ctx.reply(Buffer.from(`pong #${n} ${msg.toString()} ${rinfo.family} ${rinfo.size}\\n`), rinfo);
                }
                """,
            "manifest.json": Self.allowLoopback,
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }
        let node = try NodePeer.run("""
            const dgram = require("dgram");
            const socket = dgram.createSocket("udp4");
            const replies = [];
            socket.on("message", (m) => { replies.push(m.toString()); if (replies.length === 3) { console.log(replies.join("")); socket.close(); } });
            let i = 0;
            const send = () => { if (replies.length < 3) { socket.send("ab" + i, \(port), "127.0.0.1"); i += 1; setTimeout(send, 100); } };
            send();
            setTimeout(() => { console.log("timeout", replies); process.exit(1); }, 10000);
            """)
        #expect(node.standardOutput.hasPrefix("pong #1 ab0 IPv4 3\npong #2 ab1 IPv4 3\npong #3 ab2 IPv4 3\n"),
                "\(node.standardOutput)\(node.standardError)\n\(broker.log)")
    }

    @Test func thousandConnectionsHundredMessagesEachInOrder() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write(["echo.tcp.\(port).port.js": Self.plainEcho, "manifest.json": Self.allowLoopback])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }
        let node = try NodePeer.run("""
            const net = require("net");
            const CONNECTIONS = 1000, MESSAGES = 100;
            let done = 0, bad = 0;
            for (let c = 0; c < CONNECTIONS; c++) {
              const expected = [];
              for (let m = 0; m < MESSAGES; m++) expected.push(`c${c}m${m};`);
              const want = expected.join("");
              let got = "";
              const socket = net.connect(\(port), "127.0.0.1", () => {
                let m = 0;
                const pump = () => { while (m < MESSAGES) { if (!socket.write(expected[m++])) { socket.once("drain", pump); return; } } };
                pump();
              });
              socket.setEncoding("utf8");
              socket.on("data", (d) => { got += d; if (got.length >= want.length) socket.end(); });
              socket.on("error", (e) => { bad++; console.error(String(e)); });
              socket.on("close", () => { if (got !== want) bad++; if (++done === CONNECTIONS) { console.log(`done ${bad}`); process.exit(0); } });
            }
            setTimeout(() => { console.log(`timeout done=${done} bad=${bad}`); process.exit(1); }, 120000);
            """, timeout: 150)
        #expect(node.standardOutput == "done 0\n", "\(node.standardOutput)\(node.standardError.prefix(2000))")
        #expect(broker.isRunning)
    }

    @Test func sixtyFourMiBToASlowReaderStaysBoundedAndIntact() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write([
            "bulk.tcp.\(port).port.js": """
                const TOTAL = 64 * 1024 * 1024;
                const chunk = Buffer.alloc(65536);
                for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
                export function handle(conn) {
                  let sent = 0;
                  const pump = () => {
                    while (sent < TOTAL) {
                      sent += chunk.length;
                      if (!conn.write(chunk)) { conn.once("drain", pump); return; }
                    }
                    conn.end();
                  };
                  pump();
                }
                """,
            "manifest.json": Self.allowLoopback,
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }
        let baseline = residentKiB(broker.pid)
        let sampler = RSSSampler(pid: broker.pid)
        let node = try NodePeer.run("""
            const net = require("net"), crypto = require("crypto");
            const chunk = Buffer.alloc(65536);
            for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
            const expected = crypto.createHash("sha256");
            for (let i = 0; i < 1024; i++) expected.update(chunk);
            const hash = crypto.createHash("sha256");
            let bytes = 0;
            const socket = net.connect(\(port), "127.0.0.1");
            socket.on("data", (d) => {
              hash.update(d); bytes += d.length;
              // Read slowly: pause for a moment every 4 MiB.
              if (bytes % (4 << 20) < d.length) { socket.pause(); setTimeout(() => socket.resume(), 50); }
            });
            socket.on("end", () => { console.log(bytes, hash.digest("hex") === expected.digest("hex")); });
            """, timeout: 120)
        let peak = sampler.stop()
        #expect(node.standardOutput == "67108864 true\n", "\(node.standardOutput)\(node.standardError)")
        // The broker never holds the 64 MiB: its resident size grows by well under that.
        #expect(peak - baseline < 24 * 1024, "baseline \(baseline) KiB, peak \(peak) KiB")
    }

    @Test func pauseStopsReadingAndResumeRestarts() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write([
            "sink.tcp.\(port).port.js": """
                export function handle(conn) {
                  conn.once("data", () => {
                    conn.pause();
                    setTimeout(() => {
                      conn.write(`paused ${conn.bytesRead}\\n`);
                      conn.resume();
                    }, 500);
                  });
                  conn.on("end", () => conn.end(`total ${conn.bytesRead}\\n`));
                }
                """,
            "manifest.json": Self.allowLoopback,
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }
        let node = try NodePeer.run("""
            const net = require("net");
            const socket = net.connect(\(port), "127.0.0.1", () => {
              const block = Buffer.alloc(1 << 20, 1);
              let sent = 0;
              const pump = () => { while (sent < 16) { sent++; if (!socket.write(block)) { socket.once("drain", pump); return; } } socket.end(); };
              pump();
            });
            let text = "";
            socket.setEncoding("utf8");
            socket.on("data", (d) => text += d);
            socket.on("close", () => console.log(text.trim()));
            """, timeout: 60)
        let lines = node.standardOutput.split(separator: "\n")
        #expect(lines.count == 2, "\(node.standardOutput)\(node.standardError)")
        let paused = Int(lines.first?.split(separator: " ").last ?? "") ?? -1
        #expect(paused > 0 && paused <= 65536 * 2, "bytes read while paused: \(paused)")
        #expect(lines.last == "total 16777216")
    }

    @Test func faultsStayWithTheirHandler() throws {
        let ports = try (0..<5).map { _ in try FreePort.tcp() }
        let folder = try TemporaryFolder()
        try folder.write([
            "healthy.tcp.\(ports[0]).port.js": Self.plainEcho,
            "thrower.tcp.\(ports[1]).port.js": "export function handle(conn) { throw new Error(\"boom from thrower\"); }\n",
            "rejecter.tcp.\(ports[2]).port.js": "export async function handle(conn) { await null; throw new Error(\"async boom\"); }\n",
            "spinner.tcp.\(ports[3]).port.js": "export function handle(conn) { while (true) {} }\n",
            "hog.tcp.\(ports[4]).port.js": "export function handle(conn) { const a = []; for (;;) a.push(new Array(1e5).fill(1)); }\n",
            "manifest.json": Self.allowLoopback,
        ])
        let broker = try ServeProcess(folder: folder.path, arguments: ["--bind", "127.0.0.1", "--cpu-budget", "300ms", "--heap-limit", "16MiB"], readyCount: 5)
        defer { broker.stop() }
        let node = try NodePeer.run("""
            const net = require("net");
            const [healthy, ...faulty] = process.argv.slice(1).map(Number);
            const echo = (i) => new Promise((resolve) => {
              const s = net.connect(healthy, "127.0.0.1", () => s.write(`ping ${i}`));
              s.setEncoding("utf8");
              let got = ""; s.on("data", (d) => { got += d; if (got === `ping ${i}`) { s.end(); resolve(true); } });
              s.on("error", () => resolve(false)); setTimeout(() => resolve(false), 5000);
            });
            const poke = (port) => new Promise((resolve) => {
              const s = net.connect(port, "127.0.0.1", () => s.write("x"));
              s.on("close", () => resolve("closed")); s.on("error", () => {}); setTimeout(() => { s.destroy(); resolve("open"); }, 5000);
            });
            (async () => {
              const results = [];
              for (let round = 0; round < 2; round++) {
                for (const port of faulty) {
                  const closing = poke(port);
                  results.push(await echo(`${round}-${port}`));
                  results.push(await closing);
                }
              }
              console.log(results.join(" "));
            })();
            """, arguments: ports.map(String.init), timeout: 90)
        #expect(node.standardOutput == String(repeating: "true closed ", count: 8).trimmingCharacters(in: .whitespaces) + "\n",
                "\(node.standardOutput)\(node.standardError)\n\(broker.log)")
        #expect(broker.isRunning)
        #expect(broker.waitForLog("boom from thrower"))
        #expect(broker.lines.contains { $0.contains("\"handler\":\"thrower\"") && $0.contains("boom from thrower") })
        #expect(broker.lines.contains { $0.contains("\"handler\":\"rejecter\"") && $0.contains("async boom") })
        #expect(broker.lines.contains { $0.contains("\"handler\":\"spinner\"") && $0.contains("CPU budget") })
        #expect(broker.lines.contains { $0.contains("\"handler\":\"hog\"") && $0.contains("memory") })
    }

    @Test func openCompletesBeforeAcceptAndCloseRunsAtShutdown() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write([
            "life.tcp.\(port).port.js": """
                let state = "loading";
                export async function open(ctx) {
                  await new Promise((resolve) => setTimeout(resolve, 300));
                  state = "opened";
                  ctx.signal.addEventListener("abort", () => console.log("signal aborted"));
                }
                export function handle(conn) { conn.end(`${state}\\n`); }
                export function close(ctx) { console.log(`close ran, aborted=${ctx.signal.aborted}`); }
                """,
            "manifest.json": Self.allowLoopback,
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        let nc = try Subprocess.run("/bin/sh", ["-c", "nc -N 127.0.0.1 \(port) < /dev/null"], timeout: 20)
        #expect(nc.standardOutput == "opened\n")
        broker.signal(SIGTERM)
        #expect(broker.waitForExit() == 0)
        let log = broker.log
        let abort = log.range(of: "signal aborted")
        let close = log.range(of: "close ran, aborted=true")
        #expect(abort != nil && close != nil, "\(log)")
        if let abort, let close { #expect(abort.lowerBound < close.lowerBound) }
    }

    @Test func gracePeriodLetsOpenConnectionsFinishThenEnds() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write(["echo.tcp.\(port).port.js": Self.plainEcho, "manifest.json": Self.allowLoopback])
        let broker = try ServeProcess(folder: folder.path, arguments: ["--bind", "127.0.0.1", "--grace", "2s"], readyCount: 1)
        let pid = broker.pid
        let node = try NodePeer.run("""
            const net = require("net");
            const started = Date.now();
            const s = net.connect(\(port), "127.0.0.1", () => {
              process.kill(\(pid), "SIGTERM");
              // Still served during the grace period:
              setTimeout(() => s.write("during grace"), 300);
            });
            s.setEncoding("utf8");
            let got = "";
            s.on("data", (d) => got += d);
            s.on("close", () => console.log(JSON.stringify(got), Date.now() - started >= 1500));
            """, timeout: 30)
        #expect(node.standardOutput == "\"during grace\" true\n", "\(node.standardOutput)\(node.standardError)\n\(broker.log)")
        #expect(broker.waitForExit() == 0)
        // New connections are refused once shutdown begins.
        let late = try Subprocess.run("/bin/sh", ["-c", "nc -N 127.0.0.1 \(port) < /dev/null; echo rc=$?"], timeout: 10)
        #expect(late.standardOutput.contains("rc=1"))
    }

    @Test func aSecondSignalExitsAtOnce() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write(["echo.tcp.\(port).port.js": Self.plainEcho, "manifest.json": Self.allowLoopback])
        let broker = try ServeProcess(folder: folder.path, arguments: ["--bind", "127.0.0.1", "--grace", "30s"], readyCount: 1)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/bin/sh")
        client.arguments = ["-c", "sleep 20 | nc 127.0.0.1 \(port)"]
        try client.run()
        defer { client.terminate() }
        Thread.sleep(forTimeInterval: 0.5)
        broker.signal(SIGTERM)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(broker.isRunning, "the grace period holds the open connection")
        let start = Date()
        broker.signal(SIGINT)
        #expect(broker.waitForExit(timeout: 5) != nil)
        #expect(Date().timeIntervalSince(start) < 3)
    }

    @Test func refusedEntriesAreLoggedWhileTheOthersServe() throws {
        let (good, conflict, broken) = (try FreePort.tcp(), try FreePort.tcp(), try FreePort.tcp())
        let folder = try TemporaryFolder()
        try folder.write([
            "good.tcp.\(good).port.js": Self.plainEcho,
            "a.tcp.\(conflict).port.js": "export function handle(conn) { conn.end(\"a\\n\"); }\n",
            "b.tcp.\(conflict).port.js": "export function handle(conn) { conn.end(\"b\\n\"); }\n",
            "broken.tcp.\(broken).port.js": "export function handle(conn {\n}\n",
            "manifest.json": Self.allowLoopback,
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 2)
        defer { broker.stop() }
        #expect(broker.lines.contains { $0.contains("module.syntax") && $0.contains("broken.tcp.\(broken).port.js") })
        #expect(broker.lines.contains { $0.contains("grammar.port-conflict") && $0.contains("b.tcp.\(conflict).port.js") })
        let a = try Subprocess.run("/bin/sh", ["-c", "nc -N 127.0.0.1 \(conflict) < /dev/null"], timeout: 10)
        #expect(a.standardOutput == "a\n")
        let echo = try Subprocess.run("/bin/sh", ["-c", "printf ok | nc -N 127.0.0.1 \(good)"], timeout: 10)
        #expect(echo.standardOutput == "ok")
    }

    @Test func defaultBindIsDualStackAndFamiliesAreReportedAsNodeDoes() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write([
            "who.tcp.\(port).port.js": "export function handle(conn) { conn.end(`${conn.remoteFamily} ${conn.remoteAddress} ${conn.localPort}\\n`); }\n",
            "manifest.json": Self.allowLoopback,
        ])
        let broker = try ServeProcess(folder: folder.path, arguments: [], readyCount: 1)
        defer { broker.stop() }
        let v4 = try Subprocess.run("/bin/sh", ["-c", "nc -N 127.0.0.1 \(port) < /dev/null"], timeout: 10)
        #expect(v4.standardOutput == "IPv4 127.0.0.1 \(port)\n")
        let v6 = try Subprocess.run("/bin/sh", ["-c", "nc -N ::1 \(port) < /dev/null"], timeout: 10)
        #expect(v6.standardOutput == "IPv6 ::1 \(port)\n")
    }

    @Test func deniedSourcesAreResetBeforeAnyHandlerRuns() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write([
            "guarded.tcp.\(port).port.js": "export function handle(conn) { console.log(`reached by ${conn.remoteAddress}`); conn.end(\"hi\\n\"); }\n",
            "manifest.json": #"{"version": 1, "defaults": {"allow": ["127.0.0.0/8"], "deny": ["127.0.0.2/32"]}}"#,
        ])
        let broker = try ServeProcess(folder: folder.path, arguments: [], readyCount: 1)
        defer { broker.stop() }
        let allowed = try Subprocess.run("/bin/sh", ["-c", "nc -N -s 127.0.0.3 127.0.0.1 \(port) < /dev/null"], timeout: 10)
        #expect(allowed.standardOutput == "hi\n")
        let denied = try Subprocess.run("/bin/sh", ["-c", "nc -N -s 127.0.0.2 127.0.0.1 \(port) < /dev/null"], timeout: 10)
        #expect(denied.standardOutput.isEmpty)
        let v6 = try Subprocess.run("/bin/sh", ["-c", "nc -N ::1 \(port) < /dev/null"], timeout: 10)
        #expect(v6.standardOutput.isEmpty, "::1 is not in the allow list")
        #expect(broker.waitForLog("reached by 127.0.0.3"))
        #expect(!broker.log.contains("reached by 127.0.0.2") && !broker.log.contains("reached by ::1"))
    }

    @Test func connectionCapRefusesTheNextAndTheSummaryCountsIt() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write([
            "capped.tcp.\(port).port.js": "export function handle(conn) { conn.write(\"in\\n\"); conn.on(\"data\", () => conn.end()); }\n",
            "manifest.json": #"{"version": 1, "defaults": {"allow": ["127.0.0.0/8"], "maxConnections": 2, "maxConnectionsPerSource": 2}}"#,
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        let node = try NodePeer.run("""
            const net = require("net");
            const open = () => new Promise((resolve) => {
              const s = net.connect(\(port), "127.0.0.1");
              s.setEncoding("utf8");
              s.once("data", () => resolve({ s, ok: true }));
              s.on("error", () => resolve({ s, ok: false }));
              s.on("close", () => resolve({ s, ok: false }));
            });
            (async () => {
              const a = await open(), b = await open(), c = await open();
              a.s.write("bye");
              await new Promise((r) => a.s.on("close", r));
              await new Promise((r) => setTimeout(r, 100));
              const d = await open();
              console.log(a.ok, b.ok, c.ok, d.ok);
              b.s.destroy(); d.s.destroy();
            })();
            """, timeout: 30)
        #expect(node.standardOutput == "true true false true\n", "\(node.standardOutput)\(node.standardError)")
        broker.signal(SIGTERM)
        #expect(broker.waitForExit() == 0)
        #expect(broker.lines.contains { $0.contains("refused 1 in the last") && $0.contains("\"maxConnections\":\"1\"") },
                "\(broker.log)")
    }

    @Test func idleTimeoutClosesASilentConnectionAndNotAChattyOne() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write([
            "idle.tcp.\(port).port.js": Self.plainEcho,
            "manifest.json": #"{"version": 1, "defaults": {"allow": ["127.0.0.0/8"], "idleTimeout": "400ms"}}"#,
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }
        let node = try NodePeer.run("""
            const net = require("net");
            const started = Date.now();
            const result = {};
            const silent = net.connect(\(port), "127.0.0.1");
            silent.on("close", () => { result.silent = Date.now() - started; });
            const chatty = net.connect(\(port), "127.0.0.1");
            chatty.on("data", () => {});
            chatty.on("close", () => { result.chattyClosed = true; });
            const talk = setInterval(() => chatty.write("x"), 100);
            setTimeout(() => {
              clearInterval(talk);
              console.log(result.silent >= 350 && result.silent < 1500, result.chattyClosed === undefined);
              chatty.destroy();
            }, 2000);
            """, timeout: 30)
        #expect(node.standardOutput == "true true\n", "\(node.standardOutput)\(node.standardError)\n\(broker.log)")
    }

    @Test func aClientThatNeverReadsIsClosedOnceTheBufferCapIsReached() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write([
            "flood.tcp.\(port).port.js": """
                const chunk = Buffer.alloc(65536, 120);
                export function handle(conn) {
                  // Ignores backpressure on purpose: the broker's cap must protect itself.
                  const timer = setInterval(() => { for (let i = 0; i < 16; i++) conn.write(chunk); }, 10);
                  conn.on("close", () => { clearInterval(timer); console.log("flood connection closed"); });
                  conn.on("error", () => {});
                }
                """,
            "manifest.json": #"{"version": 1, "defaults": {"allow": ["127.0.0.0/8"], "maxBufferedBytes": 1048576}}"#,
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }
        let baseline = residentKiB(broker.pid)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/bin/sh")
        client.arguments = ["-c", "sleep 10 | nc 127.0.0.1 \(port) > /dev/null & sleep 0.2; kill -STOP $!; sleep 8; kill -9 $! 2>/dev/null"]
        try client.run()
        defer { client.terminate() }
        #expect(broker.waitForLog("closing a slow consumer", timeout: 8), "\(broker.log)")
        #expect(broker.waitForLog("flood connection closed", timeout: 5))
        #expect(residentKiB(broker.pid) - baseline < 64 * 1024)
        #expect(broker.isRunning)
    }

    @Test func aFloodFromDistinctSourcesKeepsThePerSourceTableWithinItsCap() throws {
        let port = try FreePort.udp()
        let folder = try TemporaryFolder()
        try folder.write([
            "sink.udp.\(port).port.js": "let n = 0;\nexport function message() { n++; }\n",
            "manifest.json": #"{"version": 1, "defaults": {"allow": ["127.0.0.0/8"], "datagramRate": "1/h", "burst": 1}}"#,
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        // 200,000 datagrams: two from each of 100,000 distinct loopback addresses (127.1.0.0 upwards).
        let flood = try Subprocess.run("/usr/bin/env", ["python3", "-c", """
            import socket, sys
            port = int(sys.argv[1])
            sent = 0
            for i in range(100000):
                a = 65536 + i
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.%d.%d.%d" % (a >> 16 & 255, a >> 8 & 255, a & 255), 0))
                for _ in range(2):
                    s.sendto(b"x", ("127.0.0.1", port))
                    sent += 1
                s.close()
            print(sent)
            """, String(port)], timeout: 240)
        #expect(flood.standardOutput == "200000\n", "\(flood.standardError)")
        broker.signal(SIGTERM)
        #expect(broker.waitForExit() == 0)
        let summary = broker.lines.last { $0.contains("\"sources\":") }
        let sources = summary.flatMap { line in
            line.range(of: #""sources":"(\d+)""#, options: .regularExpression).map { Int(line[$0].filter(\.isNumber)) ?? -1 }
        }
        #expect(sources != nil && sources! > 10_000 && sources! <= 65_536, "\(summary ?? broker.log)")
    }

    @Test func textLogsNameTheHandlerAndLevel() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write([
            "talker.tcp.\(port).port.js": "export function open() { console.warn(\"careful\", { n: 1 }); }\nexport function handle(c) { c.end(); }\n",
            "manifest.json": Self.allowLoopback,
        ])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BerthBinary.path)
        process.arguments = ["serve", folder.path, "--bind", "127.0.0.1"]
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 1.5)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains(" warn  talker: careful { n: 1 }\n"), "\(text)")
        #expect(text.contains(" info  talker: listening on tcp/\(port) file=talker.tcp.\(port).port.js address=127.0.0.1\n"))
        #expect(process.terminationStatus == 0)
    }

    @Test func strictRefusesToStartOnErrors() throws {
        let folder = try TemporaryFolder()
        try folder.write(["broken.tcp.\(try FreePort.tcp()).port.js": "export function handle(conn {\n}\n", "manifest.json": Self.allowLoopback])
        let result = try BerthBinary.run(["serve", "--strict", folder.path])
        #expect(result.status == 1)
        #expect(result.standardError.contains("not starting"))
    }
}

/// The resident set size of a process in KiB, from /proc.
func residentKiB(_ pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

/// Samples a process's resident size every 20 ms on a thread until stopped; returns the peak.
final class RSSSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0
    private var running = true
    private var thread: Thread?

    init(pid: Int32) {
        thread = Thread { [self] in
            while lock.withLock({ running }) {
                let now = residentKiB(pid)
                lock.withLock { peak = max(peak, now) }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        thread?.start()
    }

    func stop() -> Int {
        lock.withLock { running = false }
        return lock.withLock { peak }
    }
}
