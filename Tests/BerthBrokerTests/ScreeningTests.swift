import BerthBroker
import BerthPlan
import Testing

/// The broker's screen as pure values: time is a parameter, so refill and expiry are tested without sleeping.
@Suite struct ScreeningTests {
    func endpoint(
        allow: [String] = ["0.0.0.0/0", "::/0"], deny: [String] = [], maxConnections: Int = 1024, perSource: Int = 64,
        rate: Rate = Rate(count: 50, seconds: 1), datagramRate: Rate = Rate(count: 1000, seconds: 1), burst: Int = 100,
        sourcePrefix: SourcePrefix = SourcePrefix(ipv4: 32, ipv6: 64)
    ) throws -> Endpoint {
        Endpoint(
            name: "t", transport: .tcp, port: 1, file: "t.tcp.1.port.js", moduleSHA256: "", imports: [], exports: [],
            policy: Policy(allow: PrefixSet(try allow.map { try IPPrefix.parse($0).get() }),
                           deny: PrefixSet(try deny.map { try IPPrefix.parse($0).get() })),
            limits: Limits(maxConnections: maxConnections, maxConnectionsPerSource: perSource, connectionRate: rate,
                           datagramRate: datagramRate, burst: burst, idleTimeoutMilliseconds: 300_000,
                           maxBufferedBytes: 1 << 20, sourcePrefix: sourcePrefix),
            tls: nil)
    }

