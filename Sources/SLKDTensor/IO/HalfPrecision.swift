/// Conversions between `Float` and the 16-bit formats of checkpoints (IEEE binary16 and bfloat16).
///
/// Written on bit patterns instead of `Float16` because `Float16` is unavailable on macOS/x86.
/// Widening is exact; narrowing rounds to nearest, ties to even, as PyTorch's `.half()` and
/// `.bfloat16()` do, and keeps NaN a NaN.
enum HalfPrecision {
    /// The `Float` equal to a binary16 bit pattern.
    static func float(fromHalf h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F {  // inf / NaN: keep the payload
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        }
        if exponent == 0 {  // zero / subnormal: mantissa · 2^-24, exact in Float
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        return Float(bitPattern: sign | UInt32(exponent + 127 - 15) << 23 | mantissa << 13)
    }

    /// The binary16 bit pattern nearest to `f` (ties to even; beyond ±65504 rounds to ±inf).
    static func half(from f: Float) -> UInt16 {
        let bits = f.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude > 0x7F80_0000 { return sign | 0x7E00 | UInt16((bits >> 13) & 0x3FF) }  // NaN stays NaN
        if magnitude >= 0x4780_0000 {  // ≥ 65536, or inf: beyond the largest half after rounding
            // 65520 is the rounding boundary (halfway between 65504 and 2^16).
            return f.magnitude >= 65520 ? sign | 0x7C00 : sign | 0x7BFF
        }
        if magnitude < 0x3880_0000 {  // below 2^-14: subnormal half (or zero); round mantissa · 2^24
            let scaled = f.magnitude * 0x1p24  // exact: a power-of-two scale
            return sign | UInt16(scaled.rounded(.toNearestOrEven))
        }
        // Normal: drop 13 mantissa bits with round-to-nearest-even; a carry bumps the exponent.
        let rebased = magnitude - (UInt32(127 - 15) << 23)
        let rounded = rebased + 0x0FFF + ((rebased >> 13) & 1)
        return sign | UInt16(truncatingIfNeeded: rounded >> 13)
    }

    /// The `Float` equal to a bfloat16 bit pattern (its high 16 bits).
    static func float(fromBFloat16 b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// The bfloat16 bit pattern nearest to `f` (ties to even).
    static func bfloat16(from f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(bits >> 16) | 0x0040 }  // quiet NaN, sign kept
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(rounded >> 16)
    }
}
