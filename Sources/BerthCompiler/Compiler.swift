import BerthFolder
package import BerthPlan
package import Foundation
import BerthJS

/// What a compilation may know beyond the folder: the running deployment and the clock.
package struct CompileOptions: Sendable {
    /// Claims (`tcp/7000`) held by a running broker or a previous plan, mapped to the file holding them: on a
    /// conflict the incumbent keeps its port.
    package var incumbents: [String: String]
    /// The instant certificates are checked against.
    package var now: Date
    package var berthVersion: String
    /// The heap limit each handler will run with (`--heap-limit`): modules that cannot load within it are refused.
    package var heapLimit: Int

    package init(
        incumbents: [String: String] = [:], now: Date = Date(), berthVersion: String = BerthVersion.current,
        heapLimit: Int = ModuleBudget.defaultHeapLimit
    ) {
        (self.incumbents, self.now, self.berthVersion, self.heapLimit) = (incumbents, now, berthVersion, heapLimit)
    }

    /// The incumbents of a previously written plan document.
    package static func incumbents(fromPlan plan: JSONValue) -> [String: String]? {
        guard let endpoints = plan["endpoints"]?.arrayValue else { return nil }
        var claims: [String: String] = [:]
        for endpoint in endpoints {
            guard let transport = endpoint["transport"]?.stringValue, let port = endpoint["port"]?.intValue,
                let file = endpoint["file"]?.stringValue
            else { return nil }
            claims["\(transport)/\(port)"] = file
        }
        return claims
    }
}

/// The version berth reports in plans and `--version`.
package enum BerthVersion {
    package static let current = "0.1.0"
}

/// The compile stage: folder + manifest → `DeploymentPlan`. Synchronous and pure apart from reading the folder.
package enum Compiler {
    /// Compiles `folder`. Problems in the folder are diagnostics inside the plan; only an unusable folder throws.
    package static func compile(folder: String, options: CompileOptions = CompileOptions()) throws(CompileError)
        -> DeploymentPlan
    {
        var compilation = Compilation(scan: try FolderScan.scan(folder: folder), options: options)
        compilation.checkFileNames()
        compilation.resolveConflicts()
        compilation.decodeManifest()
        compilation.matchSelectors()
        compilation.checkModules()
        compilation.resolvePolicies()
        compilation.checkTLS()
        return compilation.plan()
    }
}

/// The state one compilation threads through its checks (each check is an extension in Checks/).
struct Compilation {
    /// A top-level entry candidate and everything learnt about it.
    struct Candidate {
        var fileName: String
        var parsed: HandlerFileName?
        /// For a file named almost like an entry (`stats.udp.9001.js`): the entry name it was probably meant to have.
        var intended: String?
        /// Indices of the manifest selectors that match it, least specific first, then in manifest order.
        var selectors: [Int] = []
        /// Error codes that refuse this entry; empty means it is served.
        var refusals: [Diagnostic.Code] = []
        var exports: [String] = []
        var imports: [String] = []
        var policy: Policy?
        var limits: Limits?
        var tlsDraft: TLSDraft?
        var tls: TLSSettings?
    }

    let scan: FolderScan
    let options: CompileOptions
    var candidates: [Candidate] = []
    var diagnostics: [Diagnostic] = []
    var manifest = Manifest()
    /// Relative path → SHA-256 of every file the plan depends on.
    var fileHashes: [String: String] = [:]
    /// Relative path → the bytes of every module file compiled (`DeploymentPlan.sources`).
    var moduleSources: [String: CompiledSource] = [:]
    /// `DeploymentPlan.awaitedFiles`.
    var awaitedFiles: Set<String> = []
    /// `DeploymentPlan.credentials`.
    var credentials: [String: [UInt8]] = [:]

    init(scan: FolderScan, options: CompileOptions) {
        self.scan = scan
        self.options = options
    }

    mutating func report(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

    /// Indices of the candidates still in the running.
    var liveIndices: [Int] { candidates.indices.filter { candidates[$0].refusals.isEmpty } }

    /// Largest manifest or module read, in bytes (the module loader refuses larger modules with a message).
    static let maximumFileSize = 16 << 20

    /// Reads a file of the folder, beneath it, and records its hash for the folder hash.
    mutating func read(_ relativePath: String) -> [UInt8]? {
        guard case .success(let bytes) = scan.folder.read(relativePath, maximumSize: Self.maximumFileSize) else {
            return nil
        }
        fileHashes[relativePath] = SHA256.hex(bytes)
        return bytes
    }

    func plan() -> DeploymentPlan {
        var endpoints: [Endpoint] = []
        var refused: [RefusedEntry] = []
        for candidate in candidates {
            if candidate.refusals.isEmpty, let parsed = candidate.parsed, let policy = candidate.policy,
                let limits = candidate.limits
            {
                endpoints.append(Endpoint(
                    name: parsed.name, transport: parsed.transport, port: parsed.port, file: candidate.fileName,
                    moduleSHA256: fileHashes[candidate.fileName] ?? "", imports: candidate.imports,
                    exports: candidate.exports, policy: policy, limits: limits, tls: candidate.tls))
            } else {
                refused.append(RefusedEntry(
                    file: candidate.fileName, transport: candidate.parsed?.transport, port: candidate.parsed?.port,
                    reasons: Array(Set(candidate.refusals)).sorted()))
            }
        }
        let folderLines = fileHashes.keys.sorted().map { "\($0)\u{0}\(fileHashes[$0]!)\n" }.joined()
        var plan = DeploymentPlan(
            berthVersion: options.berthVersion, folderHash: SHA256.hex(folderLines), endpoints: endpoints,
            refused: refused, diagnostics: Array(Set(diagnostics)))
        plan.sources = moduleSources
        plan.awaitedFiles = awaitedFiles
        for endpoint in endpoints { for file in endpoint.tls?.files ?? [] { plan.credentials[file] = credentials[file] } }
        return plan
    }
}
