/// What a file that OpenSSL rejected holds, seen as PEM text, so messages can say "this is a key, not a certificate".
struct PEMContents {
    /// The labels of its `-----BEGIN …-----` lines, in order: "CERTIFICATE", "PRIVATE KEY", ….
    let labels: [String]
    let isBlank: Bool
    private let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        isBlank = bytes.allSatisfy { $0 == 0x20 || (0x09...0x0D).contains($0) }
        let text = String(decoding: bytes, as: UTF8.self)
        labels = text.split(whereSeparator: \.isNewline).compactMap { line in
            let line = line.trimmingSuffix(while: \.isWhitespace)
            guard line.hasPrefix("-----BEGIN "), line.hasSuffix("-----"), line.count > 16 else { return nil }
            return String(line.dropFirst(11).dropLast(5))
        }
    }

    /// The labels as a phrase: "blocks of type CERTIFICATE REQUEST, X509 CRL".
    var labelList: String {
        var seen = Set<String>()
        let distinct = labels.filter { seen.insert($0).inserted }
        return (distinct.count == 1 ? "blocks of type " : "blocks of types ") + distinct.joined(separator: ", ")
    }

    /// A clause for binary content, suggesting the conversion; nil when the bytes are text.
    func binaryDescription(convertWith command: String) -> String? {
        let isText =
            String(validating: bytes, as: UTF8.self) != nil
            && bytes.allSatisfy { $0 >= 0x20 || (0x09...0x0D).contains($0) }
        if isText { return nil }
        // Certificates and keys in DER are one ASN.1 SEQUENCE, whose tag byte is 0x30.
        return bytes.first == 0x30
            ? "is binary DER, not PEM; convert it with `\(command)`" : "is binary data, not PEM text"
    }

    static func isPrivateKeyLabel(_ label: String) -> Bool { label.hasSuffix("PRIVATE KEY") }
}

extension Substring {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> Substring {
        var end = endIndex
        while end > startIndex, predicate(self[index(before: end)]) { end = index(before: end) }
        return self[startIndex..<end]
    }
}
