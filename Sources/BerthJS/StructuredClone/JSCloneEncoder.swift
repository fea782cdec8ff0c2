import BerthClone
/// Writes one QuickJS value in the clone format, depth-first, as the HTML structured-clone algorithm serializes:
/// each object gets the next number when its tag is written (before its contents) and a later occurrence of it is
/// written as a reference, so shared and circular references survive. Every numbered object is held until the end,
/// so no address is reused (by a getter's garbage) while the numbers are in use.
struct JSCloneEncoder {
    enum Failure: Error {
        /// A DataCloneError with this message.
        case uncloneable(String)
        /// Nesting deeper than the thread's stack allows.
        case tooDeep
        /// A JavaScript exception is pending (a getter threw, or QuickJS ran out of memory).
        case exception
    }

    private let clone: StructuredClone
    private let context: JSContext
    private var writer = CloneWriter()
    /// The numbered objects' addresses, at their numbers; searched in order while few, then through `numberIndex`.
    private var addresses: [UInt] = []
    /// Object number by object address, made once there are many.
    private var numberIndex: [UInt: Int] = [:]
    /// The numbered objects, at their numbers (made with the first: a primitive needs none).
    private var numbered: JSValueList?
    private var stack: StackGuard

    init(_ clone: StructuredClone) {
        self.clone = clone
        context = clone.context
        stack = StackGuard(clone.context.runtime)
        swap(&addresses, &clone.spareAddresses)
    }

    /// The bytes written; gives the borrowed storage back (an encode inside a getter may have borrowed it meanwhile).
    mutating func finish() -> [UInt8] {
        addresses.removeAll(keepingCapacity: true)
        swap(&addresses, &clone.spareAddresses)
        numbered?.removeAll()
        if clone.spareObjects == nil { swap(&numbered, &clone.spareObjects) }
        return writer.bytes
    }

    mutating func encode(_ value: borrowing JSRef) throws(Failure) {
        if let number = value.double {
            writer.number(number)
        } else if value.isString {
            try string(value)
        } else if value.isObject {
            try object(value)
        } else if value.isUndefined {
            writer.tag(.undefined)
        } else if value.isNull {
            writer.tag(.null)
        } else if let bool = value.bool {
            writer.tag(bool ? .true : .false)
        } else if value.isBigInt {
            try bigint(value)
        } else if value.isException {
            throw .exception
        } else {
            throw .uncloneable("\(value.primitiveDescription) could not be cloned")  // a symbol
        }
    }

    private mutating func string(_ value: borrowing JSRef) throws(Failure) {
        if value.isException { throw .exception }
        guard value.isString else {
            throw .uncloneable("a \(value.typeName) where a string belongs could not be cloned")
        }
        let written: Void? = value.withWTF8 { writer.string(wtf8: $0) }
        if written == nil { throw .exception }
    }

    /// A string, or undefined (an error's message and stack).
    private mutating func optionalString(_ value: borrowing JSRef) throws(Failure) {
        if value.isUndefined { writer.tag(.undefined) } else { try string(value) }
    }

    // The walk recurses through object → properties → encode, so those frames stay small: every other kind is
    // written by `otherObject`, which is never inlined into them.

    private mutating func object(_ value: borrowing JSRef) throws(Failure) {
        if let number = number(of: value.identity) {
            writer.tag(.reference)
            writer.varint(number)
            return
        }
        guard stack.hasRoom() else { throw .tooDeep }
        switch clone.kind(ofClass: value.classID) {
        case .object:
            let mark = value.property(clone.brand)
            if mark.isException { throw .exception }
            if let description = mark.string { throw .uncloneable("\(description) could not be cloned") }
            begin(value, .object)
            try properties(of: value)
        case .array:
            guard let length = value.property(clone.lengthKey).double else { throw .exception }
            begin(value, .array)
            writer.varint(UInt64(length))
            try properties(of: value)
        case let kind:
            try otherObject(value, kind)
        }
    }

    @inline(never)
    private mutating func otherObject(_ value: borrowing JSRef, _ kind: CloneClass?) throws(Failure) {
        switch kind {
        case .object, .array:
            preconditionFailure("plain objects and arrays are written by object(_:)")
        case .error:
            try error(value)
        case .date:
            let time = try call(clone.dateValue, value)
            begin(value, .date)
            writer.float64(time.double ?? .nan)
        case .regexp:
            let parts = try call(clone.regexpParts, value)
            begin(value, .regexp)
            try string(element(parts, 0))
            try string(element(parts, 1))
        case .map:
            begin(value, .map)
            try entries(call(clone.mapEntries, value), perItem: 2)
        case .set:
            begin(value, .set)
            try entries(call(clone.setValues, value), perItem: 1)
        case .arrayBuffer:
            begin(value, .arrayBuffer)
            let written: Void? = value.withArrayBufferBytes { bytes in
                writer.varint(bytes.byteCount)
                writer.raw(bytes)
            }
            if written == nil { throw .uncloneable("An ArrayBuffer is detached and could not be cloned") }
        case .view(let kind):
            try view(value, kind)
        case .boolean:
            let primitive = try call(clone.primitiveOf, value, 0)
            begin(value, .booleanObject)
            writer.byte(primitive.bool == true ? 1 : 0)
        case .number:
            let primitive = try call(clone.primitiveOf, value, 1)
            begin(value, .numberObject)
            writer.float64(primitive.double ?? .nan)
        case .string:
            let primitive = try call(clone.primitiveOf, value, 2)
            begin(value, .stringObject)
            try string(primitive)
        case .bigint:
            let primitive = try call(clone.primitiveOf, value, 3)
            begin(value, .bigintObject)
            try bigint(primitive)
        case .refused(let name):
            throw .uncloneable("#<\(name)> could not be cloned")
        case nil:
            guard value.isFunction else { throw .uncloneable("#<Object> could not be cloned") }
            let name = value.property("name")?.string ?? ""
            throw .uncloneable("function \(name.isEmpty ? "(anonymous)" : name) could not be cloned")
        }
    }

