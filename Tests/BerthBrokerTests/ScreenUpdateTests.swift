import BerthBroker
import BerthPlan
import Testing

/// ConnectionScreen.update(to:): a reload's policy-only change applied to a screen that has connections open.
@Suite struct ScreenUpdateTests {
    func endpoint(
        allow: [String] = ["0.0.0.0/0", "::/0"], deny: [String] = [], maxConnections: Int = 1024, perSource: Int = 64,
        rate: Rate = Rate(count: 1000, seconds: 1), burst: Int = 1000,
        sourcePrefix: SourcePrefix = SourcePrefix(ipv4: 32, ipv6: 64)
    ) throws -> Endpoint {
        Endpoint(
            name: "t", transport: .tcp, port: 1, file: "t.tcp.1.port.js", moduleSHA256: "", imports: [], exports: [],
            policy: Policy(allow: PrefixSet(try allow.map { try IPPrefix.parse($0).get() }),
                           deny: PrefixSet(try deny.map { try IPPrefix.parse($0).get() })),
            limits: Limits(maxConnections: maxConnections, maxConnectionsPerSource: perSource, connectionRate: rate,
                           datagramRate: Rate(count: 1000, seconds: 1), burst: burst, idleTimeoutMilliseconds: 300_000,
                           maxBufferedBytes: 1 << 20, sourcePrefix: sourcePrefix),
            tls: nil)
    }

    func ip(_ text: String) throws -> IPAddress { try #require(IPAddress(text)) }

    @Test func aDenyAddedAppliesToTheNextConnectionAndDatagram() throws {
        let screen = ConnectionScreen(endpoint: try endpoint())
        #expect(screen.admitConnection(from: try ip("10.9.0.1"), now: 0) == .admit)
        screen.update(to: try endpoint(deny: ["10.9.0.0/16"]))
        #expect(screen.admitConnection(from: try ip("10.9.0.2"), now: 1) == .refuse(.deny))
        #expect(screen.admitConnection(from: try ip("::ffff:10.9.0.3"), now: 1) == .refuse(.deny))
        #expect(screen.admitDatagram(from: try ip("10.9.0.4"), now: 1) == .refuse(.deny))
        #expect(screen.admitConnection(from: try ip("10.8.0.1"), now: 1) == .admit)
        // The connection admitted before the deny is not the screen's to close: it still frees its slot.
        #expect(screen.openConnections == 2)
        screen.connectionClosed(from: try ip("10.9.0.1"))
        #expect(screen.openConnections == 1)
        #expect(screen.takeRefusals() == [.deny: 3])
    }

    @Test func anAllowNarrowedAndWidenedAppliesAtOnce() throws {
        let screen = ConnectionScreen(endpoint: try endpoint())
        screen.update(to: try endpoint(allow: ["127.0.0.0/8"]))
        #expect(screen.admitConnection(from: try ip("10.0.0.1"), now: 0) == .refuse(.notAllowed))
        #expect(screen.admitConnection(from: try ip("127.0.0.1"), now: 0) == .admit)
        screen.update(to: try endpoint(allow: ["10.0.0.0/8", "127.0.0.0/8"]))
        #expect(screen.admitConnection(from: try ip("10.0.0.1"), now: 0) == .admit)
    }

    @Test func theOpenCountCarriesOverAndALowerCapCountsTheConnectionsAlreadyOpen() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(maxConnections: 10))
        for host in 1...5 { #expect(screen.admitConnection(from: try ip("10.0.0.\(host)"), now: 0) == .admit) }
        screen.update(to: try endpoint(maxConnections: 5))
        #expect(screen.openConnections == 5)
        #expect(screen.admitConnection(from: try ip("10.0.0.6"), now: 0) == .refuse(.maxConnections))
        screen.connectionClosed(from: try ip("10.0.0.1"))
        #expect(screen.admitConnection(from: try ip("10.0.0.6"), now: 0) == .admit)
        for host in 2...6 { screen.connectionClosed(from: try ip("10.0.0.\(host)")) }
        #expect(screen.openConnections == 0)
    }

