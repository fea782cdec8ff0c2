import BerthTestSupport
import Foundation
import Testing

/// `berth serve` at the edges of what it can do: modules too large for the heap, ports it cannot bind, floods of
/// resets and descriptor exhaustion, signals it does not act on. A real broker process, real peers on loopback.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ServeLimitsTests {
    static let allowLoopback = ServeTests.allowLoopback
    static let plainEcho = ServeTests.plainEcho

    /// An echo through `port`, by nc; what came back.
    static func echo(_ text: String, port: Int) throws -> String {
        try Subprocess.run("/bin/sh", ["-c", "printf '\(text)' | nc -N 127.0.0.1 \(port)"], timeout: 10).standardOutput
    }

    // MARK: Modules and the heap limit

    /// 1.5 million lines of `x(1);` (9 MB) crashed the broker inside QuickJS's compiler at the 64 MiB heap limit,
    /// after `validate` had passed them. Both refuse it now, with the same code; the broker serves the rest.
    @Test func aModuleTooLargeForTheHeapIsRefusedByValidateAndServeAlike() throws {
        let (big, echo) = (try FreePort.tcp(), try FreePort.tcp())
        let folder = try TemporaryFolder()
        try folder.write([
            "big.tcp.\(big).port.js": "export function handle(conn) {}\n"
                + String(repeating: "x(1);\n", count: 1_500_000),
            "echo.tcp.\(echo).port.js": Self.plainEcho,
            "manifest.json": Self.allowLoopback,
        ])
        let validate = try BerthBinary.run(["validate", folder.path, "--no-color"])
        #expect(validate.status == 1, "\(validate.standardOutput)\(validate.standardError)")
        #expect(
            (validate.standardOutput + validate.standardError).contains(
                "big.tcp.\(big).port.js: error[module.too-large]: big.tcp.\(big).port.js has 8.6 MiB of source"))

        // Compiling 9 MB twice (validate's, then serve's) takes seconds, and many more on a busy machine.
        let broker = try ServeProcess(folder: folder.path, readyCount: 1, timeout: 120)
        defer { broker.stop() }
        #expect(broker.lines.contains { $0.contains("module.too-large") && $0.contains("big.tcp.\(big).port.js") },
                "\(broker.log)")
        #expect(try Self.echo("still here", port: echo) == "still here")
        #expect(broker.isRunning)
        broker.signal(SIGTERM)
        #expect(broker.waitForExit() == 0)
    }

    /// A module just under the source bound (1 MiB at the default heap limit) loads in both.
    @Test func aModuleJustUnderTheBoundLoadsInBoth() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let head = "const x = () => {};\nexport function handle(conn) { conn.end(\"loaded\\n\"); }\n"
        let body = String(repeating: "x(1);\n", count: ((1 << 20) - head.utf8.count) / 6)
        try folder.write(["near.tcp.\(port).port.js": head + body, "manifest.json": Self.allowLoopback])
        let validate = try BerthBinary.run(["validate", folder.path, "--no-color"])
        #expect(validate.status == 0, "\(validate.standardOutput)\(validate.standardError)")
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }
        #expect(try Self.echo("", port: port) == "loaded\n")
    }

    /// `--heap-limit` moves the bound for validate as for serve: what one accepts, the other loads.
    @Test func validateTakesServesHeapLimit() throws {
        let folder = try TemporaryFolder()
        try folder.write([
            "big.tcp.\(try FreePort.tcp()).port.js": "export function handle(conn) {}\n"
                + String(repeating: "0;\n", count: 3_000_000),
            "manifest.json": Self.allowLoopback,
        ])
        #expect(try BerthBinary.run(["validate", folder.path]).status == 1)
        #expect(try BerthBinary.run(["validate", folder.path, "--heap-limit", "1GiB"]).status == 0)
        let broker = try ServeProcess(
            folder: folder.path, arguments: ["--bind", "127.0.0.1", "--heap-limit", "1GiB"], readyCount: 1,
            timeout: 120)
        broker.stop()
    }

    // MARK: Ports that cannot be bound

    /// With every port taken the broker serves nothing: it says which port and why, and exits non-zero.
    @Test func everyPortTakenFailsNamingThePortAndTheReason() throws {
        let held = try [PortHolder(), PortHolder()]
        let folder = try TemporaryFolder()
        try folder.write([
            "a.tcp.\(held[0].port).port.js": Self.plainEcho, "b.tcp.\(held[1].port).port.js": Self.plainEcho,
            "manifest.json": Self.allowLoopback,
        ])
        let result = try BerthBinary.run(["serve", folder.path, "--bind", "127.0.0.1"])
        #expect(result.status == 1, "\(result.standardError)")
        for holder in held {
            #expect(result.standardError.contains("cannot bind tcp/\(holder.port) on 127.0.0.1: address already in use (EADDRINUSE)"),
                    "\(result.standardError)")
        }
        #expect(result.standardError.contains("nothing to serve"))
    }

    /// Some ports taken: the others serve (the failure is logged); with --strict the broker stops and fails.
    @Test func somePortsTakenServeTheRestUnlessStrict() throws {
        let held = try PortHolder()
        let free = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write([
            "a.tcp.\(held.port).port.js": Self.plainEcho, "b.tcp.\(free).port.js": Self.plainEcho,
            "manifest.json": Self.allowLoopback,
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        #expect(broker.waitForLog("cannot bind tcp/\(held.port) on 127.0.0.1: address already in use (EADDRINUSE)"))
        #expect(try Self.echo("b", port: free) == "b")
        broker.signal(SIGTERM)
        #expect(broker.waitForExit() == 0)

        let strict = try BerthBinary.run(["serve", folder.path, "--bind", "127.0.0.1", "--strict"])
        #expect(strict.status == 1, "\(strict.standardError)")
        #expect(strict.standardError.contains("cannot bind tcp/\(held.port)"))
        #expect(strict.standardError.contains("--strict, and a.tcp.\(held.port).port.js could not start"))
    }

    // MARK: Accept failures

    /// Connections reset while they wait to be accepted (the loop busy in a handler meanwhile) are counted in the
    /// endpoint's summary line, not logged one line each.
    @Test func resetsBeforeAcceptAreCountedNotLoggedEach() throws {
        let (busy, echo) = (try FreePort.tcp(), try FreePort.tcp())
        let folder = try TemporaryFolder()
        try folder.write([
            "busy.tcp.\(busy).port.js": "export function handle(conn) { const end = Date.now() + 1500; while (Date.now() < end) {} conn.end(); }\n",
            "echo.tcp.\(echo).port.js": Self.plainEcho,
            "manifest.json": Self.allowLoopback,
        ])
        let broker = try ServeProcess(
            folder: folder.path, arguments: ["--bind", "127.0.0.1", "--cpu-budget", "5s"], readyCount: 2)
        defer { broker.stop() }
        let node = try NodePeer.run("""
            const net = require("net");
            const [busy, echo] = process.argv.slice(1).map(Number);
            net.connect(busy, "127.0.0.1").on("error", () => {});
            setTimeout(() => {
              let reset = 0;
              for (let i = 0; i < 300; i++) {
                const s = net.connect(echo, "127.0.0.1", () => { s.resetAndDestroy(); if (++reset === 300) console.log("reset", reset); });
                s.on("error", () => {});
              }
            }, 300);
            """, arguments: [String(busy), String(echo)], timeout: 30)
        #expect(node.standardOutput == "reset 300\n", "\(node.standardOutput)\(node.standardError)")
        #expect(broker.waitForLog("\"reset-before-accept\":\"", timeout: 12), "\(broker.log)")
        #expect(!broker.lines.contains { $0.contains("accept failed") }, "\(broker.log)")
        #expect(broker.lines.count { $0.contains("\"handler\":\"echo\"") } < 10, "\(broker.log)")
        #expect(try Self.echo("fine", port: echo) == "fine")
    }

    /// Out of descriptors (RLIMIT_NOFILE lowered to 48), connections beyond it are reset: stated once, counted in
    /// the summary, and the broker serves again once descriptors free up.
    @Test func descriptorExhaustionIsStatedOnceCountedAndRecovers() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write(["echo.tcp.\(port).port.js": Self.plainEcho, "manifest.json": Self.allowLoopback])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1, launcher: ["/usr/bin/prlimit", "--nofile=48:48"])
        defer { broker.stop() }
        let node = try NodePeer.run("""
            const net = require("net");
            const port = Number(process.argv[1]);
            const sockets = [];
            let closed = 0;
            for (let i = 0; i < 100; i++) {
              const s = net.connect(port, "127.0.0.1");
              s.on("error", () => {}); s.on("close", () => closed++);
              sockets.push(s);
            }
            setTimeout(() => {
              const reset = closed;
              sockets.forEach((s) => s.destroy());
              setTimeout(() => {
                const t = net.connect(port, "127.0.0.1", () => t.write("back"));
                t.setEncoding("utf8");
                t.on("data", (d) => { console.log(reset > 0, d); t.destroy(); });
                t.on("error", (e) => console.log("error", e.message));
              }, 500);
            }, 2000);
            """, arguments: [String(port)], timeout: 30)
        #expect(node.standardOutput == "true back\n", "\(node.standardOutput)\(node.standardError)\n\(broker.log)")
        #expect(broker.waitForLog("\"descriptor-limit\":\"", timeout: 12), "the summary line counts them: \(broker.log)")
        #expect(broker.lines.count { $0.contains("out of file descriptors") } == 1, "\(broker.log)")
        broker.signal(SIGTERM)
        #expect(broker.waitForExit() == 0)
    }

    // MARK: Signals

    /// SIGHUP (an operator's reload) never kills the broker: it reloads, and an unchanged folder changes nothing.
    @Test func sighupReloadsAndKeepsServing() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        try folder.write(["echo.tcp.\(port).port.js": Self.plainEcho, "manifest.json": Self.allowLoopback])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }
        broker.signal(SIGHUP)
        #expect(broker.waitForLog("\"message\":\"reload 1: +0 ~0 -0,"), "\(broker.log)")
        #expect(broker.isRunning)
        #expect(try Self.echo("after hup", port: port) == "after hup")
        #expect(broker.lines.count { $0.contains("\"trigger\":\"SIGHUP\"") } == 1)
        broker.signal(SIGTERM)
        #expect(broker.waitForExit() == 0)
    }
}

/// A TCP port on 127.0.0.1 held by this process (bound and listening) until the holder goes away.
final class PortHolder {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && listen(descriptor, 8) == 0
                    && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard descriptor >= 0, bound else { throw HoldError() }
        (self.descriptor, port) = (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    deinit { close(descriptor) }

    struct HoldError: Error {}
}
