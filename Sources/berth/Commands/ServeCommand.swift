import BerthBroker
import BerthPlan

/// `berth serve DIR`: compile with the same compiler as `validate`, apply the firewall when asked, run the broker.
enum ServeCommand {
    static func serve(_ arguments: CompileArguments, _ serve: ServeArguments) throws(CommandFailure) -> ExitCode {
        let log = BrokerLog(format: serve.logFormat)
        var options = serve.options
        (options.heapLimitBytes, options.isStrict) = (arguments.heapLimitBytes, arguments.isStrict)
        let plan = try CompileCommand.compile(arguments)
        guard Broker.admits(plan, options: options, log: log) else { return .errors }
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
        do {
            return try Broker.serve(plan: plan, folder: arguments.folder, options: options, log: log) == .stopped ? .success : .errors
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}
