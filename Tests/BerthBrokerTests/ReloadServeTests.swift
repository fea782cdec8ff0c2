import BerthTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Live reload end to end (issue #14): a real `berth serve` following a folder that changes the way sync tools change
/// it, with real clients connected throughout: what stays keeps serving, old connections stay on old code, and old
/// generations are freed once their last connection ends.
@Suite(.serialized, .timeLimit(.minutes(4))) struct ReloadServeTests {
    // MARK: Under load

    /// 100 reloads of every kind (code and import edits, endpoints added and removed, policy changes, broken syncs,
    /// SIGHUP) while 20 clients connect and echo in a loop: no connection refused, reset or closed early, and every
    /// reply comes from one version for the whole connection, never an older one than the client's previous connection.
    @Test func aHundredReloadsUnderLoadRefuseAndResetNothing() throws {
        let (port, extraPort) = (try FreePort.tcp(), try FreePort.tcp())
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let echo = "echo.tcp.\(port).port.js"
        let extra = "extra.tcp.\(extraPort).port.js"
        // Every good code edit takes the next version; a reply's key (the larger of its two versions) never goes back.
        var version = 1
        var policyVariant = false
        try folder.write([echo: Self.taggedEcho(version), "lib/tag.js": Self.tagLibrary(version),
                          "manifest.json": Self.loadManifest(variant: policyVariant)])
        let broker = try ServeProcess(folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "20ms"]),
                                      readyCount: 1)
        defer { broker.stop() }
        let clients = try BackgroundPeer(node: Self.echoLoad, arguments: [String(port), "20", "4"])
        defer { clients.stop() }
        #expect(clients.waitForOutput("running", timeout: 20), "\(clients.text)\n\(broker.log)")

        let brokenEchoes = [Self.taggedEcho(0) + "}}}\n", "// broken: no handle\nexport const nothing = 1;\n",
                            Self.taggedEcho(0) + "export function open() { throw new Error(\"open refused\"); }\n"]
        var expected = (rejected: 0, keptEcho: 0, added: 0, removed: 0, sighup: 0)
        func mutate(_ step: Int) throws -> String {
            switch step % 12 {
            case 0:
                version += 1
                try sync.rsync(echo, Self.taggedEcho(version))
                return "handler edit"
            case 1:
                version += 1
                try sync.replaceThroughTemporary("lib/tag.js", Self.tagLibrary(version))
                return "import edit"
            case 2:
                try sync.rsync(extra, Self.namedEcho("extra"))
                expected.added += 1
                return "endpoint added"
            case 3:
                policyVariant.toggle()
                try sync.rsync("manifest.json", Self.loadManifest(variant: policyVariant))
                return "policy change"
            case 4:
                try sync.overwrite(echo, brokenEchoes[(step / 12) % brokenEchoes.count])
                expected.keptEcho += 1
                return "broken handler"
            case 5:
                version += 1
                try sync.writeInTwoParts(echo, Self.taggedEcho(version), pause: 0.005)
                return "handler fixed"
            case 6:
                try sync.remove(extra)
                expected.removed += 1
                return "endpoint removed"
            case 7:
                try sync.overwrite("manifest.json", "{\"version\": 1, \"defaults\": {\"allow\": [\"127.0.0.0/8\"]\n")
                expected.rejected += 1
                return "broken manifest"
            case 8:
                try sync.rsync("manifest.json", Self.loadManifest(variant: policyVariant))
                return "manifest fixed"
            case 9:
                try sync.replaceThroughTemporary("lib/tag.js", "export const libraryVersion = ;\n")
                expected.keptEcho += 1
                return "broken import"
            case 10:
                version += 1
                try sync.checkout(writing: ["lib/tag.js": Self.tagLibrary(version)])
                return "import fixed"
            default:
                broker.signal(SIGHUP)
                expected.sighup += 1
                return "SIGHUP"
            }
        }

        let started = Date()
        var step = 0
        while broker.lastReloadNumber < 100, step < 300, Date().timeIntervalSince(started) < 90 {
            let before = broker.lastReloadNumber
            let kind = try mutate(step)
            step += 1
            guard broker.waitForReload(after: before, timeout: 10) != nil else {
                Issue.record("step \(step) (\(kind)): no reload within 10 s\n\(broker.log.suffix(4000))")
                break
            }
        }
        // End on a good edit every client must reach.
        let before = broker.lastReloadNumber
        version += 1
        try sync.rsync(echo, Self.taggedEcho(version))
        #expect(broker.waitForReload(after: before) != nil)
        Thread.sleep(forTimeInterval: 0.5)
        let output = clients.finish()
        let result = try #require(Self.loadResult(output), "\(output)\n\(broker.log.suffix(4000))")

        #expect(result.failures == 0, "\(result.errors)\n\(broker.log.suffix(6000))")
        #expect(result.echoes >= 1000 && result.minimumPerClient >= 20,
                "load: \(result.echoes) echoes, \(result.connections) connections, least per client \(result.minimumPerClient)")
        #expect(result.maxKey == version, "the clients reached the last version: \(result.maxKey) of \(version)")
        #expect(result.tags >= 10, "the clients saw many versions: \(result.tags)")

        let reloads = broker.reloads
        #expect(reloads.count >= 100, "\(reloads.count) reloads in \(step) steps")
        #expect(reloads.map(\.number) == Array(1...max(1, reloads.count)), "one line per reload, numbered from 1")
        // At least: a broken write may be seen twice (truncated, then written) if the machine stalls between the two.
        #expect(reloads.filter(\.isRejected).count >= expected.rejected, "\(reloads.filter(\.isRejected))")
        #expect(reloads.filter { $0.kept.contains(echo) }.count >= expected.keptEcho)
        #expect(reloads.compactMap(\.added).reduce(0, +) >= expected.added)
        #expect(reloads.compactMap(\.removed).reduce(0, +) >= expected.removed)
        // At most: a SIGHUP may coincide with a watch reload still pending.
        #expect((1...expected.sighup).contains(reloads.filter { $0.trigger == "SIGHUP" }.count), "\(expected.sighup) SIGHUPs")
        #expect(broker.isRunning)
    }

    // MARK: Generations

    /// A connection opened before an edit stays on the old generation (its code, its interval timer, its ctx.shared
    /// subscription) while new connections get the new code; when it closes the old generation's close(ctx) runs and
    /// it is unloaded, the runtime count back where it was; its open()-time subscription receives nothing more.
    @Test func aConnectionOpenedBeforeAnEditStaysOnTheOldCodeUntilItCloses() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let file = "gen.tcp.\(port).port.js"
        try folder.write([file: Self.generationProbe("v1"), "manifest.json": Reload.manifest()])
        let broker = try ServeProcess(folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "50ms"]),
                                      readyCount: 1)
        defer { broker.stop() }

        let old = try LineConnection(port: port)
        defer { old.close() }
        #expect(old.exchange("hello", skipping: Self.isTick) == "v1 echo hello")

        try sync.rsync(file, Self.generationProbe("v2"))
        let reload = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(reload.added == 0 && reload.changed == 1 && reload.removed == 0 && reload.kept.isEmpty, "\(reload)")
        #expect(reload.trigger == "watch" && reload.level == "info", "\(reload)")
        #expect(reload.runtimes == 2, "the old generation drains beside the new one: \(reload)")
        let serving = try #require(broker.waitForEntry { Self.isGenerationLine($0, "serving tcp/\(port)") },
                                   "\(broker.log)")

        let fresh = try LineConnection(port: port)
        defer { fresh.close() }
        #expect(fresh.exchange("hello", skipping: Self.isTick) == "v2 echo hello")
        #expect(old.exchange("still there", skipping: Self.isTick) == "v1 echo still there")
        let ticks = old.lines(during: 0.3)
        #expect(ticks.contains("v1 tick") && !ticks.contains { $0.hasPrefix("v2") }, "the old timer ticks on: \(ticks)")

        // The old connection's subscription still receives, here from a publish by the new generation (from a third
        // connection: a publish is not delivered back to the connection that made it).
        let publisher = try LineConnection(port: port)
        defer { publisher.close() }
        #expect(publisher.send("publish news first\n"))
        #expect(old.readLine(matching: { $0.contains(" news ") }) == "v1 news first")
        #expect(fresh.readLine(matching: { $0.contains(" news ") }) == "v2 news first")
        #expect(fresh.send("publish generations during\n"))
        #expect(broker.waitForLog("v1 heard during") && broker.waitForLog("v2 heard during"), "\(broker.log)")
        #expect(!broker.log.contains("v1 close ran"), "close(ctx) waits for the old generation's last connection")
        #expect(broker.entries.filter { Self.isGenerationLine($0, "unloaded") }.isEmpty)

        old.close()
        let unloaded = try #require(broker.waitForEntry { Self.isGenerationLine($0, "unloaded") }, "\(broker.log)")
        #expect(unloaded.integer("runtimes") == 1, "back to one runtime: \(unloaded.line)")
        #expect(unloaded.fields["generation"] != nil && unloaded.fields["generation"] != serving.fields["generation"],
                "\(unloaded.line) vs \(serving.line)")
        #expect(broker.waitForLog("v1 close ran, aborted=true"), "\(broker.log)")
        // The count again from a reload that changes nothing: the old runtime is gone.
        broker.signal(SIGHUP)
        #expect(broker.waitForReload(2)?.runtimes == 1, "\(broker.reloads)")
        let log = broker.log
        if let abort = log.range(of: "v1 signal aborted"), let close = log.range(of: "v1 close ran") {
            #expect(abort.lowerBound < close.lowerBound, "ctx.signal aborts before close(ctx) runs")
        } else {
            Issue.record("the old generation's signal never aborted: \(log)")
        }

        // Once unloaded, the old generation's subscription is gone: a publish reaches only the new one.
        #expect(fresh.send("publish generations late\n"))
        #expect(broker.waitForLog("v2 heard late"))
        Thread.sleep(forTimeInterval: 0.3)
        #expect(!broker.log.contains("v1 heard late"), "\(broker.log)")
        #expect(fresh.exchange("bye", skipping: Self.isTick) == "v2 echo bye")
        #expect(broker.count(message: "v2 close ran") == 0)
    }

    /// Six generations held open by one connection each pile up (each holds 8 MiB); once the connections close every
    /// old generation is unloaded, the runtime count is back to one and the memory is given back.
    @Test func oldGenerationsGiveTheirMemoryBackOnceTheirConnectionsEnd() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let file = "heavy.tcp.\(port).port.js"
        try folder.write([file: Self.heavyEcho(0), "manifest.json": Reload.manifest()])
        let broker = try ServeProcess(folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "30ms"]),
                                      readyCount: 1)
        defer { broker.stop() }
        var held = [try LineConnection(port: port)]
        defer { held.forEach { $0.close() } }
        #expect(held[0].exchange("x") == "v0 7")
        let baseline = broker.residentKiB

        for version in 1...6 {
            try sync.rsync(file, Self.heavyEcho(version))
            let reload = try #require(broker.waitForReload(version), "\(broker.log)")
            #expect(reload.runtimes == version + 1, "\(reload)")
            held.append(try LineConnection(port: port))
            #expect(held.last?.exchange("x") == "v\(version) 7")
        }
        let peak = broker.residentKiB
        #expect(peak - baseline > 30 * 1024, "six live generations hold 48 MiB: \(baseline) → \(peak) KiB")
        // Every held connection is still answered by its own generation.
        for (version, connection) in held.enumerated() { #expect(connection.exchange("y") == "v\(version) 7") }

        for connection in held.dropLast() { connection.close() }
        let deadline = Date() + 10
        while broker.entries.filter({ Self.isGenerationLine($0, "unloaded") }).count < 6, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        let unloaded = broker.entries.filter { Self.isGenerationLine($0, "unloaded") }
        #expect(unloaded.count == 6, "\(broker.log)")
        #expect(unloaded.last?.integer("runtimes") == 1, "\(unloaded.last?.line ?? "")")
        broker.signal(SIGHUP)
        #expect(broker.waitForReload(7)?.runtimes == 1, "\(broker.reloads)")
        Thread.sleep(forTimeInterval: 0.2)
        let after = broker.residentKiB
        // Under `make test-asan` the allocator is ASan's, which keeps what is freed (its quarantine and caches): the
        // resident size says nothing there about what berth gives back; the runtime count above still does.
        if ProcessInfo.processInfo.environment["ASAN_OPTIONS"] == nil {
            #expect(after - baseline < 16 * 1024, "memory back: \(baseline) → peak \(peak) → \(after) KiB")
        }
        #expect(held.last?.exchange("z") == "v6 7")
    }

    /// `--grace` bounds how long a replaced or removed generation's connections may go on: after it they are closed,
    /// close(ctx) runs and the generation is unloaded.
    @Test func oldConnectionsEndWhenTheGracePeriodPasses() throws {
        let (edited, removed) = (try FreePort.tcp(), try FreePort.tcp())
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        try folder.write([
            "edited.tcp.\(edited).port.js": Self.namedEcho("edited"), "removed.tcp.\(removed).port.js": Self.namedEcho("removed"),
            "manifest.json": Reload.manifest(),
        ])
        let broker = try ServeProcess(
            folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "30ms", "--grace", "1s"]), readyCount: 2)
        defer { broker.stop() }
        let onEdited = try LineConnection(port: edited)
        let onRemoved = try LineConnection(port: removed)
        defer { onEdited.close(); onRemoved.close() }
        #expect(onEdited.exchange("a") == "edited a" && onRemoved.exchange("a") == "removed a")

        try sync.rsync("edited.tcp.\(edited).port.js", Self.namedEcho("edited v2"))
        try sync.remove("removed.tcp.\(removed).port.js")
        let reload = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(reload.changed == 1 && reload.removed == 1, "\(reload)")
        let reloaded = Date()
        Thread.sleep(forTimeInterval: 0.3)
        #expect(onEdited.exchange("b") == "edited b" && onRemoved.exchange("b") == "removed b", "within the grace period")
        #expect(onEdited.waitForPeerClose(timeout: 5) && onRemoved.waitForPeerClose(timeout: 5), "\(broker.log)")
        let waited = Date().timeIntervalSince(reloaded)
        #expect(waited > 0.8 && waited < 4, "closed \(waited) s after the reload")
        #expect(broker.waitForLog("edited close ran") && broker.waitForLog("removed close ran"), "\(broker.log)")
        #expect(broker.waitForEntry { $0.handler == "edited" && Self.isGenerationLine($0, "unloaded") } != nil, "\(broker.log)")
        #expect(Reload.ask(edited, "c") == "edited v2 c")
        #expect(LineConnection.connectError(port: removed) == ECONNREFUSED)
    }

    // MARK: Endpoints added, removed, moved

    /// An added endpoint opens its port (a listening line) and serves; a removed one refuses new connections at once
    /// while an open one goes on, runs close(ctx) after it, and keeps refusing; a port change is a removal plus an
    /// addition. UDP as TCP.
    @Test func endpointsAddedRemovedAndMovedOpenAndCloseTheirPorts() throws {
        let (a, b, moved) = (try FreePort.tcp(), try FreePort.tcp(), try FreePort.tcp())
        let udp = try FreePort.udp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        try folder.write(["a.tcp.\(a).port.js": Self.namedEcho("a"), "manifest.json": Reload.manifest()])
        let broker = try ServeProcess(folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "50ms"]),
                                      readyCount: 1)
        defer { broker.stop() }
        #expect(LineConnection.connectError(port: b) == ECONNREFUSED)

        try sync.rsync("b.tcp.\(b).port.js", Self.namedEcho("b"))
        let added = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(added.added == 1 && added.changed == 0 && added.removed == 0, "\(added)")
        let listening = broker.entries.first { $0.message == "listening on tcp/\(b)" }
        #expect(listening?.handler == "b" && listening?.fields["file"] == "b.tcp.\(b).port.js", "\(broker.log)")
        #expect(Reload.ask(b, "one") == "b one")

        try sync.rsync("c.udp.\(udp).port.js", Self.udpEcho("c"))
        #expect(broker.waitForReload(2)?.added == 1)
        #expect(try Reload.udpExchange(port: udp, ["ping"]) == ["c ping"])

        // b is removed while a connection is open on it.
        let open = try LineConnection(port: b)
        defer { open.close() }
        #expect(open.exchange("before") == "b before")
        try sync.remove("b.tcp.\(b).port.js")
        let removed = try #require(broker.waitForReload(3), "\(broker.log)")
        #expect(removed.removed == 1 && removed.added == 0 && removed.changed == 0, "\(removed)")
        #expect(LineConnection.connectError(port: b) == ECONNREFUSED, "a removed endpoint refuses new connections")
        #expect(open.exchange("after") == "b after", "an open connection goes on")
        #expect(!broker.log.contains("b close ran"))
        open.close()
        #expect(broker.waitForLog("b close ran"), "close(ctx) runs after the last connection: \(broker.log)")
        #expect(LineConnection.connectError(port: b) == ECONNREFUSED)
        #expect(Reload.ask(a, "still") == "a still")

        try sync.remove("c.udp.\(udp).port.js")
        #expect(broker.waitForReload(4)?.removed == 1)
        #expect(try Reload.udpExchange(port: udp, ["ping"]).first?.hasPrefix("no reply") == true)

        // A rename to another port: the old port closes, the new one opens.
        try sync.move("a.tcp.\(a).port.js", to: "a.tcp.\(moved).port.js")
        let move = try #require(broker.waitForReload(5), "\(broker.log)")
        #expect(move.added == 1 && move.removed == 1, "\(move)")
        #expect(LineConnection.connectError(port: a) == ECONNREFUSED)
        #expect(Reload.ask(moved, "moved") == "a moved")
        #expect(broker.isRunning)
    }

    /// A sync that adds a second claim on a running endpoint's port: the incumbent keeps it, even though the newcomer
    /// would win a fresh start (it sorts first); once the incumbent's file is gone the port goes to the newcomer.
    @Test func aPortConflictFromASyncLeavesThePortWithTheIncumbent() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        try folder.write(["z.tcp.\(port).port.js": Self.namedEcho("z"), "manifest.json": Reload.manifest()])
        let broker = try ServeProcess(folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "50ms"]),
                                      readyCount: 1)
        defer { broker.stop() }

        try sync.rsync("a.tcp.\(port).port.js", Self.namedEcho("a"))
        let conflict = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(conflict.added == 0 && conflict.removed == 0, "\(conflict)")
        #expect(broker.entries.contains { $0.line.contains("grammar.port-conflict") && $0.line.contains("a.tcp.\(port).port.js") },
                "\(broker.log)")
        for round in 0..<5 { #expect(Reload.ask(port, "r\(round)") == "z r\(round)") }

        try sync.remove("z.tcp.\(port).port.js")
        #expect(broker.waitForReload(2) != nil)
        #expect(Reload.ask(port, "then") == "a then", "\(broker.log)")
    }

    // MARK: ctx.shared

    /// The seed's ping keeps its ctx.shared counter across code edits.
    @Test func aSharedCounterContinuesAcrossReloads() throws {
        let port = try FreePort.udp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let file = "ping.udp.\(port).port.js"
        let seed = try String(contentsOfFile: PackagePaths.path("examples/ping.udp.9000.port.js"), encoding: .utf8)
        try folder.write([file: seed, "manifest.json": Reload.manifest()])
        let broker = try ServeProcess(folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "50ms"]),
                                      readyCount: 1)
        defer { broker.stop() }
        #expect(try Reload.udpExchange(port: port, ["ping", "ping", "ping"]) == ["pong #1\n", "pong #2\n", "pong #3\n"])

        try sync.rsync(file, seed.replacingOccurrences(of: "`pong #", with: "`pong v2 #"))
        #expect(broker.waitForReload(1)?.changed == 1, "\(broker.log)")
        #expect(try Reload.udpExchange(port: port, ["ping", "ping"]) == ["pong v2 #4\n", "pong v2 #5\n"])

        try sync.checkout(writing: [file: seed.replacingOccurrences(of: "`pong #", with: "`pong v3 #")])
        #expect(broker.waitForReload(2)?.changed == 1, "\(broker.log)")
        #expect(try Reload.udpExchange(port: port, ["ping"]) == ["pong v3 #6\n"])
    }

    // MARK: Handlers

    static func isTick(_ line: String) -> Bool { line.hasSuffix(" tick") }

    /// `generation G serving tcp/PORT`, `generation G unloaded`: `suffix` is what follows G.
    static func isGenerationLine(_ entry: ServeLogEntry, _ suffix: String) -> Bool {
        entry.message.hasPrefix("generation ") && entry.message.hasSuffix(" " + suffix)
    }

    /// Manifest for the load test: generous limits; the variant adds a deny and a per-handler cap (a policy change).
    static func loadManifest(variant: Bool) -> String {
        variant
            ? Reload.manifest(defaults: #", "deny": ["10.66.0.0/16"]"#, handlers: #"{"echo": {"maxConnections": 4000}}"#)
            : Reload.manifest()
    }

    /// Echoes each line back prefixed `vH.L:` (H its own version, L its import's).
    static func taggedEcho(_ version: Int) -> String {
        """
        // echo, version \(version): every line comes back prefixed with the versions that answered it.
        import { libraryVersion } from "./lib/tag.js";
        const tag = `v\(version).${libraryVersion}`;
        export function handle(conn) {
          conn.setEncoding("utf8");
          let pending = "";
          conn.on("data", (text) => {
            pending += text;
            for (let i = pending.indexOf("\\n"); i >= 0; i = pending.indexOf("\\n")) {
              conn.write(`${tag}:${pending.slice(0, i)}\\n`);
              pending = pending.slice(i + 1);
            }
          });
        }

        """
    }

    static func tagLibrary(_ version: Int) -> String { "export const libraryVersion = \(version);\n" }

    /// Echoes each line as `NAME line`; logs `NAME close ran` from close(ctx).
    static func namedEcho(_ name: String) -> String {
        """
        export function handle(conn) {
          conn.setEncoding("utf8");
          conn.on("data", (text) => {
            for (const line of text.split("\\n").filter((l) => l.length > 0)) conn.write(`\(name) ${line}\\n`);
          });
        }
        export function close(ctx) { console.log("\(name) close ran"); }

        """
    }

    static func udpEcho(_ name: String) -> String {
        "export function message(msg, rinfo, ctx) { ctx.reply(Buffer.from(`\(name) ${msg}`), rinfo); }\n"
    }

    /// Holds 8 MiB for as long as its generation lives; answers `vN 7` to every line.
    static func heavyEcho(_ version: Int) -> String {
        """
        const ballast = new Uint8Array(8 << 20).fill(7);
        export function handle(conn) {
          conn.on("data", () => conn.write(`v\(version) ${ballast[\(version)]}\\n`));
        }

        """
    }

    /// A handler that shows which generation runs what: each connection ticks every 50 ms and relays channel "news";
    /// `publish CHANNEL ITEM` publishes; any other line is echoed. open() subscribes to "generations" and logs what it
    /// hears; the signal's abort and close(ctx) are logged.
    static func generationProbe(_ version: String) -> String {
        """
        const VERSION = "\(version)";
        export function open(ctx) {
          ctx.shared.subscribe("generations", (item) => console.log(`${VERSION} heard ${item}`));
          ctx.signal.addEventListener("abort", () => console.log(`${VERSION} signal aborted`));
        }
        export function handle(conn, ctx) {
          conn.setEncoding("utf8");
          const ticks = setInterval(() => conn.write(`${VERSION} tick\\n`), 50);
          const off = ctx.shared.subscribe("news", (item) => conn.write(`${VERSION} news ${item}\\n`));
          conn.on("close", () => { clearInterval(ticks); off(); });
          conn.on("data", (text) => {
            for (const line of text.split("\\n").filter((l) => l.length > 0)) {
              const [command, channel, item] = line.split(" ");
              if (command === "publish") ctx.shared.publish(channel, item);
              else conn.write(`${VERSION} echo ${line}\\n`);
            }
          });
        }
        export function close(ctx) { console.log(`${VERSION} close ran, aborted=${ctx.signal.aborted}`); }

        """
    }

    // MARK: The load peer

    /// 20 clients (the first few holding each connection ~1 s) connect, echo and reconnect until SIGUSR2; then each
    /// ends its connection and the script prints `RESULT {…}`.
    static let echoLoad = """
        const net = require("net");
        const [port, clientCount, longCount] = process.argv.slice(1).map(Number);
        const result = { echoes: 0, connections: 0, failures: 0, errors: [], maxKey: 0, tags: 0, perClient: [] };
        const tags = new Set();
        let stopping = false, active = clientCount, announced = false, printed = false;
        const fail = (text) => { result.failures++; if (result.errors.length < 20) result.errors.push(text); };
        const keyOf = (tag) => Math.max(...tag.slice(1).split(".").map(Number));
        const finish = () => {
          if (printed) return;
          printed = true;
          result.tags = tags.size;
          process.stdout.write(`RESULT ${JSON.stringify(result)}\\n`, () => process.exit(0));
        };
        function client(id, long) {
          let lastKey = 0;
          result.perClient[id] = 0;
          const connect = () => {
            if (stopping) { if (--active === 0) finish(); return; }
            result.connections++;
            const socket = net.connect(port, "127.0.0.1");
            const want = long ? 50 : 1 + Math.floor(Math.random() * 10);
            let sent = 0, pending = "", tag = null, ended = false;
            socket.setEncoding("utf8");
            const next = () => {
              if (sent < want && !stopping) { sent++; socket.write(`c${id}n${sent}\\n`); }
              else { ended = true; socket.end(); }
            };
            socket.on("connect", next);
            socket.on("data", (chunk) => {
              pending += chunk;
              for (let i = pending.indexOf("\\n"); i >= 0; i = pending.indexOf("\\n")) {
                const line = pending.slice(0, i);
                pending = pending.slice(i + 1);
                const match = /^(v\\d+\\.\\d+):(c\\d+n\\d+)$/.exec(line);
                if (!match || match[2] !== `c${id}n${sent}`) {
                  fail(`client ${id}: unexpected reply ${JSON.stringify(line)} to message ${sent}`);
                  ended = true; socket.destroy(); return;
                }
                if (tag === null) {
                  tag = match[1];
                  tags.add(tag);
                  const key = keyOf(tag);
                  if (key < lastKey) fail(`client ${id}: a new connection answered by ${tag} after version ${lastKey}`);
                  lastKey = Math.max(lastKey, key);
                  result.maxKey = Math.max(result.maxKey, key);
                } else if (match[1] !== tag) fail(`client ${id}: one connection answered by ${tag}, then ${match[1]}`);
                result.echoes++;
                result.perClient[id]++;
                if (!announced && result.echoes >= clientCount * 3) { announced = true; console.log("running"); }
                if (long) setTimeout(next, 20); else next();
              }
            });
            socket.on("error", (e) => fail(`client ${id}: ${e.code || e.message} after ${sent} of ${want} messages`));
            socket.on("close", () => {
              if (!ended) fail(`client ${id}: closed by the broker after ${sent} of ${want} messages`);
              setTimeout(connect, long ? 0 : 2);
            });
          };
          connect();
        }
        for (let id = 0; id < clientCount; id++) client(id, id < longCount);
        process.on("SIGUSR2", () => { stopping = true; setTimeout(finish, 15000).unref(); });
        setTimeout(() => { fail("the load ran 180 s without being stopped"); stopping = true; }, 180000).unref();
        """

    struct LoadResult {
        var echoes: Int
        var connections: Int
        var failures: Int
        var errors: [String]
        var maxKey: Int
        var tags: Int
        var minimumPerClient: Int
    }

    static func loadResult(_ output: String) -> LoadResult? {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") }),
            let object = try? JSONSerialization.jsonObject(with: Data(line.dropFirst("RESULT ".count).utf8)) as? [String: Any]
        else { return nil }
        let number = { (key: String) in (object[key] as? NSNumber)?.intValue ?? -1 }
        let perClient = (object["perClient"] as? [NSNumber])?.map(\.intValue) ?? []
        return LoadResult(echoes: number("echoes"), connections: number("connections"), failures: number("failures"),
                          errors: object["errors"] as? [String] ?? [], maxKey: number("maxKey"), tags: number("tags"),
                          minimumPerClient: perClient.min() ?? 0)
    }
}

