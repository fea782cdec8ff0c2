import BerthCompiler
import BerthPlan
import BerthTestSupport
import Foundation
import Testing

@testable import BerthBroker

/// FolderWatch: which directories a plan depends on (pure), and the debounce over real inotify events on a real loop.
@Suite(.timeLimit(.minutes(2)))
struct FolderWatchTests {
    func compile(_ folder: TemporaryFolder) throws -> DeploymentPlan {
        let plan = try Compiler.compile(folder: folder.path)
        #expect(!plan.diagnostics.hasErrors, "\(Golden.render(plan.diagnostics))")
        return plan
    }

    // MARK: directories(of:in:)

    @Test func aFolderOfEntriesAloneIsItsRoot() throws {
        let folder = try TemporaryFolder("berth-folderwatch")
        try folder.write([
            "echo.tcp.7000.port.js": ReloadSamples.tcp(), "ping.udp.9000.port.js": ReloadSamples.udp,
            "manifest.json": ReloadSamples.openManifest,
        ])
        #expect(FolderWatch.directories(of: try compile(folder), in: folder.path) == [folder.path])
    }

    @Test func everyDirectoryHoldingAnImportIsWatchedOnce() throws {
        let folder = try TemporaryFolder("berth-folderwatch")
        try folder.write([
            "echo.tcp.7000.port.js": ReloadSamples.importing("lib/a.js"),
            "other.tcp.7001.port.js": "import './lib/deep/er/c.js';\n" + ReloadSamples.importing("lib/a.js"),
            "lib/a.js": "export { b as a } from './deep/b.js';\n",
            "lib/deep/b.js": "export const b = 'b';\n",
            "lib/deep/er/c.js": "export const c = 'c';\n",
            "unused/x.js": "export const x = 1;\n",
            "manifest.json": ReloadSamples.openManifest,
        ])
        let plan = try compile(folder)
        #expect(FolderWatch.directories(of: plan, in: folder.path) == [
            folder.path, folder.path + "/lib", folder.path + "/lib/deep", folder.path + "/lib/deep/er",
        ])
    }

    @Test func theDirectoriesOfARefusedEntrysImportsAreWatchedToo() throws {
        // Fixing lib/broken.js must trigger the reload that brings the entry back.
        let folder = try TemporaryFolder("berth-folderwatch")
        try folder.write([
            "echo.tcp.7000.port.js": ReloadSamples.importing("lib/broken.js"),
            "lib/broken.js": "export const a = ;\n", "manifest.json": ReloadSamples.openManifest,
        ])
        let plan = try Compiler.compile(folder: folder.path)
        #expect(plan.refused.map(\.file) == ["echo.tcp.7000.port.js"])
        #expect(FolderWatch.directories(of: plan, in: folder.path) == [folder.path, folder.path + "/lib"])
    }

    @Test func theDirectoryOfAMissingImportIsWatched() throws {
        // The entry waits for lib/late.js: its creation (the folder root does not see it) must trigger a reload.
        let folder = try TemporaryFolder("berth-folderwatch")
        try folder.write([
            "echo.tcp.7000.port.js": ReloadSamples.importing("lib/late.js"),
            "lib/README": "the import arrives later\n", "manifest.json": ReloadSamples.openManifest,
        ])
        let plan = try Compiler.compile(folder: folder.path)
        #expect(plan.refused.map(\.file) == ["echo.tcp.7000.port.js"])
        #expect(plan.awaitedFiles == ["lib/late.js"])
        #expect(FolderWatch.directories(of: plan, in: folder.path) == [folder.path, folder.path + "/lib"])
    }

    @Test func tlsFilesAddTheirDirectoriesWhetherRelativeOrAbsolute() throws {
        let folder = try TemporaryFolder("berth-folderwatch")
        let outside = try TemporaryFolder("berth-folderwatch-certs")
        try folder.makeDirectory("certs")
        try folder.makeDirectory("keys/private")
        try Certificates.make(certificate: folder.path + "/certs/a.pem", key: folder.path + "/keys/private/a.key")
        try Certificates.make(certificate: outside.path + "/b.pem", key: outside.path + "/b.key")
        try folder.write([
            "a.tcp.7443.port.js": ReloadSamples.tcp(), "b.tcp.8443.port.js": ReloadSamples.tcp(),
            "c.tcp.9443.port.js": ReloadSamples.tcp(),
            "manifest.json": """
                {"version": 1, "defaults": {"allow": ["0.0.0.0/0", "::/0"]},
                 "handlers": {
                   "a": {"tls": {"cert": "certs/a.pem", "key": "keys/private/a.key"}},
                   "b": {"tls": {"cert": "\(outside.path)/b.pem", "key": "\(outside.path)/b.key", "external": true}},
                   "c": {"tls": {"cert": "certs/a.pem", "key": "\(folder.path)/keys/private/a.key"}}}}

                """,
        ])
        let plan = try compile(folder)
        #expect(plan.endpoints.compactMap(\.tls).count == 3)
        #expect(FolderWatch.directories(of: plan, in: folder.path) == [
            folder.path, folder.path + "/certs", folder.path + "/keys/private", outside.path,
        ])
    }

    @Test func aFolderAtTheFileSystemRootGetsNoDoubleSlash() throws {
        var plan = DeploymentPlan(berthVersion: "", folderHash: "", endpoints: [], refused: [], diagnostics: [])
        plan.sources = ["a.tcp.1.port.js": CompiledSource(bytes: []), "lib/x.js": CompiledSource(bytes: [])]
        #expect(FolderWatch.directories(of: plan, in: "/") == ["/", "/lib"])
    }

    // MARK: The debounce on a loop

    /// Counts calls, for a closure made before its owner exists.
    final class Counter {
        var value = 0
    }

    /// A FolderWatch over `folder` on its own loop, counting `onQuiet` calls.
    final class Watching {
        let loop: EventLoop
        let watch: FolderWatch
        private let quietCount = Counter()
        var quiet: Int { quietCount.value }
        /// Every name the folder root reported, through a watcher of the test's own (it shares the loop's inotify
        /// queue, so once a name arrived here, FolderWatch has had every event before it).
        var rootNames: [String?] { rootNameList.names }
        private let rootNameList = Names()
        private let rootWatcher: DirectoryWatcher

        final class Names {
            var names: [String?] = []
        }

        init(_ folder: TemporaryFolder, debounceMilliseconds: Int = 50) throws {
            loop = try EventLoop()
            let quietCount = quietCount
            watch = FolderWatch(
                loop: loop, folder: folder.path, debounceMilliseconds: debounceMilliseconds,
                log: BrokerLog(format: .text, write: { _ in })) { quietCount.value += 1 }
            let rootNameList = rootNameList
            rootWatcher = try DirectoryWatcher(loop: loop, path: folder.path) { rootNameList.names.append($0) }
        }

        /// Runs the loop for `milliseconds`, whatever happens meanwhile.
        func run(milliseconds: UInt64) {
            let timer = LoopTimer(loop: loop)
            var done = false
            timer.start(after: milliseconds) { done = true }
            while !done { loop.runOnce() }
            timer.close()
        }

        func close() {
            watch.close()
            rootWatcher.close()
            loop.close()
        }
    }

    @Test func aBurstOfThreeHundredFilesIsOneQuietOnceTheFolderSettles() throws {
        let folder = try TemporaryFolder("berth-folderwatch")
        try folder.write([
            "echo.tcp.7000.port.js": ReloadSamples.importing("lib/deep/a.js"),
            "lib/deep/a.js": "export const a = 'a';\n", "manifest.json": ReloadSamples.openManifest,
        ])
        let plan = try compile(folder)
        let watching = try Watching(folder)
        defer { watching.close() }
        watching.watch.watch([plan])
        for index in 0..<300 { try folder.write("lib/deep/file\(index).js", "export const n = \(index);\n") }
        try folder.write("marker", "")
        watching.loop.run(until: { watching.rootNames.contains("marker") && watching.quiet > 0 })
        #expect(watching.quiet == 1)
        watching.run(milliseconds: 300)
        #expect(watching.quiet == 1, "one settle, one call")
        // The next change after it is a new burst.
        try folder.write("lib/deep/a.js", "export const a = 'b';\n")
        watching.loop.run(until: { watching.quiet == 2 })
        watching.run(milliseconds: 200)
        #expect(watching.quiet == 2)
    }

    @Test func theDebounceWaitsForTheFolderToBeQuiet() throws {
        let folder = try TemporaryFolder("berth-folderwatch")
        try folder.write(["echo.tcp.7000.port.js": ReloadSamples.tcp(), "manifest.json": ReloadSamples.openManifest])
        let watching = try Watching(folder, debounceMilliseconds: 400)
        defer { watching.close() }
        watching.watch.watch([try compile(folder)])
        // A change every 100 ms for 600 ms: never 400 ms of quiet until the last.
        var lastWrite = ContinuousClock.now
        for index in 0..<6 {
            try folder.write("note\(index).txt", "\(index)\n")
            lastWrite = ContinuousClock.now
            watching.run(milliseconds: 100)
            #expect(watching.quiet == 0)
        }
        watching.loop.run(until: { watching.quiet > 0 })
        #expect(watching.quiet == 1)
        // libuv times from the loop's cached clock, which may lag a few ms: the bound allows for it.
        #expect(ContinuousClock.now - lastWrite >= .milliseconds(350))
    }

    @Test(arguments: [".echo.tcp.7000.port.js.swp", "echo.tcp.7000.port.js~", "echo.tcp.7000.port.js.tmp", ".#echo.js",
                      ".syncthing.echo.tcp.7000.port.js.tmp", "#echo.js#"])
    func aTemporaryAloneIsNoChange(_ name: String) throws {
        let folder = try TemporaryFolder("berth-folderwatch")
        try folder.write([
            "echo.tcp.7000.port.js": ReloadSamples.importing("lib/a.js"),
            "lib/a.js": "export const a = 'a';\n", "manifest.json": ReloadSamples.openManifest,
        ])
        let watching = try Watching(folder)
        defer { watching.close() }
        watching.watch.watch([try compile(folder)])
        try folder.write(name, "half written")
        try folder.write("lib/" + name, "half written")
        try FileManager.default.removeItem(atPath: folder.path + "/lib/" + name)
        try FileManager.default.removeItem(atPath: folder.path + "/" + name)
        try folder.write(name, "half written")
        try folder.write(".marker.tmp", "")
        watching.loop.run(until: { watching.rootNames.contains(".marker.tmp") })
        watching.run(milliseconds: 200)
        #expect(watching.quiet == 0)
        // A temporary renamed into place is a change: its new name is the file's.
        try FileManager.default.moveItem(atPath: folder.path + "/" + name, toPath: folder.path + "/lib/b.js")
        watching.loop.run(until: { watching.quiet == 1 })
    }

    @Test func aWatchedDirectoryDeletedAndRecreatedIsWatchedAgainAfterTheNextWatch() throws {
        let folder = try TemporaryFolder("berth-folderwatch")
        try folder.write([
            "echo.tcp.7000.port.js": ReloadSamples.importing("lib/a.js"),
            "lib/a.js": "export const a = 'a';\n", "manifest.json": ReloadSamples.openManifest,
        ])
        let plan = try compile(folder)
        let watching = try Watching(folder)
        defer { watching.close() }
        watching.watch.watch([plan])

        // The directory goes away (a sync replacing it): one reload.
        try FileManager.default.removeItem(atPath: folder.path + "/lib")
        watching.loop.run(until: { watching.quiet == 1 })
        // It comes back: the root sees it, another reload, which watches again (a plan naming lib/ as before).
        try folder.write("lib/a.js", "export const a = 'a';\n")
        watching.loop.run(until: { watching.quiet == 2 })
        // Until the next watch() the old watcher of lib/ is stale: inotify followed the directory that went away.
        try folder.write("lib/a.js", "export const a = 'stale';\n")
        watching.run(milliseconds: 200)
        #expect(watching.quiet == 2)
        watching.watch.watch([plan])
        // A change inside it alone (the root sees nothing) is seen again.
        let rootNamesBefore = watching.rootNames.count
        try folder.write("lib/a.js", "export const a = 'b';\n")
        watching.loop.run(until: { watching.quiet == 3 })
        #expect(watching.rootNames.count == rootNamesBefore, "the root's watcher saw nothing of lib/a.js")
    }

    @Test func aDirectoryTheNewPlanNoLongerNeedsIsNoLongerWatched() throws {
        let folder = try TemporaryFolder("berth-folderwatch")
        try folder.write([
            "echo.tcp.7000.port.js": ReloadSamples.importing("lib/a.js"),
            "lib/a.js": "export const a = 'a';\n", "manifest.json": ReloadSamples.openManifest,
        ])
        let withImport = try compile(folder)
        let watching = try Watching(folder)
        defer { watching.close() }
        watching.watch.watch([withImport])
        try folder.write("echo.tcp.7000.port.js", ReloadSamples.tcp())
        let without = try compile(folder)
        watching.loop.run(until: { watching.quiet == 1 })
        // Both plans while the new one is being applied; the new one alone once it serves.
        watching.watch.watch([without, withImport])
        try folder.write("lib/a.js", "export const a = 'b';\n")
        watching.loop.run(until: { watching.quiet == 2 })
        watching.watch.watch([without])
        try folder.write("lib/a.js", "export const a = 'c';\n")
        watching.run(milliseconds: 200)
        #expect(watching.quiet == 2)
    }

    @Test func closeDropsAPendingQuiet() throws {
        let folder = try TemporaryFolder("berth-folderwatch")
        try folder.write(["echo.tcp.7000.port.js": ReloadSamples.tcp(), "manifest.json": ReloadSamples.openManifest])
        let watching = try Watching(folder)
        defer { watching.close() }
        watching.watch.watch([try compile(folder)])
        try folder.write("x.txt", "x")
        watching.loop.run(until: { watching.rootNames.contains("x.txt") })
        watching.watch.close()
        watching.run(milliseconds: 200)
        #expect(watching.quiet == 0)
    }
}
