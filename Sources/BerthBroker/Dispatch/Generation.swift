import BerthRuntime
import BerthPlan
import BerthStore
import BerthTLS

/// One loaded version of an endpoint's handler: its runtime and everything that belongs to that version (its open
/// connections, timers, immediates and `ctx.shared` subscriptions), on the broker's loop. Its `PortClaim` routes new
/// work to the newest generation; a replaced one drains (its connections go on) and is freed after its last one.
/// It is the runtime's `HandlerHost`, turning JavaScript's socket calls into libuv calls and libuv events back into
/// the runtime's `deliver…` calls.
final class Generation {
    /// 1 for the first version of an endpoint, then one more per replacement (counted per claim).
    let number: Int
    /// The version this generation loaded: its code; the claim holds the policy in force.
    let endpoint: Endpoint
    /// The hash of the code it loaded (`PlanDiff.codeHash`): a later plan with the same code needs no new generation.
    let codeHash: String
    /// Strong: the claim holds a generation only while it serves or drains, and lets go of it once it is unloaded.
    private let claim: PortClaim
    private let loop: EventLoop
    private let immediates: ImmediateQueue
    private let log: BrokerLog
    private let options: ServeOptions
    private let store: any SharedStore
    private let storeOwner: SharedStoreOwnerID
    private var runtime: HandlerRuntime?
    private(set) var connections: [ConnectionID: ServedConnection] = [:]
    private var lastConnection = 0
    /// The screen's grouping each connection was admitted under, for those admitted after a source-prefix change.
    private var groupings: [ConnectionID: Int] = [:]
    /// With `--access-log`: how the connections the broker or the handler closed ended, for their log line.
    private var endings: [ConnectionID: String] = [:]
    private var timers: [TimerID: LoopTimer] = [:]
    /// Bounds `open(ctx)`; a version whose open has not finished by then failed.
    private var openTimer: LoopTimer?
    /// Destroys the connections a replaced generation still has when the grace period is over.
    private var graceTimer: LoopTimer?
    /// No longer given new work (replaced, removed, or the broker stops): it is freed after its last connection.
    private(set) var isRetired = false
    private(set) var isUnloaded = false
    /// The runtime failed on its own (out of memory): reported once.
    private var hasFailed = false
    /// Called once the runtime is freed (after retirement and the last connection, or a failure).
    var onUnloaded: ((Generation) -> Void)?
    /// Called when the runtime failed on its own (out of memory) while serving, after the reason was logged.
    var onFailed: ((Generation) -> Void)?

    init(number: Int, endpoint: Endpoint, codeHash: String, claim: PortClaim, loop: EventLoop,
         immediates: ImmediateQueue, options: ServeOptions, log: BrokerLog, store: any SharedStore,
         storeOwner: SharedStoreOwnerID) {
        (self.number, self.endpoint, self.codeHash, self.claim) = (number, endpoint, codeHash, claim)
        (self.loop, self.immediates, self.options, self.log) = (loop, immediates, options, log)
        (self.store, self.storeOwner) = (store, storeOwner)
    }

    var openConnectionCount: Int { connections.count }

    /// Loads the module from the compiled `sources` and runs `open(ctx)`; `completion` gets nil once it finished, or
    /// why this version cannot serve (the module, `open` failing, or `open` outlasting `--open-timeout`). Nothing is
    /// routed to the generation before that.
    func load(folder: String, sources: [String: CompiledSource], completion: @escaping (String?) -> Void) {
        var files: [String: [UInt8]] = [:]
        for path in [endpoint.file] + endpoint.imports { files[path] = sources[path]?.bytes }
        do {
            runtime = try HandlerRuntime(
                folder: folder, entry: endpoint.file, sources: files, name: endpoint.name,
                transport: endpoint.transport, port: endpoint.port, heapLimit: options.heapLimitBytes,
                cpuBudgetMilliseconds: Double(options.cpuBudgetMilliseconds), host: self, store: store,
                storeOwner: storeOwner)
        } catch {
            isUnloaded = true
            completion(error.message)
            return
        }
        var isSettled = false
        let settle = { [weak self] (failure: String?) in
            guard !isSettled else { return }
            isSettled = true
            self?.openTimer?.close()
            self?.openTimer = nil
            completion(failure)
        }
        let timer = LoopTimer(loop: loop)
        timer.start(after: UInt64(options.openTimeoutMilliseconds)) { [weak self] in
            settle("open() did not finish within \(DurationText.format(milliseconds: self?.options.openTimeoutMilliseconds ?? 0))")
        }
        openTimer = timer
        runtime?.callOpen { outcome in
            if case .ok = outcome { settle(nil) } else { settle("open() failed") }
        }
    }

    /// Stops taking new work: aborts `ctx.signal`, and once the last connection has closed (at once when there is
    /// none) runs `close(ctx)` and frees the runtime. With `graceMilliseconds`, connections still open by then are
    /// destroyed.
    func retire(graceMilliseconds: Int?) {
        guard !isRetired else { return }
        isRetired = true
        openTimer?.close()
        openTimer = nil
        runtime?.abortSignal()
        if let graceMilliseconds, !connections.isEmpty {
            let timer = LoopTimer(loop: loop)
            timer.start(after: UInt64(graceMilliseconds)) { [weak self] in self?.destroyConnections() }
            graceTimer = timer
        }
        unloadIfDrained()
    }

