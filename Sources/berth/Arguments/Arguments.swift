import BerthCompiler
import BerthPlan

/// The command line, parsed into what to do. Parsing never exits: a problem is a `UsageError` the caller prints.
enum Invocation: Equatable {
    case validate(CompileArguments, format: OutputFormat)
    case plan(CompileArguments, outFile: String?, format: OutputFormat)
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
}

/// What only `serve` takes.
struct ServeArguments: Equatable {
    var bindAddress: String?
    var cpuBudgetMilliseconds = 1000
    var heapLimitBytes = 64 << 20
    var graceMilliseconds = 10_000
    var storeMaxBytes = 256 << 20
    var logFormat = "text"
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
            var outFile: String?
            var format = OutputFormat.text
            let compile = try parseCompile(rest, command: command) { option, value throws(UsageError) in
                switch option {
                case "-out", "--out", "-o": outFile = try value()
                case "--format": format = try parseFormat(value(), allowed: [.text, .json], command: command)
                default: return false
                }
                return true
            }
            return .plan(compile, outFile: outFile, format: format)
        case "serve":
            var serve = ServeArguments()
            let compile = try parseCompile(rest, command: command) { option, value throws(UsageError) in
                switch option {
                case "--bind":
                    let address = try value()
                    guard IPAddress(address) != nil else {
                        throw UsageError(message: "--bind takes an IP address literal (127.0.0.1, ::1, 0.0.0.0, ::), not \"\(address)\"", command: command)
                    }
                    serve.bindAddress = address
                case "--cpu-budget": serve.cpuBudgetMilliseconds = try parseDuration(value(), option: option, command: command)
                case "--grace": serve.graceMilliseconds = try parseDuration(value(), option: option, command: command)
                case "--heap-limit": serve.heapLimitBytes = try parseSize(value(), option: option, command: command)
                case "--store-max-bytes": serve.storeMaxBytes = try parseSize(value(), option: option, command: command)
                case "--log-format":
                    let format = try value()
                    guard ["text", "json"].contains(format) else {
                        throw UsageError(message: "--log-format takes text or json, not \"\(format)\"", command: command)
                    }
                    serve.logFormat = format
                default: return false
                }
                return true
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
            let known = ["validate", "plan", "serve", "explain", "help"]
            let near = DidYouMean.closest(to: command, in: known)
            throw UsageError(message: "unknown command \"\(command)\"" + (near.map { "; did you mean \"\($0)\"?" } ?? ""),
                             command: nil)
        }
    }

    /// Parses the folder and the options `validate` and `plan` share; `extra` claims command-specific options.
    private static func parseCompile(
        _ rest: [String], command: String,
        extra: (String, () throws(UsageError) -> String) throws(UsageError) -> Bool
    ) throws(UsageError) -> CompileArguments {
        var folder: String?
        var arguments = CompileArguments(folder: "")
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
            switch option {
            case "-h", "--help": throw UsageError(message: "", command: command)
            case "--strict": arguments.isStrict = true
            case "--no-color": arguments.color = .never
            case "--color":
                guard let choice = ColorChoice(rawValue: try value()) else {
                    throw UsageError(message: "--color takes auto, always or never", command: command)
                }
                arguments.color = choice
            case "--previous": arguments.previousPlan = try value()
            default:
                if try extra(option, value) { break }
                if option.hasPrefix("-"), option != "-" {
                    throw UsageError(message: "unknown option \(option)", command: command)
                }
                guard folder == nil else {
                    throw UsageError(message: "\(command) takes one folder, got \"\(folder!)\" and \"\(option)\"", command: command)
                }
                folder = option
            }
            index += 1
        }
        guard let folder else { throw UsageError(message: "\(command) needs a folder: berth \(command) DIR", command: command) }
        arguments.folder = folder
        return arguments
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
