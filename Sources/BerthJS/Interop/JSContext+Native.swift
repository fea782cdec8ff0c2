internal import CQuickJS

/// Runs the native functions of a context, each known by the number it was made with.
package protocol JSNativeHost: AnyObject {
    /// Runs native function `function` on the context's thread, inside JavaScript; the result goes back to the caller,
    /// and an exception marker (from `JSContext.throwTypeError` and the like) throws there.
    func callNative(_ function: Int32, _ arguments: borrowing JSNativeArguments) -> JSRef
}

extension JSContext {
    /// A JavaScript function named `name` that calls `nativeHost.callNative(function, …)`.
    package func newNativeFunction(name: String, length: Int, function: Int32) -> JSRef {
        unsafe JSRef(
            taking: JS_NewCFunctionMagic(raw, nativeTrampoline, name, Int32(length), JS_CFUNC_generic_magic, function),
            in: raw)
    }
}

/// QuickJS's entry into every native function: finds the context's host and hands it the arguments.
private func nativeTrampoline(
    _ ctx: OpaquePointer?, _ this: JSValue, _ argc: Int32, _ argv: UnsafeMutablePointer<JSValue>?, _ magic: Int32
) -> JSValue {
    guard let ctx = unsafe ctx else { return unsafe cqjs_exception() }
    let context = unsafe JSContext.owner(of: ctx)
    guard let host = context.nativeHost else {
        context.throwInternalError("native function \(magic) called after its host went away")
        return unsafe cqjs_exception()
    }
    let arguments = unsafe JSNativeArguments(context: ctx, count: Int(argc), values: argv)
    return unsafe host.callNative(magic, arguments).release()
}

/// The arguments QuickJS lends a native function, valid only during that call. Accessors read without converting:
/// a missing argument, or one of another type, reads as nil.
@safe package struct JSNativeArguments: ~Copyable {
    package let context: OpaquePointer
    package let count: Int
    private let values: UnsafeMutablePointer<JSValue>?

    fileprivate init(context: OpaquePointer, count: Int, values: UnsafeMutablePointer<JSValue>?) {
        unsafe (self.context, self.count, self.values) = (context, count, values)
    }

    private func raw(_ index: Int) -> JSValue? {
        guard index < count, let values = unsafe values else { return nil }
        return unsafe values[index]
    }

    private func tag(_ index: Int) -> Int? {
        guard let value = unsafe raw(index) else { return nil }
        return Int(unsafe cqjs_tag(value))
    }

    /// A new reference to argument `index` (undefined when missing).
    package func value(_ index: Int) -> JSRef {
        guard let value = unsafe raw(index) else { return unsafe JSRef(taking: cqjs_undefined(), in: context) }
        return unsafe JSRef(taking: JS_DupValue(context, value), in: context)
    }

    package func double(_ index: Int) -> Double? {
        guard let value = unsafe raw(index), let tag = tag(index), tag == JS_TAG_INT || tag == JS_TAG_FLOAT64 else {
            return nil
        }
        var result = 0.0
        return unsafe JS_ToFloat64(context, &result, value) == 0 ? result : nil
    }

    /// The argument when it is a number with an integer value that fits an Int.
    package func int(_ index: Int) -> Int? {
        guard let number = double(index), let integer = Int(exactly: number) else { return nil }
        return integer
    }

    package func bool(_ index: Int) -> Bool? {
        guard let value = unsafe raw(index), tag(index) == JS_TAG_BOOL else { return nil }
        return unsafe JS_ToBool(context, value) != 0
    }

    package func isString(_ index: Int) -> Bool { tag(index) == JS_TAG_STRING || tag(index) == JS_TAG_STRING_ROPE }

    package func string(_ index: Int) -> String? {
        guard isString(index) else { return nil }
        return unsafe withUTF8(index) { unsafe String(decoding: $0, as: UTF8.self) }
    }

    /// Lends the UTF-8 form of a string argument. QuickJS lends an ASCII string's own bytes (no copy); a lone
    /// surrogate comes out as its 3-byte (CESU-8) form, which `UTF8Text.replaceEncodedSurrogates` repairs in a copy.
    package func withUTF8<Result: ~Copyable>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        guard let value = unsafe raw(index), isString(index) else { return nil }
        var length = 0
        guard let chars = unsafe JS_ToCStringLen(context, &length, value) else {
            unsafe JS_FreeValue(context, JS_GetException(context))
            return nil
        }
        defer { unsafe JS_FreeCString(context, chars) }
        return unsafe body(UnsafeRawBufferPointer(start: chars, count: length))
    }

    /// Lends the bytes a typed array argument views (its own range of its ArrayBuffer), writable; nil for anything
    /// else. The array's buffer stays referenced during `body`.
    package func withBytes<Result: ~Copyable>(_ index: Int, _ body: (UnsafeMutableRawBufferPointer) -> Result) -> Result? {
        guard let value = unsafe raw(index), tag(index) == JS_TAG_OBJECT else { return nil }
        var offset = 0
        var length = 0
        var elementSize = 0
        let buffer = unsafe JSRef(
            taking: JS_GetTypedArrayBuffer(context, value, &offset, &length, &elementSize), in: context)
        guard !buffer.isException else {
            unsafe JS_FreeValue(context, JS_GetException(context))
            return nil
        }
        var size = 0
        guard let start = unsafe JS_GetArrayBuffer(context, &size, buffer.raw) else {
            // A detached buffer: QuickJS left a TypeError pending.
            unsafe JS_FreeValue(context, JS_GetException(context))
            return length == 0 ? unsafe body(UnsafeMutableRawBufferPointer(start: nil, count: 0)) : nil
        }
        precondition(offset + length <= size, "a typed array reaches past its buffer")
        return unsafe body(UnsafeMutableRawBufferPointer(start: start + offset, count: length))
    }

    /// Describes argument `index` as a thrown value (an Error's name, message and stack).
    package func error(_ index: Int) -> JSError {
        let value = value(index)
        return JSError(value)
    }
}

