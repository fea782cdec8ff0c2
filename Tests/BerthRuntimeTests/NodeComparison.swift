import BerthTestSupport
import Foundation
import Testing

import BerthJS
@testable import BerthRuntime

/// Runs the same ES module in Node (Node 20, the reference) and in a berth handler runtime, and compares what
/// each printed with console.log, line by line.
enum NodeComparison {
    static let node = NodePeer.executable

    /// `show(value)`: one line naming the value's type and content, the same in both engines; `check(fn)` prints
    /// `show(fn())` or the code and name of what it throws.
    static let prelude = """
        function show(value) {
          if (value instanceof Uint8Array) {
            const kind = Buffer.isBuffer(value) ? 'Buffer' : value.constructor.name;
            return kind + ':' + Array.from(value, (byte) => byte.toString(16).padStart(2, '0')).join('');
          }
          if (typeof value === 'bigint') return 'bigint:' + value;
          if (typeof value === 'number') return Object.is(value, -0) ? 'number:-0' : 'number:' + value;
          if (typeof value === 'undefined') return 'undefined';
          if (typeof value === 'string') return 'string:' + JSON.stringify(value);
          return typeof value + ':' + JSON.stringify(value, (key, item) => {
            if (typeof item === 'bigint') return item + 'n';
            if (typeof item === 'number' && !Number.isFinite(item)) return String(item);
            if (item instanceof Uint8Array && !Buffer.isBuffer(item)) return show(item);
            return item;
          });
        }
        function check(fn) {
          try { console.log(show(fn())); } catch (error) { console.log('throws ' + (error && error.code) + ' ' + (error && error.name)); }
        }
        function checkMessage(fn) {
          try { console.log(show(fn())); } catch (error) {
            console.log('throws ' + (error && error.code) + ' ' + (error && error.name) + ': ' + (error && error.message));
          }
        }

        """

    /// Each expression becomes one `check(() => expression)` line.
    static func checks(_ expressions: [String]) -> String {
        expressions.map { "check(() => \($0));" }.joined(separator: "\n")
    }

    /// Console output of `script` in Node and in berth (its timers and immediates run), split into lines; berth's
    /// faults are returned apart.
    static func run(_ script: String) throws -> (node: [String], berth: [String], faults: [String]) {
        let source = prelude + script
        let result = try Subprocess.run(node, ["--input-type=module", "-e", source])
        try #require(result.status == 0, "node failed: \(result.standardError)")
        let fixture = try HandlerFixture(["t.tcp.7000.port.js": source + "\nexport function handle() {}\n"])
        let runtime = try fixture.runtime("t.tcp.7000.port.js", budget: 5000)
        // Node runs its loop until nothing is left; the fake host's loop does the same for 10 s of its clock.
        fixture.host.advance(10_000, runtime)
        runtime.unload()
        let faults = fixture.host.logs.filter { $0.message.hasPrefix("t: ") }.map(\.message)
        let output = fixture.host.logs.filter { !$0.message.hasPrefix("t: ") }.map(\.message)
        let nodeLines = result.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let berthLines = output.joined(separator: "\n").split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
        return (Array(nodeLines.dropLast(nodeLines.last == "" ? 1 : 0)), berthLines, faults)
    }

    /// Expects berth to print exactly what Node prints for `script`, naming each differing line and `labels`.
    static func expectSame(_ script: String, labels: [String] = [], sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        let (node, berth, faults) = try run(script)
        #expect(faults == [], sourceLocation: sourceLocation)
        #expect(
            node.count == berth.count, "line counts differ: node \(node.count), berth \(berth.count)",
            sourceLocation: sourceLocation)
        for index in 0..<max(node.count, berth.count) {
            let expected = index < node.count ? node[index] : "<none>"
            let actual = index < berth.count ? berth[index] : "<none>"
            let label = index < labels.count ? labels[index] : "line \(index + 1)"
            #expect(actual == expected, "\(label)", sourceLocation: sourceLocation)
        }
    }

    /// Expects each expression to give the same `show` line (or the same thrown code and name) as in Node.
    static func expectSame(expressions: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        try expectSame(checks(expressions), labels: expressions, sourceLocation: sourceLocation)
    }

    /// As `expectSame(expressions:)`, and what each throws must also have Node's message, word for word.
    static func expectSame(messages expressions: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let script = expressions.map { "checkMessage(() => \($0));" }.joined(separator: "\n")
        try expectSame(script, labels: expressions, sourceLocation: sourceLocation)
    }
}
