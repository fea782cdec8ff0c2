internal import CLibUV

/// Tells the loop thread when something changes in one directory (libuv's fs event, inotify on Linux), so the broker
/// can follow its folder; subdirectories need watchers of their own.
///
/// `onChange(name)` runs once per inotify event, with the entry's name: created, written (every write, not only the
/// last), attributes changed, deleted, and both names of a rename (the old one, then the new one; a name moved in
/// from or out to another directory arrives once). Several events for one save are normal: owners debounce.
/// `onChange(nil)` means the directory itself changed: its attributes, or it is gone (deleted, moved away, or its file
/// system unmounted). Once gone the watcher has stopped (`isWatching` is false, it reports nothing more, even if a
/// directory appears again at `path`): re-scan, close it, and watch `path` anew if it exists.
///
/// inotify's limits, which owners must plan for: a deleted directory is reported only once no process holds it (an
/// open descriptor, a working directory; a move is reported at once), while its parent's watcher reports the name at
/// once; a watch follows the directory, so renaming an ancestor is not reported; libuv 1.44 drops inotify's
/// queue-overflow notice (beyond `fs.inotify.max_queued_events` unread events, events are lost silently); and a
/// user's watches are bounded by `fs.inotify.max_user_watches` (ENOSPC).
@safe package final class DirectoryWatcher: LoopHandleOwner {
    package let loop: EventLoop
    /// The directory as given to `init`.
    package let path: String
    private let handle: UnsafeMutablePointer<uv_fs_event_t>
    private var onChange: ((String?) -> Void)?
    private var isClosing = false

    /// Starts watching the directory at `path` (absolute, or relative to the working directory); throws ENOENT,
    /// ENOTDIR, EACCES, or ENOSPC when the user's inotify watches are used up.
    package init(loop: EventLoop, path: String, onChange: @escaping (_ name: String?) -> Void) throws(LoopError) {
        loop.assertInLoopThread()
        guard !path.utf8.contains(0) else {
            throw LoopError(status: UV_EINVAL.rawValue, operation: "uv_fs_event_start")
        }
        let handle = unsafe allocateZeroed(uv_fs_event_t.self)
        let initialized = unsafe uv_fs_event_init(loop.raw, handle)
        if initialized < 0 {
            unsafe handle.deallocate()  // never registered with the loop
            throw LoopError(status: initialized, operation: "uv_fs_event_init")
        }
        let status = unsafe uv_fs_event_start(
            handle,
            { handle, name, events, status in
                guard let handle = unsafe handle else { return }
                let name = unsafe name.map { unsafe String(cString: $0) }
                unsafe owner(of: handlePointer(handle), as: DirectoryWatcher.self).report(
                    name: name, events: events, status: status)
            }, Self.watchPath(path), 0)
        if status < 0 {
            unsafe closeUnadopted(handlePointer(handle))
            throw LoopError(status: status, operation: "uv_fs_event_start")
        }
        unsafe self.handle = handle
        self.loop = loop
        self.path = path
        self.onChange = onChange
        unsafe adopt(handlePointer(handle), by: self)
        unsafe setHandleKeepsLoopAlive(handlePointer(handle), false)
    }

    /// The path inotify watches: `path` with "/." appended. inotify gives events about the watched directory itself no
    /// name, and libuv then passes the last component of the watched path, which would look like an entry of that
    /// name; "." is a name no entry has. It also makes a path that is not a directory fail (ENOTDIR).
    private static func watchPath(_ path: String) -> String {
        path.isEmpty ? path : path.hasSuffix("/") ? path + "." : path + "/."
    }

    private func report(name: String?, events: Int32, status: Int32) {
        guard !isClosing, let onChange else { return }
        guard status >= 0, let name, name != "." else {
            // libuv sets UV_CHANGE for IN_ATTRIB and IN_MODIFY only; every other event on the directory itself
            // (IN_DELETE_SELF, IN_MOVE_SELF, IN_UNMOUNT, IN_IGNORED) means the watch no longer follows `path`. UV_RENAME
            // cannot tell: libuv sets it for IN_ISDIR too, so a chmod of the directory arrives as both.
            if status < 0 || events & Int32(UV_CHANGE.rawValue) == 0 { _ = unsafe uv_fs_event_stop(handle) }
            onChange(nil)
            return
        }
        onChange(name)
    }

    /// Whether events are still reported: false once closing, or once the directory itself went away.
    package var isWatching: Bool {
        loop.assertInLoopThread()
        return unsafe !isClosing && uv_is_active(handlePointer(handle)) != 0
    }

    /// Whether the watcher keeps `EventLoop.run()` from returning (uv_ref / uv_unref); false by default: a broker's
    /// loop lives for its sockets and signal watchers, and watching alone should not keep it running. The loop polls
    /// inotify whenever it runs, whatever this says.
    package var keepsLoopAlive: Bool {
        get { unsafe !isClosing && handleKeepsLoopAlive(handlePointer(handle)) }
        set {
            loop.assertInLoopThread()
            guard !isClosing else { return }
            unsafe setHandleKeepsLoopAlive(handlePointer(handle), newValue)
        }
    }

    /// Stops watching and releases `onChange`; no call follows, even for events already read. Idempotent.
    package func close() {
        loop.assertInLoopThread()
        guard !isClosing else { return }
        isClosing = true
        unsafe closeHandle(handlePointer(handle))
    }

    func handleDidClose() { onChange = nil }
}
