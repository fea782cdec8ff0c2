/// Appends values in the clone format to a byte buffer; the JS binding walks a value and calls these in order.
package struct CloneWriter {
    package private(set) var bytes: [UInt8]

    package init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes += CloneFormat.header
    }

    package mutating func tag(_ tag: CloneFormat.Tag) { bytes.append(tag.rawValue) }

    package mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    package mutating func varint(_ value: Int) { varint(UInt64(value)) }

    /// A number with its tag: compact for int32 values, IEEE bits otherwise (so -0 and NaN survive).
    package mutating func number(_ value: Double) {
        if value == value.rounded(), abs(value) <= Double(Int32.max), !(value == 0 && value.sign == .minus) {
            tag(.int32)
            let integer = Int64(value)
            varint(UInt64(bitPattern: (integer << 1) ^ (integer >> 63)))
        } else {
            tag(.float64)
            float64(value)
        }
    }

    package mutating func float64(_ value: Double) {
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    /// A string with its tag, as UTF-16 code units.
    package mutating func string(_ units: some Collection<UInt16>) {
        tag(.string)
        varint(units.count)
        for unit in units {
            bytes.append(UInt8(truncatingIfNeeded: unit))
            bytes.append(UInt8(truncatingIfNeeded: unit >> 8))
        }
    }

    package mutating func string(_ text: String) { string(Array(text.utf16)) }

    package mutating func raw(_ data: UnsafeRawBufferPointer) { bytes.append(contentsOf: data) }
    package mutating func byte(_ value: UInt8) { bytes.append(value) }
}
