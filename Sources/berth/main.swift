import BerthCompiler
import Foundation

/// Runs one invocation and returns its exit status; every failure becomes a message on stderr here.
func run(_ arguments: [String]) -> ExitCode {
    let invocation: Invocation
    do { invocation = try ArgumentParser.parse(arguments) } catch {
        if error.message.isEmpty {
            Output.out(HelpText.forCommand(error.command) ?? HelpText.overview)
            return .success
        }
        Output.err("berth: \(error.message)\n\n" + (HelpText.forCommand(error.command) ?? HelpText.overview))
        return .usage
    }
    do {
        switch invocation {
        case .validate(let compile, let format): return try CompileCommand.validate(compile, format: format)
        case .plan(let compile, let plan): return try CompileCommand.plan(compile, plan)
        case .apply(let source, let firewall, let dryRun): return try FirewallCommand.apply(source, firewall, dryRun: dryRun)
        case .destroy(let firewall, let dryRun): return try FirewallCommand.destroy(firewall, dryRun: dryRun)
        case .serve(let compile, let serve): return try ServeCommand.serve(compile, serve)
        case .explain(let code): return try ExplainCommand.explain(code)
        case .explainList: return ExplainCommand.list()
        case .version:
            Output.out("berth \(BerthVersion.current)\n")
            return .success
        case .help(let topic):
            guard let text = HelpText.forCommand(topic) else {
                Output.err("berth: no help for \"\(topic ?? "")\"\n\n" + HelpText.overview)
                return .usage
            }
            Output.out(text)
            return .success
        }
    } catch {
        Output.err("berth: error: \(error.message)\n")
        return error.exitCode
    }
}

exit(run(Array(CommandLine.arguments.dropFirst())).rawValue)
