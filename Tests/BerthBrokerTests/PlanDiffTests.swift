import BerthBroker
import BerthCompiler
import BerthPlan
import BerthTestSupport
import Foundation
import Testing

/// Handler files and manifests for the reload tests (PlanDiffTests, FolderWatchTests).
enum ReloadSamples {
    /// A TCP entry whose reply names `tag`, so versions of one file differ in code.
    static func tcp(_ tag: String = "v1") -> String { "export function handle(conn, ctx) { conn.end('\(tag)'); }\n" }
    static let udp = "export function message(msg, rinfo, ctx) {}\n"
    /// A TCP entry replying with the export `a` of the file at `path` (relative to the folder).
    static func importing(_ path: String) -> String {
        "import { a } from './\(path)';\nexport function handle(conn) { conn.end(a); }\n"
    }
    static let openManifest = "{\"version\": 1, \"defaults\": {\"allow\": [\"0.0.0.0/0\", \"::/0\"]}}\n"

    /// The versions a broker serving `plan` runs, by claim: what a reload diffs the next plan against.
    static func running(_ plan: DeploymentPlan) -> [String: PlanDiff.Running] {
        Dictionary(uniqueKeysWithValues: plan.endpoints.map {
            ($0.claim, PlanDiff.Running(endpoint: $0, codeHash: PlanDiff.codeHash(of: $0, in: plan)))
        })
    }
}

/// PlanDiff over real compiles of a real folder: the plan a broker serves, the folder edited, the plan compiled again.
@Suite(.timeLimit(.minutes(2)))
struct PlanDiffTests {
    /// A folder being served: `running` is the plan compiled from its first contents.
    final class Served {
        let folder: TemporaryFolder
        let running: DeploymentPlan

        /// A folder with `files`, prepared further by `prepare(path)` (certificates) before the first compile.
        init(_ files: [String: String], prepare: (String) throws -> Void = { _ in }) throws {
            folder = try TemporaryFolder("berth-diff")
            try folder.write(files)
            try prepare(folder.path)
            running = try Compiler.compile(folder: folder.path)
            #expect(!running.diagnostics.hasErrors, "\(Golden.render(running.diagnostics))")
        }

        func write(_ files: [String: String]) throws { try folder.write(files) }
        func remove(_ relativePath: String) throws {
            try FileManager.default.removeItem(atPath: folder.path + "/" + relativePath)
        }

        func rename(_ relativePath: String, to newPath: String) throws {
            try FileManager.default.moveItem(
                atPath: folder.path + "/" + relativePath, toPath: folder.path + "/" + newPath)
        }

        /// The folder compiled now, with the running claims as incumbents as `serve` compiles on a reload.
        func recompile() throws -> DeploymentPlan {
            let incumbents = Dictionary(uniqueKeysWithValues: running.endpoints.map { ($0.claim, $0.file) })
            return try Compiler.compile(folder: folder.path, options: CompileOptions(incumbents: incumbents))
        }

        func diff() throws -> (PlanDiff, DeploymentPlan) {
            let plan = try recompile()
            return (PlanDiff(running: ReloadSamples.running(running), plan: plan), plan)
        }
    }

    func claims(_ endpoints: [Endpoint]) -> [String] { endpoints.map(\.claim) }

    /// echo on tcp/7000 and the manifest.
    static let echo = ["echo.tcp.7000.port.js": ReloadSamples.tcp(), "manifest.json": ReloadSamples.openManifest]
    /// One TCP entry named `file`, and the manifest.
    static func entry(_ file: String) -> [String: String] {
        [file: ReloadSamples.tcp(), "manifest.json": ReloadSamples.openManifest]
    }
    /// echo, and ping on udp/9000.
    static let echoAndPing = echo.merging(["ping.udp.9000.port.js": ReloadSamples.udp]) { $1 }
    /// An entry replying with what it imports from lib/util.js.
    static let importing = "import { tag } from './lib/util.js';\nexport function handle(conn) { conn.end(tag); }\n"
    /// echo importing lib/util.js, and ping.
    static let echoImporting = echoAndPing.merging([
        "echo.tcp.7000.port.js": importing, "lib/util.js": "export const tag = 'v1';\n",
    ]) { $1 }
    /// The open manifest with one handler narrowed to 127.0.0.1.
    static func manifestNarrowing(_ handler: String) -> String {
        """
        {"version": 1, "defaults": {"allow": ["0.0.0.0/0", "::/0"]},
         "handlers": {"\(handler)": {"allow": ["127.0.0.1/32"]}}}

        """
    }

