import BerthBroker
import BerthPlan

/// `berth serve DIR`: compile with the same compiler as `validate`, apply the firewall when asked, run the broker.
enum ServeCommand {
    static func serve(_ arguments: CompileArguments, _ serve: ServeArguments) throws(CommandFailure) -> ExitCode {
        let log = BrokerLog(format: serve.logFormat, minimumLevel: serve.logLevel)
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
        var applyFirewall: (@Sendable (DeploymentPlan) throws(Broker.ReloadFailure) -> Void)?
        if let firewall = serve.firewall {
            applyFirewall = { @Sendable plan throws(Broker.ReloadFailure) in try reapply(plan, firewall) }
        }
        let compile: @Sendable ([String: String]) -> Result<DeploymentPlan, Broker.ReloadFailure> = { incumbents in
            recompile(arguments, incumbents: incumbents)
        }
        let reloading = Broker.Reloading(compile: compile, applyFirewall: applyFirewall)
        do {
            return try Broker.serve(plan: plan, folder: arguments.folder, options: options, log: log,
                                    reloading: reloading) == .stopped ? .success : .errors
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    /// A reload's compile: as at start, but the running claims are the incumbents (`--previous` served its purpose).
    private static func recompile(_ arguments: CompileArguments, incumbents: [String: String])
        -> Result<DeploymentPlan, Broker.ReloadFailure>
    {
        var arguments = arguments
        arguments.previousPlan = nil
        do throws(CommandFailure) {
            return .success(try CompileCommand.compile(arguments, incumbents: incumbents))
        } catch {
            return .failure(Broker.ReloadFailure(error.message))
        }
    }

    /// A reload's firewall apply: the same transaction as `apply`, for the endpoints about to serve.
    private static func reapply(_ plan: DeploymentPlan, _ firewall: FirewallArguments) throws(Broker.ReloadFailure) {
        do throws(CommandFailure) {
            _ = try FirewallCommand.applyBeforeServing(plan, firewall)
        } catch {
            throw Broker.ReloadFailure(error.message)
        }
    }
}
