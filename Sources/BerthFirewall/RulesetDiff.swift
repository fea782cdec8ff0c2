import BerthPlan

/// What `apply` would change, per endpoint and per prefix, plus drift berth would repair. Empty when the kernel
/// already holds exactly the desired ruleset.
package struct RulesetDiff: Sendable, Hashable {
    package enum Mark: String, Sendable, Hashable {
        case add = "+", remove = "-", change = "~"
    }

    /// One line of a change: `+ allow 10.1.0.0/16`, `~ rate 50/s → 100/s`, `~ drift: rule missing: …`.
    package struct Line: Sendable, Hashable {
        package var mark: Mark
        package var text: String
        package init(_ mark: Mark, _ text: String) { (self.mark, self.text) = (mark, text) }
    }

    /// An endpoint added, removed, or changed (with the lines saying how).
    package struct EndpointChange: Sendable, Hashable {
        /// `tcp/7000`.
        package var claim: String
        package var name: String
        package var file: String
        package var mark: Mark
        package var lines: [Line]
    }

    /// Sorted by transport, then port.
    package var endpoints: [EndpointChange]
    /// Changes outside any endpoint: the table itself, drift in shared parts, the host-chain rule.
    package var tableLines: [Line]

    package var isEmpty: Bool { endpoints.isEmpty && tableLines.isEmpty }

    package static func between(_ desired: Ruleset, _ live: LiveFirewall) -> RulesetDiff {
        var diff = RulesetDiff(endpoints: [], tableLines: [])
        var liveByClaim = Dictionary(live.endpoints.map { ($0.endpoint.claim, $0) }, uniquingKeysWith: { first, _ in first })
        var changes: [(key: (Transport, Int), change: EndpointChange)] = []
        for endpoint in desired.endpoints {
            let key = (endpoint.transport, endpoint.port)
            guard let found = liveByClaim.removeValue(forKey: endpoint.claim) else {
                changes.append((key, EndpointChange(claim: endpoint.claim, name: endpoint.name, file: endpoint.file, mark: .add,
                                                    lines: describe(endpoint, .add))))
                continue
            }
            let lines = compare(endpoint, found)
            if !lines.isEmpty {
                changes.append((key, EndpointChange(claim: endpoint.claim, name: endpoint.name, file: endpoint.file,
                                                    mark: .change, lines: lines)))
            }
        }
        for found in liveByClaim.values {
            let endpoint = found.endpoint
            changes.append(((endpoint.transport, endpoint.port),
                            EndpointChange(claim: endpoint.claim, name: endpoint.name, file: endpoint.file, mark: .remove,
                                           lines: describe(endpoint, .remove))))
        }
        diff.endpoints = changes.sorted { $0.key < $1.key }.map(\.change)
        diff.tableLines = tableLines(desired, live)
        return diff
    }

    /// An endpoint's whole policy as lines, for an added or removed endpoint.
    private static func describe(_ endpoint: FirewallEndpoint, _ mark: Mark) -> [Line] {
        var lines: [Line] = []
        for kind in PrefixKind.allCases {
            lines += endpoint.prefixes(kind).prefixes.map { Line(mark, "\(kind.rawValue) \($0)") }
        }
        lines += limitTexts(endpoint).map { Line(mark, "\($0.label) \($0.value)") }
        return lines
    }

    private static func compare(_ desired: FirewallEndpoint, _ found: LiveEndpoint) -> [Line] {
        var lines: [Line] = []
        let live = found.endpoint
        if live.file != desired.file { lines.append(Line(.change, "file \(live.file) → \(desired.file)")) }
        for kind in PrefixKind.allCases {
            for family in IPFamily.allCases {
                let want = desired.prefixes(kind).prefixes(family)
                let have = live.prefixes(kind).prefixes(family)
                guard want != have else { continue }
                let wantSet = Set(want)
                let haveSet = Set(have)
                lines += want.filter { !haveSet.contains($0) }.map { Line(.add, "\(kind.rawValue) \($0)") }
                lines += have.filter { !wantSet.contains($0) }.map { Line(.remove, "\(kind.rawValue) \($0)") }
            }
        }
        let before = Dictionary(limitTexts(live).map { ($0.label, $0.value) }, uniquingKeysWith: { first, _ in first })
        for (label, value) in limitTexts(desired) where before[label] != value {
            lines.append(Line(.change, "\(label) \(before[label] ?? "none") → \(value)"))
        }
        lines += found.drift.map { Line(.change, "drift: \($0)") }
        return lines
    }

    /// The limits as labelled texts, so two endpoints compare field by field and print the same way.
    private static func limitTexts(_ endpoint: FirewallEndpoint) -> [(label: String, value: String)] {
        let limits = endpoint.limits
        var texts: [(String, String)] = [
            ("rate", "\(limits.rate)"), ("burst", "\(limits.burst)"),
            ("source prefix", "/\(limits.sourcePrefix.ipv4) /\(limits.sourcePrefix.ipv6)"),
        ]
        if endpoint.transport == .tcp {
            texts.append(("connections per source", limits.maxConnectionsPerSource.map(String.init) ?? "none"))
            texts.append(("connections", limits.maxConnections.map(String.init) ?? "none"))
        }
        return texts
    }

    private static func tableLines(_ desired: Ruleset, _ live: LiveFirewall) -> [Line] {
        var lines: [Line] = []
        if !live.exists { lines.append(Line(.add, "table inet \(desired.target.tableName)")) }
        lines += live.drift.map { Line(.change, "drift: \($0)") }
        var stale = live.hostRules
        if let host = desired.target.hostChain, !desired.endpoints.isEmpty {
            let ports = desired.portElements.sorted()
            if !live.hostChainExists {
                lines.append(Line(.change, "host chain \(host) does not exist"))
            } else if let index = stale.firstIndex(where: { $0.chain == host.description && $0.ports == ports }) {
                stale.remove(at: index)
            } else {
                lines.append(Line(.add, "host rule in \(host): accept \(ports.joined(separator: ", "))"))
            }
        }
        lines += stale.map { Line(.remove, "host rule in \($0.chain) (handle \($0.handle)): accept \($0.ports.joined(separator: ", "))") }
        return lines
    }
}
