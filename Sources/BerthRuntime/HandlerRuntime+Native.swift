import BerthJS
/// The native functions the runtime's JavaScript imports from `berth:host`, by number: only what JavaScript cannot do
/// itself (the host's clock, timers and sockets, printing, randomness, UTF-8 at native speed, reporting faults).
enum NativeFunction: Int32, CaseIterable {
    case print, now, randomFill, scheduleTimer, scheduleImmediate, cancelTimer
    case write, end, destroy, pause, resume, setNoDelay, setKeepAlive, send
    case encodeUTF8, decodeUTF8, utf8Length, writeUTF8
    case fault, settle, promiseState, registerBuffer
    case structuredClone, detachArrayBuffer
    case sharedGet, sharedSet, sharedDelete, sharedSubscribe, sharedUnsubscribe, sharedPublish

    var name: String { "\(self)" }

    /// The function's `length`: how many arguments QuickJS guarantees it (missing ones read as undefined).
    var length: Int {
        switch self {
        case .now: 0
        case .randomFill, .scheduleImmediate, .cancelTimer, .end, .destroy, .pause, .resume, .utf8Length: 1
        case .structuredClone, .detachArrayBuffer, .sharedGet, .sharedDelete, .sharedUnsubscribe: 1
        case .print, .scheduleTimer, .write, .setNoDelay, .encodeUTF8, .promiseState, .registerBuffer: 2
        case .sharedSet, .sharedSubscribe, .sharedPublish: 2
        case .setKeepAlive, .send, .fault, .settle: 3
        case .decodeUTF8, .writeUTF8: 4
        }
    }
}

