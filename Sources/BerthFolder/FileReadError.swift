#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Why a file could not be read, in terms the user can fix.
package enum FileReadError: Error, Hashable, Sendable {
    case notFound
    case permissionDenied
    case isDirectory
    case notRegularFile
    case tooLarge(bytes: Int)
    /// A path inside the folder that leads out of it (through a symlink swapped in since it was checked).
    case outsideFolder
    case system(errno: Int32)
    /// Not among the files the running plan compiled (it appeared, or a symlink was retargeted, since): a broker loads
    /// only checked bytes, and the reload the change triggers compiles it.
    case notCompiled

    /// The reason as a clause that follows the file name: "does not exist", "is a directory", ….
    package var clause: String {
        switch self {
        case .notFound: "does not exist"
        case .permissionDenied: "cannot be read: permission denied"
        case .isDirectory: "is a directory, not a file"
        case .notRegularFile: "is not a regular file (a device, socket or pipe)"
        case .tooLarge(let bytes): "is \(bytes) bytes, too large"
        case .outsideFolder: "leads outside the handler folder; it is not read"
        case .system(let code): "cannot be read: \(ConfinedFolder.describe(errno: code))"
        case .notCompiled: "changed since the folder was compiled; it loads once a reload has checked it"
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
