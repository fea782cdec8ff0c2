package import Foundation

/// A `berth serve` process for a test: started on a folder, stopped (SIGTERM, then SIGKILL) when the test is done.
package final class ServeProcess: @unchecked Sendable {
    private let process = Process()
    private let stderrLines = LockedLines()
    private let reader: Thread

    /// Starts `berth serve folder` with `arguments` (default: bound to 127.0.0.1, JSON logs) and waits until every
    /// `readyPorts` entry is logged as listening, or `timeout` passes (then throws). `launcher` runs berth through
    /// another program (`["/usr/bin/prlimit", "--nofile=64:64"]`), which must exec it.
    package init(folder: String, arguments: [String] = ["--bind", "127.0.0.1"], readyCount: Int,
                 timeout: TimeInterval = 20, launcher: [String] = []) throws {
        let command = launcher + [BerthBinary.path, "serve", folder, "--log-format", "json"] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let handle = pipe.fileHandleForReading
        let lines = stderrLines
        reader = Thread {
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lines.append(line)
                }
            }
        }
        try process.run()
        reader.start()
        let deadline = Date() + timeout * Self.sanitizerSlowdown
        while Date() < deadline {
            if listeningCount >= readyCount { return }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let log = self.log
        stop()
        throw Subprocess.Failure(description: "berth serve did not get ready (\(listeningCount)/\(readyCount) listening):\n\(log)")
    }

    deinit { stop() }

    /// How much longer a berth built with AddressSanitizer (`make test-asan`) takes to compile and start: its
    /// readiness wait grows by as much, as a slower machine's would.
    package static let sanitizerSlowdown: Double = ProcessInfo.processInfo.environment["ASAN_OPTIONS"] == nil ? 1 : 4

    /// How many "listening" lines the broker has logged.
    package var listeningCount: Int { lines.count { $0.contains("\"message\":\"listening") } }

    package var lines: [String] { stderrLines.snapshot }
    package var log: String { lines.joined(separator: "\n") }
    package var isRunning: Bool { process.isRunning }
    package var pid: Int32 { process.processIdentifier }

    /// Waits until a log line contains `fragment`; false on timeout.
    package func waitForLog(_ fragment: String, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date() + timeout
        while Date() < deadline {
            if lines.contains(where: { $0.contains(fragment) }) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    package func signal(_ signal: Int32) { if process.isRunning { kill(process.processIdentifier, signal) } }

    /// Waits for the process to exit and returns its status; kills it after `timeout`.
    @discardableResult
    package func waitForExit(timeout: TimeInterval = 20) -> Int32? {
        let deadline = Date() + timeout
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { return nil }
        return process.terminationStatus
    }

    /// SIGTERM, then SIGKILL if it has not exited within a few seconds.
    package func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        if waitForExit(timeout: 15) == nil {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Free ports for handler file names: bound once to learn a free number, then released.
package enum FreePort {
    package static func tcp() throws -> Int { try find(type: Int32(SOCK_STREAM.rawValue)) }
    package static func udp() throws -> Int { try find(type: Int32(SOCK_DGRAM.rawValue)) }

    private static func find(type: Int32) throws -> Int {
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { throw Subprocess.Failure(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw Subprocess.Failure(description: "bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Runs a Node.js script as a network peer (Node's `net` and `dgram`); its stdout is the result.
package enum NodePeer {
    /// Node 20 or newer: Debian's path, or where `scripts/setup.sh` links it when the machine had none.
    package static let executable =
        FileManager.default.isExecutableFile(atPath: "/usr/bin/node") ? "/usr/bin/node" : "/usr/local/bin/node"

    package static func run(_ script: String, arguments: [String] = [], timeout: TimeInterval = 60) throws -> Subprocess.Result {
        try Subprocess.run(executable, ["-e", script] + arguments, timeout: timeout)
    }
}

/// Lines appended by the reader thread and read by the test; `lock` guards `lines`.
private final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var snapshot: [String] { lock.withLock { lines } }
}

/// One line of `berth serve --log-format json`, decoded: the four fixed members and the string fields after them.
package struct ServeLogEntry: Sendable {
    package var level: String
    package var handler: String?
    package var message: String
    /// Every other member, as the text the broker wrote (it writes every field as a JSON string).
    package var fields: [String: String]
    /// The raw line, for failure messages.
    package var line: String

    /// Nil for a line that is not one JSON object with a message (a handler's stray output, say).
    package init?(line: String) {
        guard let data = line.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let message = object["message"] as? String
        else { return nil }
        self.line = line
        self.message = message
        level = object["level"] as? String ?? ""
        handler = object["handler"] as? String
        var fields: [String: String] = [:]
        for (key, value) in object where !["time", "level", "handler", "message"].contains(key) {
            switch value {
            case let text as String: fields[key] = text
            case let number as NSNumber: fields[key] = number.stringValue
            default: fields[key] = String(describing: value)
            }
        }
        self.fields = fields
    }

    /// A field read as an integer (`"runtimes":"3"` or `"runtimes":3`).
    package func integer(_ key: String) -> Int? { fields[key].flatMap { Int($0) } }
}

/// One `reload N: …` line: what a reload changed, kept and left running.
package struct ReloadRecord: Sendable, CustomStringConvertible {
    /// N: 1 for the first reload after start.
    package var number: Int
    /// `watch` or `SIGHUP`.
    package var trigger: String?
    package var level: String
    /// A manifest that did not compile: every endpoint kept as it was.
    package var isRejected: Bool
    package var added: Int?
    package var changed: Int?
    package var removed: Int?
    /// Files whose new version failed and whose last good version keeps serving.
    package var kept: [String]
    package var milliseconds: Int?
    /// Handler runtimes alive after the reload, draining generations included.
    package var runtimes: Int?
    package var entry: ServeLogEntry

    package var message: String { entry.message }
    package var description: String { entry.line }

    /// Nil unless `entry` is a reload line (handler null, message `reload N: …`).
    package init?(_ entry: ServeLogEntry) {
        guard entry.handler == nil, entry.message.hasPrefix("reload ") else { return nil }
        let digits = entry.message.dropFirst("reload ".count).prefix { $0.isNumber }
        guard let number = Int(digits) ?? entry.integer("reload"),
            entry.message.dropFirst("reload ".count + digits.count).hasPrefix(":")
        else { return nil }
        self.number = number
        self.entry = entry
        trigger = entry.fields["trigger"]
        level = entry.level
        isRejected = entry.message.hasPrefix("reload \(number): rejected")
        added = entry.integer("added")
        changed = entry.integer("changed")
        removed = entry.integer("removed")
        kept = (entry.fields["kept"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        milliseconds = entry.integer("milliseconds")
        runtimes = entry.integer("runtimes")
    }
}

extension ServeProcess {
    /// Every JSON line logged so far, decoded, in order.
    package var entries: [ServeLogEntry] { lines.compactMap(ServeLogEntry.init(line:)) }

    /// Every reload line logged so far, in order.
    package var reloads: [ReloadRecord] { entries.compactMap(ReloadRecord.init) }

    /// The number of the last reload logged, 0 before the first.
    package var lastReloadNumber: Int { reloads.last?.number ?? 0 }

    /// Waits for the reload line numbered `number`; nil when it has not come within `timeout` seconds.
    package func waitForReload(_ number: Int, timeout: TimeInterval = 10) -> ReloadRecord? {
        let deadline = Date() + timeout
        repeat {
            if let record = reloads.first(where: { $0.number == number }) { return record }
            Thread.sleep(forTimeInterval: 0.01)
        } while Date() < deadline && process.isRunning
        return reloads.first { $0.number == number }
    }

    /// Waits for the first reload line numbered above `number` (the next one after a change); nil on timeout.
    package func waitForReload(after number: Int, timeout: TimeInterval = 10) -> ReloadRecord? {
        let deadline = Date() + timeout
        repeat {
            if let record = reloads.first(where: { $0.number > number }) { return record }
            Thread.sleep(forTimeInterval: 0.01)
        } while Date() < deadline && process.isRunning
        return reloads.first { $0.number > number }
    }

    /// Waits for a decoded line that `matches` (searching every line, also those logged before the call); nil on
    /// timeout.
    package func waitForEntry(timeout: TimeInterval = 10, where matches: (ServeLogEntry) -> Bool) -> ServeLogEntry? {
        let deadline = Date() + timeout
        repeat {
            if let entry = entries.first(where: matches) { return entry }
            Thread.sleep(forTimeInterval: 0.01)
        } while Date() < deadline && process.isRunning
        return entries.first(where: matches)
    }

    /// How many lines' message contains `fragment`.
    package func count(message fragment: String) -> Int { entries.count { $0.message.contains(fragment) } }

    /// The process's resident set size in KiB (`VmRSS` in /proc/PID/status); 0 once it has exited.
    package var residentKiB: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}

/// One `refused N in the last 5s on tcp/PORT` line: an endpoint's refusals and broker-closed connections of one
/// summary period, counted per reason.
package struct RefusalSummary: Sendable, CustomStringConvertible {
    /// N in the message.
    package var total: Int
    /// `tcp/7443`.
    package var claim: String
    /// One count per reason field (`deny`, `tls-plaintext`, …); the `sources` field is not a reason.
    package var reasons: [String: Int]
    package var entry: ServeLogEntry

    package var description: String { entry.line }

    /// Nil unless `entry` is a summary line.
    package init?(_ entry: ServeLogEntry) {
        let words = entry.message.split(separator: " ")
        guard words.count == 8, words[0] == "refused", let total = Int(words[1]),
            entry.message.contains(" in the last "), words[6] == "on"
        else { return nil }
        self.total = total
        claim = String(words[7])
        var reasons: [String: Int] = [:]
        for (key, value) in entry.fields where key != "sources" { reasons[key] = Int(value) }
        self.reasons = reasons
        self.entry = entry
    }
}

extension ServeProcess {
    /// Every summary line logged so far for `claim` (`tcp/7443`), in order.
    package func refusalSummaries(on claim: String) -> [RefusalSummary] {
        entries.compactMap(RefusalSummary.init).filter { $0.claim == claim }
    }

    /// The counts per reason of every summary line logged so far for `claim`, added up.
    package func refusals(on claim: String) -> [String: Int] {
        refusalSummaries(on: claim).reduce(into: [:]) { sums, summary in sums.merge(summary.reasons, uniquingKeysWith: +) }
    }

    /// Waits until the summaries for `claim` add up to at least `expected` for every reason in it; the sums then
    /// (which may miss some on timeout).
    package func waitForRefusals(on claim: String, atLeast expected: [String: Int], timeout: TimeInterval = 12)
        -> [String: Int]
    {
        let deadline = Date() + timeout
        repeat {
            let sums = refusals(on: claim)
            if expected.allSatisfy({ sums[$0.key, default: 0] >= $0.value }) { return sums }
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < deadline && isRunning
        return refusals(on: claim)
    }
}
