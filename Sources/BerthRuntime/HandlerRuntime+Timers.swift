import BerthJS
/// Timers and immediates on the runtime's side, and whose work each one is: the connection whose event set it.
extension HandlerRuntime {
    /// Immediates one `runImmediates()` call runs at most: a flood of them cannot hold the loop, whatever Node does.
    static let immediatesPerRun = 1024

    /// A connection whose event set up later work, with its serial in `openConnections`.
    struct WorkOwner {
        let connection: ConnectionID
        let serial: Int
    }

    /// The owner of work set up now: the connection being handled, if any.
    var currentOwner: WorkOwner? {
        activeConnection.flatMap { connection in
            openConnections[connection].map { WorkOwner(connection: connection, serial: $0) }
        }
    }

    /// The owner's connection while it is still open (not closed, nor its id reused).
    func openConnection(_ owner: WorkOwner) -> ConnectionID? {
        openConnections[owner.connection] == owner.serial ? owner.connection : nil
    }

    func scheduleTimer(_ id: TimerID, afterMilliseconds delay: Double) {
        pendingTimers.insert(id)
        timerOwners[id] = currentOwner
        host?.scheduleTimer(id: id, afterMilliseconds: delay)
    }

    func scheduleImmediate(_ id: TimerID) {
        pendingImmediates.insert(id)
        timerOwners[id] = currentOwner
        immediateQueue.append(id)
        requestImmediateRun()
    }

    func cancelTimer(_ id: TimerID) {
        timerOwners[id] = nil
        if pendingTimers.remove(id) != nil {
            host?.cancelTimer(id: id)
        } else {
            pendingImmediates.remove(id)
        }
    }

    /// Asks the host for one `runImmediates()` call, unless one is already due.
    func requestImmediateRun() {
        guard !isImmediateRunRequested else { return }
        isImmediateRunRequested = true
        host?.requestImmediates()
    }
}
