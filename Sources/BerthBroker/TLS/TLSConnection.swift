import BerthTLS

/// A TCP connection with TLS terminated on it. It is the socket's delegate: ciphertext goes into its `TLSSession`,
/// plaintext comes out to its own delegate with the same events, in the same order, as a `TCPConnection` gives, so a
/// generation serves it like a plain connection. Before that, it runs the handshake (bounded by a timer) and reports
/// how it ended once.
final class TLSConnection {
    let tcp: TCPConnection
    let session: TLSSession
    /// Receives the plaintext events once the handshake finished; held strongly until the socket closed.
    var delegate: (any TCPConnectionDelegate)?
    /// The screen's grouping when the connection was admitted (what its close is counted against).
    let grouping: Int
    private let loop: EventLoop
    private var onHandshake: ((TLSConnection, TLSHandshakeFailure?) -> Void)?
    private var handshakeTimer: LoopTimer?
    /// Delivers plaintext left in the session after a pause, on a later turn of the loop (never inside a call from
    /// JavaScript).
    private var pump: LoopTimer?
    private(set) var isReading = false
    private var isDraining = false
    /// The peer's close_notify or FIN arrived; 'end' is delivered once the plaintext before it was.
    private var peerEnded = false
    private var hasDeliveredEnd = false
    private var hasFailed = false

    /// Starts the handshake on an admitted socket; `onHandshake` gets nil once it finished, or why it failed (the
    /// socket is then closing).
    init(tcp: TCPConnection, context: TLSServerContext, timeoutMilliseconds: Int, grouping: Int, loop: EventLoop,
         onHandshake: @escaping (TLSConnection, TLSHandshakeFailure?) -> Void) {
        (self.tcp, self.grouping, self.loop, self.onHandshake) = (tcp, grouping, loop, onHandshake)
        session = TLSSession(context: context)
        tcp.delegate = self
        tcp.startReading()
        let timer = LoopTimer(loop: loop)
        timer.start(after: UInt64(timeoutMilliseconds)) { [weak self] in self?.failHandshake(.timeout) }
        handshakeTimer = timer
    }

    var remote: SocketAddress { tcp.remote }
    var isClosing: Bool { tcp.isClosing }
    var lastActivity: UInt64 { tcp.lastActivity }
    /// Ciphertext queued for the socket: what the buffer cap measures.
    var bufferedBytes: Int { tcp.bufferedBytes }

    // MARK: The handler's side

    func startReading() {
        guard !isReading else { return }
        isReading = true
        if session.hasPendingInput || (peerEnded && !hasDeliveredEnd) {
            if !isDraining { schedulePump() }
        } else {
            tcp.startReading()
        }
    }

    func stopReading() {
        isReading = false
        tcp.stopReading()
    }

    /// Encrypts and sends `plaintext`; returns its length when all its ciphertext went to the kernel at once, else 0
    /// (the rest is queued and reported by one `didWrite` of the whole length).
    func write(_ plaintext: UnsafeRawBufferPointer) throws(LoopError) -> Int {
        guard !tcp.isClosing, session.write(plaintext) else {
            throw LoopError(code: "EPIPE", message: "write after close", operation: "SSL_write")
        }
        return try flush(token: plaintext.count) ? plaintext.count : 0
    }

    /// Sends close_notify, then FIN once everything written is sent.
    func shutdown() {
        guard !tcp.isClosing else { return }
        session.close()
        do { _ = try flush(token: 0) } catch { tcp.close() }
        tcp.shutdown()
    }

    func close() { tcp.close() }
    func reset() { tcp.reset() }

    /// Sends what the session produced; true when the kernel took all of it. A remainder is queued with `token`
    /// (the plaintext length it stands for, 0 for the session's own records), which `didWrite` reports.
    private func flush(token: Int) throws(LoopError) -> Bool {
        guard session.hasOutput else { return true }
        var failure: LoopError?
        var sentAll = true
        unsafe session.takeOutput { ciphertext in
            do throws(LoopError) {
                let sent = try unsafe tcp.tryWrite(ciphertext)
                if sent < ciphertext.count {
                    sentAll = false
                    try unsafe tcp.write(copying: UnsafeRawBufferPointer(rebasing: ciphertext[sent...]), token: token)
                }
            } catch { failure = error }
        }
        if let failure { throw failure }
        return sentAll
    }

