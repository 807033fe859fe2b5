import RealModule

/// A seeded random number generator that gives the same sequence on every machine and run.
///
/// SplitMix64 seeds a xoshiro256** state; floating-point draws use the top 53 (or 24) bits, and
/// normals use the Box–Muller transform in `Double`, so results do not depend on the platform's
/// libm beyond `log`, `sqrt`, `cos`. The state is a plain value that checkpoints can store.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Hashable, Codable {
    /// The xoshiro256** state.
    public var state: [UInt64]

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = [splitMix(), splitMix(), splitMix(), splitMix()]
    }

    public mutating func next() -> UInt64 {
        let result = rotate(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotate(state[3], 45)
        return result
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform draw in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A standard normal draw (Box–Muller; the sine branch is discarded so that every draw
    /// consumes exactly two uniforms, which keeps sequences aligned across shapes).
    public mutating func nextNormal() -> Double {
        let u1 = 1 - nextUnit()  // (0, 1]
        let u2 = nextUnit()
        return (-2 * Double.log(u1)).squareRoot() * Double.cos(2 * .pi * u2)
    }
}
