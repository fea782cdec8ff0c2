#if BERTH_FUZZ
import Foundation

// Under `make fuzz` SwiftPM builds a plugin's tool with the same sanitizers, so this executable too links libFuzzer,
// whose `main` calls LLVMFuzzerInitialize before anything else: the tool does its work there and exits.
@_cdecl("LLVMFuzzerInitialize")
func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    CompileRuntimeJS.run()
    exit(0)
}

/// Never called (LLVMFuzzerInitialize exits first); libFuzzer's main needs it to link.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { 0 }
#else
@main
extension CompileRuntimeJS {
    static func main() { run() }
}
#endif
