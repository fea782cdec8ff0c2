import BerthClone

/// libFuzzer's entry: any bytes read through CloneReader give values or a FormatError, never a crash; a string's two
/// readings (UTF-16 units and WTF-8) agree; and any UTF-16 code units, lone surrogates included, survive CloneWriter
/// and CloneReader both ways.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzCloneReader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let value = input.starts(with: CloneFormat.header) ? input : CloneFormat.header + input
    if var reader = try? CloneReader(value) { while (try? readToken(&reader)) != nil, !reader.isAtEnd {} }
    roundTripString(units: stride(from: 0, to: input.count - 1, by: 2).map { UInt16(input[$0]) | UInt16(input[$0 + 1]) << 8 })
    return 0
}

/// Reads one tag and the payload that directly follows it (docs/clone-format.md); nested values are the next tokens.
func readToken(_ reader: inout CloneReader) throws(CloneReader.FormatError) {
    let tag = try reader.tag()
    switch tag {
    case .undefined, .null, .false, .true, .regexp, .error, .domException, .stringObject, .bigintObject: break
    case .int32: _ = try reader.int32Payload()
    case .float64, .date, .numberObject: _ = try reader.float64()
    case .booleanObject: _ = try reader.byte()
    case .reference: _ = try reader.varint()
    case .object, .map, .set: _ = try reader.count()
    case .array: _ = (try reader.varint(), try reader.count())
    case .arrayBufferView: _ = try reader.byte()
    case .bigint, .arrayBuffer:
        if tag == .bigint { _ = try reader.byte() }
        _ = try reader.take(try reader.count())
    case .string, .latin1String:
        var copy = reader
        let units = try reader.stringPayload(tag)
        let wtf8 = try copy.wtf8Payload(tag)
        let back = wtf8.withUnsafeBytes { WTF8.units(of: $0) }
        precondition(back == units && copy.offset == reader.offset, "the WTF-8 reading \(wtf8) differs from \(units)")
    }
}

/// Writes `units` as a clone string from the units and from their WTF-8 form; both read back as the same units.
func roundTripString(units: [UInt16]) {
    var wtf8: [UInt8] = []
    WTF8.append(units, to: &wtf8)
    var fromUnits = CloneWriter()
    fromUnits.string(units)
    var fromWTF8 = CloneWriter()
    fromWTF8.string(wtf8: wtf8.span.bytes)
    for bytes in [fromUnits.bytes, fromWTF8.bytes] {
        do {
            var reader = try CloneReader(bytes)
            var again = reader
            let (read, readWTF8) = (try reader.string(), Array(try again.wtf8String()))
            precondition(read == units && reader.isAtEnd, "\(units) read back as \(read)")
            precondition(readWTF8 == wtf8, "\(units) read back as the WTF-8 \(readWTF8), not \(wtf8)")
        } catch {
            preconditionFailure("\(units) written as \(bytes) do not read back: \(error)")
        }
    }
}
