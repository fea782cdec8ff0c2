import BerthBroker
import BerthCompiler
import BerthPlan
import Foundation

/// The command line, parsed into what to do. Parsing never exits: a problem is a `UsageError` the caller prints.
enum Invocation: Equatable {
    case validate(CompileArguments, format: OutputFormat)
    case plan(CompileArguments, PlanArguments)
    case apply(ApplySource, FirewallArguments, dryRun: Bool)
    case destroy(FirewallArguments, dryRun: Bool)
    case serve(CompileArguments, ServeArguments)
    case explain(code: String)
    case explainList
    case help(topic: String?)
    case version
}

/// What `validate` and `plan` share.
struct CompileArguments: Equatable {
    var folder: String
    var isStrict = false
    var previousPlan: String?
    var color: ColorChoice = .auto
    /// `--heap-limit`: the heap each handler runs with; `validate` refuses modules `serve` could not load within it.
    var heapLimitBytes = 64 << 20
}

/// Which firewall berth manages: its own table, and optionally one tagged rule in a host chain.
struct FirewallArguments: Equatable {
    var tableName = "berth"
    /// `"FAMILY TABLE CHAIN"`, checked by the firewall stage.
    var hostChain: String?
    /// `--no-cache`: list berth's table even when the ruleset generation shows it unchanged since berth verified it.
    var isCacheBypassed = false

    /// Whether a table or host chain was named (a saved plan names its own; `--offline` reads neither).
    var namesTarget: Bool { tableName != "berth" || hostChain != nil }
}

/// What only `plan` takes.
struct PlanArguments: Equatable {
    var outFile: String?
    var format = OutputFormat.text
    var isDetailedExitCode = false
    /// Show the plan without reading the live firewall (no root needed; every endpoint shows as added).
    var isOffline = false
    var firewall = FirewallArguments()
}

/// `berth apply DIR` plans and applies in one step; `berth apply FILE` applies a plan saved by `plan -out`.
enum ApplySource: Equatable {
    case folder(CompileArguments)
    case savedPlan(path: String, color: ColorChoice)
}

/// What only `serve` takes.
struct ServeArguments: Equatable {
    /// Set by `--firewall`: apply the plan to the firewall before the ports open.
    var firewall: FirewallArguments?
    /// Everything but the heap limit and `--strict`, which come with the compile's arguments.
    var options = ServeOptions()
    var logFormat = BrokerLog.Format.text
    var logLevel = BrokerLog.Level.info
}

enum OutputFormat: String, Equatable, CaseIterable {
    case text, json, github
}

enum ColorChoice: String, Equatable {
    case auto, always, never
}

struct UsageError: Error, Equatable {
    var message: String
    var command: String?
}

