package import BerthPlan

extension Firewall {
    /// Warnings for other base chains on the input hook that would drop a declared port anyway: every base chain sees
    /// the packet, and a drop in any of them wins over berth's accept.
    package static func coexistenceWarnings(_ desired: Ruleset, _ live: LiveFirewall) -> [Diagnostic] {
        guard !desired.endpoints.isEmpty else { return [] }
        let tag = desired.target.hostRuleTag
        var warnings: [Diagnostic] = []
        for chain in live.inputChains {
            // The host chain named by --host-chain gets berth's accept rule at its top when the plan is applied.
            if chain.description == desired.target.hostChain?.description { continue }
            var dropped: [FirewallEndpoint] = []
            var reasons: [String] = []
            func drop(_ endpoints: [FirewallEndpoint], _ reason: String) {
                let fresh = endpoints.filter { !dropped.contains($0) }
                guard !fresh.isEmpty else { return }
                dropped += fresh
                reasons.append(reason)
            }
            for rule in chain.rules {
                // berth's own rule in a chain that is not (or no longer) the host chain: apply removes it.
                if rule["comment"]?.stringValue == tag { continue }
                guard let ports = droppedPorts(rule) else { continue }
                let handle = rule["handle"]?.intValue.map { " (handle \($0))" } ?? ""
                drop(desired.endpoints.filter { ports.matches($0) }, "a rule\(handle) drops or rejects them")
            }
            if chain.policy == "drop" { drop(desired.endpoints, "its policy is drop") }
            guard !dropped.isEmpty else { continue }
            let claims = dropped.sorted { ($0.transport, $0.port) < ($1.transport, $1.port) }.map(\.claim)
            warnings.append(Diagnostic(
                .firewallHostChainDrops, .warning, at: nil,
                "chain \(chain.description) (hook input) drops traffic to \(claims.joined(separator: ", ")) before it "
                    + "reaches berth: \(reasons.joined(separator: "; "))",
                hint: "apply with --host-chain \"\(chain.description)\" so berth keeps an accept rule for its ports there"))
        }
        return warnings
    }

    /// The ports a simple rule drops or rejects (`tcp dport 7000 drop`, `th dport { 7000, 8000-8010 } reject`, a
    /// bare `drop`); nil for rules that do not drop or that match on more than protocol and port.
    private static func droppedPorts(_ rule: JSONValue) -> PortMatch? {
        guard let expressions = rule["expr"]?.arrayValue, let verdict = expressions.last,
            verdict["drop"] != nil || verdict["reject"] != nil
        else { return nil }
        var match = PortMatch()
        for expression in expressions.dropLast() {
            if expression["counter"] != nil || expression["log"] != nil { continue }
            guard let test = expression["match"], test["op"]?.stringValue == "==", let left = test["left"], let right = test["right"]
            else { return nil }
            if left == ["meta": ["key": "l4proto"]], let proto = right.stringValue.flatMap(Transport.init) {
                match.transports = match.transports.intersection([proto])
            } else if left["payload"]?["field"]?.stringValue == "dport",
                let proto = left["payload"]?["protocol"]?.stringValue, ["tcp", "udp", "th"].contains(proto) {
                if let transport = Transport(rawValue: proto) { match.transports = match.transports.intersection([transport]) }
                match.ports = portRanges(right)
            } else {
                return nil
            }
        }
        return match
    }

    private static func portRanges(_ value: JSONValue) -> [ClosedRange<Int>] {
        if let port = value.intValue { return [port...port] }
        if let range = value["range"]?.arrayValue, range.count == 2, let low = range[0].intValue, let high = range[1].intValue, low <= high {
            return [low...high]
        }
        return value["set"]?.arrayValue?.flatMap(portRanges) ?? []
    }

    /// What a simple dropping rule matches: transports and port ranges (nil: every port).
    private struct PortMatch {
        var transports: Set<Transport> = Set(Transport.allCases)
        var ports: [ClosedRange<Int>]?

        func matches(_ endpoint: FirewallEndpoint) -> Bool {
            transports.contains(endpoint.transport) && (ports?.contains { $0.contains(endpoint.port) } ?? true)
        }
    }
}

extension FirewallEndpoint {
    /// `tcp . 7000`, as the host rule's set and libnftables' JSON name the port.
    var portElement: String { "\(transport.rawValue) . \(port)" }
}
