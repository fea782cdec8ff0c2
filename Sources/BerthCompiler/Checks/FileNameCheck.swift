import BerthPlan

extension Compilation {
    /// The filename grammar, the kind of each entry, and nested files named like entries.
    mutating func checkFileNames() {
        for nested in scan.nestedEntries {
            report(Diagnostic(.grammarNestedEntry, .info, at: SourceLocation(file: nested),
                "\(nested) is in a subfolder, so it is supporting code, not an entry point",
                hint: "move it to the top of the folder to serve it, or rename it so it does not end in .port.js"))
        }
        if scan.entries.isEmpty {
            report(Diagnostic(.grammarNoEntries, .warning, at: nil,
                "the folder has no entry points: nothing will be served",
                hint: "add a top-level file named <name>.tcp.<port>.port.js or <name>.udp.<port>.port.js"))
        }
        for entry in scan.entries {
            var candidate = Candidate(fileName: entry.fileName)
            let location = SourceLocation(file: entry.fileName)
            switch HandlerFileName.parse(entry.fileName) {
            case .valid(let parsed): candidate.parsed = parsed
            case .invalid(let problems):
                problems.forEach { report($0) }
                candidate.refusals += problems.map { $0.code }
            }
            switch entry.kind {
            case .regularFile, .symlinkInside: break
            case .symlinkOutside(let target):
                report(Diagnostic(.moduleOutsideFolder, .error, at: location,
                    "\(entry.fileName) is a symlink to \(target), outside the folder; berth does not read it",
                    hint: "replace the symlink with the file itself, or point it at a file inside the folder"))
                candidate.refusals.append(.moduleOutsideFolder)
            case .brokenSymlink:
                report(Diagnostic(.moduleUnreadable, .error, at: location,
                    "\(entry.fileName) is a symlink to a file that does not exist",
                    hint: "fix or remove the symlink"))
                candidate.refusals.append(.moduleUnreadable)
            case .notAFile(let what):
                report(Diagnostic(.grammarNotAFile, .error, at: location,
                    "\(entry.fileName) is \(what), not a regular file",
                    hint: "an entry point must be a JavaScript file; rename it so it does not end in .port.js"))
                candidate.refusals.append(.grammarNotAFile)
            }
            candidates.append(candidate)
        }
        checkNearMisses()
    }

    /// Top-level files named almost like an entry are refused with the name they need, rather than left unserved in
    /// silence. Not when that entry exists too: then the file is its source (`echo.tcp.7000.port.ts`) or a copy.
    private mutating func checkNearMisses() {
        let entries = Set(scan.entries.map(\.fileName))
        for file in scan.otherFiles {
            guard let intended = HandlerFileName.intendedEntry(for: file), !entries.contains(intended) else { continue }
            let isTypeScript = ["ts", "mts", "cts", "tsx"].contains(file.split(separator: ".").last?.lowercased() ?? "")
            report(Diagnostic(.grammarSuffix, .error, at: SourceLocation(file: file),
                "\(file) is named like an entry point but does not end in \".port.js\", so it is not served",
                hint: isTypeScript ? "berth runs JavaScript: compile it to \(intended)" : "rename to \(intended)"))
            candidates.append(Candidate(fileName: file, intended: intended, refusals: [.grammarSuffix]))
        }
    }
}
