import BerthBroker
import Foundation
import Glibc
import Testing

/// UDPSocket against real loopback peers.
@Suite(.timeLimit(.minutes(2)))
struct LoopUDPTests {
    /// Echoes every datagram to its sender, with or without a completion, and logs the senders.
    final class EchoSocket: UDPSocketDelegate {
        var senders: [SocketAddress] = []
        var completions: [LoopError?] = []
        var failures: [LoopError] = []
        var usesCompletion = false
        var expected = 0

        func socket(_ socket: UDPSocket, didReceive bytes: UnsafeRawBufferPointer, from sender: SocketAddress) {
            senders.append(sender)
            if usesCompletion {
                try! socket.send(bytes, to: sender) { [self] in
                    completions.append($0)
                    if completions.count == expected { socket.close() }
                }
            } else {
                try! socket.send(bytes, to: sender)
                if senders.count == expected { socket.close() }
            }
        }

        func socket(_ socket: UDPSocket, didFail error: LoopError) { failures.append(error) }
    }

    @Test(arguments: [false, true])
    func dualStackEchoForIPv4AndIPv6Senders(usesCompletion: Bool) throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let socket = try UDPSocket(loop: loop, host: nil, port: 0)
        #expect(socket.localAddress.address == "::")
        let echo = EchoSocket()
        echo.usesCompletion = usesCompletion
        echo.expected = 2
        socket.delegate = echo
        socket.startReceiving()
        let port = socket.boundPort
        let peer = Background { () throws -> [(reply: String, from: String, fromPort: Int, localPort: Int)] in
            try [(AF_INET, "127.0.0.1"), (AF_INET6, "::1")].map { family, host in
                let client = try BlockingSocket.udp(family: family)
                defer { client.close() }
                try client.sendDatagram(Array("hello \(host)".utf8), to: host, port: port)
                let reply = try client.receiveDatagram()
                return (String(decoding: reply.bytes, as: UTF8.self), reply.host, reply.port, client.localPort)
            }
        }
        loop.run(seconds: 30)
        let replies = try peer.join()
        #expect(replies.map(\.reply) == ["hello 127.0.0.1", "hello ::1"])
        #expect(replies.map(\.from) == ["127.0.0.1", "::1"], "the reply comes from the address the peer used")
        #expect(replies.allSatisfy { $0.fromPort == port })
        #expect(echo.senders.map(\.address) == ["127.0.0.1", "::1"])
        #expect(echo.senders.map(\.family) == ["IPv4", "IPv6"])
        #expect(echo.senders.map(\.port) == replies.map(\.localPort))
        #expect(echo.completions.count == (usesCompletion ? 2 : 0))
        #expect(echo.completions.allSatisfy { $0 == nil })
        #expect(echo.failures.isEmpty)
    }

    @Test func anIPv4SocketRepliesToATextAddressAndEmptyDatagramsArrive() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let socket = try UDPSocket(loop: loop, host: "127.0.0.1", port: 0)
        final class Recorder: UDPSocketDelegate {
            var datagrams: [(count: Int, sender: SocketAddress)] = []
            func socket(_ socket: UDPSocket, didReceive bytes: UnsafeRawBufferPointer, from sender: SocketAddress) {
                datagrams.append((bytes.count, sender))
                try! socket.send([UInt8](bytes) + [0x21], to: sender.address, port: sender.port)
                if datagrams.count == 2 { socket.close() }
            }
            func socket(_ socket: UDPSocket, didFail error: LoopError) {}
        }
        let recorder = Recorder()
        socket.delegate = recorder
        socket.startReceiving()
        let port = socket.boundPort
        let peer = Background { () throws -> [[UInt8]] in
            let client = try BlockingSocket.udp(family: AF_INET)
            defer { client.close() }
            try client.sendDatagram([], to: "127.0.0.1", port: port)
            let first = try client.receiveDatagram().bytes
            try client.sendDatagram(pattern(60_000), to: "127.0.0.1", port: port)
            return [first, try client.receiveDatagram().bytes]
        }
        loop.run(seconds: 30)
        let replies = try peer.join()
        #expect(replies == [[0x21], pattern(60_000) + [0x21]])
        #expect(recorder.datagrams.map(\.count) == [0, 60_000])
        #expect(recorder.datagrams.allSatisfy { $0.sender.family == "IPv4" })
    }

    @Test func sendErrorsAndBindConflictsAreThrown() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let v4 = try UDPSocket(loop: loop, host: "127.0.0.1", port: 0)
        #expect {
            _ = try UDPSocket(loop: loop, host: "127.0.0.1", port: v4.boundPort)
        } throws: { ($0 as? LoopError)?.code == "EADDRINUSE" }
        #expect {
            try v4.send([1], to: "::1", port: 9)
        } throws: { $0 is LoopError }
        #expect {
            try v4.send([1], to: "not an address", port: 9)
        } throws: { ($0 as? LoopError)?.code == "EINVAL" }
        #expect {
            try v4.send([UInt8](repeating: 0, count: 65_536), to: "127.0.0.1", port: 9)
        } throws: { ($0 as? LoopError)?.code == "EMSGSIZE" }
        v4.close()
        #expect {
            try v4.send([1], to: "127.0.0.1", port: 9)
        } throws: { ($0 as? LoopError)?.code == "EBADF" }
    }

    @Test func closeCancelsQueuedSendsWithECANCELED() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let socket = try UDPSocket(loop: loop, host: "::1", port: 0)
        var outcomes: [String] = []
        for _ in 0..<3 {
            try socket.send([1, 2, 3], to: "::1", port: socket.boundPort) { outcomes.append($0?.code ?? "sent") }
        }
        socket.close()
        loop.run(seconds: 30)
        // libuv sends at once when its queue is empty, so the first may have gone out before close().
        #expect(outcomes.count == 3)
        #expect(outcomes.allSatisfy { $0 == "sent" || $0 == "ECANCELED" })
        #expect(outcomes.contains("ECANCELED"))
    }
}
