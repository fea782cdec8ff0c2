import BerthBroker
import Foundation
import Glibc
import Testing

/// TCPListener and TCPConnection against real loopback peers: the loop runs on the test thread, each peer on its own.
@Suite(.timeLimit(.minutes(2)))
struct LoopTCPTests {
    /// An echo server on `listener` that takes one connection, echoes it, ends when the peer ends, then closes.
    private func serveOneEcho(_ listener: TCPListener) -> TestServer {
        let server = TestServer()
        server.onAccept = { connection in
            listener.close()
            try! connection.setKeepAlive(true, delaySeconds: 30)
            connection.startReading()
        }
        server.onRead = { connection, bytes in try! connection.write(copying: bytes) }
        server.onEnd = { $0.shutdown() }
        listener.delegate = server
        return server
    }

    @Test(
        arguments: [
            (listen: nil, connect: "127.0.0.1", family: "IPv4"), (listen: nil, connect: "::1", family: "IPv6"),
            (listen: "127.0.0.1", connect: "127.0.0.1", family: "IPv4"),
            (listen: "::1", connect: "::1", family: "IPv6"),
        ] as [(listen: String?, connect: String, family: String)])
    func echoReportsAddressesLikeNode(listen: String?, connect: String, family: String) throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let listener = try TCPListener(loop: loop, host: listen, port: 0)
        #expect(listener.boundPort > 0)
        #expect(listener.localAddress.address == listen ?? "::")
        let server = serveOneEcho(listener)
        try listener.startListening()
        let port = listener.boundPort
        let peer = Background { () throws -> (echo: [UInt8], localPort: Int) in
            let socket = try BlockingSocket.connect(to: connect, port: port)
            defer { socket.close() }
            try socket.send(Array("hello, berth".utf8))
            socket.shutdownWrite()
            return (try socket.receiveToEnd(), socket.localPort)
        }
        var seen: (String, String, Int, String, Int)?
        server.onClose = { seen = ($0.remoteAddress, $0.remoteFamily, $0.remotePort, $0.localAddress, $0.localPort) }
        loop.run(seconds: 30)
        let result = try peer.join()
        #expect(String(decoding: result.echo, as: UTF8.self) == "hello, berth")
        let (remoteAddress, remoteFamily, remotePort, localAddress, localPort) = try #require(seen)
        #expect(remoteAddress == connect)
        #expect(remoteFamily == family)
        #expect(remotePort == result.localPort)
        #expect(localAddress == connect)
        #expect(localPort == port)
        #expect(server.eventKinds == ["read", "write 12", "end", "close"])
    }

    @Test func peerEndThenOurShutdownGivesThePeerEOFAndClosesOnce() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0)
        let server = TestServer()
        listener.delegate = server
        server.onAccept = {
            listener.close()
            $0.startReading()
        }
        server.onEnd = { connection in
            try! connection.write(Array("pong".utf8))
            connection.shutdown()
            #expect(throws: LoopError.self) { try connection.write(Array("late".utf8)) }
        }
        try listener.startListening()
        let port = listener.boundPort
        let peer = Background { () throws -> (reply: [UInt8], afterEnd: [UInt8]) in
            let socket = try BlockingSocket.connect(to: "127.0.0.1", port: port)
            defer { socket.close() }
            try socket.send(Array("ping".utf8))
            socket.shutdownWrite()
            return (try socket.receive(exactly: 4), try socket.receive())
        }
        loop.run(seconds: 30)
        let result = try peer.join()
        #expect(result.reply == Array("pong".utf8))
        #expect(result.afterEnd == [], "the peer reads EOF after our shutdown")
        #expect(server.events == ["read 4", "end", "write 4", "close"])
        #expect(server.received == Array("ping".utf8))
    }

    @Test func resetMakesThePeerSeeECONNRESET() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0)
        let server = TestServer()
        listener.delegate = server
        server.onAccept = {
            listener.close()
            $0.startReading()
        }
        server.onRead = { connection, _ in
            connection.reset()
            connection.reset()  // idempotent
            connection.close()
        }
        try listener.startListening()
        let port = listener.boundPort
        let peer = Background { () throws -> Int32 in
            let socket = try BlockingSocket.connect(to: "127.0.0.1", port: port)
            defer { socket.close() }
            try socket.send([1, 2, 3])
            do {
                let bytes = try socket.receive()
                return bytes.isEmpty ? 0 : -1
            } catch let error as SocketError {
                return error.code
            }
        }
        loop.run(seconds: 30)
        #expect(try peer.join() == ECONNRESET)
        #expect(server.events == ["read 3", "close"])
    }

    /// Closes `socket` with RST (SO_LINGER 0) instead of FIN.
    private static func resetClose(_ socket: BlockingSocket) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(socket.descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        socket.close()
    }

    @Test func peerResetIsReportedAsFailureThenClose() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let listener = try TCPListener(loop: loop, host: "::1", port: 0)
        let server = TestServer()
        listener.delegate = server
        server.onAccept = {
            listener.close()
            $0.startReading()
        }
        server.onRead = { connection, _ in try! connection.write([0x6B]) }
        try listener.startListening()
        let port = listener.boundPort
        let peer = Background {
            let socket = try BlockingSocket.connect(to: "::1", port: port)
            try socket.send([9])
            _ = try socket.receive(exactly: 1)  // accepted and read: now the RST hits an open connection
            Self.resetClose(socket)
        }
        loop.run(seconds: 30)
        try peer.join()
        #expect(server.events == ["read 1", "write 1", "fail ECONNRESET", "close"])
    }

    @Test func aPeerGoneBeforeAcceptIsAnAcceptFailure() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0)
        let server = TestServer()
        listener.delegate = server
        try listener.startListening()
        // The kernel completes the handshake while the loop is not running; the peer resets before libuv accepts.
        Self.resetClose(try BlockingSocket.connect(to: "127.0.0.1", port: listener.boundPort))
        usleep(50_000)
        loop.runOnce(waiting: false)
        #expect(server.accepted.isEmpty)
        #expect(server.acceptFailures.map(\.code) == ["ENOTCONN"])
        #expect(listener.isListening)
        listener.close()
    }

    @Test func stopReadingHoldsThePeerBackUntilStartReading() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0)
        let server = TestServer()
        listener.delegate = server
        var connection: TCPConnection?
        server.onAccept = {
            listener.close()
            connection = $0  // not reading: bytes stay in the kernel
        }
        var bytesBeforeResume = -1
        server.onEnd = { $0.close() }
        // The peer reports how much it could write before the kernel buffers filled; the loop then resumes reading.
        let blocked = Signal()
        try listener.startListening()
        let port = listener.boundPort
        let peer = Background { () throws -> Int in
            let socket = try BlockingSocket.connect(to: "127.0.0.1", port: port)
            defer { socket.close() }
            socket.setOption(SOL_SOCKET, SO_SNDBUF, 64 * 1024)
            _ = fcntl(socket.descriptor, F_SETFL, fcntl(socket.descriptor, F_GETFL) | O_NONBLOCK)
            let chunk = [UInt8](repeating: 0x5A, count: 16 * 1024)
            var total = 0
            var idleRounds = 0
            // Write until the kernel refuses for a while: the receiver's window and our send buffer are full.
            while idleRounds < 20, total < 512 * 1024 * 1024 {
                let count = chunk.withUnsafeBytes { send(socket.descriptor, $0.baseAddress, $0.count, 0) }
                if count > 0 {
                    total += count
                    idleRounds = 0
                } else {
                    guard errno == EAGAIN else { throw SocketError(operation: "send", code: errno) }
                    idleRounds += 1
                    usleep(10_000)
                }
            }
            blocked.fire()
            _ = fcntl(socket.descriptor, F_SETFL, fcntl(socket.descriptor, F_GETFL) & ~O_NONBLOCK)
            socket.shutdownWrite()
            return total
        }
        // Poll the peer's signal from the loop so the resume happens on the loop thread.
        let poll = LoopTimer(loop: loop)
        poll.start(after: 10, repeat: 10) {
            guard blocked.wait(timeout: 0) else { return }
            poll.close()
            bytesBeforeResume = server.received.count
            connection?.startReading()
        }
        loop.run(seconds: 60)
        let total = try peer.join()
        #expect(total < 512 * 1024 * 1024, "the kernel never pushed back")
        #expect(bytesBeforeResume == 0, "no bytes while reading was stopped")
        #expect(server.received.count == total, "every byte arrives after startReading")
        #expect(server.eventKinds == ["read", "end", "close"])
    }

    @Test func sixteenMebibytesEchoIntact() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let listener = try TCPListener(loop: loop, host: nil, port: 0)
        let server = serveOneEcho(listener)
        try listener.startListening()
        let port = listener.boundPort
        let payload = pattern(16 * 1024 * 1024)
        let peer = Background { () throws -> [UInt8] in
            let socket = try BlockingSocket.connect(to: "::1", port: port)
            defer { socket.close() }
            let writer = Background {
                try socket.send(payload)
                socket.shutdownWrite()
            }
            let echo = try socket.receiveToEnd()
            try writer.join()
            return echo
        }
        loop.run(seconds: 90)
        let echo = try peer.join()
        #expect(echo.count == payload.count)
        #expect(echo == payload)
        #expect(server.received.count == payload.count)
        #expect(server.events.last == "close")
    }

    @Test func writeCompletionsCountBytesAndBufferedBytesGrowWhileThePeerDoesNotRead() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0)
        let server = TestServer()
        listener.delegate = server
        let chunkCount = 32
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024 * 1024, alignment: 16)
        defer { chunk.deallocate() }
        chunk.copyBytes(from: pattern(chunk.count))
        var completions: [(byteCount: Int, token: Int, error: LoopError?)] = []
        var bufferedAfterWrites = 0
        var bufferedWhilePeerIdle = 0
        var bufferedAtEnd = -1
        let mayRead = Signal()
        server.onAccept = { connection in
            listener.close()
            connection.startReading()
            for token in 0..<chunkCount { try! connection.write(copying: UnsafeRawBufferPointer(chunk), token: token) }
            bufferedAfterWrites = connection.bufferedBytes
            connection.shutdown()
            let idle = LoopTimer(loop: loop)
            idle.start(after: 200) {
                idle.close()
                bufferedWhilePeerIdle = connection.bufferedBytes
                mayRead.fire()
            }
        }
        server.onWrite = { connection, byteCount, token, error in
            completions.append((byteCount, token, error))
            if completions.count == chunkCount { bufferedAtEnd = connection.bufferedBytes }
        }
        server.onEnd = { $0.close() }
        server.onClose = { _ in mayRead.fire() }
        try listener.startListening()
        let port = listener.boundPort
        let peer = Background { () throws -> [UInt8] in
            let socket = try BlockingSocket.connect(to: "127.0.0.1", port: port)
            defer { socket.close() }
            _ = mayRead.wait()
            let all = try socket.receiveToEnd()
            socket.shutdownWrite()
            return all
        }
        loop.run(seconds: 60)
        let all = try peer.join()
        #expect(all.count == chunkCount * chunk.count)
        #expect(all.prefix(chunk.count).elementsEqual(chunk))
        #expect(all.suffix(chunk.count).elementsEqual(chunk))
        #expect(completions.map(\.token) == Array(0..<chunkCount))
        #expect(completions.allSatisfy { $0.byteCount == chunk.count && $0.error == nil })
        #expect(completions.reduce(0) { $0 + $1.byteCount } == chunkCount * chunk.count)
        #expect(bufferedAfterWrites > 8 * 1024 * 1024, "the kernel cannot take 32 MiB at once")
        #expect(bufferedWhilePeerIdle > 8 * 1024 * 1024, "nothing drains while the peer does not read")
        #expect(bufferedAtEnd == 0)
        #expect(server.events.last == "close")
    }

    @Test func closeCancelsQueuedWritesBeforeDidClose() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0)
        let server = TestServer()
        listener.delegate = server
        let big = [UInt8](repeating: 1, count: 8 * 1024 * 1024)
        // The peer reads only after close(): a peer draining meanwhile lets the kernel take a whole 8 MiB write
        // at once, and then there is nothing left to cancel.
        let closed = DispatchSemaphore(value: 0)
        server.onAccept = { connection in
            listener.close()
            try! connection.write(big, token: 1)
            try! connection.write(big, token: 2)
            connection.close()
            closed.signal()
            #expect(throws: LoopError.self) { try connection.write(big) }
        }
        try listener.startListening()
        let port = listener.boundPort
        let peer = Background {
            let socket = try BlockingSocket.connect(to: "127.0.0.1", port: port)
            _ = closed.wait(timeout: .now() + 30)
            _ = try? socket.receiveToEnd()
            socket.close()
        }
        loop.run(seconds: 30)
        try peer.join()
        #expect(server.events == ["write 8388608 ECANCELED", "write 8388608 ECANCELED", "close"])
    }

    @Test func bindingATakenPortThrowsEADDRINUSE() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let first = try TCPListener(loop: loop, host: nil, port: 0)
        try first.startListening()
        #expect {
            _ = try TCPListener(loop: loop, host: "127.0.0.1", port: first.boundPort)
        } throws: { ($0 as? LoopError)?.code == "EADDRINUSE" }
        #expect {
            _ = try TCPListener(loop: loop, host: "localhost", port: 0)
        } throws: { ($0 as? LoopError)?.code == "EINVAL" }
        first.close()
        first.close()
        // The port is free as soon as close() returns.
        let again = try TCPListener(loop: loop, host: nil, port: first.boundPort)
        again.close()
    }

    @Test func aListenerAcceptsNothingBeforeStartListening() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0)
        let port = listener.boundPort
        #expect(throws: SocketError.self) { try BlockingSocket.connect(to: "127.0.0.1", port: port).close() }
        listener.close()
    }

    /// A loopback ping-pong of 64-byte messages for 2 s: a figure for the per-message cost, printed, not asserted.
    @Test func pingPongThroughput() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0)
        let server = serveOneEcho(listener)
        server.onAccept = { connection in
            listener.close()
            try! connection.setNoDelay(true)
            connection.startReading()
        }
        server.onRead = { connection, bytes in try! connection.write(copying: bytes) }
        try listener.startListening()
        let port = listener.boundPort
        let peer = Background { () throws -> (messages: Int, seconds: Double) in
            let socket = try BlockingSocket.connect(to: "127.0.0.1", port: port)
            defer { socket.close() }
            socket.setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            let message = [UInt8](repeating: 0x42, count: 64)
            let start = EventLoop.monotonicNanoseconds
            var messages = 0
            while EventLoop.monotonicNanoseconds - start < 2_000_000_000 {
                try socket.send(message)
                _ = try socket.receive(exactly: 64)
                messages += 1
            }
            let seconds = Double(EventLoop.monotonicNanoseconds - start) / 1e9
            socket.shutdownWrite()
            _ = try socket.receiveToEnd()
            return (messages, seconds)
        }
        server.events.reserveCapacity(1 << 20)
        let before = threadCPUTime()
        loop.run(seconds: 60)
        let after = threadCPUTime()
        let result = try peer.join()
        let rate = Int(Double(result.messages) / result.seconds)
        func perMessage(_ nanoseconds: UInt64) -> Double {
            (Double(nanoseconds) / Double(result.messages) / 100).rounded() / 10
        }
        print(
            "loop ping-pong: \(result.messages) round trips of 64 B in \(result.seconds) s = \(rate) msgs/s; "
                + "loop thread per message: \(perMessage(after.user - before.user)) µs user, "
                + "\(perMessage(after.system - before.system)) µs system")
        #expect(result.messages > 0)
    }

    /// One-way 64-byte writes as fast as the loop takes them, to a peer reading in bulk: the write path's own cost.
    @Test func smallWriteThroughput() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0)
        let writes = 1_000_000
        let message = [UInt8](repeating: 0x43, count: 64)
        var elapsed: UInt64 = 0
        var completed = 0
        let server = TestServer()
        listener.delegate = server
        server.onAccept = { [unowned server] connection in
            listener.close()
            let start = EventLoop.monotonicNanoseconds
            var issued = 0
            // Batches of 1000 writes per turn, each batch issued when the previous one completed.
            func issueBatch() {
                for _ in 0..<1000 where issued < writes {
                    try! connection.write(message)
                    issued += 1
                }
            }
            server.onWrite = { connection, _, _, _ in
                completed += 1
                if completed == issued {
                    if issued == writes {
                        elapsed = EventLoop.monotonicNanoseconds - start
                        connection.shutdown()
                    } else {
                        issueBatch()
                    }
                }
            }
            issueBatch()
        }
        server.onEnd = { $0.close() }
        try listener.startListening()
        let port = listener.boundPort
        let peer = Background { () throws -> Int in
            let socket = try BlockingSocket.connect(to: "127.0.0.1", port: port)
            defer { socket.close() }
            let count = try socket.receiveToEnd().count
            socket.shutdownWrite()
            return count
        }
        loop.run(seconds: 90)
        #expect(try peer.join() == writes * 64)
        let perSecond = Int(Double(writes) / (Double(elapsed) / 1e9))
        print("loop small writes: \(writes) writes of 64 B in \(Double(elapsed) / 1e9) s = \(perSecond) writes/s")
    }
}

/// CPU time the calling thread has used so far, in user space and in the kernel, in nanoseconds.
func threadCPUTime() -> (user: UInt64, system: UInt64) {
    var usage = rusage()
    getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD (a GNU extension Swift does not import)
    func nanoseconds(_ time: timeval) -> UInt64 { UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_usec) * 1000 }
    return (nanoseconds(usage.ru_utime), nanoseconds(usage.ru_stime))
}
