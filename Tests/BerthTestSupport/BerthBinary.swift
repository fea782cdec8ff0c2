import Foundation

/// Runs the built `berth` executable as a subprocess, as a user or CI would.
package enum BerthBinary {
    /// `BERTH_BINARY` if set (`make test-asan` names the one its scratch path built), else the `berth` SwiftPM built
    /// beside the running test bundle: the same build of the same sources (the test targets that run it depend on it),
    /// never another build's.
    package static let path: String = {
        if let explicit = ProcessInfo.processInfo.environment["BERTH_BINARY"] { return explicit }
        let candidate = buildDirectory + "/berth"
        precondition(FileManager.default.isExecutableFile(atPath: candidate),
                     "no berth executable in \(buildDirectory), where the test bundle was built")
        return candidate
    }()

    /// The directory SwiftPM built the running test bundle in (`.build/<triple>/<configuration>`): on Linux the bundle
    /// is the executable itself.
    package static let buildDirectory: String = {
        guard let bundle = Bundle.main.executableURL else { preconditionFailure("the test bundle has no executable path") }
        return bundle.resolvingSymlinksInPath().deletingLastPathComponent().path
    }()

    /// Runs berth with `arguments` in `directory` (default: the package root), without a terminal.
    package static func run(_ arguments: [String], in directory: String? = nil, environment: [String: String] = [:])
        throws -> Subprocess.Result
    {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NO_COLOR")
        env.merge(environment) { _, new in new }
        return try Subprocess.run(path, arguments, environment: env, currentDirectory: directory ?? PackagePaths.root)
    }

    /// Runs berth under a pseudo-terminal (util-linux `script`), so colour decisions can be tested.
    package static func runOnTerminal(_ arguments: [String], environment: [String: String] = [:]) throws -> Subprocess.Result {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NO_COLOR")
        env["TERM"] = "xterm"
        env.merge(environment) { _, new in new }
        let command = ([path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try Subprocess.run("/usr/bin/script", ["-qec", command, "/dev/null"], environment: env,
                                  currentDirectory: PackagePaths.root)
    }

    /// Validates JSON files against a schema in `schemas/` with Python's jsonschema.
    package static func checkSchema(_ schema: String, _ documents: [String]) throws -> Subprocess.Result {
        try Subprocess.run("/usr/bin/env", ["python3", PackagePaths.path("scripts/check-schema.py"),
                                            PackagePaths.path("schemas/\(schema)")] + documents)
    }
}
