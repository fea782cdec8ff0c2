/// A connection a generation serves: plain TCP, or TLS terminated over TCP. The handler cannot tell them apart
/// except by what `conn` reports; an enum rather than a protocol keeps the plain path free of indirection.
enum ServedConnection {
    case plain(TCPConnection)
    case tls(TLSConnection)

    var tcp: TCPConnection {
        switch self {
        case .plain(let connection): connection
        case .tls(let connection): connection.tcp
        }
    }

    var remote: SocketAddress { tcp.remote }
    var isClosing: Bool { tcp.isClosing }
    var lastActivity: UInt64 { tcp.lastActivity }
    var bufferedBytes: Int { tcp.bufferedBytes }

    /// Where the connection's events go.
    func setDelegate(_ delegate: any TCPConnectionDelegate) {
        switch self {
        case .plain(let connection): connection.delegate = delegate
        case .tls(let connection): connection.delegate = delegate
        }
    }

    func startReading() {
        switch self {
        case .plain(let connection): connection.startReading()
        case .tls(let connection): connection.startReading()
        }
    }

    func stopReading() {
        switch self {
        case .plain(let connection): connection.stopReading()
        case .tls(let connection): connection.stopReading()
        }
    }

    /// Sends `bytes` after everything written before; returns how many leading bytes went to the kernel during the
    /// call. The rest is queued (a copy, or its ciphertext) and reported by `didWrite`.
    func write(_ bytes: RawSpan) throws(LoopError) -> Int {
        switch self {
        case .plain(let connection):
            // Most writes go to the kernel at once, without a copy; only the rest is copied into the write queue.
            let written = try unsafe bytes.withUnsafeBytes { bytes throws(LoopError) in
                try unsafe connection.tryWrite(bytes)
            }
            guard written < bytes.byteCount else { return written }
            try unsafe bytes.extracting(droppingFirst: written).withUnsafeBytes { rest throws(LoopError) in
                try unsafe connection.write(copying: rest)
            }
            return written
        case .tls(let connection):
            return try unsafe bytes.withUnsafeBytes { bytes throws(LoopError) in try unsafe connection.write(bytes) }
        }
    }

    /// Half-closes once everything written is sent (after close_notify, for TLS).
    func shutdown() {
        switch self {
        case .plain(let connection): connection.shutdown()
        case .tls(let connection): connection.shutdown()
        }
    }

    func close() { tcp.close() }
    func reset() { tcp.reset() }
}
