import BerthPlan
import Testing

@Suite struct JSONParserTests {
    @Test func positionsPointAtKeysAndValues() throws {
        let text = "{\n  \"a\": 1,\n  \"bé\": [true, \"x\"]\n}"
        let root = try JSONParser.parse(Array(text.utf8))
        guard case .object(let members) = root.value else { Issue.record("not an object"); return }
        #expect(members[0].keyPosition == TextPosition(line: 2, column: 3))
        #expect(members[0].value.position == TextPosition(line: 2, column: 8))
        #expect(members[1].key == "bé")
        guard case .array(let items) = members[1].value.value else { Issue.record("not an array"); return }
        // Columns count characters, not bytes: "é" is two bytes.
        #expect(items[1].position == TextPosition(line: 3, column: 16))
    }

    @Test(arguments: [
        ("{\"a\": 1,}", 1, 9, "trailing comma"),
        ("{\"a\" 1}", 1, 6, "expected ':'"),
        ("{\n  \"a\": tru\n}", 2, 8, "expected a value"),
        ("[1 2]", 1, 4, "expected ',' or ']'"),
        ("{\"a\": \"x", 1, 9, "unterminated string"),
        ("{'a': 1}", 1, 2, "double quotes"),
        ("{\"a\": 01}", 1, 7, "leading zeros"),
        ("{} {}", 1, 4, "after the end"),
        ("", 1, 1, "end of file"),
    ])
    func syntaxErrorsHavePositions(text: String, line: Int, column: Int, fragment: String) {
        do {
            _ = try JSONParser.parse(Array(text.utf8))
            Issue.record("parsed \(text)")
        } catch {
            #expect(error.position == TextPosition(line: line, column: column), "\(error.message)")
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }

    /// `json.dump` writes a whole manifest on one line; positions there are counted incrementally, and must stay exact.
    @Test func positionsOnOneLongLine() throws {
        let items = (0..<2000).map { "\"é\($0)\"" }
        let text = "{\"list\": [" + items.joined(separator: ", ") + "], \"after\": 1}\n{"
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(text.utf8)) }
        let root = try JSONParser.parse(Array(text.dropLast(2).utf8))
        guard case .object(let members) = root.value, case .array(let list) = members[0].value.value else {
            Issue.record("not an object with a list")
            return
        }
        var column = 11
        for (index, item) in list.enumerated() {
            #expect(item.position == TextPosition(line: 1, column: column))
            column += "\"é\(index)\", ".count
        }
        #expect(members[1].keyPosition == TextPosition(line: 1, column: column - 2 + 3))
    }

    @Test func duplicateKeysAreKept() throws {
        let root = try JSONParser.parse(Array("{\"a\": 1, \"a\": 2}".utf8))
        guard case .object(let members) = root.value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["a", "a"])
    }

    @Test func escapesAndNumbers() throws {
        let root = try JSONParser.parse(Array(#"["\u00e9\ud83d\ude00\n", -0, 1.5e3, 42]"#.utf8))
        guard case .array(let items) = root.value else { Issue.record("not an array"); return }
        #expect(items[0].stringValue == "é😀\n")
        #expect(items[3].integerValue == 42)
        #expect(items[2].integerValue == nil)
    }

    /// Strings are made from whole runs between escapes; invalid UTF-8 is refused where its run ends.
    @Test func stringRunsAndInvalidUTF8() throws {
        let root = try JSONParser.parse(Array(#"["plain", "é\u0041é\n", "", "\"\\"]"#.utf8))
        guard case .array(let items) = root.value else { Issue.record("not an array"); return }
        #expect(items.map(\.stringValue) == ["plain", "éAé\n", "", "\"\\"])
        let invalid: [UInt8] = Array("[\"ab".utf8) + [0xC3] + Array("cd\\n\"]".utf8)
        do {
            _ = try JSONParser.parse(invalid)
            Issue.record("parsed invalid UTF-8")
        } catch {
            #expect(error.message == "the file is not valid UTF-8")
            #expect(error.position == TextPosition(line: 1, column: 8))
        }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(text.utf8)) }
    }
}

@Suite struct JSONWriterTests {
    @Test func keysAreSortedAndOutputIsStable() {
        let value: JSONValue = ["b": 1, "a": ["z": "x\"y\n", "c": .null], "$s": [true, false]]
        #expect(JSONWriter.compact(value) == #"{"$s":[true,false],"a":{"c":null,"z":"x\"y\n"},"b":1}"#)
        #expect(JSONWriter.pretty(["a": [], "b": [:]]) == "{\n  \"a\": [],\n  \"b\": {}\n}\n")
    }

    /// Bytes below 0x20, quotes and backslashes are escaped, and so are DEL and the other scalars that could drive a
    /// terminal (PrintableTextTests); everything else, non-ASCII included, is copied as it is.
    @Test func escapes() {
        let text = "a\"b\\c\n\r\t\u{0}\u{1}\u{1f} é😀\u{7f}/"
        #expect(JSONWriter.compact(.string(text)) == #""a\"b\\c\n\r\t\u0000\u0001\u001f é😀\u007f/""#)
        #expect(JSONWriter.compactUTF8(["k": .string(text)]) == Array(JSONWriter.compact(["k": .string(text)]).utf8))
    }

    @Test func writeThenParseRoundTrips() throws {
        let value: JSONValue = ["name": "é\u{1}", "list": [1, -2, "x"], "nested": ["ok": true]]
        let parsed = try JSONParser.parse(Array(JSONWriter.pretty(value).utf8))
        #expect(parsed.plainValue == value)
    }
}

@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func knownVectors(input: String, digest: String) {
        #expect(SHA256.hex(input) == digest)
    }

    /// Padding edges: 55 bytes fit one block with the length, 56 to 64 need a second, 119/120 the same a block later.
    @Test(arguments: [
        (55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
        (64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        (65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
        (119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"),
        (120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"),
        (128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"),
    ])
    func lengthsAroundTheBlockSize(count: Int, digest: String) {
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: count)) == digest)
    }

    @Test func twoBlockVector() {
        let message = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
            + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
        #expect(SHA256.hex(message) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    @Test func millionAs() {
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test(arguments: [1, 37, 63, 64, 65, 128, 200])
    func incrementalUpdatesMatchOneShot(chunkSize: Int) {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var hasher = SHA256()
        for chunk in stride(from: 0, to: bytes.count, by: chunkSize) {
            hasher.update(Array(bytes[chunk..<min(chunk + chunkSize, bytes.count)]))
        }
        #expect(hasher.finalizeHex() == SHA256.hex(bytes))
    }
}

@Suite struct LimitsTextTests {
    @Test func ratesAndDurations() {
        #expect(Rate.parse("50/s") == Rate(count: 50, seconds: 1))
        #expect(Rate.parse("600/min") == Rate(count: 600, seconds: 60))
        #expect(Rate.parse("10/h")?.description == "10/h")
        #expect(Rate.parse("50 per second") == nil && Rate.parse("50/d") == nil && Rate.parse("-1/s") == nil)
        #expect(DurationText.parseMilliseconds("5m") == 300_000)
        #expect(DurationText.parseMilliseconds("250ms") == 250)
        #expect(DurationText.parseMilliseconds("5") == nil && DurationText.parseMilliseconds("5 minutes") == nil)
        #expect(DurationText.format(milliseconds: 300_000) == "5m")
        #expect(DurationText.format(milliseconds: 1500) == "1500ms")
    }
}
