import BerthFolder
import BerthTestSupport
import Foundation
import Testing

/// `ConfinedFolder` reaches only files beneath the folder, whatever the symlinks and `..` on the way say.
@Suite(.timeLimit(.minutes(2)))
struct ConfinedFolderTests {
    let folder: TemporaryFolder
    let outside: TemporaryFolder
    let confined: ConfinedFolder

    init() throws {
        folder = try TemporaryFolder()
        outside = try TemporaryFolder("berth-outside")
        try folder.write(["a.js": "inside a", "lib/b.js": "inside b", "lib/deep/c.js": "inside c"])
        try outside.write(["a.js": "OUTSIDE", "lib/b.js": "OUTSIDE"])
        confined = try ConfinedFolder(path: folder.path)
    }

    private func text(_ path: String) -> String? {
        guard case .success(let bytes) = confined.read(path, maximumSize: 1 << 20) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func dotDotStaysInsideOrIsOutside() {
        #expect(confined.resolve("lib/../a.js") == .file("a.js"))
        #expect(confined.resolve("lib/deep/../../lib/b.js") == .file("lib/b.js"))
        let parent = URL(fileURLWithPath: folder.path).deletingLastPathComponent().path
        #expect(confined.resolve("../a.js") == .outside(target: parent + "/a.js"))
        #expect(confined.resolve("lib/../../x") != .file("x"))
        #expect(confined.read("../a.js", maximumSize: 100) == .failure(.outsideFolder))
    }

    @Test func absoluteSymlinks() throws {
        try folder.symlink("out.js", to: outside.path + "/a.js")
        try folder.symlink("in.js", to: folder.path + "/lib/b.js")
        try folder.symlink("root", to: folder.path)
        #expect(confined.resolve("out.js") == .outside(target: outside.path + "/a.js"))
        #expect(confined.read("out.js", maximumSize: 100) == .failure(.outsideFolder))
        #expect(confined.resolve("in.js") == .file("lib/b.js"))
        #expect(text("in.js") == "inside b")
        #expect(confined.resolve("root/a.js") == .file("a.js"))
    }

    @Test func symlinkChainsInside() throws {
        try folder.symlink("one.js", to: "two.js")
        try folder.symlink("two.js", to: "shared/deep/c.js")
        try folder.symlink("shared", to: "lib")
        try folder.symlink("lib/deep/up", to: "../../lib")
        #expect(confined.resolve("one.js") == .file("lib/deep/c.js"))
        #expect(text("one.js") == "inside c")
        #expect(confined.resolve("lib/deep/up/b.js") == .file("lib/b.js"))
        #expect(confined.resolve("shared") == .directory("lib"))
    }

    @Test func symlinkLoopsEndInELOOP() throws {
        try folder.symlink("self.js", to: "self.js")
        try folder.symlink("ping.js", to: "pong.js")
        try folder.symlink("pong.js", to: "ping.js")
        #expect(confined.resolve("self.js") == .failed(errno: ELOOP))
        #expect(confined.resolve("ping.js") == .failed(errno: ELOOP))
        #expect(confined.read("ping.js", maximumSize: 100) == .failure(.system(errno: ELOOP)))
    }

    /// A path that leaves the folder is outside even when it comes back in: no component may leave it.
    @Test func aSymlinkEscapingAndReenteringIsOutside() throws {
        let name = URL(fileURLWithPath: folder.path).lastPathComponent
        try folder.symlink("round.js", to: "../\(name)/a.js")
        guard case .outside = confined.resolve("round.js") else {
            Issue.record("round.js resolved to \(confined.resolve("round.js"))")
            return
        }
    }

    @Test func directoriesThroughSymlinksOutsideAreOutside() throws {
        try folder.symlink("vendor", to: outside.path + "/lib")
        try folder.symlink("up", to: "..")
        #expect(confined.resolve("vendor/b.js") == .outside(target: outside.path + "/lib/b.js"))
        #expect(confined.read("vendor/b.js", maximumSize: 100) == .failure(.outsideFolder))
        guard case .outside = confined.resolve("up/\(URL(fileURLWithPath: outside.path).lastPathComponent)/a.js") else {
            Issue.record("up/… is not outside")
            return
        }
    }

    @Test func specialFilesAreNotOpenedAndSizesAreBounded() throws {
        #expect(mkfifo(folder.path + "/pipe", 0o644) == 0)
        #expect(confined.resolve("pipe") == .special)
        #expect(confined.read("pipe", maximumSize: 100) == .failure(.notRegularFile))
        #expect(confined.read("lib", maximumSize: 100) == .failure(.isDirectory))
        #expect(confined.read("gone.js", maximumSize: 100) == .failure(.notFound))
        #expect(confined.read("a.js/x", maximumSize: 100) == .failure(.notFound))
        #expect(confined.read("a.js", maximumSize: 3) == .failure(.tooLarge(bytes: 8)))
    }

    @Test func listingGivesTheEntriesOwnTypes() throws {
        try folder.symlink("link", to: "lib")
        let listing = try #require(confined.list(""))
        #expect(listing.map(\.name) == ["a.js", "lib", "link"])
        #expect(listing.map(\.type) == [.regular, .directory, .symlink])
        #expect(confined.list("link")?.map(\.name) == ["b.js", "deep"])
        #expect(confined.list("a.js") == nil)
        #expect(confined.list("")?.map(\.name) == ["a.js", "lib", "link"], "a second listing starts afresh")
    }

    /// A directory of the folder swapped for a symlink to an outside directory, over and over while files are read
    /// through it: every read gives the inside file or fails, never the outside one.
    @Test func aDirectorySwappedForASymlinkNeverLeadsOutside() throws {
        try folder.symlink("swap", to: outside.path + "/lib")
        let swapper = try PathSwapper(folder.path + "/lib", folder.path + "/swap")
        defer { swapper.stop() }
        var (inside, refused) = (0, 0)
        let deadline = Date().addingTimeInterval(1.5)
        while Date() < deadline {
            switch confined.read("lib/b.js", maximumSize: 100) {
            case .success(let bytes):
                let text = String(decoding: bytes, as: UTF8.self)
                #expect(text == "inside b")
                if text != "inside b" { return }
                inside += 1
            case .failure: refused += 1
            }
        }
        #expect(swapper.stop() > 100 && inside > 0 && refused > 0, "\(inside) read, \(refused) refused")
    }
}
