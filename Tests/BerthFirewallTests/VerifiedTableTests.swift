import BerthPlan
import BerthTestSupport
import Testing
@testable import BerthFirewall

/// berth's notes of verified state: what they vouch for, and how the state file keeps them.
struct VerifiedTableTests {
    static let ruleset = Ruleset(plan: FirewallFixtures.echoAndPing, target: FirewallFixtures.target())
    static let generation = RulesetGeneration(netnsCookie: 7, number: 41)

    @Test func aNoteVouchesOnlyForItsRulesetGenerationTableAndBoot() {
        let note = VerifiedTable(bootID: "boot-a", generation: Self.generation, holding: Self.ruleset)
        #expect(note.vouches(for: Self.ruleset, at: Self.generation, bootID: "boot-a"))
        #expect(!note.vouches(for: Self.ruleset, at: RulesetGeneration(netnsCookie: 7, number: 42), bootID: "boot-a"),
                "any commit moves the generation")
        #expect(!note.vouches(for: Self.ruleset, at: RulesetGeneration(netnsCookie: 8, number: 41), bootID: "boot-a"),
                "another namespace")
        #expect(!note.vouches(for: Self.ruleset, at: Self.generation, bootID: "boot-b"), "another boot")
        var otherTable = Self.ruleset
        otherTable.target = FirewallFixtures.target("other")
        #expect(!note.vouches(for: otherTable, at: Self.generation, bootID: "boot-a"))
        var changed = Self.ruleset
        changed.endpoints[0].limits.burst += 1
        #expect(!note.vouches(for: changed, at: Self.generation, bootID: "boot-a"), "a plan that renders differently")
        var hosted = Self.ruleset
        hosted.target = FirewallFixtures.target(host: "inet filter input")
        #expect(!note.vouches(for: hosted, at: Self.generation, bootID: "boot-a"), "the host-chain rule is part of it")
    }

    @Test func theNextGenerationIsOneCommitLaterInTheSameNamespace() {
        #expect(Self.generation.isFollowed(by: RulesetGeneration(netnsCookie: 7, number: 42)))
        #expect(!Self.generation.isFollowed(by: RulesetGeneration(netnsCookie: 7, number: 43)), "another commit came between")
        #expect(!Self.generation.isFollowed(by: RulesetGeneration(netnsCookie: 9, number: 42)))
        #expect(RulesetGeneration(netnsCookie: 1, number: .max).isFollowed(by: RulesetGeneration(netnsCookie: 1, number: 0)))
    }

    @Test func theStateFileKeepsOneNotePerNamespaceAndTableForThisBootOnly() {
        let note = { (boot: String, cookie: UInt64, number: UInt32, table: String) in
            VerifiedTable(bootID: boot, generation: RulesetGeneration(netnsCookie: cookie, number: number), tableName: table,
                          digest: String(repeating: "a", count: 64))
        }
        let old = [note("boot-a", 1, 5, "berth"), note("boot-a", 1, 5, "other"), note("boot-a", 2, 9, "berth"),
                   note("boot-old", 3, 1, "berth")]
        let text = VerifiedTable.text(recording: note("boot-a", 1, 6, "berth"), in: old)
        #expect(VerifiedTable.parse(text) == [note("boot-a", 1, 5, "other"), note("boot-a", 2, 9, "berth"),
                                              note("boot-a", 1, 6, "berth")])
        let many = (0..<100).map { note("boot-a", UInt64($0), 1, "berth") }
        let bounded = VerifiedTable.parse(VerifiedTable.text(recording: note("boot-a", 500, 1, "berth"), in: many, limit: 64))
        #expect(bounded.count == 64 && bounded.last == note("boot-a", 500, 1, "berth") && bounded.first?.generation.netnsCookie == 37)
        #expect(VerifiedTable.parse("garbage\n\nboot 1 x berth d\nboot-a 1 2 berth \(String(repeating: "b", count: 64))\n").count == 1,
                "unreadable lines are skipped, not trusted")
    }
}
