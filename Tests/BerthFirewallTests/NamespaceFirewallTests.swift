import BerthPlan
import BerthTestSupport
import Foundation
import Testing
@testable import BerthFirewall

/// Applies, reads and destroys berth's table with libnftables inside a namespace made for the test.
@Suite(.serialized, NetworkNamespaces.trait, .timeLimit(.minutes(2)))
struct NamespaceFirewallTests {
    static let plan = FirewallFixtures.echoAndPing

    /// Reads the live state in `namespace` with a fresh session.
    static func read(_ namespace: NetworkNamespace, _ target: FirewallTarget) throws -> LiveFirewall {
        try namespace.perform { try LiveFirewall.read(NFTablesSession(), target: target) }
    }

    /// Reads, then applies `ruleset` in `namespace`.
    static func apply(_ namespace: NetworkNamespace, _ ruleset: Ruleset) throws {
        try namespace.perform {
            let session = try NFTablesSession()
            try Firewall.apply(ruleset, LiveFirewall.read(session, target: ruleset.target), session: session)
        }
    }

    @Test func applyThenReadIsEmptyDiff() throws {
        let namespace = try NetworkNamespace(label: "fw")
        defer { namespace.close() }
        let ruleset = Ruleset(plan: Self.plan, target: FirewallFixtures.target())
        let before = try Self.read(namespace, ruleset.target)
        #expect(!before.exists)
        #expect(!RulesetDiff.between(ruleset, before).isEmpty)
        try Self.apply(namespace, ruleset)
        let after = try Self.read(namespace, ruleset.target)
        let diff = RulesetDiff.between(ruleset, after)
        #expect(diff.isEmpty, "\(diff)")
        try Self.apply(namespace, ruleset)
        let again = try Self.read(namespace, ruleset.target)
        #expect(RulesetDiff.between(ruleset, again).isEmpty)
        #expect(again.fingerprint == after.fingerprint)
    }
}

extension NamespaceFirewallTests {
    static func diffText(_ diff: RulesetDiff) -> [String] {
        diff.endpoints.flatMap { change in
            ["\(change.mark.rawValue) \(change.claim)"] + change.lines.map { "\(change.claim) \($0.mark.rawValue) \($0.text)" }
        } + diff.tableLines.map { "\($0.mark.rawValue) \($0.text)" }
    }

    @Test func handEditsShowAsDriftAndApplyRepairsThem() throws {
        let namespace = try NetworkNamespace(label: "drift")
        defer { namespace.close() }
        let ruleset = Ruleset(plan: Self.plan, target: FirewallFixtures.target())
        try Self.apply(namespace, ruleset)

        // An element added by hand, a rule deleted by hand, a rate changed by hand (rule replaced).
        try namespace.nft("add element inet berth tcp_7000_allow4 { 172.16.0.0/12 }")
        let listing = try namespace.nft("-a", "list chain inet berth udp_9000")
        let handles = listing.split(separator: "\n").compactMap { line -> (String, String)? in
            guard let range = line.range(of: "# handle ") else { return nil }
            return (String(line), String(line[range.upperBound...]))
        }
        let deny = try #require(handles.first { $0.0.contains("@udp_9000_deny4") })
        try namespace.nft("delete rule inet berth udp_9000 handle \(deny.1)")
        let rate = try #require(try namespace.nft("-a", "list chain inet berth tcp_7000").split(separator: "\n")
            .first { $0.contains("@rate4") })
        let rateHandle = String(rate[rate.range(of: "# handle ")!.upperBound...])
        try namespace.nft("replace rule inet berth tcp_7000 handle \(rateHandle) update @rate4 { meta l4proto . th dport . ip saddr and 255.255.255.0 timeout 60s limit rate over 100/second burst 20 packets } drop")
        try namespace.nft("add chain inet berth mine")

        let live = try Self.read(namespace, ruleset.target)
        let lines = Self.diffText(RulesetDiff.between(ruleset, live))
        #expect(lines.contains("tcp/7000 - allow 172.16.0.0/12"), "\(lines)")
        #expect(lines.contains("udp/9000 ~ drift: rule missing: ip saddr @udp_9000_deny4 drop"), "\(lines)")
        #expect(lines.contains("tcp/7000 ~ rate 100/s → 600/m"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("tcp/7000 ~ drift: rule changed or added by hand: update @rate6") }, "\(lines)")
        #expect(lines.contains("~ drift: unknown chain mine"), "\(lines)")

