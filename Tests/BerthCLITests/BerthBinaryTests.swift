import BerthTestSupport
import Foundation
import Testing

/// The tests run the `berth` of their own build (BerthBinary), never another build's or a stale one.
@Suite struct BerthBinaryTests {
    @Test func isTheOneBuiltBesideTheTestBundle() throws {
        if let explicit = ProcessInfo.processInfo.environment["BERTH_BINARY"] {
            #expect(BerthBinary.path == explicit)
            return
        }
        #expect(BerthBinary.path == BerthBinary.buildDirectory + "/berth")
        #expect(FileManager.default.isExecutableFile(atPath: BerthBinary.path))
        let testBundle = try #require(Bundle.main.executablePath)
        #expect(URL(fileURLWithPath: testBundle).resolvingSymlinksInPath().deletingLastPathComponent().path == BerthBinary.buildDirectory)
    }

    /// Linked after every object its modules compiled to in this build: a source change that recompiled one relinked
    /// berth too, so the binary under test is never older than the code beside it.
    @Test func isNewerThanEveryObjectOfItsModules() throws {
        let built = try modified(BerthBinary.path)
        let files = FileManager.default
        var objects = 0
        for module in try files.contentsOfDirectory(atPath: PackagePaths.path("Sources")) {
            let directory = BerthBinary.buildDirectory + "/\(module).build"
            for object in (try? files.contentsOfDirectory(atPath: directory)) ?? [] where object.hasSuffix(".o") {
                objects += 1
                #expect(try modified(directory + "/" + object) <= built, "\(module)/\(object) is newer than \(BerthBinary.path)")
            }
        }
        #expect(objects > 0, "no objects of berth's modules in \(BerthBinary.buildDirectory)")
    }

    private func modified(_ path: String) throws -> Date {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
    }
}
