import BerthPlan
import Testing

@Suite struct IPPrefixTests {
    @Test(arguments: ["0.0.0.0", "255.255.255.255", "10.0.100.9", "1.20.3.199", "192.168.10.1", "99.100.9.10"])
    func ipv4TextRoundTrips(text: String) throws {
        #expect(try #require(IPAddress(text)).description == text)
    }

    @Test(arguments: [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("192.0.2.1/32", "192.0.2.1/32"),
        ("192.0.2.1", "192.0.2.1/32"),
        ("255.255.255.255/32", "255.255.255.255/32"),
        ("100.10.1.0/24", "100.10.1.0/24"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("2001:DB8:0:0:0:0:0:0/32", "2001:db8::/32"),
        ("2001:0db8:0000::/48", "2001:db8::/48"),
        ("::/0", "::/0"),
        ("::1/128", "::1/128"),
        ("::1", "::1/128"),
        ("fe80::/10", "fe80::/10"),
        ("2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128"),
        ("2001:db8::ffff:0:0/96", "2001:db8::ffff:0:0/96"),
        ("1:2:3:4:5:6:7:8/128", "1:2:3:4:5:6:7:8/128"),
        ("1::/16", "1::/16"),
    ])
    func canonicalForms(text: String, canonical: String) throws {
        let prefix = try IPPrefix.parse(text).get()
        #expect(prefix.description == canonical)
    }

    @Test(arguments: ["10.0.0/8", "10.0.0.256/32", "10.0.0.01/32", "010.0.0.0/8", "1.2.3.4/", "1.2.3.4/-1",
                      "1.2.3.4/08", "::1::2/128", "1:2:3:4:5:6:7:8:9/128", "12345::/16", "", "/8", "a.b.c.d/8",
                      "10.0.0.0/8/8", " 10.0.0.0/8", "2001:db8::g/64"])
    func syntaxErrors(text: String) {
        guard case .failure(.syntax) = IPPrefix.parse(text) else {
            Issue.record("\(text) parsed as \(IPPrefix.parse(text))")
            return
        }
    }

    @Test func syntaxMessagesQuoteTheText() {
        #expect(IPPrefix.parse("1.2.3.4/x") == .failure(.syntax(#""x" is not a prefix length"#)))
        #expect(IPPrefix.parse("10.01.0.0/16") == .failure(.syntax(#""10.01.0.0" has an octet with a leading zero"#)))
        #expect(IPPrefix.parse("é/8") == .failure(.syntax(#""é" is not an IPv4 or IPv6 address"#)))
    }

    @Test func scopeIDsAreRejected() {
        #expect(IPPrefix.parse("fe80::1%eth0/64") == .failure(.scopeID))
        #expect(IPPrefix.parse("fe80::1%1") == .failure(.scopeID))
    }

    @Test func hostBitsGiveTheCanonicalPrefix() throws {
        guard case .failure(.hostBitsSet(let canonical)) = IPPrefix.parse("10.0.0.1/8") else {
            Issue.record("expected host bits"); return
        }
        #expect(canonical.description == "10.0.0.0/8")
        guard case .failure(.hostBitsSet(let v6)) = IPPrefix.parse("2001:db8::1/32") else {
            Issue.record("expected host bits"); return
        }
        #expect(v6.description == "2001:db8::/32")
    }

    @Test func prefixLengthsOutOfRange() {
        #expect(IPPrefix.parse("10.0.0.0/33") == .failure(.lengthOutOfRange(family: .ipv4, length: "33")))
        #expect(IPPrefix.parse("::/129") == .failure(.lengthOutOfRange(family: .ipv6, length: "129")))
        #expect((try? IPPrefix.parse("10.1.2.3/32").get())?.length == 32)
        #expect((try? IPPrefix.parse("::/128").get())?.length == 128)
    }

    @Test func ipv4MappedPrefixesBecomeIPv4() throws {
        #expect(IPPrefix.parse("::ffff:10.0.0.0/104")
                == .failure(.ipv4Mapped(equivalent: try IPPrefix.parse("10.0.0.0/8").get())))
        #expect(IPPrefix.parse("::ffff:10.1.2.3")
                == .failure(.ipv4Mapped(equivalent: try IPPrefix.parse("10.1.2.3/32").get())))
    }

    @Test func ipv4MappedSourcesMatchIPv4Rules() throws {
        let prefix = try IPPrefix.parse("10.0.0.0/8").get()
        #expect(prefix.contains(try #require(IPAddress("::ffff:10.1.2.3"))))
        #expect(!prefix.contains(try #require(IPAddress("::ffff:11.1.2.3"))))
        #expect(try #require(IPAddress("::ffff:10.1.2.3")).description == "::ffff:10.1.2.3")
        #expect(try #require(IPAddress("::ffff:10.1.2.3")).unmapped.description == "10.1.2.3")
    }

    @Test func containmentAndOverlap() throws {
        let wide = try IPPrefix.parse("10.0.0.0/8").get()
        let narrow = try IPPrefix.parse("10.1.0.0/16").get()
        let other = try IPPrefix.parse("11.0.0.0/8").get()
        #expect(wide.contains(narrow) && !narrow.contains(wide))
        #expect(wide.overlaps(narrow) && !wide.overlaps(other))
        let all = try IPPrefix.parse("0.0.0.0/0").get()
        #expect(all.first == 0 && all.last == UInt128(UInt32.max))
        let all6 = try IPPrefix.parse("::/0").get()
        #expect(all6.last == UInt128.max)
        #expect(!all.overlaps(all6))
    }
}

