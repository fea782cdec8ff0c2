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
