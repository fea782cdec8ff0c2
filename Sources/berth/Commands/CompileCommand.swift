import BerthFirewall
import BerthCompiler
import BerthPlan
import Foundation

/// `berth validate` and `berth plan`: compile the folder, render, and choose the exit code.
enum CompileCommand {
    static func validate(_ arguments: CompileArguments, format: OutputFormat) throws(CommandFailure) -> ExitCode {
        let plan = try compile(arguments)
        let styling = Styling(arguments.color, fileDescriptor: STDOUT_FILENO)
        switch format {
        case .text:
            Output.out(renderText(plan.diagnostics, arguments.folder, styling))
            Output.out(DiagnosticsView.summary(plan.diagnostics, folder: arguments.folder,
                                               endpoints: plan.endpoints.count, refused: plan.refused.count, styling: styling))
        case .json: Output.out(DiagnosticsView.json(plan, folder: arguments.folder))
        case .github: Output.out(DiagnosticsView.github(plan.diagnostics, folder: arguments.folder))
        }
        return exitCode(plan.diagnostics, strict: arguments.isStrict)
    }

    /// Compiles, reads the live firewall unless `--offline`, and prints the difference; `-out` saves the plan together
    /// with what the firewall was, so `apply FILE` can refuse it once either side moves.
    static func plan(_ arguments: CompileArguments, _ options: PlanArguments) throws(CommandFailure) -> ExitCode {
        let plan = try compile(arguments)
        let planHash = plan.planHash
        let reading = options.isOffline ? nil : try FirewallCommand.read(plan, options.firewall)
        // Written only when asked for: for a large folder it costs as much as the compile.
        var document = ""
        if options.outFile != nil || options.format == .json {
            var members = plan.json(planHash: planHash)
            if case .object(var object) = members, let reading {
                object["firewall"] = SavedPlan.firewallMember(reading, folder: arguments.folder)
                members = .object(object)
            }
            document = JSONWriter.pretty(members)
        }
        if let outFile = options.outFile {
            do { try Data(document.utf8).write(to: URL(fileURLWithPath: outFile), options: .atomic) } catch {
                throw CommandFailure("cannot write the plan to \(outFile): \(error.localizedDescription)")
            }
        }
        let problems = plan.diagnostics + (reading?.warnings ?? [])
        switch options.format {
        case .json where options.outFile == nil: Output.out(document)
        case .json: break
        default:
            reportProblems(problems, arguments)
            let styling = Styling(arguments.color, fileDescriptor: STDOUT_FILENO)
            Output.out(PlanView.text(plan, planHash: planHash, folder: arguments.folder, reading: reading, styling: styling))
            if let outFile = options.outFile { Output.out("Saved the plan to \(outFile) (sha256:\(planHash)).\n") }
        }
        let status = exitCode(problems, strict: arguments.isStrict)
        guard options.isDetailedExitCode, status == .success else { return status }
        return reading.map { $0.diff.isEmpty ? .success : .changes } ?? .changes
    }

    /// Prints warnings and errors (not infos) on stderr, with source lines, for the commands whose stdout is a plan.
    static func reportProblems(_ diagnostics: [Diagnostic], _ arguments: CompileArguments) {
        let problems = diagnostics.filter { $0.severity != .info }
        guard !problems.isEmpty else { return }
        Output.err(renderText(problems, arguments.folder, Styling(arguments.color, fileDescriptor: STDERR_FILENO)))
    }

    /// Compiles the folder `arguments` name; `incumbents` (a running broker's claims) keep their ports on a conflict.
    static func compile(_ arguments: CompileArguments, incumbents: [String: String] = [:]) throws(CommandFailure)
        -> DeploymentPlan
    {
        var options = CompileOptions(incumbents: incumbents, heapLimit: arguments.heapLimitBytes)
        if let previous = arguments.previousPlan {
            guard let data = FileManager.default.contents(atPath: previous) else {
                throw CommandFailure("cannot read the previous plan \(previous)")
            }
            let incumbents: [String: String]?
            do { incumbents = CompileOptions.incumbents(fromPlan: try JSONParser.parse([UInt8](data)).plainValue) } catch {
                throw CommandFailure("\(previous):\(error.position.line):\(error.position.column): not a plan: \(error.message)")
            }
            guard let incumbents else { throw CommandFailure("\(previous) is not a berth plan (no endpoints)") }
            options.incumbents = incumbents
        }
        do { return try Compiler.compile(folder: arguments.folder, options: options) } catch {
            throw CommandFailure(error.description)
        }
    }

    private static func renderText(_ diagnostics: [Diagnostic], _ folder: String, _ styling: Styling) -> String {
        var cache: [String: [Substring?]] = [:]
        return DiagnosticsView.text(diagnostics, folder: folder, styling: styling) { file, line in
            if cache[file] == nil {
                let path = DiagnosticsView.folderRelative(folder, file)
                let text = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
                // A long line is never shown: cut here, once, so that thousands of diagnostics on one long line do
                // not each count its characters.
                cache[file] = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                    line.utf8.count > 4 * maxShownLine || line.count > maxShownLine ? nil : line
                }
            }
            guard let lines = cache[file], line >= 1, line <= lines.count, let text = lines[line - 1] else { return nil }
            return text.hasSuffix("\r") ? text.dropLast() : text
        }
    }

    /// Lines longer than this many characters are left out of the text output (the location still says where).
    private static let maxShownLine = 200

    private static func exitCode(_ diagnostics: [Diagnostic], strict: Bool) -> ExitCode {
        if diagnostics.hasErrors { return .errors }
        if strict, diagnostics.warningCount > 0 { return .errors }
        return .success
    }
}

/// The process exit status: 0 clean or warnings only, 1 errors (or warnings with --strict), 2 usage or internal.
enum ExitCode: Int32 {
    case success = 0
    case errors = 1
    case usage = 2
    /// `plan --detailed-exitcode`: the firewall differs from the plan (Terraform's convention).
    static let changes = ExitCode.usage
}

/// An operational failure: printed as one line. Exit 2 for what stops berth before it starts (unreadable folder,
/// unwritable output), 1 for a refusal of the firewall stage (not root, stale plan, kernel said no).
struct CommandFailure: Error {
    var message: String
    var exitCode: ExitCode
    init(exitCode: ExitCode = .usage, _ message: String) { (self.message, self.exitCode) = (message, exitCode) }
}
