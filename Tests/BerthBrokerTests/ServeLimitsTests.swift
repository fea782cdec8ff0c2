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

        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
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
            folder: folder.path, arguments: ["--bind", "127.0.0.1", "--heap-limit", "1GiB"], readyCount: 1)
        broker.stop()
    }
}