// MARK: - Shared by the reload suites

/// Folders, arguments and one-shot peers shared by the Reload suites.
enum Reload {
    /// Loopback only, limits generous enough for load from one address; `defaults` adds members to "defaults"
    /// (starting with a comma), `handlers` is the "handlers" object.
    static func manifest(defaults: String = "", handlers: String? = nil) -> String {
        """
        {"version": 1, "defaults": {"allow": ["127.0.0.0/8", "::1"], "maxConnections": 4096,
         "maxConnectionsPerSource": 4096, "connectionRate": "100000/s", "burst": 100000,
         "datagramRate": "100000/s"\(defaults)}\(handlers.map { ", \"handlers\": \($0)" } ?? "")}

        """
    }

    /// `berth serve` bound to loopback, plus `extra`.
    static func arguments(_ extra: [String]) -> [String] { ["--bind", "127.0.0.1"] + extra }

    /// Connects to `port` (from `source` when given), sends `text` as a line when given, and returns the first line
    /// back; nil when refused, closed or silent for `timeout` seconds.
    static func ask(_ port: Int, _ text: String? = nil, source: String? = nil, timeout: TimeInterval = 5) -> String? {
        guard let connection = try? LineConnection(port: port, source: source) else { return nil }
        defer { connection.close() }
        if let text, !connection.send(text + "\n") { return nil }
        return connection.readLine(timeout: timeout)
    }

