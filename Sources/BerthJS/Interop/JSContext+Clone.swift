internal import CQuickJS

// What the structured-clone codec (StructuredClone/) needs from QuickJS beyond ordinary values: class ids, object
// identity, own enumerable keys, the raw bytes of strings and buffers, and defining properties without setters.

extension JSRef {
    /// QuickJS's class id of an object, 0 for any other value. Built-in classes keep theirs for the library's life.
    package var classID: UInt32 { unsafe JS_GetClassID(raw) }
    /// The object's address: unique among the objects alive at the same time.
    package var identity: UInt { UInt(unsafe cqjs_object_identity(raw)) }
    package var isBigInt: Bool { tag == JS_TAG_BIG_INT || tag == JS_TAG_SHORT_BIG_INT }

    /// Lends a string's WTF-8 form: UTF-8 in which surrogate pairs are joined and a lone surrogate keeps its 3-byte
    /// form, so every string has exactly one (QuickJS lends an ASCII string's own bytes). nil for a non-string, or
    /// with an exception pending when QuickJS cannot allocate the copy.
    package func withWTF8<Result>(_ body: (RawSpan) -> Result) -> Result? {
        guard isString else { return nil }
        var length = 0
        guard let chars = unsafe JS_ToCStringLen2(context, &length, raw, 0) else { return nil }
        defer { unsafe JS_FreeCString(context, chars) }
        let bytes = unsafe UnsafeRawBufferPointer(start: chars, count: length)
        return body(unsafe RawSpan(_unsafeBytes: bytes))
    }

    /// Lends an ArrayBuffer's bytes; nil for a detached buffer, whose TypeError is discarded.
    package func withArrayBufferBytes<Result>(_ body: (RawSpan) -> Result) -> Result? {
        var size = 0
        let start = unsafe JS_GetArrayBuffer(context, &size, raw)
        if unsafe start == nil, unsafe JS_HasException(context) != 0 {
            unsafe JS_FreeValue(context, JS_GetException(context))
            return nil
        }
        let bytes = unsafe UnsafeRawBufferPointer(start: start, count: start == nil ? 0 : size)
        return body(unsafe RawSpan(_unsafeBytes: bytes))
    }

    /// The buffer a typed array (not a DataView) views, with the view's byte offset and byte length; nil, with a
    /// TypeError pending, for anything else.
    package func typedArrayBuffer() -> JSViewedBuffer? {
        var offset = 0
        var length = 0
        var elementSize = 0
        let buffer = unsafe JSRef(
            taking: JS_GetTypedArrayBuffer(context, raw, &offset, &length, &elementSize), in: context)
        if buffer.isException { return nil }
        return JSViewedBuffer(buffer: buffer, byteOffset: offset, byteLength: length)
    }

    /// Reads the property named by `key` (a full [[Get]]: getters and proxies run). The exception marker when it threw.
    package borrowing func property(_ key: JSPropertyKey) -> JSRef {
        unsafe JSRef(taking: JS_GetProperty(context, raw, key.atom), in: context)
    }
}

/// The buffer under a typed array and the range of it the array views, in bytes.
package struct JSViewedBuffer: ~Copyable {
    package var buffer: JSRef
    package var byteOffset: Int
    package var byteLength: Int
}