    // MARK: Endpoints added, removed, moved

    @Test func aNewEntryIsAddedAndNothingElseChanges() throws {
        let served = try Served(Self.echo)
        try served.write(["ping.udp.9000.port.js": ReloadSamples.udp])
        let (diff, _) = try served.diff()
        #expect(claims(diff.added) == ["udp/9000"])
        #expect(diff.added.first?.file == "ping.udp.9000.port.js")
        #expect(diff.removed.isEmpty && diff.replaced.isEmpty && diff.repoliced.isEmpty && diff.kept.isEmpty)
    }

    @Test func aNewEntryThatDoesNotCompileIsNeitherAddedNorKept() throws {
        let served = try Served(Self.echo)
        try served.write(["ping.udp.9000.port.js": "export function message(msg {\n"])
        let (diff, plan) = try served.diff()
        #expect(plan.refused.map(\.file) == ["ping.udp.9000.port.js"])
        #expect(diff.isEmpty)
        #expect(diff.kept.isEmpty, "kept is about running claims only")
    }

    @Test func aDeletedEntryIsRemoved() throws {
        let served = try Served(Self.echoAndPing)
        try served.remove("ping.udp.9000.port.js")
        let (diff, _) = try served.diff()
        #expect(claims(diff.removed) == ["udp/9000"])
        #expect(diff.added.isEmpty && diff.replaced.isEmpty && diff.repoliced.isEmpty && diff.kept.isEmpty)
    }

    @Test func everyEntryDeletedRemovesEveryClaim() throws {
        let served = try Served(Self.echoAndPing)
        try served.remove("echo.tcp.7000.port.js")
        try served.remove("ping.udp.9000.port.js")
        let (diff, _) = try served.diff()
        #expect(claims(diff.removed) == ["tcp/7000", "udp/9000"])
        #expect(diff.added.isEmpty && diff.kept.isEmpty)
    }

    @Test func aPortChangeIsOneClaimRemovedAndAnotherAdded() throws {
        let served = try Served(Self.echo)
        try served.rename("echo.tcp.7000.port.js", to: "echo.tcp.7001.port.js")
        let (diff, _) = try served.diff()
        #expect(claims(diff.removed) == ["tcp/7000"])
        #expect(claims(diff.added) == ["tcp/7001"])
        #expect(diff.replaced.isEmpty && diff.repoliced.isEmpty && diff.kept.isEmpty)
    }

    @Test func aTransportChangeIsOneClaimRemovedAndAnotherAdded() throws {
        let served = try Served(Self.echo)
        try served.remove("echo.tcp.7000.port.js")
        try served.write(["echo.udp.7000.port.js": ReloadSamples.udp])
        let (diff, _) = try served.diff()
        #expect(claims(diff.removed) == ["tcp/7000"])
        #expect(claims(diff.added) == ["udp/7000"])
        #expect(diff.replaced.isEmpty && diff.repoliced.isEmpty && diff.kept.isEmpty)
    }

    // MARK: Code changed

    @Test func anEditedEntryIsReplaced() throws {
        let served = try Served(Self.echo)
        try served.write(["echo.tcp.7000.port.js": ReloadSamples.tcp("v2")])
        let (diff, plan) = try served.diff()
        #expect(claims(diff.replaced) == ["tcp/7000"])
        #expect(diff.added.isEmpty && diff.removed.isEmpty && diff.repoliced.isEmpty && diff.kept.isEmpty)
        let old = try #require(served.running.endpoints.first)
        let new = try #require(plan.endpoints.first)
        #expect(PlanDiff.codeHash(of: old, in: served.running) != PlanDiff.codeHash(of: new, in: plan))
    }

