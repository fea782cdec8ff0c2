import BerthBroker
import Foundation
import Glibc
import Synchronization
import Testing

/// EventLoop itself: the inbox, timers, signals, and closing with handles still open.
@Suite(.timeLimit(.minutes(2)))
struct LoopTests {
    @Test func executeFromAnotherThreadRunsOnTheLoopThreadInOrder() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        loop.inboxKeepsLoopAlive = true
        let loopThread = pthread_self()
        let seen = Mutex<[(index: Int, onLoopThread: Bool)]>([])
        let producer = Background {
            for index in 0..<100 {
                loop.execute { seen.withLock { $0.append((index, pthread_equal(pthread_self(), loopThread) != 0)) } }
            }
            loop.execute { loop.stop() }
        }
        loop.run(seconds: 30)
        try producer.join()
        let jobs = seen.withLock { $0 }
        #expect(jobs.map(\.index) == Array(0..<100))
        #expect(jobs.allSatisfy { $0.onLoopThread })
    }

    @Test func anIdleInboxDoesNotKeepTheLoopAliveByDefault() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        #expect(!loop.inboxKeepsLoopAlive)
        loop.run()  // returns at once: nothing is alive
        let ran = Mutex(false)
        #expect(loop.execute { ran.withLock { $0 = true } })
        loop.runOnce(waiting: false)
        #expect(!ran.withLock { $0 }, "libuv does not even poll a loop with nothing alive")
        loop.inboxKeepsLoopAlive = true
        loop.runOnce(waiting: false)
        #expect(ran.withLock { $0 }, "the queued job runs once the loop runs")
    }

    @Test func executeAfterCloseIsRefused() throws {
        let loop = try EventLoop()
        loop.close()
        loop.close()
        #expect(!loop.execute {})
    }

    @Test func loopBoundCarriesAConnectionLikeValueThroughAJob() throws {
        final class Counter { var value = 0 }
        let loop = try EventLoop()
        defer { loop.close() }
        loop.inboxKeepsLoopAlive = true
        let counter = Counter()
        let bound = LoopBound(counter, loop: loop)
        let producer = Background {
            loop.execute {
                bound.value.value += 1
                loop.stop()
            }
        }
        loop.run(seconds: 30)
        #expect(try producer.join(), "execute accepted the job")
        #expect(counter.value == 1)
    }

    @Test func timersFireInDueOrderAndStop() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        var fired: [String] = []
        let timers = (0..<3).map { _ in LoopTimer(loop: loop) }
        timers[0].start(after: 30) { fired.append("30") }
        timers[1].start(after: 10) { fired.append("10") }
        timers[2].start(after: 20) { fired.append("20") }
        let sameTime = (0..<3).map { _ in LoopTimer(loop: loop) }
        for (index, timer) in sameTime.enumerated() { timer.start(after: 15) { fired.append("15.\(index)") } }
        let repeating = LoopTimer(loop: loop)
        var ticks = 0
        repeating.start(after: 5, repeat: 5) {
            ticks += 1
            if ticks == 3 { repeating.stop() }
        }
        let started = loop.now
        loop.run(seconds: 30)  // returns once every timer is done: stopped timers keep nothing alive
        #expect(fired == ["10", "15.0", "15.1", "15.2", "20", "30"])
        #expect(ticks == 3)
        #expect(!repeating.isActive)
        #expect(loop.now - started >= 30)
        for timer in timers + sameTime + [repeating] { timer.close() }
        // Seven timers and run(seconds:)'s watchdog: closing handles stay until their close callback ran.
        #expect(loop.handleCount == 8)
        loop.runOnce(waiting: false)
        #expect(loop.handleCount == 0)
    }

    /// Immediates run after the loop polled, in order; one queued by an immediate waits for the next iteration.
    @Test func anImmediateQueuedByAnImmediateRunsOnTheNextIteration() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let immediates = ImmediateQueue(loop: loop)
        var ran: [String] = []
        immediates.schedule {
            ran.append("a")
            immediates.schedule { ran.append("c") }
        }
        immediates.schedule { ran.append("b") }
        loop.runOnce(waiting: false)
        #expect(ran == ["a", "b"])
        #expect(!immediates.isEmpty)
        loop.runOnce(waiting: false)
        #expect(ran == ["a", "b", "c"])
        #expect(immediates.isEmpty)
        loop.run()  // returns at once: an empty queue keeps nothing alive
        immediates.close()
        immediates.schedule { ran.append("after close") }
        loop.runOnce(waiting: false)
        #expect(ran == ["a", "b", "c"])
    }

    /// An immediate that queues itself forever (libuv would rerun a 0 ms timer started in its own callback within
    /// the same pass, forever) leaves timers their turn.
    @Test func aSelfRequeuingImmediateLeavesTimersTheirTurn() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let immediates = ImmediateQueue(loop: loop)
        var links = 0
        func link() {
            links += 1
            immediates.schedule(link)
        }
        link()
        let timer = LoopTimer(loop: loop)
        var fired = false
        timer.start(after: 20) {
            fired = true
            immediates.close()
        }
        loop.run(seconds: 10)
        #expect(fired)
        #expect(links > 1)
        timer.close()
    }

    @Test func anUnreferencedTimerDoesNotKeepTheLoopAlive() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        let timer = LoopTimer(loop: loop)
        var fired = false
        timer.start(after: 10_000) { fired = true }
        timer.keepsLoopAlive = false
        #expect(timer.isActive && !timer.keepsLoopAlive)
        let start = EventLoop.monotonicNanoseconds
        loop.run()
        #expect(!fired)
        #expect(EventLoop.monotonicNanoseconds - start < 5_000_000_000)
        timer.close()
        timer.close()
    }

    @Test func signalWatcherSeesARaisedSIGUSR1() throws {
        let loop = try EventLoop()
        defer { loop.close() }
        var received: [Int32] = []
        let watcher = try SignalWatcher(loop: loop, signal: SIGUSR1) { received.append($0) }
        let trigger = LoopTimer(loop: loop)
        trigger.start(after: 10) {
            trigger.close()
            // To the process, not this thread: Swift concurrency's worker threads block signals.
            kill(getpid(), SIGUSR1)
        }
        // The watcher keeps the loop alive until the signal arrived and the handler closed it.
        let closer = LoopTimer(loop: loop)
        closer.keepsLoopAlive = false
        closer.start(after: 1, repeat: 1) {
            if !received.isEmpty {
                watcher.close()
                closer.close()
            }
        }
        loop.run(seconds: 30)
        #expect(received == [SIGUSR1])
    }

    @Test func closeClosesEveryOpenHandleAndReportsDidClose() throws {
        let loop = try EventLoop()
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0)
        let server = TestServer()
        listener.delegate = server
        server.onAccept = { connection in
            connection.startReading()
            try! connection.write(Array("unsent".utf8))
            loop.stop()
        }
        try listener.startListening()
        let port = listener.boundPort
        let udp = try UDPSocket(loop: loop, host: "::1", port: 0)
        udp.startReceiving()
        let timer = LoopTimer(loop: loop)
        timer.start(after: 60_000) {}
        let watcher = try SignalWatcher(loop: loop, signal: SIGUSR2) { _ in }
        let idleTimer = LoopTimer(loop: loop)  // never started
        _ = (watcher, idleTimer)
        let peer = Background { () throws -> BlockingSocket in try BlockingSocket.connect(to: "127.0.0.1", port: port) }
        loop.run(seconds: 30)
        let socket = try peer.join()
        defer { socket.close() }
        #expect(loop.handleCount == 7, "six handles and run(seconds:)'s closing watchdog")
        #expect(server.accepted.count == 1)
        loop.close()  // would trap if uv_loop_close found anything left
        #expect(loop.isClosed)
        #expect(server.events.last == "close")
        #expect(server.accepted.first?.delegate == nil, "the connection dropped its delegate")
        #expect(listener.delegate == nil)
        #expect(try socket.receiveToEnd().count <= 6, "the peer sees the close")
    }
}
