import BerthPlan
import BerthTestSupport
import Foundation
import Testing

/// `berth plan`, `apply`, `destroy` and `serve --firewall` end to end, as root, each inside network namespaces the
/// test makes: the real binary, the real kernel, real clients.
@Suite(.timeLimit(.minutes(5)), NetworkNamespaces.trait) struct FirewallCommandTests {
    /// One TCP and one UDP handler; allowed: client 1's link, denied: client 2's.
    static let files: [String: String] = [
        "echo.tcp.7000.port.js": """
            export function handle(conn) {
              conn.write("hello\\n");
              conn.on("data", (chunk) => conn.write(chunk));
            }
            """,
        "ping.udp.9000.port.js": """
            export function message(msg, rinfo, ctx) { ctx.reply(Buffer.from("pong\\n"), rinfo); }
            """,
        "manifest.json": """
            {
              "version": 1,
              "defaults": {
                "allow": ["10.231.1.0/24", "fd00:231:1::/64", "10.231.2.0/24"],
                "deny": ["10.231.2.0/24"],
                "maxConnections": 100, "maxConnectionsPerSource": 20, "connectionRate": "100/s", "burst": 100
              }
            }
            """,
    ]

    /// berth's notes of verified firewall state (`BERTH_STATE_DIR`), per test: never the host's /run/berth.
    let state: TemporaryFolder

    init() throws { state = try TemporaryFolder("berth-state") }

    /// berth with its state in `state`, as an executable and arguments for `run` or `spawn`.
    func berthCommand(_ arguments: [String]) -> (String, [String]) {
        ("/usr/bin/env", ["BERTH_STATE_DIR=\(state.path)", BerthBinary.path] + arguments)
    }

    /// Runs berth inside `namespace`, in the package root.
    func berth(_ namespace: NetworkNamespace, _ arguments: [String]) throws -> Subprocess.Result {
        let (executable, arguments) = berthCommand(arguments)
        return try namespace.run(executable, arguments)
    }

    func handlerFolder() throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        try folder.write(Self.files)
        return folder
    }

    @Test func planApplyAndANoChangePlan() throws {
        let namespace = try NetworkNamespace(label: "cli-plan")
        defer { namespace.close() }
        let folder = try handlerFolder()
        let first = try berth(namespace, ["plan", folder.path, "--detailed-exitcode", "--no-color"])
        #expect(first.status == 2, "\(first.standardOutput)\(first.standardError)")
        #expect(first.standardOutput.contains("+ tcp/7000  echo  echo.tcp.7000.port.js"), "\(first.standardOutput)")
        #expect(first.standardOutput.contains("+ udp/9000  ping"))
        #expect(first.standardOutput.contains("Plan: 2 to add, 0 to change, 0 to remove"), "\(first.standardOutput)")

        let dryRun = try berth(namespace, ["apply", folder.path, "--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.standardError)")
        #expect(dryRun.standardOutput.contains("table inet berth"))
        #expect(try namespace.nft("list", "ruleset").isEmpty, "--dry-run changed the ruleset")

        let apply = try berth(namespace, ["apply", folder.path, "--no-color"])
        #expect(apply.status == 0, "\(apply.standardOutput)\(apply.standardError)")
        #expect(apply.standardOutput.contains("Applied"))
        let listed = try namespace.nft("list", "table", "inet", "berth")
        #expect(listed.contains("echo.tcp.7000.port.js"), "the table should name the handler file:\n\(listed)")

        let again = try berth(namespace, ["plan", folder.path, "--detailed-exitcode", "--no-color"])
        #expect(again.status == 0, "\(again.standardOutput)\(again.standardError)")
        #expect(again.standardOutput.contains("No changes"))
        #expect(again.standardOutput.contains("tcp/7000  echo  echo.tcp.7000.port.js  (no changes)"))
        let secondApply = try berth(namespace, ["apply", folder.path])
        #expect(secondApply.status == 0 && secondApply.standardOutput.contains("No changes"))
    }

    @Test func aChangedManifestShowsPerPrefixAndAHandEditShowsAsDrift() throws {
        let namespace = try NetworkNamespace(label: "cli-drift")
        defer { namespace.close() }
        let folder = try handlerFolder()
        #expect(try berth(namespace, ["apply", folder.path]).status == 0)

        try folder.write("manifest.json", Self.files["manifest.json"]!.replacingOccurrences(
            of: "\"10.231.2.0/24\"],", with: "\"10.231.2.0/24\", \"10.77.0.0/16\"],"))
        let changed = try berth(namespace, ["plan", folder.path, "--detailed-exitcode", "--no-color"])
        #expect(changed.status == 2, "\(changed.standardOutput)\(changed.standardError)")
        #expect(changed.standardOutput.contains("~ tcp/7000"), "\(changed.standardOutput)")
        #expect(changed.standardOutput.contains("+ ") && changed.standardOutput.contains("10.77.0.0/16"))
        #expect(try berth(namespace, ["apply", folder.path]).status == 0)

        // A hand edit: a rule of berth's chain deleted behind its back.
        let handles = try namespace.nft("-a", "list", "table", "inet", "berth")
        let ruleLine = try #require(handles.split(separator: "\n").first { $0.contains("drop") && $0.contains("# handle") })
        let chain = try #require(chainName(containing: String(ruleLine), in: handles))
        let handle = String(ruleLine.split(separator: " ").last!)
        try namespace.nft("delete", "rule", "inet", "berth", chain, "handle", handle)
        let drift = try berth(namespace, ["plan", folder.path, "--detailed-exitcode", "--no-color"])
        #expect(drift.status == 2, "a deleted rule must show as drift:\n\(drift.standardOutput)")
        #expect(try berth(namespace, ["apply", folder.path]).status == 0)
        #expect(try berth(namespace, ["plan", folder.path, "--detailed-exitcode"]).status == 0, "apply repairs drift")
    }

    @Test func aSavedPlanAppliesOnlyWhileNeitherTheFolderNorTheFirewallMoved() throws {
        let namespace = try NetworkNamespace(label: "cli-saved")
        defer { namespace.close() }
        let folder = try handlerFolder()
        let planFile = folder.path + "/../berth-saved-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: planFile) }

        #expect(try berth(namespace, ["plan", folder.path, "-out", planFile]).status == 0)
        let check = try BerthBinary.checkSchema("plan.schema.json", [planFile])
        #expect(check.status == 0, "\(check.standardOutput)\(check.standardError)")
        let applied = try berth(namespace, ["apply", planFile])
        #expect(applied.status == 0, "\(applied.standardOutput)\(applied.standardError)")
        let reapplied = try berth(namespace, ["apply", planFile])
        #expect(reapplied.status == 1, "the firewall changed since the plan was made (it was applied)")
        #expect(reapplied.standardError.contains("stale plan"), "\(reapplied.standardError)")

        #expect(try berth(namespace, ["plan", folder.path, "-out", planFile]).status == 0)
        try folder.write("echo.tcp.7000.port.js", "export function handle(conn) { conn.end(); }\n")
        let staleFolder = try berth(namespace, ["apply", planFile])
        #expect(staleFolder.status == 1)
        #expect(staleFolder.standardError.contains("stale plan") && staleFolder.standardError.contains("changed since"))

        #expect(try berth(namespace, ["plan", folder.path, "-out", planFile]).status == 0)
        try namespace.nft("add", "table", "inet", "unrelated")
        #expect(try berth(namespace, ["apply", planFile]).status == 0, "an unrelated table is not berth's state")
        #expect(try berth(namespace, ["plan", folder.path, "-out", planFile]).status == 0)
        try namespace.nft("delete", "table", "inet", "berth")
        let staleFirewall = try berth(namespace, ["apply", planFile])
        #expect(staleFirewall.status == 1 && staleFirewall.standardError.contains("stale plan"))

        let offline = try BerthBinary.run(["plan", "--offline", folder.path, "-out", planFile])
        #expect(offline.status == 0)
        let refused = try berth(namespace, ["apply", planFile])
        #expect(refused.status == 1 && refused.standardError.contains("--offline"), "\(refused.standardError)")
    }

    @Test func destroyLeavesTheRulesetExactlyAsBefore() throws {
        let namespace = try NetworkNamespace(label: "cli-destroy")
        defer { namespace.close() }
        try namespace.nft(script: """
            table ip host {
              chain input { type filter hook input priority 0; policy accept; tcp dport 22 accept; }
            }
            """)
        let before = try namespace.nft("list", "ruleset")
        let folder = try handlerFolder()
        #expect(try berth(namespace, ["apply", folder.path]).status == 0)
        #expect(try namespace.nft("list", "ruleset") != before)
        let dryRun = try berth(namespace, ["destroy", "--dry-run"])
        #expect(dryRun.status == 0 && dryRun.standardOutput.contains("berth"))
        let destroy = try berth(namespace, ["destroy"])
        #expect(destroy.status == 0, "\(destroy.standardError)")
        #expect(try namespace.nft("list", "ruleset") == before)
        let nothing = try berth(namespace, ["destroy"])
        #expect(nothing.status == 0 && nothing.standardOutput.contains("Nothing to destroy"))
    }

    @Test func aHostChainThatDropsIsWarnedAboutAndOpenedWithHostChain() throws {
        let topology = try NetworkTopology(clients: 1, label: "cli-host")
        defer { topology.close() }
        let server = topology.server
        try server.nft(script: """
            table inet filter {
              chain input { type filter hook input priority 0; policy drop; iif lo accept; }
            }
            """)
        let folder = try handlerFolder()
        let warned = try berth(server, ["plan", folder.path, "--no-color"])
        #expect(warned.standardError.contains("inet filter input"), "\(warned.standardError)")
        #expect(warned.standardError.contains("--host-chain"))

        let hostChain = ["--host-chain", "inet filter input"]
        let planned = try berth(server, ["plan", folder.path, "--no-color"] + hostChain)
        #expect(!planned.standardError.contains("firewall.host-chain-drops"), "\(planned.standardError)")
        #expect(try berth(server, ["apply", folder.path] + hostChain).status == 0)
        #expect(try berth(server, ["apply", folder.path] + hostChain).standardOutput.contains("No changes"))
        let withoutHostChain = try berth(server, ["plan", folder.path, "--no-color"])
        #expect(withoutHostChain.standardError.contains("firewall.host-chain-drops"),
                "a plan that would remove berth's host rule warns again:\n\(withoutHostChain.standardError)")
        #expect(withoutHostChain.standardOutput.contains("- host rule in inet filter input"), "\(withoutHostChain.standardOutput)")
        let chain = try server.nft("list", "chain", "inet", "filter", "input")
        #expect(chain.split(separator: "\n").count { $0.contains("berth") } == 1, "exactly one tagged rule:\n\(chain)")

        let (executable, arguments) = berthCommand(["serve", folder.path, "--log-format", "json"])
        let serve = try server.spawn(executable, arguments)
        defer { serve.stop() }
        #expect(serve.waitForOutput("listening on udp/9000"), "\(serve.text)")
        let client = topology.clients[0]
        #expect(try tcpGreeting(from: client.namespace, to: client.serverIPv4, port: 7000) == "hello")
        let undeclared = try server.spawn("/usr/bin/python3", ["-c", Self.listener(port: 8081)])
        defer { undeclared.stop() }
        #expect(undeclared.waitForOutput("ready"))
        #expect(try tcpGreeting(from: client.namespace, to: client.serverIPv4, port: 8081) == nil,
                "the host chain still drops ports berth does not declare")

        #expect(try berth(server, ["destroy"] + hostChain).status == 0)
        let after = try server.nft("list", "chain", "inet", "filter", "input")
        #expect(!after.contains("berth"), "\(after)")
    }

    @Test func serveWithFirewallAdmitsTheAllowedClientAndTheKernelDropsTheDenied() throws {
        let topology = try NetworkTopology(clients: 2, label: "cli-serve")
        defer { topology.close() }
        let (allowed, denied) = (topology.clients[0], topology.clients[1])
        let folder = try handlerFolder()
        let (executable, arguments) = berthCommand(["serve", folder.path, "--firewall", "--log-format", "json"])
        let serve = try topology.server.spawn(executable, arguments)
        defer { serve.stop() }
        #expect(serve.waitForOutput("listening on udp/9000"), "\(serve.text)")
        #expect(serve.text.contains("firewall table inet berth applied"), "\(serve.text)")
        let undeclared = try topology.server.spawn("/usr/bin/python3", ["-c", Self.listener(port: 8080)])
        defer { undeclared.stop() }
        #expect(undeclared.waitForOutput("ready"))

        #expect(try tcpGreeting(from: allowed.namespace, to: allowed.serverIPv4, port: 7000) == "hello")
        #expect(try tcpGreeting(from: allowed.namespace, to: "[\(allowed.serverIPv6)]", port: 7000) == "hello")
        #expect(try udpReply(from: allowed.namespace, to: allowed.serverIPv4, port: 9000) == "pong")
        #expect(try tcpGreeting(from: denied.namespace, to: denied.serverIPv4, port: 7000) == nil)
        #expect(try udpReply(from: denied.namespace, to: denied.serverIPv4, port: 9000) == nil)
        let refusedByKernel = try denied.namespace.run("/usr/bin/python3", ["-c", Self.connectOutcome(denied.serverIPv4, 7000)])
        #expect(refusedByKernel.standardOutput.contains("timeout"), "a drop, not a reset: \(refusedByKernel.standardOutput)")
        #expect(!serve.text.contains("\(denied.ipv4)"), "the broker never saw the denied client")
        #expect(try tcpGreeting(from: denied.namespace, to: denied.serverIPv4, port: 8080) == "hello",
                "a port berth does not declare is untouched")
    }

    @Test func serveWithFirewallLogsHostChainWarningsAndDoesNotStartWhenTheApplyFails() throws {
        let namespace = try NetworkNamespace(label: "cli-serve-warn")
        defer { namespace.close() }
        try namespace.nft("add table inet filter")
        try namespace.nft("add chain inet filter input { type filter hook input priority 0; policy drop; }")
        let folder = try handlerFolder()
        let (executable, arguments) = berthCommand(["serve", folder.path, "--firewall", "--bind", "127.0.0.1",
                                                    "--log-format", "json"])
        let serve = try namespace.spawn(executable, arguments)
        defer { serve.stop() }
        #expect(serve.waitForOutput("listening on udp/9000"), "\(serve.text)")
        let warning = serve.text.split(separator: "\n").first { $0.contains("firewall.host-chain-drops") }.map(String.init) ?? ""
        #expect(warning.contains("\"level\":\"warn\"") && warning.contains("inet filter input")
                    && warning.contains("--host-chain \\\"inet filter input\\\""), "\(serve.text)")
        serve.stop()

        let refused = try berth(namespace, ["serve", folder.path, "--firewall", "--host-chain", "inet filter missing",
                                            "--bind", "127.0.0.1"])
        #expect(refused.status == 1, "\(refused.standardError)")
        #expect(refused.standardError.contains("not starting: the firewall was not applied")
                    && refused.standardError.contains("firewall.host-chain-missing"), "\(refused.standardError)")
        #expect(!refused.standardError.contains("listening on"), "no port opens without the firewall")
    }

    @Test func aBadTableOrHostChainIsRefusedBeforeTheKernelIsAsked() throws {
        let table = try BerthBinary.run(["destroy", "--table", "x;flush ruleset"])
        #expect(table.status == 1 && table.standardError.contains("firewall.table-name"), "\(table.standardError)")
        let chain = try BerthBinary.run(["destroy", "--host-chain", "inet filter"])
        #expect(chain.status == 1 && chain.standardError.contains("firewall.host-chain-syntax"), "\(chain.standardError)")
    }

    @Test func withoutCapNetAdminTheErrorSaysSo() throws {
        let result = try Subprocess.run("/usr/bin/setpriv", [
            "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", BerthBinary.path, "destroy",
        ])
        #expect(result.status == 1, "\(result.standardError)")
        #expect(result.standardError.hasPrefix("berth: error: [firewall.not-permitted]"), "\(result.standardError)")
        #expect(result.standardError.contains("CAP_NET_ADMIN"))
    }

    @Test func aMissingHostChainFailsThePlan() throws {
        let namespace = try NetworkNamespace(label: "cli-nochain")
        defer { namespace.close() }
        let folder = try handlerFolder()
        let plan = try berth(namespace, ["plan", folder.path, "--host-chain", "inet filter input"])
        #expect(plan.status == 1 && plan.standardError.contains("firewall.host-chain-missing"), "\(plan.standardError)")
    }

    /// After an apply, berth's note lets the next plan skip listing its table, until anything commits to nftables.
    @Test func aNoteSkipsTheListingUntilAnythingCommits() throws {
        let namespace = try NetworkNamespace(label: "cli-note")
        defer { namespace.close() }
        let folder = try handlerFolder()
        let berth = { (arguments: [String]) throws -> Subprocess.Result in try self.berth(namespace, arguments + ["--no-color"]) }
        let plan = ["plan", folder.path, "--detailed-exitcode"]
        let notListed = "table inet berth not listed: nftables is still at generation"
        #expect(try berth(["apply", folder.path]).status == 0)
        let trusted = try berth(plan)
        #expect(trusted.status == 0 && trusted.standardOutput.contains(notListed), "\(trusted.standardOutput)\(trusted.standardError)")
        #expect(trusted.standardOutput.contains("No changes"))

        // A changed folder diffs against the ruleset kept beside the note, still without listing the table.
        let manifest = Self.files["manifest.json"]!
        try folder.write("manifest.json", manifest.replacingOccurrences(of: "\"10.231.2.0/24\"],", with: "\"10.231.2.0/24\", \"10.77.0.0/16\"],"))
        let changed = try berth(plan)
        #expect(changed.status == 2 && changed.standardOutput.contains(notListed), "\(changed.standardOutput)\(changed.standardError)")
        #expect(changed.standardOutput.contains("+ allow 10.77.0.0/16"), "\(changed.standardOutput)")
        let kept = try FileManager.default.contentsOfDirectory(atPath: state.path + "/rulesets")
        #expect(kept.count == 1, "one ruleset for the one note: \(kept)")
        try Data("{}".utf8).write(to: URL(fileURLWithPath: state.path + "/rulesets/" + kept[0]))
        let unkept = try berth(plan)
        #expect(unkept.status == 2 && !unkept.standardOutput.contains(notListed), "a kept ruleset that does not hash to the note is not used")
        #expect(unkept.standardOutput.contains("+ allow 10.77.0.0/16"))
        try folder.write("manifest.json", manifest)

        try namespace.nft("add element inet berth tcp_7000_allow4 { 172.16.0.0/12 }")
        let drifted = try berth(plan)
        #expect(drifted.status == 2 && !drifted.standardOutput.contains(notListed), "a hand edit is a commit: \(drifted.standardOutput)")
        #expect(drifted.standardOutput.contains("- allow 172.16.0.0/12"), "\(drifted.standardOutput)")

        #expect(try berth(["apply", folder.path]).status == 0)
        let bypassed = try berth(plan + ["--no-cache"])
        #expect(bypassed.status == 0 && !bypassed.standardOutput.contains(notListed), "\(bypassed.standardOutput)")

        try namespace.nft("add table ip unrelated")
        let relisted = try berth(plan)
        #expect(relisted.status == 0 && !relisted.standardOutput.contains(notListed), "any commit lists the table again")
        let noted = try berth(plan)
        #expect(noted.status == 0 && noted.standardOutput.contains(notListed), "a full read that finds no change is noted too")

        #expect(chmod(state.path + "/firewall.verified", 0o666) == 0)
        let untrusted = try berth(plan)
        #expect(untrusted.status == 0 && !untrusted.standardOutput.contains(notListed), "a note others may write is ignored")
    }

    // MARK: - Peers

    /// A python3 TCP listener on every address that greets with "hello" and prints "ready" once bound.
    static func listener(port: Int) -> String {
        """
        import socket
        s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(("::", \(port))); s.listen(16)
        print("ready", flush=True)
        while True:
            c, _ = s.accept(); c.sendall(b"hello\\n"); c.close()
        """
    }

    /// Prints "connected", "refused" or "timeout" for one TCP connect with a 2 s timeout.
    static func connectOutcome(_ host: String, _ port: Int) -> String {
        """
        import socket
        try:
            socket.create_connection(("\(host)", \(port)), timeout=2); print("connected")
        except ConnectionRefusedError: print("refused")
        except (socket.timeout, TimeoutError): print("timeout")
        """
    }

    /// The first line a TCP server sends, or nil when the connection does not open within 2 s.
    func tcpGreeting(from namespace: NetworkNamespace, to host: String, port: Int) throws -> String? {
        let address = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let script = """
            import socket
            try:
                c = socket.create_connection(("\(address)", \(port)), timeout=2); print(c.makefile().readline().strip())
            except OSError: pass
            """
        let line = try namespace.run("/usr/bin/python3", ["-c", script]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        return line.isEmpty ? nil : line
    }

    /// The reply to one datagram, or nil when none arrives within 2 s.
    func udpReply(from namespace: NetworkNamespace, to host: String, port: Int) throws -> String? {
        let script = """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
            s.sendto(b"ping", ("\(host)", \(port)))
            try: print(s.recv(100).decode().strip())
            except OSError: pass
            """
        let line = try namespace.run("/usr/bin/python3", ["-c", script]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        return line.isEmpty ? nil : line
    }

    /// The name of the chain whose listing contains `line` (`nft -a list table` output).
    func chainName(containing line: String, in listing: String) -> String? {
        var current: String?
        for row in listing.split(separator: "\n") {
            let trimmed = row.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("chain ") { current = trimmed.split(separator: " ")[1].description }
            if row == line { return current }
        }
        return nil
    }
}
