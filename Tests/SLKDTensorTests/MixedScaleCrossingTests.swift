import Testing
import SLKDTensor

/// `Tensor.mixedScaleCrossing` (DRSformer's MSFN middle, fused for inference) against the op
/// sequence the MSFN used to run — two depthwise convolutions with ReLU, their halves crossed by two
/// concatenations, two grouped convolutions with ReLU, one concatenation — bit for bit. The shapes
/// take each direct kernel (the depthwise 3×3 plane kernel and the row kernel in Float, the generic
/// loop in Double), odd hidden widths (a group straddles the halves' seam), rows that are and are
/// not whole vectors, two images, biases, and a strided input.
@Suite("Mixed-scale crossing (DRSformer MSFN)")
struct MixedScaleCrossingTests {
    struct Layers {
        var d3: Conv2d, d5: Conv2d, g3: Conv2d, g5: Conv2d
    }

    static func layers(hid: Int, bias: Bool, dtype: DType, seed: UInt64) -> Layers {
        var g = RandomGenerator(seed: seed)
        return Layers(d3: Conv2d(2 * hid, 2 * hid, kernelSize: 3, padding: 1, groups: 2 * hid, bias: bias, dtype: dtype, using: &g),
                      d5: Conv2d(2 * hid, 2 * hid, kernelSize: 5, padding: 2, groups: 2 * hid, bias: bias, dtype: dtype, using: &g),
                      g3: Conv2d(2 * hid, hid, kernelSize: 3, padding: 1, groups: hid, bias: bias, dtype: dtype, using: &g),
                      g5: Conv2d(2 * hid, hid, kernelSize: 5, padding: 2, groups: hid, bias: bias, dtype: dtype, using: &g))
    }

    /// The MSFN's official op order (DRSformer_arch.py `FeedForward.forward`, after `project_in`).
    static func unfused(_ y: Tensor, _ l: Layers) -> Tensor {
        let hid = y.shape[1] / 2
        let s3 = l.d3.withReLU(y), s5 = l.d5.withReLU(y)
        let first = Tensor.concatenated([s3.narrowed(axis: 1, start: 0, length: hid), s5.narrowed(axis: 1, start: 0, length: hid)], axis: 1)
        let second = Tensor.concatenated([s3.narrowed(axis: 1, start: hid, length: hid),
                                          s5.narrowed(axis: 1, start: hid, length: hid)], axis: 1)
        return Tensor.concatenated([l.g3.withReLU(first), l.g5.withReLU(second)], axis: 1)
    }

    static func fused(_ y: Tensor, _ l: Layers) -> Tensor {
        Tensor.mixedScaleCrossing(y, depthwise3x3: l.d3, depthwise5x5: l.d5, grouped3x3: l.g3, grouped5x5: l.g5)
    }

    /// Elements whose bits differ (printing the arrays would flood the log).
    static func mismatches(_ a: Tensor, _ b: Tensor) -> Int {
        zip(bits(a), bits(b)).filter { $0 != $1 }.count
    }

    static func bits(_ t: Tensor) -> [UInt64] {
        t.dtype == .float32 ? t.contiguous().floats.map { UInt64($0.bitPattern) } : t.contiguous().doubles.map(\.bitPattern)
    }

    @Test(arguments: [(1, 3, 7, 9, false), (2, 4, 16, 16, true), (1, 5, 2, 3, true), (2, 1, 12, 24, false)],
          [DType.float32, .float64])
    func equalsTheUnfusedOps(shape: (Int, Int, Int, Int, Bool), dtype: DType) {
        let (n, hid, h, w, bias) = shape
        let l = Self.layers(hid: hid, bias: bias, dtype: dtype, seed: 101)
        var g = RandomGenerator(seed: 102)
        let y = Tensor.uniform([n, 2 * hid, h, w], low: -1, high: 1, dtype: dtype, using: &g)
        let (expected, unfusedMACs) = MACCounter.counting { withoutGradients { Self.unfused(y, l) } }
        let (result, fusedMACs) = MACCounter.counting { withoutGradients { Self.fused(y, l) } }
        #expect(result.shape == [n, 2 * hid, h, w])
        #expect(Self.mismatches(result, expected) == 0, "\(shape) \(dtype)")
        #expect(fusedMACs.macs(.conv) == unfusedMACs.macs(.conv))
        let strided = y.transposed(2, 3).contiguous().transposed(2, 3)
        #expect(Self.mismatches(withoutGradients { Self.fused(strided, l) }, expected) == 0, "\(shape) \(dtype), strided")
    }

    /// Layers that are not the MSFN's (here a dilated 5×5, which keeps the map's size) run the ops.
    @Test func otherLayersRunTheOps() {
        var l = Self.layers(hid: 2, bias: false, dtype: .float32, seed: 103)
        l.g5 = Conv2d(weight: l.g5.weight, bias: nil, padding: 4, dilation: 2, groups: 2)
        var g = RandomGenerator(seed: 104)
        let y = Tensor.uniform([1, 4, 9, 9], low: -1, high: 1, using: &g)
        #expect(Self.mismatches(withoutGradients { Self.fused(y, l) }, withoutGradients { Self.unfused(y, l) }) == 0)
    }

    /// With a graph it records the unfused ops: the input gradient passes a Float64 central-difference
    /// check (whose differences run the fused path), and the weights get the unfused ops' gradients.
    @Test func passesFloat64GradientCheck() {
        let l = Self.layers(hid: 3, bias: true, dtype: .float64, seed: 105)
        var g = RandomGenerator(seed: 106)
        let y = Tensor.uniform([1, 6, 5, 6], low: -1, high: 1, dtype: .float64, using: &g)
        let report = gradCheck([y]) { t in Self.fused(t[0], l) }
        #expect(report.passed, "\(report)")
        let weights = [l.d3.weight, l.d5.weight, l.g3.weight, l.g5.weight]
        let fused = Self.fused(y, l).sum().gradients(wrt: weights), unfused = Self.unfused(y, l).sum().gradients(wrt: weights)
        for k in 0..<4 { #expect(Self.mismatches(fused[k], unfused[k]) == 0, "weight \(k)") }
    }
}
