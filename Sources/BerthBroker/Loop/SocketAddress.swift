package import BerthPlan
internal import CLibUV
internal import Glibc

/// An IP address and port. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a dual-stack socket reports for IPv4
/// peers) are held as IPv4, as Node shows them; they are mapped back when sent from an IPv6 socket.
package struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    package var ip: IPAddress
    package var port: Int
    /// The IPv6 zone (interface index) of a link-local peer, 0 otherwise; kept so a reply reaches the same link.
    package var scopeID: UInt32

    package init(ip: IPAddress, port: Int, scopeID: UInt32 = 0) {
        (self.ip, self.port, self.scopeID) = (ip.unmapped, port, scopeID)
    }

    /// Parses an IPv4 or IPv6 literal (no host names, no zone suffix); nil when `address` is neither or `port` is
    /// outside 0...65535.
    package init?(address: String, port: Int) {
        guard let ip = IPAddress(address), (0...65535).contains(port) else { return nil }
        self.init(ip: ip, port: port)
    }

    /// The address as text: "127.0.0.1", "::1".
    package var address: String { ip.description }
    /// "IPv4" or "IPv6", as Node's `remoteFamily` and `rinfo.family` say it.
    package var family: String { ip.family == .ipv4 ? "IPv4" : "IPv6" }
    package var description: String { ip.family == .ipv4 ? "\(address):\(port)" : "[\(address)]:\(port)" }

    /// Reads a `sockaddr_in` or `sockaddr_in6`; nil for any other family.
    init?(_ address: UnsafePointer<sockaddr>) {
        let raw = unsafe UnsafeRawPointer(address)
        switch Int32(unsafe address.pointee.sa_family) {
        case AF_INET:
            let v4 = unsafe raw.load(as: sockaddr_in.self)
            self.init(
                ip: IPAddress(family: .ipv4, value: UInt128(UInt32(bigEndian: v4.sin_addr.s_addr))),
                port: Int(UInt16(bigEndian: v4.sin_port)))
        case AF_INET6:
            var v6 = unsafe raw.load(as: sockaddr_in6.self)
            let value = unsafe withUnsafeBytes(of: &v6.sin6_addr) { bytes in
                unsafe bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
            }
            self.init(
                ip: IPAddress(family: .ipv6, value: value), port: Int(UInt16(bigEndian: v6.sin6_port)),
                scopeID: v6.sin6_scope_id)
        default:
            return nil
        }
    }

    /// Calls `body` with this address as a `sockaddr`; `asIPv6` maps an IPv4 address to `::ffff:a.b.c.d` for an
    /// IPv6 socket.
    func withSockaddr<Result, Failure: Error>(
        asIPv6: Bool, _ body: (UnsafePointer<sockaddr>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        if ip.family == .ipv4, !asIPv6 {
            var v4 = sockaddr_in()
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = UInt16(truncatingIfNeeded: port).bigEndian
            v4.sin_addr.s_addr = UInt32(truncatingIfNeeded: ip.value).bigEndian
            return try unsafe withUnsafePointer(to: &v4) { pointer throws(Failure) in
                try unsafe body(UnsafePointer<sockaddr>(OpaquePointer(pointer)))
            }
        }
        let value = ip.family == .ipv4 ? UInt128(0xFFFF) << 32 | ip.value : ip.value
        var v6 = sockaddr_in6()
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = UInt16(truncatingIfNeeded: port).bigEndian
        v6.sin6_scope_id = scopeID
        unsafe withUnsafeMutableBytes(of: &v6.sin6_addr) { bytes in
            for index in 0..<16 { unsafe bytes[index] = UInt8(truncatingIfNeeded: value >> (120 - 8 * index)) }
        }
        return try unsafe withUnsafePointer(to: &v6) { pointer throws(Failure) in
            try unsafe body(UnsafePointer<sockaddr>(OpaquePointer(pointer)))
        }
    }

    /// Where a listener or UDP socket binds: the literal `host`, or `::` (both families) when `host` is nil.
    static func binding(host: String?, port: Int, operation: String) throws(LoopError) -> SocketAddress {
        guard (0...65535).contains(port) else {
            throw LoopError(code: "EINVAL", message: "port \(port) is outside 0-65535", operation: operation)
        }
        guard let host else { return SocketAddress(ip: IPAddress(family: .ipv6, value: 0), port: port) }
        guard let ip = IPAddress(host) else {
            throw LoopError(code: "EINVAL", message: "\"\(host)\" is not an IPv4 or IPv6 address", operation: operation)
        }
        // Not `init(ip:)`: binding "::ffff:127.0.0.1" means an IPv6 socket, so the mapped form stays.
        var address = SocketAddress(ip: ip, port: port)
        address.ip = ip
        return address
    }

    /// A socket's own or its peer's address, through `uv_tcp_getsockname`-shaped `query`.
    static func query<Handle>(
        _ handle: UnsafeMutablePointer<Handle>, operation: String,
        _ query: (UnsafePointer<Handle>?, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<Int32>?) -> Int32
    ) throws(LoopError) -> (address: SocketAddress, family: Int32) {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let status = unsafe withUnsafeMutablePointer(to: &storage) { storage in
            unsafe query(handle, UnsafeMutablePointer<sockaddr>(OpaquePointer(storage)), &length)
        }
        try uv(status, operation)
        let family = Int32(storage.ss_family)
        let address = unsafe withUnsafePointer(to: &storage) { storage in
            unsafe SocketAddress(UnsafePointer<sockaddr>(OpaquePointer(storage)))
        }
        guard let address else {
            throw LoopError(code: "EAFNOSUPPORT", message: "not an IP socket", operation: operation)
        }
        return (address, family)
    }
}