        try Self.apply(namespace, ruleset)
        let repaired = try Self.read(namespace, ruleset.target)
        #expect(RulesetDiff.between(ruleset, repaired).isEmpty, "\(Self.diffText(RulesetDiff.between(ruleset, repaired)))")
    }

    @Test func destroyLeavesTheRulesetAsItWas() throws {
        let namespace = try NetworkNamespace(label: "destroy")
        defer { namespace.close() }
        try namespace.nft("add table ip unrelated")
        try namespace.nft("add chain ip unrelated input { type filter hook input priority 10; policy accept; }")
        try namespace.nft("add rule ip unrelated input tcp dport 22 counter accept")
        try namespace.nft("add table inet filter")
        try namespace.nft("add chain inet filter input { type filter hook input priority 0; policy accept; }")
        let before = try namespace.nft("list ruleset")
        let target = FirewallFixtures.target(host: "inet filter input")
        try Self.apply(namespace, Ruleset(plan: Self.plan, target: target))
        #expect(try namespace.nft("list ruleset") != before)
        try namespace.perform {
            let session = try NFTablesSession()
            try Firewall.destroy(LiveFirewall.read(session, target: target), session: session)
            // Nothing left: destroying again is a no-op.
            let empty = try LiveFirewall.read(session, target: target)
            #expect(Firewall.destroyScript(empty) == nil)
            try Firewall.destroy(empty, session: session)
        }
        #expect(try namespace.nft("list ruleset") == before)
    }

    @Test func refusesATableThatIsNotBerths() throws {
        let namespace = try NetworkNamespace(label: "foreign")
        defer { namespace.close() }
        try namespace.nft("add table inet berth")
        try namespace.nft("add chain inet berth input { type filter hook input priority 0; policy accept; }")
        #expect(throws: FirewallError.self) { try Self.read(namespace, FirewallFixtures.target()) }
        do {
            _ = try Self.read(namespace, FirewallFixtures.target())
        } catch let error as FirewallError {
            #expect(error.code == .firewallTableNotBerths)
        }
    }

    @Test func kernelRejectionLeavesThePreviousTable() throws {
        let namespace = try NetworkNamespace(label: "reject")
        defer { namespace.close() }
        let first = Ruleset(plan: Self.plan, target: FirewallFixtures.target())
        try Self.apply(namespace, first)
        let before = try namespace.nft("list ruleset")
        try namespace.nft("add table inet filter")
        try namespace.nft("add chain inet filter input { type filter hook input priority 0; policy drop; }")
        let target = FirewallFixtures.target(host: "inet filter input")
        let second = Ruleset(plan: FirewallFixtures.plan([FirewallFixtures.endpoint("other", .tcp, 7300)]), target: target)
        let error = try namespace.perform { () throws -> FirewallError? in
            let session = try NFTablesSession()
            let live = try LiveFirewall.read(session, target: target)
            // The host chain vanishes between read and apply: the kernel rejects the whole batch.
            try session.run("delete table inet filter")
            do throws(FirewallError) { try Firewall.apply(second, live, session: session) } catch { return error }
            return nil
        }
        let rejected = try #require(error)
        #expect(rejected.code == .firewallRejected)
        #expect(rejected.message.contains("inet filter input") || rejected.message.contains("No such file"), "\(rejected)")
        #expect(try namespace.nft("list ruleset") == before)
        // A missing host chain found at read time is refused before anything is sent.
        #expect(throws: FirewallError.self) { try Self.apply(namespace, second) }
    }

    @Test func hostChainRuleIsKeptUniqueAndRemoved() throws {
        let namespace = try NetworkNamespace(label: "host")
        defer { namespace.close() }
        try namespace.nft("add table inet filter")
        try namespace.nft("add chain inet filter input { type filter hook input priority 0; policy drop; }")
        try namespace.nft("add rule inet filter input tcp dport 7000 drop")
        let plain = Ruleset(plan: Self.plan, target: FirewallFixtures.target())
        let warnings = Firewall.coexistenceWarnings(plain, try Self.read(namespace, plain.target))
        #expect(warnings.count == 1)
        #expect(warnings.first?.code == .firewallHostChainDrops)
        #expect(warnings.first?.message.contains("inet filter input") == true)
        #expect(warnings.first?.message.contains("tcp/7000, udp/9000") == true)
        #expect(warnings.first?.hint?.contains("--host-chain \"inet filter input\"") == true)

        let ruleset = Ruleset(plan: Self.plan, target: FirewallFixtures.target(host: "inet filter input"))
        try Self.apply(namespace, ruleset)
        try Self.apply(namespace, ruleset)
        let chain = try namespace.nft("list chain inet filter input")
        #expect(chain.components(separatedBy: "berth:inet berth").count == 2, "\(chain)")
        let live = try Self.read(namespace, ruleset.target)
        #expect(live.hostRules.count == 1)
        #expect(RulesetDiff.between(ruleset, live).isEmpty, "\(Self.diffText(RulesetDiff.between(ruleset, live)))")
        #expect(Firewall.coexistenceWarnings(ruleset, live).isEmpty)

        // A changed plan replaces the rule (new ports), never adds a second.
        let fewer = Ruleset(plan: FirewallFixtures.plan([Self.plan.endpoints[0]]), target: ruleset.target)
        #expect(Self.diffText(RulesetDiff.between(fewer, live)).contains { $0.hasPrefix("+ host rule in inet filter input") })
        try Self.apply(namespace, fewer)
        let replaced = try Self.read(namespace, ruleset.target)
        #expect(replaced.hostRules.map(\.ports) == [["tcp . 7000"]])

        try namespace.perform {
            let session = try NFTablesSession()
            try Firewall.destroy(LiveFirewall.read(session, target: ruleset.target), session: session)
        }
        #expect(!(try namespace.nft("list chain inet filter input")).contains("berth"))
    }

    @Test func coexistenceWarnsForExplicitPortDrops() throws {
        let namespace = try NetworkNamespace(label: "coexist")
        defer { namespace.close() }
        try namespace.nft("add table ip legacy")
        try namespace.nft("add chain ip legacy INPUT { type filter hook input priority 0; policy accept; }")
        try namespace.nft("add rule ip legacy INPUT udp dport { 8000-9100 } counter reject")
        try namespace.nft("add rule ip legacy INPUT tcp dport 22 drop")
        let ruleset = Ruleset(plan: Self.plan, target: FirewallFixtures.target())
        let warnings = Firewall.coexistenceWarnings(ruleset, try Self.read(namespace, ruleset.target))
        #expect(warnings.map(\.message).count == 1)
        #expect(warnings.first?.message.contains("ip legacy INPUT") == true)
        #expect(warnings.first?.message.contains("udp/9000") == true)
        #expect(warnings.first?.message.contains("tcp/7000") == false)
    }
}

