import BerthPlan

@testable import BerthCompiler

/// libFuzzer's entry: any bytes as manifest.json decode to diagnostics without a crash, and whatever JSON the parser
/// accepts is written back by JSONWriter as JSON that parses to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzManifest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = ManifestDecoder.decode(bytes)
    guard let value = try? JSONParser.parse(bytes).plainValue else { return 0 }
    let written = JSONWriter.compactUTF8(value)
    guard let again = try? JSONParser.parse(written).plainValue, again == value else {
        preconditionFailure("JSONWriter wrote \(String(decoding: written, as: UTF8.self)), which does not parse back")
    }
    return 0
}
