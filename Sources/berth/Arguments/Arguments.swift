import BerthCompiler

/// The command line, parsed into what to do. Parsing never exits: a problem is a `UsageError` the caller prints.
enum Invocation: Equatable {
    case validate(CompileArguments, format: OutputFormat)
    case plan(CompileArguments, outFile: String?, format: OutputFormat)
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
        case "explain":
            if rest.contains("-h") || rest.contains("--help") { return .help(topic: "explain") }
            if rest == ["--list"] { return .explainList }
            guard rest.count == 1, let code = rest.first, !code.hasPrefix("-") else {
                throw UsageError(message: "explain takes one diagnostic code, or --list", command: command)
            }
            return .explain(code: code)
        default:
            let known = ["validate", "plan", "explain", "help"]
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
}
