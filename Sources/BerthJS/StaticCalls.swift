/// What a module's source shows, without running it, about requests the handler runtime cannot satisfy: dynamic
/// `import("./x.js")` of a literal specifier (followed like a static import), and calls of free globals that Node
/// or browsers have and berth does not (`require(…)`, `fetch(…)`), which would throw a ReferenceError when reached.
///
/// Uses `StaticExports.Tokenizer`, so strings, comments, templates and regular expressions never match. A global is
/// reported only when every mention of the name in the file is a plain call: a property (`x.require(`), a
/// declaration (`function fetch`, `const require = …`, a parameter, a method `fetch() {}`) or a check
/// (`typeof fetch`) means the module handles the name itself.
package enum StaticCalls {
    package struct Finding: Equatable {
        enum Kind: Equatable {
            case dynamicImport(specifier: String)
            case undefinedGlobal(name: String)
        }

        var kind: Kind
        /// Byte offset of the `import` keyword or the global's name.
        var offset: Int
    }

    /// Globals a handler author may expect from Node or a browser, which berth's runtime does not define.
    package static let missingGlobals: Set<String> = ["require", "fetch"]

    package static func findings(in source: [UInt8]) -> [Finding] {
        guard let tokens = StaticExports.Tokenizer(source).tokens() else { return [] }
        func text(_ index: Int) -> String? {
            guard tokens.indices.contains(index) else { return nil }
            return String(decoding: source[Int(tokens[index].start)..<Int(tokens[index].end)], as: UTF8.self)
        }
        func isPunctuator(_ index: Int, _ punctuator: String) -> Bool {
            tokens.indices.contains(index) && tokens[index].kind == .punctuator && text(index) == punctuator
        }

        var findings: [Finding] = []
        var calls: [String: [Int]] = [:]
        var handledNames: Set<String> = []
        let lengths = Set((missingGlobals + ["import"]).map { Int32($0.utf8.count) })
        for index in tokens.indices where tokens[index].kind == .word {
            // Lengths first: most words are none of these, and are then never copied into a String.
            guard lengths.contains(tokens[index].end - tokens[index].start), let word = text(index),
                word == "import" || missingGlobals.contains(word)
            else { continue }
            if isPunctuator(index - 1, ".") || isPunctuator(index - 1, "?.") { continue }  // a property
            let offset = Int(tokens[index].start)
            if word == "import" {
                if isPunctuator(index + 1, "("), let specifier = literal(tokens, at: index + 2, in: source),
                    isPunctuator(index + 3, ")") || isPunctuator(index + 3, ",")
                {
                    findings.append(Finding(kind: .dynamicImport(specifier: specifier), offset: offset))
                }
                continue
            }
            let isDeclared = text(index - 1).map { ["function", "let", "const", "var", "class"].contains($0) } ?? false
            if !isDeclared, isPunctuator(index + 1, "("), let close = StaticExports.closing(index + 1, in: tokens), !isPunctuator(close + 1, "{") {
                calls[word, default: []].append(offset)
            } else {
                handledNames.insert(word)
            }
        }
        for (name, offsets) in calls where !handledNames.contains(name) {
            findings += offsets.map { Finding(kind: .undefinedGlobal(name: name), offset: $0) }
        }
        return findings.sorted { $0.offset < $1.offset }
    }

    /// The value of a string literal or substitution-free template at `index`, when it has no escapes.
    private static func literal(_ tokens: [StaticExports.Token], at index: Int, in source: [UInt8]) -> String? {
        guard tokens.indices.contains(index) else { return nil }
        let token = tokens[index]
        guard token.kind == .string || (token.kind == .template && !token.hasSubstitutions) else { return nil }
        let body = source[(Int(token.start) + 1)..<(Int(token.end) - 1)]
        guard !body.contains(UInt8(ascii: "\\")) else { return nil }
        return String(decoding: body, as: UTF8.self)
    }
}
