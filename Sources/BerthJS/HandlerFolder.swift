package import BerthFolder

/// The folder handlers live in, known by its real path. Every file the module loader reads goes through `locate` and
/// `read`, which reach it beneath the folder's descriptor (`ConfinedFolder`), so nothing outside is ever opened.
package struct HandlerFolder {
    /// Where a path leads, checked without opening it.
    package enum Location: Equatable {
        /// A regular file inside the folder, by its real path.
        case file(String)
        case outside
        case missing
        case directory
        /// A FIFO, socket or device: opening it could block or have effects, so it is never opened.
        case special
        case failed(errno: Int32)
    }

    /// Largest module file read, in bytes; larger files are refused before any byte is read.
    package static let maximumFileSize = 16 << 20

    private let folder: ConfinedFolder?

    /// The real path of the folder, or nil when it cannot be opened.
    package var root: String? { folder?.path }

    package init(_ path: String) { folder = try? ConfinedFolder(path: path) }

    /// A folder already opened (the compiler's scan): nothing reopens it by its path.
    package init(_ folder: ConfinedFolder) { self.folder = folder }

    package func contains(_ path: String) -> Bool {
        guard let root else { return false }
        return path == root || path.hasPrefix(root == "/" ? "/" : root + "/")
    }

    /// `path` relative to the root (for messages and results); a path outside is returned unchanged.
    package func relative(_ path: String) -> String {
        guard let root, path.hasPrefix(root == "/" ? "/" : root + "/") else { return path == root ? "" : path }
        return String(path.dropFirst(root == "/" ? 1 : root.count + 1))
    }

    /// Resolves `path` (absolute, lexically inside the root) and classifies what it names.
    package func locate(_ path: String) -> Location {
        guard let folder else { return .missing }
        switch folder.resolve(relative(path)) {
        case .file(let real): return .file(real.isEmpty ? folder.path : Self.join(folder.path, real))
        case .outside: return .outside
        case .missing: return .missing
        case .directory: return .directory
        case .special: return .special
        case .failed(let code): return .failed(errno: code)
        }
    }

    /// Reads a file `locate` returned as `.file`, beneath the folder again: a component swapped for a symlink since
    /// then leads at most to another file of the folder.
    func read(_ realPath: String) -> Result<[UInt8], ReadFailure> {
        guard let folder else { return .failure(.notFound) }
        return folder.read(relative(realPath), maximumSize: Self.maximumFileSize)
    }

    typealias ReadFailure = FileReadError

    package static func describe(errno code: Int32) -> String { ConfinedFolder.describe(errno: code) }

    /// `relative` joined to the absolute `directory`, with `.`, `..` and empty components folded the way URL
    /// resolution folds them (before any symlink is looked at, as Node does for ESM specifiers).
    package static func join(_ directory: String, _ relative: String) -> String {
        // The common case, a plain name under a folded directory, has nothing to fold: every entry takes this path.
        if directory.hasPrefix("/"), directory == "/" || isFolded(directory.dropFirst()), isFolded(Substring(relative)) {
            return (directory == "/" ? "" : directory) + "/" + relative
        }
        return foldedJoin(directory, relative)
    }

    /// `join` by folding every component; kept apart so tests can hold the fast path to it.
    package static func foldedJoin(_ directory: String, _ relative: String) -> String {
        ConfinedFolder.lexicalJoin(directory, relative)
    }

    /// Whether every `/`-separated component of `path` is non-empty and neither `.` nor `..`.
    private static func isFolded(_ path: Substring) -> Bool {
        var length = 0
        var dots = 0
        for byte in path.utf8 {
            if byte == UInt8(ascii: "/") {
                guard length > 0, length > 2 || dots < length else { return false }
                (length, dots) = (0, 0)
            } else {
                length += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
            }
        }
        return length > 0 && (length > 2 || dots < length)
    }

    package static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "/" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

extension FileReadError {
    /// Why a module could not be read, after "cannot read lib/x.js: ".
    package var description: String {
        switch self {
        case .notFound: "it does not exist"
        case .permissionDenied: "permission denied"
        case .isDirectory, .notRegularFile: "not a regular file"
        case .tooLarge(let bytes):
            "\(bytes) bytes, more than the \(HandlerFolder.maximumFileSize >> 20) MiB a module may have"
        case .outsideFolder: "it leads outside the handler folder and is not read"
        case .system(let code): HandlerFolder.describe(errno: code)
        case .notCompiled: "it changed since the folder was compiled; it loads once a reload has checked it"
        }
    }
}