extension JSContext {
    /// A string from WTF-8 bytes (see `JSRef.withWTF8`): lone surrogates in their 3-byte form come back as themselves.
    package func string(wtf8 bytes: ArraySlice<UInt8>) -> JSRef {
        let value = unsafe bytes.withUnsafeBytes { bytes in
            unsafe JS_NewStringLen(raw, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        return unsafe JSRef(taking: value, in: raw)
    }

    /// A new ArrayBuffer holding a copy of `bytes`.
    package func newArrayBuffer(copying bytes: ArraySlice<UInt8>) -> JSRef {
        let value = unsafe bytes.withUnsafeBytes { bytes in
            unsafe JS_NewArrayBufferCopy(raw, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
        return unsafe JSRef(taking: value, in: raw)
    }

    package func newArray() -> JSRef { unsafe JSRef(taking: JS_NewArray(raw), in: raw) }

    /// A Date holding `milliseconds` since the epoch (time-clipped; NaN makes an invalid date).
    package func newDate(_ milliseconds: Double) -> JSRef { unsafe JSRef(taking: JS_NewDate(raw, milliseconds), in: raw) }

    /// The own enumerable string-keyed properties of `object` in property order (indices ascending, then the other
    /// keys in creation order); nil with an exception pending when QuickJS cannot list them.
    package func ownEnumerableKeys(of object: borrowing JSRef) -> JSPropertyKeys? {
        var table: UnsafeMutablePointer<JSPropertyEnum>?
        var count: UInt32 = 0
        guard unsafe JS_GetOwnPropertyNames(raw, &table, &count, object.raw, cqjs_gpn_enumerable_strings()) == 0
        else { return nil }
        return unsafe JSPropertyKeys(context: raw, table: table, count: Int(count))
    }

    /// Defines `object[key] = value` as CreateDataProperty does (enumerable, writable, configurable), so setters and
    /// `__proto__` are bypassed. `key` is WTF-8. False with an exception pending.
    package func defineProperty(_ object: borrowing JSRef, wtf8Key key: ArraySlice<UInt8>, _ value: consuming JSRef) -> Bool {
        let atom: JSAtom = unsafe key.withUnsafeBytes { key in
            if unsafe key.allSatisfy({ $0 < 0x80 }) {
                return unsafe JS_NewAtomLen(raw, key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count)
            }
            // JS_NewAtomLen first looks the bytes up among existing one-byte atoms, where UTF-8 "é" (C3 A9) would
            // match the two-character atom "Ã©": a non-ASCII key goes through a string.
            let start = unsafe key.baseAddress?.assumingMemoryBound(to: CChar.self)
            let string = unsafe JSRef(taking: JS_NewStringLen(raw, start, key.count), in: raw)
            return string.isException ? 0 : unsafe JS_ValueToAtom(raw, string.raw)
        }
        guard atom != 0 else { return false }
        defer { unsafe JS_FreeAtom(raw, atom) }
        return unsafe JS_DefinePropertyValue(raw, object.raw, atom, value.release(), cqjs_prop_enumerable_data()) >= 0
    }

    /// Defines `object[index] = value` as CreateDataProperty does; false with an exception pending.
    package func defineProperty(_ object: borrowing JSRef, index: UInt32, _ value: consuming JSRef) -> Bool {
        unsafe JS_DefinePropertyValueUint32(raw, object.raw, index, value.release(), cqjs_prop_enumerable_data()) >= 0
    }

    /// Element `index` of an array made by this codec or by a helper of the runtime's js/clone.js (no getters run).
    package func element(_ array: borrowing JSRef, _ index: Int) -> JSRef {
        unsafe JSRef(taking: JS_GetPropertyUint32(raw, array.raw, UInt32(index)), in: raw)
    }

    /// Throws `value`: leaves it pending and returns the exception marker a native function returns.
    package func throwing(_ value: consuming JSRef) -> JSRef {
        unsafe JSRef(taking: JS_Throw(raw, value.release()), in: raw)
    }

    package var hasPendingException: Bool { unsafe JS_HasException(raw) != 0 }

    /// The exception marker, for returning from a native function when an exception is already pending.
    package var exceptionMarker: JSRef { unsafe JSRef(taking: cqjs_exception(), in: raw) }

    /// Detaches an ArrayBuffer (its views then read as empty), for `structuredClone`'s transfer list.
    package func detachArrayBuffer(_ buffer: borrowing JSRef) { unsafe JS_DetachArrayBuffer(raw, buffer.raw) }

    /// The key of the property `name`.
    package func propertyKey(_ name: String) -> JSPropertyKey {
        unsafe JSPropertyKey(context: raw, atom: JS_NewAtom(raw, name))
    }

    /// The property key a value stands for (a symbol's, here); nil with an exception pending.
    package func propertyKey(_ value: borrowing JSRef) -> JSPropertyKey? {
        let atom = unsafe JS_ValueToAtom(raw, value.raw)
        return atom == 0 ? nil : unsafe JSPropertyKey(context: raw, atom: atom)
    }
}

/// One property key (a QuickJS atom) held until the object goes; it must go before its context.
@safe package final class JSPropertyKey {
    private let context: OpaquePointer
    fileprivate let atom: JSAtom
    fileprivate init(context: OpaquePointer, atom: JSAtom) { unsafe (self.context, self.atom) = (context, atom) }
    deinit { unsafe JS_FreeAtom(context, atom) }
}

/// Own property keys listed by `JSContext.ownEnumerableKeys(of:)`; owns their atoms and QuickJS's table.
@safe package struct JSPropertyKeys: ~Copyable {
    private let context: OpaquePointer
    private let table: UnsafeMutablePointer<JSPropertyEnum>?
    package let count: Int

    fileprivate init(context: OpaquePointer, table: UnsafeMutablePointer<JSPropertyEnum>?, count: Int) {
        unsafe (self.context, self.table, self.count) = (context, table, count)
    }

    deinit {
        guard let table = unsafe table else { return }
        for index in 0..<count { unsafe JS_FreeAtom(context, table[index].atom) }
        // JS_FreePropertyEnum is not public in 2025-04-26: free the atoms (above) and the table by hand.
        unsafe js_free(context, table)
    }

    /// Key `index` when it is an array index below 2^31 - 1, which QuickJS keeps as a number inside the atom (so the
    /// codec writes its digits without making a string); nil for any other key.
    package func arrayIndex(_ index: Int) -> UInt32? {
        let atom = unsafe table![index].atom
        guard JSPropertyKeys.atomsTagIndices, atom & JSPropertyKeys.indexTag != 0 else { return nil }
        return atom & ~JSPropertyKeys.indexTag
    }

    /// QuickJS's JS_ATOM_TAG_INT: an atom with this bit set is the array index in its other bits. Not in the public
    /// header, so `atomsTagIndices` checks it on the library itself once.
    private static let indexTag: JSAtom = 1 << 31
    private static let atomsTagIndices: Bool = {
        guard let runtime = unsafe JS_NewRuntime() else { return false }
        defer { unsafe JS_FreeRuntime(runtime) }
        guard let context = unsafe JS_NewContext(runtime) else { return false }
        defer { unsafe JS_FreeContext(context) }
        let atom = unsafe JS_NewAtomUInt32(context, 12345)
        defer { unsafe JS_FreeAtom(context, atom) }
        return atom == indexTag | 12345
    }()

    /// Key `index` as a string value (an index key as its decimal form).
    package func key(_ index: Int) -> JSRef {
        unsafe JSRef(taking: JS_AtomToString(context, table![index].atom), in: context)
    }

    /// `object[key(index)]`, a full [[Get]]; the exception marker when a getter threw.
    package func value(_ index: Int, of object: borrowing JSRef) -> JSRef {
        unsafe JSRef(taking: JS_GetProperty(context, object.raw, table![index].atom), in: context)
    }
}

/// References to many values in order, freed together: an array of `JSRef` cannot exist (it is ~Copyable). Must go
/// before its context.
@safe package final class JSValueList {
    private let context: OpaquePointer
    private var values: [JSValue] = unsafe []

    package init(_ context: JSContext) { unsafe self.context = context.raw }

    deinit { for index in 0..<count { unsafe JS_FreeValue(context, values[index]) } }

    package var count: Int { unsafe values.count }

    /// Keeps a new reference to `value`; returns its position.
    @discardableResult
    package func append(_ value: borrowing JSRef) -> Int {
        unsafe values.append(JS_DupValue(context, value.raw))
        return count - 1
    }

    /// Replaces the value at `index`.
    package func replace(_ index: Int, with value: borrowing JSRef) {
        let old = unsafe values[index]
        unsafe values[index] = JS_DupValue(context, value.raw)
        unsafe JS_FreeValue(context, old)
    }

    /// Frees every reference, keeping the storage for the next use.
    package func removeAll() {
        for index in 0..<count { unsafe JS_FreeValue(context, values[index]) }
        unsafe values.removeAll(keepingCapacity: true)
    }

    /// A new reference to the value at `index`.
    package subscript(index: Int) -> JSRef { unsafe JSRef(taking: JS_DupValue(context, values[index]), in: context) }
}

/// Stops a recursive walk of a value (the clone codec's) before it reaches the end of the thread's stack, and keeps
/// QuickJS's own stack check (which counts from where JavaScript was entered) from firing early in a getter or helper
/// called deep in the walk, by re-anchoring it as the walk goes deeper.
package struct StackGuard {
    private let runtime: JSRuntime
    /// The lowest address a walk's frames may reach.
    private let floor: UInt
    /// Where QuickJS's check was last anchored (by this guard or before it).
    private var anchor: UInt

    /// Keeps `reserve` bytes of the thread's stack for what runs at the deepest level (QuickJS calls, getters).
    package init(_ runtime: JSRuntime, reserve: UInt = 256 << 10) {
        self.runtime = runtime
        let low = UInt(cqjs_thread_stack_low())
        anchor = Self.here()
        // Without the thread's bounds, allow 512 KiB below here: less than any thread berth runs JavaScript on has.
        floor = low != 0 ? low + reserve : anchor - min(anchor, 512 << 10)
    }

    /// True while the caller's frame is above the floor; re-anchors QuickJS's check every `reanchorDistance` bytes.
    package mutating func hasRoom() -> Bool {
        let here = Self.here()
        guard here > floor else { return false }
        if here + Self.reanchorDistance < anchor {
            runtime.enter()
            anchor = here
        }
        return true
    }

    /// Less than QuickJS's stack budget, so JavaScript called at any depth has at least the rest of the budget.
    private static let reanchorDistance: UInt = 256 << 10

    private static func here() -> UInt { UInt(cqjs_frame_address()) }
}
