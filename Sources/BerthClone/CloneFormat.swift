/// The structured-clone wire format, version 1 (docs/clone-format.md). Independent of QuickJS: the same bytes cross
/// a process boundary or go to Redis unchanged.
package enum CloneFormat {
    /// Every encoded value starts with these bytes: "BSC" and the format version.
    package static let header: [UInt8] = [0x42, 0x53, 0x43, 0x01]
    package static let version: UInt8 = 1

    /// One byte before each value says what follows.
    package enum Tag: UInt8, Sendable {
        case undefined = 0x00
        case null = 0x01
        case `false` = 0x02
        case `true` = 0x03
        /// A number that is an integer in Int32 range and not -0: zigzag varint.
        case int32 = 0x04
        /// Any other number (NaN, ±Infinity, -0, fractions): 8 bytes IEEE 754 little-endian.
        case float64 = 0x05
        /// Sign byte (0 or 1), varint byte count, magnitude little-endian.
        case bigint = 0x06
        /// Varint count of UTF-16 code units, then the units little-endian (lone surrogates survive).
        case string = 0x07
        /// Varint count of code units, then one byte per unit: the form of a string whose units all fit a byte.
        case latin1String = 0x09
        /// The value that object number N (counted in order of first appearance) already is: varint N.
        case reference = 0x08

        /// Varint property count, then (string key, value) pairs in property order.
        case object = 0x10
        /// Varint length, varint property count, then (string key, value) pairs: indices as decimal strings, holes
        /// absent, extra non-index properties after them.
        case array = 0x11
        /// float64 milliseconds since the epoch (NaN for an invalid date).
        case date = 0x12
        /// Source string, then flags string.
        case regexp = 0x13
        /// Varint entry count, then key, value pairs.
        case map = 0x14
        /// Varint count, then the values.
        case set = 0x15
        /// Varint byte length, then the bytes.
        case arrayBuffer = 0x16
        /// View kind byte (`ViewKind`), then the buffer (an arrayBuffer or a reference), varint byte offset, varint
        /// length in elements (bytes for DataView).
        case arrayBufferView = 0x17
        /// Name string, then message and stack, each a string or undefined.
        case error = 0x18
        case booleanObject = 0x19
        /// float64.
        case numberObject = 0x1A
        /// A string value follows (tag and all).
        case stringObject = 0x1B
        /// A bigint value follows (tag and all).
        case bigintObject = 0x1C
        /// As `error`; the name is the exception's (AbortError, DataCloneError, …).
        case domException = 0x1D

        /// Whether the tag starts a string (either form).
        package var isString: Bool { self == .string || self == .latin1String }
    }

    /// The kinds of ArrayBuffer views.
    package enum ViewKind: UInt8, Sendable, CaseIterable {
        case int8 = 1
        case uint8
        case uint8Clamped
        case int16
        case uint16
        case int32
        case uint32
        case float32
        case float64
        case bigInt64
        case bigUint64
        case dataView
        /// Float16Array (QuickJS 2025-04-26 has none, so berth neither writes nor reads it).
        case float16

        package var bytesPerElement: Int {
            switch self {
            case .int8, .uint8, .uint8Clamped, .dataView: 1
            case .int16, .uint16, .float16: 2
            case .int32, .uint32, .float32: 4
            case .float64, .bigInt64, .bigUint64: 8
            }
        }
    }
}
