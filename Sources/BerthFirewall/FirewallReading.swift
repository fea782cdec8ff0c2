package import BerthPlan

/// What the firewall stage learnt before changing anything: the desired table, the live one, and how they differ.
/// Applying it goes through the session that read it.
package struct FirewallReading {
    package var target: FirewallTarget
    package var desired: Ruleset
    package var live: LiveFirewall
    package var diff: RulesetDiff
    /// Other input chains that would drop the plan's traffic (`Firewall.coexistenceWarnings`).
    package var warnings: [Diagnostic]
    /// The ruleset generation the whole read saw; nil when the kernel cannot say or a commit came during the read.
    package var generation: RulesetGeneration?
    /// Set when berth's table was not listed because a note vouched for it at this generation (`VerifiedTable`).
    package var isTableFromNote: Bool
    private let session: NFTablesSession

    /// Reads the live firewall and compares it with `plan`. berth's table is listed unless a note from an earlier
    /// apply or read vouches for it at the current ruleset generation (and `isCacheBypassed` is false); other chains
    /// are always read.
    package init(_ plan: DeploymentPlan, target: FirewallTarget, isCacheBypassed: Bool) throws(FirewallError) {
        let session = try NFTablesSession()
        let desired = Ruleset(plan: plan, target: target)
        // The generation is asked before and after: a commit during the read makes the read no evidence of any one
        // generation, and a note read that raced a commit is read again whole.
        var generation = session.generation()
        var knownTable = isCacheBypassed ? nil : generation.flatMap { VerifiedState.notedRuleset(at: $0, desired: desired) }
        var live = try LiveFirewall.read(session, target: target, knownTable: knownTable)
        if knownTable != nil, session.generation() != generation {
            (knownTable, generation) = (nil, session.generation())
            live = try LiveFirewall.read(session, target: target)
        }
        if session.generation() != generation { generation = nil }
        if let hostChain = target.hostChain, !live.hostChainExists {
            throw FirewallError(.firewallHostChainMissing, "the host chain \(hostChain) does not exist",
                                hint: "name an existing base chain (nft list chains), or drop --host-chain")
        }
        (self.target, self.desired, self.live, self.session) = (target, desired, live, session)
        (diff, warnings) = (RulesetDiff.between(desired, live), Firewall.coexistenceWarnings(desired, live))
        (self.generation, isTableFromNote) = (generation, knownTable != nil)
        if diff.isEmpty, !isTableFromNote, let generation { VerifiedState.record(desired, at: generation) }
    }

    /// Applies the difference, and notes the result when the kernel shows no other commit came between.
    package func apply() throws(FirewallError) {
        try Firewall.apply(desired, live, session: session)
        if let before = generation, let after = session.generation(), before.isFollowed(by: after) {
            VerifiedState.record(desired, at: after)
        }
    }

    /// The nft script `apply()` would run: what `--dry-run` prints.
    package var applyScript: String { Firewall.applyScript(desired, live) }
}
