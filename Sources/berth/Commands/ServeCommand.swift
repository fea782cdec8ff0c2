import BerthBroker
import BerthCompiler
import BerthPlan
import Foundation

/// `berth serve DIR`: compile with the same compiler as `validate`, log what is refused, then run the broker.
enum ServeCommand {
    static func serve(_ arguments: CompileArguments, _ serve: ServeArguments) throws(CommandFailure) -> ExitCode {
        let log = BrokerLog(format: serve.logFormat == "json" ? .json : .text)
        let plan = try CompileCommand.compile(arguments)
        for diagnostic in plan.diagnostics where diagnostic.severity != .info {
            let level: BrokerLog.Level = diagnostic.severity == .error ? .error : .warn
            var fields = [("code", diagnostic.code.rawValue)]
            // The log is read on a terminal too: the folder's text goes through the views' one escape.
            if let location = diagnostic.location { fields.append(("at", PrintableText.escaped(location.description))) }
            if let hint = diagnostic.hint { fields.append(("hint", PrintableText.escaped(hint))) }
            log.log(level, PrintableText.escaped(diagnostic.message), fields: fields)
        }
        for entry in plan.refused {
            log.log(.error, "refused \(PrintableText.escaped(entry.file))", fields: [("reasons", entry.reasons.map(\.rawValue).joined(separator: ","))])
        }
        if arguments.isStrict, plan.diagnostics.hasErrors || plan.diagnostics.warningCount > 0 {
            log.log(.error, "not starting: --strict and the folder has \(plan.diagnostics.errorCount) errors, \(plan.diagnostics.warningCount) warnings")
            return .errors
        }
        if let firewall = serve.firewall {
            do {
                let (summary, warnings) = try FirewallCommand.applyBeforeServing(plan, firewall)
                for warning in warnings {
                    log.log(.warn, warning.message, fields: [("code", warning.code.rawValue)] + (warning.hint.map { [("hint", $0)] } ?? []))
                }
                log.log(.info, summary)
            } catch {
                log.log(.error, "not starting: the firewall was not applied: \(error.message)")
                return .errors
            }
        }
        let options = ServeOptions(
            bindAddress: serve.bindAddress, cpuBudgetMilliseconds: serve.cpuBudgetMilliseconds,
            heapLimitBytes: arguments.heapLimitBytes, graceMilliseconds: serve.graceMilliseconds,
            storeMaxBytes: serve.storeMaxBytes, isStrict: arguments.isStrict)
        do {
            let folder = URL(fileURLWithPath: arguments.folder).resolvingSymlinksInPath().path
            let outcome = try Broker(plan: plan, folder: folder, options: options, log: log).run()
            return outcome == .stopped ? .success : .errors
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}
