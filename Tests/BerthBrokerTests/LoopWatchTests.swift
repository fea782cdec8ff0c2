import BerthBroker
import BerthTestSupport
import Glibc
import Synchronization
import Testing

/// DirectoryWatcher on real directories, and LoopInbox fed from real threads.
@Suite(.timeLimit(.minutes(2)))
struct LoopWatchTests {
    @Test func entriesCreatedWrittenRenamedIntoPlaceAndDeletedAreReportedByName() throws {
        let folder = try TemporaryFolder("berth-watch")
        let loop = try EventLoop()
        defer { loop.close() }
        var names: [String?] = []
        let watcher = try DirectoryWatcher(loop: loop, path: folder.path) { names.append($0) }
        try Files.create(folder.path + "/a")
        try Files.append(folder.path + "/a", "1")
        try Files.create(folder.path + "/.b.tmp")
        try Files.rename(folder.path + "/.b.tmp", to: folder.path + "/b")
        try Files.remove(folder.path + "/a")
        loop.run(until: { names.count >= 6 })
        // created, written, created, renamed from, renamed to, deleted: one inotify event each.
        #expect(names == ["a", "a", ".b.tmp", ".b.tmp", "b", "a"])
        #expect(watcher.isWatching)
    }

    @Test func anEntryOfASubdirectoryIsReportedOnlyByTheSubdirectorysWatcher() throws {
        let folder = try TemporaryFolder("berth-watch")
        try folder.makeDirectory("sub")
        let loop = try EventLoop()
        defer { loop.close() }
        var parentNames: [String?] = []
        var subNames: [String?] = []
        let parent = try DirectoryWatcher(loop: loop, path: folder.path) { parentNames.append($0) }
        let sub = try DirectoryWatcher(loop: loop, path: folder.path + "/sub/") { subNames.append($0) }
        try Files.create(folder.path + "/sub/x")
        // One inotify queue per loop: once the marker arrives, any event the parent had for sub/x has too.
        try Files.create(folder.path + "/marker")
        loop.run(until: { parentNames.contains("marker") && !subNames.isEmpty })
        #expect(parentNames == ["marker"])
        #expect(subNames == ["x"])
        parent.close()
        sub.close()
    }

    enum DirectoryLoss: CaseIterable { case deleted, movedAway }

    @Test(arguments: DirectoryLoss.allCases)
    func theWatchedDirectoryGoingAwayIsReportedOnceAndStopsTheWatcher(_ loss: DirectoryLoss) throws {
        let folder = try TemporaryFolder("berth-watch")
        try folder.makeDirectory("sub")
        try Files.create(folder.path + "/sub/x")
        let loop = try EventLoop()
        defer { loop.close() }
        var parentNames: [String?] = []
        var subNames: [String?] = []
        let parent = try DirectoryWatcher(loop: loop, path: folder.path) { parentNames.append($0) }
        let sub = try DirectoryWatcher(loop: loop, path: folder.path + "/sub") { subNames.append($0) }
        let expectedSub: [String?]
        switch loss {
        case .deleted:
            try Files.remove(folder.path + "/sub/x")
            try Files.removeDirectory(folder.path + "/sub")
            expectedSub = ["x", nil]
            loop.run(until: { subNames.contains(nil) && parentNames == ["sub"] })
            #expect(!sub.isWatching)
            // A new directory at the same path is not the watched one.
            try Files.makeDirectory(folder.path + "/sub")
            try Files.create(folder.path + "/sub/y")
        case .movedAway:
            try Files.rename(folder.path + "/sub", to: folder.path + "/moved")
            expectedSub = [nil]
            loop.run(until: { subNames.contains(nil) && parentNames == ["sub", "moved"] })
            #expect(!sub.isWatching)
            // The directory lives on elsewhere, unwatched.
            try Files.create(folder.path + "/moved/y")
        }
        try Files.create(folder.path + "/marker")
        loop.run(until: { parentNames.contains("marker") })
        #expect(subNames == expectedSub, "one nil, then nothing (inotify's IN_IGNORED and later changes included)")
        sub.close()
        parent.close()

        // The owner's answer: watch the path anew once a directory is there.
        guard loss == .deleted else { return }
        var renewedNames: [String?] = []
        let renewed = try DirectoryWatcher(loop: loop, path: folder.path + "/sub") { renewedNames.append($0) }
        try Files.create(folder.path + "/sub/z")
        loop.run(until: { !renewedNames.isEmpty })
        #expect(renewedNames == ["z"])
        renewed.close()
    }