    /// Retires for a shutdown: as `retire`, but `close(ctx)` runs now, while connections may still finish (the
    /// broker's grace timer destroys what is left).
    func shutDown() {
        isRetired = true
        openTimer?.close()
        openTimer = nil
        runtime?.callClose { [weak self] outcome in
            if case .faulted = outcome, let self { self.log.log(.warn, "close() failed", handler: self.endpoint.name) }
        }
        unloadIfDrained()
    }

    /// Destroys every open connection; their closes arrive on later loop turns.
    func destroyConnections() {
        for (id, connection) in connections {
            noteEnding(id, "grace-expired")
            connection.close()
        }
    }

    /// Remembers how a connection is being ended, for `--access-log` (the first reason counts).
    private func noteEnding(_ id: ConnectionID, _ ending: String) {
        if options.isAccessLogged, endings[id] == nil { endings[id] = ending }
    }

    /// Frees everything of this generation now (a version that never served, or the broker stopping).
    func unload() {
        guard !isUnloaded else { return }
        isRetired = true
        destroyConnections()
        if connections.isEmpty { finishUnload() } else { runtime?.abortSignal() }
    }

    private func unloadIfDrained() {
        guard isRetired, connections.isEmpty, !isUnloaded else { return }
        runtime?.callClose { [weak self] outcome in
            if case .faulted = outcome, let self { self.log.log(.warn, "close() failed", handler: self.endpoint.name) }
        }
        finishUnload()
    }

    private func finishUnload() {
        guard !isUnloaded else { return }
        isUnloaded = true
        openTimer?.close()
        openTimer = nil
        graceTimer?.close()
        graceTimer = nil
        runtime?.unload()
        runtime = nil
        for timer in timers.values { timer.close() }
        timers.removeAll()
        onUnloaded?(self)
    }

    /// Closes the connections without traffic for `idle` ms (the claim's idle timeout); returns how many.
    func closeIdleConnections(olderThan idle: UInt64, now: UInt64) -> Int {
        var closed = 0
        for (id, connection) in connections where !connection.isClosing && now &- connection.lastActivity >= idle {
            closed += 1
            noteEnding(id, "idle-timeout")
            connection.close()
        }
        return closed
    }

    /// Hands an admitted connection to the handler (a TLS one after its handshake). `grouping` is the screen's
    /// grouping it was admitted under.
    func accept(_ connection: ServedConnection, grouping: Int) {
        guard let runtime else {
            connection.reset()
            return
        }
        lastConnection += 1
        let id = ConnectionID(lastConnection)
        connections[id] = connection
        if grouping != 0 { groupings[id] = grouping }
        connection.setDelegate(ConnectionEvents(id: id, generation: self))
        connection.startReading()
        let tcp = connection.tcp
        var info = ConnectionInfo(
            remoteAddress: tcp.remoteAddress, remotePort: tcp.remotePort,
            remoteFamily: tcp.remote.ip.family == .ipv4 ? .ipv4 : .ipv6,
            localAddress: tcp.localAddress, localPort: tcp.localPort)
        if case .tls(let secured) = connection { info.tls = secured.session.connectionInfo }
        check(runtime.acceptConnection(id, info))
    }

    /// Hands an admitted datagram to the handler; `sender` is its address as text.
    func receive(_ bytes: RawSpan, from sender: SocketAddress, text: String) {
        guard let runtime else { return }
        check(runtime.deliverDatagram(
            bytes, address: text, family: sender.ip.family == .ipv4 ? .ipv4 : .ipv6, port: sender.port))
    }

    /// After every call into JavaScript: a runtime that ran out of memory fails alone, and this generation goes.
    private func check(_ outcome: DispatchOutcome) {
        guard let runtime, runtime.isFailed, !isUnloaded, !hasFailed else { return }
        hasFailed = true
        log.log(.error, "the handler failed and stops serving \(endpoint.claim): \(outcome)", handler: endpoint.name)
        onFailed?(self)
        unload()
    }
}

extension Generation: HandlerHost {
    func log(_ level: LogLevel, _ message: String) {
        let brokerLevel: BrokerLog.Level = switch level {
        case .debug: .debug
        case .info: .info
        case .warn: .warn
        case .error: .error
        }
        // The runtime names the handler in its fault messages; the log line already does.
        let prefix = "\(endpoint.name): "
        log.log(brokerLevel, message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : message,
                handler: endpoint.name)
    }

    func monotonicMilliseconds() -> Double { Double(EventLoop.monotonicNanoseconds) / 1_000_000 }

    func scheduleTimer(id: TimerID, afterMilliseconds: Double) {
        let timer = timers[id] ?? LoopTimer(loop: loop)
        timers[id] = timer
        timer.start(after: UInt64(max(0, afterMilliseconds.rounded(.up)))) { [weak self] in
            guard let self, let runtime = self.runtime else { return }
            self.timers.removeValue(forKey: id)?.close()
            self.check(runtime.fireTimer(id: id))
        }
    }

