internal import BerthPlan
internal import CLibUV
internal import Glibc

/// A UDP socket's events, on its loop thread.
package protocol UDPSocketDelegate: AnyObject {
    /// One datagram, in the loop's shared read buffer: valid only during this call, so copy what you keep.
    func socket(_ socket: UDPSocket, didReceive bytes: UnsafeRawBufferPointer, from sender: SocketAddress)
    /// Receiving failed; the socket stays open and keeps receiving.
    func socket(_ socket: UDPSocket, didFail error: LoopError)
}

/// A bound UDP socket that receives datagrams and sends replies from its own address.
@safe package final class UDPSocket: LoopHandleOwner {
    package let loop: EventLoop
    private let handle: UnsafeMutablePointer<uv_udp_t>
    /// Held strongly until the socket is closed, then set to nil.
    package var delegate: (any UDPSocketDelegate)?
    /// The address actually bound: "::" for a dual-stack socket, the kernel's port for port 0.
    package let localAddress: SocketAddress
    /// The socket is AF_INET6, so IPv4 destinations go out IPv4-mapped.
    private let isIPv6: Bool
    package private(set) var isReceiving = false
    private var isClosing = false

    /// Binds like `TCPListener`: the literal `host`, or `::` for both families (`0.0.0.0` without IPv6) when nil.
    package init(loop: EventLoop, host: String?, port: Int) throws(LoopError) {
        loop.assertInLoopThread()
        var address = try SocketAddress.binding(host: host, port: port, operation: "uv_udp_bind")
        let handle = unsafe allocateZeroed(uv_udp_t.self)
        var status = unsafe uv_udp_init_ex(loop.raw, handle, UInt32(address.ip.family == .ipv6 ? AF_INET6 : AF_INET))
        if host == nil, status == UV_EAFNOSUPPORT.rawValue {
            address = SocketAddress(address: "0.0.0.0", port: port)!
            status = unsafe uv_udp_init_ex(loop.raw, handle, UInt32(AF_INET))
        }
        if status < 0 {
            unsafe handle.deallocate()  // socket(2) failed before libuv registered the handle
            throw LoopError(status: status, operation: "uv_udp_init_ex")
        }
        do {
            try unsafe Self.bind(handle, address)
            let bound = try unsafe SocketAddress.query(handle, operation: "uv_udp_getsockname", uv_udp_getsockname)
            localAddress = bound.address
            isIPv6 = bound.family == AF_INET6
        } catch {
            unsafe closeUnadopted(handlePointer(handle))
            throw error
        }
        unsafe self.handle = handle
        self.loop = loop
        unsafe adopt(handlePointer(handle), by: self)
    }

    /// Binds with IPV6_V6ONLY off (libuv leaves it to the `bindv6only` sysctl) and without SO_REUSEADDR (a second
    /// bind of the port must fail).
    private static func bind(_ handle: UnsafeMutablePointer<uv_udp_t>, _ address: SocketAddress) throws(LoopError) {
        if address.ip.family == .ipv6 {
            var descriptor: uv_os_fd_t = -1
            try uv(unsafe uv_fileno(handlePointer(handle), &descriptor), "uv_fileno")
            var off: Int32 = 0
            guard
                unsafe setsockopt(
                    descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size)) == 0
            else { throw LoopError(status: -errno, operation: "setsockopt(IPV6_V6ONLY)") }
        }
        let status = unsafe address.withSockaddr(asIPv6: address.ip.family == .ipv6) {
            unsafe uv_udp_bind(handle, $0, 0)
        }
        try uv(status, "uv_udp_bind")
    }

    /// The bound port, the kernel's choice when the socket was created with port 0.
    package var boundPort: Int { localAddress.port }

    /// Starts delivering datagrams to the delegate. Idempotent; no effect once closing.
    package func startReceiving() {
        loop.assertInLoopThread()
        guard !isClosing, !isReceiving else { return }
        let status = unsafe uv_udp_recv_start(
            handle,
            { handle, _, buffer in
                unsafe buffer?.pointee = uv_buf_t(
                    base: handle?.pointee.loop.pointee.data.assumingMemoryBound(to: CChar.self),
                    len: EventLoop.readBufferSize)
            },
            { handle, count, buffer, sender, _ in
                guard let handle = unsafe handle else { return }
                let socket = unsafe owner(of: handlePointer(handle), as: UDPSocket.self)
                unsafe socket.didReceive(count, buffer?.pointee.base, from: sender)
            })
        precondition(status == 0, "uv_udp_recv_start on a bound socket: \(LoopError(status: status, operation: ""))")
        isReceiving = true
    }

    /// Stops delivering datagrams; the kernel keeps queueing them up to its buffer, then drops them.
    package func stopReceiving() {
        loop.assertInLoopThread()
        guard !isClosing, isReceiving else { return }
        _ = unsafe uv_udp_recv_stop(handle)
        isReceiving = false
    }

    private func didReceive(_ count: Int, _ base: UnsafeMutablePointer<CChar>?, from sender: UnsafePointer<sockaddr>?) {
        if count < 0 {
            delegate?.socket(self, didFail: LoopError(status: Int32(count), operation: "uv_udp_recv"))
            return
        }
        // A nil sender means "nothing to read" (libuv returns the buffer); an empty datagram has a sender.
        guard let sender = unsafe sender, let address = unsafe SocketAddress(sender) else { return }
        unsafe delegate?.socket(self, didReceive: UnsafeRawBufferPointer(start: base, count: count), from: address)
    }

    /// Sends one datagram; `bytes` are needed only during the call. Without `completion` it is sent at once when the
    /// socket buffer has room (no copy) and any error the kernel reports is thrown. With `completion`, or when the
    /// buffer is full, libuv queues a copy; `completion` then runs exactly once, later, on the loop thread, and only
    /// errors found before queueing are thrown (then `completion` never runs).
    package func send(
        _ bytes: UnsafeRawBufferPointer, to destination: SocketAddress, completion: ((LoopError?) -> Void)? = nil
    ) throws(LoopError) {
        loop.assertInLoopThread()
        guard !isClosing else { throw LoopError(code: "EBADF", message: "socket closed", operation: "uv_udp_send") }
        try unsafe destination.withSockaddr(asIPv6: isIPv6) { address throws(LoopError) in
            if completion == nil {
                var buffer = unsafe uv_buf_t(
                    base: UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: CChar.self)),
                    len: bytes.count)
                let status = unsafe uv_udp_try_send(handle, &buffer, 1, address)
                if status >= 0 { return }
                guard status == UV_EAGAIN.rawValue || status == UV_ENOBUFS.rawValue else {
                    throw LoopError(status: status, operation: "uv_udp_try_send")
                }
            }
            let copy = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            if let base = bytes.baseAddress { unsafe copy.copyMemory(from: base, byteCount: bytes.count) }
            let request = unsafe SendRequest.make(copy: copy, completion: completion)
            var buffer = unsafe uv_buf_t(base: copy.assumingMemoryBound(to: CChar.self), len: bytes.count)
            let status = unsafe uv_udp_send(SendRequest.request(in: request), handle, &buffer, 1, address) {
                send, status in
                guard let send = unsafe send else { return }
                let socket = unsafe owner(of: handlePointer(send.pointee.handle), as: UDPSocket.self)
                unsafe socket.sendDidComplete(SendRequest.container(of: send), status: status)
            }
            if status < 0 {
                unsafe SendRequest.free(request)
                throw LoopError(status: status, operation: "uv_udp_send")
            }
        }
    }

    /// Sends a datagram to `address` (an IPv4 or IPv6 literal) and `port`; otherwise like `send(_:to:completion:)`.
    package func send(
        _ bytes: [UInt8], to address: String, port: Int, completion: ((LoopError?) -> Void)? = nil
    ) throws(LoopError) {
        guard let destination = SocketAddress(address: address, port: port) else {
            throw LoopError(
                code: "EINVAL", message: "\"\(address)\" port \(port) is no IP endpoint", operation: "uv_udp_send")
        }
        let result = unsafe bytes.withUnsafeBytes { bytes in
            Result { () throws(LoopError) in try unsafe send(bytes, to: destination, completion: completion) }
        }
        try result.get()
    }

    private func sendDidComplete(_ request: UnsafeMutablePointer<SendRequest>, status: Int32) {
        let completion = unsafe request.pointee.completion
        unsafe SendRequest.free(request)
        completion?(status == 0 ? nil : LoopError(status: status, operation: "uv_udp_send"))
    }

    /// Closes the socket at once (the port is free again when this returns); queued sends complete with
    /// `ECANCELED` on the next turn of the loop. Idempotent.
    package func close() {
        loop.assertInLoopThread()
        guard !isClosing else { return }
        isClosing = true
        isReceiving = false
        unsafe closeHandle(handlePointer(handle))
    }

    func handleDidClose() { delegate = nil }
}

