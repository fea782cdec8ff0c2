import BerthBroker
import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing

/// A failed system call in a test peer, with errno in words.
struct SocketError: Error, CustomStringConvertible {
    var operation: String
    var code: Int32
    var description: String { "\(operation): \(String(cString: strerror(code))) (errno \(code))" }
}

/// A plain blocking socket for the peers the tests put in front of libuv; every read times out after 30 s.
struct BlockingSocket: Sendable {
    let descriptor: Int32

    /// Connects a TCP socket to the literal `host` (IPv4 or IPv6) and `port`.
    static func connect(to host: String, port: Int) throws -> BlockingSocket {
        try withAddress(host, port) { address, length, family in
            let socket = try BlockingSocket(family: family, type: SOCK_STREAM)
            guard Glibc.connect(socket.descriptor, address, length) == 0 else {
                let code = errno
                socket.close()
                throw SocketError(operation: "connect \(host) \(port)", code: code)
            }
            return socket
        }
    }

    /// An unbound UDP socket of `family` (AF_INET or AF_INET6).
    static func udp(family: Int32) throws -> BlockingSocket {
        try BlockingSocket(family: family, type: SOCK_DGRAM)
    }

    private init(family: Int32, type: __socket_type) throws {
        descriptor = socket(family, Int32(type.rawValue), 0)
        guard descriptor >= 0 else { throw SocketError(operation: "socket", code: errno) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func close() { _ = Glibc.close(descriptor) }

    func setOption(_ level: Int32, _ name: Int32, _ value: Int32) {
        var value = value
        setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + sent, $0.count - sent, 0) }
            guard count >= 0 else {
                if errno == EINTR { continue }
                throw SocketError(operation: "send", code: errno)
            }
            sent += count
        }
    }

    /// Up to `limit` bytes; empty at EOF.
    func receive(upTo limit: Int = 65536) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: limit)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, limit, 0) }
            if count >= 0 { return Array(buffer[..<count]) }
            if errno != EINTR { throw SocketError(operation: "recv", code: errno) }
        }
    }

    func receive(exactly count: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            let chunk = try receive(upTo: min(65536, count - result.count))
            guard !chunk.isEmpty else { throw SocketError(operation: "recv: EOF after \(result.count) bytes", code: 0) }
            result += chunk
        }
        return result
    }

    /// Everything until the peer's FIN.
    func receiveToEnd() throws -> [UInt8] {
        var result: [UInt8] = []
        while case let chunk = try receive(), !chunk.isEmpty { result += chunk }
        return result
    }

    func shutdownWrite() { _ = Glibc.shutdown(descriptor, Int32(SHUT_WR)) }

    var localPort: Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Self.describe(&storage).port
    }

    func sendDatagram(_ bytes: [UInt8], to host: String, port: Int) throws {
        try Self.withAddress(host, port) { address, length, _ in
            let count = bytes.withUnsafeBytes { sendto(descriptor, $0.baseAddress, $0.count, 0, address, length) }
            guard count == bytes.count else { throw SocketError(operation: "sendto", code: errno) }
        }
    }

    func receiveDatagram() throws -> (bytes: [UInt8], host: String, port: Int) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = buffer.withUnsafeMutableBytes { buffer in
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(descriptor, buffer.baseAddress, buffer.count, 0, $0, &length)
                }
            }
        }
        guard count >= 0 else { throw SocketError(operation: "recvfrom", code: errno) }
        let (host, port) = Self.describe(&storage)
        return (Array(buffer[..<count]), host, port)
    }

    private static func describe(_ storage: inout sockaddr_storage) -> (host: String, port: Int) {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        _ = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo(
                    $0, socklen_t(MemoryLayout<sockaddr_storage>.size), &host, socklen_t(host.count), &service,
                    socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        func text(_ chars: [CChar]) -> String {
            String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return (text(host), Int(text(service)) ?? -1)
    }

    private static func withAddress<R>(
        _ host: String, _ port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t, Int32) throws -> R
    ) throws -> R {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else { throw SocketError(operation: "getaddrinfo \(host)", code: status) }
        defer { freeaddrinfo(list) }
        return try body(first.pointee.ai_addr, first.pointee.ai_addrlen, first.pointee.ai_family)
    }
}