enum ArgumentParser {
    static func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
        guard let command = arguments.first else { return .help(topic: nil) }
        let rest = Array(arguments.dropFirst())
        switch command {
        case "-h", "--help", "help": return .help(topic: rest.first)
        case "-V", "--version", "version": return .version
        case "validate":
            var format = OutputFormat.text
            let compile = try parseCompile(rest, command: command) { option, value throws(UsageError) in
                guard option == "--format" else { return false }
                format = try parseFormat(value(), allowed: OutputFormat.allCases, command: command)
                return true
            }
            return .validate(compile, format: format)
        case "plan":
            var plan = PlanArguments()
            let compile = try parseCompile(rest, command: command) { option, value throws(UsageError) in
                switch option {
                case "-out", "--out", "-o": plan.outFile = try value()
                case "--format": plan.format = try parseFormat(value(), allowed: [.text, .json], command: command)
                case "--detailed-exitcode", "-detailed-exitcode": plan.isDetailedExitCode = true
                case "--offline": plan.isOffline = true
                default: return try parseFirewall(option, value, into: &plan.firewall, command: command)
                }
                return true
            }
            if plan.isOffline, plan.firewall != FirewallArguments() {
                throw UsageError(message: "--offline does not read the firewall, so --table, --host-chain and --no-cache do not apply",
                                 command: command)
            }
            return .plan(compile, plan)
        case "apply":
            var firewall = FirewallArguments()
            var dryRun = false
            let compile = try parseCompile(rest, command: command, operand: "DIR|FILE") { option, value throws(UsageError) in
                if option == "--dry-run" { dryRun = true; return true }
                return try parseFirewall(option, value, into: &firewall, command: command)
            }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: compile.folder, isDirectory: &isDirectory), !isDirectory.boolValue {
                guard compile == CompileArguments(folder: compile.folder, color: compile.color) else {
                    throw UsageError(message: "a saved plan is applied as it was made: --strict and --previous apply to a folder",
                                     command: command)
                }
                guard !firewall.namesTarget else {
                    throw UsageError(message: "a saved plan names its own table and host chain: drop --table and --host-chain",
                                     command: command)
                }
                return .apply(.savedPlan(path: compile.folder, color: compile.color), firewall, dryRun: dryRun)
            }
            return .apply(.folder(compile), firewall, dryRun: dryRun)
        case "destroy":
            var firewall = FirewallArguments()
            var dryRun = false
            try parseOptions(rest, command: command) { option, value throws(UsageError) in
                if option == "--dry-run" { dryRun = true; return true }
                return try parseFirewall(option, value, into: &firewall, command: command)
            } operand: { operand throws(UsageError) in
                throw UsageError(message: "destroy takes no folder: it removes what berth owns in the firewall, "
                                 + "found by its table (--table) and tag", command: command)
            }
            return .destroy(firewall, dryRun: dryRun)
        case "serve":
            var serve = ServeArguments()
            let compile = try parseCompile(rest, command: command) { option, value throws(UsageError) in
                switch option {
                case "--firewall": serve.firewall = serve.firewall ?? FirewallArguments()
                case "--table", "--host-chain", "--no-cache":
                    var firewall = serve.firewall ?? FirewallArguments()
                    _ = try parseFirewall(option, value, into: &firewall, command: command)
                    serve.firewall = firewall
                case "--bind":
                    let address = try value()
                    guard IPAddress(address) != nil else {
                        throw UsageError(message: "--bind takes an IP address literal (127.0.0.1, ::1, 0.0.0.0, ::), not \"\(address)\"", command: command)
                    }
                    serve.options.bindAddress = address
                case "--cpu-budget": serve.options.cpuBudgetMilliseconds = try parseDuration(value(), option: option, command: command)
                case "--grace": serve.options.graceMilliseconds = try parseDuration(value(), option: option, command: command)
                case "--open-timeout":
                    serve.options.openTimeoutMilliseconds = try parseDuration(value(), option: option, command: command)
                case "--reload-debounce":
                    serve.options.reloadDebounceMilliseconds = try parseDuration(value(), option: option, command: command)
                case "--no-watch": serve.options.isWatching = false
                case "--store-max-bytes": serve.options.storeMaxBytes = try parseSize(value(), option: option, command: command)
                case "--log-format":
                    let text = try value()
                    guard let format = BrokerLog.Format(rawValue: text) else {
                        throw UsageError(message: "--log-format takes text or json, not \"\(text)\"", command: command)
                    }
                    serve.logFormat = format
                case "--log-level":
                    let text = try value()
                    guard let level = BrokerLog.Level(rawValue: text) else {
                        throw UsageError(message: "--log-level takes debug, info, warn or error, not \"\(text)\"", command: command)
                    }
                    serve.logLevel = level
                case "--access-log": serve.options.isAccessLogged = true
                case "--metrics":
                    let text = try value()
                    guard let address = MetricsAddress(text) else {
                        throw UsageError(message: "--metrics takes ADDR:PORT (127.0.0.1:9464, [::1]:9464, or :9464 for loopback), not \"\(text)\"", command: command)
                    }
                    serve.options.metrics = address
                default: return false
                }
                return true
            }
            if let firewall = serve.firewall, firewall != FirewallArguments(), !rest.contains("--firewall") {
                throw UsageError(message: "--table, --host-chain and --no-cache go with --firewall", command: command)
            }
            return .serve(compile, serve)
        case "explain":
            if rest.contains("-h") || rest.contains("--help") { return .help(topic: "explain") }
            if rest == ["--list"] { return .explainList }
            guard rest.count == 1, let code = rest.first, !code.hasPrefix("-") else {
                throw UsageError(message: "explain takes one diagnostic code, or --list", command: command)
            }
            return .explain(code: code)
        default:
            let known = ["validate", "plan", "apply", "destroy", "serve", "explain", "help"]
            let near = DidYouMean.closest(to: command, in: known)
            throw UsageError(message: "unknown command \"\(command)\"" + (near.map { "; did you mean \"\($0)\"?" } ?? ""),
                             command: nil)
        }
    }

    /// Parses the folder and the options every compiling command shares; `extra` claims command-specific options.
    private static func parseCompile(
        _ rest: [String], command: String, operand: String = "DIR",
        extra: (String, @escaping () throws(UsageError) -> String) throws(UsageError) -> Bool
    ) throws(UsageError) -> CompileArguments {
        var folder: String?
        var arguments = CompileArguments(folder: "")
        try parseOptions(rest, command: command) { option, value throws(UsageError) in
            switch option {
            case "--strict": arguments.isStrict = true
            case "--no-color": arguments.color = .never
            case "--color":
                guard let choice = ColorChoice(rawValue: try value()) else {
                    throw UsageError(message: "--color takes auto, always or never", command: command)
                }
                arguments.color = choice
            case "--previous": arguments.previousPlan = try value()
            case "--heap-limit": arguments.heapLimitBytes = try parseSize(value(), option: option, command: command)
            default: return try extra(option, value)
            }
            return true
        } operand: { operand throws(UsageError) in
            guard folder == nil else {
                throw UsageError(message: "\(command) takes one \(operand), got \"\(folder!)\" and \"\(operand)\"", command: command)
            }
            folder = operand
        }
        guard let folder else {
            throw UsageError(message: "\(command) needs a \(operand == "DIR" ? "folder" : "folder or saved plan"): berth \(command) \(operand)",
                             command: command)
        }
        arguments.folder = folder
        return arguments
    }

    /// Walks the arguments: `--option value`, `--option=value`, flags, and operands; `-h` asks for help.
    private static func parseOptions(
        _ rest: [String], command: String,
        option claim: (String, @escaping () throws(UsageError) -> String) throws(UsageError) -> Bool,
        operand: (String) throws(UsageError) -> Void
    ) throws(UsageError) {
        var index = 0
        while index < rest.count {
            var option = rest[index]
            var inlineValue: String?
            if option.hasPrefix("-"), let equals = option.firstIndex(of: "=") {
                inlineValue = String(option[option.index(after: equals)...])
                option = String(option[..<equals])
            }
            let value = { () throws(UsageError) -> String in
                if let inlineValue { return inlineValue }
                index += 1
                guard index < rest.count else { throw UsageError(message: "\(option) needs a value", command: command) }
                return rest[index]
            }
            if option == "-h" || option == "--help" { throw UsageError(message: "", command: command) }
            if try !claim(option, value) {
                if option.hasPrefix("-"), option != "-" {
                    throw UsageError(message: "unknown option \(option)", command: command)
                }
                try operand(option)
            }
            index += 1
        }
    }

    /// `--table NAME`, `--host-chain "FAMILY TABLE CHAIN"` and `--no-cache`, shared by plan, apply, destroy and serve.
    private static func parseFirewall(
        _ option: String, _ value: () throws(UsageError) -> String, into firewall: inout FirewallArguments, command: String
    ) throws(UsageError) -> Bool {
        switch option {
        case "--table": firewall.tableName = try value()
        case "--host-chain": firewall.hostChain = try value()
        case "--no-cache": firewall.isCacheBypassed = true
        default: return false
        }
        return true
    }

    private static func parseFormat(_ text: String, allowed: [OutputFormat], command: String) throws(UsageError) -> OutputFormat {
        guard let format = OutputFormat(rawValue: text), allowed.contains(format) else {
            throw UsageError(message: "--format takes \(allowed.map(\.rawValue).joined(separator: ", ")), not \"\(text)\"",
                             command: command)
        }
        return format
    }

    /// `1s`, `250ms`, `2m`: the manifest's duration syntax.
    private static func parseDuration(_ text: String, option: String, command: String) throws(UsageError) -> Int {
        guard let milliseconds = DurationText.parseMilliseconds(text), milliseconds > 0 else {
            throw UsageError(message: "\(option) takes a duration such as 500ms, 1s or 2m, not \"\(text)\"", command: command)
        }
        return milliseconds
    }

    /// `64MiB`, `512KiB`, `1GiB`, or a plain number of bytes.
    private static func parseSize(_ text: String, option: String, command: String) throws(UsageError) -> Int {
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("G", 1 << 30), ("M", 1 << 20),
                                      ("K", 1 << 10), ("B", 1)]
        var number = Substring(text)
        var factor = 1
        if let unit = units.first(where: { text.hasSuffix($0.0) }) {
            number = text.dropLast(unit.0.count)
            factor = unit.1
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(number),
            value * factor >= 1 << 20
        else {
            throw UsageError(message: "\(option) takes a size of at least 1MiB such as 64MiB, not \"\(text)\"", command: command)
        }
        return value * factor
    }
}
