package import BerthPlan

/// A top-level file name that follows the grammar `<name>.<tcp|udp>.<port>.port.js`.
package struct HandlerFileName: Hashable, Sendable {
    package var name: String
    package var transport: Transport
    package var port: Int

    package static let suffix = ".port.js"

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
        precondition(fileName.hasSuffix(suffix), "only *.port.js names are parsed")
        let location = SourceLocation(file: fileName)
        var tokens = fileName.dropLast(suffix.count).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let portToken = tokens.popLast() ?? ""
        let transportToken = tokens.popLast()
        let nameToken = tokens.joined(separator: ".")

        var problems: [Diagnostic] = []
        // Build the name the user most likely meant, token by token, for the hints.
        var suggestedTransport = transportToken ?? "tcp"
        var suggestedPort = portToken

        var transport: Transport?
        switch transportToken {
        case let token? where Transport(rawValue: token) != nil:
            transport = Transport(rawValue: token)
        case let token? where Transport(rawValue: token.lowercased()) != nil:
            suggestedTransport = token.lowercased()
            problems.append(Diagnostic(.grammarTransport, .error, at: location,
                "the transport \"\(token)\" must be lowercase",
                hint: "rename to \(suggestion(nameToken, suggestedTransport, suggestedPort))"))
        case let token?:
            problems.append(Diagnostic(.grammarTransport, .error, at: location,
                "\"\(token)\" is not a transport: an entry is <name>.tcp.<port>.port.js or <name>.udp.<port>.port.js",
                hint: "write tcp or udp in place of \"\(token)\", or rename the file so it does not end in .port.js"))
        case nil:
            problems.append(Diagnostic(.grammarTransport, .error, at: location,
                "\(fileName) has no transport: an entry is <name>.tcp.<port>.port.js or <name>.udp.<port>.port.js",
                hint: "rename to \(suggestion(nameToken.isEmpty ? "handler" : nameToken, "tcp", portToken.isEmpty ? "PORT" : portToken))"))
        }

        var port: Int?
        let digits = portToken.drop { $0 == "+" || $0 == "-" }
        if portToken.isEmpty || !digits.allSatisfy(\.isASCIIDigit) || digits.isEmpty {
            problems.append(Diagnostic(.grammarPort, .error, at: location,
                "\"\(portToken)\" is not a port number",
                hint: "the token before .port.js must be a decimal port 1-65535, e.g. \(suggestion(nameToken, suggestedTransport, "7000"))"))
        } else if digits.count != portToken.count || (digits.count > 1 && digits.first == "0") {
            let canonical = String(digits.drop { $0 == "0" })
            suggestedPort = canonical.isEmpty ? "0" : canonical
            let what = digits.count != portToken.count ? "a sign" : "a leading zero"
            problems.append(Diagnostic(.grammarPort, .error, at: location,
                "the port \"\(portToken)\" has \(what); ports are written as plain decimals",
                hint: "rename to \(suggestion(nameToken, suggestedTransport, suggestedPort))"))
        } else if let value = Int(digits), (1...65535).contains(value) {
            port = value
        } else {
            problems.append(Diagnostic(.grammarPortRange, .error, at: location,
                "the port \(portToken) is outside 1-65535",
                hint: "choose a port from 1 to 65535"))
        }

        if !isValidName(nameToken) {
            let message = nameToken.isEmpty
                ? "\(fileName) has no name before the transport"
                : "the name \"\(nameToken)\" must match [A-Za-z0-9][A-Za-z0-9_-]* (no dots)"
            let fixedName = nameToken.isEmpty ? "handler" : sanitised(nameToken)
            problems.append(Diagnostic(.grammarName, .error, at: location, message,
                hint: "rename to \(suggestion(fixedName, suggestedTransport, suggestedPort))"))
        }

        guard problems.isEmpty, let transport, let port else { return .invalid(problems) }
        return .valid(HandlerFileName(name: nameToken, transport: transport, port: port))
    }

    /// The label rule shared by file names and manifest selectors.
    package static func isValidName(_ name: some StringProtocol) -> Bool {
        guard let first = name.first, first.isASCIILetterOrDigit else { return false }
        return name.allSatisfy { $0.isASCIILetterOrDigit || $0 == "_" || $0 == "-" }
    }

    private static func sanitised(_ name: String) -> String {
        let mapped = String(name.map { $0.isASCIILetterOrDigit || $0 == "_" || $0 == "-" ? $0 : "-" })
        let trimmed = mapped.drop { !$0.isASCIILetterOrDigit }
        return trimmed.isEmpty ? "handler" : String(trimmed)
    }

    private static func suggestion(_ name: String, _ transport: String, _ port: String) -> String {
        "\(name).\(transport).\(port)\(suffix)"
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isASCIILetterOrDigit: Bool { isASCII && (isLetter || isNumber) }
}
