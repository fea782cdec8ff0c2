import BerthPlan

/// A parser for libnftables' JSON output. BerthPlan's `JSONParser` records a position for every value, which costs
/// time proportional to the line length, and libnftables writes a large table (megabytes) on a single line; this one
/// keeps no positions. Numbers are integers in nft's schema; anything else becomes null.
struct NFTablesJSON {
    struct SyntaxError: Error {
        var offset: Int
    }

    private let bytes: [UInt8]
    private var offset = 0

    static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONValue {
        var parser = NFTablesJSON(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.offset == bytes.count else { throw SyntaxError(offset: parser.offset) }
        return value
    }

    /// libnftables writes one document per list command; several commands give several documents in a row.
    static func parseDocuments(_ bytes: [UInt8]) throws(SyntaxError) -> [JSONValue] {
        var parser = NFTablesJSON(bytes: bytes)
        var documents: [JSONValue] = []
        parser.skipWhitespace()
        while parser.offset < bytes.count {
            documents.append(try parser.value())
            parser.skipWhitespace()
        }
        return documents
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func skipWhitespace() {
        while offset < bytes.count, bytes[offset] == 0x20 || bytes[offset] == 0x0A || bytes[offset] == 0x09 || bytes[offset] == 0x0D {
            offset += 1
        }
    }

    private mutating func expect(_ byte: UInt8) throws(SyntaxError) {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == byte else { throw SyntaxError(offset: offset) }
        offset += 1
    }

    private mutating func value() throws(SyntaxError) -> JSONValue {
        skipWhitespace()
        guard offset < bytes.count else { throw SyntaxError(offset: offset) }
        switch bytes[offset] {
        case UInt8(ascii: "{"):
            offset += 1
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") { offset += 1; return .object(members) }
            while true {
                skipWhitespace()
                let key = try string()
                try expect(UInt8(ascii: ":"))
                members[key] = try value()
                skipWhitespace()
                guard offset < bytes.count else { throw SyntaxError(offset: offset) }
                offset += 1
                if bytes[offset - 1] == UInt8(ascii: "}") { return .object(members) }
                guard bytes[offset - 1] == UInt8(ascii: ",") else { throw SyntaxError(offset: offset - 1) }
            }
        case UInt8(ascii: "["):
            offset += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") { offset += 1; return .array(items) }
            while true {
                items.append(try value())
                skipWhitespace()
                guard offset < bytes.count else { throw SyntaxError(offset: offset) }
                offset += 1
                if bytes[offset - 1] == UInt8(ascii: "]") { return .array(items) }
                guard bytes[offset - 1] == UInt8(ascii: ",") else { throw SyntaxError(offset: offset - 1) }
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try word("true"); return .bool(true)
        case UInt8(ascii: "f"): try word("false"); return .bool(false)
        case UInt8(ascii: "n"): try word("null"); return .null
        default: return number()
        }
    }

    private mutating func word(_ text: StaticString) throws(SyntaxError) {
        let count = text.utf8CodeUnitCount
        guard offset + count <= bytes.count else { throw SyntaxError(offset: offset) }
        offset += count
    }

    private mutating func number() -> JSONValue {
        let start = offset
        var negative = false
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") { negative = true; offset += 1 }
        var result = 0
        var isInteger = true
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte >= 0x30, byte <= 0x39 {
                result = result &* 10 &+ Int(byte - 0x30)
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                isInteger = false
            } else {
                break
            }
            offset += 1
        }
        if offset == start { offset += 1; return .null }
        return isInteger ? .int(negative ? -result : result) : .null
    }

    private mutating func string() throws(SyntaxError) -> String {
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw SyntaxError(offset: offset) }
        offset += 1
        let start = offset
        // Fast path: no escapes, which is every name and address libnftables writes.
        while offset < bytes.count, bytes[offset] != UInt8(ascii: "\""), bytes[offset] != UInt8(ascii: "\\") { offset += 1 }
        guard offset < bytes.count else { throw SyntaxError(offset: offset) }
        if bytes[offset] == UInt8(ascii: "\"") {
            offset += 1
            return String(decoding: bytes[start..<(offset - 1)], as: UTF8.self)
        }
        var scalars = Array(bytes[start..<offset])
        while offset < bytes.count, bytes[offset] != UInt8(ascii: "\"") {
            if bytes[offset] == UInt8(ascii: "\\"), offset + 1 < bytes.count {
                offset += 1
                switch bytes[offset] {
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "u"):
                    guard offset + 4 < bytes.count,
                        let code = UInt32(String(decoding: bytes[(offset + 1)...(offset + 4)], as: UTF8.self), radix: 16)
                    else { throw SyntaxError(offset: offset) }
                    scalars.append(contentsOf: Array(String(Unicode.Scalar(code).map(Character.init) ?? "?").utf8))
                    offset += 4
                default: scalars.append(bytes[offset])
                }
            } else {
                scalars.append(bytes[offset])
            }
            offset += 1
        }
        guard offset < bytes.count else { throw SyntaxError(offset: offset) }
        offset += 1
        return String(decoding: scalars, as: UTF8.self)
    }
}