    @Test(arguments: ["lib/util.js", "lib/deep/more.js"])
    func anEditedImportReplacesEveryEntryThatReachesIt(_ edited: String) throws {
        let served = try Served([
            "echo.tcp.7000.port.js": Self.importing, "other.tcp.7001.port.js": Self.importing,
            "alone.tcp.7002.port.js": ReloadSamples.tcp(),
            "lib/util.js": "export { tag } from './deep/more.js';\n",
            "lib/deep/more.js": "export const tag = 'v1';\n",
            "manifest.json": ReloadSamples.openManifest,
        ])
        #expect(served.running.endpoints.first?.imports == ["lib/deep/more.js", "lib/util.js"])
        let source = edited == "lib/util.js"
            ? "export { tag } from './deep/more.js'; // edited\n" : "export const tag = 'v2';\n"
        try served.write([edited: source])
        let (diff, _) = try served.diff()
        #expect(claims(diff.replaced) == ["tcp/7000", "tcp/7001"])
        #expect(diff.added.isEmpty && diff.removed.isEmpty && diff.repoliced.isEmpty && diff.kept.isEmpty)
    }

    @Test func aNewImportIsACodeChange() throws {
        let served = try Served(Self.echo.merging(["lib/util.js": "export const tag = 'v1';\n"]) { $1 })
        try served.write(["echo.tcp.7000.port.js": "import { tag } from './lib/util.js';\n" + ReloadSamples.tcp()])
        let (diff, _) = try served.diff()
        #expect(claims(diff.replaced) == ["tcp/7000"])
    }

    @Test func anEntryRenamedOnTheSamePortIsReplacedNotRemovedAndAdded() throws {
        let served = try Served(Self.entry("a.tcp.7000.port.js"))
        try served.rename("a.tcp.7000.port.js", to: "b.tcp.7000.port.js")
        let (diff, _) = try served.diff()
        #expect(claims(diff.replaced) == ["tcp/7000"])
        #expect(diff.replaced.first?.name == "b")
        #expect(diff.replaced.first?.file == "b.tcp.7000.port.js")
        #expect(diff.added.isEmpty && diff.removed.isEmpty && diff.repoliced.isEmpty && diff.kept.isEmpty)
    }

    @Test func changedExportsAreACodeChange() throws {
        let served = try Served(Self.echo)
        try served.write(["echo.tcp.7000.port.js": ReloadSamples.tcp() + "export function open(ctx) {}\n"])
        let (diff, plan) = try served.diff()
        #expect(plan.endpoints.first?.exports == ["handle", "open"])
        #expect(claims(diff.replaced) == ["tcp/7000"])
        #expect(diff.repoliced.isEmpty)
    }

    @Test func aRunningVersionWithOtherExportsOrNameIsReplacedEvenWithTheSameCode() throws {
        // The same bytes, so the same code hash: the exports or the name alone must still make a new generation.
        let served = try Served(Self.echo)
        let plan = try served.recompile()
        var running = ReloadSamples.running(served.running)
        running["tcp/7000"]!.endpoint.exports = ["handle", "open"]
        #expect(claims(PlanDiff(running: running, plan: plan).replaced) == ["tcp/7000"])
        running = ReloadSamples.running(served.running)
        running["tcp/7000"]!.endpoint.name = "renamed"
        #expect(claims(PlanDiff(running: running, plan: plan).replaced) == ["tcp/7000"])
    }

    // MARK: Policy only, and nothing

