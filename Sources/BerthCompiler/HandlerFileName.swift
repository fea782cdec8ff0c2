package import BerthPlan

/// A top-level file name that follows the grammar `<name>.<tcp|udp>.<port>.port.js`.
package struct HandlerFileName: Hashable, Sendable {
    package var name: String
    package var transport: Transport
    package var port: Int

    package init(name: String, transport: Transport, port: Int) {
        (self.name, self.transport, self.port) = (name, transport, port)
    }

    package static let suffix = ".port.js"

    /// Whether `fileName` ends in ".port.js", byte for byte. String's own `hasSuffix` compares grapheme clusters, so
    /// a character that joins the dot after it (U+070F, a prepended mark) hid the suffix from it.
    package static func hasEntrySuffix(_ fileName: String) -> Bool {
        fileName.utf8.reversed().starts(with: suffix.utf8.reversed())
    }

    /// A parsed name, or every grammar problem of the name (problems are diagnostics, not thrown errors).
    package enum ParseResult: Hashable, Sendable {
        case valid(HandlerFileName)
        case invalid([Diagnostic])

        package var name: HandlerFileName? {
            if case .valid(let name) = self { return name }
            return nil
        }
    }

    /// Parses from the right, as DESIGN.md says: port, then transport, then whatever is left is the name.
    /// Returns every grammar problem at once, so one rename fixes the file.
    package static func parse(_ fileName: String) -> ParseResult {
        precondition(hasEntrySuffix(fileName), "only *.port.js names are parsed")
        let location = SourceLocation(file: fileName)
        // The suffix is ASCII, so cutting its bytes off leaves whole characters.
        let stem = Substring(String(decoding: fileName.utf8.dropLast(suffix.utf8.count), as: UTF8.self))
        // Split on bytes when the name is ASCII (nearly always), where bytes and characters agree, at a tenth the cost.
        var tokens = stem.utf8.allSatisfy({ $0 < 0x80 })
            ? stem.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
                .map { String(decoding: $0, as: UTF8.self) }
            : stem.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let portToken = tokens.popLast() ?? ""
        var transportToken = tokens.popLast()
        // `echo.7000.port.js`: one token before the port that is no transport is a name with the transport left out.
        if tokens.isEmpty, let token = transportToken, Transport(rawValue: token.lowercased()) == nil,
            isValidName(token)
        {
            tokens = [token]
            transportToken = nil
        }
        let nameToken = tokens.joined(separator: ".")

        let transport = transportToken.flatMap { Transport(rawValue: $0) }
        let digits = portToken.drop { $0 == "+" || $0 == "-" }
        let isNumeric = !digits.isEmpty && digits.allSatisfy(\.isASCIIDigit)
        let port = isNumeric && digits.count == portToken.count && (digits.count == 1 || digits.first != "0")
            ? Int(digits).flatMap { (1...65535).contains($0) ? $0 : nil } : nil
        // The name the user most likely meant, so that every hint proposes the same, fully fixed name. Computed only
        // when a hint needs it: valid names (nearly all of them) need none.
        var fixedName: String {
            isValidName(nameToken) ? nameToken : nameToken.isEmpty ? "handler" : sanitised(nameToken)
        }
        var fixedTransport: String {
            transportToken.flatMap { Transport(rawValue: $0.lowercased())?.rawValue } ?? "tcp"
        }
        var fixedPort: String {
            let trimmedPort = String(digits.drop { $0 == "0" })
            return isNumeric && !trimmedPort.isEmpty && trimmedPort.count <= 5 ? trimmedPort : "PORT"
        }
        var rename: String { "rename to \(fixedName).\(fixedTransport).\(fixedPort)\(suffix)" }

        var problems: [Diagnostic] = []
        switch transportToken {
        case _ where transport != nil: break
        case let token? where Transport(rawValue: token.lowercased()) != nil:
            problems.append(Diagnostic(.grammarTransport, .error, at: location,
                "the transport \"\(token)\" must be lowercase", hint: rename))
        case let token?:
            problems.append(Diagnostic(.grammarTransport, .error, at: location,
                "\"\(token)\" is not a transport: an entry is <name>.tcp.<port>.port.js or <name>.udp.<port>.port.js",
                hint: "write tcp or udp in place of \"\(token)\", or rename the file so it does not end in .port.js"))
        case nil:
            problems.append(Diagnostic(.grammarTransport, .error, at: location,
                "\(fileName) has no transport: an entry is <name>.tcp.<port>.port.js or <name>.udp.<port>.port.js",
                hint: rename))
        }

        if !isNumeric {
            problems.append(Diagnostic(.grammarPort, .error, at: location,
                "\"\(portToken)\" is not a port number",
                hint: "the token before .port.js must be a decimal port 1-65535, e.g. \(fixedName).\(fixedTransport).7000\(suffix)"))
        } else if digits.count != portToken.count || (digits.count > 1 && digits.first == "0") {
            let what = digits.count != portToken.count ? "a sign" : "a leading zero"
            problems.append(Diagnostic(.grammarPort, .error, at: location,
                "the port \"\(portToken)\" has \(what); ports are written as plain decimals", hint: rename))
        } else if port == nil {
            problems.append(Diagnostic(.grammarPortRange, .error, at: location,
                "the port \(portToken) is outside 1-65535", hint: "choose a port from 1 to 65535"))
        }

        if !isValidName(nameToken) {
            let message = nameToken.isEmpty
                ? "\(fileName) has no name before the transport"
                : "the name \"\(nameToken)\" must match [A-Za-z0-9][A-Za-z0-9_-]* (no dots)"
            problems.append(Diagnostic(.grammarName, .error, at: location, message, hint: rename))
        }

        guard problems.isEmpty, let transport, let port else { return .invalid(problems) }
        return .valid(HandlerFileName(name: nameToken, transport: transport, port: port))
    }

    /// For a top-level file that is not an entry but is plainly meant to be one, `<name>.<tcp|udp>.<digits>` followed
    /// by something other than exactly `.port.js` (`.js`, `.port`, `.port.mjs`, `.PORT.JS`, `.port.ts`): the entry
    /// name it was probably meant to have. Anything else (`util.js`, `notes.txt`, `echo.tcp.7000.port.js.bak`) is nil.
    package static func intendedEntry(for fileName: String) -> String? {
        let tokens = fileName.split(separator: ".", omittingEmptySubsequences: false)
        let tail = tokens.suffix(2).map { $0.lowercased() }
        let stemCount: Int
        if tail.count == 2, tail[0] == "port", scriptExtensions.contains(tail[1]) {
            stemCount = tokens.count - 2  // `.port.mjs`, `.port.JS`, `.PORT.js`
        } else if let last = tail.last, last == "port" || scriptExtensions.contains(last) {
            stemCount = tokens.count - 1  // `.js` without `.port`, `.port` without `.js`
        } else {
            return nil
        }
        guard stemCount >= 3 else { return nil }
        let port = tokens[stemCount - 1]
        let transport = tokens[stemCount - 2].lowercased()
        let name = tokens[..<(stemCount - 2)].joined(separator: ".")
        guard Transport(rawValue: transport) != nil, !port.isEmpty, port.allSatisfy(\.isASCIIDigit), !name.isEmpty
        else { return nil }
        let digits = port.drop { $0 == "0" }
        return "\(name).\(transport).\(digits.isEmpty ? "0" : digits)\(suffix)"
    }

    /// Extensions of JavaScript and its dialects: a near-miss entry ends in one of them.
    static let scriptExtensions: Set<String> = ["js", "mjs", "cjs", "ts", "mts", "cts", "jsx", "tsx"]

    /// The label rule shared by file names and manifest selectors. Over UTF-8 bytes: any byte outside ASCII already
    /// breaks the rule, and characters cost a grapheme break each.
    package static func isValidName(_ name: some StringProtocol) -> Bool {
        // A-Z and a-z (bit 5 folds case), 0-9.
        func isLetterOrDigit(_ byte: UInt8) -> Bool {
            (0x61...0x7A).contains(byte | 0x20) || (0x30...0x39).contains(byte)
        }
        guard let first = name.utf8.first, isLetterOrDigit(first) else { return false }
        return name.utf8.allSatisfy { isLetterOrDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func sanitised(_ name: String) -> String {
        let mapped = String(name.map { $0.isASCIILetterOrDigit || $0 == "_" || $0 == "-" ? $0 : "-" })
        let trimmed = mapped.drop { !$0.isASCIILetterOrDigit }
        return trimmed.isEmpty ? "handler" : String(trimmed)
    }
}

extension Character {
    /// Without `isNumber`'s Unicode property lookup ("\r\n", the one ASCII character of two scalars, is no digit).
    var isASCIIDigit: Bool { asciiValue.map { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } ?? false }
    var isASCIILetterOrDigit: Bool { isASCII && (isLetter || isNumber) }
}
