/// Serialises `JSONValue` deterministically: keys sorted by their UTF-8 bytes, no trailing spaces, `\n` line ends.
/// Writes UTF-8 bytes, not a String: appending to a String cost as much as hashing the result.
package enum JSONWriter {
    /// Two-space indented output ending in a newline, for files people read and diff.
    package static func pretty(_ value: JSONValue) -> String {
        var out: [UInt8] = []
        write(value, into: &out, indent: 0, pretty: true)
        out.append(UInt8(ascii: "\n"))
        return String(decoding: out, as: UTF8.self)
    }

    /// One line, no spaces, for JSON Lines output and hashing.
    package static func compact(_ value: JSONValue) -> String { String(decoding: compactUTF8(value), as: UTF8.self) }

    /// `compact(value)` as UTF-8 bytes, for hashing without building a String.
    package static func compactUTF8(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        write(value, into: &out, indent: 0, pretty: false)
        return out
    }

    private static func write(_ value: JSONValue, into out: inout [UInt8], indent: Int, pretty: Bool) {
        switch value {
        case .null: out += "null".utf8
        case .bool(let flag): out += (flag ? "true" : "false").utf8
        case .int(let number): out += String(number).utf8
        case .string(let text): writeString(text, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]".utf8; return }
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(&out, indent + 1, pretty)
                write(item, into: &out, indent: indent + 1, pretty: pretty)
            }
            newline(&out, indent, pretty)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            if members.isEmpty { out += "{}".utf8; return }
            out.append(UInt8(ascii: "{"))
            let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            for (index, member) in sorted.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(&out, indent + 1, pretty)
                writeString(member.key, into: &out)
                out += (pretty ? ": " : ":").utf8
                write(member.value, into: &out, indent: indent + 1, pretty: pretty)
            }
            newline(&out, indent, pretty)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ out: inout [UInt8], _ indent: Int, _ pretty: Bool) {
        guard pretty else { return }
        out.append(UInt8(ascii: "\n"))
        out += repeatElement(UInt8(ascii: " "), count: 2 * indent)
    }

    /// Bytes below 0x20, `"` and `\` are escaped, and so are the scalars `PrintableText` escapes (DEL, C1 controls,
    /// line separators, bidi overrides) as `\uXXXX`: the same value to a JSON reader, but a document printed on a
    /// terminal cannot drive it. All are whole scalars in UTF-8, so the runs between them are copied as they are,
    /// over the raw bytes (iterating `String.UTF8View` cost some 30 instructions a byte).
    private static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            var index = 0
            while index < utf8.count {
                let byte = utf8[index]
                var length = 1
                var escaped: UInt32?
                switch byte {
                case UInt8(ascii: "\""): out += utf8[runStart..<index]; out += #"\""#.utf8
                case UInt8(ascii: "\\"): out += utf8[runStart..<index]; out += #"\\"#.utf8
                case UInt8(ascii: "\n"): out += utf8[runStart..<index]; out += #"\n"#.utf8
                case UInt8(ascii: "\r"): out += utf8[runStart..<index]; out += #"\r"#.utf8
                case UInt8(ascii: "\t"): out += utf8[runStart..<index]; out += #"\t"#.utf8
                case 0..<0x20, 0x7F: escaped = UInt32(byte)
                case 0xC2, 0xD8:  // a String is valid UTF-8: the continuation bytes are there
                    length = 2
                    let scalar = UInt32(byte & 0x1F) << 6 | UInt32(utf8[index + 1] & 0x3F)
                    if PrintableText.needsEscape(Unicode.Scalar(scalar)!) { escaped = scalar }
                case 0xE2:
                    length = 3
                    let scalar =
                        UInt32(byte & 0x0F) << 12 | UInt32(utf8[index + 1] & 0x3F) << 6 | UInt32(utf8[index + 2] & 0x3F)
                    if PrintableText.needsEscape(Unicode.Scalar(scalar)!) { escaped = scalar }
                default:
                    index += 1
                    continue
                }
                if let escaped {
                    out += utf8[runStart..<index]
                    let hex = String(escaped, radix: 16)
                    out += ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8
                } else if length > 1 {
                    index += length  // an ordinary scalar: part of the run
                    continue
                }
                index += length
                runStart = index
            }
            out += utf8[runStart...]
        }
        out.append(UInt8(ascii: "\""))
    }
}