    @Test(arguments: [
        "{\"version\": 1, \"defaults\": {\"allow\": [\"10.0.0.0/8\"]}}\n",
        "{\"version\": 1, \"defaults\": {\"allow\": [\"0.0.0.0/0\", \"::/0\"], \"deny\": [\"10.9.0.0/16\"]}}\n",
        "{\"version\": 1, \"defaults\": {\"allow\": [\"0.0.0.0/0\", \"::/0\"], \"maxConnections\": 7}}\n",
        manifestNarrowing("echo"),
    ])
    func aPolicyOrLimitChangeAloneRepolicesWithoutReplacing(_ manifest: String) throws {
        let served = try Served(Self.echoAndPing)
        try served.write(["manifest.json": manifest])
        let (diff, plan) = try served.diff()
        #expect(!plan.diagnostics.hasErrors, "\(Golden.render(plan.diagnostics))")
        #expect(claims(diff.repoliced).contains("tcp/7000"))
        #expect(diff.replaced.isEmpty && diff.added.isEmpty && diff.removed.isEmpty && diff.kept.isEmpty)
        let repoliced = try #require(diff.repoliced.first { $0.claim == "tcp/7000" })
        #expect(repoliced == plan.endpoints.first { $0.claim == "tcp/7000" }, "the new policy, to put in the screen")
        #expect(repoliced != served.running.endpoints.first { $0.claim == "tcp/7000" })
    }

    @Test func aManifestChangeThatLeavesAnEndpointAsItWasDoesNotRepoliceIt() throws {
        let served = try Served(Self.echoAndPing)
        try served.write([
            "manifest.json": Self.manifestNarrowing("ping"),
        ])
        let (diff, _) = try served.diff()
        #expect(claims(diff.repoliced) == ["udp/9000"])
        #expect(diff.replaced.isEmpty)
    }

    @Test func aFolderRecompiledUnchangedIsAnEmptyDiff() throws {
        let served = try Served(Self.echoImporting)
        let (diff, _) = try served.diff()
        #expect(diff.isEmpty)
        let nothing = DeploymentPlan(berthVersion: "", folderHash: "", endpoints: [], refused: [], diagnostics: [])
        #expect(diff == PlanDiff(running: [:], plan: nothing))
        // Rewriting the same bytes (a sync touching every file) is no change either.
        try served.write(Self.echoImporting)
        let (again, _) = try served.diff()
        #expect(again.isEmpty && again.kept.isEmpty)
    }

    // MARK: Keep the last good

    @Test(arguments: [
        // The entry itself does not parse.
        ("echo.tcp.7000.port.js", "export function handle(conn) {\n  conn.end(;\n}\n",
         "module.syntax at echo.tcp.7000.port.js:2:12"),
        // It lost its handle export.
        ("echo.tcp.7000.port.js", "export function open() {}\n", "module.missing-export at echo.tcp.7000.port.js"),
        // It imports a file that is not there.
        ("echo.tcp.7000.port.js", "import { x } from './lib/gone.js';\nexport function handle(conn) { conn.end(x); }\n",
         "module.import-not-found at echo.tcp.7000.port.js:1:19"),
        // It imports a file outside the folder.
        ("echo.tcp.7000.port.js", "import { x } from '../outside.js';\nexport function handle(conn) { conn.end(x); }\n",
         "module.outside-folder at echo.tcp.7000.port.js:1:19"),
        // Its import does not parse.
        ("lib/util.js", "export const tag = ;\n", "module.syntax at lib/util.js:1:20"),
    ])
    func aVersionThatDoesNotCompileKeepsTheRunningOneAndSaysWhy(file: String, source: String, reason: String) throws {
        let served = try Served(Self.echoImporting)
        try served.write([file: source])
        let (diff, plan) = try served.diff()
        #expect(plan.refused.map(\.file) == ["echo.tcp.7000.port.js"])
        #expect(diff.kept.count == 1)
        #expect(diff.kept.first?.running == served.running.endpoints[0])
        #expect(diff.kept.first?.file == "echo.tcp.7000.port.js")
        #expect(diff.kept.first?.reason == reason)
        #expect(diff.isEmpty, "never removed, nothing else touched")
    }

