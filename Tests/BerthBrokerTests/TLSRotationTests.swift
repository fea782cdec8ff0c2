import BerthTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Certificates rotated without a restart while clients connect in a loop: new handshakes get the new pair, open
/// connections keep working, no handshake fails, no handler runtime is replaced; a broken pair keeps the last good one
/// and the reload line says why; SIGHUP rotates when the folder is not watched.
@Suite(.serialized, .timeLimit(.minutes(5))) struct TLSRotationTests {
    /// Echoes; logs once per runtime (so a TLS-only reload can be seen to keep it).
    static let handler = """
        export function open() { console.log("rotation handler opened"); }
        export function handle(conn) { conn.on("data", (data) => conn.write(data)); conn.on("error", () => {}); }

        """

    /// Four workers open TLS connections one after another (each: handshake verified against the CA for
    /// rotate.test, one echo, end), beside one long-lived connection that echoes every 100 ms. On SIGUSR2 (or after
    /// 60 s) it prints what it saw: handshakes per serial, failures, handshakes that started after a new serial was
    /// first seen yet got an older one, and the long connection's echoes.
    static let loadClient = """
        const tls = require("tls"), fs = require("fs");
        const [port, caPath] = process.argv.slice(1);
        const options = { host: "127.0.0.1", port: Number(port), ca: fs.readFileSync(caPath), servername: "rotate.test" };
        const serials = {}, order = [], errors = [];
        const firstSeen = {};
        let handshakes = 0, failures = 0, staleAfterNew = 0, stopping = false;
        const once = () => new Promise((resolve) => {
          const started = Date.now();
          let serial = null, text = "";
          const socket = tls.connect(options, () => {
            serial = socket.getPeerCertificate().serialNumber;
            handshakes++;
            serials[serial] = (serials[serial] || 0) + 1;
            if (!(serial in firstSeen)) { firstSeen[serial] = Date.now(); order.push(serial); console.log(`serial ${serial}`); }
            const newest = order[order.length - 1];
            if (serial !== newest && started > firstSeen[newest]) staleAfterNew++;
            socket.write("ping\\n");
          });
          socket.setEncoding("utf8");
          socket.on("data", (data) => { text += data; if (text === "ping\\n") socket.end(); });
          socket.on("error", (error) => { if (errors.length < 5) errors.push(error.message); });
          socket.on("close", () => { if (text !== "ping\\n") failures++; resolve(); });
        });
        const worker = async () => { for (let n = 0; n < 5000 && !stopping; n++) await once(); };

        let longSent = 0, longEchoed = 0, longClosed = false, longTimer;
        const longErrors = [];
        const long = tls.connect(options, () => {
          longTimer = setInterval(() => long.write(`long ${longSent++}\\n`), 100);
        });
        long.setEncoding("utf8");
        long.on("data", (data) => { longEchoed += data.split("\\n").length - 1; });
        long.on("error", (error) => longErrors.push(error.message));
        long.on("close", () => { longClosed = true; });

        const workers = [worker(), worker(), worker(), worker()];
        const finish = async () => {
          stopping = true;
          clearInterval(longTimer);
          await Promise.all(workers);
          await new Promise((resolve) => setTimeout(resolve, 300));
          console.log(JSON.stringify({ handshakes, failures, errors, serials, order, staleAfterNew,
            long: { sent: longSent, echoed: longEchoed, closed: longClosed, errors: longErrors } }));
          long.destroy();
          process.exit(0);
        };
        process.on("SIGUSR2", finish);
        setTimeout(finish, 60000);
        """

    /// How a deployment tool puts a renewed pair in place.
    enum Replacement: String, CaseIterable, CustomTestStringConvertible {
        /// The key, then the certificate, each written under a temporary name and renamed over the old file
        /// (acme.sh's install step, rsync).
        case renamedFiles = "temporary files renamed"
        /// certbot's way: new files in `archive/`, then the `live/` symbolic links pointed at them (each link made
        /// under a temporary name and renamed over the old link).
        case switchedLinks = "live/ links switched to archive/"

        var testDescription: String { rawValue }
    }

    /// What the load client printed when it finished.
    struct LoadReport {
        var handshakes: Int
        var failures: Int
        var serials: [String: Int]
        var order: [String]
        var staleAfterNew: Int
        var longSent: Int
        var longEchoed: Int
        var longClosed: Bool
        var text: String

        init(_ text: String) throws {
            self.text = text
            guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let long = object["long"] as? [String: Any]
            else { throw PeerFailure(description: "no report from the load client: \(text)") }
            handshakes = object["handshakes"] as? Int ?? 0
            failures = object["failures"] as? Int ?? -1
            serials = object["serials"] as? [String: Int] ?? [:]
            order = object["order"] as? [String] ?? []
            staleAfterNew = object["staleAfterNew"] as? Int ?? -1
            longSent = long["sent"] as? Int ?? 0
            longEchoed = long["echoed"] as? Int ?? -1
            longClosed = long["closed"] as? Bool ?? true
        }
    }

    @Test(arguments: Replacement.allCases)
    func rotationUnderLoadFailsNoHandshake(_ replacement: Replacement) throws {
        let port = try FreePort.tcp()
        let site = try TLSSite()
        let first = try site.pki.server("first", names: ["rotate.test"])
        let renewed = try site.pki.server("renewed", names: ["rotate.test"], keyType: .rsa2048)
        let sync = site.sync
        let tls: String
        switch replacement {
        case .renamedFiles:
            tls = try site.pair(first, as: "site")
        case .switchedLinks:
            try site.folder.write([
                "archive/rotate/privkey1.pem": first.keyPEM, "archive/rotate/fullchain1.pem": first.certificatePEM,
            ])
            try site.folder.symlink("live/rotate/privkey.pem", to: "../../archive/rotate/privkey1.pem")
            try site.folder.symlink("live/rotate/fullchain.pem", to: "../../archive/rotate/fullchain1.pem")
            tls = #"{"cert": "live/rotate/fullchain.pem", "key": "live/rotate/privkey.pem"}"#
        }
        try site.folder.write([
            "rotate.tcp.\(port).port.js": Self.handler,
            "manifest.json": Reload.manifest(handlers: #"{"rotate": {"tls": \#(tls)}}"#),
        ])
        let broker = try ServeProcess(
            folder: site.folder.path, arguments: Reload.arguments(["--reload-debounce", "50ms"]), readyCount: 1)
        defer { broker.stop() }
        let ca = site.pki.authority.certificatePath
        #expect(try OpenSSLClient.handshake(port: port, .init(serverName: "rotate.test", trusting: ca))
            .serverSerialNumber == first.serialNumber)

        let load = try BackgroundPeer(node: Self.loadClient, arguments: [String(port), ca])
        defer { load.stop() }
        #expect(load.waitForOutput("serial \(first.serialNumber)", timeout: 10), "\(load.text)\n\(broker.log)")
        Thread.sleep(forTimeInterval: 1.5)

        switch replacement {
        case .renamedFiles:
            try sync.rsync("certs/site.key", renewed.keyPEM)
            try sync.rsync("certs/site.pem", renewed.certificatePEM)
        case .switchedLinks:
            try sync.rsync("archive/rotate/privkey2.pem", renewed.keyPEM)
            try sync.rsync("archive/rotate/fullchain2.pem", renewed.certificatePEM)
            for (link, target) in [("privkey.pem", "privkey2.pem"), ("fullchain.pem", "fullchain2.pem")] {
                let path = site.folder.path + "/live/rotate/" + link
                try FileManager.default.createSymbolicLink(
                    atPath: path + ".new", withDestinationPath: "../../archive/rotate/" + target)
                #expect(rename(path + ".new", path) == 0)
            }
        }
        let rotated = "tls certificates on tcp/\(port) now \(renewed.sha256.prefix(12)) (until "
        #expect(broker.waitForLog(rotated, timeout: 10), "\(broker.log)")
        #expect(load.waitForOutput("serial \(renewed.serialNumber)", timeout: 10), "\(load.text)")
        Thread.sleep(forTimeInterval: 1.5)
        let report = try LoadReport(load.finish())

        #expect(report.failures == 0, "\(report.text)\n\(broker.log)")
        #expect(report.handshakes >= 40, "\(report.text)")
        #expect(report.order == [first.serialNumber, renewed.serialNumber], "\(report.text)")
        #expect((report.serials[renewed.serialNumber] ?? 0) >= 10, "\(report.text)")
        #expect(report.staleAfterNew == 0, "once the new pair served, every later handshake got it: \(report.text)")
        #expect(!report.longClosed && report.longEchoed == report.longSent && report.longSent >= 25,
                "the connection opened before the rotation kept working: \(report.text)")
        for _ in 0..<3 {
            let handshake = try OpenSSLClient.handshake(port: port, .init(serverName: "rotate.test", trusting: ca))
            #expect(handshake.serverSerialNumber == renewed.serialNumber && handshake.verifyCode == 0, "\(handshake)")
        }
        #expect(broker.count(message: "rotation handler opened") == 1, "no runtime replaced for a TLS-only change")
        #expect(broker.refusals(on: "tcp/\(port)").isEmpty, "\(broker.log)")
        #expect(broker.isRunning)
    }

    /// A key for another certificate, then a certificate written in two parts: each time the last good pair keeps
    /// serving (no handshake fails meanwhile) and the reload line says why; the completed file then rotates.
    @Test func aBrokenPairKeepsTheLastGood() throws {
        let port = try FreePort.tcp()
        let site = try TLSSite()
        let first = try site.pki.server("first", names: ["rotate.test"])
        let stranger = try site.pki.server("stranger", names: ["rotate.test"])
        // A renewal for the same key (certbot --reuse-key): only the certificate file changes.
        let renewed = try site.pki.server("renewed", names: ["rotate.test"], reusingKey: first.keyPath)
        try site.folder.write([
            "rotate.tcp.\(port).port.js": Self.handler,
            "manifest.json": Reload.manifest(handlers: #"{"rotate": {"tls": \#(try site.pair(first, as: "site"))}}"#),
        ])
        let sync = site.sync
        let broker = try ServeProcess(
            folder: site.folder.path, arguments: Reload.arguments(["--reload-debounce", "50ms"]), readyCount: 1)
        defer { broker.stop() }
        let ca = site.pki.authority.certificatePath
        let serial = { try OpenSSLClient.handshake(port: port, .init(serverName: "rotate.test", trusting: ca)).serverSerialNumber }
        #expect(try serial() == first.serialNumber)
        let load = try BackgroundPeer(node: Self.loadClient, arguments: [String(port), ca])
        defer { load.stop() }
        #expect(load.waitForOutput("serial \(first.serialNumber)", timeout: 10), "\(load.text)")

        // The key of another certificate: refused, the first pair keeps serving.
        var last = broker.lastReloadNumber
        try sync.rsync("certs/site.key", stranger.keyPEM)
        let mismatch = try #require(broker.waitForReload(after: last), "\(broker.log)")
        #expect(mismatch.level == "warn" && !mismatch.kept.isEmpty && !mismatch.isRejected, "\(mismatch)")
        #expect(mismatch.message.contains("kept last good: ") && mismatch.message.contains("(tls.key-mismatch at manifest.json:"),
                "\(mismatch)")
        #expect(try serial() == first.serialNumber)

        // The right key back.
        last = broker.lastReloadNumber
        try sync.rsync("certs/site.key", first.keyPEM)
        let restored = try #require(broker.waitForReload(after: last), "\(broker.log)")
        #expect(restored.kept.isEmpty, "\(restored)")
        #expect(try serial() == first.serialNumber)

        // The renewed certificate, copied in place in two writes 1.5 s apart: the half-written file is refused.
        last = broker.lastReloadNumber
        try sync.writeInTwoParts("certs/site.pem", renewed.certificatePEM, pause: 1.5)
        let halfWritten = try #require(broker.waitForReload(after: last), "\(broker.log)")
        #expect(halfWritten.level == "warn" && halfWritten.message.contains("(tls.invalid-pem at manifest.json:"),
                "\(halfWritten)")
        let completed = try #require(broker.waitForReload(after: halfWritten.number), "\(broker.log)")
        #expect(completed.kept.isEmpty, "\(completed)")
        #expect(broker.waitForLog("tls certificates on tcp/\(port) now \(renewed.sha256.prefix(12))", timeout: 10),
                "\(broker.log)")
        #expect(try serial() == renewed.serialNumber)
        #expect(load.waitForOutput("serial \(renewed.serialNumber)", timeout: 10), "\(load.text)")

        let report = try LoadReport(load.finish())
        #expect(report.failures == 0, "\(report.text)\n\(broker.log)")
        #expect(report.order == [first.serialNumber, renewed.serialNumber], "\(report.text)")
        #expect(report.staleAfterNew == 0, "\(report.text)")
        #expect(!report.longClosed && report.longEchoed == report.longSent, "\(report.text)")
        #expect(broker.count(message: "rotation handler opened") == 1)
    }

    /// With --no-watch a replaced certificate changes nothing until SIGHUP, which rotates it.
    @Test func sighupRotatesWithoutTheWatch() throws {
        let port = try FreePort.tcp()
        let site = try TLSSite()
        let first = try site.pki.server("first", names: ["rotate.test"])
        let renewed = try site.pki.server("renewed", names: ["rotate.test"])
        try site.folder.write([
            "rotate.tcp.\(port).port.js": Self.handler,
            "manifest.json": Reload.manifest(handlers: #"{"rotate": {"tls": \#(try site.pair(first, as: "site"))}}"#),
        ])
        let broker = try ServeProcess(
            folder: site.folder.path, arguments: Reload.arguments(["--no-watch"]), readyCount: 1)
        defer { broker.stop() }
        let ca = site.pki.authority.certificatePath
        let serial = { try OpenSSLClient.handshake(port: port, .init(serverName: "rotate.test", trusting: ca)).serverSerialNumber }
        #expect(try serial() == first.serialNumber)

        try site.sync.rsync("certs/site.key", renewed.keyPEM)
        try site.sync.rsync("certs/site.pem", renewed.certificatePEM)
        Thread.sleep(forTimeInterval: 1)
        #expect(broker.lastReloadNumber == 0, "not watching: \(broker.log)")
        #expect(try serial() == first.serialNumber)

        broker.signal(SIGHUP)
        let reload = try #require(broker.waitForReload(1), "\(broker.log)")
        #expect(reload.trigger == "SIGHUP" && reload.kept.isEmpty, "\(reload)")
        #expect(broker.waitForLog("tls certificates on tcp/\(port) now \(renewed.sha256.prefix(12))"), "\(broker.log)")
        #expect(try serial() == renewed.serialNumber)
        #expect(broker.count(message: "rotation handler opened") == 1)
        #expect(broker.isRunning)
    }
}
