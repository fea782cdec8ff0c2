import Foundation

/// Whether to colour output: only on a terminal, never with `NO_COLOR` set (https://no-color.org) or TERM=dumb.
struct Styling {
    var isEnabled: Bool

    init(_ choice: ColorChoice, fileDescriptor: Int32, environment: [String: String] = ProcessInfo.processInfo.environment) {
        switch choice {
        case .always: isEnabled = true
        case .never: isEnabled = false
        case .auto:
            let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
            isEnabled = !noColor && environment["TERM"] != "dumb" && isatty(fileDescriptor) == 1
        }
    }

    func bold(_ text: String) -> String { wrap(text, "1") }
    func red(_ text: String) -> String { wrap(text, "1;31") }
    func yellow(_ text: String) -> String { wrap(text, "1;33") }
    func cyan(_ text: String) -> String { wrap(text, "1;36") }
    func dim(_ text: String) -> String { wrap(text, "2") }
    func green(_ text: String) -> String { wrap(text, "1;32") }

    private func wrap(_ text: String, _ code: String) -> String {
        isEnabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}

/// Writes to standard output and standard error without Foundation's buffering surprises at exit.
enum Output {
    static func out(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
    static func err(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