    private func number(of address: UInt) -> Int? {
        if addresses.count <= Self.linearSearchLimit { return addresses.firstIndex(of: address) }
        return numberIndex[address]
    }

    /// Up to this many objects, a linear search finds an object's number faster than hashing its address.
    private static let linearSearchLimit = 16

    /// Numbers `value` and writes its tag.
    private mutating func begin(_ value: borrowing JSRef, _ tag: CloneFormat.Tag) {
        if numbered == nil { numbered = clone.spareObjects.take() ?? JSValueList(context) }
        numbered?.append(value)
        addresses.append(value.identity)
        if addresses.count > Self.linearSearchLimit {
            if numberIndex.isEmpty {
                for (number, address) in addresses.enumerated() { numberIndex[address] = number }
            } else {
                numberIndex[value.identity] = addresses.count - 1
            }
        }
        writer.tag(tag)
    }

    /// Own enumerable string-keyed properties in property order, each read with [[Get]] (getters run).
    private mutating func properties(of value: borrowing JSRef) throws(Failure) {
        guard let keys = context.ownEnumerableKeys(of: value) else { throw .exception }
        writer.varint(keys.count)
        for index in 0..<keys.count {
            if let arrayIndex = keys.arrayIndex(index) {
                writer.decimalString(arrayIndex)
            } else {
                try string(keys.key(index))
            }
            let property = keys.value(index, of: value)
            if property.isException { throw .exception }
            try encode(property)
        }
    }

    /// A Map's or Set's contents, snapshotted by the helper before any of them is written.
    private mutating func entries(_ list: borrowing JSRef, perItem: Int) throws(Failure) {
        guard let length = list.property(clone.lengthKey).int32 else { throw .exception }
        writer.varint(Int(length) / perItem)
        for index in 0..<Int(length) { try encode(element(list, index)) }
    }

    private mutating func error(_ value: borrowing JSRef) throws(Failure) {
        let parts = try call(clone.errorParts, value)
        begin(value, try element(parts, 3).bool == true ? .domException : .error)
        try string(element(parts, 0))
        try optionalString(element(parts, 1))
        try optionalString(element(parts, 2))
    }

    private mutating func view(_ value: borrowing JSRef, _ kind: CloneFormat.ViewKind) throws(Failure) {
        let buffer: JSRef
        let byteOffset: Int
        let byteLength: Int
        if kind == .dataView {
            let parts = try call(clone.viewParts, value)
            buffer = try element(parts, 0)
            byteOffset = Int(try element(parts, 1).double ?? 0)
            byteLength = Int(try element(parts, 2).double ?? 0)
        } else {
            guard let viewed = value.typedArrayBuffer() else { throw .exception }
            (byteOffset, byteLength) = (viewed.byteOffset, viewed.byteLength)
            buffer = viewed.buffer.duplicate()
        }
        begin(value, .arrayBufferView)
        writer.byte(kind.rawValue)
        try encode(buffer)
        writer.varint(byteOffset)
        writer.varint(byteLength / kind.bytesPerElement)
    }

    /// Sign, then the magnitude's bytes little-endian, from the helper's hexadecimal digits.
    @inline(never)
    private mutating func bigint(_ value: borrowing JSRef) throws(Failure) {
        guard let hex = try call(clone.bigintHex, value).string else { throw .exception }
        let isNegative = hex.hasPrefix("-")
        let nibbles = hex.utf8.dropFirst(isNegative ? 1 : 0).reversed().map { digit -> UInt8 in
            digit <= UInt8(ascii: "9") ? digit &- UInt8(ascii: "0") : (digit | 0x20) &- UInt8(ascii: "a") &+ 10
        }
        var magnitude: [UInt8] = []
        magnitude.reserveCapacity((nibbles.count + 1) / 2)
        for index in stride(from: 0, to: nibbles.count, by: 2) {
            magnitude.append(nibbles[index] | (index + 1 < nibbles.count ? nibbles[index + 1] << 4 : 0))
        }
        while magnitude.last == 0 { magnitude.removeLast() }
        writer.tag(.bigint)
        writer.byte(isNegative ? 1 : 0)
        writer.varint(magnitude.count)
        for byte in magnitude { writer.byte(byte) }
    }

    /// Calls a clone helper of clone.js with `value` (and a small number).
    private func call(_ function: borrowing JSRef, _ value: borrowing JSRef, _ number: Int? = nil) throws(Failure)
        -> JSRef
    {
        var call = JSCall(context)
        call.append(value.duplicate())
        if let number { call.append(context.number(number)) }
        let result = call.call(function)
        if result.isException { throw .exception }
        return result
    }

    private func element(_ array: borrowing JSRef, _ index: Int) throws(Failure) -> JSRef {
        let value = context.element(array, index)
        if value.isException { throw .exception }
        return value
    }
}
