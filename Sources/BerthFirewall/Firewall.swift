import BerthPlan

/// The firewall stage: the plan rendered as nftables rules in berth's own table, applied atomically.
package enum Firewall {
    /// One libnftables batch (one kernel transaction) that replaces berth's table whole and its host rule: traffic
    /// sees the old ruleset or the new one, never a mix. `add table` first makes the `delete` valid on a fresh host.
    package static func applyScript(_ desired: Ruleset, _ live: LiveFirewall) -> String {
        let table = desired.target.tableName
        var script = "add table inet \(table)\ndelete table inet \(table)\n" + desired.tableScript
        script += live.hostRules.map(deleteCommand).joined()
        if let rule = desired.hostRuleCommand { script += rule + "\n" }
        return script
    }

    /// Applies `desired`; on any kernel error nothing changes and the error carries libnftables' messages.
    package static func apply(_ desired: Ruleset, _ live: LiveFirewall, session: NFTablesSession) throws(FirewallError) {
        if let host = desired.target.hostChain, !live.hostChainExists {
            throw FirewallError(.firewallHostChainMissing, "host chain \(host) does not exist",
                                hint: "create it first (nft add chain \(host) …) or name an existing chain with --host-chain")
        }
        try session.run(applyScript(desired, live))
    }

    /// The batch removing berth's table and every rule tagged as its own; nil when there is nothing to remove.
    package static func destroyScript(_ live: LiveFirewall) -> String? {
        var script = live.exists ? "delete table inet \(live.target.tableName)\n" : ""
        script += live.hostRules.map(deleteCommand).joined()
        return script.isEmpty ? nil : script
    }

    /// Removes berth's table and its host rules, nothing else; a no-op when neither exists.
    package static func destroy(_ live: LiveFirewall, session: NFTablesSession) throws(FirewallError) {
        guard let script = destroyScript(live) else { return }
        try session.run(script)
    }

    private static func deleteCommand(_ rule: HostRule) -> String {
        "delete rule \(rule.chain) handle \(rule.handle)\n"
    }
}