    func ip(_ text: String) throws -> IPAddress { try #require(IPAddress(text)) }

    @Test func denyWinsThenAllowAndMappedSourcesMatchIPv4Rules() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(allow: ["10.0.0.0/8"], deny: ["10.9.0.0/16"]))
        #expect(screen.admitConnection(from: try ip("10.1.2.3"), now: 0) == .admit)
        #expect(screen.admitConnection(from: try ip("10.9.2.3"), now: 0) == .refuse(.deny))
        #expect(screen.admitConnection(from: try ip("::ffff:10.9.2.3"), now: 0) == .refuse(.deny))
        #expect(screen.admitConnection(from: try ip("::ffff:10.1.2.4"), now: 0) == .admit)
        #expect(screen.admitConnection(from: try ip("11.0.0.1"), now: 0) == .refuse(.notAllowed))
        #expect(screen.admitConnection(from: try ip("::1"), now: 0) == .refuse(.notAllowed))
        let nobody = ConnectionScreen(endpoint: try endpoint(allow: []))
        #expect(nobody.admitConnection(from: try ip("127.0.0.1"), now: 0) == .refuse(.notAllowed))
    }

    @Test func handlerCapRefusesTheNextAndAFreedSlotIsReusable() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(maxConnections: 2))
        #expect(screen.admitConnection(from: try ip("10.0.0.1"), now: 0) == .admit)
        #expect(screen.admitConnection(from: try ip("10.0.0.2"), now: 0) == .admit)
        #expect(screen.admitConnection(from: try ip("10.0.0.3"), now: 0) == .refuse(.maxConnections))
        screen.connectionClosed(from: try ip("10.0.0.1"))
        #expect(screen.admitConnection(from: try ip("10.0.0.3"), now: 0) == .admit)
        #expect(screen.takeRefusals() == [.maxConnections: 1])
        #expect(screen.takeRefusals().isEmpty)
    }

    @Test func perSourceCapIsIndependentPerSource() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(perSource: 1))
        #expect(screen.admitConnection(from: try ip("10.0.0.1"), now: 0) == .admit)
        #expect(screen.admitConnection(from: try ip("10.0.0.1"), now: 0) == .refuse(.maxConnectionsPerSource))
        #expect(screen.admitConnection(from: try ip("10.0.0.2"), now: 0) == .admit)
        screen.connectionClosed(from: try ip("10.0.0.1"))
        #expect(screen.admitConnection(from: try ip("10.0.0.1"), now: 0) == .admit)
    }

    @Test func burstPassesThenTheBucketRefillsAtTheRate() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(rate: Rate(count: 10, seconds: 1), burst: 3))
        let source = try ip("10.0.0.1")
        for _ in 0..<3 {
            #expect(screen.admitConnection(from: source, now: 1000) == .admit)
            screen.connectionClosed(from: source)
        }
        #expect(screen.admitConnection(from: source, now: 1000) == .refuse(.connectionRate))
        #expect(screen.admitConnection(from: source, now: 1050) == .refuse(.connectionRate))
        #expect(screen.admitConnection(from: source, now: 1100) == .admit, "one token after 100 ms at 10/s")
        #expect(screen.admitConnection(from: try ip("10.0.0.2"), now: 1100) == .admit, "another source has its own bucket")
    }

    @Test func datagramRatePerSource() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(datagramRate: Rate(count: 2, seconds: 1), burst: 2))
        let source = try ip("192.0.2.1")
        #expect(screen.admitDatagram(from: source, now: 0) == .admit)
        #expect(screen.admitDatagram(from: source, now: 0) == .admit)
        #expect(screen.admitDatagram(from: source, now: 0) == .refuse(.datagramRate))
        #expect(screen.admitDatagram(from: source, now: 500) == .admit)
        #expect(screen.admitDatagram(from: try ip("192.0.2.2"), now: 500) == .admit)
    }

    @Test func ipv6SourcesShareABucketPerSlash64() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(perSource: 1))
        #expect(screen.admitConnection(from: try ip("2001:db8:1:2::1"), now: 0) == .admit)
        #expect(screen.admitConnection(from: try ip("2001:db8:1:2:ffff::9"), now: 0) == .refuse(.maxConnectionsPerSource))
        #expect(screen.admitConnection(from: try ip("2001:db8:1:3::1"), now: 0) == .admit)
        let wide = ConnectionScreen(endpoint: try endpoint(perSource: 1, sourcePrefix: SourcePrefix(ipv4: 24, ipv6: 48)))
        #expect(wide.admitConnection(from: try ip("10.0.0.1"), now: 0) == .admit)
        #expect(wide.admitConnection(from: try ip("10.0.0.200"), now: 0) == .refuse(.maxConnectionsPerSource))
    }

    @Test func theSourceTableStaysWithinItsCapacityUnderAFlood() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(datagramRate: Rate(count: 1, seconds: 3600), burst: 1),
                                      sourceCapacity: 10_000)
        var admitted = 0
        // 200,000 datagrams from 100,000 distinct sources (each sends twice).
        for round in 0..<2 {
            for n in 0..<100_000 {
                let address = IPAddress(family: .ipv4, value: UInt128(0x0A00_0000 + n))
                if screen.admitDatagram(from: address, now: UInt64(round)) == .admit { admitted += 1 }
                #expect(screen.trackedSources <= 10_000)
            }
        }
        #expect(screen.trackedSources == 10_000)
        // Evicted sources start afresh: every first datagram and every second one (forgotten) passes.
        #expect(admitted == 200_000)
    }

    @Test func quietSourcesExpireButNotOnesWithOpenConnections() throws {
        let screen = ConnectionScreen(endpoint: try endpoint())
        #expect(screen.admitConnection(from: try ip("10.0.0.1"), now: 0) == .admit)
        #expect(screen.admitConnection(from: try ip("10.0.0.2"), now: 0) == .admit)
        screen.connectionClosed(from: try ip("10.0.0.2"))
        #expect(screen.admitConnection(from: try ip("10.0.0.3"), now: 50_000) == .admit)
        screen.connectionClosed(from: try ip("10.0.0.3"))
        screen.expireIdleSources(now: 61_000)
        #expect(screen.trackedSources == 2, "10.0.0.2 expired; 10.0.0.1 holds a connection; 10.0.0.3 is recent")
        screen.expireIdleSources(now: 200_000)
        #expect(screen.trackedSources == 1)
        #expect(screen.admitConnection(from: try ip("10.0.0.4"), now: 200_000) == .admit)
        #expect(screen.trackedSources == 2)
    }

    @Test func leastRecentlyUsedSourcesGoFirst() {
        var table = SourceTable<Int>(capacity: 2)
        let keys = (1...3).map { SourceTable<Int>.key(for: IPAddress(family: .ipv4, value: UInt128($0)), prefix: SourcePrefix(ipv4: 32, ipv6: 64)) }
        _ = table.withState(keys[0], make: { 1 }) { $0 }
        _ = table.withState(keys[1], make: { 2 }) { $0 }
        _ = table.withState(keys[0], make: { 0 }) { $0 }
        _ = table.withState(keys[2], make: { 3 }) { $0 }
        #expect(table.count == 2)
        #expect(table.withState(keys[0], make: { -1 }) { $0 } == 1, "recently used: kept")
        #expect(table.withState(keys[1], make: { -1 }) { $0 } == -1, "least recently used: evicted")
    }
}
