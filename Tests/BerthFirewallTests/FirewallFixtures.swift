import BerthPlan
@testable import BerthFirewall
import BerthTestSupport

/// Plans built directly (no folder, no compiler), so firewall tests say exactly which policy they render.
enum FirewallFixtures {
    static func prefixes(_ texts: [String]) -> PrefixSet {
        PrefixSet(texts.map { text in
            guard case .success(let prefix) = IPPrefix.parse(text) else { preconditionFailure("bad prefix \(text)") }
            return prefix
        })
    }

    static func limits(rate: String = "50/s", datagramRate: String = "100/s", burst: Int = 100, maxConnections: Int = 1000,
                       perSource: Int = 20, sourcePrefix: SourcePrefix = SourcePrefix(ipv4: 32, ipv6: 64)) -> Limits {
        Limits(maxConnections: maxConnections, maxConnectionsPerSource: perSource, connectionRate: Rate.parse(rate)!,
               datagramRate: Rate.parse(datagramRate)!, burst: burst, idleTimeoutMilliseconds: 30_000,
               maxBufferedBytes: 1 << 20, sourcePrefix: sourcePrefix)
    }

    static func endpoint(_ name: String, _ transport: Transport, _ port: Int, allow: [String] = ["0.0.0.0/0", "::/0"],
                         deny: [String] = [], limits: Limits = limits()) -> Endpoint {
        Endpoint(name: name, transport: transport, port: port, file: "\(name).\(transport.rawValue).\(port).port.js",
                 moduleSHA256: String(repeating: "0", count: 64), imports: [], exports: [transport.entryExport],
                 policy: Policy(allow: prefixes(allow), deny: prefixes(deny)), limits: limits, tls: nil)
    }

    static func plan(_ endpoints: [Endpoint]) -> DeploymentPlan {
        DeploymentPlan(berthVersion: "test", folderHash: String(repeating: "0", count: 64), endpoints: endpoints,
                       refused: [], diagnostics: [])
    }

    /// One TCP and one UDP endpoint with allow and deny lists in both families and non-default limits.
    static let echoAndPing = plan([
        endpoint("echo", .tcp, 7000, allow: ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"],
                 deny: ["10.9.0.0/16", "2001:db8:bad::/48"],
                 limits: limits(rate: "600/m", burst: 20, maxConnections: 500, perSource: 4,
                                sourcePrefix: SourcePrefix(ipv4: 24, ipv6: 64))),
        endpoint("ping", .udp, 9000, allow: ["0.0.0.0/0", "fd00::/8"], deny: ["203.0.113.0/24"],
                 limits: limits(datagramRate: "10000/h", burst: 50, sourcePrefix: SourcePrefix(ipv4: 32, ipv6: 128))),
    ])

    static func target(_ table: String = "berth", host: String? = nil) -> FirewallTarget {
        FirewallTarget(tableName: table, hostChain: host.map { try! HostChain(parsing: $0) })
    }

    static func golden(_ name: String) -> String { PackagePaths.path("Tests/BerthFirewallTests/Golden/\(name)") }
}
