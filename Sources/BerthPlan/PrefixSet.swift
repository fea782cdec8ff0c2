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
        let index = Self.firstIndex(in: list, endingAtOrAfter: address.value)
        return index < list.count && list[index].first <= address.value
    }

    /// True when every address of `prefix` is in the set. The set holds the largest aligned blocks of its ranges, and
    /// an aligned block inside a range lies inside one of them: the one that reaches its first address.
    package func covers(_ prefix: IPPrefix) -> Bool {
        let list = prefixes(prefix.family)
        let index = Self.firstIndex(in: list, endingAtOrAfter: prefix.first)
        return index < list.count && list[index].contains(prefix)
    }

    /// True when some address of `prefix` is in the set.
    package func intersects(_ prefix: IPPrefix) -> Bool {
        let list = prefixes(prefix.family)
        let index = Self.firstIndex(in: list, endingAtOrAfter: prefix.first)
        return index < list.count && list[index].first <= prefix.last
    }

    /// The first of the sorted, disjoint `list` that ends at or after `value`, else `list.count`. A binary search:
    /// cost grows with log(n), not n, and allow and deny lists run to tens of thousands.
    private static func firstIndex(in list: [IPPrefix], endingAtOrAfter value: UInt128) -> Int {
        var low = 0
        var high = list.count
        while low < high {
            let middle = (low + high) / 2
            if list[middle].last < value { low = middle + 1 } else { high = middle }
        }
        return low
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
        var result: [IPPrefix] = []
        for range in merge(prefixes.map { $0.first...$0.last }) { cover(range, family: family, into: &result) }
        return result
    }

    /// Splits one address range into the largest aligned prefixes, left to right. Each block's size comes from bit
    /// counts (the alignment of its start, the room left in the range), not from trying one length after another.
    static func cover(_ range: ClosedRange<UInt128>, family: IPFamily, into result: inout [IPPrefix]) {
        var start = range.lowerBound
        while true {
            let room = range.upperBound - start
            // log2 of the largest power of two within room + 1 addresses (all of them when room + 1 overflows).
            let fit = room == .max ? UInt128.bitWidth : UInt128.bitWidth - 1 - (room + 1).leadingZeroBitCount
            let hostBits = min(start.trailingZeroBitCount, fit, family.bitWidth)
            let prefix = IPPrefix(family: family, address: start, length: family.bitWidth - hostBits)
            result.append(prefix)
            if prefix.last >= range.upperBound { return }
            start = prefix.last + 1
        }
    }
}
