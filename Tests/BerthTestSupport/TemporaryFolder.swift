package import Foundation

/// A folder under the system temporary directory, removed when the value is released.
package final class TemporaryFolder {
    package let path: String

    package init(_ label: String = "berth-test") throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        // Real path, so comparisons with the compiler's resolved paths hold.
        path = base.resolvingSymlinksInPath().path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `contents` at `relativePath`, creating folders on the way.
    @discardableResult
    package func write(_ relativePath: String, _ contents: String) throws -> String {
        let url = URL(fileURLWithPath: path).appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
        return url.path
    }

    package func write(_ files: [String: String]) throws {
        for (relativePath, contents) in files { try write(relativePath, contents) }
    }

    package func symlink(_ relativePath: String, to destination: String) throws {
        let url = URL(fileURLWithPath: path).appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: destination)
    }

    package func makeDirectory(_ relativePath: String) throws {
        try FileManager.default.createDirectory(atPath: path + "/" + relativePath, withIntermediateDirectories: true)
    }

    package func url(_ relativePath: String) -> URL { URL(fileURLWithPath: path).appendingPathComponent(relativePath) }

    /// Copies the contents of `source` (recursively, symlinks as symlinks) into this folder.
    package func copyContents(of source: String) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: source) {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: path + "/" + name)
        }
    }
}