/// Runs `body` on its own thread (a blocking peer), so the test thread can run the loop meanwhile.
final class Background<Value: Sendable>: Sendable {
    private let result = Mutex<Result<Value, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws -> Value) {
        let thread = Thread { [self] in
            let outcome = Result { try body() }
            result.withLock { $0 = outcome }
            done.signal()
        }
        thread.start()
    }

    func join(timeout: Double = 60) throws -> Value {
        guard done.wait(timeout: .now() + timeout) == .success else {
            throw SocketError(operation: "background peer timed out", code: ETIMEDOUT)
        }
        return try result.withLock { $0! }.get()
    }
}

/// A one-shot go signal between a peer thread and the loop.
final class Signal: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func fire() { semaphore.signal() }
    func wait(timeout: Double = 30) -> Bool { semaphore.wait(timeout: .now() + timeout) == .success }
}

extension EventLoop {
    /// Runs until nothing is left alive or `seconds` pass; records a test issue on timeout.
    func run(seconds: UInt64, sourceLocation: SourceLocation = #_sourceLocation) {
        let watchdog = LoopTimer(loop: self)
        var timedOut = false
        watchdog.keepsLoopAlive = false
        watchdog.start(after: seconds * 1000) {
            timedOut = true
            self.stop()
        }
        run()
        watchdog.close()
        if timedOut { Issue.record("the loop still had work after \(seconds) s", sourceLocation: sourceLocation) }
    }
}

/// A server whose hooks each test fills in; it is the listener's and every connection's delegate and logs events.
final class TestServer: TCPListenerDelegate, TCPConnectionDelegate {
    var onAccept: (TCPConnection) -> Void = { $0.startReading() }
    var onRead: (TCPConnection, UnsafeRawBufferPointer) -> Void = { _, _ in }
    var onEnd: (TCPConnection) -> Void = { _ in }
    var onWrite: (TCPConnection, Int, Int, LoopError?) -> Void = { _, _, _, _ in }
    var onClose: (TCPConnection) -> Void = { _ in }
    /// "read 5", "end", "fail ECONNRESET", "write 5", "close", in order, for all connections.
    var events: [String] = []
    var received: [UInt8] = []
    var accepted: [TCPConnection] = []
    var acceptFailures: [LoopError] = []

    func listener(_ listener: TCPListener, accepted connection: TCPConnection) {
        connection.delegate = self
        accepted.append(connection)
        onAccept(connection)
    }

    func listener(_ listener: TCPListener, failedToAccept error: LoopError) { acceptFailures.append(error) }

    func listener(_ listener: TCPListener, reset count: Int, outOfDescriptors error: LoopError, isNew: Bool) {
        acceptFailures.append(error)
    }

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        events.append("read \(bytes.count)")
        received += bytes
        onRead(connection, bytes)
    }

    func connectionDidReachEnd(_ connection: TCPConnection) {
        events.append("end")
        onEnd(connection)
    }

    func connection(_ connection: TCPConnection, didFail error: LoopError) { events.append("fail \(error.code)") }

    func connection(_ connection: TCPConnection, didWrite byteCount: Int, token: Int, error: LoopError?) {
        events.append(error.map { "write \(byteCount) \($0.code)" } ?? "write \(byteCount)")
        onWrite(connection, byteCount, token, error)
    }

    func connectionDidClose(_ connection: TCPConnection) {
        events.append("close")
        onClose(connection)
    }

    /// The events with consecutive reads merged into one "read" (TCP may split or join them).
    var eventKinds: [String] {
        events.map { $0.hasPrefix("read") ? "read" : $0 }.reduce(into: []) { kinds, kind in
            if kind != "read" || kinds.last != "read" { kinds.append(kind) }
        }
    }
}

/// Deterministic bytes for bulk transfers.
func pattern(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11 &+ Int(seed)) }
}

extension EventLoop {
    /// Steps the loop until `done()` holds or `seconds` pass (a timer bounds every wait, so nothing else need keep the
    /// loop alive); records a test issue on timeout.
    func run(until done: () -> Bool, seconds: UInt64 = 10, sourceLocation: SourceLocation = #_sourceLocation) {
        let deadline = LoopTimer(loop: self)
        var timedOut = false
        deadline.start(after: seconds * 1000) { timedOut = true }
        while !done() && !timedOut { runOnce() }
        deadline.close()
        if timedOut { Issue.record("still waiting after \(seconds) s", sourceLocation: sourceLocation) }
    }
}
