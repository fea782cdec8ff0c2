package import Foundation
#if canImport(Glibc)
import Glibc
#endif
package import Testing

/// Whether tests may create network namespaces; firewall and kernel-enforcement tests run only inside their own.
package enum NetworkNamespaces {
    /// True when `ip netns add` works here (root or CAP_SYS_ADMIN, iproute2 and nftables installed); probed once.
    package static let isAvailable: Bool = {
        guard FileManager.default.isExecutableFile(atPath: ipPath) else { return false }
        let name = "berth-probe-\(getpid())"
        guard (try? Subprocess.run(ipPath, ["netns", "add", name], timeout: 10).status) == 0 else { return false }
        _ = try? Subprocess.run(ipPath, ["netns", "delete", name], timeout: 10)
        return true
    }()

    /// `BERTH_REQUIRE_NETNS=1` (set by CI): namespace tests must run, so they fail rather than skip when they cannot.
    package static let isRequired: Bool = ProcessInfo.processInfo.environment["BERTH_REQUIRE_NETNS"] == "1"

    /// Runs a test when namespaces work, or when they are required (it then fails at `NetworkTopology` creation).
    package static var trait: ConditionTrait {
        .enabled(if: isAvailable || isRequired, "needs root to create network namespaces (BERTH_REQUIRE_NETNS=1 makes this fail)")
    }

    static let ipPath = "/usr/sbin/ip"

    /// glibc's `setns`, which Swift's Glibc module does not import (it needs `_GNU_SOURCE`).
    static let setns: @convention(c) (Int32, Int32) -> Int32 = {
        // A nil handle is glibc's RTLD_DEFAULT: search every loaded object.
        guard let symbol = dlsym(nil, "setns") else {
            return { _, _ in -1 }
        }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }()

    /// A name unique to this process and call, so parallel tests (and parallel test processes) never collide.
    static func uniqueName(_ label: String) -> String {
        let number = counter.next()
        return "berth-\(label)-\(getpid())-\(number)"
    }

    private static let counter = Counter()
}

/// One network namespace created by a test; `close()` (or releasing it) deletes it and the links inside it.
package final class NetworkNamespace: @unchecked Sendable {
    package let name: String
    // `lock` guards `isClosed`.
    private let lock = NSLock()
    private var isClosed = false

    /// Creates an empty namespace with `lo` up.
    package init(label: String = "ns") throws {
        guard NetworkNamespaces.isAvailable else {
            throw Subprocess.Failure(description: "cannot create network namespaces here (needs root and iproute2)")
        }
        name = NetworkNamespaces.uniqueName(label)
        try Subprocess.checked(NetworkNamespaces.ipPath, ["netns", "add", name])
        do { try ip("link", "set", "lo", "up") } catch { close(); throw error }
    }

    deinit { close() }

    /// Deletes the namespace (and with it every veth end, nftables table and socket in it); idempotent.
    package func close() {
        let wasClosed = lock.withLock { () -> Bool in
            defer { isClosed = true }
            return isClosed
        }
        if !wasClosed { _ = try? Subprocess.run(NetworkNamespaces.ipPath, ["netns", "delete", name], timeout: 10) }
    }

    /// `executable arguments` as a command line that runs inside this namespace, for `Process` or a harness that
    /// spawns long-running programs (`berth serve`): `/usr/sbin/ip netns exec NAME executable arguments…`.
    package func command(_ executable: String, _ arguments: [String]) -> (executable: String, arguments: [String]) {
        (NetworkNamespaces.ipPath, ["netns", "exec", name, executable] + arguments)
    }

    /// Runs a program to completion inside this namespace.
    package func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> Subprocess.Result {
        let (program, fullArguments) = command(executable, arguments)
        return try Subprocess.run(program, fullArguments, timeout: timeout)
    }

    /// Runs a program inside this namespace and throws when it exits non-zero.
    @discardableResult
    package func checked(_ executable: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> Subprocess.Result {
        let result = try run(executable, arguments, timeout: timeout)
        guard result.status == 0 else {
            throw Subprocess.Failure(description: "in \(name): \(executable) \(arguments.joined(separator: " ")) exited \(result.status): \(result.standardError)")
        }
        return result
    }

    /// `ip -n NAME …`, checked.
    package func ip(_ arguments: String...) throws {
        try Subprocess.checked(NetworkNamespaces.ipPath, ["-n", name] + arguments)
    }

    /// Runs `nft` inside this namespace with `script` as its input file (`-f`), plus `options` such as `-c`.
    @discardableResult
    package func nft(script: String, options: [String] = []) throws -> Subprocess.Result {
        let folder = try TemporaryFolder("berth-nft")
        let path = try folder.write("script.nft", script)
        return try run("/usr/sbin/nft", options + ["-f", path])
    }

    /// Runs `nft ARGUMENTS` inside this namespace and returns its output; throws when it fails.
    @discardableResult
    package func nft(_ arguments: String...) throws -> String {
        try checked("/usr/sbin/nft", arguments).standardOutput
    }

    /// Runs `body` on a new thread that has entered this namespace (`setns`), and waits for it: in-process code such
    /// as an `NFTablesSession` then talks to this namespace's kernel state, never the host's. A namespace is a
    /// per-thread attribute, so the test's own threads are untouched; sockets made in `body` stay in this namespace.
    package func perform<T>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let box = ResultBox<T>()
        let path = "/run/netns/" + name
        let thread = Thread {
            let fd = open(path, O_RDONLY)
            defer { if fd >= 0 { Glibc.close(fd) } }
            guard fd >= 0, NetworkNamespaces.setns(fd, 0x4000_0000 /* CLONE_NEWNET */) == 0 else {
                box.set(.failure(Subprocess.Failure(description: "setns(\(path)) failed: errno \(errno)")))
                return
            }
            box.set(Result { try body() })
        }
        thread.start()
        return try box.wait().get()
    }

    /// Starts a long-running program inside this namespace; stopped when the returned value is released.
    package func spawn(_ executable: String, _ arguments: [String]) throws -> NamespaceProcess {
        let (program, fullArguments) = command(executable, arguments)
        return try NamespaceProcess(program, fullArguments)
    }
}

