import BerthTestSupport
import Foundation
import Testing

/// Live reload keeps the last good: a handler version that fails to compile or to open leaves the previous one
/// serving (and the rest of the folder reloads); a manifest that no longer compiles, or is deleted, changes nothing at
/// all; a policy-only change applies to new connections at once without a new runtime.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ReloadKeepLastGoodTests {
    /// One way for a handler's new version to fail, and what the reload line and log must say about it. In the
    /// fragments, FILE stands for the handler's file name.
    struct BrokenVersion: Sendable, CustomTestStringConvertible {
        var name: String
        var source: String
        /// In the reload line's message, after `kept last good: FILE (`: the code and, where the compiler knows it,
        /// ` at FILE:LINE:COL)`.
        var keptDiagnostic: String
        /// Somewhere in the log (a line of the diagnostic or its stack).
        var logFragments: [String]
        /// The reload cannot finish sooner (the open timeout).
        var minimumMilliseconds = 0

        var testDescription: String { name }

        static let all: [BrokenVersion] = [
            BrokenVersion(name: "syntax error",
                          source: "export function handle(conn) {\n  conn.end(\"svc v2\\n\");\n}}}\n",
                          keptDiagnostic: "module.syntax at FILE:3:2)", logFragments: ["FILE:3:2"]),
            BrokenVersion(name: "missing export",
                          source: "// svc v2\nexport function helper() {}\n",
                          keptDiagnostic: "module.missing-export", logFragments: ["does not export \\\"handle\\\""]),
            BrokenVersion(name: "import outside the folder",
                          source: """
                              // svc v2
                              import { helper } from "../outside.js";
                              export function handle(conn) { helper(); conn.end("svc v2\\n"); }

                              """,
                          keptDiagnostic: "module.outside-folder at FILE:2:24)", logFragments: ["FILE:2:24"]),
            BrokenVersion(name: "open() throwing",
                          source: """
                              // svc v2
                              export function open() {
                                throw new Error("open failed in v2");
                              }
                              export function handle(conn) { conn.end("svc v2\\n"); }

                              """,
                          keptDiagnostic: "", logFragments: ["open failed in v2", "FILE:3:"]),
            BrokenVersion(name: "open() rejecting",
                          source: """
                              // svc v2
                              export async function open() {
                                await null;
                                throw new Error("open rejected in v2");
                              }
                              export function handle(conn) { conn.end("svc v2\\n"); }

                              """,
                          keptDiagnostic: "", logFragments: ["open rejected in v2", "FILE:4:"]),
            BrokenVersion(name: "open() never finishing",
                          source: """
                              // svc v2
                              export function open() {
                                return new Promise(() => {});
                              }
                              export function handle(conn) { conn.end("svc v2\\n"); }

                              """,
                          keptDiagnostic: "", logFragments: [], minimumMilliseconds: 250),
        ]
    }

    /// Answers every connection with `text` and ends it.
    static func answer(_ text: String) -> String { "export function handle(conn) { conn.end(\"\(text)\\n\"); }\n" }

    @Test(arguments: BrokenVersion.all)
    func aVersionThatFailsLeavesTheLastGoodServingUntilItIsFixed(_ broken: BrokenVersion) throws {
        let (port, otherPort) = (try FreePort.tcp(), try FreePort.tcp())
        let root = try TemporaryFolder()
        let file = "svc.tcp.\(port).port.js"
        let other = "other.tcp.\(otherPort).port.js"
        try root.write([
            "outside.js": "export function helper() {}\n",
            "site/\(file)": Self.answer("svc v1"), "site/\(other)": Self.answer("other v1"),
            "site/manifest.json": Reload.manifest(),
        ])
        let sync = FolderSync(root: root.path + "/site")
        let broker = try ServeProcess(
            folder: sync.root, arguments: Reload.arguments(["--reload-debounce", "50ms", "--open-timeout", "300ms"]),
            readyCount: 2)
        defer { broker.stop() }
        #expect(Reload.ask(port) == "svc v1")

        // One sync breaks svc and edits other.
        try sync.rsync([file: broken.source, other: Self.answer("other v2")])
        let reload = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(reload.kept == [file] && reload.level == "warn" && !reload.isRejected, "\(reload)")
        let kept = "kept last good: \(file) (" + broken.keptDiagnostic.replacingOccurrences(of: "FILE", with: file)
        #expect(reload.message.contains(kept), "\(reload.message) should contain \(kept)")
        for fragment in broken.logFragments.map({ $0.replacingOccurrences(of: "FILE", with: file) }) {
            #expect(broker.log.contains(fragment), "\(fragment) in\n\(broker.log)")
        }
        #expect((reload.milliseconds ?? 0) >= broken.minimumMilliseconds, "\(reload)")
        for _ in 0..<3 { #expect(Reload.ask(port) == "svc v1", "the last good version keeps answering") }
        #expect(Reload.ask(otherPort) == "other v2", "the rest of the folder reloads")

        // Fixed: the new version serves.
        try sync.rsync(file, Self.answer("svc v3"))
        let fixed = try #require(broker.waitForReload(2), "\(broker.log)")
        #expect(fixed.kept.isEmpty && fixed.level == "info" && fixed.changed == 1, "\(fixed)")
        #expect(Reload.ask(port) == "svc v3")
        #expect(Reload.ask(otherPort) == "other v2")
        #expect(broker.isRunning)
    }

    /// A manifest that stops compiling, synced together with a policy change and a code edit: rejected, and nothing
    /// changes (neither the policy nor the code); once fixed, both apply.
    @Test(arguments: [
        ("invalid JSON", #"{"version": 1, "defaults": {"allow": ["127.0.0.0/8"]}, "handlers": {"svc": {"deny": ["127.0.0.0/8"]}"#),
        ("unsupported version", #"{"version": 2, "defaults": {"allow": ["127.0.0.0/8"]}, "handlers": {"svc": {"deny": ["127.0.0.0/8"]}}}"#),
    ])
    func aManifestThatNoLongerCompilesChangesNothing(_ kind: String, _ manifest: String) throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let file = "svc.tcp.\(port).port.js"
        let good = Reload.manifest(defaults: #", "deny": ["127.0.0.2/32"]"#)
        try folder.write([file: Self.answer("svc v1"), "manifest.json": good])
        let broker = try ServeProcess(folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "100ms"]),
                                      readyCount: 1)
        defer { broker.stop() }
        #expect(Reload.ask(port, source: "127.0.0.2") == nil, "127.0.0.2 is denied")

        try sync.rsync(["manifest.json": manifest, file: Self.answer("svc v2")])
        let rejected = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(rejected.isRejected && rejected.level == "error", "\(kind): \(rejected)")
        #expect(rejected.message.hasPrefix("reload 1: rejected, every endpoint kept as it was: "), "\(rejected.message)")
        #expect(Reload.ask(port) == "svc v1", "neither the deny nor the code edit applied")
        #expect(Reload.ask(port, source: "127.0.0.2") == nil)

        try sync.rsync("manifest.json", good)
        let fixed = try #require(broker.waitForReload(2), "\(broker.log)")
        #expect(!fixed.isRejected && fixed.kept.isEmpty, "\(fixed)")
        #expect(Reload.ask(port) == "svc v2")
        #expect(Reload.ask(port, source: "127.0.0.2") == nil)
    }

    /// The manifest deleted (with a code edit in the same sync): rejected, the old policy and code stay; restored,
    /// the edit applies.
    /// `--strict` holds for reloads as for the start: a folder with a warning is rejected whole; once clean, it loads.
    @Test func strictRejectsAReloadWithAWarning() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let file = "svc.tcp.\(port).port.js"
        try folder.write([file: Self.answer("svc v1"), "manifest.json": Reload.manifest()])
        let broker = try ServeProcess(
            folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "100ms", "--strict"]), readyCount: 1)
        defer { broker.stop() }

        // A deny that covers no allowed address is a warning (manifest.deny-unused); the edit beside it waits.
        try sync.rsync(["manifest.json": Reload.manifest(defaults: #", "deny": ["192.0.2.0/24"]"#),
                        file: Self.answer("svc v2")])
        let rejected = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(rejected.isRejected && rejected.message.contains("--strict"), "\(rejected)")
        #expect(Reload.ask(port) == "svc v1")

        try sync.rsync("manifest.json", Reload.manifest())
        let loaded = try #require(broker.waitForReload(2), "\(broker.log)")
        #expect(!loaded.isRejected && loaded.changed == 1, "\(loaded)")
        #expect(Reload.ask(port) == "svc v2")
    }

    @Test func aDeletedManifestChangesNothing() throws {
        let port = try FreePort.tcp()
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let file = "svc.tcp.\(port).port.js"
        let manifest = Reload.manifest(defaults: #", "deny": ["127.0.0.2/32"]"#)
        try folder.write([file: Self.answer("svc v1"), "manifest.json": manifest])
        let broker = try ServeProcess(folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "100ms"]),
                                      readyCount: 1)
        defer { broker.stop() }

        try sync.remove("manifest.json")
        try sync.rsync(file, Self.answer("svc v2"))
        let rejected = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(rejected.isRejected && rejected.level == "error", "\(rejected)")
        #expect(Reload.ask(port) == "svc v1")
        #expect(Reload.ask(port, source: "127.0.0.2") == nil, "without a manifest every source would be allowed")

        try sync.rsync("manifest.json", manifest)
        let restored = try #require(broker.waitForReload(2), "\(broker.log)")
        #expect(!restored.isRejected, "\(restored)")
        #expect(Reload.ask(port) == "svc v2")
        #expect(Reload.ask(port, source: "127.0.0.2") == nil)
    }

    /// A deny for one endpoint: new connections to it are refused at once, an open one carries on, the other endpoint
    /// is untouched, and no runtime is made; taking the deny back admits new connections again.
    @Test func aPolicyOnlyChangeAppliesToNewConnectionsWithoutANewGeneration() throws {
        let (guarded, other) = (try FreePort.tcp(), try FreePort.tcp())
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        try folder.write([
            "guarded.tcp.\(guarded).port.js": ReloadServeTests.namedEcho("guarded"),
            "other.tcp.\(other).port.js": ReloadServeTests.namedEcho("other"),
            "manifest.json": Reload.manifest(),
        ])
        let broker = try ServeProcess(folder: folder.path, arguments: Reload.arguments(["--reload-debounce", "50ms"]),
                                      readyCount: 2)
        defer { broker.stop() }
        let open = try LineConnection(port: guarded)
        defer { open.close() }
        #expect(open.exchange("before") == "guarded before")

        try sync.rsync("manifest.json", Reload.manifest(handlers: #"{"guarded": {"deny": ["127.0.0.0/8"]}}"#))
        let denied = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(!denied.isRejected && denied.kept.isEmpty && denied.added == 0 && denied.removed == 0, "\(denied)")
        #expect(denied.runtimes == 2, "no new runtime for a policy change: \(denied)")
        #expect(!broker.entries.contains { ReloadServeTests.isGenerationLine($0, "serving tcp/\(guarded)") })
        #expect(Reload.ask(guarded, "new") == nil, "a new connection from 127.0.0.1 is denied")
        #expect(open.exchange("during") == "guarded during", "the open connection carries on")
        #expect(Reload.ask(other, "new") == "other new")

        try sync.rsync("manifest.json", Reload.manifest())
        let allowed = try #require(broker.waitForReload(2), "\(broker.log)")
        #expect(allowed.runtimes == 2, "\(allowed)")
        #expect(Reload.ask(guarded, "again") == "guarded again")
        #expect(open.exchange("after") == "guarded after")
        #expect(broker.count(message: "guarded close ran") == 0, "the endpoint's generation was never replaced")
    }
}
