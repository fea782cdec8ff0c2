import BerthRuntime
import BerthPlan
import BerthStore

/// One served endpoint: its handler runtime, its socket, its connections and timers, all on the broker's loop.
/// It is the runtime's `HandlerHost`, turning JavaScript's socket calls into libuv calls and libuv events back into
/// the runtime's `deliver…` calls.
final class HandlerInstance {
    let endpoint: Endpoint
    private let loop: EventLoop
    private let immediates: ImmediateQueue
    private let log: BrokerLog
    private let options: ServeOptions
    private let screen: ConnectionScreen
    private let store: any SharedStore
    private let storeOwner: SharedStoreOwnerID
    private var runtime: HandlerRuntime?
    private var listener: TCPListener?
    private var udpSocket: UDPSocket?
    private var connections: [ConnectionID: TCPConnection] = [:]
    /// The last datagram's sender and its text: a reply usually goes straight back to it, so neither direction
    /// formats or parses an address per datagram.
    private var lastSender: (ip: IPAddress, text: String)?
    private var idleSweep: LoopTimer?
    private var lastConnection = 0
    private var timers: [TimerID: LoopTimer] = [:]
    /// Logs the refusals of the last interval, at most one line per interval, so a flood cannot flood the log.
    private var refusalSummary: LoopTimer?
    static let refusalSummaryMilliseconds: UInt64 = 5000
    private(set) var isStopped = false
    /// Called when the last connection has closed after `stopAccepting()`.
    var onDrained: (() -> Void)?
    /// Called once if the endpoint cannot start (module, bind, `open`, listen), after the reason was logged.
    var onStartFailed: (() -> Void)?

    init(endpoint: Endpoint, loop: EventLoop, immediates: ImmediateQueue, options: ServeOptions, log: BrokerLog,
         store: any SharedStore, storeOwner: SharedStoreOwnerID) {
        self.endpoint = endpoint
        self.immediates = immediates
        self.store = store
        self.storeOwner = storeOwner
        self.loop = loop
        self.options = options
        self.log = log
        screen = ConnectionScreen(endpoint: endpoint)
    }

    var openConnectionCount: Int { connections.count }

    /// Loads the module, binds the port, runs `open(ctx)`, then accepts: the port takes no client before open finished.
    func start(folder: String) {
        do {
            runtime = try HandlerRuntime(
                folder: folder, entry: endpoint.file, name: endpoint.name, transport: endpoint.transport,
                port: endpoint.port, heapLimit: options.heapLimitBytes,
                cpuBudgetMilliseconds: Double(options.cpuBudgetMilliseconds), host: self, store: store,
                storeOwner: storeOwner)
        } catch {
            log.log(.error, "not serving \(endpoint.file): \(error.message)", handler: endpoint.name)
            onStartFailed?()
            return
        }
        do {
            switch endpoint.transport {
            case .tcp:
                let listener = try TCPListener(loop: loop, host: options.bindAddress, port: endpoint.port)
                listener.delegate = self
                self.listener = listener
            case .udp:
                let socket = try UDPSocket(loop: loop, host: options.bindAddress, port: endpoint.port)
                socket.delegate = self
                udpSocket = socket
            }
        } catch {
            let address = options.bindAddress ?? "*"
            log.log(.error, "not serving \(endpoint.file): cannot bind \(endpoint.claim) on \(address): \(error.message) (\(error.code))",
                    handler: endpoint.name, fields: [("code", error.code)])
            unload()
            onStartFailed?()
            return
        }
        runtime?.callOpen { [weak self] outcome in self?.opened(outcome) }
    }

    private func opened(_ outcome: DispatchOutcome) {
        guard !isStopped else { return }
        guard case .ok = outcome else {
            log.log(.error, "not serving \(endpoint.file): open() failed", handler: endpoint.name)
            stop()
            onStartFailed?()
            return
        }
        do {
            try listener?.startListening()
            udpSocket?.startReceiving()
        } catch {
            log.log(.error, "not serving \(endpoint.file): cannot listen on \(endpoint.claim): \(error.message) (\(error.code))",
                    handler: endpoint.name, fields: [("code", error.code)])
            stop()
            onStartFailed?()
            return
        }
        log.log(.info, "listening on \(endpoint.claim)", handler: endpoint.name,
                fields: [("file", endpoint.file), ("address", options.bindAddress ?? "*")])
        let summary = LoopTimer(loop: loop)
        summary.start(after: Self.refusalSummaryMilliseconds, repeat: Self.refusalSummaryMilliseconds) { [weak self] in
            self?.logRefusals()
        }
        summary.keepsLoopAlive = false
        refusalSummary = summary
        if endpoint.transport == .tcp {
            let idle = UInt64(endpoint.limits.idleTimeoutMilliseconds)
            let sweep = LoopTimer(loop: loop)
            let interval = max(50, idle / 10)
            sweep.start(after: interval, repeat: interval) { [weak self] in self?.closeIdleConnections(olderThan: idle) }
            sweep.keepsLoopAlive = false
            idleSweep = sweep
        }
    }

