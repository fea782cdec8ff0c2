import BerthCompiler
import BerthPlan
import BerthTestSupport
import Foundation
import Testing

/// Layering of defaults and selectors, and the refusal of endpoints whose policy is in doubt.
@Suite struct PolicyResolutionTests {
    func compile(_ manifest: String, files: [String: String] = [:]) throws -> DeploymentPlan {
        let folder = try TemporaryFolder()
        try folder.write(["echo.tcp.7000.port.js": tcpHandler, "echo.udp.7000.port.js": udpHandler,
                          "ping.udp.9000.port.js": udpHandler, "manifest.json": manifest])
        try folder.write(files)
        return try Compiler.compile(folder: folder.path)
    }

    func endpoint(_ plan: DeploymentPlan, _ claim: String) throws -> Endpoint {
        try #require(plan.endpoints.first { $0.claim == claim }, "\(claim) not served: \(Golden.render(plan.diagnostics))")
    }

    @Test func builtInDefaults() throws {
        let plan = try compile(minimalManifest)
        let tcp = try endpoint(plan, "tcp/7000")
        #expect(tcp.policy.allow.prefixes.map(\.description) == ["0.0.0.0/0", "::/0"])
        #expect(tcp.policy.deny.isEmpty)
        #expect(tcp.limits == Limits(
            maxConnections: 1024, maxConnectionsPerSource: 64, connectionRate: Rate(count: 50, seconds: 1),
            datagramRate: Rate(count: 1000, seconds: 1), burst: 100, idleTimeoutMilliseconds: 300_000,
            maxBufferedBytes: 1_048_576, sourcePrefix: SourcePrefix(ipv4: 32, ipv6: 64)))
        #expect(try endpoint(plan, "udp/9000").limits.burst == 2000)
    }

    @Test func mostSpecificSelectorWinsKeyByKey() throws {
        let plan = try compile("""
            {"version": 1,
             "defaults": {"maxConnections": 100, "allow": ["10.0.0.0/8"], "idleTimeout": "1m"},
             "handlers": {
               "echo": {"maxConnections": 200, "maxConnectionsPerSource": 5},
               "tcp/7000": {"maxConnections": 300},
               "echo.tcp.7000.port.js": {"allow": ["192.168.0.0/16"]},
               "udp/7000": {"datagramRate": "600/m"}}}
            """)
        let tcp = try endpoint(plan, "tcp/7000")
        #expect(tcp.limits.maxConnections == 300)
        #expect(tcp.limits.maxConnectionsPerSource == 5)
        #expect(tcp.limits.idleTimeoutMilliseconds == 60_000)
        #expect(tcp.policy.allow.prefixes.map(\.description) == ["192.168.0.0/16"])
        let udp = try endpoint(plan, "udp/7000")
        #expect(udp.limits.datagramRate == Rate(count: 600, seconds: 60))
        #expect(udp.limits.burst == 20)
        #expect(udp.policy.allow.prefixes.map(\.description) == ["10.0.0.0/8"])
        #expect(try endpoint(plan, "udp/9000").limits.maxConnections == 100)
    }

    /// Each entry finds its selectors through an index; the layers must still apply file > claim > name, whatever
    /// order the manifest lists them in.
    @Test(arguments: [[0, 1, 2], [2, 1, 0], [1, 2, 0]])
    func severalSelectorsOfOneEntryApplyBySpecificity(order: [Int]) throws {
        // The name sets three keys, the claim two, the file one: each key comes from its most specific setter.
        let selectors = [
            #""echo": {"burst": 10, "maxConnections": 100, "allow": ["10.0.0.0/8"]}"#,
            #""tcp/7000": {"burst": 20, "maxConnections": 200}"#,
            #""echo.tcp.7000.port.js": {"burst": 30}"#,
        ]
        let handlers = order.map { selectors[$0] }.joined(separator: ", ")
        let plan = try compile(#"{"version": 1, "handlers": {"# + handlers + "}}")
        let tcp = try endpoint(plan, "tcp/7000")
        #expect(tcp.limits.burst == 30)
        #expect(tcp.limits.maxConnections == 200)
        #expect(tcp.policy.allow.prefixes.map(\.description) == ["10.0.0.0/8"])
        // The name selects the UDP echo too; the claim and the file do not.
        let udp = try endpoint(plan, "udp/7000")
        #expect(udp.limits.burst == 10 && udp.policy.allow.prefixes.map(\.description) == ["10.0.0.0/8"])
        #expect(try endpoint(plan, "udp/9000").limits.burst == 2000)
        #expect(plan.diagnostics.isEmpty, "\(Golden.render(plan.diagnostics))")
    }

    /// Whether a key applies is judged over every entry a selector matches.
    @Test func keysApplyingToNoSelectedTransportAreFlagged() throws {
        let plan = try compile("""
            {"version": 1, "handlers": {"echo": {"datagramRate": "10/s", "maxConnections": 500},
             "ping": {"maxConnections": 500}, "udp/7000": {"tls": {"cert": "c.pem", "key": "k.pem"}}, "nothing": {}}}
            """)
        // echo selects TCP and UDP, so both its keys apply; ping is UDP only; udp/7000 cannot have TLS.
        let codes: [Diagnostic.Code] = [.manifestKeyNotApplicable, .manifestSelectorUnmatched, .tlsUDP]
        #expect(plan.diagnostics.map(\.code).sorted() == codes.sorted())
        #expect(plan.diagnostics.first { $0.code == .manifestKeyNotApplicable }?.message.contains("\"ping\"") == true)
        #expect(plan.refused.map(\.file) == ["echo.udp.7000.port.js"])
    }

    @Test func anErrorInASelectorRefusesOnlyWhatItSelects() throws {
        let plan = try compile(#"{"version": 1, "handlers": {"ping": {"allow": ["10.0.0.1/8"]}}}"#)
        #expect(plan.endpoints.map(\.claim) == ["tcp/7000", "udp/7000"])
        #expect(plan.refused.map(\.file) == ["ping.udp.9000.port.js"])
        #expect(plan.refused.first?.reasons == [.manifestCIDRHostBits])
    }

    /// Unknown keys, wrong types and a repeated selector are errors inside a selector: the README's rule holds for
    /// them as for bad values (once, a typo under one selector refused every endpoint).
    @Test(arguments: [
        #"{"version": 1, "handlers": {"ping": {"maxConnectionz": 5}}}"#,
        #"{"version": 1, "handlers": {"ping": {"datagramRate": 5}}}"#,
        #"{"version": 1, "handlers": {"ping": "open"}}"#,
        #"{"version": 1, "handlers": {"ping": {"sourcePrefix": {"ipv5": 1}}}}"#,
        #"{"version": 1, "handlers": {"ping": {"burst": 1, "burst": 2}}}"#,
        #"{"version": 1, "handlers": {"ping": {}, "ping": {}}}"#,
    ])
    func aStructuralErrorInASelectorRefusesOnlyWhatItSelects(manifest: String) throws {
        let plan = try compile(manifest)
        #expect(plan.endpoints.map(\.claim) == ["tcp/7000", "udp/7000"])
        #expect(plan.refused.map(\.file) == ["ping.udp.9000.port.js"])
    }

    @Test(arguments: [
        #"{"version": 1, "defaults": {"maxConnectionz": 5}}"#,
        #"{"version": 1, "defaults": {"allow": ["10.0.0.1/8"]}}"#,
        #"{"version": 1, "defaults": {"allow": ["10.0.0.0/8"]}, "handler": {}}"#,
        #"{"version": 2}"#,
        #"{"version": 1,}"#,
        #"[1]"#,
        #"{"version": 1, "handlers": {"bad selector": {"deny": ["10.0.0.0/8"]}}}"#,
    ])
    func aGlobalManifestErrorRefusesEverything(manifest: String) throws {
        let plan = try compile(manifest)
        #expect(plan.endpoints.isEmpty)
        #expect(plan.refused.count == 3)
        #expect(plan.diagnostics.hasErrors)
    }

    @Test func denyIsKeptBesideAllowAndBothAreMerged() throws {
        let plan = try compile(#"{"version": 1, "defaults": {"allow": ["10.0.0.0/9", "10.128.0.0/9", "::1"], "deny": ["10.9.0.0/16"]}}"#)
        let tcp = try endpoint(plan, "tcp/7000")
        #expect(tcp.policy.allow.prefixes.map(\.description) == ["10.0.0.0/8", "::1/128"])
        #expect(tcp.policy.deny.prefixes.map(\.description) == ["10.9.0.0/16"])
        #expect(!tcp.policy.admits(try #require(IPAddress("10.9.1.1"))))
        #expect(tcp.policy.admits(try #require(IPAddress("::ffff:10.8.1.1"))))
    }

    @Test func denyUnusedIsJudgedAcrossEveryEndpointItAppliesTo() throws {
        // The default deny cuts into echo's allow (so it is used), though not into ping's.
        let plan = try compile("""
            {"version": 1, "defaults": {"allow": ["192.168.0.0/16"], "deny": ["10.9.0.0/16"]},
             "handlers": {"echo": {"allow": ["10.0.0.0/8"]}}}
            """)
        #expect(!plan.diagnostics.contains { $0.code == .manifestDenyUnused })
    }

    @Test func sourcePrefixIsResolved() throws {
        let plan = try compile(#"{"version": 1, "defaults": {"sourcePrefix": {"ipv6": 56}}, "handlers": {"ping": {"sourcePrefix": {"ipv4": 24}}}}"#)
        #expect(try endpoint(plan, "udp/9000").limits.sourcePrefix == SourcePrefix(ipv4: 24, ipv6: 56))
        #expect(try endpoint(plan, "tcp/7000").limits.sourcePrefix == SourcePrefix(ipv4: 32, ipv6: 56))
    }

    /// Redundant entries are found by one sort; the warnings must be exactly what comparing every pair gives: each
    /// entry covered by another (or a repeat of an earlier one), naming the first cover in list order.
    @Test(arguments: [1, 2, 3]) func redundantEntriesMatchThePairwiseDefinition(seed: UInt64) throws {
        var random = seed &* 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((random >> 33) % UInt64(bound))
        }
        // Few distinct prefixes over a small space, so nesting and repeats are common; both families.
        let texts: [String] = (0..<80).map { _ in
            let length = [8, 16, 24, 32][next(4)]
            let value = (UInt32(10) << 24 | UInt32(next(2)) << 16 | UInt32(next(2)) << 8 | UInt32(next(2)))
                & (length == 32 ? ~0 : ~(UInt32.max >> length))
            return next(5) == 0 ? ["::/0", "fd00::/8", "fd00::/16"][next(3)]
                : "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)/\(length)"
        }
        let plan = try compile("{\"version\": 1, \"defaults\": {\"allow\": [\n"
            + texts.map { "\"\($0)\"" }.joined(separator: ",\n") + "\n]}}\n")
        let prefixes = try texts.map { try IPPrefix.parse($0).get() }
        var expected: [String] = []
        for (index, entry) in prefixes.enumerated() {
            guard let cover = prefixes.indices.first(where: { other in
                other != index && prefixes[other].contains(entry) && (prefixes[other] != entry || other < index)
            }) else { continue }
            expected.append("\(index + 2): \(prefixes[cover] == entry ? "appears twice" : "covered by \(prefixes[cover])")")
        }
        let warned = plan.diagnostics.filter { $0.code == .manifestCIDRRedundant }.map { diagnostic in
            let what = diagnostic.message.contains("appears twice") ? "appears twice"
                : "covered by " + diagnostic.message.components(separatedBy: "covered by ")[1].components(separatedBy: " in")[0]
            return "\(diagnostic.location?.line ?? 0): \(what)"
        }
        #expect(!expected.isEmpty)
        #expect(warned == expected)
    }
}
