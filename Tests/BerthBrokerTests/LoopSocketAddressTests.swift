import BerthBroker
import BerthPlan
import Testing

/// SocketAddress: the text and family the handlers see.
@Suite(.timeLimit(.minutes(2)))
struct LoopSocketAddressTests {
    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1", "IPv4"), ("::1", "::1", "IPv6"), ("::ffff:10.0.0.1", "10.0.0.1", "IPv4"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1", "IPv6"),
    ])
    func parsedAddressesReadLikeNode(text: String, address: String, family: String) throws {
        let parsed = try #require(SocketAddress(address: text, port: 7000))
        #expect(parsed.address == address)
        #expect(parsed.family == family)
        #expect(parsed.port == 7000)
    }

    @Test func invalidTextOrPortIsRefused() {
        #expect(SocketAddress(address: "localhost", port: 1) == nil)
        #expect(SocketAddress(address: "127.0.0.1", port: 65_536) == nil)
        #expect(SocketAddress(address: "fe80::1%eth0", port: 1) == nil)
        #expect(SocketAddress(address: "::1", port: 443)?.description == "[::1]:443")
    }
}