    /// Stops taking new connections and datagrams, aborts `ctx.signal` and runs `close(ctx)`; open connections go on.
    func stopAccepting() {
        listener?.close()
        listener = nil
        udpSocket?.close()
        udpSocket = nil
        runtime?.callClose { [weak self] outcome in
            if case .faulted = outcome, let self { self.log.log(.warn, "close() failed", handler: self.endpoint.name) }
        }
        if connections.isEmpty { onDrained?() }
    }

    /// Destroys every open connection (the grace period is over); their closes arrive on later loop turns.
    func destroyConnections() {
        for connection in connections.values { connection.close() }
    }

    /// Frees the runtime and everything of this endpoint; nothing of the handler runs afterwards.
    func stop() {
        guard !isStopped else { return }
        isStopped = true
        listener?.close()
        listener = nil
        udpSocket?.close()
        udpSocket = nil
        destroyConnections()
        if connections.isEmpty { unload() }
    }

    private func closeIdleConnections(olderThan idle: UInt64) {
        let now = loop.now
        for connection in connections.values where !connection.isClosing && now &- connection.lastActivity >= idle {
            screen.record(.idleTimeout)
            connection.close()
        }
    }

    private func logRefusals() {
        screen.expireIdleSources(now: loop.now)
        let refusals = screen.takeRefusals()
        guard !refusals.isEmpty else { return }
        let total = refusals.values.reduce(0, +)
        let reasons = refusals.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key.rawValue, String($0.value)) }
            + [("sources", String(screen.trackedSources))]
        log.log(.warn, "refused \(total) in the last \(Self.refusalSummaryMilliseconds / 1000)s on \(endpoint.claim)",
                handler: endpoint.name, fields: reasons)
    }

    private func unload() {
        logRefusals()
        refusalSummary?.close()
        refusalSummary = nil
        idleSweep?.close()
        idleSweep = nil
        runtime?.unload()
        runtime = nil
        for timer in timers.values { timer.close() }
        timers.removeAll()
    }

    /// After every call into JavaScript: a runtime that ran out of memory fails alone, and its endpoint stops.
    private func check(_ outcome: DispatchOutcome) {
        guard let runtime, runtime.isFailed, !isStopped else { return }
        log.log(.error, "the handler failed and stops serving \(endpoint.claim): \(outcome)", handler: endpoint.name)
        stop()
    }
}

extension HandlerInstance: HandlerHost {
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
            // Most writes go to the kernel at once, without a copy; only the rest is copied into the write queue.
            let written = try unsafe bytes.withUnsafeBytes { bytes throws(LoopError) in
                try unsafe connection.tryWrite(bytes)
            }
            guard written < bytes.byteCount else { return written }
            try unsafe bytes.extracting(droppingFirst: written).withUnsafeBytes { rest throws(LoopError) in
                try unsafe connection.write(copying: rest)
            }
            if connection.bufferedBytes > endpoint.limits.maxBufferedBytes {
                // A consumer this far behind is closed, never allowed to grow the broker's memory.
                log.log(.warn, "closing a slow consumer: \(connection.bufferedBytes) bytes buffered for \(connection.remote)",
                        handler: endpoint.name, fields: [("limit", String(endpoint.limits.maxBufferedBytes))])
                screen.record(.slowConsumer)
                connection.close()
            }
            return written
        } catch {
            // Writing after our own shutdown or on a dying socket: the connection goes, its close tells JavaScript.
            connection.close()
            return 0
        }
    }

    func end(connection id: ConnectionID) { connections[id]?.shutdown() }
    func destroy(connection id: ConnectionID) { connections[id]?.close() }
    func pause(connection id: ConnectionID) { connections[id]?.stopReading() }
    func resume(connection id: ConnectionID) { connections[id]?.startReading() }
    func setNoDelay(connection id: ConnectionID, _ isEnabled: Bool) { try? connections[id]?.setNoDelay(isEnabled) }

    func setKeepAlive(connection id: ConnectionID, _ isEnabled: Bool, initialDelayMilliseconds: Int) {
        try? connections[id]?.setKeepAlive(isEnabled, delaySeconds: max(1, initialDelayMilliseconds / 1000))
    }

    func send(datagram: RawSpan, to address: String, port: Int) {
        let destination = lastSender.flatMap { $0.text == address && (0...65535).contains(port) ? SocketAddress(ip: $0.ip, port: port) : nil }
            ?? SocketAddress(address: address, port: port)
        guard let socket = udpSocket, let destination else {
            log.log(.warn, "ctx.reply: \(address):\(port) is not an address to reply to", handler: endpoint.name)
            return
        }
        do {
            try unsafe datagram.withUnsafeBytes { bytes throws(LoopError) in
                try unsafe socket.send(bytes, to: destination)
            }
        } catch {
            log.log(.warn, "ctx.reply to \(destination) failed: \(error.message)", handler: endpoint.name)
        }
    }
}

