internal import CLibUV
internal import Glibc

/// A connection's events, on its loop thread, in this order: reads and write completions interleaved, then at most
/// one `didReachEnd`, at most one `didFail`, and `connectionDidClose` exactly once, last.
package protocol TCPConnectionDelegate: AnyObject {
    /// Bytes from the peer, in the loop's shared read buffer, lent for this call (the next read overwrites them).
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer)
    /// The peer sent FIN: nothing more will arrive. Writing still works until `shutdown()`.
    func connectionDidReachEnd(_ connection: TCPConnection)
    /// A read, write or shutdown failed (`ECONNRESET`, `EPIPE`, …); the connection is already closing.
    func connection(_ connection: TCPConnection, didFail error: LoopError)
    /// One accepted write finished, in write order, exactly once, before `connectionDidClose`: `error` is nil when all
    /// `byteCount` bytes went to the kernel, `ECANCELED` when `close()` or `reset()` discarded the write.
    func connection(_ connection: TCPConnection, didWrite byteCount: Int, token: Int, error: LoopError?)
    /// The last event: the socket is closed, the connection inert, and its delegate dropped.
    func connectionDidClose(_ connection: TCPConnection)
}

/// An accepted TCP connection. libuv keeps it alive until `connectionDidClose`, so the delegate is its natural owner:
/// the connection holds its delegate strongly until then and drops it after, which ends any cycle between the two.
@safe package final class TCPConnection: LoopHandleOwner {
    package let loop: EventLoop
    private let handle: UnsafeMutablePointer<uv_tcp_t>
    /// Held strongly until `connectionDidClose`, then set to nil.
    package var delegate: (any TCPConnectionDelegate)?
    package let remote: SocketAddress
    package let local: SocketAddress
    package private(set) var isReading = false
    /// The peer's FIN arrived (`connectionDidReachEnd` ran).
    package private(set) var hasReceivedEnd = false
    /// The loop time (ms) of the last bytes read or written: what idle timeouts measure.
    package private(set) var lastActivity: UInt64
    /// The loop time (ms) it was accepted: the access log's duration.
    package let acceptedAt: UInt64
    /// Bytes read from and written to the socket (ciphertext, for TLS): the metrics' byte counters.
    package private(set) var receivedBytes = 0
    package private(set) var sentBytes = 0
    private var state = State.open
    private var shutdownState = ShutdownState.none
    private var hasFailed = false

    private enum State { case open, closing, closed }
    private enum ShutdownState { case none, pending, done }

    /// Takes the connection `server` has ready; the new connection does not read until `startReading()`.
    init(accepting server: UnsafeMutablePointer<uv_stream_t>, loop: EventLoop) throws(LoopError) {
        let handle = unsafe allocateZeroed(uv_tcp_t.self)
        precondition(unsafe uv_tcp_init(loop.raw, handle) == 0, "uv_tcp_init cannot fail without flags")
        loop.takeDescriptorReserve()
        do {
            try uv(unsafe uv_accept(server, streamPointer(handle)), "uv_accept")
            remote = try unsafe SocketAddress.query(handle, operation: "uv_tcp_getpeername", uv_tcp_getpeername).address
            local = try unsafe SocketAddress.query(handle, operation: "uv_tcp_getsockname", uv_tcp_getsockname).address
        } catch {
            unsafe closeUnadopted(handlePointer(handle))
            throw error
        }
        unsafe self.handle = handle
        self.loop = loop
        lastActivity = loop.now
        acceptedAt = lastActivity
        unsafe adopt(handlePointer(handle), by: self)
    }

    package var remoteAddress: String { remote.address }
    package var remotePort: Int { remote.port }
    package var remoteFamily: String { remote.family }
    package var localAddress: String { local.address }
    package var localPort: Int { local.port }

    /// Whether `close()`, `reset()` or a failure has begun closing the connection (or finished it).
    package var isClosing: Bool { state != .open }

    /// Bytes accepted by `write` that libuv has not handed to the kernel yet: the backpressure signal.
    package var bufferedBytes: Int {
        loop.assertInLoopThread()
        return state == .closed ? 0 : unsafe uv_stream_get_write_queue_size(streamPointer(handle))
    }

    /// Starts delivering `didRead`; stopping (`stopReading`) leaves bytes in the kernel, whose full receive buffer
    /// then makes TCP hold the peer back. No effect after the end, or once closing.
    package func startReading() {
        loop.assertInLoopThread()
        guard state == .open, !isReading, !hasReceivedEnd else { return }
        let status = unsafe uv_read_start(
            streamPointer(handle),
            { handle, _, buffer in
                // The loop's one read buffer lives in `uv_loop_t.data`: no allocation, no Swift object, per read.
                unsafe buffer?.pointee = uv_buf_t(
                    base: handle?.pointee.loop.pointee.data.assumingMemoryBound(to: CChar.self),
                    len: EventLoop.readBufferSize)
            },
            { stream, count, buffer in
                guard let stream = unsafe stream else { return }
                let connection = unsafe owner(of: handlePointer(stream), as: TCPConnection.self)
                unsafe connection.didRead(count, buffer?.pointee.base)
            })
        precondition(status == 0, "uv_read_start on an open connection: \(LoopError(status: status, operation: ""))")
        isReading = true
    }

    /// Stops delivering `didRead` until `startReading()`.
    package func stopReading() {
        loop.assertInLoopThread()
        guard state == .open, isReading else { return }
        _ = unsafe uv_read_stop(streamPointer(handle))
        isReading = false
    }

    private func didRead(_ count: Int, _ base: UnsafeMutablePointer<CChar>?) {
        if count > 0 {
            lastActivity = loop.now
            receivedBytes &+= count
            unsafe delegate?.connection(self, didRead: UnsafeRawBufferPointer(start: base, count: count))
        } else if count == Int(UV_EOF.rawValue) {
            hasReceivedEnd = true
            isReading = false  // libuv stops reading at EOF by itself
            delegate?.connectionDidReachEnd(self)
            if shutdownState == .done { close() }
        } else if count < 0 {
            fail(LoopError(status: Int32(count), operation: "uv_read"))
        }
        // count == 0: the read would have blocked; libuv waits for the next event.
    }

    /// Writes what the kernel takes right now and returns that many bytes (0 when it would block, or while earlier
    /// writes are still queued, which keeps the order). Nothing is queued and nothing is reported later: the common
    /// small write costs one syscall and no allocation. Throws like `write(copying:)` when closing, shut down or
    /// failed.
    package func tryWrite(_ bytes: UnsafeRawBufferPointer) throws(LoopError) -> Int {
        loop.assertInLoopThread()
        guard state == .open, shutdownState == .none else {
            throw LoopError(code: "EPIPE", message: state == .open ? "write after shutdown" : "write after close",
                            operation: "uv_try_write")
        }
        guard bytes.count > 0 else { return 0 }
        var buffer = unsafe uv_buf_t(
            base: UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: CChar.self)), len: bytes.count)
        let status = unsafe uv_try_write(streamPointer(handle), &buffer, 1)
        if status > 0 { (lastActivity, sentBytes) = (loop.now, sentBytes &+ Int(status)) }
        if status >= 0 { return Int(status) }
        if status == UV_EAGAIN.rawValue { return 0 }
        throw LoopError(status: status, operation: "uv_try_write")
    }

    /// Queues a copy of `bytes`, made in the write request's own allocation and freed with it; `didWrite` reports
    /// the write (with `token`). Throws, and reports nothing later, when the connection is closing or shut down.
    package func write(copying bytes: UnsafeRawBufferPointer, token: Int = 0) throws(LoopError) {
        loop.assertInLoopThread()
        guard state == .open, shutdownState == .none else {
            let message = state == .open ? "write after shutdown" : "write after close"
            throw LoopError(code: "EPIPE", message: message, operation: "uv_write")
        }
        let request = unsafe WriteRequest.make(token: token, copying: bytes)
        var buffer = unsafe uv_buf_t(
            base: WriteRequest.copiedBytes(in: request).assumingMemoryBound(to: CChar.self), len: bytes.count)
        let status = unsafe uv_write(WriteRequest.request(in: request), streamPointer(handle), &buffer, 1) {
            write, status in
            guard let write = unsafe write else { return }
            let connection = unsafe owner(of: handlePointer(write.pointee.handle), as: TCPConnection.self)
            unsafe connection.writeDidComplete(WriteRequest.container(of: write), status: status)
        }
        if status < 0 {
            unsafe WriteRequest.free(request)
            throw LoopError(status: status, operation: "uv_write")
        }
    }

    /// Queues a copy of `bytes`; otherwise like `write(copying:token:)`.
    package func write(_ bytes: [UInt8], token: Int = 0) throws(LoopError) {
        let result = unsafe bytes.withUnsafeBytes { bytes in
            Result { () throws(LoopError) in try unsafe write(copying: bytes, token: token) }
        }
        try result.get()
    }

    private func writeDidComplete(_ request: UnsafeMutablePointer<WriteRequest>, status: Int32) {
        let (byteCount, token) = unsafe (request.pointee.byteCount, request.pointee.token)
        unsafe WriteRequest.free(request)
        if status == 0 { (lastActivity, sentBytes) = (loop.now, sentBytes &+ byteCount) }
        let error = status == 0 ? nil : LoopError(status: status, operation: "uv_write")
        delegate?.connection(self, didWrite: byteCount, token: token, error: error)
        if let error, !error.isCancellation { fail(error) }
    }

    /// Half-closes once every queued write is flushed: the peer reads EOF, and later writes throw. When the peer has
    /// ended too (before or after), the connection then closes by itself. Idempotent.
    package func shutdown() {
        loop.assertInLoopThread()
        guard state == .open, shutdownState == .none else { return }
        shutdownState = .pending
        let request = unsafe allocateZeroed(uv_shutdown_t.self)
        let status = unsafe uv_shutdown(request, streamPointer(handle)) { request, status in
            guard let request = unsafe request else { return }
            let connection = unsafe owner(of: handlePointer(request.pointee.handle), as: TCPConnection.self)
            unsafe request.deallocate()
            connection.shutdownDidComplete(status)
        }
        if status < 0 {
            // libuv refuses only a stream that can no longer write: nothing is left to flush.
            unsafe request.deallocate()
            close()
        }
    }

    private func shutdownDidComplete(_ status: Int32) {
        if status == 0 {
            shutdownState = .done
            if hasReceivedEnd { close() }
        } else if status == UV_ENOTCONN.rawValue {
            // The peer reset the connection after its FIN, before ours left: nothing was lost (Node ignores it too).
            close()
        } else if status != UV_ECANCELED.rawValue {
            fail(LoopError(status: status, operation: "uv_shutdown"))
        }
    }

    /// Closes now: unsent writes complete with `ECANCELED`, then `connectionDidClose` follows (on a later turn of
    /// the loop). Idempotent.
    package func close() {
        loop.assertInLoopThread()
        guard state == .open else { return }
        state = .closing
        isReading = false
        unsafe closeHandle(handlePointer(handle))
    }

    /// Closes with RST instead of FIN (SO_LINGER 0): the peer's next read fails with ECONNRESET. Otherwise like
    /// `close()`.
    package func reset() {
        loop.assertInLoopThread()
        guard state == .open else { return }
        state = .closing
        isReading = false
        // libuv refuses uv_tcp_close_reset while a shutdown is queued; the socket option it sets is the same.
        if shutdownState != .pending, unsafe uv_tcp_close_reset(handle, handleDidCloseCallback) == 0 { return }
        var descriptor: uv_os_fd_t = -1
        if unsafe uv_fileno(handlePointer(handle), &descriptor) == 0 {
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            _ = unsafe setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        }
        unsafe closeHandle(handlePointer(handle))
    }

    private func fail(_ error: LoopError) {
        guard state == .open else { return }
        if !hasFailed {
            hasFailed = true
            delegate?.connection(self, didFail: error)
        }
        close()
    }

    func handleDidClose() {
        state = .closed
        let delegate = self.delegate
        self.delegate = nil
        delegate?.connectionDidClose(self)
    }

    /// Disables (or re-enables) Nagle's algorithm: small writes leave at once. No effect once closing.
    package func setNoDelay(_ on: Bool) throws(LoopError) {
        loop.assertInLoopThread()
        guard state == .open else { return }
        try uv(unsafe uv_tcp_nodelay(handle, on ? 1 : 0), "uv_tcp_nodelay")
    }

    /// Turns TCP keep-alive probes on after `delaySeconds` idle seconds (at least 1), or off. No effect once closing.
    package func setKeepAlive(_ on: Bool, delaySeconds: Int) throws(LoopError) {
        loop.assertInLoopThread()
        guard state == .open else { return }
        let delay = UInt32(clamping: max(1, delaySeconds))
        try uv(unsafe uv_tcp_keepalive(handle, on ? 1 : 0, delay), "uv_tcp_keepalive")
    }
}