    // MARK: The handshake

    private func finishHandshake(_ failure: TLSHandshakeFailure?) {
        guard let onHandshake else { return }
        self.onHandshake = nil
        handshakeTimer?.close()
        handshakeTimer = nil
        onHandshake(self, failure)
    }

    private func failHandshake(_ failure: TLSHandshakeFailure) {
        guard onHandshake != nil else { return }
        // The alert OpenSSL wrote, if any, goes out before the close (when the kernel takes it at once).
        _ = try? flush(token: 0)
        tcp.close()
        finishHandshake(failure)
    }

    // MARK: Plaintext out

    private func schedulePump() {
        let timer = pump ?? LoopTimer(loop: loop)
        pump = timer
        timer.start(after: 0) { [weak self] in
            guard let self, self.isReading else { return }
            self.drain()
            if self.isReading, !self.tcp.isClosing { self.tcp.startReading() }
        }
    }

    /// Delivers the plaintext the session holds while the handler reads, then 'end' if the peer ended.
    private func drain() {
        isDraining = true
        defer { isDraining = false }
        let buffer = loop.readBuffer
        while isReading, !tcp.isClosing {
            switch unsafe session.read(into: buffer) {
            case .plaintext(let count):
                unsafe delegate?.connection(tcp, didRead: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                continue
            case .needsData: session.trimInput()
            case .closeNotify: peerEnded = true
            case .failed(let reason):
                fail(LoopError(code: "EPROTO", message: reason, operation: "SSL_read"))
                return
            }
            break
        }
        do { _ = try flush(token: 0) } catch { fail(error) }
        // The socket goes on reading after close_notify: its FIN is what lets a connection that has ended both ways
        // close.
        if peerEnded, !hasDeliveredEnd, isReading, !tcp.isClosing {
            hasDeliveredEnd = true
            delegate?.connectionDidReachEnd(tcp)
        }
    }

    private func fail(_ error: LoopError) {
        guard !hasFailed, !tcp.isClosing else { return }
        hasFailed = true
        delegate?.connection(tcp, didFail: error)
        tcp.close()
    }
}

extension TLSConnection: TCPConnectionDelegate {
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        unsafe session.receive(bytes)
        if !session.isHandshakeComplete {
            switch session.handshake() {
            case .inProgress:
                do { _ = try flush(token: 0) } catch { failHandshake(.aborted) }
                return
            case .failed(let failure):
                failHandshake(failure)
                return
            case .complete:
                do { _ = try flush(token: 0) } catch {
                    failHandshake(.aborted)
                    return
                }
                isDraining = true  // the handler's first resume must not schedule what this read delivers next
                finishHandshake(nil)
                isDraining = false
            }
        }
        drain()
    }

    func connectionDidReachEnd(_ connection: TCPConnection) {
        guard session.isHandshakeComplete else {
            failHandshake(.aborted)
            return
        }
        peerEnded = true
        drain()
    }

    func connection(_ connection: TCPConnection, didFail error: LoopError) {
        guard session.isHandshakeComplete else {
            finishHandshake(.aborted)
            return
        }
        hasFailed = true
        delegate?.connection(tcp, didFail: error)
    }

    func connection(_ connection: TCPConnection, didWrite byteCount: Int, token: Int, error: LoopError?) {
        guard token > 0 else { return }
        delegate?.connection(tcp, didWrite: token, token: 0, error: error)
    }

    func connectionDidClose(_ connection: TCPConnection) {
        finishHandshake(.aborted)
        pump?.close()
        pump = nil
        let delegate = self.delegate
        self.delegate = nil
        delegate?.connectionDidClose(tcp)
    }
}

extension ConnectionScreen.Reason {
    /// The summary line counts a failed handshake under the failure's own name.
    init(_ failure: TLSHandshakeFailure) {
        guard let reason = Self(rawValue: failure.rawValue) else { preconditionFailure("no reason for \(failure)") }
        self = reason
    }
}
