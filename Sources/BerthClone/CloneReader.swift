/// Reads the clone format; every read checks bounds, so corrupt bytes (from another process, from Redis) give an
/// error, never a crash.
package struct CloneReader {
    package struct FormatError: Error, Hashable, Sendable, CustomStringConvertible {
        package var description: String
    }

    private let bytes: [UInt8]
    package private(set) var offset: Int

    /// Checks the header; throws for another format or version.
    package init(_ bytes: [UInt8]) throws(FormatError) {
        self.bytes = bytes
        guard bytes.count >= CloneFormat.header.count, bytes[0] == CloneFormat.header[0],
            bytes[1] == CloneFormat.header[1], bytes[2] == CloneFormat.header[2]
        else {
            throw FormatError(description: "not a berth structured-clone value")
        }
        guard bytes[3] == CloneFormat.version else {
            let (version, supported) = (bytes[3], CloneFormat.version)
            throw FormatError(description: "format version \(version) is not supported (this berth reads \(supported))")
        }
        offset = CloneFormat.header.count
    }

    package var isAtEnd: Bool { offset == bytes.count }

    package mutating func tag() throws(FormatError) -> CloneFormat.Tag {
        let raw = try byte()
        guard let tag = CloneFormat.Tag(rawValue: raw) else {
            throw FormatError(description: "unknown tag 0x\(String(raw, radix: 16)) at byte \(offset - 1)")
        }
        return tag
    }

    // The primitive reads are forced inline into the string and value reads: each runs several times per value, and
    // as calls they cost a get about 800 instructions (callgrind).
    @inline(__always)
    package mutating func byte() throws(FormatError) -> UInt8 {
        guard offset < bytes.count else { throw FormatError(description: "truncated value") }
        defer { offset += 1 }
        return bytes[offset]
    }

    @inline(__always)
    package mutating func varint() throws(FormatError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try byte()
            guard shift < 64 else { throw FormatError(description: "varint too long") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// A count of items that each take at least `elementSize` bytes, bounded by what is left, so a corrupt count
    /// cannot make the caller allocate gigabytes.
    @inline(__always)
    package mutating func count(elementSize: Int = 1) throws(FormatError) -> Int {
        let value = try varint()
        guard value <= UInt64(bytes.count - offset) / UInt64(max(elementSize, 1)) else {
            throw FormatError(description: "count \(value) exceeds the value's size")
        }
        return Int(value)
    }

    package mutating func int32Payload() throws(FormatError) -> Double {
        let zigzag = try varint()
        return Double(Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1))
    }

    package mutating func float64() throws(FormatError) -> Double {
        let raw = try take(8)
        var bits: UInt64 = 0
        for (index, byte) in raw.enumerated() { bits |= UInt64(byte) << UInt64(8 * index) }
        return Double(bitPattern: bits)
    }

    /// The code units of a string whose tag (`.string` or `.latin1String`) was already read.
    package mutating func stringPayload(_ tag: CloneFormat.Tag = .string) throws(FormatError) -> [UInt16] {
        if tag == .latin1String {
            let count = try count()
            return try take(count).map(UInt16.init)
        }
        let count = try count(elementSize: 2)
        let raw = try take(count * 2)
        var units = [UInt16](repeating: 0, count: count)
        let base = raw.startIndex
        for index in 0..<count { units[index] = UInt16(raw[base + 2 * index]) | UInt16(raw[base + 2 * index + 1]) << 8 }
        return units
    }

    /// A string including its tag (keys, error fields, regexp parts).
    package mutating func string() throws(FormatError) -> [UInt16] {
        let tag = try tag()
        guard tag.isString else { throw FormatError(description: "expected a string at byte \(offset - 1)") }
        return try stringPayload(tag)
    }

    /// The WTF-8 form of a string whose tag was already read (QuickJS makes strings from it); an ASCII string's bytes
    /// are lent from the value without a copy.
    package mutating func wtf8Payload(_ tag: CloneFormat.Tag) throws(FormatError) -> ArraySlice<UInt8> {
        if tag == .latin1String {
            let count = try count()
            let raw = try take(count)
            var isASCII = true
            for byte in raw where byte >= 0x80 {
                isASCII = false
                break
            }
            if isASCII { return raw }
            var converted: [UInt8] = []
            converted.reserveCapacity(count * 2)
            for byte in raw {
                if byte < 0x80 {
                    converted.append(byte)
                } else {
                    converted.append(0xC0 | byte >> 6)
                    converted.append(0x80 | byte & 0x3F)
                }
            }
            return converted[...]
        }
        var converted: [UInt8] = []
        WTF8.append(try stringPayload(tag), to: &converted)
        return converted[...]
    }

    /// A string including its tag, as WTF-8.
    package mutating func wtf8String() throws(FormatError) -> ArraySlice<UInt8> {
        let tag = try tag()
        guard tag.isString else { throw FormatError(description: "expected a string at byte \(offset - 1)") }
        return try wtf8Payload(tag)
    }

    @inline(__always)
    package mutating func take(_ count: Int) throws(FormatError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else { throw FormatError(description: "truncated value") }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
}
