import BerthPlan

extension Compilation {
    /// Two entries on one transport and port: the incumbent keeps it, else the smaller file name (byte order), so the
    /// outcome never depends on directory order. The other is refused, naming the holder.
    mutating func resolveConflicts() {
        var claimants: [String: [Int]] = [:]
        for index in candidates.indices where candidates[index].refusals.isEmpty {
            guard let parsed = candidates[index].parsed else { continue }
            claimants["\(parsed.transport.rawValue)/\(parsed.port)", default: []].append(index)
        }
        for (claim, indices) in claimants where indices.count > 1 {
            let incumbent = options.incumbents[claim]
            let holder = indices.first { candidates[$0].fileName == incumbent }
                ?? indices.min { candidates[$0].fileName.utf8.lexicographicallyPrecedes(candidates[$1].fileName.utf8) }!
            let holderFile = candidates[holder].fileName
            let why = holderFile == incumbent ? "it is the incumbent" : "it sorts first"
            for index in indices where index != holder {
                let file = candidates[index].fileName
                report(Diagnostic(.grammarPortConflict, .error, at: SourceLocation(file: file),
                    "\(claim) is already claimed by \(holderFile) (\(why)); \(file) is refused",
                    hint: "move \(file) to a free port, or remove one of the two files",
                    related: [SourceLocation(file: holderFile)]))
                candidates[index].refusals.append(.grammarPortConflict)
            }
        }
    }
}
