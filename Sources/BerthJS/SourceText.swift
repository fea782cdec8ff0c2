/// Plain byte scans of module source, used only to place problems that QuickJS reports without a position (imports
/// it could not resolve, names it could not link). Not a parser: a string in a comment can match first.
package enum SourceText {
    /// 1-based line and column (in code points, as QuickJS counts them) of the string literal `specifier` in an
    /// import or export statement, preferring a literal right after `from` or `import`, and among those one whose
    /// braces list `name` when given.
    package static func position(
        ofSpecifier specifier: String, naming name: String? = nil, in source: [UInt8]
    ) -> (line: Int, column: Int)? {
        let statements = offsets(ofSpecifier: specifier, in: source)
        let chosen =
            name.flatMap { name in
                statements.first { containsWord(Array(name.utf8), in: bracedNames(before: $0, in: source) ?? []) }
            } ?? statements.first ?? anyOffset(ofSpecifier: specifier, in: source)
        return chosen.map { lineAndColumn(at: $0, in: source) }
    }

    /// Whether `export { … name … } from 'specifier'` appears in the source; returns the literal's position.
    package static func reexport(of name: String, from specifier: String, in source: [UInt8]) -> (line: Int, column: Int)? {
        for offset in offsets(ofSpecifier: specifier, in: source) {
            guard let names = bracedNames(before: offset, in: source), containsWord(Array(name.utf8), in: names),
                let open = source[..<offset].lastIndex(of: UInt8(ascii: "{")),
                precedingWord(before: open, in: source) == "export"
            else { continue }
            return lineAndColumn(at: offset, in: source)
        }
        return nil
    }

    /// Offsets of the opening quotes of `specifier` written right after `from` or `import`.
    private static func offsets(ofSpecifier specifier: String, in source: [UInt8]) -> [Int] {
        var found: [Int] = []
        for quote in [UInt8(ascii: "\""), UInt8(ascii: "'")] {
            let needle = [quote] + Array(specifier.utf8) + [quote]
            var start = 0
            while let offset = find(needle, in: source, from: start) {
                if let word = precedingWord(before: offset, in: source), word == "from" || word == "import" {
                    found.append(offset)
                }
                start = offset + 1
            }
        }
        return found.sorted()
    }

    private static func anyOffset(ofSpecifier specifier: String, in source: [UInt8]) -> Int? {
        [UInt8(ascii: "\""), UInt8(ascii: "'")]
            .compactMap { find([$0] + Array(specifier.utf8) + [$0], in: source, from: 0) }.min()
    }

    /// For `… { a, b as c } from 'x'` with `offset` at the quote: the bytes between the braces.
    private static func bracedNames(before offset: Int, in source: [UInt8]) -> [UInt8]? {
        guard precedingWord(before: offset, in: source) == "from" else { return nil }
        var close = offset - 1
        while close >= 0, source[close] != UInt8(ascii: "}") {
            guard
                [
                    UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "f"),
                    UInt8(ascii: "r"), UInt8(ascii: "o"), UInt8(ascii: "m"),
                ].contains(source[close])
            else { return nil }
            close -= 1
        }
        guard close >= 0, let open = source[..<close].lastIndex(of: UInt8(ascii: "{")) else { return nil }
        return Array(source[(open + 1)..<close])
    }

    /// Whether `name` occurs as a whole identifier-like word.
    package static func mentions(_ name: String, in source: [UInt8]) -> Bool { containsWord(Array(name.utf8), in: source) }

    package static func lineAndColumn(at offset: Int, in source: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for byte in source[..<min(offset, source.count)] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte < 0x80 || byte >= 0xC0 {  // count UTF-8 lead bytes: code points, like QuickJS
                column += 1
            }
        }
        return (line, column)
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "$"), 0x80...:
            true
        default: false
        }
    }

    /// The word that ends right before `offset`, skipping whitespace.
    private static func precedingWord(before offset: Int, in source: [UInt8]) -> String? {
        var end = offset
        while end > 0,
            [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")]
                .contains(source[end - 1])
        { end -= 1 }
        var start = end
        while start > 0, isWordByte(source[start - 1]) { start -= 1 }
        return start < end ? String(decoding: source[start..<end], as: UTF8.self) : nil
    }

    private static func containsWord(_ word: [UInt8], in source: [UInt8]) -> Bool {
        var start = 0
        while let found = find(word, in: source, from: start) {
            let before = found == 0 || !isWordByte(source[found - 1])
            let afterIndex = found + word.count
            let after = afterIndex == source.count || !isWordByte(source[afterIndex])
            if before && after { return true }
            start = found + 1
        }
        return false
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard let firstByte = needle.first, haystack.count >= needle.count else { return nil }
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == firstByte && haystack[index..<index + needle.count].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }
}
