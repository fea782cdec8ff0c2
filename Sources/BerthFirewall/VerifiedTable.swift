import BerthPlan

/// A point in the kernel's ruleset history: a network namespace and one of its committed generations.
package struct RulesetGeneration: Hashable, Sendable {
    /// The namespace's `SO_NETNS_COOKIE`: unlike its inode number, never reused while the machine is up.
    package var netnsCookie: UInt64
    /// nf_tables' generation, bumped by every committed change to any table of the namespace.
    package var number: UInt32

    package init(netnsCookie: UInt64, number: UInt32) { (self.netnsCookie, self.number) = (netnsCookie, number) }

    /// Whether `next` is the very next commit in the same namespace: nothing else was committed in between.
    package func isFollowed(by next: RulesetGeneration) -> Bool {
        next.netnsCookie == netnsCookie && next.number == number &+ 1
    }
}

/// berth's note that, at one ruleset generation, its table held exactly one rendered ruleset. Written after an
/// apply (when the kernel shows that no other commit came between) and after a full read that found no difference.
/// While the generation stands still the note stays true, so `plan` need not list the table again: for 1,000
/// endpoints that listing is about 0.4 s of libnftables' time. Any change — a hand edit, another tool, a reboot —
/// moves the generation (or the boot), and the next read lists the table whole.
package struct VerifiedTable: Hashable, Sendable {
    /// `/proc/sys/kernel/random/boot_id`: generations and cookies restart with the machine.
    package var bootID: String
    package var generation: RulesetGeneration
    package var tableName: String
    /// SHA-256 of the rendered ruleset (`Ruleset.script`): a plan or a berth that renders differently does not match.
    package var digest: String

    package init(bootID: String, generation: RulesetGeneration, tableName: String, digest: String) {
        (self.bootID, self.generation, self.tableName, self.digest) = (bootID, generation, tableName, digest)
    }

    package init(bootID: String, generation: RulesetGeneration, holding desired: Ruleset) {
        self.init(bootID: bootID, generation: generation, tableName: desired.target.tableName, digest: Self.digest(desired))
    }

    package static func digest(_ desired: Ruleset) -> String { SHA256.hex(desired.script) }

    /// Whether this note speaks of `tableName` at `generation` of this boot: then the table holds exactly the
    /// ruleset with `digest`.
    package func isAt(_ generation: RulesetGeneration, bootID: String, tableName: String) -> Bool {
        self.bootID == bootID && self.generation == generation && self.tableName == tableName
    }


    /// `boot cookie generation table digest`, one line.
    var line: String { "\(bootID) \(generation.netnsCookie) \(generation.number) \(tableName) \(digest)" }

    init?(line: Substring) {
        let fields = line.split(separator: " ")
        guard fields.count == 5, let cookie = UInt64(fields[1]), let number = UInt32(fields[2]) else { return nil }
        self.init(bootID: String(fields[0]), generation: RulesetGeneration(netnsCookie: cookie, number: number),
                  tableName: String(fields[3]), digest: String(fields[4]))
    }

    /// The notes of one state file: one line per namespace and table, newest last.
    package static func parse(_ text: String) -> [VerifiedTable] {
        text.split(separator: "\n").compactMap(VerifiedTable.init(line:))
    }

    /// The state file's text after recording `note`: it replaces the note for the same namespace and table, notes of
    /// an earlier boot are dropped, and only the newest `limit` are kept, so namespaces that come and go (containers,
    /// tests) do not grow the file.
    package static func text(recording note: VerifiedTable, in notes: [VerifiedTable], limit: Int = 64) -> String {
        let kept = notes.filter {
            $0.bootID == note.bootID && ($0.generation.netnsCookie, $0.tableName) != (note.generation.netnsCookie, note.tableName)
        }
        return (kept + [note]).suffix(limit).map { $0.line + "\n" }.joined()
    }
}
