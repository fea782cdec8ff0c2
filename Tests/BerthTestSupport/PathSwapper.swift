package import Foundation
import Synchronization

/// Exchanges two paths atomically (`renameat2(RENAME_EXCHANGE)`) over and over on a thread of its own, as an attacker
/// racing berth's confinement would, until `stop()` or its time limit.
package final class PathSwapper: Sendable {
    private let isRunning = Atomic<Bool>(true)
    private let swaps = Atomic<Int>(0)
    private let finished = DispatchSemaphore(value: 0)
    private let hasFinished = Atomic<Bool>(false)

    /// Starts swapping `first` and `second` (absolute paths on one file system) for at most `limit` seconds.
    package init(_ first: String, _ second: String, limit: TimeInterval = 30) throws {
        // glibc declares renameat2 only under _GNU_SOURCE, which Swift's Glibc module does not define.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else {
            throw CocoaError(.featureUnsupported)
        }
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let exchange: UInt32 = 2  // RENAME_EXCHANGE
        guard renameat2(AT_FDCWD, first, AT_FDCWD, second, exchange) == 0 else { throw CocoaError(.fileWriteUnknown) }
        let deadline = Date().addingTimeInterval(limit)
        Thread.detachNewThread { [self] in
            while isRunning.load(ordering: .relaxed), Date() < deadline {
                if renameat2(AT_FDCWD, first, AT_FDCWD, second, exchange) == 0 {
                    swaps.add(1, ordering: .relaxed)
                }
            }
            finished.signal()
        }
    }

    /// Stops swapping and returns how many swaps were made (the two paths may be either way round). Idempotent.
    @discardableResult
    package func stop() -> Int {
        isRunning.store(false, ordering: .relaxed)
        if !hasFinished.exchange(true, ordering: .relaxed) { finished.wait() }
        return swaps.load(ordering: .relaxed)
    }
}
