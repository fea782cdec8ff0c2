import BerthPlan
import CNFTables
import Glibc  // strlen for libnftables' output; /proc/self/status; the netlink socket for the generation

/// One libnftables context with buffered output and error: the only place berth talks to nftables. Not thread-safe
/// (libnftables contexts are not); its netlink socket belongs to the network namespace it was created in.
@safe package final class NFTablesSession {
    private let context: OpaquePointer

    package init() throws(FirewallError) {
        // Asked first, so the operator gets berth's error and not libnftables' own line on stderr before it.
        if Self.holdsNetAdmin() == false {
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

    /// Whether this process's effective capabilities include CAP_NET_ADMIN (bit 12 of `CapEff` in /proc/self/status);
    /// nil when that cannot be read, and libnftables' own answer decides.
    static func holdsNetAdmin() -> Bool? {
        let descriptor = unsafe open("/proc/self/status", O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while status.count < 1 << 16 {
            let count = unsafe chunk.withUnsafeMutableBytes { unsafe read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            status += chunk[..<count]
        }
        let lines = String(decoding: status, as: UTF8.self).split(separator: "\n")
        guard let line = lines.first(where: { $0.hasPrefix("CapEff:") }),
            let mask = UInt64(line.dropFirst("CapEff:".count).drop(while: { $0 == " " || $0 == "\t" }), radix: 16)
        else { return nil }
        return mask & (1 << 12) != 0
    }

    /// The network namespace's ruleset generation now; nil when the kernel cannot say, and then berth lists the table.
    /// libnftables has no call for it: one netlink request (`NFT_MSG_GETGEN`) answers, and the socket's namespace
    /// cookie (`SO_NETNS_COOKIE`) says which namespace.
    package func generation() -> RulesetGeneration? {
        let descriptor = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue | SOCK_CLOEXEC.rawValue), Netlink.netfilterProtocol)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var cookie: UInt64 = 0
        var cookieLength = socklen_t(MemoryLayout<UInt64>.size)
        guard unsafe getsockopt(descriptor, SOL_SOCKET, Netlink.netnsCookieOption, &cookie, &cookieLength) == 0 else { return nil }
        // nlmsghdr (length, type, flags, sequence, port) in host order, then nfgenmsg (family, version, resource id).
        var request: [UInt8] = []
        for field in [UInt32(20)] { unsafe withUnsafeBytes(of: field) { request += $0 } }
        for field in [Netlink.getGeneration, Netlink.requestFlag] { unsafe withUnsafeBytes(of: field) { request += $0 } }
        for field in [UInt32(1), UInt32(0), UInt32(0)] { unsafe withUnsafeBytes(of: field) { request += $0 } }
        // With no address, a netlink socket sends to the kernel.
        guard unsafe request.withUnsafeBytes({ unsafe send(descriptor, $0.baseAddress, $0.count, 0) }) == request.count else { return nil }
        var reply = [UInt8](repeating: 0, count: 4096)
        let length = unsafe reply.withUnsafeMutableBytes { unsafe recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard length >= 20 else { return nil }
        return unsafe reply.withUnsafeBytes { bytes -> RulesetGeneration? in
            let messageLength = min(Int(unsafe bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self)), length)
            guard unsafe bytes.loadUnaligned(fromByteOffset: 4, as: UInt16.self) != Netlink.errorMessage else { return nil }
            var offset = 20  // attributes follow the two headers
            while offset + 4 <= messageLength {
                let attributeLength = Int(unsafe bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
                let type = unsafe bytes.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self) & 0x3FFF
                guard attributeLength >= 4, offset + attributeLength <= messageLength else { return nil }
                if type == Netlink.generationAttribute, attributeLength >= 8 {
                    let number = UInt32(bigEndian: unsafe bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
                    return RulesetGeneration(netnsCookie: cookie, number: number)
                }
                offset += (attributeLength + 3) & ~3
            }
            return nil
        }
    }

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

/// The netlink numbers `generation()` needs, from linux/netlink.h, linux/netfilter/nfnetlink.h and nf_tables.h.
private enum Netlink {
    static let netfilterProtocol: Int32 = 12  // NETLINK_NETFILTER
    static let netnsCookieOption: Int32 = 71  // SO_NETNS_COOKIE (Linux 5.14)
    static let getGeneration = UInt16(10 << 8 | 16)  // NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN
    static let requestFlag: UInt16 = 1  // NLM_F_REQUEST
    static let errorMessage: UInt16 = 2  // NLMSG_ERROR
    static let generationAttribute: UInt16 = 1  // NFTA_GEN_ID, a big-endian u32
}