/// Turning bytes into JavaScript values: ArrayBuffers, Uint8Arrays of a chosen class, strings from UTF-8.
extension JSContext {
    /// A new ArrayBuffer holding a copy of `bytes`: QuickJS allocates it on this runtime's heap.
    package func newArrayBuffer(copying bytes: UnsafeRawBufferPointer) -> JSRef {
        let start = unsafe bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        return unsafe JSRef(taking: JS_NewArrayBufferCopy(raw, start, bytes.count), in: raw)
    }

    /// A Uint8Array over all of a new ArrayBuffer that holds a copy of `bytes`, made as `new.target = newTarget`
    /// would (so it gets, say, Buffer's prototype) by the native Uint8Array constructor: no JavaScript runs.
    package func newUint8Array(
        copying bytes: UnsafeRawBufferPointer, constructor: borrowing JSRef, newTarget: borrowing JSRef
    ) -> JSRef {
        let buffer = unsafe newArrayBuffer(copying: bytes)
        if buffer.isException { return buffer }
        var call = JSCall(self)
        call.append(buffer)
        return call.construct(constructor, newTarget: newTarget)
    }

    /// Like `newUint8Array(copying:…)`, for the UTF-8 form of a string (WHATWG's: a lone surrogate becomes U+FFFD).
    package func newUint8Array(
        utf8Of arguments: borrowing JSNativeArguments, at index: Int, constructor: borrowing JSRef,
        newTarget: borrowing JSRef
    ) -> JSRef? {
        let buffer: JSRef? = unsafe arguments.withUTF8(index) { bytes in
            let buffer = unsafe newArrayBuffer(copying: bytes)
            if !buffer.isException, unsafe bytes.contains(0xED) {
                var size = 0
                if let start = unsafe JS_GetArrayBuffer(raw, &size, buffer.raw) {
                    unsafe UTF8Text.replaceEncodedSurrogates(
                        in: UnsafeMutableRawBufferPointer(start: start, count: size))
                }
            }
            return buffer
        }
        guard let buffer else { return nil }
        if buffer.isException { return buffer }
        var call = JSCall(self)
        call.append(buffer)
        return call.construct(constructor, newTarget: newTarget)
    }

    /// A string decoded from UTF-8 as WHATWG's decoder does: each maximal invalid subsequence becomes one U+FFFD.
    /// Valid input goes to QuickJS as is; only invalid input is repaired through a Swift string first.
    package func string(utf8 bytes: UnsafeRawBufferPointer) -> JSRef {
        if unsafe UTF8Text.isValid(bytes) {
            let start = unsafe bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
            return unsafe JSRef(taking: JS_NewStringLen(raw, start, bytes.count), in: raw)
        }
        return string(unsafe String(decoding: bytes, as: UTF8.self))
    }
}

/// UTF-8 checks QuickJS's own conversions do not make the way WHATWG (and so Node) does.
package enum UTF8Text {
    /// True when `bytes` is well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF, nothing cut.
    /// QuickJS accepts encoded surrogates, so this decides whether its decoder may be used.
    package static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let count = bytes.count
        var index = 0
        while index < count {
            let lead = unsafe bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: (length, low) = (3, 0xA0)
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: (length, high) = (3, 0x9F)
            case 0xF0: (length, low) = (4, 0x90)
            case 0xF1...0xF3: length = 4
            case 0xF4: (length, high) = (4, 0x8F)
            default: return false
            }
            guard index + length <= count else { return false }
            let second = unsafe bytes[index + 1]
            guard second >= low && second <= high else { return false }
            for offset in 2..<max(length, 2) where unsafe bytes[index + offset] & 0xC0 != 0x80 { return false }
            index += length
        }
        return true
    }

    /// Rewrites each CESU-8 lone surrogate (ED A0…BF xx) into U+FFFD (EF BF BD), in place: both take three bytes.
    package static func replaceEncodedSurrogates(in bytes: UnsafeMutableRawBufferPointer) {
        var index = 0
        while index + 2 < bytes.count {
            if unsafe bytes[index] == 0xED && bytes[index + 1] >= 0xA0 {
                unsafe (bytes[index], bytes[index + 1], bytes[index + 2]) = (0xEF, 0xBF, 0xBD)
                index += 3
            } else {
                index += 1
            }
        }
    }
}