/// A `uv_udp_send_t` with its copy of the datagram and its completion; `request.data` points back here.
@unsafe struct SendRequest {
    var request = unsafe uv_udp_send_t()
    var copy: UnsafeMutableRawPointer
    var completion: ((LoopError?) -> Void)?

    private static let requestOffset = unsafe MemoryLayout<SendRequest>.offset(of: \.request)!

    static func make(copy: UnsafeMutableRawPointer, completion: ((LoopError?) -> Void)?) -> UnsafeMutablePointer<
        SendRequest
    > {
        let pointer = UnsafeMutablePointer<SendRequest>.allocate(capacity: 1)
        unsafe pointer.initialize(to: SendRequest(copy: copy, completion: completion))
        unsafe pointer.pointee.request.data = UnsafeMutableRawPointer(pointer)
        return unsafe pointer
    }

    /// Frees the request, its copy and its completion.
    static func free(_ pointer: UnsafeMutablePointer<SendRequest>) {
        unsafe pointer.pointee.copy.deallocate()
        unsafe pointer.deinitialize(count: 1)
        unsafe pointer.deallocate()
    }

    static func request(in pointer: UnsafeMutablePointer<SendRequest>) -> UnsafeMutablePointer<uv_udp_send_t> {
        unsafe (UnsafeMutableRawPointer(pointer) + requestOffset).assumingMemoryBound(to: uv_udp_send_t.self)
    }

    static func container(of request: UnsafeMutablePointer<uv_udp_send_t>) -> UnsafeMutablePointer<SendRequest> {
        unsafe request.pointee.data.assumingMemoryBound(to: SendRequest.self)
    }
}