extension HandlerInstance: TCPListenerDelegate {
    func listener(_ listener: TCPListener, accepted connection: TCPConnection) {
        guard let runtime, case .admit = screen.admitConnection(from: connection.remote.ip, now: loop.now) else {
            connection.reset()
            return
        }
        lastConnection += 1
        let id = ConnectionID(lastConnection)
        connections[id] = connection
        connection.delegate = ConnectionEvents(id: id, instance: self)
        connection.startReading()
        let info = ConnectionInfo(
            remoteAddress: connection.remoteAddress, remotePort: connection.remotePort,
            remoteFamily: connection.remote.ip.family == .ipv4 ? .ipv4 : .ipv6,
            localAddress: connection.localAddress, localPort: connection.localPort)
        check(runtime.acceptConnection(id, info))
    }

    /// Counted into the summary line, never logged one by one: a flood of resets would flood the log.
    func listener(_ listener: TCPListener, failedToAccept error: LoopError) {
        let isReset = ["ENOTCONN", "ECONNABORTED", "ECONNRESET"].contains(error.code)
        screen.record(isReset ? .resetBeforeAccept : .acceptFailed)
    }

    func listener(_ listener: TCPListener, reset count: Int, outOfDescriptors error: LoopError, isNew: Bool) {
        screen.record(.descriptorLimit, count: count)
        guard isNew else { return }
        let maximum = loop.descriptorLimit.map { ", limit \($0)" } ?? ""
        log.log(.error, "out of file descriptors (\(error.message)\(maximum)): new connections on every port are reset "
                + "until descriptors free up; the summary lines count them as descriptor-limit",
                fields: [("code", error.code)])
    }
}

extension HandlerInstance: UDPSocketDelegate {
    func socket(_ socket: UDPSocket, didReceive bytes: UnsafeRawBufferPointer, from sender: SocketAddress) {
        guard let runtime, case .admit = screen.admitDatagram(from: sender.ip, now: loop.now) else { return }
        let text: String
        if let last = lastSender, last.ip == sender.ip { text = last.text } else {
            text = sender.address
            lastSender = (sender.ip, text)
        }
        check(unsafe runtime.deliverDatagram(
            RawSpan(_unsafeBytes: bytes), address: text, family: sender.ip.family == .ipv4 ? .ipv4 : .ipv6,
            port: sender.port))
    }

    func socket(_ socket: UDPSocket, didFail error: LoopError) {
        log.log(.warn, "UDP socket error: \(error.message)", handler: endpoint.name, fields: [("code", error.code)])
    }
}

/// Routes one connection's libuv events to its handler's runtime, by connection id.
private final class ConnectionEvents: TCPConnectionDelegate {
    let id: ConnectionID
    weak var instance: HandlerInstance?
    private var hadError = false

    init(id: ConnectionID, instance: HandlerInstance) {
        self.id = id
        self.instance = instance
    }

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        instance?.deliver { unsafe $0.deliverData(id, RawSpan(_unsafeBytes: bytes)) }
    }

    func connectionDidReachEnd(_ connection: TCPConnection) { instance?.deliver { $0.deliverEnd(id) } }

    func connection(_ connection: TCPConnection, didFail error: LoopError) {
        hadError = true
        instance?.deliver { $0.deliverError(id, code: error.code, message: "\(error.operation) \(error.code)") }
    }

    func connection(_ connection: TCPConnection, didWrite byteCount: Int, token: Int, error: LoopError?) {
        guard error == nil else { return }
        instance?.deliver { $0.deliverWritten(id, byteCount: byteCount) }
    }

    func connectionDidClose(_ connection: TCPConnection) { instance?.closed(id, hadError: hadError) }
}

extension HandlerInstance {
    fileprivate func deliver(_ call: (HandlerRuntime) -> DispatchOutcome) {
        guard let runtime else { return }
        check(call(runtime))
    }

    fileprivate func closed(_ id: ConnectionID, hadError: Bool) {
        if let connection = connections.removeValue(forKey: id) { screen.connectionClosed(from: connection.remote.ip) }
        if let runtime { check(runtime.deliverClose(id, hadError: hadError)) }
        guard connections.isEmpty else { return }
        if isStopped { unload() }
        if listener == nil, udpSocket == nil { onDrained?() }
    }
}
