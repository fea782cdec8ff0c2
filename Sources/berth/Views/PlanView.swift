import BerthPlan

/// The readable summary `berth plan` prints: each endpoint with its policy and limits, then what was refused.
enum PlanView {
    static func text(_ plan: DeploymentPlan, planHash: String, folder: String, styling: Styling) -> String {
        var out = styling.bold("berth plan for \(folder)") + "\n"
        out += styling.dim("  folder sha256:\(plan.folderHash.prefix(16))…  plan sha256:\(planHash.prefix(16))…") + "\n\n"
        if plan.endpoints.isEmpty { out += "  no endpoints\n" }
        for endpoint in plan.endpoints {
            out += "  " + styling.green("+ \(endpoint.claim)") + "  " + styling.bold(endpoint.name) + "  \(endpoint.file)"
            if let tls = endpoint.tls { out += "  tls \(tls.certificate) (until \(tls.notAfter))" }
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
            if !endpoint.imports.isEmpty { out += detail + "imports " + endpoint.imports.joined(separator: ", ") + "\n" }
        }
        if !plan.refused.isEmpty {
            out += "\n" + styling.bold("refused") + "\n"
            for entry in plan.refused {
                let claim = entry.transport.flatMap { transport in entry.port.map { "\(transport.rawValue)/\($0)" } } ?? "-"
                out += "  " + styling.red("- \(claim)") + "  \(entry.file)  "
                    + entry.reasons.map(\.rawValue).joined(separator: ", ") + "\n"
            }
        }
        out += "\nPlan: \(DiagnosticsView.plural(plan.endpoints.count, "endpoint")), \(plan.refused.count) refused.\n"
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
