import BerthPlan
import BerthTestSupport
import Foundation
import Testing
@testable import BerthFirewall

/// Real traffic through the kernel: a server namespace with the ruleset applied and plain listeners, an allowed
/// client and a denied client. The listeners are not berth: whatever is refused here, the kernel refused.
@Suite(.serialized, NetworkNamespaces.trait, .timeLimit(.minutes(3)))
struct KernelEnforcementTests {
    /// TCP listeners that accept and hold connections, and a UDP echo, on both families.
    static let server = """
        import socket, sys, threading
        held = []
        def tcp(port):
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::", port)); s.listen(128)
            while True:
                c, _ = s.accept(); held.append(c)
        def udp(port):
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", port))
            while True:
                data, peer = s.recvfrom(2048); s.sendto(data, peer)
        for port in sys.argv[1].split(","):
            threading.Thread(target=tcp, args=(int(port),), daemon=True).start()
        threading.Thread(target=udp, args=(int(sys.argv[2]),), daemon=True).start()
        print("ready", flush=True)
        threading.Event().wait()
        """

    /// Prints how many of `count` parallel connects completed within `timeout`, and how many were refused (RST).
    static let connect = """
        import socket, sys, time, select
        host, port, count, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        socks = []
        for _ in range(count):
            s = socket.socket(family, socket.SOCK_STREAM); s.setblocking(False)
            s.connect_ex((host, port)); socks.append(s)
        deadline = time.time() + timeout
        pending, done, refused = list(socks), 0, 0
        while pending and time.time() < deadline:
            _, writable, _ = select.select([], pending, [], max(0, deadline - time.time()))
            for s in writable:
                pending.remove(s)
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0: done += 1
                else: refused += 1
        print(done, refused)
        """

    /// Prints whether a datagram to the echo came back.
    static let datagram = """
        import socket, sys
        host, port = sys.argv[1], int(sys.argv[2])
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.5)
        s.sendto(b"ping", (host, port))
        try: print("reply" if s.recv(100) == b"ping" else "wrong")
        except socket.timeout: print("timeout")
        """

    static func connects(_ client: NetworkTopology.Client, _ host: String, _ port: Int, count: Int = 1,
                         timeout: Double = 1.5) throws -> (done: Int, refused: Int) {
        let output = try client.namespace.checked("/usr/bin/python3", ["-c", connect, host, "\(port)", "\(count)", "\(timeout)"])
            .standardOutput.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return (output[0], output[1])
    }

    static func echoes(_ client: NetworkTopology.Client, _ host: String, _ port: Int) throws -> Bool {
        try client.namespace.checked("/usr/bin/python3", ["-c", datagram, host, "\(port)"]).standardOutput.hasPrefix("reply")
    }

    @Test func kernelEnforcesPolicyAndLimits() throws {
        let topology = try NetworkTopology(clients: 2, label: "kern")
        defer { topology.close() }
        let allowed = topology.clients[0]
        let denied = topology.clients[1]
        let f = FirewallFixtures.self
        let open = f.limits(rate: "1000/s", burst: 1000, perSource: 100)
        let plan = f.plan([
            f.endpoint("echo", .tcp, 7000, allow: ["10.231.1.0/24", "fd00:231:1::/64"], limits: open),
            f.endpoint("capped", .tcp, 7001, allow: ["0.0.0.0/0", "::/0"], limits: f.limits(rate: "1000/s", burst: 1000, perSource: 2)),
            f.endpoint("slow", .tcp, 7002, allow: ["0.0.0.0/0", "::/0"], limits: f.limits(rate: "2/s", burst: 2, perSource: 100)),
            f.endpoint("ping", .udp, 9000, allow: ["10.231.1.0/24", "fd00:231:1::/64"],
                       deny: ["10.231.2.0/24"], limits: f.limits(datagramRate: "1000/s", burst: 1000)),
        ])
        let ruleset = Ruleset(plan: plan, target: f.target())
        try topology.server.perform {
            let session = try NFTablesSession()
            try Firewall.apply(ruleset, LiveFirewall.read(session, target: ruleset.target), session: session)
        }
        let server = try topology.server.spawn("/usr/bin/python3", ["-c", Self.server, "7000,7001,7002,7999", "9000"])
        defer { server.stop() }
        #expect(server.waitForOutput("ready"), "\(server.text)")

        // Declared TCP port: the allowed client connects on both families; the denied one times out (drop, not RST).
        #expect(try Self.connects(allowed, allowed.serverIPv4, 7000) == (1, 0))
        #expect(try Self.connects(allowed, allowed.serverIPv6, 7000) == (1, 0))
        #expect(try Self.connects(denied, denied.serverIPv4, 7000) == (0, 0))
        #expect(try Self.connects(denied, denied.serverIPv6, 7000) == (0, 0))
        // UDP: replies for the allowed client only.
        #expect(try Self.echoes(allowed, allowed.serverIPv4, 9000))
        #expect(try Self.echoes(allowed, allowed.serverIPv6, 9000))
        #expect(try !Self.echoes(denied, denied.serverIPv4, 9000))
        // A port berth does not declare is untouched.
        #expect(try Self.connects(allowed, allowed.serverIPv4, 7999) == (1, 0))
        #expect(try Self.connects(denied, denied.serverIPv4, 7999) == (1, 0))
        // Per-source cap of 2: of 4 concurrent connections from one source, 2 complete and the rest hang.
        #expect(try Self.connects(denied, denied.serverIPv4, 7001, count: 4) == (2, 0))
        // 2/s with a burst of 2: of 10 simultaneous connects, only the burst (and perhaps one refill) get through.
        let burst = try Self.connects(allowed, allowed.serverIPv4, 7002, count: 10, timeout: 0.8)
        #expect((2...3).contains(burst.done) && burst.refused == 0, "\(burst)")
    }
}
