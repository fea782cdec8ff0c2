import BerthFolder
import BerthPlan

/// What the compiler found in a handler folder before reading any file: the top-level entry candidates and
/// nested files named like entries. Nothing here opens a file but directories.
struct FolderScan {
    enum EntryKind: Equatable {
        case regularFile
        /// A symlink whose target is a regular file inside the folder.
        case symlinkInside
        case symlinkOutside(target: String)
        case brokenSymlink
        case notAFile(String)
    }

    struct Entry {
        var fileName: String
        var kind: EntryKind
    }

    /// The folder, opened once: every file of it is read beneath this descriptor.
    let folder: ConfinedFolder
    var entries: [Entry] = []
    var nestedEntries: [String] = []
    /// Other top-level names that are not directories, such as supporting code: checked for near-miss entry names.
    var otherFiles: [String] = []
    var hasManifest = false

    static let manifestName = "manifest.json"

    /// Lists the folder. Throws only for the folder itself (missing, not a directory, unreadable).
    static func scan(folder path: String) throws(CompileError) -> FolderScan {
        let folder: ConfinedFolder
        do { folder = try ConfinedFolder(path: path) } catch {
            switch error {
            case .notFound: throw CompileError("no such folder: \(path)")
            case .notRegularFile: throw CompileError("not a folder: \(path)")
            default: throw CompileError("cannot list \(path): \(error.clause)")
            }
        }
        guard let listing = folder.list("") else { throw CompileError("cannot list \(path)") }
        var scan = FolderScan(folder: folder)
        for (name, type) in listing where !isIgnored(name) {
            if name == manifestName { scan.hasManifest = true; continue }
            if HandlerFileName.hasEntrySuffix(name) {
                scan.entries.append(Entry(fileName: name, kind: classify(name, type: type, in: folder)))
            } else if type == .directory {
                scan.collectNested(directory: name, depth: 1)
            } else {
                scan.otherFiles.append(name)
            }
        }
        return scan
    }

    /// Dotfiles and editor or sync temporaries (`SyncTemporary`): the folder is synced, and a half-written file must
    /// not become an entry.
    static func isIgnored(_ name: String) -> Bool { SyncTemporary.matches(name) }

    private mutating func collectNested(directory: String, depth: Int) {
        // Symlinked directories are not followed (the listing's types are the entries' own), and depth is bounded, so
        // loops cannot hang us.
        guard depth <= 32, let listing = folder.list(directory) else { return }
        for (name, type) in listing where !Self.isIgnored(name) {
            let relative = directory + "/" + name
            if type == .directory {
                collectNested(directory: relative, depth: depth + 1)
            } else if HandlerFileName.hasEntrySuffix(name) {
                nestedEntries.append(relative)
            }
        }
    }

    private static func classify(_ name: String, type: ConfinedFolder.EntryType, in folder: ConfinedFolder)
        -> EntryKind
    {
        switch type {
        case .regular: return .regularFile
        case .symlink:
            switch folder.resolve(name) {
            case .file, .special: return .symlinkInside
            case .directory: return .notAFile("a symlink to a directory")
            case .outside(let target): return .symlinkOutside(target: target)
            case .missing, .failed: return .brokenSymlink
            }
        case .directory: return .notAFile("a directory")
        case .socket: return .notAFile("a socket")
        case .device: return .notAFile("a device")
        case .fifo: return .notAFile("a named pipe (FIFO)")
        case .unknown: return .notAFile("a file that cannot be examined")
        }
    }
}

/// A failure that stops compilation before any diagnostic can be produced (the folder itself is unusable).
package struct CompileError: Error, CustomStringConvertible, Sendable {
    package var description: String
    init(_ description: String) { self.description = description }
}
