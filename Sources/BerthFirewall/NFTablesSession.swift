import BerthPlan
import CNFTables

/// One libnftables context with buffered output and error: the only place berth talks to nftables. Not thread-safe
/// (libnftables contexts are not); its netlink socket belongs to the network namespace it was created in.
@safe package final class NFTablesSession {
    private let context: OpaquePointer

    package init() throws(FirewallError) {
        guard let context = unsafe nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else {
            throw FirewallError(.firewallUnsupported, "libnftables could not create a context",
                                hint: "check that the nf_tables kernel module is available (modprobe nf_tables)")
        }
        unsafe self.context = context
        _ = unsafe nft_ctx_buffer_output(context)
        _ = unsafe nft_ctx_buffer_error(context)
    }

    deinit { unsafe nft_ctx_free(context) }

    /// Runs `commands` (nft syntax; several lines are one transaction) and returns libnftables' text output.
    @discardableResult
    package func run(_ commands: String) throws(FirewallError) -> String {
        try execute(commands, flags: 0, dryRun: false)
    }

    /// Runs read commands (`list …`) with JSON output and returns the output's bytes.
    package func runJSON(_ commands: String) throws(FirewallError) -> [UInt8] {
        Array(try execute(commands, flags: UInt32(NFT_CTX_OUTPUT_JSON), dryRun: false).utf8)
    }

    /// Parses and evaluates `commands` without committing them (libnftables' dry run); throws what `run` would.
    package func check(_ commands: String) throws(FirewallError) {
        _ = try execute(commands, flags: 0, dryRun: true)
    }

    private func execute(_ commands: String, flags: UInt32, dryRun: Bool) throws(FirewallError) -> String {
        unsafe nft_ctx_output_set_flags(context, UInt32(flags))
        unsafe nft_ctx_set_dry_run(context, dryRun)
        let status = unsafe nft_run_cmd_from_buffer(context, commands)
        // The buffers are reset by the next command, so copy them out now.
        let output = unsafe nft_ctx_get_output_buffer(context).map { unsafe String(cString: $0) } ?? ""
        let errors = unsafe nft_ctx_get_error_buffer(context).map { unsafe String(cString: $0) } ?? ""
        guard status == 0 else {
            let firstLine = commands.prefix { $0 != "\n" }
            throw FirewallError.fromLibrary(errors.isEmpty ? "libnftables failed (status \(status))" : errors,
                                            doing: dryRun ? "check \(firstLine)" : String(firstLine))
        }
        return output
    }
}
