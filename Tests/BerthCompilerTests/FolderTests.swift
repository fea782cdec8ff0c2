import BerthCompiler
import BerthPlan
import BerthTestSupport
import Foundation
import Testing

let tcpHandler = "export function handle(conn, ctx) { conn.end(); }\n"
let udpHandler = "export function message(msg, rinfo, ctx) {}\n"
let minimalManifest = "{\"version\": 1}\n"

/// Folder-level rules: what is an entry, what is ignored, symlinks, conflicts, and the plan's determinism.
@Suite struct FolderTests {
    func compile(_ folder: TemporaryFolder, incumbents: [String: String] = [:]) throws -> DeploymentPlan {
        try Compiler.compile(folder: folder.path, options: CompileOptions(incumbents: incumbents))
    }

    @Test func editorTemporariesAndDotfilesAreIgnored() throws {
        let folder = try TemporaryFolder()
        try folder.write([
            "echo.tcp.7000.port.js": tcpHandler, "manifest.json": minimalManifest,
            ".#echo.tcp.7001.port.js": "garbage(", "echo.tcp.7002.port.js~": "garbage(",
            ".echo.tcp.7003.port.js.swp": "garbage(", ".syncthing.echo.tcp.7004.port.js.tmp": "garbage(",
            "echo.tcp.7005.port.js.tmp": "garbage(", ".hidden.tcp.7006.port.js": "garbage(",
            "#echo.tcp.7007.port.js#": "garbage(", "notes.txt": "hello",
        ])
        let plan = try compile(folder)
        #expect(plan.endpoints.map(\.file) == ["echo.tcp.7000.port.js"])
        #expect(plan.refused.isEmpty)
        #expect(plan.diagnostics.isEmpty, "\(Golden.render(plan.diagnostics))")
    }

    @Test func nestedEntryNamesAreSupportingCode() throws {
        let folder = try TemporaryFolder()
        try folder.write([
            "echo.tcp.7000.port.js": "import { x } from \"./lib/x.tcp.7001.port.js\";\nexport function handle(c) { c.end(String(x)); }\n",
            "lib/x.tcp.7001.port.js": "export const x = 1;\n", "manifest.json": minimalManifest,
        ])
        let plan = try compile(folder)
        #expect(plan.endpoints.map(\.claim) == ["tcp/7000"])
        #expect(plan.endpoints.first?.imports == ["lib/x.tcp.7001.port.js"])
        #expect(plan.diagnostics.map(\.code) == [.grammarNestedEntry])
        #expect(plan.diagnostics.first?.severity == .info)
    }

    @Test func symlinkedEntryInsideTheFolderIsServed() throws {
        let folder = try TemporaryFolder()
        try folder.write(["src/echo.js": tcpHandler, "manifest.json": minimalManifest])
        try folder.symlink("echo.tcp.7000.port.js", to: "src/echo.js")
        let plan = try compile(folder)
        #expect(plan.endpoints.map(\.file) == ["echo.tcp.7000.port.js"])
        #expect(!plan.diagnostics.hasErrors, "\(Golden.render(plan.diagnostics))")
    }

    @Test func symlinkedEntryOutsideTheFolderIsRefusedUnread() throws {
        let outside = try TemporaryFolder("berth-outside")
        // A FIFO: opening it to read would block the compiler, so passing proves it was never opened.
        let fifo = outside.path + "/echo.js"
        #expect(mkfifo(fifo, 0o644) == 0)
        let folder = try TemporaryFolder()
        try folder.write("manifest.json", minimalManifest)
        try folder.symlink("echo.tcp.7000.port.js", to: fifo)
        let plan = try compile(folder)
        #expect(plan.endpoints.isEmpty)
        #expect(plan.refused.map(\.reasons) == [[.moduleOutsideFolder]])
        let diagnostic = try #require(plan.diagnostics.first { $0.code == .moduleOutsideFolder })
        #expect(diagnostic.location == SourceLocation(file: "echo.tcp.7000.port.js"))
        #expect(diagnostic.message.contains(fifo))
    }

