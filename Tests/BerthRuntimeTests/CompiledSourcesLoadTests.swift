import BerthPlan
import BerthTestSupport
import Foundation
import Testing

import BerthJS
@testable import BerthRuntime

/// HandlerRuntime(sources:): a runtime runs the bytes the compiler checked, whatever the folder holds by the time it
/// loads. The bytes are taken as the compiler takes them for `DeploymentPlan.sources` (`ModuleInspector`'s
/// `sources`, which the compiler's module check copies; BerthRuntimeTests does not depend on BerthCompiler).
@Suite(.timeLimit(.minutes(2)))
struct CompiledSourcesLoadTests {
    static let entry = "t.tcp.7000.port.js"
    static let files = [
        entry: "import { tag } from './lib/tag.js';\nexport function handle(conn) { conn.write('entry v1 ' + tag); }\n",
        "lib/tag.js": "export const tag = 'import v1';\n",
    ]

    /// The bytes of `entry` and its imports as the compiler's inspection read them from `folder` now.
    func compiledSources(_ folder: TemporaryFolder, entry: String = Self.entry) -> [String: [UInt8]] {
        let inspection = ModuleInspector(folder: folder.path).inspect(entry: entry)
        #expect(inspection.problems.isEmpty, "\(inspection.problems)")
        return inspection.sources
    }

    func reply(
        _ folder: TemporaryFolder, sources: [String: [UInt8]], entry: String = Self.entry
    ) throws -> String {
        let host = FakeHandlerHost()
        let runtime = try HandlerRuntime(
            folder: folder.path, entry: entry, sources: sources, name: "t", transport: .tcp, port: 7000,
            heapLimit: 16 << 20, cpuBudgetMilliseconds: 200, host: host)
        defer { runtime.unload() }
        var opened: [DispatchOutcome] = []
        runtime.callOpen { opened.append($0) }
        #expect(opened == [.ok])
        #expect(runtime.acceptConnection(1, peer) == .ok)
        #expect(host.errors.isEmpty, "\(host.errors)")
        return host.text(1)
    }

    @Test func theCompiledEntryRunsNotTheFileWrittenSince() throws {
        let folder = try TemporaryFolder()
        try folder.write(Self.files)
        let sources = compiledSources(folder)
        #expect(sources.keys.sorted() == ["lib/tag.js", Self.entry])
        try folder.write(Self.entry, "export function handle(conn) { conn.write('entry v2'); }\n")
        #expect(try reply(folder, sources: sources) == "entry v1 import v1")
        // Without the compiled bytes the file on disk is what loads: the test above did not pass by accident.
        #expect(try reply(folder, sources: [:]) == "entry v2")
    }

    @Test func theCompiledImportRunsNotTheFileWrittenSince() throws {
        let folder = try TemporaryFolder()
        try folder.write(Self.files)
        let sources = compiledSources(folder)
        try folder.write("lib/tag.js", "export const tag = 'import v2';\n")
        #expect(try reply(folder, sources: sources) == "entry v1 import v1")
        #expect(try reply(folder, sources: [:]) == "entry v1 import v2")
    }

    @Test func anEntryRewrittenWithASyntaxErrorStillLoadsItsCompiledVersion() throws {
        let folder = try TemporaryFolder()
        try folder.write(Self.files)
        let sources = compiledSources(folder)
        try folder.write(Self.entry, "export function handle(conn {\n")
        try folder.write("lib/tag.js", "export const tag = ;\n")
        #expect(try reply(folder, sources: sources) == "entry v1 import v1")
        #expect(throws: HandlerLoadError.self) { try reply(folder, sources: [:]) }
    }

    @Test func anImportAddedSinceCompilingIsNotLoaded() throws {
        // The entry now imports a file the compiler never saw: the compiled entry does not import it at all.
        let folder = try TemporaryFolder()
        try folder.write(Self.files)
        let sources = compiledSources(folder)
        try folder.write([
            Self.entry: "import { other } from './lib/other.js';\nexport function handle(c) { c.write(other); }\n",
            "lib/other.js": "export const other = 'other';\n",
        ])
        #expect(try reply(folder, sources: sources) == "entry v1 import v1")
    }

    @Test func aStaticImportTheCompiledBytesDoNotHoldIsNotRead() throws {
        // A snapshot without the import (it changed since the compile): unchecked code never runs, the load fails.
        let folder = try TemporaryFolder()
        try folder.write(Self.files)
        var sources = compiledSources(folder)
        sources["lib/tag.js"] = nil
        try folder.write("lib/tag.js", "export const tag = 'import v2';\n")
        let error = #expect(throws: HandlerLoadError.self) { try reply(folder, sources: sources) }
        #expect(error?.message.contains("changed since the folder was compiled") == true, "\(String(describing: error))")
    }

    @Test func aComputedDynamicImportIsReadFromTheFolder() throws {
        // No compile can see a computed path: it is read when it runs, as in Node.
        let folder = try TemporaryFolder()
        try folder.write([
            Self.entry: """
                export async function handle(conn) {
                  const name = "tag";
                  const { tag } = await import("./lib/" + name + ".js");
                  conn.write(tag);
                }

                """,
            "lib/tag.js": "export const tag = 'import v1';\n",
        ])
        let sources = compiledSources(folder)
        #expect(sources["lib/tag.js"] == nil)
        try folder.write("lib/tag.js", "export const tag = 'import v2';\n")
        #expect(try reply(folder, sources: sources) == "import v2")
    }

    @Test func aSymlinkedEntryRunsItsTargetsCompiledBytes() throws {
        let folder = try TemporaryFolder()
        try folder.write(["src/v1.js": "export function handle(conn) { conn.write('v1'); }\n"])
        try folder.symlink(Self.entry, to: "src/v1.js")
        let sources = compiledSources(folder)
        #expect(sources.keys.sorted() == ["src/v1.js"])
        try folder.write("src/v1.js", "export function handle(conn) { conn.write('v1 edited'); }\n")
        #expect(try reply(folder, sources: sources) == "v1")
    }

    @Test func anEntrySymlinkRetargetedSinceCompilingStillRunsTheCompiledTarget() throws {
        // `ln -sfn src/v2.js entry` between the compile and the load (a deploy switching versions): the plan checked
        // src/v1.js, so src/v1.js's bytes are what may run.
        let folder = try TemporaryFolder()
        try folder.write([
            "src/v1.js": "export function handle(conn) { conn.write('v1'); }\n",
            "src/v2.js": "export function handle(conn) { conn.write('v2, never checked'); }\n",
        ])
        try folder.symlink(Self.entry, to: "src/v1.js")
        let sources = compiledSources(folder)
        try FileManager.default.removeItem(atPath: folder.path + "/" + Self.entry)
        try folder.symlink(Self.entry, to: "src/v2.js")
        // src/v2.js was never checked: the load fails (the running version stays), and the reload compiles it.
        #expect(throws: HandlerLoadError.self) { try reply(folder, sources: sources) }
    }
}