extension HandlerRuntime: JSNativeHost {
    func callNative(_ function: Int32, _ arguments: borrowing JSNativeArguments) -> JSRef {
        guard let context, let native = NativeFunction(rawValue: function) else {
            preconditionFailure("native function \(function) called without a context")
        }
        switch native {
        case .print:
            let level = LogLevel(rawValue: arguments.int(0) ?? 1) ?? .info
            host?.log(level, arguments.string(1) ?? "")
        case .now:
            return context.number(host?.monotonicMilliseconds() ?? 0)
        case .randomFill:
            _ = unsafe arguments.withBytes(0) { unsafe Self.fillRandom($0) }
        case .scheduleTimer:
            guard let id = arguments.int(0) else { break }
            scheduleTimer(TimerID(id), afterMilliseconds: max(arguments.double(1) ?? 1, 1))
        case .scheduleImmediate:
            if let id = arguments.int(0) { scheduleImmediate(TimerID(id)) }
        case .cancelTimer:
            if let id = arguments.int(0) { cancelTimer(TimerID(id)) }
        case .write:
            guard let id = arguments.int(0), let host else { return context.number(0) }
            let written = unsafe arguments.withBytes(1) { bytes in
                unsafe host.write(
                    connection: ConnectionID(id), bytes: RawSpan(_unsafeBytes: UnsafeRawBufferPointer(bytes)))
            }
            return context.number(min(max(written ?? 0, 0), Int(Int32.max)))
        case .end:
            if let id = arguments.int(0) { host?.end(connection: ConnectionID(id)) }
        case .destroy:
            if let id = arguments.int(0) { host?.destroy(connection: ConnectionID(id)) }
        case .pause:
            if let id = arguments.int(0) { host?.pause(connection: ConnectionID(id)) }
        case .resume:
            if let id = arguments.int(0) { host?.resume(connection: ConnectionID(id)) }
        case .setNoDelay:
            if let id = arguments.int(0) { host?.setNoDelay(connection: ConnectionID(id), arguments.bool(1) ?? true) }
        case .setKeepAlive:
            if let id = arguments.int(0) {
                host?.setKeepAlive(
                    connection: ConnectionID(id), arguments.bool(1) ?? false,
                    initialDelayMilliseconds: arguments.int(2) ?? 0)
            }
        case .send:
            guard let address = arguments.string(1), let port = arguments.int(2), let host else { break }
            _ = unsafe arguments.withBytes(0) { bytes in
                unsafe host.send(
                    datagram: RawSpan(_unsafeBytes: UnsafeRawBufferPointer(bytes)), to: address, port: port)
            }
        case .encodeUTF8:
            guard let classes = bufferClasses else { return context.throwTypeError("Buffer is not ready yet") }
            let made: JSRef?
            if arguments.bool(1) == true {
                made = context.newUint8Array(
                    utf8Of: arguments, at: 0, constructor: classes.uint8Array, newTarget: classes.buffer)
            } else {
                made = context.newUint8Array(
                    utf8Of: arguments, at: 0, constructor: classes.uint8Array, newTarget: classes.uint8Array)
            }
            guard let made else { return context.throwTypeError("encodeUTF8 takes a string") }
            return made
        case .decodeUTF8:
            let start = arguments.int(1) ?? 0
            let end = arguments.int(2)
            let isFatal = arguments.bool(3) ?? false
            let decoded: JSRef? = unsafe arguments.withBytes(0) { bytes in
                let upper = min(end ?? bytes.count, bytes.count)
                let lower = min(max(start, 0), upper)
                let slice = unsafe UnsafeRawBufferPointer(rebasing: bytes[lower..<upper])
                if isFatal && !(unsafe UTF8Text.isValid(slice)) { return context.undefined }
                return unsafe context.string(utf8: slice)
            }
            guard let decoded else { return context.throwTypeError("decodeUTF8 takes a typed array") }
            return decoded
        case .utf8Length:
            return context.number(unsafe arguments.withUTF8(0) { $0.count } ?? 0)
        case .writeUTF8:
            let offset = arguments.int(2) ?? 0
            let limit = arguments.int(3) ?? Int.max
            let written = unsafe arguments.withUTF8(0) { source in
                unsafe arguments.withBytes(1) { target in
                    unsafe Self.writeUTF8(source, into: target, at: offset, limit: limit)
                }
            }
            return context.number((written ?? 0) ?? 0)
        case .fault:
            let error = arguments.error(0)
            let origin = arguments.string(1) ?? "a callback"
            // A fault the script names a connection for, it destroys itself; any other is the current work's.
            if let connection = arguments.int(2).flatMap({ $0 >= 0 ? ConnectionID($0) : nil }) {
                logFault(faultMessage(error, .named(origin), connection), Self.faultKind(of: error))
            } else {
                reportFault(faultMessage(error, .named(origin), activeConnection), Self.faultKind(of: error))
            }
        case .settle:
            guard let stage = arguments.int(0).flatMap(LifecycleStage.init(rawValue:)) else { break }
            let outcome: DispatchOutcome
            if arguments.bool(1) == true {
                outcome = .ok
            } else {
                let message = faultMessage(arguments.error(2), stage.origin, nil, rejected: true)
                logFault(message, Self.faultKind(of: arguments.error(2), rejected: true))
                outcome = .faulted(message)
            }
            settle(stage, outcome: outcome)
        case .promiseState:
            let value = arguments.value(0)
            guard let state = context.promiseState(value) else { return context.number(-1) }
            if arguments.bool(1) == true { return context.promiseResult(value) }
            return context.number(state == .pending ? 0 : state == .fulfilled ? 1 : 2)
        case .registerBuffer:
            bufferClasses = BufferClasses(buffer: arguments.value(0), uint8Array: arguments.value(1))
        case .structuredClone, .detachArrayBuffer, .sharedGet, .sharedSet, .sharedDelete, .sharedSubscribe,
            .sharedUnsubscribe, .sharedPublish:
            return callCloneNative(native, arguments, in: context)
        }
        return context.undefined
    }

    /// Copies `source` (UTF-8) into `target` at `offset`, at most `limit` bytes and whole characters only; a lone
    /// surrogate's CESU-8 form becomes U+FFFD. Returns the bytes written.
    private static func writeUTF8(
        _ source: UnsafeRawBufferPointer, into target: UnsafeMutableRawBufferPointer, at offset: Int, limit: Int
    ) -> Int {
        guard offset >= 0, offset <= target.count, limit > 0 else { return 0 }
        var count = min(source.count, limit, target.count - offset)
        if count < source.count {
            while count > 0, unsafe source[count] & 0xC0 == 0x80 { count -= 1 }
        }
        guard count > 0 else { return 0 }
        let region = unsafe UnsafeMutableRawBufferPointer(rebasing: target[offset..<offset + count])
        unsafe region.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<count]))
        unsafe UTF8Text.replaceEncodedSurrogates(in: region)
        return count
    }

    /// Fills `bytes` from the system's cryptographic generator (getrandom(2) on Linux).
    private static func fillRandom(_ bytes: UnsafeMutableRawBufferPointer) {
        var generator = SystemRandomNumberGenerator()
        var index = 0
        while index < bytes.count {
            var word = generator.next()
            let count = min(8, bytes.count - index)
            unsafe withUnsafeBytes(of: &word) { source in
                unsafe UnsafeMutableRawBufferPointer(rebasing: bytes[index..<index + count])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<count]))
            }
            index += count
        }
    }
}
