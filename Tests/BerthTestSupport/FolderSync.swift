package import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Changes files in a served folder the way sync tools, editors and git do, so reload tests see the same sequences of
/// directory events a real deployment does: temporaries renamed into place, writes that arrive in parts, bursts of
/// hundreds of files, a file deleted and created again.
package struct FolderSync: Sendable {
    /// The folder's absolute path; every path below is relative to it.
    package let root: String

    package init(root: String) { self.root = root }

    /// The editor and sync-client temporaries the compiler ignores, for `name` in its directory: vim's swap file,
    /// a backup (`name~`), emacs's lock, a `.tmp`, rsync's and syncthing's in-flight copies.
    package static func temporaryNames(for name: String) -> [String] {
        [".\(name).swp", "\(name)~", ".#\(name)", "\(name).tmp", ".\(name).\(randomSuffix())", ".syncthing.\(name).tmp"]
    }

    /// rsync's way: writes `.name.XXXXXX` beside the file, then renames it over `name` (one atomic replace).
    package func rsync(_ relativePath: String, _ contents: String) throws {
        let (directory, name) = split(relativePath)
        let temporary = directory + "/." + name + "." + Self.randomSuffix()
        try writeFile(temporary, Data(contents.utf8))
        try rename(from: temporary, to: path(relativePath))
    }

    /// rsync of many files at once, one after another with no pause (an `rsync -a src/ dst/` of a changed tree).
    package func rsync(_ files: [String: String]) throws {
        for (relativePath, contents) in files.sorted(by: { $0.key < $1.key }) { try rsync(relativePath, contents) }
    }

    /// A sync client's or editor's way: writes `name.tmp`, then renames it over `name`.
    package func replaceThroughTemporary(_ relativePath: String, _ contents: String) throws {
        let temporary = path(relativePath) + ".tmp"
        try writeFile(temporary, Data(contents.utf8))
        try rename(from: temporary, to: path(relativePath))
    }

    /// `cp`'s way: truncates the file in place and writes the new contents.
    package func overwrite(_ relativePath: String, _ contents: String) throws {
        try writeFile(path(relativePath), Data(contents.utf8))
    }

    /// A slow copy in place (`rsync --inplace`, a network drive): truncates and writes the first `firstBytes` bytes,
    /// waits `pause` seconds, then writes the rest. Between the two the folder holds a half-written file.
    package func writeInTwoParts(_ relativePath: String, _ contents: String, firstBytes: Int? = nil, pause: TimeInterval)
        throws
    {
        let bytes = Data(contents.utf8)
        let cut = min(bytes.count, max(0, firstBytes ?? bytes.count / 2))
        try createDirectory(for: path(relativePath))
        let descriptor = open(path(relativePath), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("open", relativePath) }
        defer { close(descriptor) }
        try writeAll(descriptor, bytes.prefix(cut), relativePath)
        Thread.sleep(forTimeInterval: pause)
        try writeAll(descriptor, bytes.dropFirst(cut), relativePath)
    }

    /// Removes a file (or an empty directory); a missing one is an error, as it would be for the tool.
    package func remove(_ relativePath: String) throws {
        try FileManager.default.removeItem(atPath: path(relativePath))
    }

    /// Deletes a file and creates it again `pause` seconds later with `contents` (a sync tool replacing by delete +
    /// create, or an editor that removes before it saves).
    package func removeAndRecreate(_ relativePath: String, _ contents: String, pause: TimeInterval) throws {
        try remove(relativePath)
        Thread.sleep(forTimeInterval: pause)
        try writeFile(path(relativePath), Data(contents.utf8))
    }

    /// Moves a file within the folder (a rename in a synced tree).
    package func move(_ relativePath: String, to newRelativePath: String) throws {
        try createDirectory(for: path(newRelativePath))
        try rename(from: path(relativePath), to: path(newRelativePath))
    }

    /// `git checkout`'s way: each changed file is unlinked, then created under its final name and written (in two
    /// writes, as git streams a blob); `removing` are unlinked; all as fast as possible, in path order.
    package func checkout(writing files: [String: String], removing: [String] = []) throws {
        for relativePath in removing.sorted() { try remove(relativePath) }
        for (relativePath, contents) in files.sorted(by: { $0.key < $1.key }) {
            let full = path(relativePath)
            if FileManager.default.fileExists(atPath: full) { try FileManager.default.removeItem(atPath: full) }
            try createDirectory(for: full)
            let descriptor = open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw failure("open", relativePath) }
            defer { close(descriptor) }
            let bytes = Data(contents.utf8)
            try writeAll(descriptor, bytes.prefix(bytes.count / 2), relativePath)
            try writeAll(descriptor, bytes.dropFirst(bytes.count / 2), relativePath)
        }
    }

    /// Creates, rewrites and deletes every temporary of `temporaryNames(for:)` beside `relativePath` (emacs's lock as
    /// the dangling symlink emacs makes), leaving no trace: only ignored names are touched.
    @discardableResult
    package func touchTemporaries(beside relativePath: String) throws -> [String] {
        let (directory, name) = split(relativePath)
        var touched: [String] = []
        for temporary in Self.temporaryNames(for: name) {
            let full = directory + "/" + temporary
            if temporary.hasPrefix(".#") {
                try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: "tester@berth.\(getpid()):1")
            } else {
                try writeFile(full, Data("partial".utf8))
                try writeFile(full, Data("partial, then more".utf8))
            }
            try FileManager.default.removeItem(atPath: full)
            touched.append(temporary)
        }
        return touched
    }

    /// The absolute path of `relativePath`.
    package func path(_ relativePath: String) -> String { root + "/" + relativePath }

    // MARK: -

    /// Six letters and digits, like rsync's mkstemp suffix.
    static func randomSuffix() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<6).map { _ in alphabet.randomElement()! })
    }

    private func split(_ relativePath: String) -> (directory: String, name: String) {
        let full = path(relativePath)
        let url = URL(fileURLWithPath: full)
        return (url.deletingLastPathComponent().path, url.lastPathComponent)
    }

    private func createDirectory(for fullPath: String) throws {
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: fullPath).deletingLastPathComponent().path, withIntermediateDirectories: true)
    }

    /// Writes the whole file at once (O_TRUNC, one write): never Foundation's atomic write, which renames from a
    /// temporary name of its own choosing.
    private func writeFile(_ fullPath: String, _ bytes: Data) throws {
        try createDirectory(for: fullPath)
        let descriptor = open(fullPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("open", fullPath) }
        defer { close(descriptor) }
        try writeAll(descriptor, bytes, fullPath)
    }

    private func writeAll(_ descriptor: Int32, _ bytes: Data, _ what: String) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw failure("write", what)
                }
                offset += written
            }
        }
    }

    private func rename(from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw failure("rename", "\(from) → \(to)") }
    }

    private func failure(_ call: String, _ what: String) -> Subprocess.Failure {
        Subprocess.Failure(description: "\(call)(\(what)) failed: \(String(cString: strerror(errno)))")
    }
}
