import BerthCompiler
import BerthFirewall
import BerthPlan
import Foundation

/// `berth plan` against the live firewall, `berth apply` and `berth destroy`: the stage that makes the plan real in
/// the kernel, with the plan/apply discipline of infrastructure tools.
enum FirewallCommand {
    /// Reads the live firewall and compares it with the plan (`FirewallReading`).
    static func read(_ plan: DeploymentPlan, _ arguments: FirewallArguments) throws(CommandFailure) -> FirewallReading {
        try firewall { () throws(FirewallError) in
            try FirewallReading(plan, target: FirewallTarget(validating: arguments.tableName, hostChain: arguments.hostChain),
                                isCacheBypassed: arguments.isCacheBypassed)
        }
    }

    /// `berth apply DIR|FILE`.
    static func apply(_ source: ApplySource, _ arguments: FirewallArguments, dryRun: Bool) throws(CommandFailure) -> ExitCode {
        let plan: DeploymentPlan
        let reading: FirewallReading
        let color: ColorChoice
        switch source {
        case .folder(let compile):
            plan = try CompileCommand.compile(compile)
            reading = try read(plan, arguments)
            color = compile.color
            CompileCommand.reportProblems(plan.diagnostics + reading.warnings, compile)
            if compile.isStrict, plan.diagnostics.hasErrors || plan.diagnostics.warningCount > 0 {
                Output.err("berth: not applying: --strict and the folder has \(plan.diagnostics.errorCount) errors, "
                           + "\(plan.diagnostics.warningCount) warnings\n")
                return .errors
            }
        case .savedPlan(let path, let savedColor):
            (plan, reading) = try loadSavedPlan(path, isCacheBypassed: arguments.isCacheBypassed)
            color = savedColor
            CompileCommand.reportProblems(reading.warnings, CompileArguments(folder: "", color: savedColor))
        }
        let styling = Styling(color, fileDescriptor: STDOUT_FILENO)
        if dryRun {
            Output.out(reading.applyScript)
            return .success
        }
        Output.out(PlanView.changes(reading.diff, plan: plan, styling: styling))
        if reading.diff.isEmpty {
            Output.out("\nNo changes: \(reading.target) already matches the plan.\n")
        } else {
            try firewall { () throws(FirewallError) in try reading.apply() }
            Output.out("\n" + styling.bold("Applied") + ": \(reading.target) now holds "
                       + "\(DiagnosticsView.plural(plan.endpoints.count, "endpoint")).\n")
        }
        return plan.diagnostics.hasErrors ? .errors : .success
    }

    /// `berth destroy`: removes berth's table and its tagged host-chain rule, and nothing else.
    static func destroy(_ arguments: FirewallArguments, dryRun: Bool) throws(CommandFailure) -> ExitCode {
        let (live, session) = try firewall { () throws(FirewallError) in
            let target = try FirewallTarget(validating: arguments.tableName, hostChain: arguments.hostChain)
            let session = try NFTablesSession()
            return (try LiveFirewall.read(session, target: target), session)
        }
        guard let script = Firewall.destroyScript(live) else {
            Output.out("Nothing to destroy: \(live.target) does not exist.\n")
            return .success
        }
        if dryRun {
            Output.out(script)
            return .success
        }
        try firewall { () throws(FirewallError) in try Firewall.destroy(live, session: session) }
        let rules = live.hostRules.map { "its rule in \($0.chain)" }
        Output.out("Destroyed " + ((live.exists ? ["table inet \(live.target.tableName)"] : []) + rules).joined(separator: " and ") + ".\n")
        return .success
    }

    /// `serve --firewall`: apply before the ports open; the broker logs what changed.
    static func applyBeforeServing(
        _ plan: DeploymentPlan, _ arguments: FirewallArguments
    ) throws(CommandFailure) -> (summary: String, warnings: [Diagnostic]) {
        let reading = try read(plan, arguments)
        if !reading.diff.isEmpty { try firewall { () throws(FirewallError) in try reading.apply() } }
        let changes = reading.diff.endpoints.count
        let summary = reading.diff.isEmpty
            ? "firewall \(reading.target) already matches the plan"
            : "firewall \(reading.target) applied: \(DiagnosticsView.plural(changes, "endpoint")) changed"
        return (summary, reading.warnings)
    }

    // MARK: - Saved plans

    /// Reads a plan written by `plan -out`, recompiles its folder and re-reads the firewall; refuses when either
    /// changed since (`SavedPlan`).
    private static func loadSavedPlan(
        _ path: String, isCacheBypassed: Bool
    ) throws(CommandFailure) -> (DeploymentPlan, FirewallReading) {
        let saved = try savedPlan { () throws(SavedPlan.Refusal) in try SavedPlan(contentsOf: path) }
        let plan = try CompileCommand.compile(CompileArguments(folder: saved.folder))
        try savedPlan { () throws(SavedPlan.Refusal) in try saved.verify(plan) }
        let reading = try read(plan, FirewallArguments(tableName: saved.tableName, hostChain: saved.hostChain,
                                                       isCacheBypassed: isCacheBypassed))
        try savedPlan { () throws(SavedPlan.Refusal) in try saved.verify(reading) }
        return (plan, reading)
    }

    // MARK: - Errors

    /// Runs a saved-plan step; a file that is no saved plan is a usage error, a refused one fails the command.
    private static func savedPlan<T>(_ body: () throws(SavedPlan.Refusal) -> T) throws(CommandFailure) -> T {
        do { return try body() } catch {
            throw CommandFailure(exitCode: error.kind == .notAPlan ? .usage : .errors, error.message)
        }
    }

    /// Runs a firewall step; its error becomes a command failure that keeps the code and the hint.
    private static func firewall<T>(_ body: () throws(FirewallError) -> T) throws(CommandFailure) -> T {
        do { return try body() } catch {
            throw CommandFailure(exitCode: .errors,
                                 "[\(error.code.rawValue)] \(error.message)" + (error.hint.isEmpty ? "" : "\n  hint: \(error.hint)"))
        }
    }
}
