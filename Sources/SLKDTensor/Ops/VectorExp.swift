import RealModule

/// Float `exp` four lanes at a time, bit-for-bit equal to glibc's `expf`.
///
/// This is glibc's own algorithm (ARM optimized-routines `e_expf.c`): in double precision,
/// x·32/ln2 = k + r, exp(x) = 2^(k/32) · p(r) with a 32-entry table of 2^(i/32) and a cubic p.
/// glibc's FMA build computes r = fma(32/ln2, x, −k) with one rounding; without FMA in the
/// baseline target we split 32/ln2 = hi + lo with a 29-bit hi, so hi·x and hi·x − k are exact
/// and r = (hi·x − k) + lo·x. Checked against glibc over every float with |x| ≤ 88 (2.2·10⁹
/// inputs, 0 differences); other inputs (overflow, underflow, NaN, ±∞) go to `expf` itself.
@usableFromInline
enum VectorExp {
    /// Bits of 2^(i/32) minus i << 47, so that adding k << 47 scales by 2^(k div 32).
    @usableFromInline static let table: [UInt64] = [
        0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
        0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
        0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
        0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
        0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
        0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
        0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
        0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
    ]

    /// exp of four floats with |x| ≤ 88; `table` is ``table``'s storage.
    @inlinable @inline(__always)
    static func exp4(_ x: SIMD4<Float>, _ table: UnsafePointer<UInt64>) -> SIMD4<Float> {
        let invLn2N = 0x1.71547652b82fep+0 * 32.0
        let invLn2NHi = 0x1.7154765p+5, invLn2NLo = 0x1.5c17fp-26  // hi + lo == invLn2N exactly
        let shift = 0x1.8p+52
        let c0 = 0x1.c6af84b912394p-5 / 32 / 32 / 32, c1 = 0x1.ebfce50fac4f3p-3 / 32 / 32
        let c2 = 0x1.62e42ff0c52d6p-1 / 32
        let xd = SIMD4<Double>(Double(x[0]), Double(x[1]), Double(x[2]), Double(x[3]))
        let z = invLn2N * xd
        // Round to nearest integer by the 1.5·2^52 shift; its low bits are k.
        let shifted = z + shift
        let k = unsafeBitCast(shifted, to: SIMD4<UInt64>.self)
        let kd = shifted - shift
        let r = (invLn2NHi * xd - kd) + invLn2NLo * xd
        let i = k & 31
        let t = SIMD4<UInt64>(table[Int(i[0])], table[Int(i[1])], table[Int(i[2])], table[Int(i[3])])
        let s = unsafeBitCast(t &+ (k &<< 47), to: SIMD4<Double>.self)
        let r2 = r * r
        let p = c0 * r + c1
        var y = c2 * r + 1
        y = p * r2 + y
        y = y * s
        return SIMD4<Float>(Float(y[0]), Float(y[1]), Float(y[2]), Float(y[3]))
    }

    /// Whether all four lanes are in the range `exp4` handles (false for NaN).
    @inlinable @inline(__always)
    static func inRange(_ x: SIMD4<Float>) -> Bool {
        let magnitude = unsafeBitCast(unsafeBitCast(x, to: SIMD4<UInt32>.self) & 0x7fff_ffff, to: SIMD4<Float>.self)
        return all(magnitude .<= 88)
    }

    /// `destination[i] = transform(exp(source[i] · sign))`, four at a time; `transform` gets
    /// the input and its exp (sigmoid builds on it).
    @inlinable @inline(__always)
    static func map(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count n: Int,
                    negateMagnitude: Bool,
                    _ transform: (SIMD4<Float>, SIMD4<Float>) -> SIMD4<Float>,
                    scalar: (Float) -> Float) {
        table.withUnsafeBufferPointer { tab in
            let t = tab.baseAddress!
            var i = 0
            while i + 4 <= n {
                let x = UnsafeRawPointer(source + i).loadUnaligned(as: SIMD4<Float>.self)
                if inRange(x) {
                    // -|x| when asked (sigmoid needs exp(-|x|)).
                    let arg = negateMagnitude
                        ? unsafeBitCast(unsafeBitCast(x, to: SIMD4<UInt32>.self) | 0x8000_0000, to: SIMD4<Float>.self)
                        : x
                    let y = transform(x, exp4(arg, t))
                    UnsafeMutableRawPointer(destination + i).storeBytes(of: y, as: SIMD4<Float>.self)
                } else {
                    for k in i..<(i + 4) { destination[k] = scalar(source[k]) }
                }
                i += 4
            }
            while i < n {
                destination[i] = scalar(source[i])
                i += 1
            }
        }
    }
}

extension ExpFunction {
    @inlinable
    static func apply<T: TensorScalar>(_ source: UnsafePointer<T>, to destination: UnsafeMutablePointer<T>, count: Int) {
        guard T.self == Float.self else {
            for i in 0..<count { destination[i] = apply(source[i]) }
            return
        }
        VectorExp.map(UnsafeRawPointer(source).assumingMemoryBound(to: Float.self),
                      UnsafeMutableRawPointer(destination).assumingMemoryBound(to: Float.self), count: count,
                      negateMagnitude: false, { _, e in e }, scalar: { apply($0) })
    }
}

extension SigmoidFunction {
    /// 1 / (1 + e) for x ≥ 0 and e / (1 + e) for x < 0 with e = exp(−|x|): the scalar form's
    /// exact operations.
    @inlinable
    static func apply<T: TensorScalar>(_ source: UnsafePointer<T>, to destination: UnsafeMutablePointer<T>, count: Int) {
        guard T.self == Float.self else {
            for i in 0..<count { destination[i] = apply(source[i]) }
            return
        }
        VectorExp.map(UnsafeRawPointer(source).assumingMemoryBound(to: Float.self),
                      UnsafeMutableRawPointer(destination).assumingMemoryBound(to: Float.self), count: count,
                      negateMagnitude: true, { x, e in
                          let one = SIMD4<Float>(repeating: 1)
                          let denominator = one + e
                          return (one / denominator).replacing(with: e / denominator, where: x .< 0)
                      }, scalar: { apply($0) })
    }
}
