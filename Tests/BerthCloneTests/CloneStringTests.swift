import BerthClone
import Testing

/// Strings in the clone format: the one-byte and UTF-16 forms, and the WTF-8 conversions QuickJS strings go through.
@Suite struct CloneStringTests {
    /// Encodes `units` to WTF-8, writes that as a clone string, and reads it back both ways.
    private func roundTrip(_ units: [UInt16]) throws -> (tag: CloneFormat.Tag, units: [UInt16], wtf8: [UInt8]) {
        var wtf8: [UInt8] = []
        WTF8.append(units, to: &wtf8)
        var writer = CloneWriter()
        writer.string(wtf8: wtf8.span.bytes)
        var reader = try CloneReader(writer.bytes)
        let tag = try reader.tag()
        var again = try CloneReader(writer.bytes)
        let back = try again.wtf8String()
        #expect(again.isAtEnd)
        return (tag, try reader.stringPayload(tag), Array(back))
    }

    @Test(arguments: [
        ([UInt16](), CloneFormat.Tag.latin1String),
        (Array("plain ascii".utf16), .latin1String),
        (Array("caf\u{E9} \u{FF}\u{80}".utf16), .latin1String),
        (Array("\u{100} wide".utf16), .string),
        (Array("emoji \u{1F600}".utf16), .string),
        ([0xD800], .string),
        ([0xDC00, 0xD800], .string),
        ([0x61, 0xD83D, 0xDE00, 0xD83D], .string),
        ([0x00, 0x7F, 0x80, 0xFF], .latin1String),
    ])
    func stringsRoundTrip(units: [UInt16], form: CloneFormat.Tag) throws {
        let (tag, back, wtf8) = try roundTrip(units)
        #expect(tag == form)
        #expect(back == units)
        #expect(wtf8.withUnsafeBytes { WTF8.units(of: $0) } == units)
    }

    @Test func wtf8JoinsPairsAndKeepsLoneSurrogatesInThreeBytes() {
        var bytes: [UInt8] = []
        WTF8.append([0xD83D, 0xDE00, 0xD800, 0x41, 0xDFFF], to: &bytes)
        #expect(bytes == [0xF0, 0x9F, 0x98, 0x80, 0xED, 0xA0, 0x80, 0x41, 0xED, 0xBF, 0xBF])
    }

    @Test func malformedWTF8BecomesReplacementCharacters() {
        let malformed: [UInt8] = [0xFF, 0x41, 0xE2, 0x82]
        #expect(malformed.withUnsafeBytes { WTF8.units(of: $0) } == [0xFFFD, 0x41, 0xFFFD, 0xFFFD])
        let cut: [UInt8] = [0xC3, 0x41]
        #expect(cut.withUnsafeBytes { WTF8.units(of: $0) } == [0xFFFD, 0x41])
    }

    @Test func decimalKeysAreOneByteStrings() throws {
        var writer = CloneWriter()
        for value: UInt32 in [0, 7, 10, 4_294_967_294] { writer.decimalString(value) }
        var reader = try CloneReader(writer.bytes)
        var read: [String] = []
        for _ in 0..<4 { read.append(String(decoding: try reader.string(), as: UTF16.self)) }
        #expect(read == ["0", "7", "10", "4294967294"])
        #expect(writer.bytes[4] == CloneFormat.Tag.latin1String.rawValue)
    }

    @Test func aOneByteStringWithACountPastTheEndIsAnError() throws {
        var reader = try CloneReader(CloneFormat.header + [0x09, 0x05, 0x41])
        #expect(throws: CloneReader.FormatError.self) { _ = try reader.wtf8String() }
    }
}
