import BerthTestSupport
import Foundation
import Testing

/// What makes `berth serve` reload: SIGHUP always, the folder watcher unless `--no-watch`, once the folder has been
/// quiet for the debounce; editor and sync temporaries never.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ReloadTriggerTests {
    /// Answers every connection with `text` and ends it.
    static func answer(_ text: String) -> String { ReloadKeepLastGoodTests.answer(text) }

    /// Waits `seconds` and reports whether no reload above `number` was logged meanwhile.
    static func staysQuiet(_ broker: ServeProcess, after number: Int, for seconds: TimeInterval) -> Bool {
        Thread.sleep(forTimeInterval: seconds)
        return broker.lastReloadNumber == number
    }

    /// With `--no-watch` an edit alone changes nothing; SIGHUP reloads it at once, and the broker keeps running
    /// (SIGHUP used to kill it with 129). A SIGHUP with nothing changed is a reload that changes nothing.
    @Test func sighupReloadsWhenWatchingIsOff() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let file = "svc.tcp.\(port).port.js"
        try folder.write([file: Self.answer("svc v1"), "manifest.json": Reload.manifest()])
        let broker = try ServeProcess(folder: folder.path, arguments: Reload.arguments(["--no-watch"]),
                                      readyCount: 1)
        defer { broker.stop() }

        try sync.rsync(file, Self.answer("svc v2"))
        try sync.rsync("added.tcp.\(try FreePort.tcp()).port.js", Self.answer("added"))
        #expect(Self.staysQuiet(broker, after: 0, for: 0.8), "\(broker.log)")
        #expect(Reload.ask(port) == "svc v1")

        broker.signal(SIGHUP)
        let reload = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(reload.trigger == "SIGHUP" && reload.added == 1 && reload.changed == 1 && reload.removed == 0, "\(reload)")
        #expect(Reload.ask(port) == "svc v2")

        broker.signal(SIGHUP)
        let nothing = try #require(broker.waitForReload(2), "\(broker.log)")
        #expect(nothing.added == 0 && nothing.changed == 0 && nothing.removed == 0 && nothing.kept.isEmpty, "\(nothing)")
        #expect(nothing.message.hasPrefix("reload 2: +0 ~0 -0"), "\(nothing.message)")
        #expect(broker.isRunning && Reload.ask(port) == "svc v2")
    }

    /// Text logs carry the same reload line: level, `berth:` for the broker, the message, then fields as key=value.
    @Test func reloadsAreLoggedInTextLogsToo() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let file = "svc.tcp.\(port).port.js"
        try folder.write([file: Self.answer("svc v1"), "manifest.json": Reload.manifest()])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BerthBinary.path)
        process.arguments = ["serve", folder.path, "--bind", "127.0.0.1", "--no-watch"]
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let deadline = Date() + 10
        while Reload.ask(port) != "svc v1", Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        try FolderSync(root: folder.path).rsync(file, Self.answer("svc v2"))
        kill(process.processIdentifier, SIGHUP)
        while Reload.ask(port) != "svc v2", Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.contains("reload 1:") }.map(String.init) ?? ""
        #expect(line.contains(" info  berth: reload 1: +0 ~1 -0, ") && line.contains(" trigger=SIGHUP"), "\(text)")
        #expect(process.terminationStatus == 0)
    }

    /// 300 imported files changed at once, by a `git checkout` and then by an rsync of the tree, with the default
    /// debounce: one reload each.
    @Test func hundredsOfFilesChangedAtOnceAreOneReload() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let count = 300
        let parts = { (offset: Int) in
            Dictionary(uniqueKeysWithValues: (0..<count).map {
                (String(format: "lib/parts/p%03d.js", $0), "export default \($0 + offset);\n")
            })
        }
        let imports = (0..<count).map { String(format: "import p%03d from \"./parts/p%03d.js\";\n", $0, $0) }.joined()
        let sum = (0..<count).map { String(format: "p%03d", $0) }.joined(separator: " + ")
        try folder.write(parts(0))
        try folder.write([
            "lib/all.js": imports + "export const total = \(sum);\n",
            "sum.tcp.\(port).port.js": """
                import { total } from "./lib/all.js";
                export function handle(conn) { conn.end(`${total}\\n`); }

                """,
            "manifest.json": Reload.manifest(),
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }
        let base = (0..<count).reduce(0, +)
        #expect(Reload.ask(port) == "\(base)")

        try sync.checkout(writing: parts(1))
        let checkout = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(checkout.changed == 1 && checkout.kept.isEmpty, "\(checkout)")
        #expect(Self.staysQuiet(broker, after: 1, for: 1.2), "one reload for the whole checkout: \(broker.reloads)")
        #expect(Reload.ask(port) == "\(base + count)")

        try sync.rsync(parts(2))
        let rsync = try #require(broker.waitForReload(2), "\(broker.log)")
        #expect(rsync.changed == 1 && rsync.kept.isEmpty, "\(rsync)")
        #expect(Self.staysQuiet(broker, after: 2, for: 1.2), "one reload for the whole rsync: \(broker.reloads)")
        #expect(Reload.ask(port) == "\(base + 2 * count)")
    }

    /// vim's swap file, backups, emacs's lock, `.tmp` files, rsync's and syncthing's in-flight copies, made and removed
    /// beside a handler, an import and the manifest: no reload. Then a real edit reloads (the watcher was watching).
    @Test func editorAndSyncTemporariesDoNotReload() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let file = "svc.tcp.\(port).port.js"
        try folder.write([
            file: "import { text } from \"./lib/text.js\";\nexport function handle(conn) { conn.end(`${text}\\n`); }\n",
            "lib/text.js": "export const text = \"v1\";\n",
            "manifest.json": Reload.manifest(),
        ])
        let broker = try ServeProcess(folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "50ms"]),
                                      readyCount: 1)
        defer { broker.stop() }

        var touched: [String] = []
        for path in [file, "lib/text.js", "manifest.json"] { touched += try sync.touchTemporaries(beside: path) }
        #expect(Self.staysQuiet(broker, after: 0, for: 1.0), "\(touched): \(broker.reloads)")
        #expect(Reload.ask(port) == "v1")

        try sync.replaceThroughTemporary("lib/text.js", "export const text = \"v2\";\n")
        let reload = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(reload.changed == 1, "\(reload)")
        #expect(Self.staysQuiet(broker, after: 1, for: 0.5), "the .tmp renamed into place is one change: \(broker.reloads)")
        #expect(Reload.ask(port) == "v2")
    }

    /// A handler deleted and created again 50 ms later (inside the default debounce) while clients echo through it:
    /// one reload, a code change (not a removal), and no client refused.
    @Test func aFileDeletedAndRecreatedWithinTheDebounceIsOneReloadAndKeepsServing() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let file = "echo.tcp.\(port).port.js"
        try folder.write([file: ReloadServeTests.taggedEcho(1), "lib/tag.js": ReloadServeTests.tagLibrary(1),
                          "manifest.json": Reload.manifest()])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }
        let clients = try BackgroundPeer(node: ReloadServeTests.echoLoad, arguments: [String(port), "4", "1"])
        defer { clients.stop() }
        #expect(clients.waitForOutput("running", timeout: 20), "\(clients.text)")

        try sync.removeAndRecreate(file, ReloadServeTests.taggedEcho(2), pause: 0.05)
        let reload = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(reload.removed == 0 && reload.added == 0 && reload.changed == 1 && reload.kept.isEmpty, "\(reload)")
        #expect(Self.staysQuiet(broker, after: 1, for: 1.0), "\(broker.reloads)")
        let result = try #require(ReloadServeTests.loadResult(clients.finish()), "\(clients.text)")
        #expect(result.failures == 0, "\(result.errors)\n\(broker.log)")
        #expect(result.maxKey == 2, "the clients reached the new version")
    }

    /// A file written in two parts 100 ms apart, inside the default debounce: one reload, of the whole file.
    @Test func aPartialWriteFinishedWithinTheDebounceIsOneReloadOfTheWholeFile() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let file = "svc.tcp.\(port).port.js"
        try folder.write([file: Self.answer("svc v1"), "manifest.json": Reload.manifest()])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }

        try sync.writeInTwoParts(file, Self.answer("svc v2"), pause: 0.1)
        let reload = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(reload.changed == 1 && reload.kept.isEmpty, "never the half-written file: \(reload)")
        #expect(Self.staysQuiet(broker, after: 1, for: 0.8), "\(broker.reloads)")
        #expect(Reload.ask(port) == "svc v2")
    }

    /// A change made while the start still waits for an `open(ctx)` is not lost: the reload it asked for runs once the
    /// start is done.
    @Test func aChangeDuringTheStartReloadsOnceTheStartIsDone() throws {
        let (slow, added) = (try FreePort.tcp(), try FreePort.tcp())
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        try folder.write([
            "slow.tcp.\(slow).port.js": """
                export function open() { return new Promise((resolve) => setTimeout(resolve, 1500)); }
                export function handle(conn) { conn.end("slow\\n"); }

                """,
            "manifest.json": Reload.manifest(),
        ])
        let started = Date()
        let broker = try ServeProcess(
            folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "50ms"]), readyCount: 0)
        defer { broker.stop() }
        Thread.sleep(forTimeInterval: 0.3)
        try sync.rsync("added.tcp.\(added).port.js", Self.answer("added"))
        let reload = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(Date().timeIntervalSince(started) >= 1.4, "the reload waited for the start")
        #expect(reload.added == 1, "\(reload)")
        #expect(Reload.ask(added) == "added")
        #expect(Reload.ask(slow) == "slow")
    }

    /// An entry whose import does not exist yet is refused; the file appearing later, in a directory nothing the plan
    /// compiled lives in, is a change the broker sees: the entry serves.
    @Test func anImportThatAppearsLaterIsAChange() throws {
        let (port, waiting) = (try FreePort.tcp(), try FreePort.tcp())
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        try folder.write([
            "svc.tcp.\(port).port.js": Self.answer("svc"), "lib/README": "lib/late.js arrives later\n",
            "late.tcp.\(waiting).port.js":
                "import { tag } from './lib/late.js';\nexport function handle(conn) { conn.end(tag + \"\\n\"); }\n",
            "manifest.json": Reload.manifest(),
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }
        #expect(Reload.ask(waiting) == nil)

        try sync.rsync("lib/late.js", "export const tag = 'late';\n")
        let reload = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(reload.added == 1, "\(reload)")
        #expect(Reload.ask(waiting) == "late")
        #expect(Reload.ask(port) == "svc")
    }

    /// A write slower than the debounce: the half-written file is compiled, fails, and the last good version serves
    /// until the rest arrives; then the whole file serves.
    @Test func aWriteSlowerThanTheDebounceKeepsTheLastGoodUntilItFinishes() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let file = "svc.tcp.\(port).port.js"
        try folder.write([file: Self.answer("svc v1"), "manifest.json": Reload.manifest()])
        let broker = try ServeProcess(folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "50ms"]),
                                      readyCount: 1)
        defer { broker.stop() }

        let whole = Self.answer("svc v2")
        let done = DispatchSemaphore(value: 0)
        let writer = Thread {
            try? sync.writeInTwoParts(file, whole, firstBytes: whole.utf8.count / 2, pause: 1.0)
            done.signal()
        }
        writer.start()
        let half = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(half.kept == [file] && half.message.contains("module.syntax"), "\(half)")
        #expect(Reload.ask(port) == "svc v1", "the last good serves while the file is half written")
        done.wait()
        let whole2 = try #require(broker.waitForReload(2), "\(broker.log)")
        #expect(whole2.kept.isEmpty, "\(whole2)")
        #expect(Reload.ask(port) == "svc v2")
    }
}