    @Test func aSourceAtItsCapStaysRefusedAfterAnUnrelatedPolicyChange() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(perSource: 2))
        let source = try ip("10.0.0.1")
        #expect(screen.admitConnection(from: source, now: 0) == .admit)
        #expect(screen.admitConnection(from: source, now: 0) == .admit)
        #expect(screen.admitConnection(from: source, now: 0) == .refuse(.maxConnectionsPerSource))
        screen.update(to: try endpoint(deny: ["192.168.0.0/16"], perSource: 2))
        #expect(screen.admitConnection(from: source, now: 1) == .refuse(.maxConnectionsPerSource))
        #expect(screen.admitConnection(from: try ip("10.0.0.2"), now: 1) == .admit, "another source is not held back")
        screen.connectionClosed(from: source)
        #expect(screen.admitConnection(from: source, now: 2) == .admit, "a slot freed after the update is reusable")
        #expect(screen.admitConnection(from: source, now: 2) == .refuse(.maxConnectionsPerSource))
        #expect(screen.openConnections == 3)
        #expect(screen.trackedSources == 2)
    }

    @Test func aRaisedPerSourceCapLetsTheSourceOpenMoreAtOnce() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(perSource: 1))
        let source = try ip("10.0.0.1")
        #expect(screen.admitConnection(from: source, now: 0) == .admit)
        #expect(screen.admitConnection(from: source, now: 0) == .refuse(.maxConnectionsPerSource))
        screen.update(to: try endpoint(perSource: 2))
        #expect(screen.admitConnection(from: source, now: 0) == .admit)
        #expect(screen.admitConnection(from: source, now: 0) == .refuse(.maxConnectionsPerSource))
    }

    @Test func aSourceOutOfRateTokensStaysOutAfterAPolicyChange() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(rate: Rate(count: 1, seconds: 60), burst: 2))
        let source = try ip("10.0.0.1")
        #expect(screen.admitConnection(from: source, now: 0) == .admit)
        #expect(screen.admitConnection(from: source, now: 0) == .admit)
        #expect(screen.admitConnection(from: source, now: 0) == .refuse(.connectionRate))
        screen.update(to: try endpoint(deny: ["192.168.0.0/16"], rate: Rate(count: 1, seconds: 60), burst: 2))
        #expect(screen.admitConnection(from: source, now: 1) == .refuse(.connectionRate), "the bucket carried over")
    }

    @Test func refusalCountsCarryOverAnUpdate() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(allow: ["127.0.0.0/8"]))
        #expect(screen.admitConnection(from: try ip("10.0.0.1"), now: 0) == .refuse(.notAllowed))
        screen.update(to: try endpoint(allow: ["127.0.0.0/8"], deny: ["127.0.0.2/32"]))
        #expect(screen.admitConnection(from: try ip("127.0.0.2"), now: 0) == .refuse(.deny))
        #expect(screen.takeRefusals() == [.notAllowed: 1, .deny: 1])
    }

    @Test func aNewSourcePrefixRegroupsSourcesAndTheTotalStaysRightAfterCloses() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(perSource: 2))
        let first = try ip("10.0.0.1")
        let second = try ip("10.0.0.2")
        #expect(screen.admitConnection(from: first, now: 0) == .admit)
        #expect(screen.admitConnection(from: first, now: 0) == .admit)
        #expect(screen.admitConnection(from: second, now: 0) == .admit)
        #expect(screen.trackedSources == 2)

        // /24: both addresses are one source now, and its state starts afresh.
        screen.update(to: try endpoint(perSource: 2, sourcePrefix: SourcePrefix(ipv4: 24, ipv6: 64)))
        #expect(screen.trackedSources == 0)
        #expect(screen.openConnections == 3)
        #expect(screen.admitConnection(from: try ip("10.0.0.3"), now: 1) == .admit)
        #expect(screen.admitConnection(from: try ip("10.0.0.4"), now: 1) == .admit)
        #expect(screen.admitConnection(from: try ip("10.0.0.5"), now: 1) == .refuse(.maxConnectionsPerSource))
        #expect(screen.trackedSources == 1)
        #expect(screen.openConnections == 5)

        for address in [first, first, second] { screen.connectionClosed(from: address) }
        #expect(screen.openConnections == 2)
        for address in ["10.0.0.3", "10.0.0.4"] {
            screen.connectionClosed(from: try ip(address), grouping: screen.grouping)
        }
        #expect(screen.openConnections == 0)
        // Every slot is free again: the regrouped source gets its full cap, no more.
        #expect(screen.admitConnection(from: try ip("10.0.0.6"), now: 2) == .admit)
        #expect(screen.admitConnection(from: try ip("10.0.0.7"), now: 2) == .admit)
        #expect(screen.admitConnection(from: try ip("10.0.0.8"), now: 2) == .refuse(.maxConnectionsPerSource))
    }

    @Test func connectionsOpenedBeforeANewSourcePrefixDoNotFreeSlotsOfConnectionsOpenedAfter() throws {
        let screen = ConnectionScreen(endpoint: try endpoint(perSource: 1))
        let old = try ip("10.0.0.1")
        #expect(screen.admitConnection(from: old, now: 0) == .admit)
        screen.update(to: try endpoint(perSource: 1, sourcePrefix: SourcePrefix(ipv4: 24, ipv6: 64)))
        #expect(screen.admitConnection(from: try ip("10.0.0.2"), now: 1) == .admit)
        // The connection from before the regrouping closes: the /24 source still holds the one opened after it.
        screen.connectionClosed(from: old)
        #expect(screen.admitConnection(from: try ip("10.0.0.3"), now: 2) == .refuse(.maxConnectionsPerSource))
        #expect(screen.openConnections == 1)
        // The one opened after it closes under its own grouping: the /24 source is free again.
        screen.connectionClosed(from: try ip("10.0.0.2"), grouping: screen.grouping)
        #expect(screen.openConnections == 0)
        #expect(screen.admitConnection(from: try ip("10.0.0.3"), now: 3) == .admit)
    }

    @Test func aSmallerSourcePrefixAlsoStartsAfresh() throws {
        let screen = ConnectionScreen(
            endpoint: try endpoint(perSource: 1, sourcePrefix: SourcePrefix(ipv4: 24, ipv6: 64)))
        #expect(screen.admitConnection(from: try ip("10.0.0.1"), now: 0) == .admit)
        #expect(screen.admitConnection(from: try ip("10.0.0.2"), now: 0) == .refuse(.maxConnectionsPerSource))
        screen.update(to: try endpoint(perSource: 1))
        #expect(screen.admitConnection(from: try ip("10.0.0.2"), now: 1) == .admit)
        #expect(screen.openConnections == 2)
    }
}
