import Testing
import SLKDTensor

@Suite("Casts")
struct CastTests {
    @Test("float64 → float32 rounds to nearest and back is exact")
    func roundTrip() {
        let values: [Double] = [0.1, -1e-40, 3.4e38, 1 + 1e-9, -2.5, 16_777_217]
        let x = Tensor(shape: [2, 3], scalars: values)
        let f = x.cast(to: .float32)
        #expect(f.dtype == .float32)
        #expect(f.floats == values.map { Float($0) })
        #expect(f.cast(to: .float64).doubles == values.map { Double(Float($0)) })
    }

    @Test("casts of strided views read the view's elements")
    func stridedCast() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6] as [Float])
        #expect(x.transposed().cast(to: .float64).doubles == [1, 4, 2, 5, 3, 6])
        #expect(x.sliced(axis: 1, 0..<3, step: 2).cast(to: .float64).doubles == [1, 3, 4, 6])
    }

    @Test("int64 ↔ float: truncation toward zero like torch's .long()")
    func integerCasts() {
        let x = Tensor(shape: [4], scalars: [2.7, -2.7, 0.4, -0.4] as [Double])
        #expect(x.cast(to: .int64).integers == [2, -2, 0, 0])
        let i = Tensor(shape: [3], indices: [-3, 0, 1 << 40])
        #expect(i.cast(to: .float64).doubles == [-3, 0, Double(1 << 40)])
        #expect(i.cast(to: .float32).floats == [-3, 0, Float(1 << 40)])
    }

    @Test("gradients pass through a cast in the source dtype")
    func gradientThroughCast() {
        let x = Tensor(shape: [3], scalars: [1, 2, 3] as [Double]).requiringGrad()
        let y = x.cast(to: .float32) * Tensor(shape: [3], scalars: [0.5, 2, -1] as [Float])
        let g = y.sum().gradients(wrt: [x])[0]
        #expect(g.dtype == .float64)
        #expect(g.doubles == [0.5, 2, -1])
        // Rounding through float32 perturbs values by ~1e-8 relative: checked with looser tolerance.
        #expect(gradCheck([Tensor(shape: [4], scalars: [0.3, -1.2, 2.5, 0.7] as [Double])], eps: 1e-3, atol: 1e-4, rtol: 1e-3) { t in
            t[0].cast(to: .float32).cast(to: .float64).squared()
        }.passed)
    }
}
