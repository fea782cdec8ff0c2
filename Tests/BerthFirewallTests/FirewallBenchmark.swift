import BerthPlan
import BerthTestSupport
import Foundation
import Testing
@testable import BerthFirewall

/// Apply and read at scale: 1,000 endpoints, 50,000 prefixes. Measures, does not assert times (machines differ);
/// run with `BERTH_FIREWALL_BENCH=1` in a release build and read the printed numbers.
@Suite(.serialized, NetworkNamespaces.trait,
       .enabled(if: ProcessInfo.processInfo.environment["BERTH_FIREWALL_BENCH"] == "1", "set BERTH_FIREWALL_BENCH=1"))
struct FirewallBenchmark {
    static func largePlan() -> DeploymentPlan {
        let f = FirewallFixtures.self
        return f.plan((0..<1000).map { index in
            let prefixes = (0..<50).map { item -> String in
                let value = index * 50 + item
                // Every other address or /64, so nothing merges: 40 IPv4 hosts and 10 IPv6 prefixes each.
                return item < 40 ? "10.\(value >> 15 & 255).\(value >> 7 & 255).\((value & 127) * 2)"
                    : "2001:db8:\(index):\(item * 2)::/64"
            }
            return f.endpoint("h\(index)", index % 4 == 0 ? .udp : .tcp, 10_000 + index, allow: prefixes,
                              deny: index % 10 == 0 ? ["10.255.\(index % 256).0/24"] : [])
        })
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    @Test func applyAndReadAtScale() throws {
        let namespace = try NetworkNamespace(label: "bench")
        defer { namespace.close() }
        let plan = Self.largePlan()
        let report = try namespace.perform { () throws -> String in
            let session = try NFTablesSession()
            var ruleset: Ruleset!
            let render = Self.seconds { ruleset = Ruleset(plan: plan, target: FirewallFixtures.target()) }
            var script = ""
            let renderScript = Self.seconds { script = ruleset.script }
            var live = try LiveFirewall.read(session, target: ruleset.target)
            let firstApply = try Self.seconds { try Firewall.apply(ruleset, live, session: session) }
            live = try LiveFirewall.read(session, target: ruleset.target)
            let secondApply = try Self.seconds { try Firewall.apply(ruleset, live, session: session) }
            var listed: [UInt8] = []
            let list = try Self.seconds { listed = try session.runJSON("list table inet berth") }
            var parsed: JSONValue = .null
            let parse = try Self.seconds { parsed = try NFTablesJSON.parse(listed) }
            _ = parsed
            // berth's own part of a read, without libnftables: JSON → objects → model, freeing included.
            var models: [Double] = []
            for _ in 0..<5 {
                models.append(try Self.seconds {
                    var model = LiveFirewall(target: ruleset.target)
                    try model.parseTable(LiveFirewall.objects(json: listed, of: "list table inet berth"))
                    #expect(model.endpoints.count == 1000)
                })
            }
            var diff: RulesetDiff!
            // Best of three: a single run on a shared machine is noisy.
            var reads: [Double] = []
            var diffs: [Double] = []
            for _ in 0..<3 {
                reads.append(try Self.seconds { live = try LiveFirewall.read(session, target: ruleset.target) })
                diffs.append(Self.seconds { diff = RulesetDiff.between(ruleset, live) })
            }
            // What a plan does when a note vouches for the table: the digest it checks, and a read of the other chains.
            let digest = Self.seconds { _ = VerifiedTable.digest(ruleset) }
            let noted = try Self.seconds { live = try LiveFirewall.read(session, target: ruleset.target, knownTable: ruleset) }
            let chains = try Self.seconds { _ = try session.runJSON("list chains") }
            let tables = try Self.seconds { _ = try session.runJSON("list tables") }
            #expect(diff.isEmpty)
            let read = reads.min()!, diffTime = diffs.min()!
            return """
                endpoints 1000, prefixes \(plan.endpoints.reduce(0) { $0 + $1.policy.allow.prefixes.count + $1.policy.deny.prefixes.count }), \
                script \(script.utf8.count) bytes, JSON \(listed.count) bytes
                model \(render)s, render \(renderScript)s, first apply \(firstApply)s, re-apply (apply) \(secondApply)s
                read \(read)s, diff \(diffTime)s, read+diff (no change) \(read + diffTime)s
                  of read: libnftables list (JSON) \(list)s; berth's part (JSON parse + model) \(models.min()!)s, \
                JSON parse alone \(parse)s
                with a note: digest \(digest)s, read of the other chains \(noted)s
                list chains \(chains)s, list tables \(tables)s
                """
        }
        print(report)
    }
}