@Suite struct PrefixSetTests {
    private func set(_ texts: [String]) throws -> PrefixSet { PrefixSet(try texts.map { try IPPrefix.parse($0).get() }) }

    @Test func overlappingAndAdjacentPrefixesMerge() throws {
        let merged = try set(["10.0.0.0/9", "10.128.0.0/9", "10.1.0.0/16", "192.168.1.0/24", "192.168.0.0/24"])
        #expect(merged.ipv4.map(\.description) == ["10.0.0.0/8", "192.168.0.0/23"])
        let v6 = try set(["2001:db8::/33", "2001:db8:8000::/33", "::1/128"])
        #expect(v6.ipv6.map(\.description) == ["::1/128", "2001:db8::/32"])
    }

    @Test func unalignedRangesSplitIntoTheFewestPrefixes() throws {
        let merged = try set(["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/30"])
        #expect(merged.ipv4.map(\.description) == ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/30"])
        let whole = try set(["0.0.0.0/1", "128.0.0.0/1"])
        #expect(whole.ipv4.map(\.description) == ["0.0.0.0/0"])
        let whole6 = try set(["::/1", "8000::/1"])
        #expect(whole6.ipv6.map(\.description) == ["::/0"])
    }

    @Test func orderOfInputDoesNotMatter() throws {
        let a = try set(["10.0.0.0/8", "::1/128", "172.16.0.0/12"])
        let b = try set(["172.16.0.0/12", "::1/128", "10.0.0.0/8"])
        #expect(a == b)
    }

    @Test func lookupAndCoverage() throws {
        let allow = try set(["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"])
        #expect(allow.contains(try #require(IPAddress("10.200.1.1"))))
        #expect(allow.contains(try #require(IPAddress("::ffff:192.168.3.4"))))
        #expect(!allow.contains(try #require(IPAddress("11.0.0.1"))))
        #expect(allow.contains(try #require(IPAddress("2001:db8:1::5"))))
        #expect(!allow.contains(try #require(IPAddress("2001:db9::1"))))
        #expect(allow.covers(try IPPrefix.parse("10.9.0.0/16").get()))
        #expect(!allow.covers(try IPPrefix.parse("10.0.0.0/7").get()))
        #expect(allow.intersects(try IPPrefix.parse("10.0.0.0/7").get()))
        let address = try #require(IPAddress("10.0.0.1"))
        #expect(PrefixSet.empty.isEmpty && !PrefixSet.empty.contains(address))
    }

    /// `covers` and `intersects` search the normalised prefixes; they must agree with the merged ranges they stand for.
    @Test(arguments: [1, 2, 3]) func coverageMatchesTheMergedRanges(seed: UInt64) {
        var random = seed &* 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((random >> 33) % UInt64(bound))
        }
        // Short prefixes over 10.0.0.0/26, so adjacency, nesting and gaps are all common.
        func prefix() -> IPPrefix {
            let length = 26 + next(7)
            return IPPrefix(family: .ipv4, address: UInt128(0x0A00_0000 | next(64)), length: length)
        }
        for _ in 0..<200 {
            let set = PrefixSet((0..<next(8)).map { _ in prefix() })
            let ranges = set.intervals(.ipv4)
            for _ in 0..<20 {
                let probe = prefix()
                let (first, last) = (probe.first, probe.last)
                #expect(set.covers(probe) == ranges.contains { $0.lowerBound <= first && last <= $0.upperBound })
                #expect(set.intersects(probe) == ranges.contains { $0.lowerBound <= last && first <= $0.upperBound })
            }
        }
    }

    @Test func denyWinsOverAllow() throws {
        let policy = Policy(allow: try set(["10.0.0.0/8"]), deny: try set(["10.9.0.0/16"]))
        #expect(policy.admits(try #require(IPAddress("10.1.2.3"))))
        #expect(!policy.admits(try #require(IPAddress("10.9.2.3"))))
        #expect(!policy.admits(try #require(IPAddress("::ffff:10.9.2.3"))))
        #expect(!policy.admits(try #require(IPAddress("192.0.2.1"))))
    }
}
