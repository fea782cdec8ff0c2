import BerthCompiler
import BerthFirewall
import BerthPlan
import Foundation

/// `berth plan` against the live firewall, `berth apply` and `berth destroy`: the stage that makes the plan real in
/// the kernel, with the plan/apply discipline of infrastructure tools.
enum FirewallCommand {
    /// What `plan` learnt about the firewall: the desired table, the live one, and how they differ.
    struct Reading {
        var target: FirewallTarget
        var desired: Ruleset
        var live: LiveFirewall
        var diff: RulesetDiff
        var warnings: [Diagnostic]
        /// The ruleset generation the whole read saw; nil when the kernel cannot say or a commit came during the read.
        var generation: RulesetGeneration?
        /// Set when berth's table was not listed because a note vouched for it at this generation (`VerifiedTable`).
        var isTableFromNote: Bool
    }

    /// Reads the live firewall and compares it with the plan. berth's table is listed unless a note from an earlier
    /// apply or read vouches for it at the current ruleset generation; other chains are always read.
    static func read(_ plan: DeploymentPlan, _ arguments: FirewallArguments) throws(CommandFailure) -> (Reading, NFTablesSession) {
        let target = try target(arguments)
        let session = try session()
        let desired = Ruleset(plan: plan, target: target)
        // The generation is asked before and after: a commit during the read makes the read no evidence of any one
        // generation, and a note read that raced a commit is read again whole.
        var generation = session.generation()
        var knownTable = arguments.isCacheBypassed ? nil : generation.flatMap { VerifiedState.notedRuleset(at: $0, desired: desired) }
        var live = try firewall { () throws(FirewallError) in
            try LiveFirewall.read(session, target: target, knownTable: knownTable)
        }
        if knownTable != nil, session.generation() != generation {
            (knownTable, generation) = (nil, session.generation())
            live = try firewall { () throws(FirewallError) in try LiveFirewall.read(session, target: target) }
        }
        if session.generation() != generation { generation = nil }
        if let hostChain = target.hostChain, !live.hostChainExists {
            throw CommandFailure(exitCode: .errors,
                "[\(Diagnostic.Code.firewallHostChainMissing.rawValue)] the host chain \(hostChain) does not exist"
                    + "\n  hint: name an existing base chain (nft list chains), or drop --host-chain")
        }
        let reading = Reading(target: target, desired: desired, live: live, diff: RulesetDiff.between(desired, live),
                              warnings: Firewall.coexistenceWarnings(desired, live), generation: generation,
                              isTableFromNote: knownTable != nil)
        if reading.diff.isEmpty, !reading.isTableFromNote, let generation { VerifiedState.record(desired, at: generation) }
        return (reading, session)
    }

    /// Applies the reading's difference, and notes the result when the kernel shows no other commit came between.
    private static func apply(_ reading: Reading, session: NFTablesSession) throws(CommandFailure) {
        try firewall { () throws(FirewallError) in try Firewall.apply(reading.desired, reading.live, session: session) }
        if let before = reading.generation, let after = session.generation(), before.isFollowed(by: after) {
            VerifiedState.record(reading.desired, at: after)
        }
    }

    /// The `firewall` member of a saved plan: where the folder is and what the live firewall was, so `apply FILE`
    /// can refuse a plan that went stale.
    static func savedState(_ reading: Reading, folder: String) -> JSONValue {
        [
            "folder": .string(URL(fileURLWithPath: folder).standardizedFileURL.resolvingSymlinksInPath().path),
            "table": .string(reading.target.tableName),
            "hostChain": reading.target.hostChain.map { .string($0.description) } ?? .null,
            "liveFingerprint": .string(reading.live.fingerprint),
        ]
    }

    /// `berth apply DIR|FILE`.
    static func apply(_ source: ApplySource, _ arguments: FirewallArguments, dryRun: Bool) throws(CommandFailure) -> ExitCode {
        let plan: DeploymentPlan
        let reading: Reading
        let session: NFTablesSession
        let color: ColorChoice
        switch source {
        case .folder(let compile):
            plan = try CompileCommand.compile(compile)
            (reading, session) = try read(plan, arguments)
            color = compile.color
            CompileCommand.reportProblems(plan.diagnostics + reading.warnings, compile)
            if compile.isStrict, plan.diagnostics.hasErrors || plan.diagnostics.warningCount > 0 {
                Output.err("berth: not applying: --strict and the folder has \(plan.diagnostics.errorCount) errors, "
                           + "\(plan.diagnostics.warningCount) warnings\n")
                return .errors
            }
        case .savedPlan(let path, let savedColor):
            (plan, reading, session) = try loadSavedPlan(path, isCacheBypassed: arguments.isCacheBypassed)
            color = savedColor
            CompileCommand.reportProblems(reading.warnings, CompileArguments(folder: "", color: savedColor))
        }
        let styling = Styling(color, fileDescriptor: STDOUT_FILENO)
        if dryRun {
            Output.out(Firewall.applyScript(reading.desired, reading.live))
            return .success
        }
        Output.out(PlanView.changes(reading.diff, plan: plan, styling: styling))
        if reading.diff.isEmpty {
            Output.out("\nNo changes: \(describe(reading.target)) already matches the plan.\n")
        } else {
            try apply(reading, session: session)
            Output.out("\n" + styling.bold("Applied") + ": \(describe(reading.target)) now holds "
                       + "\(DiagnosticsView.plural(plan.endpoints.count, "endpoint")).\n")
        }
        return plan.diagnostics.hasErrors ? .errors : .success
    }

