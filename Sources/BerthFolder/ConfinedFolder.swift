internal import Glibc

/// A folder opened once, whose files are reached only beneath its descriptor: every path is walked one component at
/// a time with `openat(O_NOFOLLOW)`, each symlink is read and resolved by this walk against the directories it holds
/// open, and `..` pops one of those, so no component, however it is swapped while berth runs, can lead outside.
/// The one place berth's readers (folder scan, module loader, TLS check) open a file of the folder.
///
/// Not `openat2(RESOLVE_BENEATH)`: that refuses absolute symlinks into the folder (which the README allows), does not
/// say which file it reached (module identity needs the real relative path), and container seccomp filters may
/// refuse it; the walk is needed for all three, and is as safe.
@safe package final class ConfinedFolder {
    /// What a path of the folder leads to.
    package enum Resolution: Equatable, Sendable {
        /// A regular file, by its path relative to the folder with every symlink resolved.
        case file(String)
        /// A directory, likewise ("" is the folder itself).
        case directory(String)
        /// A FIFO, socket or device: opening it could block or have effects, so it is never opened.
        case special
        case missing
        /// The path leads out of the folder; `target` is where, folded lexically, for messages.
        case outside(target: String)
        case failed(errno: Int32)
    }

    /// A directory entry's own type (a symlink is not followed).
    package enum EntryType: Equatable, Sendable {
        case regular, directory, symlink, socket, device, fifo, unknown
    }

    /// The folder's real path, for messages and for absolute symlinks that lead back inside.
    package let path: String
    private let descriptor: Int32

    /// The most symlinks one path may pass through (the kernel's own limit); a component swapped under the walk and
    /// looked at again counts as one, so a racing swap ends in ELOOP at worst.
    static let maximumLinks = 40

    /// Opens the folder at `path` (which may itself be a symlink); `.notRegularFile` when it is not a directory.
    package init(path: String) throws(FileReadError) {
        let opened = unsafe open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard opened >= 0 else { throw errno == ENOTDIR ? .notRegularFile : FileReadError(errno: errno) }
        guard let real = unsafe realpath(path, nil) else {
            let code = errno
            close(opened)
            throw FileReadError(errno: code)
        }
        self.path = unsafe String(cString: real)
        unsafe free(real)
        descriptor = opened
    }

    deinit { close(descriptor) }

    /// Where `relativePath` leads, without opening the file it names.
    package func resolve(_ relativePath: String) -> Resolution {
        let walk = walk(relativePath, opening: false)
        return walk.resolution
    }

    /// The whole content of the regular file `relativePath` leads to; larger than `maximumSize` is refused unread.
    package func read(_ relativePath: String, maximumSize: Int) -> Result<[UInt8], FileReadError> {
        let walk = walk(relativePath, opening: true)
        switch walk.resolution {
        case .file:
            defer { close(walk.opened) }
            return Self.readAll(walk.opened, maximumSize: maximumSize)
        case .directory: return .failure(.isDirectory)
        case .special: return .failure(.notRegularFile)
        case .missing: return .failure(.notFound)
        case .outside: return .failure(.outsideFolder)
        case .failed(let code): return .failure(FileReadError(errno: code))
        }
    }

    /// The entries of the directory `relativePath` leads to, sorted by name, with their own types; nil when it is
    /// not a directory of the folder.
    package func list(_ relativePath: String) -> [(name: String, type: EntryType)]? {
        let walk = walk(relativePath, opening: true)
        guard case .directory = walk.resolution, let stream = unsafe fdopendir(walk.opened) else {
            if walk.opened >= 0 { close(walk.opened) }
            return nil
        }
        defer { unsafe closedir(stream) }
        var entries: [(name: String, type: EntryType)] = []
        while let entry = unsafe readdir(stream) {
            let name = unsafe withUnsafeBytes(of: entry.pointee.d_name) {
                unsafe String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." { continue }
            var info = stat()
            let found = unsafe fstatat(dirfd(stream), name, &info, AT_SYMLINK_NOFOLLOW) == 0
            let type = found ? Self.type(of: info) : .unknown
            entries.append((name, type))
        }
        return entries.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    /// The whole content of the regular file at `path`, outside any folder: for the files a manifest explicitly
    /// allows outside it (`"external": true`). A pipe or device is refused without blocking on it.
    package static func read(atPath path: String, maximumSize: Int) -> Result<[UInt8], FileReadError> {
        let opened = unsafe open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard opened >= 0 else { return .failure(FileReadError(errno: errno)) }
        defer { close(opened) }
        return readAll(opened, maximumSize: maximumSize)
    }

    package static func describe(errno code: Int32) -> String {
        guard let text = unsafe strerror(code) else { return "error \(code)" }
        return unsafe String(cString: text)
    }

    /// `relative` joined to the absolute `directory`, with `.`, `..` and empty components folded lexically.
    package static func lexicalJoin(_ directory: String, _ relative: String) -> String {
        var components = directory.split(separator: "/").map(String.init)
        for component in relative.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(String(component))
            }
        }
        return "/" + components.joined(separator: "/")
    }

    // MARK: The walk

    private struct Walk {
        var resolution: Resolution
        /// With `opening`: the file (read-only, non-blocking) or directory reached; otherwise -1.
        var opened: Int32 = -1
    }

    private func walk(_ relativePath: String, opening: Bool) -> Walk {
        /// The directories below the root the walk stands in, each held open: `..` pops one, never asks the kernel.
        var directories: [(descriptor: Int32, name: String)] = []
        defer { for directory in directories { close(directory.descriptor) } }
        var pending = Array(relativePath.split(separator: "/").reversed())
        var links = 0
        func here(_ name: Substring...) -> String {
            (directories.map(\.name) + name.map(String.init)).joined(separator: "/")
        }
        func rest() -> String { pending.reversed().joined(separator: "/") }

        while let name = pending.popLast() {
            guard links <= Self.maximumLinks else { return Walk(resolution: .failed(errno: ELOOP)) }
            if name == "." { continue }
            if name == ".." {
                guard let last = directories.popLast() else {
                    return Walk(resolution: .outside(target: Self.lexicalJoin(path, "../" + rest())))
                }
                close(last.descriptor)
                continue
            }
            let parent = directories.last?.descriptor ?? descriptor
            var info = stat()
            guard unsafe fstatat(parent, String(name), &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                return Walk(resolution: errno == ENOENT || errno == ENOTDIR ? .missing : .failed(errno: errno))
            }
            let type = Self.type(of: info)
            switch type {
            case .symlink:
                links += 1
                guard let target = Self.readLink(parent, String(name)) else {
                    // Replaced by a file or directory since fstatat: look again.
                    if errno == EINVAL { pending.append(name); links += 1; continue }
                    return Walk(resolution: errno == ENOENT ? .missing : .failed(errno: errno))
                }
                if target.hasPrefix("/") {
                    guard target == path || target.hasPrefix(path == "/" ? "/" : path + "/") else {
                        return Walk(resolution: .outside(target: Self.lexicalJoin(target, rest())))
                    }
                    for directory in directories { close(directory.descriptor) }
                    directories = []
                    pending += target.dropFirst(path.count).split(separator: "/").reversed()
                } else {
                    pending += target.split(separator: "/").reversed()
                }
            case .directory:
                let opened = unsafe openat(parent, String(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard opened >= 0 else {
                    // Swapped for a symlink or file since fstatat: look again.
                    if errno == ELOOP || errno == ENOTDIR { pending.append(name); links += 1; continue }
                    return Walk(resolution: errno == ENOENT ? .missing : .failed(errno: errno))
                }
                directories.append((opened, String(name)))
            case .regular:
                guard pending.isEmpty else { return Walk(resolution: .missing) }
                guard opening else { return Walk(resolution: .file(here(name))) }
                let flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC
                let opened = unsafe openat(parent, String(name), flags)
                guard opened >= 0 else {
                    if errno == ELOOP { pending.append(name); links += 1; continue }
                    return Walk(resolution: errno == ENOENT ? .missing : .failed(errno: errno))
                }
                return Walk(resolution: .file(here(name)), opened: opened)
            default:
                return Walk(resolution: pending.isEmpty ? .special : .missing)
            }
        }
        guard opening else { return Walk(resolution: .directory(here())) }
        // The directory stands open already (or is the root): hand over a descriptor of its own, with its own offset
        // (dup would share the root's, so a second listing would start at its end).
        let opened = unsafe openat(directories.last?.descriptor ?? descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard opened >= 0 else { return Walk(resolution: .failed(errno: errno)) }
        return Walk(resolution: .directory(here()), opened: opened)
    }

    private static func readLink(_ directory: Int32, _ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = unsafe buffer.withUnsafeMutableBufferPointer {
            unsafe readlinkat(directory, name, $0.baseAddress!, $0.count)
        }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func type(of info: stat) -> EntryType {
        switch info.st_mode & S_IFMT {
        case S_IFREG: .regular
        case S_IFDIR: .directory
        case S_IFLNK: .symlink
        case S_IFSOCK: .socket
        case S_IFCHR, S_IFBLK: .device
        case S_IFIFO: .fifo
        default: .unknown
        }
    }

    /// Reads `descriptor` to its end. The size comes from fstat, but the file may change while it is read.
    private static func readAll(_ descriptor: Int32, maximumSize: Int) -> Result<[UInt8], FileReadError> {
        var info = stat()
        guard unsafe fstat(descriptor, &info) == 0 else { return .failure(FileReadError(errno: errno)) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return .failure(.isDirectory)
        default: return .failure(.notRegularFile)
        }
        guard info.st_size <= maximumSize else { return .failure(.tooLarge(bytes: Int(info.st_size))) }
        // One spare byte, so a file that grew since fstat shows as not yet at its end.
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size) + 1)
        var filled = 0
        while true {
            if filled == bytes.count {
                guard bytes.count <= maximumSize else { return .failure(.tooLarge(bytes: bytes.count)) }
                bytes.append(contentsOf: repeatElement(0, count: max(bytes.count, 4096)))
            }
            let count = unsafe bytes.withUnsafeMutableBytes { buffer in
                unsafe Glibc.read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(FileReadError(errno: errno))
            }
            if count == 0 { break }
            filled += count
        }
        bytes.removeSubrange(filled...)
        return .success(bytes)
    }
}
