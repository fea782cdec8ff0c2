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
        guard bytes.count >= CloneFormat.header.count, Array(bytes[0..<3]) == Array(CloneFormat.header[0..<3]) else {
            throw FormatError(description: "not a berth structured-clone value")
        }
        guard bytes[3] == CloneFormat.version else {
            throw FormatError(description: "structured-clone format version \(bytes[3]) is not supported (this berth reads \(CloneFormat.version))")
        }
        offset = CloneFormat.header.count
    }

    package var isAtEnd: Bool { offset == bytes.count }

    package mutating func tag() throws(FormatError) -> CloneFormat.Tag {
        let raw = try byte()
        guard let tag = CloneFormat.Tag(rawValue: raw) else { throw FormatError(description: "unknown tag 0x\(String(raw, radix: 16)) at byte \(offset - 1)") }
        return tag
    }

    package mutating func byte() throws(FormatError) -> UInt8 {
        guard offset < bytes.count else { throw FormatError(description: "truncated value") }
        defer { offset += 1 }
        return bytes[offset]
    }

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

    /// The code units of a string whose tag was already read.
    package mutating func stringPayload() throws(FormatError) -> [UInt16] {
        let count = try count(elementSize: 2)
        let raw = try take(count * 2)
        var units = [UInt16](repeating: 0, count: count)
        let base = raw.startIndex
        for index in 0..<count { units[index] = UInt16(raw[base + 2 * index]) | UInt16(raw[base + 2 * index + 1]) << 8 }
        return units
    }

    /// A string including its tag (keys, error fields, regexp parts).
    package mutating func string() throws(FormatError) -> [UInt16] {
        guard try tag() == .string else { throw FormatError(description: "expected a string at byte \(offset - 1)") }
        return try stringPayload()
    }

    package mutating func take(_ count: Int) throws(FormatError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else { throw FormatError(description: "truncated value") }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
}
