package import BerthPlan
import Foundation

/// A plan written by `berth plan DIR -out FILE` with what the firewall was then: `apply FILE` applies it only while
/// neither the folder nor the firewall has changed since, because otherwise it would not do what the operator reviewed.
package struct SavedPlan {
    package var path: String
    /// The folder the plan was compiled from, by its real path.
    package var folder: String
    package var tableName: String
    /// `FAMILY TABLE CHAIN`, as `--host-chain` takes it.
    package var hostChain: String?
    /// `sha256:…`, as the document holds them.
    private var planHash: String
    private var folderHash: String
    private var liveFingerprint: String

    /// Why a saved plan is not applied: the file is no saved plan (a usage error), or applying it is refused.
    package struct Refusal: Error {
        package enum Kind: Sendable { case notAPlan, refused }
        package var kind: Kind
        package var message: String
        init(_ kind: Kind, _ message: String) { (self.kind, self.message) = (kind, message) }
    }

    /// The `firewall` member of a saved plan: where the folder is and what the live firewall was.
    package static func firewallMember(_ reading: FirewallReading, folder: String) -> JSONValue {
        [
            "folder": .string(URL(fileURLWithPath: folder).standardizedFileURL.resolvingSymlinksInPath().path),
            "table": .string(reading.target.tableName),
            "hostChain": reading.target.hostChain.map { .string($0.description) } ?? .null,
            "liveFingerprint": .string(reading.live.fingerprint),
        ]
    }

    /// Reads the plan at `path`; refuses one made with `--offline`, which recorded no firewall to compare with.
    package init(contentsOf path: String) throws(Refusal) {
        guard let data = FileManager.default.contents(atPath: path) else { throw Refusal(.notAPlan, "cannot read the plan \(path)") }
        let document: JSONValue
        do { document = try JSONParser.parse([UInt8](data)).plainValue } catch {
            throw Refusal(.notAPlan, "\(path):\(error.position.line):\(error.position.column): not a plan: \(error.message)")
        }
        guard let planHash = document["planHash"]?.stringValue, let folderHash = document["folderHash"]?.stringValue else {
            throw Refusal(.notAPlan, "\(path) is not a berth plan (no planHash): write one with `berth plan DIR -out FILE`")
        }
        guard let saved = document["firewall"], let folder = saved["folder"]?.stringValue,
            let tableName = saved["table"]?.stringValue, let liveFingerprint = saved["liveFingerprint"]?.stringValue
        else {
            throw Refusal(.refused, "\(path) was made with --offline, without reading the firewall, so berth cannot tell "
                              + "whether it is stale; run `berth plan DIR -out FILE` as root and apply that")
        }
        (self.path, self.folder, self.tableName, hostChain) = (path, folder, tableName, saved["hostChain"]?.stringValue)
        (self.planHash, self.folderHash, self.liveFingerprint) = (planHash, folderHash, liveFingerprint)
    }

    /// Refuses when `plan`, the folder compiled again, is not the plan that was saved.
    package func verify(_ plan: DeploymentPlan) throws(Refusal) {
        guard "sha256:" + plan.folderHash == folderHash else {
            throw Refusal(.refused,
                "stale plan: \(folder) changed since \(path) was made (folder \(folderHash.prefix(23))…, "
                    + "now sha256:\(plan.folderHash.prefix(16))…); run `berth plan \(folder) -out \(path)` again and review it")
        }
        guard "sha256:" + plan.planHash == planHash else {
            throw Refusal(.refused,
                "\(path) cannot be reproduced from \(folder) (it was made with --previous or by another berth version); "
                    + "run `berth plan \(folder) -out \(path)` again and review it")
        }
    }

    /// Refuses when the firewall read now is not the one the plan was made against.
    package func verify(_ reading: FirewallReading) throws(Refusal) {
        guard reading.live.fingerprint == liveFingerprint else {
            throw Refusal(.refused,
                "stale plan: \(reading.target) changed since \(path) was made; "
                    + "run `berth plan \(folder) -out \(path)` again and review the new difference")
        }
    }
}
