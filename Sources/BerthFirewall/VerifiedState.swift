import Foundation

/// Where berth keeps its notes of verified firewall state (`VerifiedTable`): `$BERTH_STATE_DIR/firewall.verified`,
/// by default under /run/berth, a tmpfs that empties at boot as the ruleset does. Best effort both ways: a note that
/// cannot be read or written only costs the next `plan` a full listing.
enum VerifiedState {
    static var directory: String { ProcessInfo.processInfo.environment["BERTH_STATE_DIR"] ?? "/run/berth" }
    static var path: String { directory + "/firewall.verified" }

    /// This boot's identity; nil where the kernel does not say, and then no note is trusted or written.
    static let bootID: String? = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))
        .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }

    /// The notes, if the file belongs to this user and nobody else may write it: a forged note would hide drift.
    static func notes() -> [VerifiedTable] {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let owner = attributes[.ownerAccountID] as? NSNumber, owner.uint32Value == System.effectiveUserID,
            let permissions = attributes[.posixPermissions] as? NSNumber, permissions.intValue & 0o022 == 0,
            let text = try? String(contentsOfFile: path, encoding: .utf8)
        else { return [] }
        return VerifiedTable.parse(text)
    }

    /// The ruleset a note says berth's table holds at `generation`: `desired` itself when the folder still renders to
    /// it, else the ruleset kept beside the note (so a changed folder diffs without listing the table); nil when no
    /// note is for this generation, or the kept ruleset does not hash to the note's digest.
    static func notedRuleset(at generation: RulesetGeneration, desired: Ruleset) -> Ruleset? {
        guard let bootID,
            let note = notes().last(where: { $0.isAt(generation, bootID: bootID, tableName: desired.target.tableName) })
        else { return nil }
        if note.digest == VerifiedTable.digest(desired) { return desired }
        guard let bytes = FileManager.default.contents(atPath: rulesetPath(note.digest)),
            let kept = Ruleset(record: [UInt8](bytes)), VerifiedTable.digest(kept) == note.digest
        else { return nil }
        return kept
    }

    /// Records that the kernel holds `desired` at `generation`, replacing this namespace's earlier note, and keeps
    /// `desired` beside it; rulesets no note names any more are removed.
    static func record(_ desired: Ruleset, at generation: RulesetGeneration) {
        guard let bootID else { return }
        let note = VerifiedTable(bootID: bootID, generation: generation, holding: desired)
        let text = VerifiedTable.text(recording: note, in: notes())
        let files = FileManager.default
        do {
            try files.createDirectory(atPath: directory + "/rulesets", withIntermediateDirectories: true,
                                      attributes: [.posixPermissions: 0o700])
            if !files.fileExists(atPath: rulesetPath(note.digest)) {
                try Data(desired.record).write(to: URL(fileURLWithPath: rulesetPath(note.digest)), options: .atomic)
            }
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            try files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            let named = Set(VerifiedTable.parse(text).map { $0.digest + ".json" })
            for file in try files.contentsOfDirectory(atPath: directory + "/rulesets") where !named.contains(file) {
                try? files.removeItem(atPath: directory + "/rulesets/" + file)
            }
        } catch {
            // Not written: the next plan lists the table whole, which is slower but just as right.
        }
    }

    private static func rulesetPath(_ digest: String) -> String { directory + "/rulesets/" + digest + ".json" }
}