extension NFTablesJSON {
    /// The address in `text`, read from its UTF-8 bytes: a set of 50,000 elements is read 50,000 times, and
    /// `IPAddress.init` (splitting into substrings) costs several times the listing's parse. Accepts only what
    /// `IPAddress.init` accepts, with the same value; anything it does not handle itself (an IPv4 tail in IPv6 text,
    /// malformed text) goes to `IPAddress.init`.
    static func address(_ text: String) -> IPAddress? {
        let fast = text.utf8.withContiguousStorageIfAvailable { bytes -> IPAddress? in
            bytes.contains(UInt8(ascii: ":")) ? parseIPv6(bytes).map { IPAddress(family: .ipv6, value: $0) }
                : parseIPv4(bytes).map { IPAddress(family: .ipv4, value: UInt128($0)) }
        }
        if let fast, let address = fast { return address }
        return IPAddress(text)
    }

    /// Dotted quad, each octet 1 to 3 digits without a leading zero, at most 255 (IPAddress's rules).
    private static func parseIPv4(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, octet <= 255, dots < 3 else { return nil }
                (value, octet, digits, dots) = (value << 8 | octet, 0, 0, dots + 1)
            } else {
                guard byte >= 0x30, byte <= 0x39, digits < 3, digits == 0 || octet != 0 else { return nil }
                octet = octet * 10 + UInt32(byte - 0x30)
                digits += 1
            }
        }
        guard dots == 3, digits > 0, octet <= 255 else { return nil }
        return value << 8 | octet
    }

    /// Colon-separated groups of 1 to 4 hex digits, at most one `::`; nil also for a dotted IPv4 tail (left to
    /// `IPAddress.init`).
    private static func parseIPv6(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt128? {
        var head: UInt128 = 0
        var tail: UInt128 = 0
        var headCount = 0
        var tailCount = 0
        var sawGap = false
        var index = 0
        let count = bytes.count
        if count >= 2, bytes[0] == UInt8(ascii: ":"), bytes[1] == UInt8(ascii: ":") {
            sawGap = true
            index = 2
        }
        while index < count {
            var group: UInt128 = 0
            var digits = 0
            while index < count, digits <= 4 {
                let byte = bytes[index]
                let nibble: UInt8
                switch byte {
                case 0x30...0x39: nibble = byte - 0x30
                case 0x61...0x66: nibble = byte - 0x61 + 10
                case 0x41...0x46: nibble = byte - 0x41 + 10
                default: nibble = 0xFF
                }
                if nibble == 0xFF { break }
                group = group << 4 | UInt128(nibble)
                digits += 1
                index += 1
            }
            guard (1...4).contains(digits) else { return nil }
            if sawGap { (tail, tailCount) = (tail << 16 | group, tailCount + 1) } else { (head, headCount) = (head << 16 | group, headCount + 1) }
            guard headCount + tailCount <= 8 else { return nil }
            if index == count { break }
            guard bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            if index < count, bytes[index] == UInt8(ascii: ":") {
                guard !sawGap else { return nil }
                sawGap = true
                index += 1
            } else if index == count {
                return nil
            }
        }
        if sawGap {
            guard headCount + tailCount <= 7 else { return nil }
            return headCount == 0 ? tail : head << UInt128(16 * (8 - headCount)) | tail
        }
        return headCount == 8 ? head : nil
    }
}
