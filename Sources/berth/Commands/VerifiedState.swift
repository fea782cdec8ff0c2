import BerthFirewall
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
            let owner = attributes[.ownerAccountID] as? NSNumber, owner.uint32Value == geteuid(),
            let permissions = attributes[.posixPermissions] as? NSNumber, permissions.intValue & 0o022 == 0,
            let text = try? String(contentsOfFile: path, encoding: .utf8)
        else { return [] }
        return VerifiedTable.parse(text)
    }

    /// Whether a note says the kernel holds `desired` at `generation`.
    static func vouches(for desired: Ruleset, at generation: RulesetGeneration) -> Bool {
        guard let bootID else { return false }
        return notes().contains { $0.vouches(for: desired, at: generation, bootID: bootID) }
    }

    /// Records that the kernel holds `desired` at `generation`, replacing this namespace's earlier note.
    static func record(_ desired: Ruleset, at generation: RulesetGeneration) {
        guard let bootID else { return }
        let note = VerifiedTable(bootID: bootID, generation: generation, holding: desired)
        let text = VerifiedTable.text(recording: note, in: notes())
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        } catch {
            // Not written: the next plan lists the table whole, which is slower but just as right.
        }
    }
}