extension NamespaceFirewallTests {
    /// What makes `VerifiedTable` notes sound: one batch is one generation, reads commit nothing, a commit anywhere in
    /// the namespace moves it, namespaces have distinct cookies, and a table taken from a note reads exactly as the
    /// listed one (drift, host rules, other input chains and the fingerprint a saved plan keeps).
    @Test func theGenerationMovesWithEachCommitAndAKnownTableReadsAsTheListedOne() throws {
        let namespace = try NetworkNamespace(label: "gen")
        defer { namespace.close() }
        let neighbour = try NetworkNamespace(label: "gen-other")
        defer { neighbour.close() }
        try namespace.nft("add table inet filter")
        try namespace.nft("add chain inet filter input { type filter hook input priority 0; policy drop; }")
        try namespace.nft("add rule inet filter input udp dport 9000 drop")
        let ruleset = Ruleset(plan: Self.plan, target: FirewallFixtures.target(host: "inet filter input"))
        let (before, applied, listed, known, afterReads) = try namespace.perform {
            let session = try NFTablesSession()
            let before = session.generation()
            try Firewall.apply(ruleset, LiveFirewall.read(session, target: ruleset.target), session: session)
            let applied = session.generation()
            let listed = try LiveFirewall.read(session, target: ruleset.target)
            let known = try LiveFirewall.read(session, target: ruleset.target, knownTable: ruleset)
            return (before, applied, listed, known, session.generation())
        }
        let generation = try #require(applied)
        #expect(before?.isFollowed(by: generation) == true, "one apply is one commit: \(String(describing: before)) → \(generation)")
        #expect(afterReads == generation, "reading commits nothing")
        #expect(RulesetDiff.between(ruleset, listed).isEmpty, "\(Self.diffText(RulesetDiff.between(ruleset, listed)))")
        #expect(known.endpoints == listed.endpoints && known.drift == listed.drift && known.exists)
        #expect(known.hostRules == listed.hostRules && known.hostRules.count == 1)
        #expect(known.inputChains == listed.inputChains && known.hostChainExists)
        #expect(known.fingerprint == listed.fingerprint)
        #expect(Firewall.coexistenceWarnings(ruleset, known) == Firewall.coexistenceWarnings(ruleset, listed))

        try namespace.nft("add table ip unrelated")
        let moved = try namespace.perform { try NFTablesSession().generation() }
        #expect(moved.map(generation.isFollowed) == true, "a commit to any table moves the generation")
        let elsewhere = try neighbour.perform { try NFTablesSession().generation() }
        #expect(elsewhere != nil && elsewhere?.netnsCookie != generation.netnsCookie)
    }
}
