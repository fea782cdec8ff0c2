import BerthPlan
import Foundation

/// What the compiler found in a handler folder before reading any file: the top-level entry candidates and
/// nested files named like entries. Nothing here opens a file.
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

    /// The folder's real path: every containment check compares real paths against it.
    var root: String
    var entries: [Entry] = []
    var nestedEntries: [String] = []
    /// Other top-level names that are not directories, such as supporting code: checked for near-miss entry names.
    var otherFiles: [String] = []
    var hasManifest = false

    static let manifestName = "manifest.json"

    /// Lists the folder. Throws only for the folder itself (missing, not a directory, unreadable).
    static func scan(folder: String) throws(CompileError) -> FolderScan {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            throw CompileError("no such folder: \(folder)")
        }
        guard isDirectory.boolValue else { throw CompileError("not a folder: \(folder)") }
        let root = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: root) } catch {
            throw CompileError("cannot list \(folder): \(error.localizedDescription)")
        }
        var scan = FolderScan(root: root)
        for name in names.sorted() where !isIgnored(name) {
            if name == manifestName { scan.hasManifest = true; continue }
            let path = root + "/" + name
            let type = fileType(path)
            if name.hasSuffix(HandlerFileName.suffix) {
                scan.entries.append(Entry(fileName: name, kind: classify(path: path, type: type, root: root)))
            } else if type == .typeDirectory {
                scan.collectNested(directory: name, depth: 1)
            } else {
                scan.otherFiles.append(name)
            }
        }
        return scan
    }

    /// Dotfiles (`.#x`, `.x.swp`, `.syncthing.*`) and editor or sync temporaries (`x~`, `*.tmp`, `#x#`): the folder is
    /// synced, and a half-written file must not become an entry.
    static func isIgnored(_ name: String) -> Bool {
        if name.hasPrefix(".") || name.hasSuffix("~") || name.hasPrefix("~$") { return true }
        if name.hasPrefix("#") && name.hasSuffix("#") { return true }
        return [".tmp", ".swp", ".swx", ".part", ".crdownload", ".partial"].contains { name.hasSuffix($0) }
    }

    private mutating func collectNested(directory: String, depth: Int) {
        // Symlinked directories are not followed (fileType uses lstat), and depth is bounded, so loops cannot hang us.
        guard depth <= 32, let names = try? FileManager.default.contentsOfDirectory(atPath: root + "/" + directory)
        else { return }
        for name in names.sorted() where !Self.isIgnored(name) {
            let relative = directory + "/" + name
            let type = Self.fileType(root + "/" + relative)
            if type == .typeDirectory {
                collectNested(directory: relative, depth: depth + 1)
            } else if name.hasSuffix(HandlerFileName.suffix) {
                nestedEntries.append(relative)
            }
        }
    }

    /// The type of the file itself, a symlink not followed (`lstat`), mapped as `FileManager.attributesOfItem` maps
    /// it. Not that call: it also read /etc/passwd and /etc/group for every file, to name the owner.
    private static func fileType(_ path: String) -> FileAttributeType? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return .typeRegular
        case S_IFDIR: return .typeDirectory
        case S_IFLNK: return .typeSymbolicLink
        case S_IFSOCK: return .typeSocket
        case S_IFCHR: return .typeCharacterSpecial
        case S_IFBLK: return .typeBlockSpecial
        default: return .typeUnknown
        }
    }

    private static func classify(path: String, type: FileAttributeType?, root: String) -> EntryKind {
        switch type {
        case .typeRegular?: return .regularFile
        case .typeSymbolicLink?:
            let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            guard isInside(target, root: root) else { return .symlinkOutside(target: target) }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) else { return .brokenSymlink }
            return isDirectory.boolValue ? .notAFile("a symlink to a directory") : .symlinkInside
        case .typeDirectory?: return .notAFile("a directory")
        case .typeSocket?: return .notAFile("a socket")
        case .typeCharacterSpecial?, .typeBlockSpecial?: return .notAFile("a device")
        case .typeUnknown?: return .notAFile("a named pipe (FIFO)")  // the one lstat type FileAttributeType does not name
        default: return .notAFile("a file that cannot be examined")
        }
    }

    /// True when `path` (already real) is `root` or below it.
    static func isInside(_ path: String, root: String) -> Bool {
        path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }
}

/// A failure that stops compilation before any diagnostic can be produced (the folder itself is unusable).
package struct CompileError: Error, CustomStringConvertible, Sendable {
    package var description: String
    init(_ description: String) { self.description = description }
}
