import BerthCompiler
import BerthJS
import BerthPlan
import BerthTestSupport
import Foundation
import Testing

/// `DeploymentPlan.sources`: the bytes of every module the compiler checked, for `serve` to load instead of the files.
@Suite struct CompiledSourcesTests {
    static let files = [
        "echo.tcp.7000.port.js": "import { tag } from './lib/util.js';\nexport function handle(c) { c.end(tag); }\n",
        "other.tcp.7001.port.js": """
            import { tag } from './lib/util.js';
            export async function handle(conn) { conn.end(tag + (await import('./lib/later.js')).late); }

            """,
        "lib/util.js": "export { deep as tag } from './deep/more.js';\n",
        "lib/deep/more.js": "export const deep = 'deep';\n",
        "lib/later.js": "export const late = 'late';\n",
        "lib/unused.js": "export const unused = 1;\n",
        "ping.udp.9000.port.js": udpHandler,
        "notes.txt": "not code\n",
        "manifest.json": minimalManifest,
    ]

    @Test func sourcesHoldExactlyTheModulesReadKeyedRelativeToTheFolder() throws {
        let folder = try TemporaryFolder()
        try folder.write(Self.files)
        let plan = try Compiler.compile(folder: folder.path)
        #expect(!plan.diagnostics.hasErrors, "\(Golden.render(plan.diagnostics))")
        #expect(plan.sources.keys.sorted() == [
            "echo.tcp.7000.port.js", "lib/deep/more.js", "lib/later.js", "lib/util.js", "other.tcp.7001.port.js",
            "ping.udp.9000.port.js",
        ])
        // Every endpoint's entry and imports are there, and nothing else is.
        let reached = Set(plan.endpoints.flatMap { [$0.file] + $0.imports })
        #expect(Set(plan.sources.keys) == reached)
        #expect(plan.endpoints.first { $0.file == "other.tcp.7001.port.js" }?.imports
            == ["lib/deep/more.js", "lib/later.js", "lib/util.js"], "a literal import() is followed")
        for (path, source) in plan.sources {
            #expect(source.bytes == Array(Self.files[path]!.utf8), "\(path)")
            #expect(source.sha256 == SHA256.hex(Array(Self.files[path]!.utf8)), "\(path)")
        }
        for endpoint in plan.endpoints {
            #expect(endpoint.moduleSHA256 == plan.sources[endpoint.file]?.sha256, "\(endpoint.file)")
            // What the runtime tests load (CompiledSourcesLoadTests) is what the compiler keeps.
            let inspected = ModuleInspector(folder: folder.path).inspect(entry: endpoint.file).sources
            let reachedByEndpoint = Set([endpoint.file] + endpoint.imports)
            #expect(inspected == plan.sources.filter { reachedByEndpoint.contains($0.key) }.mapValues(\.bytes))
        }
    }

    @Test func sourcesAreTheBytesAtCompileTimeNotLater() throws {
        let folder = try TemporaryFolder()
        try folder.write(Self.files)
        let plan = try Compiler.compile(folder: folder.path)
        try folder.write(["echo.tcp.7000.port.js": tcpHandler, "lib/util.js": "export const tag = 'new';\n"])
        #expect(plan.sources["echo.tcp.7000.port.js"]?.bytes == Array(Self.files["echo.tcp.7000.port.js"]!.utf8))
        #expect(plan.sources["lib/util.js"]?.bytes == Array(Self.files["lib/util.js"]!.utf8))
        let again = try Compiler.compile(folder: folder.path)
        #expect(again.sources["echo.tcp.7000.port.js"]?.bytes == Array(tcpHandler.utf8))
        #expect(again.sources["lib/deep/more.js"] == nil, "no longer imported")
        #expect(again.endpoints.first?.moduleSHA256 == SHA256.hex(Array(tcpHandler.utf8)))
    }

    @Test func aRefusedEntrysModulesAreKeptButAnEntryRefusedBeforeCompilingIsNotRead() throws {
        let folder = try TemporaryFolder()
        try folder.write([
            "broken.tcp.7000.port.js": "import { x } from './lib/x.js';\nexport function handle(conn {\n",
            "lib/x.js": "export const x = 1;\n",
            "a.tcp.7001.port.js": tcpHandler, "b.tcp.7001.port.js": tcpHandler,
            "manifest.json": minimalManifest,
        ])
        let plan = try Compiler.compile(folder: folder.path)
        #expect(plan.refused.map(\.file) == ["b.tcp.7001.port.js", "broken.tcp.7000.port.js"])
        // broken's file was compiled (the watcher needs its directories); the port-conflict loser never was.
        #expect(plan.sources.keys.sorted() == ["a.tcp.7001.port.js", "broken.tcp.7000.port.js"])
    }

    @Test func aSymlinkedEntryIsLoadedByItsTargetsPath() throws {
        let folder = try TemporaryFolder()
        try folder.write(["src/echo.js": tcpHandler, "manifest.json": minimalManifest])
        try folder.symlink("echo.tcp.7000.port.js", to: "src/echo.js")
        let plan = try Compiler.compile(folder: folder.path)
        let endpoint = try #require(plan.endpoints.first)
        #expect(plan.sources.keys.sorted() == ["src/echo.js"])
        // The runtime resolves the symlink and looks up the real path, which the endpoint lists with its imports.
        #expect(endpoint.imports == ["src/echo.js"])
        #expect(endpoint.moduleSHA256 == SHA256.hex(Array(tcpHandler.utf8)))
    }

    @Test func thePlanDocumentDoesNotCarryTheSources() throws {
        let folder = try TemporaryFolder()
        try folder.write(Self.files)
        let plan = try Compiler.compile(folder: folder.path)
        #expect(!plan.sources.isEmpty)
        var withoutSources = plan
        withoutSources.sources = [:]
        let document = JSONWriter.compactUTF8(plan.json)
        #expect(document == JSONWriter.compactUTF8(withoutSources.json))
        #expect(plan.planHash == withoutSources.planHash)
        let text = String(decoding: document, as: UTF8.self)
        #expect(!text.contains("sources"))
        #expect(!text.contains("c.end(tag)"))
        // The same folder compiles to the same document, byte for byte.
        let again = try Compiler.compile(folder: folder.path)
        #expect(JSONWriter.compactUTF8(again.json) == document)
        #expect(again.sources == plan.sources)
    }
}
