import BerthPlan

/// An operator's chain, `--host-chain "inet filter input"`, where berth keeps one tagged accept rule for its ports so
/// that a host policy of drop does not also drop them.
package struct HostChain: Hashable, Sendable, CustomStringConvertible {
    package var family: String
    package var table: String
    package var chain: String

    package init(family: String, table: String, chain: String) throws(FirewallError) {
        guard ["inet", "ip", "ip6"].contains(family) else {
            throw FirewallError(.firewallHostChainSyntax,
                                "host chain family \"\(family)\" does not see input traffic berth serves",
                                hint: "use a chain of an inet, ip or ip6 table, e.g. --host-chain \"inet filter input\"")
        }
        for name in [table, chain] where !Identifier.isValid(name) {
            throw FirewallError(.firewallHostChainSyntax, "\"\(name)\" is not an nftables table or chain name",
                                hint: "names start with a letter and hold letters, digits, '_', '-' or '.'")
        }
        (self.family, self.table, self.chain) = (family, table, chain)
    }

    /// Parses `FAMILY TABLE CHAIN`, the form `nft list chain` takes.
    package init(parsing text: String) throws(FirewallError) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard words.count == 3 else {
            throw FirewallError(.firewallHostChainSyntax, "--host-chain \"\(text)\" is not \"FAMILY TABLE CHAIN\"",
                                hint: "write the chain as nft names it, e.g. --host-chain \"inet filter input\"")
        }
        try self.init(family: words[0], table: words[1], chain: words[2])
    }

    package var description: String { "\(family) \(table) \(chain)" }
}

/// Where berth writes: its own table, and optionally one rule in the operator's host chain.
package struct FirewallTarget: Hashable, Sendable, CustomStringConvertible {
    package var tableName: String
    package var hostChain: HostChain?

    /// Not validated here (it is only data); `LiveFirewall.read` and `validate()` refuse a name nft would misread.
    package init(tableName: String = "berth", hostChain: HostChain? = nil) {
        (self.tableName, self.hostChain) = (tableName, hostChain)
    }

    /// The target `--table` and `--host-chain "FAMILY TABLE CHAIN"` name, refused when nft would misread either.
    package init(validating tableName: String, hostChain: String?) throws(FirewallError) {
        self.init(tableName: tableName, hostChain: try hostChain.map { text throws(FirewallError) in try HostChain(parsing: text) })
        try validate()
    }

    /// `table inet berth (and a rule in inet filter input)`: how messages name what berth writes.
    package var description: String {
        "table inet \(tableName)" + (hostChain.map { " (and a rule in \($0.description))" } ?? "")
    }

    /// Throws when `tableName` is not a plain nftables identifier (it is written into nft commands).
    package func validate() throws(FirewallError) {
        guard Identifier.isValid(tableName) else {
            throw FirewallError(.firewallTableName, "\"\(tableName)\" is not an nftables table name",
                                hint: "use letters, digits, '_', '-' or '.', starting with a letter, e.g. --table berth")
        }
    }

    /// The tag on berth's rule in the host chain: names the table it belongs to, so two berth tables coexist.
    var hostRuleTag: String { "berth:inet \(tableName)" }
}

/// nft's identifier rule (`[a-zA-Z_][a-zA-Z0-9_./-]*`), kept stricter so names never need quoting.
enum Identifier {
    static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 64,
            first.properties.isAlphabetic && first.isASCII
        else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)) }
    }
}
