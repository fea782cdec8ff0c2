/// The names a synced folder holds only in passing: dotfiles (`.#x`, `.x.swp`, `.syncthing.*`, rsync's `.x.XXXXXX`) and
/// editor or sync temporaries (`x~`, `*.tmp`, `#x#`). The compiler never reads them and the broker's watcher never
/// reloads for them, so a half-written file cannot become an entry or trigger a reload.
package enum SyncTemporary {
    package static func matches(_ name: String) -> Bool {
        if name.hasPrefix(".") || name.hasSuffix("~") || name.hasPrefix("~$") { return true }
        if name.hasPrefix("#") && name.hasSuffix("#") { return true }
        return [".tmp", ".swp", ".swx", ".part", ".crdownload", ".partial"].contains { name.hasSuffix($0) }
    }
}
