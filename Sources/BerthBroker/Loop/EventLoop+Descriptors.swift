internal import CLibUV
internal import Glibc

/// At the descriptor limit, accept(2) fails with EMFILE/ENFILE (even with nothing waiting) and the waiting connection
/// stays queued. libuv's own answer (uv__emfile_trick) frees a reserve descriptor and resets every waiting connection
/// without telling anyone, so the broker takes libuv's reserve away and does the same with its own, counting what it
/// resets. The reserve is taken again on the next loop turn, once libuv's accept loop has met the free slot (EAGAIN)
/// and stopped: holding it at once would make that loop meet EMFILE again, forever.
extension EventLoop {
    /// Closes the reserve libuv opens whenever a stream is made (then libuv reports EMFILE to the listener) and
    /// makes sure berth holds its own. Called after every `uv_tcp_init`.
    func takeDescriptorReserve() {
        if unsafe raw.pointee.emfile_fd != -1 {
            unsafe Glibc.close(raw.pointee.emfile_fd)
            unsafe raw.pointee.emfile_fd = -1
        }
        if descriptorReserve == -1 { descriptorReserve = open("/dev/null", O_RDONLY | O_CLOEXEC) }
    }

    /// Resets every connection waiting on the listening socket `descriptor`: frees the reserve, accepts and closes
    /// them one by one until none is left. Returns how many were reset.
    func shedWaitingConnections(listening descriptor: Int32) -> Int {
        isOutOfDescriptors = true
        if descriptorReserve != -1 {
            Glibc.close(descriptorReserve)
            descriptorReserve = -1
            let retake = LoopTimer(loop: self)
            retake.keepsLoopAlive = false
            retake.start(after: 0) {
                self.takeDescriptorReserve()
                retake.close()
            }
        }
        var count = 0
        while true {
            let accepted = unsafe accept(descriptor, nil, nil)  // closed at once: no need for SOCK_CLOEXEC
            if accepted >= 0 {
                Glibc.close(accepted)
                count += 1
            } else if errno != EINTR {
                break
            }
        }
        return count
    }

    /// The process's descriptor limit (RLIMIT_NOFILE, soft), for messages.
    var descriptorLimit: Int? { System.fileLimit }
}
