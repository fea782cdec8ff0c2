@testable import BerthFirewall
import BerthPlan
import Testing

/// The byte-level address reader the live read uses must agree with `IPAddress.init` (the plan's parser) on every
/// input, valid or not: a difference would show as drift, or hide it.
@Suite struct LiveAddressParsing {
    @Test(arguments: [
        "0.0.0.0", "10.0.0.2", "255.255.255.255", "256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1..2.3",
        "1.2.3.", ".1.2.3", "1.2.3.4 ", "", "a.b.c.d", "1234.1.1.1", "0.0.0.00", "::", "::1", "1::", "2001:db8::",
        "2001:db8:1:2::", "2001:db8:0:0:0:0:0:1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8", "1::2::3", ":::", ":1::", "1::2:", "12345::", "ABCD:ef01::", "ffff:ffff:ffff:ffff::",
        "::ffff:10.0.0.1", "::ffff:10.0.0.256", "1:2:3:4:5:6:1.2.3.4", "g::", "1:2:3:4:5:6:7", ":", "1:",
    ])
    func agreesWithIPAddress(text: String) {
        #expect(NFTablesJSON.address(text) == IPAddress(text))
    }
}
