import BerthTestSupport
import Foundation
import Testing

/// `berth serve --firewall` follows its folder in the kernel too: inside a network namespace made for the test, the
/// `inet berth` table gains an added endpoint before its port opens, loses a removed one, takes policy changes, and is
/// left alone by a rejected manifest or a kept handler.
@Suite(.serialized, NetworkNamespaces.trait, .timeLimit(.minutes(2))) struct ReloadFirewallTests {
    /// berth's notes of verified firewall state (`BERTH_STATE_DIR`), per test: never the host's /run/berth.
    let state: TemporaryFolder

    init() throws { state = try TemporaryFolder("berth-state") }

    /// berth's table as the kernel holds it: the claims its dispatch map routes, its chains, and the elements of each
    /// endpoint's sets (`tcp_7000_allow4` → `127.0.0.0/8`, …); the per-source meters, which traffic fills, are left out.
    struct KernelTable: Equatable, CustomStringConvertible {
        var claims: Set<String> = []
        var chains: Set<String> = []
        var sets: [String: Set<String>] = [:]

        var description: String { "claims \(claims.sorted()), chains \(chains.sorted()), sets \(sets)" }

        /// Lists `inet berth` in `namespace` (`nft -j`); nil when the table does not exist.
        static func read(_ namespace: NetworkNamespace) throws -> KernelTable? {
            let listing = try namespace.run("/usr/sbin/nft", ["-j", "list", "table", "inet", "berth"])
            guard listing.status == 0 else { return nil }
            let root = try JSONSerialization.jsonObject(with: Data(listing.standardOutput.utf8)) as? [String: Any]
            var table = KernelTable()
            for item in root?["nftables"] as? [[String: Any]] ?? [] {
                if let chain = item["chain"] as? [String: Any], let name = chain["name"] as? String {
                    table.chains.insert(name)
                }
                if let map = item["map"] as? [String: Any], map["name"] as? String == "dispatch" {
                    for element in map["elem"] as? [[Any]] ?? [] {
                        guard let key = element.first as? [String: Any], let pair = key["concat"] as? [Any], pair.count == 2
                        else { continue }
                        table.claims.insert("\(pair[0])/\(pair[1])")
                    }
                }
                if let set = item["set"] as? [String: Any], let name = set["name"] as? String,
                    name.hasPrefix("tcp_") || name.hasPrefix("udp_")
                {
                    table.sets[name] = Set((set["elem"] as? [Any] ?? []).map(Self.render))
                }
            }
            return table
        }

        /// A set element as text: `10.0.0.0/8` for a prefix, the address itself, else its JSON.
        static func render(_ element: Any) -> String {
            if let text = element as? String { return text }
            if let object = element as? [String: Any] {
                if let prefix = object["prefix"] as? [String: Any], let address = prefix["addr"], let length = prefix["len"] {
                    return "\(address)/\(length)"
                }
                if let inner = object["elem"] as? [String: Any], let value = inner["val"] { return render(value) }
            }
            let data = (try? JSONSerialization.data(withJSONObject: element, options: [.sortedKeys, .fragmentsAllowed])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// Reads the table until `holds` (up to `timeout` seconds); the last table read.
    static func table(in namespace: NetworkNamespace, timeout: TimeInterval = 5,
                      until holds: (KernelTable) -> Bool) throws -> KernelTable? {
        let deadline = Date() + timeout
        var last = try KernelTable.read(namespace)
        while !(last.map(holds) ?? false), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            last = try KernelTable.read(namespace)
        }
        return last
    }

    static func manifest(handlers: String? = nil) -> String {
        #"{"version": 1, "defaults": {"allow": ["127.0.0.0/8"]}"# + (handlers.map { #", "handlers": "# + $0 } ?? "") + "}\n"
    }

    /// What a TCP connection to 127.0.0.1:`port` inside `namespace` reads (empty when refused).
    static func ask(_ namespace: NetworkNamespace, port: Int) throws -> String {
        try namespace.run("/bin/sh", ["-c", "nc -N -w 2 127.0.0.1 \(port) < /dev/null"], timeout: 10).standardOutput
    }

    @Test func theKernelTableFollowsTheFolderThroughReloads() throws {
        let namespace = try NetworkNamespace(label: "reload-fw")
        defer { namespace.close() }
        let folder = try TemporaryFolder()
        let sync = FolderSync(root: folder.path)
        let answer = ReloadKeepLastGoodTests.answer
        try folder.write(["a.tcp.7000.port.js": answer("a"), "manifest.json": Self.manifest()])
        // `ip netns exec NAME env BERTH_STATE_DIR=…`, which execs berth: ServeProcess's pid is berth's.
        let (ip, netnsExec) = namespace.command("/usr/bin/env", ["BERTH_STATE_DIR=\(state.path)"])
        let launcher = [ip] + netnsExec
        let broker = try ServeProcess(
            folder: folder.path, arguments: ["--bind", "127.0.0.1", "--firewall", "--reload-debounce", "50ms"],
            readyCount: 1, launcher: launcher)
        defer { broker.stop() }
        let initial = try #require(try KernelTable.read(namespace), "\(broker.log)")
        #expect(initial.claims == ["tcp/7000"] && initial.sets["tcp_7000_allow4"] == ["127.0.0.0/8"], "\(initial)")
        #expect(try Self.ask(namespace, port: 7000) == "a\n")

        // Added: in the kernel before its port opens.
        try sync.rsync("b.tcp.7001.port.js", answer("b"))
        #expect(broker.waitForEntry { $0.message == "listening on tcp/7001" } != nil, "\(broker.log)")
        let atOpen = try KernelTable.read(namespace)
        #expect(atOpen?.claims == ["tcp/7000", "tcp/7001"], "the table had tcp/7001 when its port opened: \(String(describing: atOpen))")
        #expect(atOpen?.sets["tcp_7001_allow4"] == ["127.0.0.0/8"])
        #expect(broker.waitForReload(1)?.added == 1, "\(broker.log)")
        #expect(try Self.ask(namespace, port: 7001) == "b\n")

        // A policy change: the sets follow.
        try sync.rsync("manifest.json", Self.manifest(handlers: #"{"b": {"allow": ["127.0.0.0/8", "10.77.0.0/16"]}}"#))
        #expect(broker.waitForReload(2).map { !$0.isRejected } == true, "\(broker.log)")
        let allowed = try Self.table(in: namespace) { $0.sets["tcp_7001_allow4"] == ["127.0.0.0/8", "10.77.0.0/16"] }
        #expect(allowed?.sets["tcp_7001_allow4"] == ["127.0.0.0/8", "10.77.0.0/16"], "\(String(describing: allowed))")
        #expect(allowed?.sets["tcp_7000_allow4"] == ["127.0.0.0/8"])

        // A manifest that does not compile, then a handler that does not: the table stays as it is.
        let settled = try #require(allowed)
        try sync.overwrite("manifest.json", "{\"version\": 1, \"defaults\": {\"allow\": [\"10.0.0.0/8\"]")
        #expect(broker.waitForReload(3)?.isRejected == true, "\(broker.log)")
        try sync.overwrite("b.tcp.7001.port.js", "export function handle(conn {\n")
        try sync.rsync("manifest.json", Self.manifest(handlers: #"{"b": {"allow": ["127.0.0.0/8", "10.77.0.0/16"]}}"#))
        let kept = try #require(broker.waitForReload(4), "\(broker.log)")
        #expect(kept.kept == ["b.tcp.7001.port.js"] || broker.waitForReload(5)?.kept == ["b.tcp.7001.port.js"],
                "\(broker.reloads)")
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try KernelTable.read(namespace) == settled)
        #expect(try Self.ask(namespace, port: 7001) == "b\n")

        // Removed: gone from the kernel once its port closed.
        let before = broker.lastReloadNumber
        try sync.remove("a.tcp.7000.port.js")
        #expect(broker.waitForReload(after: before)?.removed == 1, "\(broker.log)")
        let removed = try Self.table(in: namespace) { !$0.claims.contains("tcp/7000") }
        #expect(removed?.claims == ["tcp/7001"], "\(String(describing: removed))")
        #expect(removed.map { !$0.chains.contains("tcp_7000") && !$0.sets.keys.contains { $0.hasPrefix("tcp_7000_") } } == true,
                "\(String(describing: removed))")
        #expect(try Self.ask(namespace, port: 7000) == "")
        #expect(broker.isRunning)
    }
}