    @Test func aChangeToTheDirectoryItselfIsReportedWithoutANameAndWatchingGoesOn() throws {
        let folder = try TemporaryFolder("berth-watch")
        let loop = try EventLoop()
        defer { loop.close() }
        var names: [String?] = []
        let watcher = try DirectoryWatcher(loop: loop, path: folder.path) { names.append($0) }
        #expect(chmod(folder.path, 0o700) == 0)
        try Files.create(folder.path + "/y")
        loop.run(until: { names.count >= 2 })
        #expect(names == [nil, "y"])
        #expect(watcher.isWatching)
        // EventLoop.close() (deferred) closes the watcher still open.
    }

    @Test func watchingSomethingThatIsNotADirectoryThrows() throws {
        let folder = try TemporaryFolder("berth-watch")
        try Files.create(folder.path + "/file")
        let loop = try EventLoop()
        defer { loop.close() }
        func failure(_ path: String) -> String? {
            do {
                _ = try DirectoryWatcher(loop: loop, path: path) { _ in }
                return nil
            } catch { return "\(error.operation) \(error.code)" }
        }
        #expect(failure(folder.path + "/missing") == "uv_fs_event_start ENOENT")
        #expect(failure(folder.path + "/file") == "uv_fs_event_start ENOTDIR")
        #expect(failure("") == "uv_fs_event_start ENOENT")
        #expect(failure(folder.path + "\0/file") == "uv_fs_event_start EINVAL")
        loop.runOnce(waiting: false)  // the failed handles' close callbacks
        #expect(loop.handleCount == 0)
    }

    @Test func closeStopsEventsAndLetsTheLoopExit() throws {
        let folder = try TemporaryFolder("berth-watch")
        let loop = try EventLoop()
        defer { loop.close() }
        var names: [String?] = []
        var watcherToClose: DirectoryWatcher?
        let watcher = try DirectoryWatcher(loop: loop, path: folder.path) { name in
            names.append(name)
            watcherToClose?.close()
        }
        watcherToClose = watcher
        #expect(!watcher.keepsLoopAlive)
        loop.run()  // returns at once: an unreferenced watcher keeps nothing alive
        watcher.keepsLoopAlive = true
        try Files.create(folder.path + "/a")
        try Files.append(folder.path + "/a", "1")  // read together with the first event, never reported
        loop.run(seconds: 10)  // the first event closes the watcher; then nothing is alive
        #expect(names == ["a"])
        #expect(!watcher.isWatching)
        #expect(!watcher.keepsLoopAlive)
        try Files.create(folder.path + "/b")
        loop.runOnce(waiting: false)
        #expect(names == ["a"])
        #expect(loop.handleCount == 0)
        watcher.close()
    }

    struct Numbered: Sendable {
        var thread: Int
        var index: Int
    }

    @Test func tenThousandMessagesFromFourThreadsAllArriveInOrderPerThread() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let loopThread = pthread_self()
        var received: [[Int]] = Array(repeating: [], count: 4)
        var receivedOffLoopThread = 0
        var inboxToClose: LoopInbox<Numbered>?
        let inbox = try LoopInbox<Numbered>(loop: loop) { message in
            if pthread_equal(pthread_self(), loopThread) == 0 { receivedOffLoopThread += 1 }
            received[message.thread].append(message.index)
            if received.map(\.count).reduce(0, +) == 10_000 { inboxToClose?.close() }
        }
        inboxToClose = inbox
        inbox.keepsLoopAlive = true
        let producers = (0..<4).map { thread in
            Background {
                (0..<2_500).allSatisfy { index in inbox.post(Numbered(thread: thread, index: index)) }
            }
        }
        loop.run(seconds: 60)  // until the last message closed the inbox
        for producer in producers { #expect(try producer.join(), "every post was accepted") }
        #expect(received == Array(repeating: Array(0..<2_500), count: 4))
        #expect(receivedOffLoopThread == 0)
    }

