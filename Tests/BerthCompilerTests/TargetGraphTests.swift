import BerthTestSupport
import Foundation
import Testing

/// `berth validate` needs QuickJS's wrapper, the module loader and the inspector, never the handler runtime or the
/// store: the compiler's dependencies in Package.swift, followed to the end, hold neither.
@Suite struct TargetGraphTests {
    /// Each target's direct dependencies, as Package.swift declares them (`name: "X", dependencies: [...]`).
    static func declaredDependencies() throws -> [String: [String]] {
        let manifest = try String(contentsOfFile: PackagePaths.path("Package.swift"), encoding: .utf8)
        let declaration = try Regex(#"name: "(\w+)",\s*dependencies: \[([^\]]*)\]"#)
        var graph: [String: [String]] = [:]
        for match in manifest.matches(of: declaration) {
            guard let name = match.output[1].substring, let list = match.output[2].substring else { continue }
            graph[String(name)] = list.split(separator: ",").map {
                $0.trimmingCharacters(in: CharacterSet(charactersIn: " \n\""))
            }
        }
        return graph
    }

    static func closure(of target: String, in graph: [String: [String]]) -> Set<String> {
        var seen: Set<String> = []
        var queue = [target]
        while let next = queue.popLast() {
            for dependency in graph[next] ?? [] where seen.insert(dependency).inserted { queue.append(dependency) }
        }
        return seen
    }

    @Test func theCompilerLinksNeitherTheRuntimeNorTheStore() throws {
        let graph = try Self.declaredDependencies()
        let compiler = Self.closure(of: "BerthCompiler", in: graph)
        #expect(compiler.contains("BerthJS") && compiler.contains("CQuickJS"))
        #expect(!compiler.contains("BerthRuntime") && !compiler.contains("BerthStore"), "\(compiler.sorted())")
        // The graph was read: the broker does reach both.
        #expect(Self.closure(of: "BerthBroker", in: graph).isSuperset(of: ["BerthRuntime", "BerthStore"]))
    }
}
