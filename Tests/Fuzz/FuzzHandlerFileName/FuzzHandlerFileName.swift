import BerthCompiler
import BerthPlan

/// libFuzzer's entry: any name ending in .port.js parses to an entry or to diagnostics without a crash; a parsed entry
/// spelled back parses to itself, and a "rename to" hint proposes a name the grammar accepts (apart from a port the
/// user still has to choose).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzHandlerFileName(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var fileName = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size), as: UTF8.self)
    if !HandlerFileName.hasEntrySuffix(fileName) { fileName += HandlerFileName.suffix }
    switch HandlerFileName.parse(fileName) {
    case .valid(let entry):
        let spelled = "\(entry.name).\(entry.transport.rawValue).\(entry.port)\(HandlerFileName.suffix)"
        precondition(HandlerFileName.parse(spelled) == .valid(entry), "\(fileName) gave \(entry); \(spelled) does not")
    case .invalid(let problems):
        precondition(!problems.isEmpty, "\(fileName) is invalid without a diagnostic")
        for hint in problems.compactMap(\.hint) where hint.hasPrefix("rename to ") {
            let proposed = String(hint.dropFirst("rename to ".count))
            guard case .invalid(let left) = HandlerFileName.parse(proposed) else { continue }
            let unsettled: Set<Diagnostic.Code> = [.grammarPort, .grammarPortRange]
            precondition(
                left.allSatisfy { unsettled.contains($0.code) }, "\(fileName): the hint \(hint) proposes a bad name: \(left)")
        }
    }
    return 0
}
