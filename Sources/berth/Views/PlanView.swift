import BerthFirewall
import BerthPlan

/// The readable summary `berth plan` prints: each endpoint with its policy and limits — marked `+`, `~` or unchanged
/// against the live firewall when one was read — then what the firewall holds that the plan does not, then what was
/// refused.
enum PlanView {
    static func text(
        _ plan: DeploymentPlan, planHash: String, folder: String, reading: FirewallReading?, styling: Styling
    ) -> String {
        let diff = reading?.diff
        let target = reading.map(\.target.description)
        var out = styling.bold("berth plan for \(PrintableText.escaped(folder))") + (target.map { " against \($0)" } ?? "") + "\n"
        out += styling.dim("  folder sha256:\(plan.folderHash.prefix(16))…  plan sha256:\(planHash.prefix(16))…") + "\n"
        if let reading, reading.isTableFromNote, let generation = reading.generation {
            out += styling.dim("  table inet \(reading.target.tableName) not listed: nftables is still at generation "
                               + "\(generation.number), where berth verified it (--no-cache lists it)") + "\n"
        }
        out += "\n"
        if plan.endpoints.isEmpty { out += "  no endpoints\n" }
        let changes = Dictionary(diff?.endpoints.map { ($0.claim, $0) } ?? [], uniquingKeysWith: { first, _ in first })
        for endpoint in plan.endpoints {
            guard diff == nil || changes[endpoint.claim] != nil else {
                out += styling.dim("    \(endpoint.claim)  \(endpoint.name)  \(endpoint.file)  (no changes)") + "\n"
                continue
            }
            if let change = changes[endpoint.claim], change.mark == .change {
                out += "  " + styling.yellow("~ \(endpoint.claim)") + "  " + styling.bold(endpoint.name) + "  \(endpoint.file)\n"
                out += lines(change.lines, styling: styling)
                continue
            }
            out += describe(endpoint, styling: styling)
        }
        if let diff {
            for change in diff.endpoints where change.mark == .remove {
                out += "  " + styling.red("- \(change.claim)") + "  " + styling.bold(change.name) + "  \(change.file)"
                    + styling.dim("  (in the firewall, not in the folder)") + "\n"
            }
            if !diff.tableLines.isEmpty { out += "\n" + styling.bold("firewall") + "\n" + lines(diff.tableLines, styling: styling) }
        }
        if !plan.refused.isEmpty {
            out += "\n" + styling.bold("refused") + "\n"
            for entry in plan.refused {
                let claim = entry.transport.flatMap { transport in entry.port.map { "\(transport.rawValue)/\($0)" } } ?? "-"
                out += "  " + styling.red("- \(claim)") + "  \(PrintableText.escaped(entry.file))  "
                    + entry.reasons.map(\.rawValue).joined(separator: ", ") + "\n"
            }
        }
        out += "\n" + summary(plan, diff: diff, target: target) + "\n"
        return out
    }

    /// What `apply` is about to change: the same marks as `plan`, without the unchanged endpoints.
    static func changes(_ diff: RulesetDiff, plan: DeploymentPlan, styling: Styling) -> String {
        var out = ""
        let endpoints = Dictionary(plan.endpoints.map { ($0.claim, $0) }, uniquingKeysWith: { first, _ in first })
        for change in diff.endpoints {
            switch change.mark {
            case .add: out += endpoints[change.claim].map { describe($0, styling: styling) } ?? ""
            case .change:
                out += "  " + styling.yellow("~ \(change.claim)") + "  " + styling.bold(change.name) + "  \(change.file)\n"
                out += lines(change.lines, styling: styling)
            case .remove: out += "  " + styling.red("- \(change.claim)") + "  " + styling.bold(change.name) + "  \(change.file)\n"
            }
        }
        if !diff.tableLines.isEmpty { out += styling.bold("firewall") + "\n" + lines(diff.tableLines, styling: styling) }
        return out
    }

