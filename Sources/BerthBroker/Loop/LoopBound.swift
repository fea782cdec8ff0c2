/// Carries a loop-confined value (a connection, a delegate) through `@Sendable` closures such as `execute` jobs;
/// only its loop's thread may open it. The value's last release may happen on any thread.
package struct LoopBound<Value>: @unchecked Sendable {  // `value` is read only on `loop`'s thread (checked)
    private let wrapped: Value
    package let loop: EventLoop

    package init(_ value: Value, loop: EventLoop) {
        precondition(loop.isInLoopThread, "LoopBound made off its loop thread")
        (wrapped, self.loop) = (value, loop)
    }

    package var value: Value {
        precondition(loop.isInLoopThread, "LoopBound opened off its loop thread")
        return wrapped
    }
}
