import BerthClone
/// Makes fresh values in a context from the clone format, numbering objects in the order the encoder did. Anything
/// inconsistent in the bytes (an unknown tag, a count past the end, a reference to nothing, trailing bytes) is
/// `.corrupt`, never a crash; what QuickJS itself refuses (a view past its buffer, the heap limit) is an exception.
/// Noncopyable: as a copyable struct it was copied and destroyed per value (a retain and release per field).
struct JSCloneDecoder: ~Copyable {
    enum Failure: Error {
        case corrupt(String)
        case tooDeep
        /// A JavaScript exception is pending.
        case exception
    }

    private let clone: StructuredClone
    private let context: JSContext
    private var reader: CloneReader
    /// The objects made so far, at their numbers.
    private let objects: JSValueList
    /// Numbers of objects begun and not yet made (a view waits for its buffer): a reference to one is corrupt.
    private var unfinished: Set<Int> = []
    private var stack: StackGuard

    init(_ clone: StructuredClone, _ bytes: [UInt8]) throws(Failure) {
        self.clone = clone
        context = clone.context
        stack = StackGuard(clone.context.runtime)
        do { reader = try CloneReader(bytes) } catch { throw .corrupt(error.description) }
        objects = clone.spareObjects.take() ?? JSValueList(clone.context)
    }

    /// Gives the borrowed storage back, emptied.
    func finish() {
        objects.removeAll()
        if clone.spareObjects == nil { clone.spareObjects = objects }
    }

    /// The one value the bytes hold.
    mutating func decodeAll() throws(Failure) -> JSRef {
        do {
            let value = try decode()
            guard reader.isAtEnd else { throw Failure.corrupt("bytes follow the value") }
            return value
        } catch let error as Failure {
            throw error
        } catch let error as CloneReader.FormatError {
            throw Failure.corrupt(error.description)
        } catch {
            preconditionFailure("the decoder threw \(error)")
        }
    }

    // The walk recurses through decode → properties → decode, so those frames stay small: every kind but plain
    // objects and arrays is made by `otherValue`, which is never inlined into them.

    private mutating func decode() throws -> JSRef {
        let tag = try reader.tag()
        switch tag {
        case .undefined: return context.undefined
        case .null: return context.null
        case .false: return context.bool(false)
        case .true: return context.bool(true)
        case .int32: return context.number(try reader.int32Payload())
        case .float64: return context.number(try reader.float64())
        case .string, .latin1String: return try string(tag)
        case .reference:
            let number = try reader.varint()
            guard number < UInt64(objects.count), !unfinished.contains(Int(number)) else {
                throw Failure.corrupt("a reference to object \(number), which is not made yet")
            }
            return objects[Int(number)]
        case .object:
            guard stack.hasRoom() else { throw Failure.tooDeep }
            let object = try made(context.newObject())
            objects.append(object)
            try properties(into: object)
            return object
        case .array:
            guard stack.hasRoom() else { throw Failure.tooDeep }
            let length = try reader.varint()
            guard length <= UInt64(UInt32.max) else { throw Failure.corrupt("array length \(length)") }
            let array = try made(context.newArray())
            objects.append(array)
            // Defining the elements grew the length; setting it (a key lookup) is only needed for trailing holes.
            if try properties(into: array) != length {
                guard context.set(array, "length", context.number(Double(length))) else {
                    throw Failure.corrupt("array length \(length) does not fit its elements")
                }
            }
            return array
        default:
            return try otherValue(tag)
        }
    }

    @inline(never)
    private mutating func otherValue(_ tag: CloneFormat.Tag) throws -> JSRef {
        switch tag {
        case .undefined, .null, .false, .true, .int32, .float64, .string, .latin1String, .reference, .object, .array:
            preconditionFailure("\(tag) is made by decode()")
        case .bigint: return try bigint()
        case .date:
            let time = try reader.float64()
            return try numbered(context.newDate(time))
        case .regexp:
            let source = try string()
            let flags = try string()
            return try numbered(call(clone.makeRegExp, source, flags))
        case .map, .set:
            guard stack.hasRoom() else { throw Failure.tooDeep }
            let isMap = tag == .map
            var construct = JSCall(context)
            let collection = try made(
                isMap ? construct.construct(clone.mapConstructor) : construct.construct(clone.setConstructor))
            objects.append(collection)
            let count = try reader.count(elementSize: isMap ? 2 : 1)
            for _ in 0..<count {
                var add = JSCall(context)
                add.append(try decode())
                if isMap {
                    add.append(try decode())
                    _ = try made(add.call(clone.mapSet, this: collection))
                } else {
                    _ = try made(add.call(clone.setAdd, this: collection))
                }
            }
            return collection
        case .arrayBuffer:
            let count = try reader.count()
            let bytes = try reader.take(count)
            return try numbered(context.newArrayBuffer(copying: bytes))
        case .arrayBufferView:
            return try view()
        case .error, .domException:
            var call = JSCall(context)
            call.append(try string())
            call.append(try optionalString())
            call.append(try optionalString())
            call.append(context.bool(tag == .domException))
            return try numbered(call.call(clone.makeError))
        case .booleanObject:
            let byte = try reader.byte()
            guard byte <= 1 else { throw Failure.corrupt("a Boolean object holding \(byte)") }
            return try numbered(call(clone.wrap, context.bool(byte == 1)))
        case .numberObject:
            let number = try reader.float64()
            return try numbered(call(clone.wrap, context.number(number)))
        case .stringObject:
            return try numbered(call(clone.wrap, string()))
        case .bigintObject:
            guard try reader.tag() == .bigint else { throw Failure.corrupt("a BigInt object without a BigInt") }
            return try numbered(call(clone.wrap, bigint()))
        }
    }

