import BerthFolder
import BerthPlan

/// Watches the directories a plan depends on (the folder itself, and every directory holding an import, the manifest
/// or a TLS file) and calls `onQuiet` once they have been quiet for the debounce after a change: a sync that touches
/// 500 files is one reload. Sync and editor temporaries (`SyncTemporary`) are not changes.
final class FolderWatch {
    private let loop: EventLoop
    private let folder: String
    private let debounceMilliseconds: Int
    private let log: BrokerLog
    private let onQuiet: () -> Void
    private var watchers: [String: DirectoryWatcher] = [:]
    private var debounce: LoopTimer?

    init(loop: EventLoop, folder: String, debounceMilliseconds: Int, log: BrokerLog, onQuiet: @escaping () -> Void) {
        (self.loop, self.folder, self.debounceMilliseconds, self.log, self.onQuiet) =
            (loop, folder, debounceMilliseconds, log, onQuiet)
    }

    /// Watches exactly the directories `plans` depend on (the running plan and the one last compiled, which may name
    /// directories the running one does not), closing the watchers of directories no longer needed.
    func watch(_ plans: [DeploymentPlan]) {
        let wanted = plans.reduce(into: Set<String>()) { $0.formUnion(Self.directories(of: $1, in: folder)) }
        // A watcher whose directory went away reports nothing more, even once the directory is back: replaced.
        for (path, watcher) in watchers where !wanted.contains(path) || !watcher.isWatching {
            watcher.close()
            watchers[path] = nil
        }
        for path in wanted.sorted() where watchers[path] == nil {
            do {
                watchers[path] = try DirectoryWatcher(loop: loop, path: path) { [weak self] name in self?.changed(name) }
            } catch {
                // A directory that is gone is no change to wait for: its parent's watcher sees it come back.
                log.log(.debug, "not watching \(PrintableText.escaped(path)): \(error.message)")
            }
        }
    }

    /// Drops a pending reload (one started anyway covers the changes seen so far).
    func cancelPending() { debounce?.stop() }

    /// Stops watching and drops a pending reload.
    func close() {
        for watcher in watchers.values { watcher.close() }
        watchers.removeAll()
        debounce?.close()
        debounce = nil
    }

    private func changed(_ name: String?) {
        if let name, SyncTemporary.matches(name) { return }
        let timer = debounce ?? LoopTimer(loop: loop)
        debounce = timer
        timer.start(after: UInt64(debounceMilliseconds)) { [weak self] in self?.onQuiet() }
    }

    /// The absolute directories `plan` depends on: `folder` itself, the directory of every module it compiled and of
    /// every TLS file it references, and every directory inside the folder on the way to a file an import awaits
    /// (those that do not exist yet cannot be watched: the nearest one that does sees them appear).
    static func directories(of plan: DeploymentPlan, in folder: String) -> Set<String> {
        var paths = [folder]
        for file in plan.sources.keys { paths.append(Self.directory(of: Self.absolute(file, in: folder))) }
        for file in plan.awaitedFiles {
            var components = file.split(separator: "/").dropLast()
            guard !file.hasPrefix("/"), !components.contains("..") else { continue }
            while !components.isEmpty {
                paths.append(Self.absolute(components.joined(separator: "/"), in: folder))
                components.removeLast()
            }
        }
        for endpoint in plan.endpoints {
            guard let tls = endpoint.tls else { continue }
            for file in tls.files { paths.append(Self.directory(of: Self.absolute(file, in: folder))) }
        }
        return Set(paths)
    }

    private static func absolute(_ path: String, in folder: String) -> String {
        path.hasPrefix("/") ? path : (folder == "/" ? "" : folder) + "/" + path
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "/" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
