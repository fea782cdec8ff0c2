internal import Glibc

/// The folder handlers live in, known by its real path. Every file the module loader reads goes through `locate`,
/// which resolves symlinks with realpath(3) (no file is opened for that) and refuses what lies outside the root.
struct HandlerFolder {
    /// Where a path leads, checked without opening it.
    enum Location: Equatable {
        /// A regular file inside the folder, by its real path.
        case file(String)
        case outside(realPath: String)
        case missing
        case directory
        /// A FIFO, socket or device: opening it could block or have effects, so it is never opened.
        case special
        case failed(errno: Int32)
    }

    /// Largest module file read, in bytes; larger files are refused before any byte is read.
    static let maximumFileSize = 16 << 20

    /// The real path of the folder, or nil when it cannot be resolved.
    let root: String?

    init(_ path: String) { root = Self.realPath(path).path }

    func contains(_ path: String) -> Bool {
        guard let root else { return false }
        return path == root || path.hasPrefix(root == "/" ? "/" : root + "/")
    }

    /// `path` relative to the root (for messages and results); a path outside is returned unchanged.
    func relative(_ path: String) -> String {
        guard let root, path.hasPrefix(root + "/") else { return path }
        return String(path.dropFirst(root.count + 1))
    }

    /// Resolves `path` (absolute, lexically inside the root) and classifies what it names.
    func locate(_ path: String) -> Location {
        let (resolved, code) = Self.realPath(path)
        guard let real = resolved else { return code == ENOENT || code == ENOTDIR ? .missing : .failed(errno: code) }
        guard contains(real) else { return .outside(realPath: real) }
        var info = stat()
        guard unsafe stat(real, &info) == 0 else { return .failed(errno: errno) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file(real)
        case S_IFDIR: return .directory
        default: return .special
        }
    }

    /// Reads a file `locate` returned as `.file`. The descriptor is opened non-blocking and re-checked with fstat, so
    /// a file swapped for a FIFO in between is refused rather than waited on.
    func read(_ realPath: String) -> Result<[UInt8], ReadFailure> {
        let descriptor = unsafe open(realPath, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard descriptor >= 0 else { return .failure(.system(errno: errno)) }
        defer { close(descriptor) }
        var info = stat()
        guard unsafe fstat(descriptor, &info) == 0 else { return .failure(.system(errno: errno)) }
        guard info.st_mode & S_IFMT == S_IFREG else { return .failure(.notRegular) }
        guard info.st_size <= Self.maximumFileSize else { return .failure(.tooLarge(bytes: Int(info.st_size))) }
        // One spare byte, so a file that grew since fstat shows as not yet at its end.
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size) + 1)
        var filled = 0
        while true {
            if filled == bytes.count {
                guard bytes.count <= Self.maximumFileSize else { return .failure(.tooLarge(bytes: bytes.count)) }
                bytes.append(contentsOf: repeatElement(0, count: max(bytes.count, 4096)))
            }
            let count = unsafe bytes.withUnsafeMutableBytes { buffer in
                unsafe Glibc.read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(.system(errno: errno))
            }
            if count == 0 { break }
            filled += count
        }
        bytes.removeSubrange(filled...)
        return .success(bytes)
    }

    enum ReadFailure: Error, Equatable {
        case system(errno: Int32)
        case notRegular
        case tooLarge(bytes: Int)

        var description: String {
            switch self {
            case .system(let code): HandlerFolder.describe(errno: code)
            case .notRegular: "not a regular file"
            case .tooLarge(let bytes):
                "\(bytes) bytes, more than the \(HandlerFolder.maximumFileSize >> 20) MiB a module may have"
            }
        }
    }

    static func describe(errno code: Int32) -> String {
        guard let text = unsafe strerror(code) else { return "error \(code)" }
        return unsafe String(cString: text)
    }

    /// The path with every symlink resolved, or nil and the errno of the failure.
    static func realPath(_ path: String) -> (path: String?, errno: Int32) {
        guard let resolved = unsafe realpath(path, nil) else { return (nil, errno) }
        defer { unsafe free(resolved) }
        return (unsafe String(cString: resolved), 0)
    }

    /// `relative` joined to the absolute `directory`, with `.`, `..` and empty components folded the way URL
    /// resolution folds them (before any symlink is looked at, as Node does for ESM specifiers).
    static func join(_ directory: String, _ relative: String) -> String {
        // The common case, a plain name under a folded directory, has nothing to fold: every entry takes this path.
        if directory.hasPrefix("/"), directory == "/" || isFolded(directory.dropFirst()), isFolded(Substring(relative)) {
            return (directory == "/" ? "" : directory) + "/" + relative
        }
        return foldedJoin(directory, relative)
    }

    /// `join` by folding every component; kept apart so tests can hold the fast path to it.
    static func foldedJoin(_ directory: String, _ relative: String) -> String {
        var components = directory.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        for component in relative.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(String(component))
            }
        }
        return "/" + components.joined(separator: "/")
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

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "/" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