    /// Numbers an object whose contents were read before it was made (they hold no objects, so the numbering is the
    /// encoder's).
    private mutating func numbered(_ value: consuming JSRef) throws -> JSRef {
        let value = try made(value)
        objects.append(value)
        return value
    }

    private func made(_ value: consuming JSRef) throws -> JSRef {
        if value.isException { throw Failure.exception }
        return value
    }

    /// Defines the properties that follow; returns one past the highest array index among their keys (0 for none).
    @discardableResult
    private mutating func properties(into object: borrowing JSRef) throws -> UInt64 {
        var indexEnd: UInt64 = 0
        let count = try reader.count(elementSize: 2)
        for _ in 0..<count {
            let key = try reader.wtf8String()
            if let index = Self.arrayIndex(key) {
                guard context.defineProperty(object, index: index, try decode()) else { throw Failure.exception }
                indexEnd = max(indexEnd, UInt64(index) + 1)
            } else {
                guard context.defineProperty(object, wtf8Key: key, try decode()) else { throw Failure.exception }
            }
        }
        return indexEnd
    }

    /// The array index a key spells in canonical decimal (no sign, no leading zero), below 2^32 - 1; nil otherwise.
    private static func arrayIndex(_ key: ArraySlice<UInt8>) -> UInt32? {
        guard let first = key.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9"), key.count <= 10,
            first != UInt8(ascii: "0") || key.count == 1
        else { return nil }
        var value: UInt64 = 0
        for byte in key {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        return value < UInt64(UInt32.max) ? UInt32(value) : nil
    }

    private mutating func string(_ tag: CloneFormat.Tag) throws -> JSRef {
        let bytes = try reader.wtf8Payload(tag)
        return try made(context.string(wtf8: bytes))
    }

    /// A string including its tag.
    private mutating func string() throws -> JSRef {
        let tag = try reader.tag()
        guard tag.isString else { throw Failure.corrupt("expected a string, found tag \(tag)") }
        return try string(tag)
    }

    private mutating func optionalString() throws -> JSRef {
        let tag = try reader.tag()
        if tag == .undefined { return context.undefined }
        guard tag.isString else { throw Failure.corrupt("expected a string or undefined, found tag \(tag)") }
        return try string(tag)
    }

    /// A BigInt whose tag was read: the helper makes it from hexadecimal digits.
    private mutating func bigint() throws -> JSRef {
        let sign = try reader.byte()
        guard sign <= 1 else { throw Failure.corrupt("BigInt sign \(sign)") }
        let count = try reader.count()
        let magnitude = try reader.take(count)
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(count * 2)
        for byte in magnitude.reversed() {
            if !hex.isEmpty || byte >= 0x10 { hex.append(digits[Int(byte >> 4)]) }
            if !hex.isEmpty || byte != 0 { hex.append(digits[Int(byte & 0x0F)]) }
        }
        if hex.isEmpty { hex = [UInt8(ascii: "0")] }
        return try call(clone.makeBigInt, context.string(String(decoding: hex, as: UTF8.self)), context.bool(sign == 1))
    }

    /// A typed array or DataView: numbered first, made once its buffer (the next value) is.
    private mutating func view() throws -> JSRef {
        guard stack.hasRoom() else { throw Failure.tooDeep }  // corrupt bytes may nest views in views
        let slot = objects.append(context.undefined)
        unfinished.insert(slot)
        let raw = try reader.byte()
        guard let kind = CloneFormat.ViewKind(rawValue: raw) else { throw Failure.corrupt("view kind \(raw)") }
        let constructor = clone.views[Int(raw)]
        guard !constructor.isUndefined else {
            throw Failure.corrupt("\(kind) arrays are not supported by this QuickJS")
        }
        let buffer = try decode()
        guard clone.kind(ofClass: buffer.classID) == .arrayBuffer else {
            throw Failure.corrupt("a view of something not a buffer")
        }
        let offset = try reader.varint()
        let length = try reader.varint()
        guard offset <= UInt64(UInt32.max), length <= UInt64(UInt32.max) else {
            throw Failure.corrupt("view offset \(offset) or length \(length)")
        }
        var call = JSCall(context)
        call.append(buffer)
        call.append(context.number(Double(offset)))
        call.append(context.number(Double(length)))
        let view = try made(call.construct(constructor))
        objects.replace(slot, with: view)
        unfinished.remove(slot)
        return view
    }

    private func call(_ function: borrowing JSRef, _ first: consuming JSRef, _ second: consuming JSRef? = nil)
        throws -> JSRef
    {
        var call = JSCall(context)
        call.append(first)
        if let second { call.append(second) }
        return try made(call.call(function))
    }
}
