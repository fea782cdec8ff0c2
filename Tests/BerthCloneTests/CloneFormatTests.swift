import BerthClone
import Testing

@Suite struct CloneFormatTests {
    @Test func primitivesRoundTrip() throws {
        var writer = CloneWriter()
        for number in [0.0, -0.0, 1, -1, 2147483647, -2147483648, 2147483648, 0.5, .nan, .infinity] { writer.number(number) }
        writer.string([0xD800, 0x41])
        var reader = try CloneReader(writer.bytes)
        var decoded: [Double] = []
        for _ in 0..<10 {
            switch try reader.tag() {
            case .int32: decoded.append(try reader.int32Payload())
            case .float64: decoded.append(try reader.float64())
            default: Issue.record("unexpected tag")
            }
        }
        #expect(decoded[1].sign == .minus && decoded[1] == 0)
        #expect(decoded[3] == -1 && decoded[5] == -2147483648 && decoded[6] == 2147483648 && decoded[7] == 0.5)
        #expect(decoded[8].isNaN && decoded[9] == .infinity)
        #expect(try reader.string() == [0xD800, 0x41])
        #expect(reader.isAtEnd)
    }

    @Test func corruptInputIsAnErrorNotACrash() throws {
        #expect(throws: CloneReader.FormatError.self) { try CloneReader([1, 2]) }
        #expect(throws: CloneReader.FormatError.self) { try CloneReader([0x42, 0x53, 0x43, 0x09]) }
        var reader = try CloneReader(CloneFormat.header + [0x07, 0xFF, 0xFF, 0xFF, 0x0F])
        #expect(throws: CloneReader.FormatError.self) { _ = try reader.string() }
        var truncated = try CloneReader(CloneFormat.header + [0x05, 1, 2])
        _ = try truncated.tag()
        #expect(throws: CloneReader.FormatError.self) { _ = try truncated.float64() }
    }
}