/// A `uv_write_t` with what its completion reports; `request.data` points back at the whole struct. One allocation
/// per write, which also holds the bytes of `write(copying:)` right after the struct: a pool of them measured no
/// faster (the write(2) behind each request costs ~50 times a malloc/free).
@unsafe struct WriteRequest {
    var request = unsafe uv_write_t()
    var token: Int
    var byteCount: Int

    private static let requestOffset = unsafe MemoryLayout<WriteRequest>.offset(of: \.request)!

    /// A request for a copy of `bytes`, which follows it in the same allocation.
    static func make(token: Int, copying bytes: UnsafeRawBufferPointer) -> UnsafeMutablePointer<WriteRequest> {
        let raw = unsafe UnsafeMutableRawPointer.allocate(
            byteCount: MemoryLayout<WriteRequest>.stride + bytes.count, alignment: MemoryLayout<WriteRequest>.alignment)
        let pointer = unsafe raw.bindMemory(to: WriteRequest.self, capacity: 1)
        unsafe pointer.initialize(to: WriteRequest(token: token, byteCount: bytes.count))
        unsafe pointer.pointee.request.data = raw
        if let base = bytes.baseAddress { unsafe copiedBytes(in: pointer).copyMemory(from: base, byteCount: bytes.count) }
        return unsafe pointer
    }

    /// Where `make(copying:)` put its copy.
    static func copiedBytes(in pointer: UnsafeMutablePointer<WriteRequest>) -> UnsafeMutableRawPointer {
        unsafe UnsafeMutableRawPointer(pointer) + MemoryLayout<WriteRequest>.stride
    }

    /// Frees the request with the copy it carries.
    static func free(_ pointer: UnsafeMutablePointer<WriteRequest>) {
        unsafe pointer.deinitialize(count: 1)
        unsafe UnsafeMutableRawPointer(pointer).deallocate()
    }

    static func request(in pointer: UnsafeMutablePointer<WriteRequest>) -> UnsafeMutablePointer<uv_write_t> {
        unsafe (UnsafeMutableRawPointer(pointer) + requestOffset).assumingMemoryBound(to: uv_write_t.self)
    }

    static func container(of request: UnsafeMutablePointer<uv_write_t>) -> UnsafeMutablePointer<WriteRequest> {
        unsafe request.pointee.data.assumingMemoryBound(to: WriteRequest.self)
    }
}
