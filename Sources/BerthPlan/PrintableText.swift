/// Text from the folder (manifest keys, file names, source lines) made safe to print on a terminal or in a CI log: a
/// crafted key must not move the cursor, recolour the screen, reorder what is shown, or start a line of its own (a
/// line beginning `::error` is a GitHub workflow command). Every view prints user text through this one function.
package enum PrintableText {
    /// `text` with each C0 control but tab, DEL, C1 control, line or paragraph separator and bidirectional
    /// formatting character written as an escape: `\n`, `\r`, otherwise `\u{1B}`. Tab stays: it only moves right.
    package static func escaped(_ text: some StringProtocol) -> String {
        guard text.utf8.contains(where: mayStartEscape) else { return String(text) }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case _ where needsEscape(scalar): out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Whether the scalar is one `escaped` rewrites.
    package static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09: false
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x061C, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// A UTF-8 byte that begins one of those scalars or could (0xC2 leads U+0080–U+00BF, 0xD8 U+061C, 0xE2 the
    /// U+2xxx ones): most text has none, and is returned without a scalar walk.
    private static func mayStartEscape(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != 0x09) || byte == 0x7F || byte == 0xC2 || byte == 0xD8 || byte == 0xE2
    }
}