    @Test func aRunningEntryRenamedOntoTheSamePortWithASyntaxErrorIsKept() throws {
        // The running file is gone, and the file that now names the claim does not compile: the claim keeps serving.
        let served = try Served(Self.entry("a.tcp.7000.port.js"))
        try served.rename("a.tcp.7000.port.js", to: "b.tcp.7000.port.js")
        try served.write(["b.tcp.7000.port.js": "export function handle(conn {\n"])
        let (diff, _) = try served.diff()
        #expect(diff.isEmpty)
        #expect(diff.kept.map(\.file) == ["b.tcp.7000.port.js"])
        #expect(diff.kept.first?.running.file == "a.tcp.7000.port.js")
        #expect(diff.kept.first?.reason.hasPrefix("module.syntax at b.tcp.7000.port.js:1:") == true)
    }

    @Test func theReasonKeptNamesTheFileThatRefusedThisEntryNotAnotherEntrysError() throws {
        // Two entries refused for the same code: echo's reason is its import's syntax error, never ping's own.
        var files = Self.echoImporting
        files["ping.udp.9000.port.js"] = nil
        files["a.udp.9000.port.js"] = ReloadSamples.udp
        let served = try Served(files)
        try served.write([
            "lib/util.js": "export const tag = ;\n",
            "a.udp.9000.port.js": "export function message(m {\n",
        ])
        let (diff, _) = try served.diff()
        let reasons = Dictionary(uniqueKeysWithValues: diff.kept.map { ($0.running.claim, $0.reason) })
        #expect(reasons["udp/9000"]?.hasPrefix("module.syntax at a.udp.9000.port.js:1:") == true)
        #expect(reasons["tcp/7000"] == "module.syntax at lib/util.js:1:20")
    }

    @Test func aNewFileOnARunningClaimLosesToTheIncumbentAndChangesNothing() throws {
        // "aa" sorts before "b": only the incumbent rule keeps b's port.
        let served = try Served(Self.entry("b.tcp.7000.port.js"))
        try served.write(["aa.tcp.7000.port.js": ReloadSamples.tcp("intruder")])
        let (diff, plan) = try served.diff()
        #expect(plan.endpoints.map(\.file) == ["b.tcp.7000.port.js"])
        #expect(plan.refused.map(\.file) == ["aa.tcp.7000.port.js"])
        #expect(plan.diagnostics.map(\.code).contains(.grammarPortConflict))
        #expect(diff.isEmpty)
        #expect(diff.kept.isEmpty)

        // Without the incumbents the newcomer would take the port: the broker must compile with them.
        let unaware = try Compiler.compile(folder: served.folder.path)
        #expect(unaware.endpoints.map(\.file) == ["aa.tcp.7000.port.js"])
        let unawareDiff = PlanDiff(running: ReloadSamples.running(served.running), plan: unaware)
        #expect(claims(unawareDiff.replaced) == ["tcp/7000"])
    }

    // MARK: Rejection: the manifest

