internal import Glibc
import Foundation

/// The broker's process-wide system calls, kept beside the loop's other wrappers: the shutdown signals' mask, the
/// descriptor limit, and the exit a second signal asks for.
@safe enum System {
    /// A parent that spawned us from a thread with SIGTERM/SIGINT/SIGHUP blocked (test runners, some supervisors)
    /// passes that mask on; the broker must still hear them.
    static func unblockShutdownSignals() {
        var set = sigset_t()
        unsafe sigemptyset(&set)
        unsafe sigaddset(&set, SIGTERM)
        unsafe sigaddset(&set, SIGINT)
        unsafe sigaddset(&set, SIGHUP)
        _ = unsafe pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// A broker holds a socket per connection: lift the soft descriptor limit to the hard one, as Node and HAProxy do.
    static func raiseFileLimit() {
        var limit = rlimit()
        guard unsafe getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = unsafe setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// The process's descriptor limit (RLIMIT_NOFILE, soft), for messages.
    static var fileLimit: Int? {
        var limit = rlimit()
        guard unsafe getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return Int(limit.rlim_cur)
    }

    /// Sends one datagram of `text` to the Unix socket at `path` (`@name` for the abstract namespace), without
    /// blocking: sd_notify(3)'s protocol. False when it could not be sent.
    static func sendDatagram(_ text: String, toUnixSocket path: String) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(path.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !pathBytes.isEmpty, pathBytes.count < capacity else { return false }
        unsafe withUnsafeMutableBytes(of: &address.sun_path) { sunPath in
            unsafe sunPath.copyBytes(from: pathBytes)
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + pathBytes.count)
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        let sent = unsafe withUnsafePointer(to: &address) { pointer in
            unsafe pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                unsafe sendto(descriptor, bytes, bytes.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL), socketAddress, length)
            }
        }
        return sent == bytes.count
    }

    /// The process's resident memory in bytes (/proc/self/statm), for the metrics.
    static var residentBytes: Int? {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The descriptors the process has open (entries of /proc/self/fd, less the one listing it).
    static var openDescriptors: Int? {
        guard let directory = unsafe opendir("/proc/self/fd") else { return nil }
        defer { unsafe closedir(directory) }
        var count = 0
        while let entry = unsafe readdir(directory) {
            if unsafe entry.pointee.d_name.0 != CChar(UInt8(ascii: ".")) { count += 1 }
        }
        return count - 1
    }

    /// User and system CPU time the process used, in seconds.
    static var cpuSeconds: Double {
        var usage = rusage()
        guard unsafe getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// CLOCK_MONOTONIC in microseconds: what `RELOADING=1` tells systemd as `MONOTONIC_USEC`.
    static var monotonicMicroseconds: UInt64 {
        var time = timespec()
        unsafe clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
    }

    /// Ends the process now, without draining: what a second shutdown signal asks for.
    static func exitNow(_ status: Int32) -> Never { exit(status) }
}
