package import BerthPlan

/// An operational failure of the firewall stage (no privilege, no kernel support, the kernel refused the batch, …);
/// shaped like a `Diagnostic` so the CLI prints both the same way.
package struct FirewallError: Error, Sendable, Hashable, CustomStringConvertible {
    package var code: Diagnostic.Code
    package var message: String
    package var hint: String

    package init(_ code: Diagnostic.Code, _ message: String, hint: String) {
        (self.code, self.message, self.hint) = (code, message, hint)
    }

    package var description: String { "error[\(code.rawValue)]: \(message)\n  hint: \(hint)" }

    /// The error as the CLI prints problems.
    package var diagnostic: Diagnostic { Diagnostic(code, .error, at: nil, message, hint: hint) }

    /// Classifies libnftables' error text: privilege and kernel support problems get their own codes, anything else
    /// is a rejected batch carrying libnftables' messages.
    static func fromLibrary(_ text: String, doing action: String) -> FirewallError {
        let trimmed = text.trimmingTrailingNewlines
        if trimmed.contains("Operation not permitted") {
            return FirewallError(.firewallNotPermitted, "nftables refused to \(action): operation not permitted",
                                 hint: "run as root, or grant CAP_NET_ADMIN (for example with systemd's AmbientCapabilities=CAP_NET_ADMIN)")
        }
        if trimmed.contains("Protocol not supported") || trimmed.contains("Address family not supported") {
            return FirewallError(.firewallUnsupported, "the kernel has no nftables support (\(action) failed: protocol not supported)",
                                 hint: "load the nf_tables module (modprobe nf_tables) or use a kernel built with CONFIG_NF_TABLES")
        }
        return FirewallError(.firewallRejected, "nftables rejected the request to \(action); nothing was changed:\n\(trimmed)",
                             hint: "the messages above are libnftables' own; run `berth plan` to see what berth wanted to write")
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var text = Substring(self)
        while text.last == "\n" { text = text.dropLast() }
        return String(text)
    }
}
