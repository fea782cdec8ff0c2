import BerthRuntime
import BerthPlan
import BerthStore
import Foundation

/// libFuzzer's entry: any bytes in the store (as another process or Redis may leave them) are read by
/// `ctx.shared.get` in a real handler runtime as a value or a rejection, never a crash; and a value that was read
/// stores and reads again to the same bytes (a second encoding is canonical).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzJSClone(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let first = Harness.shared.readAndStoreAgain(input) else { return 0 }
    guard let second = Harness.shared.readAndStoreAgain(first) else {
        preconditionFailure("the value read from \(input) stored as \(first), which does not read back")
    }
    precondition(first == second, "the value read from \(input) stored as \(first), then as \(second)")
    return 0
}

/// One UDP handler whose `message` reads the store's "input" and stores what it read under "again".
final class Harness: HandlerHost {
    // libFuzzer calls the entry on one thread only.
    nonisolated(unsafe) static let shared = Harness()

    static let source = """
        export async function message(msg, rinfo, ctx) {
          let value;
          try {
            value = await ctx.shared.get('input');
          } catch (error) {
            // What corrupt bytes may be: DataCloneError, RangeError (nesting, view ranges), SyntaxError (a RegExp).
            if (['DataCloneError', 'RangeError', 'SyntaxError'].includes(error?.name)) return;
            throw error;
          }
          await ctx.shared.set('again', value);
        }
        """
    let store = InProcessSharedStore(maxBytes: 64 << 20) {}
    let folder: String
    private var runtime: HandlerRuntime?
    private var faults: [String] = []

    init() {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-fuzz-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: folder + "/fuzz.udp.9000.port.js", contents: Data(Self.source.utf8))
        // libFuzzer ends with exit(); the folder goes with it.
        atexit { try? FileManager.default.removeItem(atPath: Harness.shared.folder) }
    }

    /// What the handler stored after reading `bytes`, or nil when it rejected them.
    func readAndStoreAgain(_ bytes: [UInt8]) -> [UInt8]? {
        if runtime?.isFailed ?? true { runtime = load() }
        guard let runtime else { preconditionFailure("the runtime is gone") }
        store.delete("again")
        do { try store.set("input", bytes) } catch { return nil }
        faults = []
        _ = runtime.deliverDatagram([UInt8]().span.bytes, address: "192.0.2.7", family: .ipv4, port: 5000)
        // Only the heap limit may stop the handler (the runtime then refuses everything and is made anew).
        precondition(faults.isEmpty || runtime.isFailed, "reading \(bytes) faulted: \(faults)")
        return store.get("again")
    }

    private func load() -> HandlerRuntime {
        runtime?.unload()
        do {
            return try HandlerRuntime(folder: folder, entry: "fuzz.udp.9000.port.js", name: "fuzz", transport: .udp,
                                      port: 9000, host: self, store: store)
        } catch {
            preconditionFailure("the fuzz handler does not load: \(error)")
        }
    }

    func log(_ level: LogLevel, _ message: String) { if level == .error { faults.append(message) } }
    func monotonicMilliseconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }
    func scheduleTimer(id: TimerID, afterMilliseconds: Double) {}
    func requestImmediates() {}
    func cancelTimer(id: TimerID) {}
    func write(connection: ConnectionID, bytes: RawSpan) -> Int { bytes.byteCount }
    func end(connection: ConnectionID) {}
    func destroy(connection: ConnectionID) {}
    func pause(connection: ConnectionID) {}
    func resume(connection: ConnectionID) {}
    func setNoDelay(connection: ConnectionID, _ isEnabled: Bool) {}
    func setKeepAlive(connection: ConnectionID, _ isEnabled: Bool, initialDelayMilliseconds: Int) {}
    func send(datagram: RawSpan, to address: String, port: Int) {}
}