    @Test func aManifestThatIsNotJSONRejectsTheWholePlanNamingTheFileAndCode() throws {
        let served = try Served(Self.echo)
        try served.write(["manifest.json": "{\"version\": 1,\n  \"defaults\": {\"allow\": [\"0.0.0.0/0\"]\n"])
        let plan = try served.recompile()
        let rejection = try #require(PlanDiff.rejection(of: plan, running: served.running))
        #expect(
            rejection.hasPrefix("manifest.json does not compile (manifest.syntax at manifest.json:"), "\(rejection)")
        // Applied anyway, every claim would be kept with the manifest's code: rejection is what stops it.
        let diff = PlanDiff(running: ReloadSamples.running(served.running), plan: plan)
        #expect(diff.kept.map(\.reason).allSatisfy { $0.hasPrefix("manifest.syntax") })
    }

    @Test func aManifestWithAnInvalidValueRejectsTheWholePlan() throws {
        let served = try Served(Self.echo)
        try served.write(["manifest.json": "{\"version\": 1, \"defaults\": {\"allow\": [\"10.0.0.0/33\"]}}\n"])
        let rejection = try #require(PlanDiff.rejection(of: try served.recompile(), running: served.running))
        #expect(
            rejection.hasPrefix("manifest.json does not compile (manifest.cidr-prefix-length at manifest.json:1:"),
            "\(rejection)")
    }

    @Test func aManifestDeletedWhileTheRunningPlanHadOneIsRejected() throws {
        let served = try Served(Self.echo)
        try served.remove("manifest.json")
        let plan = try served.recompile()
        #expect(PlanDiff.rejection(of: plan, running: served.running) == "manifest.json is missing")
    }

    @Test func noManifestBeforeOrAfterIsNoRejection() throws {
        let served = try Served(["echo.tcp.7000.port.js": ReloadSamples.tcp("v1")])
        #expect(served.running.diagnostics.map(\.code) == [.manifestMissing])
        try served.write(["echo.tcp.7000.port.js": ReloadSamples.tcp("v2")])
        let (diff, plan) = try served.diff()
        #expect(PlanDiff.rejection(of: plan, running: served.running) == nil)
        #expect(claims(diff.replaced) == ["tcp/7000"])
    }

    @Test func aManifestAddedWhereThereWasNoneIsNoRejection() throws {
        let served = try Served(["echo.tcp.7000.port.js": ReloadSamples.tcp()])
        try served.write(["manifest.json": "{\"version\": 1, \"defaults\": {\"allow\": [\"127.0.0.1/32\"]}}\n"])
        let (diff, plan) = try served.diff()
        #expect(PlanDiff.rejection(of: plan, running: served.running) == nil)
        #expect(claims(diff.repoliced) == ["tcp/7000"])
    }

    @Test func aValidManifestIsNoRejectionWhateverTheEntriesDo() throws {
        let served = try Served(Self.echo)
        try served.write(["echo.tcp.7000.port.js": "export function handle(conn {\n"])
        #expect(PlanDiff.rejection(of: try served.recompile(), running: served.running) == nil)
    }

    @Test func anExpiredCertificateKeepsItsEndpointAndDoesNotRejectTheOthersChanges() throws {
        let served = try Served([
            "echo.tcp.7000.port.js": ReloadSamples.tcp("v1"), "secure.tcp.7443.port.js": ReloadSamples.tcp(),
            "manifest.json": """
                {"version": 1, "defaults": {"allow": ["0.0.0.0/0", "::/0"]},
                 "handlers": {"secure": {"tls": {"cert": "certs/c.pem", "key": "certs/k.pem"}}}}

                """,
        ]) { folder in
            try FileManager.default.createDirectory(atPath: folder + "/certs", withIntermediateDirectories: true)
            try Certificates.make(certificate: folder + "/certs/c.pem", key: folder + "/certs/k.pem", days: 30)
        }
        #expect(served.running.endpoints.map(\.claim) == ["tcp/7000", "tcp/7443"])
        // Two months on the certificate has expired; meanwhile echo's code changed.
        try served.write(["echo.tcp.7000.port.js": ReloadSamples.tcp("v2")])
        let later = try Compiler.compile(
            folder: served.folder.path,
            options: CompileOptions(
                incumbents: ["tcp/7000": "echo.tcp.7000.port.js", "tcp/7443": "secure.tcp.7443.port.js"],
                now: Date().addingTimeInterval(60 * 24 * 3600)))
        #expect(later.diagnostics.contains { $0.code == .tlsExpired && $0.location?.file == "manifest.json" })
        #expect(PlanDiff.rejection(of: later, running: served.running) == nil)
        let diff = PlanDiff(running: ReloadSamples.running(served.running), plan: later)
        #expect(claims(diff.replaced) == ["tcp/7000"])
        #expect(diff.kept.map(\.running.claim) == ["tcp/7443"])
        #expect(diff.kept.first?.reason.hasPrefix("tls.expired at manifest.json:") == true)
    }
}