    /// `berth destroy`: removes berth's table and its tagged host-chain rule, and nothing else.
    static func destroy(_ arguments: FirewallArguments, dryRun: Bool) throws(CommandFailure) -> ExitCode {
        let target = try target(arguments)
        let session = try session()
        let live = try firewall { () throws(FirewallError) in try LiveFirewall.read(session, target: target) }
        guard let script = Firewall.destroyScript(live) else {
            Output.out("Nothing to destroy: \(describe(target)) does not exist.\n")
            return .success
        }
        if dryRun {
            Output.out(script)
            return .success
        }
        try firewall { () throws(FirewallError) in try Firewall.destroy(live, session: session) }
        let rules = live.hostRules.map { "its rule in \($0.chain)" }
        Output.out("Destroyed " + ((live.exists ? ["table inet \(target.tableName)"] : []) + rules).joined(separator: " and ") + ".\n")
        return .success
    }

    /// `serve --firewall`: apply before the ports open; the broker logs what changed.
    static func applyBeforeServing(
        _ plan: DeploymentPlan, _ arguments: FirewallArguments
    ) throws(CommandFailure) -> (summary: String, warnings: [Diagnostic]) {
        let (reading, session) = try read(plan, arguments)
        if !reading.diff.isEmpty { try apply(reading, session: session) }
        let changes = reading.diff.endpoints.count
        let summary = reading.diff.isEmpty
            ? "firewall \(describe(reading.target)) already matches the plan"
            : "firewall \(describe(reading.target)) applied: \(DiagnosticsView.plural(changes, "endpoint")) changed"
        return (summary, reading.warnings)
    }

    static func describe(_ target: FirewallTarget) -> String {
        "table inet \(target.tableName)" + (target.hostChain.map { " (and a rule in \($0.description))" } ?? "")
    }

    // MARK: - Saved plans

    /// Reads a plan written by `plan -out`, recompiles its folder and re-reads the firewall; refuses when either
    /// changed since, because applying it would not do what the operator reviewed.
    private static func loadSavedPlan(
        _ path: String, isCacheBypassed: Bool
    ) throws(CommandFailure) -> (DeploymentPlan, Reading, NFTablesSession) {
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read the plan \(path)") }
        let document: JSONValue
        do { document = try JSONParser.parse([UInt8](data)).plainValue } catch {
            throw CommandFailure("\(path):\(error.position.line):\(error.position.column): not a plan: \(error.message)")
        }
        guard let savedHash = document["planHash"]?.stringValue, let savedFolderHash = document["folderHash"]?.stringValue else {
            throw CommandFailure("\(path) is not a berth plan (no planHash): write one with `berth plan DIR -out FILE`")
        }
        guard let saved = document["firewall"], let folder = saved["folder"]?.stringValue,
            let table = saved["table"]?.stringValue, let fingerprint = saved["liveFingerprint"]?.stringValue
        else {
            throw CommandFailure(exitCode: .errors, "\(path) was made with --offline, without reading the firewall, so berth cannot tell "
                                 + "whether it is stale; run `berth plan DIR -out FILE` as root and apply that")
        }
        let plan = try CompileCommand.compile(CompileArguments(folder: folder))
        guard "sha256:" + plan.folderHash == savedFolderHash else {
            throw CommandFailure(exitCode: .errors,
                "stale plan: \(folder) changed since \(path) was made (folder \(savedFolderHash.prefix(23))…, "
                    + "now sha256:\(plan.folderHash.prefix(16))…); run `berth plan \(folder) -out \(path)` again and review it")
        }
        guard "sha256:" + plan.planHash == savedHash else {
            throw CommandFailure(exitCode: .errors,
                "\(path) cannot be reproduced from \(folder) (it was made with --previous or by another berth version); "
                    + "run `berth plan \(folder) -out \(path)` again and review it")
        }
        let arguments = FirewallArguments(tableName: table, hostChain: saved["hostChain"]?.stringValue,
                                          isCacheBypassed: isCacheBypassed)
        let (reading, session) = try read(plan, arguments)
        guard reading.live.fingerprint == fingerprint else {
            throw CommandFailure(exitCode: .errors,
                "stale plan: \(describe(reading.target)) changed since \(path) was made; "
                    + "run `berth plan \(folder) -out \(path)` again and review the new difference")
        }
        return (plan, reading, session)
    }

    // MARK: - Errors

    private static func target(_ arguments: FirewallArguments) throws(CommandFailure) -> FirewallTarget {
        let hostChain = try arguments.hostChain.map { text throws(CommandFailure) in
            try firewall { () throws(FirewallError) in try HostChain(parsing: text) }
        }
        let target = FirewallTarget(tableName: arguments.tableName, hostChain: hostChain)
        try firewall { () throws(FirewallError) in try target.validate() }
        return target
    }

    private static func session() throws(CommandFailure) -> NFTablesSession {
        try firewall { () throws(FirewallError) in try NFTablesSession() }
    }

    /// Runs a firewall step; its error becomes a command failure that keeps the code and the hint.
    private static func firewall<T>(_ body: () throws(FirewallError) -> T) throws(CommandFailure) -> T {
        do { return try body() } catch {
            throw CommandFailure(exitCode: .errors,
                                 "[\(error.code.rawValue)] \(error.message)" + (error.hint.isEmpty ? "" : "\n  hint: \(error.hint)"))
        }
    }
}
