/// SHA-256 (FIPS 180-4) in plain Swift, so that the plan stage needs no C library to hash files and plans.
package struct SHA256 {
    private typealias State = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    private var state: State =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    /// Bytes of an incomplete block, fewer than 64.
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    package init() { buffer.reserveCapacity(64) }

    package static func hex(_ bytes: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalizeHex()
    }

    package static func hex(_ text: String) -> String { hex(Array(text.utf8)) }

    package mutating func update(_ bytes: [UInt8]) {
        length &+= UInt64(bytes.count)
        bytes.withUnsafeBytes { bytes in
            var rest = bytes[...]
            if !buffer.isEmpty {
                let take = min(64 - buffer.count, rest.count)
                buffer += rest.prefix(take)
                rest = rest.dropFirst(take)
                guard buffer.count == 64 else { return }
                buffer.withUnsafeBytes { Self.compress(&state, blocks: $0) }
                buffer.removeAll(keepingCapacity: true)
            }
            let whole = rest.count - rest.count % 64
            Self.compress(&state, blocks: UnsafeRawBufferPointer(rebasing: rest.prefix(whole)))
            buffer += rest.dropFirst(whole)
        }
    }

    package mutating func finalizeHex() -> String {
        let bitLength = length &* 8
        var tail = buffer
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        tail.withUnsafeBytes { Self.compress(&state, blocks: $0) }
        let words = [state.0, state.1, state.2, state.3, state.4, state.5, state.6, state.7]
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for word in words {
            for shift in stride(from: 28, through: 0, by: -4) { out.append(digits[Int(word >> UInt32(shift) & 0xF)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// Runs the compression function over whole 64-byte blocks. Raw pointers and eight rotated round calls instead of
    /// slices and a tuple shuffle: hashing a plan of megabytes cost some 60 instructions a byte before.
    private static func compress(_ state: inout State, blocks: UnsafeRawBufferPointer) {
        precondition(blocks.count % 64 == 0, "SHA-256 compresses whole blocks")
        guard !blocks.isEmpty else { return }
        k.withUnsafeBufferPointer { k in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                for block in stride(from: 0, to: blocks.count, by: 64) {
                    for t in 0..<16 {
                        w[t] = UInt32(bigEndian: blocks.loadUnaligned(fromByteOffset: block + 4 * t, as: UInt32.self))
                    }
                    for t in 16..<64 {
                        // σ0 and σ1 as nested rotations too, as in `round`.
                        let (x, y) = (w[t - 15], w[t - 2])
                        let s0 = (x.rotatedRight(11) ^ x).rotatedRight(7) ^ (x >> 3)
                        let s1 = (y.rotatedRight(2) ^ y).rotatedRight(17) ^ (y >> 10)
                        w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
                    }
                    var (a, b, c, d, e, f, g, h) = state
                    // Each round writes only d and h; naming the variables in rotated order spares the moves.
                    for t in stride(from: 0, to: 64, by: 8) {
                        round(a, b, c, &d, e, f, g, &h, k[t] &+ w[t])
                        round(h, a, b, &c, d, e, f, &g, k[t + 1] &+ w[t + 1])
                        round(g, h, a, &b, c, d, e, &f, k[t + 2] &+ w[t + 2])
                        round(f, g, h, &a, b, c, d, &e, k[t + 3] &+ w[t + 3])
                        round(e, f, g, &h, a, b, c, &d, k[t + 4] &+ w[t + 4])
                        round(d, e, f, &g, h, a, b, &c, k[t + 5] &+ w[t + 5])
                        round(c, d, e, &f, g, h, a, &b, k[t + 6] &+ w[t + 6])
                        round(b, c, d, &e, f, g, h, &a, k[t + 7] &+ w[t + 7])
                    }
                    state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e, state.5 &+ f,
                             state.6 &+ g, state.7 &+ h)
                }
            }
        }
    }

    /// One round: `d` gains T1, and `h` becomes the new `a` (T1 + T2). The Σ functions are written as nested
    /// rotations (Σ1(e) = ((e ⋙ 14 ^ e) ⋙ 5 ^ e) ⋙ 6), which needs fewer register copies than three separate ones.
    @inline(__always)
    private static func round(
        _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32, _ e: UInt32, _ f: UInt32, _ g: UInt32,
        _ h: inout UInt32, _ kw: UInt32
    ) {
        let t1 = h &+ ((e.rotatedRight(14) ^ e).rotatedRight(5) ^ e).rotatedRight(6) &+ (g ^ (e & (f ^ g))) &+ kw
        d &+= t1
        h = t1 &+ ((a.rotatedRight(9) ^ a).rotatedRight(11) ^ a).rotatedRight(2) &+ ((a & b) | (c & (a | b)))
    }
}

extension UInt32 {
    fileprivate func rotatedRight(_ count: UInt32) -> UInt32 { self >> count | self << (32 - count) }
}