/// A server namespace joined by its own veth pair to each of `clientCount` client namespaces.
///
/// Link `i` (1-based) is the subnet 10.231.i.0/24 and fd00:231:i::/64: the server has .1 / ::1 on it, client `i`
/// has .2 / ::2. Every namespace is private to the topology, so the fixed plan never collides between tests.
package final class NetworkTopology: @unchecked Sendable {
    /// A client namespace and the addresses on its link.
    package struct Client: Sendable {
        package let namespace: NetworkNamespace
        package let ipv4: String
        package let ipv6: String
        /// The server's addresses on this client's link: where this client connects to.
        package let serverIPv4: String
        package let serverIPv6: String
    }

    package let server: NetworkNamespace
    package let clients: [Client]

    package init(clients clientCount: Int, label: String = "topo") throws {
        server = try NetworkNamespace(label: label + "-s")
        var made: [Client] = []
        do {
            for index in (0..<clientCount).map({ $0 + 1 }) {
                let namespace = try NetworkNamespace(label: "\(label)-c\(index)")
                let serverEnd = "c\(index)"
                // Both ends are created directly inside their namespaces, so nothing appears in the host's.
                try server.ip("link", "add", serverEnd, "type", "veth", "peer", "name", "eth0", "netns", namespace.name)
                try server.ip("addr", "add", "10.231.\(index).1/24", "dev", serverEnd)
                try server.ip("-6", "addr", "add", "fd00:231:\(index)::1/64", "dev", serverEnd, "nodad")
                try server.ip("link", "set", serverEnd, "up")
                try namespace.ip("addr", "add", "10.231.\(index).2/24", "dev", "eth0")
                try namespace.ip("-6", "addr", "add", "fd00:231:\(index)::2/64", "dev", "eth0", "nodad")
                try namespace.ip("link", "set", "eth0", "up")
                made.append(Client(namespace: namespace, ipv4: "10.231.\(index).2", ipv6: "fd00:231:\(index)::2",
                                   serverIPv4: "10.231.\(index).1", serverIPv6: "fd00:231:\(index)::1"))
            }
        } catch {
            for client in made { client.namespace.close() }
            server.close()
            throw error
        }
        clients = made
    }

    deinit { close() }

    /// Deletes every namespace (and so every veth pair) of the topology; idempotent.
    package func close() {
        for client in clients { client.namespace.close() }
        server.close()
    }
}

/// A long-running program started by a test (in a namespace): stdout and stderr collected as lines; SIGTERM, then
/// SIGKILL, on `stop()` or release.
package final class NamespaceProcess: @unchecked Sendable {
    private let process = Process()
    private let output = OutputLines()

    package init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        let lines = output
        for handle in [outPipe.fileHandleForReading, errPipe.fileHandleForReading] {
            Thread {
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    lines.append(chunk)
                }
            }.start()
        }
        try process.run()
    }

    deinit { stop() }

    /// Everything the program printed so far, stdout and stderr interleaved by arrival.
    package var text: String { output.text }
    package var isRunning: Bool { process.isRunning }

    /// Waits until the output contains `fragment`; false on timeout or when the program exited first.
    package func waitForOutput(_ fragment: String, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date() + timeout
        while Date() < deadline {
            if text.contains(fragment) { return true }
            if !process.isRunning { return text.contains(fragment) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    /// SIGTERM, then SIGKILL after `grace` seconds. `ip netns exec` execs the program, so the signal reaches it.
    package func stop(grace: TimeInterval = 5) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date() + grace
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Output appended by reader threads and read by the test; `lock` guards `data`.
private final class OutputLines: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}

/// The value a thread produced, handed to the thread waiting for it; `condition` guards `result`.
private final class ResultBox<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<T, any Error>?

    func set(_ value: Result<T, any Error>) {
        condition.lock()
        result = value
        condition.signal()
        condition.unlock()
    }

    func wait() -> Result<T, any Error> {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return result!
    }
}

/// A process-wide counter for unique namespace names; `lock` guards `value`.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
}
