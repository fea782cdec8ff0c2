#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Why a certificate or key file could not be read, in terms the user can fix.
package enum FileReadError: Error, Hashable, Sendable {
    case notFound
    case permissionDenied
    case isDirectory
    case notRegularFile
    case tooLarge(bytes: Int)
    case system(errno: Int32)

    /// Files larger than this are refused unread: a certificate chain or key is a few kilobytes.
    static let maximumSize = 1 << 20

    /// The reason as a clause that follows the file name: "does not exist", "is a directory", ….
    package var clause: String {
        switch self {
        case .notFound: "does not exist"
        case .permissionDenied: "cannot be read: permission denied"
        case .isDirectory: "is a directory, not a file"
        case .notRegularFile: "is not a regular file (a device, socket or pipe)"
        case .tooLarge(let bytes):
            "is \(bytes) bytes, too large for a certificate or key file (at most \(Self.maximumSize))"
        case .system(let code): "cannot be read: \(unsafe String(cString: strerror(code)))"
        }
    }

    package init(errno code: Int32) {
        switch code {
        case ENOENT, ENOTDIR: self = .notFound
        case EACCES, EPERM: self = .permissionDenied
        case EISDIR: self = .isDirectory
        default: self = .system(errno: code)
        }
    }
}

/// The whole content of the regular file at `path`; a pipe or device is refused without blocking on it.
func readRegularFile(atPath path: String) throws(FileReadError) -> [UInt8] {
    // O_NONBLOCK: opening a FIFO with no writer would otherwise block until one appears.
    let fd = unsafe open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { throw FileReadError(errno: errno) }
    defer { _ = close(fd) }
    var status = stat()
    guard unsafe fstat(fd, &status) == 0 else { throw FileReadError(errno: errno) }
    switch status.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR: throw .isDirectory
    default: throw .notRegularFile
    }
    guard status.st_size <= FileReadError.maximumSize else { throw .tooLarge(bytes: Int(status.st_size)) }
    // Read to end of file rather than trusting st_size: the file may change while it is read.
    var contents: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16_384)
    while true {
        let count = unsafe chunk.withUnsafeMutableBytes { unsafe read(fd, $0.baseAddress, $0.count) }
        if count == 0 { return contents }
        if count < 0 {
            if errno == EINTR { continue }
            throw FileReadError(errno: errno)
        }
        contents += chunk[..<count]
        guard contents.count <= FileReadError.maximumSize else { throw .tooLarge(bytes: contents.count) }
    }
}
