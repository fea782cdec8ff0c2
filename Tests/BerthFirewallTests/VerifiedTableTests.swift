import BerthPlan
import BerthTestSupport
import Foundation
import Testing
@testable import BerthFirewall

/// berth's notes of verified state: what they vouch for, and how the state file keeps them.
struct VerifiedTableTests {
    static let ruleset = Ruleset(plan: FirewallFixtures.echoAndPing, target: FirewallFixtures.target())
    static let generation = RulesetGeneration(netnsCookie: 7, number: 41)

    @Test func aNoteSpeaksOfOneGenerationTableAndBootAndItsDigestOfOneRendering() {
        let note = VerifiedTable(bootID: "boot-a", generation: Self.generation, holding: Self.ruleset)
        #expect(note.isAt(Self.generation, bootID: "boot-a", tableName: "berth"))
        #expect(!note.isAt(RulesetGeneration(netnsCookie: 7, number: 42), bootID: "boot-a", tableName: "berth"),
                "any commit moves the generation")
        #expect(!note.isAt(RulesetGeneration(netnsCookie: 8, number: 41), bootID: "boot-a", tableName: "berth"),
                "another namespace")
        #expect(!note.isAt(Self.generation, bootID: "boot-b", tableName: "berth"), "another boot")
        #expect(!note.isAt(Self.generation, bootID: "boot-a", tableName: "other"))
        #expect(note.digest == VerifiedTable.digest(Self.ruleset))
        var changed = Self.ruleset
        changed.endpoints[0].limits.burst += 1
        #expect(VerifiedTable.digest(changed) != note.digest, "a plan that renders differently")
        var hosted = Self.ruleset
        hosted.target = FirewallFixtures.target(host: "inet filter input")
        #expect(VerifiedTable.digest(hosted) != note.digest, "the host-chain rule is part of it")
    }

    @Test func aRulesetReadsBackFromItsRecord() throws {
        for target in [FirewallFixtures.target(), FirewallFixtures.target("other", host: "inet filter input")] {
            let ruleset = Ruleset(plan: FirewallFixtures.echoAndPing, target: target)
            let read = try #require(Ruleset(record: ruleset.record))
            #expect(read == ruleset)
            #expect(VerifiedTable.digest(read) == VerifiedTable.digest(ruleset))
        }
        #expect(Ruleset(record: Array("{}".utf8)) == nil)
        #expect(Ruleset(record: Array("not json".utf8)) == nil)
        var record = String(decoding: Self.ruleset.record, as: UTF8.self)
        record = record.replacingOccurrences(of: "10.0.0.0/8", with: "10.0.0.0/88")
        #expect(Ruleset(record: Array(record.utf8)) == nil, "a bad prefix is refused, not skipped")
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
