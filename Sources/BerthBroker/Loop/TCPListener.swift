internal import BerthPlan
internal import CLibUV
internal import Glibc

/// A listener's events, on its loop thread.
package protocol TCPListenerDelegate: AnyObject {
    /// A new connection, not reading yet: the delegate now owns it and must set its delegate and `startReading()`,
    /// or `close()`/`reset()` it (screening), or it stays open, idle, until the loop closes.
    func listener(_ listener: TCPListener, accepted connection: TCPConnection)
    /// Accepting one connection failed (a peer gone before accept…); the listener goes on listening.
    func listener(_ listener: TCPListener, failedToAccept error: LoopError)
    /// The process is out of descriptors (`error` is EMFILE or ENFILE): `count` waiting connections were reset.
    /// `isNew` is true for the first of a run of these on the loop, until a connection is accepted again.
    func listener(_ listener: TCPListener, reset count: Int, outOfDescriptors error: LoopError, isNew: Bool)
}

/// A bound TCP socket that accepts only after `startListening()`, so the broker can claim its port first and let
/// clients in once the handler's `open(ctx)` finished.
@safe package final class TCPListener: LoopHandleOwner {
    package let loop: EventLoop
    private let handle: UnsafeMutablePointer<uv_tcp_t>
    /// Held strongly until the listener is closed, then set to nil.
    package var delegate: (any TCPListenerDelegate)?
    /// The address actually bound: "::" for a dual-stack listener, the kernel's port for port 0.
    package let localAddress: SocketAddress
    private let backlog: Int32
    package private(set) var isListening = false
    private var isClosing = false

    /// Binds `host` (an IPv4 or IPv6 literal, exactly that address) or, when `host` is nil, `::` for both IPv4 and
    /// IPv6 clients (`0.0.0.0` where the machine has no IPv6). Port 0 picks a free port; see `boundPort`.
    package init(loop: EventLoop, host: String?, port: Int, backlog: Int = 511) throws(LoopError) {
        loop.assertInLoopThread()
        let handle = unsafe allocateZeroed(uv_tcp_t.self)
        precondition(unsafe uv_tcp_init(loop.raw, handle) == 0, "uv_tcp_init cannot fail without flags")
        loop.takeDescriptorReserve()
        do {
            let address = try SocketAddress.binding(host: host, port: port, operation: "uv_tcp_bind")
            do {
                try unsafe Self.bind(handle, address)
            } catch let error where host == nil && error.code == "EAFNOSUPPORT" {
                try unsafe Self.bind(handle, SocketAddress(address: "0.0.0.0", port: port)!)
            }
            // libuv reports EADDRINUSE from bind(2) only at the next call on the socket: this one.
            localAddress = try unsafe SocketAddress.query(handle, operation: "uv_tcp_bind", uv_tcp_getsockname).address
        } catch {
            unsafe closeUnadopted(handlePointer(handle))
            throw error
        }
        unsafe self.handle = handle
        self.loop = loop
        self.backlog = Int32(clamping: backlog)
        unsafe adopt(handlePointer(handle), by: self)
    }

    /// Binds without IPV6_V6ONLY, so an IPv6 wildcard also takes IPv4 clients (as IPv4-mapped addresses).
    private static func bind(_ handle: UnsafeMutablePointer<uv_tcp_t>, _ address: SocketAddress) throws(LoopError) {
        let status = unsafe address.withSockaddr(asIPv6: address.ip.family == .ipv6) {
            unsafe uv_tcp_bind(handle, $0, 0)
        }
        try uv(status, "uv_tcp_bind")
    }

    /// The bound port, the kernel's choice when the listener was created with port 0.
    package var boundPort: Int { localAddress.port }

    /// Starts accepting; connections arrive through the delegate. Idempotent.
    package func startListening() throws(LoopError) {
        loop.assertInLoopThread()
        guard !isClosing else { throw LoopError(code: "EBADF", message: "listener closed", operation: "uv_listen") }
        guard !isListening else { return }
        let status = unsafe uv_listen(streamPointer(handle), backlog) { server, status in
            guard let server = unsafe server else { return }
            unsafe owner(of: handlePointer(server), as: TCPListener.self).accept(from: server, status: status)
        }
        try uv(status, "uv_listen")
        isListening = true
    }

    private func accept(from server: UnsafeMutablePointer<uv_stream_t>, status: Int32) {
        guard status == 0 else {
            let error = LoopError(status: status, operation: "accept")
            var descriptor: uv_os_fd_t = -1
            if error.code == "EMFILE" || error.code == "ENFILE", unsafe uv_fileno(handlePointer(handle), &descriptor) == 0 {
                let isNew = !loop.isOutOfDescriptors
                let count = loop.shedWaitingConnections(listening: descriptor)
                delegate?.listener(self, reset: count, outOfDescriptors: error, isNew: isNew)
            } else {
                delegate?.listener(self, failedToAccept: error)
            }
            return
        }
        let connection: TCPConnection
        do {
            connection = try unsafe TCPConnection(accepting: server, loop: loop)
        } catch {
            delegate?.listener(self, failedToAccept: error)
            return
        }
        if loop.descriptorReserve == -1 {
            // This connection took the reserve's slot: it goes, so the reserve can be held again (EventLoop+Descriptors).
            connection.close()
            loop.takeDescriptorReserve()
            let isNew = !loop.isOutOfDescriptors
            loop.isOutOfDescriptors = true
            delegate?.listener(self, reset: 1, outOfDescriptors: LoopError(status: -EMFILE, operation: "accept"), isNew: isNew)
            return
        }
        loop.isOutOfDescriptors = false
        if let delegate { delegate.listener(self, accepted: connection) } else { connection.close() }
    }

    /// Stops accepting and releases the port at once (the socket is closed now; the handle's memory on the next turn
    /// of the loop). Accepted connections stay open. Idempotent.
    package func close() {
        loop.assertInLoopThread()
        guard !isClosing else { return }
        isClosing = true
        isListening = false
        unsafe closeHandle(handlePointer(handle))
    }

    func handleDidClose() { delegate = nil }
}
