/// What a module's own source tells about exports that linking leaves in their temporal dead zone, without running
/// it: `export const NAME = <initializer>` (a `const` binding keeps its initial value), `export class NAME` and
/// `export default <expression>`. Only initializers that are exactly one function, arrow, class or literal count;
/// anything else (a call, an operator, a value that could be reassigned) stays unknown.
///
/// The scan runs on source QuickJS has already compiled, so it is valid JavaScript. It skips comments, strings,
/// template literals and regular expressions; whether `/` starts a regular expression is decided by the previous
/// token, as in the usual JavaScript tokenizers, and only code built to confuse that rule could mislead it.
package enum StaticExports {
    package static func kinds(in source: [UInt8]) -> [String: ModuleInspection.ExportValue] {
        guard let tokens = Tokenizer(source).tokens() else { return [:] }
        var kinds: [String: ModuleInspection.ExportValue] = [:]
        var seen: Set<String> = []
        func record(_ name: String, _ kind: ModuleInspection.ExportValue?) {
            // A name declared twice would not have compiled; be safe anyway.
            kinds[name] = seen.insert(name).inserted ? kind : nil
        }
        let scan = Classifier(tokens: tokens, source: source)
        var depth = 0
        for index in tokens.indices {
            let token = tokens[index]
            if token.isOpener { depth += 1 }
            if token.isCloser { depth -= 1 }
            guard depth == 0, token.kind == .word, token.end - token.start == 6,
                scan.token(index)?.is(.word, "export") == true, let next = scan.token(index + 1)
            else { continue }
            if next.is(.word, "const"), let name = scan.token(index + 2), name.kind == .word,
                scan.token(index + 3)?.is(.punctuator, "=") == true
            {
                record(name.string, scan.classify(at: index + 4))
            } else if next.is(.word, "class"), let name = scan.token(index + 2), name.kind == .word,
                !name.is(.word, "extends")
            {
                record(name.string, .notFunction("class"))
            } else if next.is(.word, "default") {
                // `export default function` is a declaration: linking already holds its function.
                let isDeclaration =
                    scan.token(index + 2)?.is(.word, "function") == true
                    || (scan.token(index + 2)?.is(.word, "async") == true
                        && scan.token(index + 3)?.is(.word, "function") == true)
                if !isDeclaration { record("default", scan.classify(at: index + 2)) }
            }
        }
        return kinds
    }

    /// The index of the bracket in `tokens` that closes the one at `open`.
    package static func closing(_ open: Int, in tokens: [Token]) -> Int? {
        var depth = 0
        for index in open..<tokens.count {
            if tokens[index].isOpener { depth += 1 }
            if tokens[index].isCloser {
                depth -= 1
                if depth == 0 { return index }
            }
        }
        return nil
    }

    /// A token: its kind and the byte range it spans (12 bytes, so a large file's tokens stay small).
    package struct Token {
        enum Kind: UInt8 { case word, number, string, template, regex, punctuator }
        var kind: Kind
        var isNewlineBefore: Bool
        /// For templates: whether it has `${…}` substitutions (their tokens follow the template's own).
        var hasSubstitutions = false
        /// For punctuators: the first byte, so brackets are recognized without looking at the source.
        var firstByte: UInt8
        var start: Int32
        var end: Int32

        // Hex bytes for the reason given at `Tokenizer`: ( [ { and ) ] }.
        var isOpener: Bool { kind == .punctuator && (firstByte == 0x28 || firstByte == 0x5B || firstByte == 0x7B) }
        var isCloser: Bool { kind == .punctuator && (firstByte == 0x29 || firstByte == 0x5D || firstByte == 0x7D) }
    }

    /// A token with its text, for the few tokens the scan looks at closely.
    private struct Lexeme {
        let token: Token
        let text: ArraySlice<UInt8>

        var kind: Token.Kind { token.kind }
        var isNewlineBefore: Bool { token.isNewlineBefore }
        var string: String { String(decoding: text, as: UTF8.self) }
        func `is`(_ kind: Token.Kind, _ string: String) -> Bool {
            guard token.kind == kind, text.count == string.utf8.count else { return false }
            var position = text.startIndex
            for byte in string.utf8 {
                guard text[position] == byte else { return false }
                position += 1
            }
            return true
        }
    }

    /// Decides what one initializer expression is, from its tokens.
    private struct Classifier {
        let tokens: [Token]
        let source: [UInt8]

        func token(_ index: Int) -> Lexeme? {
            guard index < tokens.count else { return nil }
            let token = tokens[index]
            return Lexeme(token: token, text: source[Int(token.start)..<Int(token.end)])
        }

        func classify(at start: Int) -> ModuleInspection.ExportValue? {
            guard let first = token(start) else { return nil }
            switch first.kind {
            case .number:
                return ends(at: start) ? .notFunction(first.text.last == UInt8(ascii: "n") ? "bigint" : "number") : nil
            case .string:
                return ends(at: start) ? .notFunction("string") : nil
            case .template:
                return !first.token.hasSubstitutions && ends(at: start) ? .notFunction("string") : nil
            case .regex:
                return ends(at: start) ? .notFunction("object") : nil
            case .punctuator:
                switch first.string {
                case "(":
                    // Only an arrow's parameter list: `(a, b) => …`; anything after an arrow belongs to its body.
                    return closing(start).flatMap { token($0 + 1) }?.is(.punctuator, "=>") == true ? .function : nil
                case "[", "{":
                    return closing(start).map(ends(at:)) == true ? .notFunction("object") : nil
                case "-", "+":
                    guard let number = token(start + 1), number.kind == .number, ends(at: start + 1) else { return nil }
                    return .notFunction(number.text.last == UInt8(ascii: "n") ? "bigint" : "number")
                default:
                    return nil
                }
            case .word:
                switch first.string {
                case "function": return functionEnd(start).map(ends(at:)) == true ? .function : nil
                case "class": return classEnd(start).map(ends(at:)) == true ? .notFunction("class") : nil
                case "true", "false": return ends(at: start) ? .notFunction("boolean") : nil
                case "null": return ends(at: start) ? .notFunction("null") : nil
                case "async":
                    guard let next = token(start + 1), !next.isNewlineBefore else { return nil }
                    if next.is(.word, "function") {
                        return functionEnd(start + 1).map(ends(at:)) == true ? .function : nil
                    }
                    if next.kind == .word { return token(start + 2)?.is(.punctuator, "=>") == true ? .function : nil }
                    if next.is(.punctuator, "(") {
                        return closing(start + 1).flatMap { token($0 + 1) }?.is(.punctuator, "=>") == true
                            ? .function : nil
                    }
                    return nil
                default:
                    return token(start + 1)?.is(.punctuator, "=>") == true ? .function : nil  // `conn => …`
                }
            }
        }

        /// Whether the expression that ends with token `end` also ends the initializer: what follows cannot continue
        /// it (`;`, `,`, the end, or on a new line a token that starts a statement).
        func ends(at end: Int) -> Bool {
            guard let next = token(end + 1) else { return true }
            if next.is(.punctuator, ";") || next.is(.punctuator, ",") { return true }
            guard next.isNewlineBefore else { return false }
            switch next.kind {
            case .word: return !next.is(.word, "in") && !next.is(.word, "instanceof")
            case .number, .string: return true
            case .template, .regex, .punctuator: return false
            }
        }

        func closing(_ open: Int) -> Int? { StaticExports.closing(open, in: tokens) }

        /// `function [*] [name] (…) {…}` starting at `start`: the index of the body's closing brace.
        func functionEnd(_ start: Int) -> Int? {
            var index = start + 1
            if token(index)?.is(.punctuator, "*") == true { index += 1 }
            if token(index)?.kind == .word { index += 1 }
            guard token(index)?.is(.punctuator, "(") == true, let parameters = closing(index),
                token(parameters + 1)?.is(.punctuator, "{") == true
            else { return nil }
            return closing(parameters + 1)
        }

        /// `class [name] [extends …] {…}` starting at `start`: the index of the body's closing brace.
        func classEnd(_ start: Int) -> Int? {
            var index = start + 1
            while let next = token(index), !next.is(.punctuator, "{") {
                guard next.token.isOpener else {
                    index += 1
                    continue
                }
                guard let close = closing(index) else { return nil }  // brackets inside an `extends` expression
                index = close + 1
            }
            return closing(index)
        }
    }

    /// Splits JavaScript source into the tokens `Classifier` needs; nil when something is unterminated. Bytes are
    /// hex literals here because this loop runs over every byte and `UInt8(ascii:)` is a call in debug builds:
    /// 0x0A \n, 0x22 ", 0x23 #, 0x24 $, 0x27 ', 0x28 (, 0x29 ), 0x2A *, 0x2B +, 0x2D -, 0x2E ., 0x2F /, 0x30–0x39
    /// digits, 0x3D =, 0x3E >, 0x3F ?, 0x5B [, 0x5C backslash, 0x5D ], 0x5F _, 0x60 `, 0x65 e, 0x78 x, 0x7B {, 0x7D }.
    package struct Tokenizer {
        private let bytes: [UInt8]
        private var index = 0
        private var output: [Token] = []
        private var newline = false
        private var braceDepth = 0
        /// Brace depths at which a template's `${` opened: the `}` that returns to one resumes the template.
        private var templates: [Int] = []

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        consuming func tokens() -> [Token]? {
            if peek(0) == 0xEF, peek(1) == 0xBB, peek(2) == 0xBF { index = 3 }  // a UTF-8 byte order mark
            if peek(0) == 0x23, peek(1) == 0x21 {  // a hashbang line
                while index < bytes.count, bytes[index] != 0x0A { index += 1 }
            }
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case 0x0A:  // \n
                    newline = true
                    index += 1
                case 0x20, 0x09, 0x0D, 0x0B, 0x0C:
                    index += 1
                case 0x2F where peek(1) == 0x2F:
                    while index < bytes.count, bytes[index] != 0x0A { index += 1 }
                case 0x2F where peek(1) == 0x2A:
                    guard let end = find([0x2A, 0x2F], from: index + 2) else { return nil }
                    if bytes[index..<end].contains(0x0A) { newline = true }
                    index = end + 2
                case 0x2F where allowsRegex:
                    guard scanRegex() else { return nil }
                case 0x22, 0x27:
                    guard scanString(quote: byte) else { return nil }
                case 0x60:
                    index += 1
                    guard scanTemplate(isContinuation: false) else { return nil }
                case 0x30...0x39:
                    scanNumber()
                case 0x2E where peek(1).map { $0 >= 0x30 && $0 <= 0x39 } == true:
                    scanNumber()
                case 0x7D where templates.last == braceDepth - 1:
                    templates.removeLast()
                    braceDepth -= 1
                    index += 1
                    guard scanTemplate(isContinuation: true) else { return nil }
                default:
                    if isWordByte(byte) || byte == 0x5C {
                        scanWord()
                    } else {
                        scanPunctuator()
                    }
                }
            }
            return templates.isEmpty ? output : nil
        }

        private func peek(_ offset: Int) -> UInt8? {
            index + offset < bytes.count ? bytes[index + offset] : nil
        }

        private mutating func emit(_ kind: Token.Kind, from start: Int, substitutions: Bool = false) {
            output.append(
                Token(
                    kind: kind, isNewlineBefore: newline, hasSubstitutions: substitutions, firstByte: bytes[start],
                    start: Int32(start), end: Int32(index)))
            newline = false
        }

        /// After a value (a name, literal, `)` or `]`) a `/` divides; elsewhere it starts a regular expression.
        private var allowsRegex: Bool {
            guard let last = output.last else { return true }
            switch last.kind {
            case .number, .string, .template, .regex: return false
            case .punctuator: return last.firstByte != 0x29 && last.firstByte != 0x5D
            case .word:
                return [
                    "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do",
                    "else", "yield", "await",
                ].contains(String(decoding: bytes[Int(last.start)..<Int(last.end)], as: UTF8.self))
            }
        }

        private mutating func scanRegex() -> Bool {
            let start = index
            index += 1
            var inClass = false
            while index < bytes.count {
                switch bytes[index] {
                case 0x5C: index += 2
                case 0x5B:
                    inClass = true
                    index += 1
                case 0x5D:
                    inClass = false
                    index += 1
                case 0x0A: return false
                case 0x2F where !inClass:
                    index += 1
                    while index < bytes.count, isWordByte(bytes[index]) { index += 1 }  // flags
                    emit(.regex, from: start)
                    return true
                default: index += 1
                }
            }
            return false
        }

        private mutating func scanString(quote: UInt8) -> Bool {
            let start = index
            index += 1
            while index < bytes.count {
                switch bytes[index] {
                case 0x5C: index += 2
                case quote:
                    index += 1
                    emit(.string, from: start)
                    return true
                case 0x0A: return false
                default: index += 1
                }
            }
            return false
        }

        /// Scans template characters up to the closing backquote or a `${`; a continuation (after the `}` of a
        /// substitution) adds no token of its own.
        private mutating func scanTemplate(isContinuation: Bool) -> Bool {
            let start = index - 1
            while index < bytes.count {
                switch bytes[index] {
                case 0x5C: index += 2
                case 0x60:
                    index += 1
                    if !isContinuation { emit(.template, from: start) }
                    return true
                case 0x24 where peek(1) == 0x7B:
                    index += 2
                    if !isContinuation { emit(.template, from: start, substitutions: true) }
                    templates.append(braceDepth)
                    braceDepth += 1
                    return true
                default: index += 1
                }
            }
            return false
        }

        private mutating func scanNumber() {
            let start = index
            let isHex = bytes[start] == 0x30 && (peekAt(start + 1) | 0x20) == 0x78
            while index < bytes.count {
                let byte = bytes[index]
                // `1e-5`: a sign right after the exponent's e (not a hex digit e) belongs to the number.
                let isExponentSign =
                    index > start && !isHex && (byte == 0x2B || byte == 0x2D)
                    && bytes[index - 1] | 0x20 == 0x65
                guard isWordByte(byte) || byte == 0x2E || isExponentSign else { break }
                index += 1
            }
            emit(.number, from: start)
        }

        private func peekAt(_ position: Int) -> UInt8 { position < bytes.count ? bytes[position] : 0 }

        private mutating func scanWord() {
            let start = index
            while index < bytes.count, isWordByte(bytes[index]) || bytes[index] == 0x5C { index += 1 }
            emit(.word, from: start)
        }

        private mutating func scanPunctuator() {
            let start = index
            let byte = bytes[start]
            let next = peek(1)
            if (byte == 0x3D && next == 0x3E)
                || (byte == 0x3F && next == 0x2E)
            {
                index += 2
            } else if byte == 0x2E, next == 0x2E, peek(2) == 0x2E {
                index += 3
            } else {
                index += 1
            }
            if byte == 0x7B { braceDepth += 1 }
            if byte == 0x7D { braceDepth -= 1 }
            emit(.punctuator, from: start)
        }

        private func find(_ needle: [UInt8], from start: Int) -> Int? {
            guard needle.count <= bytes.count else { return nil }
            var position = start
            while position + needle.count <= bytes.count {
                if bytes[position..<position + needle.count].elementsEqual(needle) { return position }
                position += 1
            }
            return nil
        }

        private func isWordByte(_ byte: UInt8) -> Bool {
            switch byte {
            case 0x61...0x7A, 0x41...0x5A,
                0x30...0x39, 0x5F, 0x24, 0x80...:
                true
            default: false
            }
        }
    }
}