    func cancelTimer(id: TimerID) { timers.removeValue(forKey: id)?.close() }

    func requestImmediates() {
        immediates.schedule { [weak self] in
            guard let self, let runtime = self.runtime else { return }
            self.check(runtime.runImmediates())
        }
    }

    func write(connection id: ConnectionID, bytes: RawSpan) -> Int {
        guard let connection = connections[id] else { return 0 }
        do {
            let written = try connection.write(bytes)
            guard written < bytes.byteCount else { return written }
            let limit = claim.endpoint.limits.maxBufferedBytes
            if connection.bufferedBytes > limit {
                // A consumer this far behind is closed, never allowed to grow the broker's memory.
                log.log(.warn, "closing a slow consumer: \(connection.bufferedBytes) bytes buffered for \(connection.remote)",
                        handler: endpoint.name, fields: [("limit", String(limit))])
                claim.screen.record(.slowConsumer)
                noteEnding(id, "slow-consumer")
                connection.close()
            }
            return written
        } catch {
            // Writing after our own shutdown or on a dying socket: the connection goes, its close tells JavaScript.
            connection.close()
            return 0
        }
    }

    func end(connection id: ConnectionID) {
        noteEnding(id, "handler-end")
        connections[id]?.shutdown()
    }

    func destroy(connection id: ConnectionID) {
        noteEnding(id, "handler-destroy")
        connections[id]?.close()
    }
    func pause(connection id: ConnectionID) { connections[id]?.stopReading() }
    func resume(connection id: ConnectionID) { connections[id]?.startReading() }
    func setNoDelay(connection id: ConnectionID, _ isEnabled: Bool) { try? connections[id]?.tcp.setNoDelay(isEnabled) }

    func setKeepAlive(connection id: ConnectionID, _ isEnabled: Bool, initialDelayMilliseconds: Int) {
        try? connections[id]?.tcp.setKeepAlive(isEnabled, delaySeconds: max(1, initialDelayMilliseconds / 1000))
    }

    func send(datagram: RawSpan, to address: String, port: Int) {
        claim.send(datagram, to: address, port: port, from: endpoint.name)
    }
}

/// Routes one connection's libuv events to its generation's runtime, by connection id.
private final class ConnectionEvents: TCPConnectionDelegate {
    let id: ConnectionID
    weak var generation: Generation?
    private var hadError = false

    init(id: ConnectionID, generation: Generation) {
        self.id = id
        self.generation = generation
    }

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        generation?.deliver { unsafe $0.deliverData(id, RawSpan(_unsafeBytes: bytes)) }
    }

    func connectionDidReachEnd(_ connection: TCPConnection) { generation?.deliver { $0.deliverEnd(id) } }

    func connection(_ connection: TCPConnection, didFail error: LoopError) {
        hadError = true
        generation?.deliver { $0.deliverError(id, code: error.code, message: "\(error.operation) \(error.code)") }
    }

    func connection(_ connection: TCPConnection, didWrite byteCount: Int, token: Int, error: LoopError?) {
        guard error == nil else { return }
        generation?.deliver { $0.deliverWritten(id, byteCount: byteCount) }
    }

    func connectionDidClose(_ connection: TCPConnection) { generation?.closed(id, hadError: hadError) }
}

extension Generation {
    /// The `--access-log` line of a closed connection.
    private func logAccess(_ connection: TCPConnection, ending: String) {
        let source = connection.remote.ip.family == .ipv6 ? "[\(connection.remoteAddress)]:\(connection.remotePort)"
            : "\(connection.remoteAddress):\(connection.remotePort)"
        log.log(.info, "access", handler: endpoint.name, fields: [
            ("source", source), ("endpoint", endpoint.claim),
            ("milliseconds", String(loop.now &- connection.acceptedAt)),
            ("received", String(connection.receivedBytes)), ("sent", String(connection.sentBytes)), ("end", ending),
        ])
    }

    fileprivate func deliver(_ call: (HandlerRuntime) -> DispatchOutcome) {
        guard let runtime else { return }
        check(call(runtime))
    }

    fileprivate func closed(_ id: ConnectionID, hadError: Bool) {
        if let connection = connections.removeValue(forKey: id) {
            claim.screen.connectionClosed(from: connection.remote.ip, grouping: groupings.removeValue(forKey: id) ?? 0)
            let tcp = connection.tcp
            (claim.meters.receivedBytes, claim.meters.sentBytes) = (claim.meters.receivedBytes + tcp.receivedBytes,
                                                                    claim.meters.sentBytes + tcp.sentBytes)
            if options.isAccessLogged {
                let ending = endings.removeValue(forKey: id) ?? (hadError ? "error" : tcp.hasReceivedEnd ? "peer-end" : "closed")
                logAccess(tcp, ending: ending)
            }
        }
        if let runtime { check(runtime.deliverClose(id, hadError: hadError)) }
        guard connections.isEmpty else { return }
        unloadIfDrained()
        claim.generationDrained(self)
    }
}
