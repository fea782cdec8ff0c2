package import BerthPlan

/// What a reload changes, claim by claim (`tcp/7000`): the versions serving now against a plan just compiled.
/// Pure, so every rule of the reload (keep the last good, policy in place, port moves) is tested without a loop.
package struct PlanDiff: Equatable, Sendable {
    /// One endpoint version as it serves: the code it loaded (`codeHash`) and the endpoint it was compiled as.
    package struct Running: Equatable, Sendable {
        package var endpoint: Endpoint
        package var codeHash: String
        package init(endpoint: Endpoint, codeHash: String) { (self.endpoint, self.codeHash) = (endpoint, codeHash) }
    }

    /// A claim whose new version did not compile: it keeps serving the running one.
    package struct Kept: Equatable, Sendable {
        package var running: Endpoint
        /// The file that was refused, with the first diagnostic that refused it (`module.syntax at x.js:3:1`).
        package var file: String
        package var reason: String
    }

    /// Claims the new plan adds.
    package var added: [Endpoint] = []
    /// Claims the new plan no longer has (a port or transport change is one of these and one of `added`).
    package var removed: [Endpoint] = []
    /// Claims whose code (the entry, anything it imports, or its name) changed: each needs a new generation.
    package var replaced: [Endpoint] = []
    /// Claims whose policy or limits alone changed: the screen changes in place.
    package var repoliced: [Endpoint] = []
    package var kept: [Kept] = []

    package var isEmpty: Bool { added.isEmpty && removed.isEmpty && replaced.isEmpty && repoliced.isEmpty }

    /// Compares `running` (by claim) with `plan`. A claim the plan refuses keeps its running version whatever
    /// refused it (its file, an import, a conflict); a claim the plan neither serves nor refuses is removed.
    package init(running: [String: Running], plan: DeploymentPlan) {
        var seen: Set<String> = []
        for endpoint in plan.endpoints {
            seen.insert(endpoint.claim)
            guard let current = running[endpoint.claim] else {
                added.append(endpoint)
                continue
            }
            if current.codeHash != Self.codeHash(of: endpoint, in: plan) || current.endpoint.name != endpoint.name
                || current.endpoint.file != endpoint.file || current.endpoint.exports != endpoint.exports
            {
                replaced.append(endpoint)
            } else if current.endpoint != endpoint {
                repoliced.append(endpoint)
            }
        }
        let refusedClaims = Dictionary(
            plan.refused.compactMap { entry in
                entry.transport.flatMap { transport in entry.port.map { ("\(transport.rawValue)/\($0)", entry) } }
            }, uniquingKeysWith: { first, _ in first })
        for claim in running.keys.sorted() where !seen.contains(claim) {
            let current = running[claim]!.endpoint
            // The running version's own file refused wins over another file refused on the same port.
            let refusal = plan.refused.first { $0.file == current.file } ?? refusedClaims[claim]
            if let refusal {
                kept.append(Kept(running: current, file: refusal.file,
                                 reason: Self.reason(for: refusal, importing: current.imports, in: plan)))
            } else {
                removed.append(current)
            }
        }
    }

    /// Why `plan` must not be applied at all, or nil: its manifest does not compile (every endpoint's policy depends
    /// on it), or it has none while the running plan had one (a sync deleting and re-creating it must not open every
    /// port to every source in between). Errors of one endpoint located in the manifest (its TLS files) and selectors
    /// left without their handler are not the manifest failing: they refuse one endpoint, or none.
    package static func rejection(of plan: DeploymentPlan, running: DeploymentPlan) -> String? {
        let manifest = "manifest.json"
        if let error = plan.diagnostics.first(where: {
            $0.severity == .error && $0.location?.file == manifest && $0.code.rawValue.hasPrefix("manifest.")
                && $0.code != .manifestSelectorUnmatched
        }) {
            return "\(manifest) does not compile (\(error.code.rawValue) at \(error.location!.description))"
        }
        func hasManifest(_ plan: DeploymentPlan) -> Bool { !plan.diagnostics.contains { $0.code == .manifestMissing } }
        if hasManifest(running), !hasManifest(plan) { return "\(manifest) is missing" }
        return nil
    }

    /// SHA-256 over the paths and bytes of the entry and everything it imports, from the plan's sources.
    package static func codeHash(of endpoint: Endpoint, in plan: DeploymentPlan) -> String {
        let lines = ([endpoint.file] + endpoint.imports).sorted().map { path in
            "\(path)\u{0}\(plan.sources[path]?.sha256 ?? "unread")\n"
        }
        return SHA256.hex(lines.joined())
    }

    /// `module.syntax at lib/x.js:3:1`: the first error that refused `entry`, located in its own file, else in a file
    /// the running version imports, else anywhere with the same code.
    static func reason(for entry: RefusedEntry, importing imports: [String], in plan: DeploymentPlan) -> String {
        let errors = plan.diagnostics.filter { $0.severity == .error && entry.reasons.contains($0.code) }
        let files = Set(imports)
        guard let diagnostic = errors.first(where: { $0.location?.file == entry.file })
            ?? errors.first(where: { $0.location.map { files.contains($0.file) } ?? false }) ?? errors.first
        else {
            return entry.reasons.map(\.rawValue).joined(separator: ",")
        }
        return diagnostic.code.rawValue + (diagnostic.location.map { " at \($0.description)" } ?? "")
    }
}