    /// Counts the `Token`s released, wherever that happens.
    final class ReleaseCounter: Sendable {
        let count = Atomic(0)
    }

    final class Token: Sendable {
        let counter: ReleaseCounter
        init(_ counter: ReleaseCounter) { self.counter = counter }
        deinit { counter.count.add(1, ordering: .relaxed) }
    }

    @Test func closeDropsWaitingMessagesAndPostsAfterItAreRefused() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let released = ReleaseCounter()
        var receivedCount = 0
        let inbox = try LoopInbox<Token>(loop: loop) { _ in receivedCount += 1 }
        #expect(!inbox.keepsLoopAlive)
        loop.run()  // returns at once: an unreferenced inbox keeps nothing alive
        for _ in 0..<3 { #expect(inbox.post(Token(released))) }
        inbox.close()
        inbox.close()
        #expect(released.count.load(ordering: .relaxed) == 3, "the waiting messages were released by close()")
        let lateProducer = Background { inbox.post(Token(released)) }
        #expect(try !lateProducer.join())
        #expect(released.count.load(ordering: .relaxed) == 4)
        loop.runOnce(waiting: false)
        #expect(receivedCount == 0)
        #expect(loop.handleCount == 0)

        let orphan = try LoopInbox<Token>(loop: loop) { _ in receivedCount += 1 }
        loop.close()  // closes the inbox still open
        #expect(!orphan.post(Token(released)))
        #expect(receivedCount == 0)
    }

    @Test func closingFromReceiveWhileAThreadKeepsPostingDropsTheRest() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        var received: [Int] = []
        var inboxToClose: LoopInbox<Int>?
        let inbox = try LoopInbox<Int>(loop: loop) { index in
            received.append(index)
            if received.count == 100 { inboxToClose?.close() }
        }
        inboxToClose = inbox
        inbox.keepsLoopAlive = true
        let producer = Background {
            var accepted = 0
            while accepted < 1_000_000, inbox.post(accepted) { accepted += 1 }
            return accepted
        }
        loop.run(seconds: 60)  // until the 100th message closed the inbox
        let accepted = try producer.join()
        #expect(received == Array(0..<100), "nothing after close(), even from the batch being delivered")
        #expect(accepted >= 100)
    }
}

/// File system changes made one system call at a time, so the inotify events they cause are known exactly.
private enum Files {
    static func create(_ path: String) throws {
        let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o644)
        guard descriptor >= 0 else { throw SocketError(operation: "open \(path)", code: errno) }
        _ = close(descriptor)
    }

    static func append(_ path: String, _ text: String) throws {
        let descriptor = open(path, O_WRONLY | O_APPEND)
        guard descriptor >= 0 else { throw SocketError(operation: "open \(path)", code: errno) }
        defer { _ = close(descriptor) }
        let written = Array(text.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == text.utf8.count else { throw SocketError(operation: "write \(path)", code: errno) }
    }

    static func rename(_ path: String, to newPath: String) throws {
        guard Glibc.rename(path, newPath) == 0 else { throw SocketError(operation: "rename \(path)", code: errno) }
    }

    static func remove(_ path: String) throws {
        guard unlink(path) == 0 else { throw SocketError(operation: "unlink \(path)", code: errno) }
    }

    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 else { throw SocketError(operation: "mkdir \(path)", code: errno) }
    }

    static func removeDirectory(_ path: String) throws {
        guard rmdir(path) == 0 else { throw SocketError(operation: "rmdir \(path)", code: errno) }
    }
}
