import Testing
@testable import BerthJS

/// Paths joined the way ESM specifiers resolve: the shortcut for plain names must fold exactly as the full walk does.
struct HandlerFolderTests {
    @Test(arguments: [
        ("/srv/app", "echo.tcp.7000.port.js", "/srv/app/echo.tcp.7000.port.js"),
        ("/", "a.js", "/a.js"),
        ("/srv/app", "lib/format.js", "/srv/app/lib/format.js"),
        ("/srv/app", "./lib/../x.js", "/srv/app/x.js"),
        ("/srv/app", "../../../../etc/passwd", "/etc/passwd"),
        ("/srv//app/", "a.js", "/srv/app/a.js"),
        ("/srv/./app", "...js", "/srv/./app/...js"),  // the directory is taken as given, only empty parts dropped
        ("/srv/app", "..", "/srv"),
        ("/srv/app", ".hidden/.x", "/srv/app/.hidden/.x"),
        ("/srv/app", "", "/srv/app"),
    ])
    func joinFoldsLikeURLResolution(directory: String, relative: String, expected: String) {
        #expect(HandlerFolder.join(directory, relative) == expected)
        #expect(HandlerFolder.foldedJoin(directory, relative) == expected)
    }

    @Test func theShortcutAgreesWithTheFullWalk() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["a", "b.js", ".", "..", "...", ".x", "x.", "", "lib", "é"]
        for _ in 0..<2000 {
            let path = { (count: Int) in
                (0..<count).map { _ in pieces.randomElement(using: &generator)! }.joined(separator: "/")
            }
            let directory = "/" + path(Int.random(in: 0...3, using: &generator))
            let relative = path(Int.random(in: 1...3, using: &generator))
            #expect(HandlerFolder.join(directory, relative) == HandlerFolder.foldedJoin(directory, relative),
                    "\(directory) + \(relative)")
        }
    }
}
