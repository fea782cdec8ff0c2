/// How much of a handler's heap its modules may take: one rule, applied alike by `validate` (ModuleInspector) and
/// `serve` (HandlerRuntime), so what `validate` accepts `serve` loads. QuickJS compiles with its heap limit lifted
/// (`JSRuntime.withoutMemoryLimit`: it cannot run out of memory safely while compiling), so the limit is applied
/// around the compiler instead: a file too large to compile within reason is never compiled, and the heap the
/// compiled modules hold is measured afterwards.
package struct ModuleBudget: Hashable, Sendable {
    /// `--heap-limit`'s default: 64 MiB per handler.
    package static let defaultHeapLimit = 64 << 20

    /// The handler's heap limit (`--heap-limit`), in bytes.
    package let heapLimit: Int

    package init(heapLimit: Int) { self.heapLimit = heapLimit }

    /// The most source bytes one file may have: 1/64 of the heap limit (1 MiB of 64 MiB). Measured on QuickJS
    /// 2025-04-26, compiling needs up to 140 times a file's size while it parses (a file of `x=>x;`) and keeps up
    /// to 50 times; this bounds what an unlimited compile may take to about twice the heap limit.
    package var maxSourceBytes: Int { heapLimit / 64 }

    /// The most heap an entry's compiled modules may hold: half the heap limit; the other half is for the globals
    /// and whatever the handler allocates when it runs.
    package var maxCompiledBytes: Int { heapLimit / 2 }

    /// Why `file` (`bytes` long) is not compiled, or nil when it may be.
    package func sourceProblem(file: String, bytes: Int) -> ModuleProblem? {
        guard bytes > maxSourceBytes else { return nil }
        return ModuleProblem(
            kind: .tooLarge, file: file,
            message: "\(file) has \(Self.describe(bytes)) of source; with a heap limit of \(Self.describe(heapLimit)) "
                + "a module file may have at most \(Self.describe(maxSourceBytes)) (1/64 of the heap limit, as "
                + "compiling can take up to 140 times a file's size)")
    }

    /// Why the entry `file`, whose modules hold `compiledBytes` once compiled, cannot load, or nil when it can.
    package func compiledProblem(file: String, compiledBytes: Int) -> ModuleProblem? {
        guard compiledBytes > maxCompiledBytes else { return nil }
        return ModuleProblem(
            kind: .tooLarge, file: file,
            message: "\(file) and its imports hold \(Self.describe(compiledBytes)) of heap once compiled, more than "
                + "half of the heap limit of \(Self.describe(heapLimit)) (the other half is for running them)")
    }

    /// "64 MiB", "8.6 MiB", "512 KiB", "100 bytes".
    package static func describe(_ bytes: Int) -> String {
        func unit(_ shift: Int, _ name: String) -> String {
            let tenths = Int((Double(bytes) * 10 / Double(1 << shift)).rounded())
            return (tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)") + " \(name)"
        }
        if bytes >= 1 << 20 { return unit(20, "MiB") }
        if bytes >= 1 << 10 { return unit(10, "KiB") }
        return "\(bytes) bytes"
    }
}
