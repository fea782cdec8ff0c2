import BerthPlan
import CNFTables
import Glibc  // strlen for libnftables' output

/// One libnftables context with buffered output and error: the only place berth talks to nftables. Not thread-safe
/// (libnftables contexts are not); its netlink socket belongs to the network namespace it was created in.
@safe package final class NFTablesSession {
    private let context: OpaquePointer

    package init() throws(FirewallError) {
        // Asked first, so the operator gets berth's error and not libnftables' own line on stderr before it.
        if System.holdsNetAdmin() == false {
            throw FirewallError(.firewallNotPermitted, "reading or changing nftables needs CAP_NET_ADMIN, which this process lacks",
                                hint: "run as root, or grant CAP_NET_ADMIN (for example with systemd's AmbientCapabilities=CAP_NET_ADMIN)")
        }
        guard let context = unsafe nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else {
            throw FirewallError(.firewallUnsupported, "libnftables could not create a context",
                                hint: "check that the nf_tables kernel module is available (modprobe nf_tables)")
        }
        unsafe self.context = context
        _ = unsafe nft_ctx_buffer_output(context)
        _ = unsafe nft_ctx_buffer_error(context)
    }

    deinit { unsafe nft_ctx_free(context) }

    /// The ruleset generation of the session's network namespace now; nil when the kernel cannot say, and then berth
    /// lists the table.
    package func generation() -> RulesetGeneration? { System.rulesetGeneration() }

    /// Runs `commands` (nft syntax; several lines are one transaction) and returns libnftables' text output.
    @discardableResult
    package func run(_ commands: String) throws(FirewallError) -> String {
        try execute(commands, flags: 0, dryRun: false) { unsafe String(cString: $0) }
    }

    /// Runs read commands (`list …`) with JSON output and returns the output's bytes.
    package func runJSON(_ commands: String) throws(FirewallError) -> [UInt8] {
        try execute(commands, flags: UInt32(NFT_CTX_OUTPUT_JSON), dryRun: false) { output in
            // Straight into bytes: a large table lists as megabytes, which a String would validate and copy again.
            unsafe Array(UnsafeRawBufferPointer(start: output, count: strlen(output)).bindMemory(to: UInt8.self))
        }
    }

    /// Parses and evaluates `commands` without committing them (libnftables' dry run); throws what `run` would.
    package func check(_ commands: String) throws(FirewallError) {
        _ = try execute(commands, flags: 0, dryRun: true) { _ in () }
    }

    /// Runs `commands` and hands libnftables' output buffer (NUL-terminated, valid until the next command) to `copy`.
    private func execute<Output>(_ commands: String, flags: UInt32, dryRun: Bool,
                                 copy: (UnsafePointer<CChar>) -> Output) throws(FirewallError) -> Output {
        unsafe nft_ctx_output_set_flags(context, UInt32(flags))
        unsafe nft_ctx_set_dry_run(context, dryRun)
        let status = unsafe nft_run_cmd_from_buffer(context, commands)
        // The buffers are reset by the next command, so copy them out now.
        let output = unsafe "".withCString { empty in unsafe copy(nft_ctx_get_output_buffer(context) ?? empty) }
        let errors = unsafe nft_ctx_get_error_buffer(context).map { unsafe String(cString: $0) } ?? ""
        guard status == 0 else {
            let firstLine = commands.prefix { $0 != "\n" }
            throw FirewallError.fromLibrary(errors.isEmpty ? "libnftables failed (status \(status))" : errors,
                                            doing: dryRun ? "check \(firstLine)" : String(firstLine))
        }
        return output
    }
}
