import Testing
import SLKDTensor

/// `Tensor.concatenated(_:scaledBy:_:)` is `concatenated([first * scale, second], axis: 0)` in one
/// pass (Uformer's q/kv projection weight and bias): the same values and gradients bit for bit, in
/// Float and Double, for vectors and matrices, small ones and one whose parallel chunks straddle
/// the boundary between the two inputs; and Float64 central differences.
@Suite("Scaled concatenation")
struct ScaledConcatenationTests {
    @Test(arguments: [([5, 3], [7, 3]), ([7], [14]), ([0, 4], [3, 4]), ([512, 512], [1024, 512])],
          [DType.float32, .float64])
    func equalsTheThreeOps(shapes: ([Int], [Int]), dtype: DType) {
        var generator = RandomGenerator(seed: 91)
        let first = Tensor.uniform(shapes.0, low: -1, high: 1, dtype: dtype, using: &generator).requiringGrad()
        let second = Tensor.uniform(shapes.1, low: -1, high: 1, dtype: dtype, using: &generator).requiringGrad()
        let upstream = Tensor.uniform([shapes.0[0] + shapes.1[0]] + shapes.0.dropFirst(), low: -1, high: 1, dtype: dtype,
                                      using: &generator)
        let scale = 1 / Double(32).squareRoot()
        let fused = Tensor.concatenated(first, scaledBy: scale, second)
        let threeOps = Tensor.concatenated([first * scale, second], axis: 0)
        #expect(fused.shape == threeOps.shape)
        #expect(Self.bits(fused) == Self.bits(threeOps), "values \(shapes) \(dtype)")
        let fusedGrads = (fused * upstream).sum().gradients(wrt: [first, second])
        let threeOpsGrads = (threeOps * upstream).sum().gradients(wrt: [first, second])
        for k in 0..<2 { #expect(Self.bits(fusedGrads[k]) == Self.bits(threeOpsGrads[k]), "gradient \(k) \(shapes) \(dtype)") }
    }

    @Test func passesFloat64GradientCheck() {
        var generator = RandomGenerator(seed: 92)
        let inputs = [Tensor.uniform([4, 3], low: -1, high: 1, dtype: .float64, using: &generator),
                      Tensor.uniform([6, 3], low: -1, high: 1, dtype: .float64, using: &generator)]
        let report = gradCheck(inputs) { t in Tensor.concatenated(t[0], scaledBy: 0.3, t[1]) }
        #expect(report.passed, "\(report)")
    }

    static func bits(_ t: Tensor) -> [UInt64] {
        t.dtype == .float32 ? t.contiguous().floats.map { UInt64($0.bitPattern) } : t.contiguous().doubles.map(\.bitPattern)
    }
}