    /// Sends each message as one datagram to 127.0.0.1:`port` and waits up to 2 s for its reply; a reply's text, or
    /// `no reply: …`.
    static func udpExchange(port: Int, _ messages: [String]) throws -> [String] {
        let result = try Subprocess.run("/usr/bin/env", ["python3", "-c", """
            import json, socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(2)
            replies = []
            for message in sys.argv[2:]:
                s.sendto(message.encode(), ("127.0.0.1", int(sys.argv[1])))
                try:
                    replies.append(s.recvfrom(65536)[0].decode())
                except Exception as error:
                    replies.append("no reply: " + type(error).__name__)
            print(json.dumps(replies))
            """, String(port)] + messages, timeout: 30)
        guard let data = result.standardOutput.data(using: .utf8),
            let replies = try? JSONSerialization.jsonObject(with: data) as? [String]
        else { throw PeerFailure(description: "udp peer: \(result.standardOutput)\(result.standardError)") }
        return replies
    }
}

struct PeerFailure: Error, CustomStringConvertible {
    var description: String
}

/// A TCP client the test itself holds open across reloads: a blocking loopback socket, every read bounded by poll.
final class LineConnection {
    struct ConnectFailure: Error, CustomStringConvertible {
        var code: Int32
        var description: String { "connect: \(String(cString: strerror(code)))" }
    }