    /// Entry types come from `lstat`: a directory, a FIFO and a symlink to a directory are each refused, unread.
    @Test func entriesThatAreNotRegularFilesAreRefused() throws {
        let folder = try TemporaryFolder()
        try folder.write(["echo.tcp.7000.port.js": tcpHandler, "manifest.json": minimalManifest])
        try folder.makeDirectory("dir.tcp.7001.port.js")
        #expect(mkfifo(folder.path + "/fifo.tcp.7002.port.js", 0o644) == 0)
        try folder.makeDirectory("lib")
        try folder.symlink("link.tcp.7003.port.js", to: "lib")
        let plan = try compile(folder)
        #expect(plan.endpoints.map(\.file) == ["echo.tcp.7000.port.js"])
        #expect(plan.refused.map(\.file) == ["dir.tcp.7001.port.js", "fifo.tcp.7002.port.js", "link.tcp.7003.port.js"])
        #expect(plan.diagnostics.filter { $0.code == .grammarNotAFile }.map(\.message).sorted() == [
            "dir.tcp.7001.port.js is a directory, not a regular file",
            "fifo.tcp.7002.port.js is a named pipe (FIFO), not a regular file",
            "link.tcp.7003.port.js is a symlink to a directory, not a regular file",
        ])
    }

    @Test func conflictWinnerIsTheSmallerNameWhateverTheCreationOrder() throws {
        for order in [["b.tcp.7000.port.js", "a.tcp.7000.port.js"], ["a.tcp.7000.port.js", "b.tcp.7000.port.js"]] {
            let folder = try TemporaryFolder()
            try folder.write("manifest.json", minimalManifest)
            for file in order { try folder.write(file, tcpHandler) }
            let plan = try compile(folder)
            #expect(plan.endpoints.map(\.file) == ["a.tcp.7000.port.js"])
            #expect(plan.refused.map(\.file) == ["b.tcp.7000.port.js"])
            let conflict = try #require(plan.diagnostics.first { $0.code == .grammarPortConflict })
            #expect(conflict.location?.file == "b.tcp.7000.port.js")
            #expect(conflict.related == [SourceLocation(file: "a.tcp.7000.port.js")])
            #expect(conflict.message.contains("a.tcp.7000.port.js"))
        }
    }

    @Test func incumbentKeepsItsPort() throws {
        let folder = try TemporaryFolder()
        try folder.write(["a.tcp.7000.port.js": tcpHandler, "b.tcp.7000.port.js": tcpHandler, "manifest.json": minimalManifest])
        let plan = try compile(folder, incumbents: ["tcp/7000": "b.tcp.7000.port.js"])
        #expect(plan.endpoints.map(\.file) == ["b.tcp.7000.port.js"])
        #expect(plan.refused.map(\.file) == ["a.tcp.7000.port.js"])
        #expect(plan.diagnostics.first { $0.code == .grammarPortConflict }?.message.contains("incumbent") == true)
    }

    @Test func incumbentsComeFromAPlanDocument() throws {
        let folder = try TemporaryFolder()
        try folder.write(["b.tcp.7000.port.js": tcpHandler, "manifest.json": minimalManifest])
        let previous = try compile(folder)
        let incumbents = try #require(CompileOptions.incumbents(fromPlan: previous.json))
        #expect(incumbents == ["tcp/7000": "b.tcp.7000.port.js"])
    }

    @Test func tcpAndUDPOnOnePortCoexist() throws {
        let folder = try TemporaryFolder()
        try folder.write(["dns.tcp.53.port.js": tcpHandler, "dns.udp.53.port.js": udpHandler, "manifest.json": minimalManifest])
        let plan = try compile(folder)
        #expect(plan.endpoints.map(\.claim) == ["tcp/53", "udp/53"])
        #expect(plan.diagnostics.isEmpty)
    }

    @Test func planIsByteIdenticalWhateverTheEnumerationOrder() throws {
        let files = (0..<40).map { ("h\($0).\($0 % 2 == 0 ? "tcp" : "udp").\(7000 + $0).port.js", $0 % 2 == 0 ? tcpHandler : udpHandler) }
        var documents: [String] = []
        for ordering in [files, files.reversed(), files.shuffled()] {
            let folder = try TemporaryFolder()
            try folder.write("manifest.json", "{\"version\": 1, \"defaults\": {\"allow\": [\"10.0.0.0/8\", \"::1\"]}}")
            for (name, contents) in ordering { try folder.write(name, contents) }
            try folder.write("dup.tcp.7000.port.js", tcpHandler)
            documents.append(JSONWriter.pretty(try compile(folder).json))
        }
        #expect(documents[0] == documents[1] && documents[1] == documents[2])
        #expect(documents[0].contains("\"planHash\": \"sha256:"))
    }

    @Test func planHashChangesWithContentAndNotOtherwise() throws {
        let folder = try TemporaryFolder()
        try folder.write(["echo.tcp.7000.port.js": tcpHandler, "manifest.json": minimalManifest])
        let first = try compile(folder)
        let again = try compile(folder)
        #expect(first.planHash == again.planHash && first.folderHash == again.folderHash)
        try folder.write("echo.tcp.7000.port.js", tcpHandler + "// changed\n")
        let changed = try compile(folder)
        #expect(changed.planHash != first.planHash && changed.folderHash != first.folderHash)
    }

    @Test func aMissingFolderThrows() {
        #expect(throws: CompileError.self) { try Compiler.compile(folder: "/nonexistent/berth-folder") }
    }
}
