import Foundation

/// An address family. IPv4 addresses are held in the low 32 bits of a `UInt128`.
package enum IPFamily: String, Hashable, Sendable, CaseIterable, Comparable {
    case ipv4, ipv6

    package var bitWidth: Int { self == .ipv4 ? 32 : 128 }
    package var allOnes: UInt128 { self == .ipv4 ? UInt128(UInt32.max) : .max }
    package static func < (a: Self, b: Self) -> Bool { a == .ipv4 && b == .ipv6 }
}

/// An IP address of either family.
package struct IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    package var family: IPFamily
    package var value: UInt128

    package init(family: IPFamily, value: UInt128) { (self.family, self.value) = (family, value) }

    /// Parses a dotted-quad IPv4 or an RFC 4291 IPv6 address; nil when the text is neither.
    package init?(_ text: some StringProtocol) {
        if let v4 = Self.parseIPv4(text.utf8) { self.init(family: .ipv4, value: UInt128(v4)); return }
        if let v6 = Self.parseIPv6(text) { self.init(family: .ipv6, value: v6); return }
        return nil
    }

    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as the IPv4 address it carries; any other address unchanged.
    /// The kernel hands IPv4 clients of a dual-stack socket to berth in this form.
    package var unmapped: IPAddress {
        if family == .ipv6, value >> 32 == 0xFFFF { return IPAddress(family: .ipv4, value: value & 0xFFFF_FFFF) }
        return self
    }

    package var description: String {
        family == .ipv4 ? Self.formatIPv4(UInt32(value)) : Self.formatIPv6(value)
    }

    package static func < (a: Self, b: Self) -> Bool { (a.family, a.value) < (b.family, b.value) }

    /// Over UTF-8 bytes: replies to UDP senders parse an address per datagram, manifests list tens of thousands.
    static func parseIPv4(_ utf8: some Sequence<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        var leadingZero = false
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                // Leading zeros are refused: some tools read "010" as octal, and berth will not guess.
                if leadingZero || digits == 3 { return nil }
                leadingZero = digits == 0 && byte == UInt8(ascii: "0")
                octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
            case UInt8(ascii: "."):
                guard digits > 0, octet <= 255, dots < 3 else { return nil }
                value = value << 8 | octet
                (octet, digits, leadingZero, dots) = (0, 0, false, dots + 1)
            default:
                return nil
            }
        }
        guard dots == 3, digits > 0, octet <= 255 else { return nil }
        return value << 8 | octet
    }

    static func parseIPv6(_ text: some StringProtocol) -> UInt128? {
        let text = String(text)
        guard text.contains(":") else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String, allowIPv4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, field) in fields.enumerated() {
                if allowIPv4Tail, index == fields.count - 1, field.contains(".") {
                    guard let v4 = parseIPv4(field.utf8) else { return nil }
                    result += [UInt16(v4 >> 16), UInt16(v4 & 0xFFFF)]
                    continue
                }
                guard (1...4).contains(field.count), field.allSatisfy(\.isHexDigit), let group = UInt16(field, radix: 16)
                else { return nil }
                result.append(group)
            }
            return result
        }
        let all: [UInt16]
        if halves.count == 2 {
            guard let head = groups(halves[0], allowIPv4Tail: false), let tail = groups(halves[1], allowIPv4Tail: true),
                head.count + tail.count <= 7
            else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let only = groups(halves[0], allowIPv4Tail: true), only.count == 8 else { return nil }
            all = only
        }
        return all.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
    }

    /// Dotted-quad text, with `/length` when given. Plans and logs format tens of thousands of these: digits go into
    /// 19 bytes on the stack, then into a String, inline up to 15 bytes (interpolation cost some 20 times as much, and
    /// `String(unsafeUninitializedCapacity:)` above 15 bytes allocates even for a short result).
    static func formatIPv4(_ value: UInt32, length: Int? = nil) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 19) { buffer in
            var count = 0
            func append(_ byte: UInt8) {
                buffer[count] = byte
                count += 1
            }
            func appendDecimal(_ number: UInt8) {
                if number >= 100 { append(UInt8(ascii: "0") + number / 100) }
                if number >= 10 { append(UInt8(ascii: "0") + number / 10 % 10) }
                append(UInt8(ascii: "0") + number % 10)
            }
            for octet in 0..<4 {
                if octet > 0 { append(UInt8(ascii: ".")) }
                appendDecimal(UInt8(truncatingIfNeeded: value >> (24 - 8 * octet)))
            }
            if let length {
                append(UInt8(ascii: "/"))
                appendDecimal(UInt8(length))
            }
            return String(decoding: buffer[..<count], as: UTF8.self)
        }
    }

    /// RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups as `::`, and IPv4-mapped
    /// addresses with a dotted tail.
    static func formatIPv6(_ value: UInt128) -> String {
        if value >> 32 == 0xFFFF { return "::ffff:" + formatIPv4(UInt32(value & 0xFFFF_FFFF)) }
        let groups = (0..<8).map { UInt16(truncatingIfNeeded: value >> UInt128(112 - 16 * $0)) }
        var best = (start: -1, length: 0)
        var run = (start: -1, length: 0)
        for (index, group) in groups.enumerated() {
            if group == 0 {
                run = run.start < 0 ? (index, 1) : (run.start, run.length + 1)
                if run.length > best.length { best = run }
            } else {
                run = (-1, 0)
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard best.length >= 2 else { return hex.joined(separator: ":") }
        let head = hex[..<best.start].joined(separator: ":")
        let tail = hex[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }
}

/// A CIDR prefix in canonical form: host bits are zero (the parser refuses text that sets them).
package struct IPPrefix: Hashable, Sendable, Comparable, CustomStringConvertible {
    package var family: IPFamily
    /// The network address.
    package var address: UInt128
    package var length: Int

    package init(family: IPFamily, address: UInt128, length: Int) {
        precondition(length >= 0 && length <= family.bitWidth, "prefix length out of range")
        self.family = family
        self.length = length
        self.address = address & Self.mask(family: family, length: length)
    }

    package static func mask(family: IPFamily, length: Int) -> UInt128 {
        let hostBits = family.bitWidth - length
        return hostBits >= family.bitWidth ? 0 : family.allOnes & ~((UInt128(1) << UInt128(hostBits)) - 1)
    }

    package var first: UInt128 { address }
    package var last: UInt128 { address | (family.allOnes & ~Self.mask(family: family, length: length)) }

    package func contains(_ address: IPAddress) -> Bool {
        let address = address.unmapped
        return address.family == family && address.value >= first && address.value <= last
    }

    package func contains(_ other: IPPrefix) -> Bool {
        other.family == family && other.first >= first && other.last <= last
    }

    package func overlaps(_ other: IPPrefix) -> Bool {
        other.family == family && other.first <= last && first <= other.last
    }

    package var description: String {
        family == .ipv4
            ? IPAddress.formatIPv4(UInt32(address), length: length)
            : "\(IPAddress(family: family, value: address))/\(length)"
    }

    package static func < (a: Self, b: Self) -> Bool { (a.family, a.address, a.length) < (b.family, b.address, b.length) }

    /// Why a text is not a canonical prefix. The cases carry what a hint needs.
    package enum ParseError: Error, Hashable, Sendable {
        case syntax(String)
        case scopeID
        case lengthOutOfRange(family: IPFamily, length: String)
        case hostBitsSet(canonical: IPPrefix)
        /// `::ffff:a.b.c.d/n`: berth matches IPv4-mapped sources against IPv4 rules, so write the IPv4 prefix.
        case ipv4Mapped(equivalent: IPPrefix)
    }

    /// Parses `address/length` or a bare address (a /32 or /128).
    package static func parse(_ text: String) -> Result<IPPrefix, ParseError> {
        var text = text
        return text.withUTF8(parse(utf8:))
    }

    /// Over the UTF-8 bytes in place, without substrings: a manifest may list tens of thousands of prefixes. Text is
    /// made only for IPv6 (rare in long lists) and for messages.
    private static func parse(utf8: UnsafeBufferPointer<UInt8>) -> Result<IPPrefix, ParseError> {
        func text(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> String { String(decoding: bytes, as: UTF8.self) }
        let slash = utf8.firstIndex(of: UInt8(ascii: "/"))
        let addressBytes = utf8[..<(slash ?? utf8.endIndex)]
        if addressBytes.contains(UInt8(ascii: "%")) { return .failure(.scopeID) }
        guard let address = IPAddress.parseIPv4(addressBytes).map({ IPAddress(family: .ipv4, value: UInt128($0)) })
            ?? IPAddress(text(addressBytes))
        else {
            let addressText = text(addressBytes)
            if addressText.isEmpty { return .failure(.syntax("the address before '/' is missing")) }
            if addressText.split(separator: ".").contains(where: { $0.count > 1 && $0.first == "0" && $0.allSatisfy(\.isASCIIDigit) }) {
                return .failure(.syntax("\"\(addressText)\" has an octet with a leading zero"))
            }
            return .failure(.syntax("\"\(addressText)\" is not an IPv4 or IPv6 address"))
        }
        var length = address.family.bitWidth
        if let slash {
            let digits = utf8[(slash + 1)...]
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                digits.count == 1 || digits.first != UInt8(ascii: "0")
            else {
                return .failure(.syntax("\"\(text(digits))\" is not a prefix length"))
            }
            let parsed = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            guard parsed <= address.family.bitWidth else {
                return .failure(.lengthOutOfRange(family: address.family, length: text(digits)))
            }
            length = parsed
        }
        let prefix = IPPrefix(family: address.family, address: address.value, length: length)
        if address.family == .ipv6, length >= 96, address.value >> 32 == 0xFFFF {
            return .failure(.ipv4Mapped(equivalent: IPPrefix(family: .ipv4, address: address.value & 0xFFFF_FFFF,
                                                             length: length - 96)))
        }
        if prefix.address != address.value { return .failure(.hostBitsSet(canonical: prefix)) }
        return .success(prefix)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