    private var descriptor: Int32
    private var buffered: [UInt8] = []
    /// True once the peer closed or reset the connection.
    private(set) var isClosedByPeer = false

    /// Connects to 127.0.0.1:`port`, from `source` (another loopback address) when given.
    init(port: Int, source: String? = nil) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ConnectFailure(code: errno) }
        if let source {
            var local = Self.address(source, port: 0)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { let code = errno; Glibc.close(fd); throw ConnectFailure(code: code) }
        }
        var remote = Self.address("127.0.0.1", port: port)
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { let code = errno; Glibc.close(fd); throw ConnectFailure(code: code) }
        descriptor = fd
    }

    deinit { close() }

    /// The errno a connection to `port` fails with (ECONNREFUSED for a closed port), or nil when it connects.
    static func connectError(port: Int) -> Int32? {
        do {
            let connection = try LineConnection(port: port)
            connection.close()
            return nil
        } catch let failure as ConnectFailure {
            return failure.code
        } catch {
            return -1
        }
    }

    /// Writes all of `text`; false once the connection is gone.
    @discardableResult
    func send(_ text: String) -> Bool {
        guard descriptor >= 0 else { return false }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    /// The next line (without its newline); nil on timeout or once the peer closed.
    func readLine(timeout: TimeInterval = 5) -> String? {
        let deadline = Date() + timeout
        while true {
            if let newline = buffered.firstIndex(of: 0x0A) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return line
            }
            guard !isClosedByPeer, descriptor >= 0, fill(until: deadline) else { return nil }
        }
    }

    /// The next line that `matches`, discarding the others; nil on timeout or close.
    func readLine(matching matches: (String) -> Bool, timeout: TimeInterval = 5) -> String? {
        let deadline = Date() + timeout
        while let line = readLine(timeout: max(0, deadline.timeIntervalSinceNow)) {
            if matches(line) { return line }
        }
        return nil
    }

    /// Sends `text` as a line and returns the first line back that `skipping` does not reject.
    func exchange(_ text: String, skipping: (String) -> Bool = { _ in false }, timeout: TimeInterval = 5) -> String? {
        guard send(text + "\n") else { return nil }
        return readLine(matching: { !skipping($0) }, timeout: timeout)
    }

    /// Every line that arrives within `seconds`.
    func lines(during seconds: TimeInterval) -> [String] {
        let deadline = Date() + seconds
        var lines: [String] = []
        while let line = readLine(timeout: max(0, deadline.timeIntervalSinceNow)) { lines.append(line) }
        return lines
    }

    /// Reads (and drops) until the peer closes or resets; true if it did within `timeout`.
    func waitForPeerClose(timeout: TimeInterval = 5) -> Bool {
        let deadline = Date() + timeout
        while !isClosedByPeer, descriptor >= 0, Date() < deadline {
            buffered.removeAll()
            _ = fill(until: deadline)
        }
        return isClosedByPeer
    }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Waits for bytes until `deadline` and appends them; false on timeout; sets `isClosedByPeer` on EOF or reset.
    private func fill(until deadline: Date) -> Bool {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return false }
            var descriptorPoll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptorPoll, 1, Int32(min(remaining * 1000 + 1, 60_000)))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { return false }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count > 0 {
                buffered += chunk[0..<count]
                return true
            }
            if count < 0, errno == EINTR || errno == EAGAIN { continue }
            isClosedByPeer = true
            return true
        }
    }

    private static func address(_ text: String, port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr(text)
        return address
    }
}

