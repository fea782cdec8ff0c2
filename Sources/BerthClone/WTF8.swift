/// WTF-8: UTF-8 extended to lone surrogates, each in its 3-byte form, while a surrogate pair is always one 4-byte
/// character. Every UTF-16 string has exactly one WTF-8 form, so JavaScript strings (which QuickJS lends this way)
/// convert to the clone format's code units and back without loss.
package enum WTF8 {
    /// The UTF-16 code units of `bytes`; each byte of a malformed sequence (which QuickJS never lends) is a U+FFFD.
    package static func units(of bytes: UnsafeRawBufferPointer) -> [UInt16] {
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count)
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = UInt32(bytes[index])
            var length = 1
            var scalar = lead
            switch lead {
            case 0..<0x80: break
            case 0xC2..<0xE0: (length, scalar) = (2, lead & 0x1F)
            case 0xE0..<0xF0: (length, scalar) = (3, lead & 0x0F)
            case 0xF0..<0xF5: (length, scalar) = (4, lead & 0x07)
            default: (length, scalar) = (0, 0xFFFD)
            }
            if length > 1 {
                if index + length > count {
                    (length, scalar) = (0, 0xFFFD)
                } else {
                    for offset in 1..<length {
                        let byte = UInt32(bytes[index + offset])
                        guard byte & 0xC0 == 0x80 else {
                            (length, scalar) = (0, 0xFFFD)
                            break
                        }
                        scalar = scalar << 6 | byte & 0x3F
                    }
                }
            }
            index += max(length, 1)
            if scalar >= 0x10000 {
                guard scalar <= 0x10FFFF else {
                    units.append(0xFFFD)
                    continue
                }
                let offset = scalar - 0x10000
                units.append(UInt16(0xD800 + (offset >> 10)))
                units.append(UInt16(0xDC00 + (offset & 0x3FF)))
            } else {
                units.append(UInt16(scalar))
            }
        }
        return units
    }

    /// Appends the Latin-1 bytes of `utf8`, text whose every scalar is below U+0100 (one byte below U+0080, two above).
    package static func appendLatin1(of utf8: UnsafeRawBufferPointer, to bytes: inout [UInt8]) {
        var index = 0
        while index < utf8.count {
            let lead = unsafe utf8[index]
            if lead < 0x80 {
                bytes.append(lead)
                index += 1
            } else {
                bytes.append(unsafe (lead & 0x1F) << 6 | utf8[index + 1] & 0x3F)
                index += 2
            }
        }
    }

    /// Appends the WTF-8 form of `units`: a high surrogate followed by a low one is one 4-byte character, any other
    /// surrogate takes 3 bytes.
    package static func append(_ units: some Collection<UInt16>, to bytes: inout [UInt8]) {
        var iterator = units.makeIterator()
        var pending = iterator.next()
        while let unit = pending {
            pending = iterator.next()
            var scalar = UInt32(unit)
            if unit & 0xFC00 == 0xD800, let next = pending, next & 0xFC00 == 0xDC00 {
                scalar = 0x10000 + (UInt32(unit - 0xD800) << 10) + UInt32(next - 0xDC00)
                pending = iterator.next()
            }
            switch scalar {
            case 0..<0x80:
                bytes.append(UInt8(scalar))
            case 0x80..<0x800:
                bytes.append(UInt8(0xC0 | scalar >> 6))
                bytes.append(UInt8(0x80 | scalar & 0x3F))
            case 0x800..<0x10000:
                bytes.append(UInt8(0xE0 | scalar >> 12))
                bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
                bytes.append(UInt8(0x80 | scalar & 0x3F))
            default:
                bytes.append(UInt8(0xF0 | scalar >> 18))
                bytes.append(UInt8(0x80 | scalar >> 12 & 0x3F))
                bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
                bytes.append(UInt8(0x80 | scalar & 0x3F))
            }
        }
    }
}
