import BerthPlan
import BerthTestSupport
import Testing
@testable import BerthFirewall

/// Rendering: the nft text for a plan, golden-tested; no root needed.
@Suite struct RulesetTests {
    static let cases: [(name: String, ruleset: Ruleset)] = [
        ("echo-and-ping.nft", Ruleset(plan: FirewallFixtures.echoAndPing, target: FirewallFixtures.target())),
        // Nobody allowed in either family; an IPv6-only allow list; no deny: sets are omitted, families dropped.
        ("empty-policies.nft", Ruleset(plan: FirewallFixtures.plan([
            FirewallFixtures.endpoint("closed", .tcp, 7100, allow: []),
            FirewallFixtures.endpoint("sixonly", .udp, 7200, allow: ["2001:db8::/48"]),
        ]), target: FirewallFixtures.target())),
        ("no-endpoints.nft", Ruleset(plan: FirewallFixtures.plan([]), target: FirewallFixtures.target("edge"))),
        ("host-chain.nft", Ruleset(plan: FirewallFixtures.echoAndPing,
                                   target: FirewallFixtures.target(host: "inet filter input"))),
    ]

    @Test(arguments: cases.map(\.name))
    func scriptMatchesGolden(name: String) throws {
        let ruleset = try #require(Self.cases.first { $0.name == name }).ruleset
        try Golden.expect(ruleset.script, matches: FirewallFixtures.golden(name))
    }

    /// `nft -c` parses and evaluates every golden (the host-chain one with its chain present) in a fresh namespace.
    @Test(NetworkNamespaces.trait, arguments: cases.map(\.name))
    func goldenPassesNFTCheck(name: String) throws {
        let ruleset = try #require(Self.cases.first { $0.name == name }).ruleset
        let namespace = try NetworkNamespace(label: "check")
        defer { namespace.close() }
        if ruleset.target.hostChain != nil {
            try namespace.nft("add table inet filter")
            try namespace.nft("add chain inet filter input { type filter hook input priority 0; policy drop; }")
        }
        let result = try namespace.nft(script: ruleset.script, options: ["-c"])
        #expect(result.status == 0, "\(result.standardError)")
    }

    @Test func ratesMapToNFTUnits() {
        #expect(Rate.parse("600/m")!.nftUnit == "minute")
        #expect(Rate.parse("50/s")!.nftUnit == "second")
        #expect(Rate.parse("10000/h")!.nftUnit == "hour")
        // A bucket lives until it would have refilled: 100 tokens at 1/m take 100 minutes.
        #expect(RuleStatement.rateTimeout(Rate(count: 1, seconds: 60), burst: 100) == 6000)
        #expect(RuleStatement.rateTimeout(Rate(count: 50, seconds: 1), burst: 100) == 60)
    }

    @Test func hostChainParsing() throws {
        let chain = try HostChain(parsing: "inet filter input")
        #expect(chain.description == "inet filter input")
        #expect(throws: FirewallError.self) { try HostChain(parsing: "inet filter") }
        #expect(throws: FirewallError.self) { try HostChain(parsing: "bridge filter input") }
        #expect(throws: FirewallError.self) { try HostChain(parsing: "inet filter in;put") }
        #expect(throws: FirewallError.self) { try FirewallTarget(tableName: "x; flush ruleset").validate() }
    }

    /// Drift and changes are computed from the model, so they can be checked without a kernel.
    @Test func diffListsPrefixesAndLimits() {
        let target = FirewallFixtures.target()
        let desired = Ruleset(plan: FirewallFixtures.echoAndPing, target: target)
        var changed = desired.endpoints
        changed[0].allow = FirewallFixtures.prefixes(["10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32"].filter { $0 != "192.168.1.7" })
        changed[0].limits.rate = Rate(count: 50, seconds: 1)
        let live = LiveFirewall(target: target, exists: true, endpoints: changed.dropLast().map {
            LiveEndpoint(endpoint: $0, rules: $0.rules, setNames: Set(desiredSets($0)), strayElements: [])
        })
        let diff = RulesetDiff.between(desired, live)
        #expect(diff.endpoints.map(\.mark) == [.change, .add])
        let lines = diff.endpoints[0].lines.map { "\($0.mark.rawValue) \($0.text)" }
        #expect(lines.contains("+ allow 192.168.1.7/32"))
        #expect(lines.contains("~ rate 50/s → 600/m"))
        #expect(diff.tableLines.isEmpty)
    }

    private func desiredSets(_ endpoint: FirewallEndpoint) -> [String] {
        PrefixKind.allCases.flatMap { kind in
            IPFamily.allCases.filter { !endpoint.prefixes(kind).prefixes($0).isEmpty }.map { endpoint.setName(kind, $0) }
        }
    }
}
