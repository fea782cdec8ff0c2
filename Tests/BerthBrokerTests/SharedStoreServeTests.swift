import BerthTestSupport
import Foundation
import Testing

/// `ctx.shared` through a running broker: the seed examples verbatim, and handlers sharing keys and channels.
@Suite(.serialized, .timeLimit(.minutes(5))) struct SharedStoreServeTests {
    /// Loopback only, with limits generous enough for load tests from one source address.
    static let allowLoopback = #"""
        {"version": 1, "defaults": {"allow": ["127.0.0.0/8", "::1"], "maxConnections": 4096,
         "maxConnectionsPerSource": 4096, "connectionRate": "100000/s", "burst": 100000, "datagramRate": "100000/s"}}
        """#

    func example(_ name: String) throws -> String {
        try String(contentsOfFile: PackagePaths.path("examples/\(name)"), encoding: .utf8)
    }

    @Test func seedPingCountsAcrossDatagrams() throws {
        let port = try FreePort.udp()
        let folder = try TemporaryFolder()
        try folder.write(["ping.udp.\(port).port.js": try example("ping.udp.9000.port.js"), "manifest.json": Self.allowLoopback])
        let broker = try ServeProcess(folder: folder.path, readyCount: 1)
        defer { broker.stop() }
        let node = try NodePeer.run("""
            const dgram = require("dgram");
            const socket = dgram.createSocket("udp4");
            const replies = [];
            const next = () => socket.send("ping", \(port), "127.0.0.1");
            socket.on("message", (m) => { replies.push(m.toString()); if (replies.length === 3) { process.stdout.write(replies.join("")); socket.close(); } else next(); });
            next();
            setTimeout(() => { console.log("timeout", replies); process.exit(1); }, 10000).unref();
            """)
        #expect(node.standardOutput == "pong #1\npong #2\npong #3\n", "\(node.standardOutput)\(node.standardError)\n\(broker.log)")
    }

    @Test func seedRelayFansOutToFiftyClientsAndPresenceReturnsToZero() throws {
        let (relay, peers) = (try FreePort.tcp(), try FreePort.tcp())
        let folder = try TemporaryFolder()
        try folder.write([
            "relay.tcp.\(relay).port.js": try example("relay.tcp.4000.port.js"),
            // A second handler reading the relay's key: two handlers share one store.
            "peers.tcp.\(peers).port.js": """
                export async function handle(conn, ctx) {
                  conn.end(`${(await ctx.shared.get("relay:peers")) ?? 0}\\n`);
                }
                """,
            "manifest.json": Self.allowLoopback,
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 2)
        defer { broker.stop() }
        let node = try NodePeer.run("""
            const net = require("net");
            const [relay, peersPort] = process.argv.slice(1).map(Number);
            const CLIENTS = 50;
            const peers = () => new Promise((resolve) => {
              const s = net.connect(peersPort, "127.0.0.1"); let t = "";
              s.setEncoding("utf8"); s.on("data", (d) => t += d); s.on("close", () => resolve(Number(t.trim())));
            });
            const waitPeers = async (n) => { for (let i = 0; i < 200; i++) { if (await peers() === n) return true; await new Promise((r) => setTimeout(r, 25)); } return false; };
            (async () => {
              const clients = [];
              for (let i = 0; i < CLIENTS; i++) {
                const s = net.connect(relay, "127.0.0.1");
                s.setEncoding("utf8");
                s.got = "";
                s.on("data", (d) => s.got += d);
                clients.push(s);
              }
              const joined = await waitPeers(CLIENTS);
              clients.forEach((s, i) => s.write(`line from ${i}\\n`));
              const expectedLength = (i) => clients.reduce((n, _, j) => j === i ? n : n + `line from ${j}\\n`.length, 0);
              for (let t = 0; t < 400 && clients.some((s, i) => s.got.length < expectedLength(i)); t++) await new Promise((r) => setTimeout(r, 25));
              let bad = 0;
              clients.forEach((s, i) => {
                const lines = s.got.split("\\n").filter(Boolean).sort();
                const want = clients.map((_, j) => `line from ${j}`).filter((_, j) => j !== i).sort();
                if (JSON.stringify(lines) !== JSON.stringify(want)) bad++;
              });
              clients.forEach((s) => s.end());
              const left = await waitPeers(0);
              console.log(`joined=${joined} bad=${bad} left=${left}`);
            })();
            """, arguments: [String(relay), String(peers)], timeout: 90)
        #expect(node.standardOutput == "joined=true bad=0 left=true\n", "\(node.standardOutput)\(node.standardError)\n\(broker.log)")
    }

    @Test func twoHandlersShareAChannel() throws {
        let (speaker, listener) = (try FreePort.tcp(), try FreePort.tcp())
        let folder = try TemporaryFolder()
        try folder.write([
            "speaker.tcp.\(speaker).port.js": """
                export function handle(conn, ctx) {
                  conn.setEncoding("utf8");
                  conn.on("data", (text) => ctx.shared.publish("news", { text: text.trim(), at: new Date(0), tags: new Set(["a"]) }));
                }
                """,
            "listener.tcp.\(listener).port.js": """
                export function handle(conn, ctx) {
                  const off = ctx.shared.subscribe("news", (item) => conn.write(`${item.text} ${item.at.getTime()} ${[...item.tags]}\\n`));
                  conn.on("close", off);
                  conn.write("ready\\n");
                }
                """,
            "manifest.json": Self.allowLoopback,
        ])
        let broker = try ServeProcess(folder: folder.path, readyCount: 2)
        defer { broker.stop() }
        let node = try NodePeer.run("""
            const net = require("net");
            const [speaker, listener] = process.argv.slice(1).map(Number);
            const l = net.connect(listener, "127.0.0.1"); l.setEncoding("utf8");
            let got = "";
            l.on("data", (d) => {
              got += d;
              if (got === "ready\\n") { const s = net.connect(speaker, "127.0.0.1", () => { s.end("hello\\n"); }); }
              if (got.endsWith("hello 0 a\\n")) { console.log(JSON.stringify(got)); process.exit(0); }
            });
            setTimeout(() => { console.log("timeout", JSON.stringify(got)); process.exit(1); }, 10000).unref();
            """, arguments: [String(speaker), String(listener)])
        #expect(node.standardOutput == "\"ready\\nhello 0 a\\n\"\n", "\(node.standardOutput)\(node.standardError)\n\(broker.log)")
    }
}
