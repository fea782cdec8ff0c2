import BerthPlan

/// libFuzzer's entry: any text parses to a prefix or an error without a crash; a parsed prefix or address formats to
/// text that parses to itself, and the canonical prefix an error's hint proposes is accepted.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzIPPrefix(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size), as: UTF8.self)
    switch IPPrefix.parse(text) {
    case .success(let prefix): expectReparses(prefix, from: text)
    case .failure(.hostBitsSet(let canonical)), .failure(.ipv4Mapped(let canonical)): expectReparses(canonical, from: text)
    case .failure: break
    }
    if let address = IPAddress(text), IPAddress(address.description) != address {
        preconditionFailure("\(text) parsed to the address \(address), which does not parse back to itself")
    }
    return 0
}

func expectReparses(_ prefix: IPPrefix, from text: String) {
    let again = IPPrefix.parse(prefix.description)
    precondition(again == .success(prefix), "\(text) gave \(prefix), which parses back to \(again)")
}
