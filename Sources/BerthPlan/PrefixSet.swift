/// A set of addresses held as merged, sorted prefixes per family: the normalised form of an allow or deny list.
/// Overlapping and adjacent entries collapse, so two manifests that admit the same addresses give the same plan.
package struct PrefixSet: Hashable, Sendable {
    package private(set) var ipv4: [IPPrefix]
    package private(set) var ipv6: [IPPrefix]

    package init(_ prefixes: some Sequence<IPPrefix>) {
        let all = Array(prefixes)
        ipv4 = Self.normalise(all.filter { $0.family == .ipv4 }, family: .ipv4)
        ipv6 = Self.normalise(all.filter { $0.family == .ipv6 }, family: .ipv6)
    }

    package static let empty = PrefixSet([])
    package var isEmpty: Bool { ipv4.isEmpty && ipv6.isEmpty }
    package var prefixes: [IPPrefix] { ipv4 + ipv6 }

    package func prefixes(_ family: IPFamily) -> [IPPrefix] { family == .ipv4 ? ipv4 : ipv6 }

    package func contains(_ address: IPAddress) -> Bool {
        let address = address.unmapped
        let list = prefixes(address.family)
        // Binary search over disjoint sorted ranges: cost grows with log(n), not n.
        var low = 0
        var high = list.count
        while low < high {
            let middle = (low + high) / 2
            if list[middle].last < address.value { low = middle + 1 } else { high = middle }
        }
        return low < list.count && list[low].first <= address.value
    }

    /// True when every address of `prefix` is in the set.
    package func covers(_ prefix: IPPrefix) -> Bool {
        intervals(prefix.family).contains { $0.lowerBound <= prefix.first && prefix.last <= $0.upperBound }
    }

    /// True when some address of `prefix` is in the set.
    package func intersects(_ prefix: IPPrefix) -> Bool {
        prefixes(prefix.family).contains { $0.overlaps(prefix) }
    }

    /// The merged address ranges of one family.
    package func intervals(_ family: IPFamily) -> [ClosedRange<UInt128>] {
        Self.merge(prefixes(family).map { $0.first...$0.last })
    }

    static func merge(_ ranges: [ClosedRange<UInt128>]) -> [ClosedRange<UInt128>] {
        var merged: [ClosedRange<UInt128>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, last.upperBound == .max || range.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    /// The fewest prefixes covering exactly the union of `prefixes`.
    static func normalise(_ prefixes: [IPPrefix], family: IPFamily) -> [IPPrefix] {
        merge(prefixes.map { $0.first...$0.last }).flatMap { cover($0, family: family) }
    }

    /// Splits one address range into the largest aligned prefixes, left to right.
    static func cover(_ range: ClosedRange<UInt128>, family: IPFamily) -> [IPPrefix] {
        var result: [IPPrefix] = []
        var start = range.lowerBound
        while true {
            var length = family.bitWidth
            // Grow the block while it stays aligned at `start` and inside the range.
            while length > 0 {
                let size = UInt128(1) << UInt128(family.bitWidth - length + 1)
                let candidateLast = start &+ (size &- 1)
                guard start & (size &- 1) == 0, candidateLast >= start, candidateLast <= range.upperBound,
                    family == .ipv6 || candidateLast <= family.allOnes
                else { break }
                length -= 1
            }
            let prefix = IPPrefix(family: family, address: start, length: length)
            result.append(prefix)
            if prefix.last >= range.upperBound { return result }
            start = prefix.last + 1
        }
    }
}