    private static func summary(_ plan: DeploymentPlan, diff: RulesetDiff?, target: String?) -> String {
        let refused = "\(plan.refused.count) refused"
        guard let diff, let target else {
            return "Plan: \(DiagnosticsView.plural(plan.endpoints.count, "endpoint")), \(refused)."
        }
        if diff.isEmpty { return "No changes: \(target) matches the folder. \(refused.prefix(1).uppercased() + refused.dropFirst())." }
        let count = { (mark: RulesetDiff.Mark) in diff.endpoints.filter { $0.mark == mark }.count }
        let drift = diff.tableLines.isEmpty ? "" : ", and \(DiagnosticsView.plural(diff.tableLines.count, "firewall change"))"
        return "Plan: \(count(.add)) to add, \(count(.change)) to change, \(count(.remove)) to remove\(drift); \(refused)."
    }

    private static func lines(_ lines: [RulesetDiff.Line], styling: Styling) -> String {
        lines.map { line in
            let text = "\(line.mark.rawValue) \(line.text)"
            let colored = switch line.mark {
            case .add: styling.green(text)
            case .remove: styling.red(text)
            case .change: styling.yellow(text)
            }
            return "      " + colored + "\n"
        }.joined()
    }

    private static func describe(_ endpoint: Endpoint, styling: Styling) -> String {
        var out = "  " + styling.green("+ \(endpoint.claim)") + "  " + styling.bold(endpoint.name) + "  \(endpoint.file)"
        out += "\n"
        let detail = "      "
        out += detail + "allow  " + describe(endpoint.policy.allow, empty: "nobody") + "\n"
        out += detail + "deny   " + describe(endpoint.policy.deny, empty: "-") + "\n"
        let limits = endpoint.limits
        let perSource = "per source /\(limits.sourcePrefix.ipv4) (IPv4), /\(limits.sourcePrefix.ipv6) (IPv6)"
        switch endpoint.transport {
        case .tcp:
            out += detail + "limits \(limits.maxConnections) connections, \(limits.maxConnectionsPerSource) \(perSource)\n"
            out += detail + "       new connections \(limits.connectionRate) burst \(limits.burst) per source; "
                + "idle \(DurationText.format(milliseconds: limits.idleTimeoutMilliseconds)); "
                + "buffer \(bytes(limits.maxBufferedBytes)) per connection\n"
        case .udp:
            out += detail + "limits datagrams \(limits.datagramRate) burst \(limits.burst) \(perSource)\n"
        }
        if let tls = endpoint.tls { out += describe(tls, indent: detail) }
        if !endpoint.imports.isEmpty { out += detail + "imports " + PrintableText.escaped(endpoint.imports.joined(separator: ", ")) + "\n" }
        return out
    }

    /// The TLS lines: one per certificate pair (file, the names SNI matches, notAfter), then the handshake's settings.
    private static func describe(_ tls: TLSSettings, indent: String) -> String {
        var out = ""
        for (index, certificate) in tls.certificates.enumerated() {
            let names = certificate.names.isEmpty ? "no DNS names" : certificate.names.joined(separator: ", ")
            out += indent + (index == 0 ? "tls    " : "       ")
                + PrintableText.escaped("\(certificate.certificate)  \(names)  until \(certificate.notAfter)") + "\n"
        }
        var settings = ["TLS \(tls.minimumVersion.rawValue)+"]
        settings.append(tls.alpn.isEmpty ? "no ALPN" : "ALPN " + tls.alpn.joined(separator: ", "))
        settings.append("handshake \(DurationText.format(milliseconds: tls.handshakeTimeoutMilliseconds))")
        if tls.certificates.count > 1 || tls.isStrictSNI {
            settings.append(tls.isStrictSNI ? "strict SNI (unknown names refused)" : "unknown names get the first pair")
        }
        out += indent + "       " + PrintableText.escaped(settings.joined(separator: "; ")) + "\n"
        if let authority = tls.clientAuthority {
            let mode = authority.isRequired ? "required" : "optional"
            let clients = "client certificates \(mode), CA \(authority.file)"
            out += indent + "       " + PrintableText.escaped(clients) + "\n"
        }
        return out
    }

    private static func describe(_ set: PrefixSet, empty: String) -> String {
        set.isEmpty ? empty : set.prefixes.map(\.description).joined(separator: ", ")
    }

    private static func bytes(_ count: Int) -> String {
        if count % 1_048_576 == 0 { return "\(count / 1_048_576) MiB" }
        if count % 1024 == 0 { return "\(count / 1024) KiB" }
        return "\(count) B"
    }
}
