import BerthPlan
import Testing

@Suite struct PrintableTextTests {
    @Test(arguments: [
        ("plain é ✓ text\twith a tab", "plain é ✓ text\twith a tab"),
        ("a\nb\rc", #"a\nb\rc"#),
        ("\u{1B}[31mred\u{0}", #"\u{1B}[31mred\u{0}"#),
        ("del\u{7F} csi\u{9B} nel\u{85}", #"del\u{7F} csi\u{9B} nel\u{85}"#),
        ("ls\u{2028}ps\u{2029}rlo\u{202E}lri\u{2067}alm\u{61C}", #"ls\u{2028}ps\u{2029}rlo\u{202E}lri\u{2067}alm\u{61C}"#),
        // Neighbours of the escaped ranges stay as they are.
        ("\u{A0}\u{2027}\u{2030}\u{2065}\u{206A}", "\u{A0}\u{2027}\u{2030}\u{2065}\u{206A}"),
    ])
    func escapesWhatCouldDriveATerminal(text: String, printed: String) {
        #expect(PrintableText.escaped(text) == printed)
    }

    /// JSON writes the same scalars as `\uXXXX`, which a reader decodes to the very same string.
    @Test func jsonEscapesThemAndReadsThemBack() throws {
        let text = "k\u{1B}[2J\n::error::x\u{7F}\u{9B}\u{202E}\u{2066}é✓"
        let written = JSONWriter.compact(.string(text))
        #expect(written == #""k\u001b[2J\n::error::x\u007f\u009b\u202e\u2066é✓""#)
        #expect(try JSONParser.parse(Array(written.utf8)).plainValue == .string(text))
    }
}
