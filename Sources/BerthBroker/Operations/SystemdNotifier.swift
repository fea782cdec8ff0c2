import Foundation

/// Tells a supervising systemd how the broker is doing, through the `NOTIFY_SOCKET` datagram protocol of
/// sd_notify(3), without libsystemd: `READY=1` once every port that can start listens, `RELOADING=1` and `READY=1`
/// around a reload, `STOPPING=1` at shutdown, and `WATCHDOG=1` from the loop while it turns.
final class SystemdNotifier {
    private let socketPath: String
    /// Half of `WATCHDOG_USEC`, in ms, when systemd asks this process for watchdog pings.
    let watchdogIntervalMilliseconds: UInt64?
    private let log: BrokerLog
    private var hasWarned = false

    /// Nil when the process was not started by systemd with `NotifyAccess` (no `NOTIFY_SOCKET`).
    init?(environment: [String: String] = ProcessInfo.processInfo.environment, log: BrokerLog) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return nil }
        (socketPath, self.log) = (path, log)
        let isForUs = environment["WATCHDOG_PID"].map { $0 == String(getpid()) } ?? true
        if isForUs, let microseconds = environment["WATCHDOG_USEC"].flatMap(UInt64.init), microseconds > 0 {
            watchdogIntervalMilliseconds = max(1, microseconds / 2000)
        } else {
            watchdogIntervalMilliseconds = nil
        }
    }

    /// Sends `fields` (`KEY=value`) as one message; a failure is logged once, and the broker goes on.
    func notify(_ fields: [String]) {
        guard !System.sendDatagram(fields.joined(separator: "\n") + "\n", toUnixSocket: socketPath), !hasWarned else {
            return
        }
        hasWarned = true
        log.log(.warn, "cannot notify systemd at NOTIFY_SOCKET=\(socketPath); serving goes on")
    }

    func ready(status: String) { notify(["READY=1", "STATUS=\(status)"]) }

    func reloading(status: String) {
        notify(["RELOADING=1", "MONOTONIC_USEC=\(System.monotonicMicroseconds)", "STATUS=\(status)"])
    }

    func stopping(status: String) { notify(["STOPPING=1", "STATUS=\(status)"]) }

    func watchdog() { notify(["WATCHDOG=1"]) }
}