/// A Node.js peer running beside the test (a load generator): output collected; `finish()` sends it SIGUSR2 and
/// waits for it to print its result and exit; stopped (SIGKILL) when released.
final class BackgroundPeer: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    // Guarded by `lock`: appended by the reader threads.
    private var output = Data()

    init(node script: String, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: NodePeer.executable)
        process.arguments = ["-e", script] + arguments
        process.standardInput = FileHandle.nullDevice
        let (out, err) = (Pipe(), Pipe())
        process.standardOutput = out
        process.standardError = err
        for handle in [out.fileHandleForReading, err.fileHandleForReading] {
            Thread { [self] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    lock.withLock { output.append(chunk) }
                }
            }.start()
        }
        try process.run()
    }

    deinit { stop() }

    var text: String { lock.withLock { String(decoding: output, as: UTF8.self) } }

    func waitForOutput(_ fragment: String, timeout: TimeInterval) -> Bool {
        let deadline = Date() + timeout
        while Date() < deadline {
            if text.contains(fragment) { return true }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return text.contains(fragment)
    }

    /// Asks the peer to stop (SIGUSR2) and returns everything it printed once it exited (killed after `timeout`).
    func finish(timeout: TimeInterval = 30) -> String {
        if process.isRunning { kill(process.processIdentifier, SIGUSR2) }
        let deadline = Date() + timeout
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        stop()
        Thread.sleep(forTimeInterval: 0.05)
        return text
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
