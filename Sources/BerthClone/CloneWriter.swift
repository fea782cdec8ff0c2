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

    /// A string with its tag, from its UTF-16 code units: the one-byte form when every unit fits a byte.
    package mutating func string(_ units: some Collection<UInt16>) {
        if units.allSatisfy({ $0 <= 0xFF }) {
            tag(.latin1String)
            varint(units.count)
            for unit in units { bytes.append(UInt8(truncatingIfNeeded: unit)) }
            return
        }
        tag(.string)
        varint(units.count)
        for unit in units {
            bytes.append(UInt8(truncatingIfNeeded: unit))
            bytes.append(UInt8(truncatingIfNeeded: unit >> 8))
        }
    }

    package mutating func string(_ text: String) { string(Array(text.utf16)) }

    /// The decimal digits of `value` as a string with its tag (an array index as a property key).
    package mutating func decimalString(_ value: UInt32) {
        var divisor: UInt32 = 1
        var count = 1
        while value / divisor >= 10 {
            divisor *= 10
            count += 1
        }
        tag(.latin1String)
        varint(count)
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }

    /// A string with its tag, from its WTF-8 form (as QuickJS lends strings): ASCII is copied as is, Latin-1 becomes
    /// one byte a character, anything else UTF-16.
    package mutating func string(wtf8: RawSpan) {
        wtf8.withUnsafeBytes { wtf8 in
            // Count the characters while they are all Latin-1 (one byte, or two with lead C2 or C3).
            var count = 0
            var index = 0
            var isASCII = true
            while index < wtf8.count {
                let byte = wtf8[index]
                if byte < 0x80 {
                    index += 1
                } else if byte == 0xC2 || byte == 0xC3, index + 1 < wtf8.count {
                    isASCII = false
                    index += 2
                } else {
                    string(WTF8.units(of: wtf8))
                    return
                }
                count += 1
            }
            tag(.latin1String)
            varint(count)
            if isASCII {
                bytes.append(contentsOf: wtf8)
                return
            }
            bytes.reserveCapacity(bytes.count + count)
            WTF8.appendLatin1(of: wtf8, to: &bytes)
        }
    }

    package mutating func raw(_ data: UnsafeRawBufferPointer) { bytes.append(contentsOf: data) }
    package mutating func raw(_ data: RawSpan) { data.withUnsafeBytes { bytes.append(contentsOf: $0) } }
    package mutating func byte(_ value: UInt8) { bytes.append(value) }
}
