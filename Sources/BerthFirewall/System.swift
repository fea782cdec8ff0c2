import Glibc

/// The firewall stage's raw system calls, kept in one place: what the process may do and what the kernel's ruleset
/// generation is, neither of which libnftables says.
@safe enum System {
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

    /// This network namespace's ruleset generation now; nil when the kernel cannot say, and then berth lists the table.
    /// libnftables has no call for it: one netlink request (`NFT_MSG_GETGEN`) answers, and the socket's namespace
    /// cookie (`SO_NETNS_COOKIE`) says which namespace.
    static func rulesetGeneration() -> RulesetGeneration? {
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

    /// The effective user ID: the owner berth's state files must have.
    static var effectiveUserID: UInt32 { geteuid() }
}

/// The netlink numbers `rulesetGeneration()` needs, from linux/netlink.h, linux/netfilter/nfnetlink.h and nf_tables.h.
private enum Netlink {
    static let netfilterProtocol: Int32 = 12  // NETLINK_NETFILTER
    static let netnsCookieOption: Int32 = 71  // SO_NETNS_COOKIE (Linux 5.14)
    static let getGeneration = UInt16(10 << 8 | 16)  // NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN
    static let requestFlag: UInt16 = 1  // NLM_F_REQUEST
    static let errorMessage: UInt16 = 2  // NLMSG_ERROR
    static let generationAttribute: UInt16 = 1  // NFTA_GEN_ID, a big-endian u32
}
