import Foundation
import Testing
import SLKDTensor

/// The vectorised float32 exp and sigmoid must equal the scalar forms (glibc `expf`) bit for bit.
@Suite("Vectorised exp")
struct VectorExpTests {
    /// Compares `Tensor.exp`/`sigmoid` with the scalar formulas over float bit patterns
    /// `start, start + step, …` (all of them with SLKD_EXHAUSTIVE=1).
    private func sweep(step: UInt64) -> (exp: Int, sigmoid: Int, checked: Int) {
        var expMismatches = 0, sigmoidMismatches = 0, checked = 0
        let chunk = 1 << 20
        var pattern: UInt64 = 0
        var xs = [Float](repeating: 0, count: chunk)
        while pattern < 1 << 32 {
            var n = 0
            while n < chunk && pattern < 1 << 32 {
                xs[n] = Float(bitPattern: UInt32(pattern))
                n += 1
                pattern += step
            }
            let x = Tensor(shape: [n], scalars: Array(xs[0..<n]))
            let e = x.exp().floats, s = x.sigmoid().floats
            for i in 0..<n {
                let v = xs[i]
                let expected = Foundation.expf(v)
                if e[i].bitPattern != expected.bitPattern && !(e[i].isNaN && expected.isNaN) { expMismatches += 1 }
                let sig: Float = v >= 0 ? 1 / (1 + Foundation.expf(-v)) : Foundation.expf(v) / (1 + Foundation.expf(v))
                if s[i].bitPattern != sig.bitPattern && !(s[i].isNaN && sig.isNaN) { sigmoidMismatches += 1 }
            }
            checked += n
        }
        return (expMismatches, sigmoidMismatches, checked)
    }

    @Test("float32 exp and sigmoid equal the scalar forms bit for bit")
    func matchesScalar() {
        let exhaustive = ProcessInfo.processInfo.environment["SLKD_EXHAUSTIVE"] == "1"
        let result = sweep(step: exhaustive ? 1 : 4099)
        #expect(result.checked > 1_000_000)
        #expect(result.exp == 0, "\(result.exp) of \(result.checked) exp results differ")
        #expect(result.sigmoid == 0, "\(result.sigmoid) of \(result.checked) sigmoid results differ")
    }

    @Test("odd lengths, specials and the scalar tail")
    func specials() {
        let values: [Float] = [0, -0.0, 1, -1, 88, -88, 88.5, -104, 89, .infinity, -.infinity, .nan,
                               .leastNonzeroMagnitude, 1e-30, -87.9, 0.5, 3]
        let e = Tensor(values).exp().floats
        let s = Tensor(values).sigmoid().floats
        for (i, v) in values.enumerated() {
            let expected = Foundation.expf(v)
            #expect(e[i].bitPattern == expected.bitPattern || (e[i].isNaN && expected.isNaN), "exp(\(v))")
            let sig: Float = v >= 0 ? 1 / (1 + Foundation.expf(-v)) : Foundation.expf(v) / (1 + Foundation.expf(v))
            #expect(s[i].bitPattern == sig.bitPattern || (s[i].isNaN && sig.isNaN), "sigmoid(\(v))")
        }
    }
}
