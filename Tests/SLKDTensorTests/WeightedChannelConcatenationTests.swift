import Testing
import SLKDTensor

/// `Tensor.concatenatedChannels(_:weightedBy:)` (DRSformer MEFC's mixing) against the ops it
/// replaces — each part times its image's weight, then one concatenation along the channels — bit
/// for bit without a graph, in Float and Double, for parts of different widths, two images and a
/// strided part; with a graph its gradients pass a Float64 central-difference check.
@Suite("Weighted channel concatenation (DRSformer MEFC)")
struct WeightedChannelConcatenationTests {
    static func unfused(_ parts: [Tensor], _ weights: Tensor) -> Tensor {
        let n = parts[0].shape[0], broadcast = [n, 1] + Array(repeating: 1, count: parts[0].rank - 2)
        return Tensor.concatenated(parts.enumerated().map { k, part in
            part * weights.narrowed(axis: 1, start: k, length: 1).reshaped(broadcast)
        }, axis: 1)
    }

    static func mismatches(_ a: Tensor, _ b: Tensor) -> Int {
        func bits(_ t: Tensor) -> [UInt64] {
            t.dtype == .float32 ? t.contiguous().floats.map { UInt64($0.bitPattern) } : t.contiguous().doubles.map(\.bitPattern)
        }
        return a.shape == b.shape ? zip(bits(a), bits(b)).filter { $0 != $1 }.count : -1
    }

    @Test(arguments: [(1, [3, 3, 3], [5, 7]), (2, [1, 4, 2, 5], [6, 9]), (3, [8], [33]), (2, [2, 3], [])],
          [DType.float32, .float64])
    func equalsTheOps(shape: (Int, [Int], [Int]), dtype: DType) {
        let (n, channels, trailing) = shape
        var g = RandomGenerator(seed: 111)
        var parts = channels.map { Tensor.uniform([n, $0] + trailing, low: -2, high: 2, dtype: dtype, using: &g) }
        let weights = Tensor.uniform([n, channels.count], low: -1, high: 1, dtype: dtype, using: &g).softmax(axis: -1)
        let expected = Self.unfused(parts, weights)
        #expect(Self.mismatches(Tensor.concatenatedChannels(parts, weightedBy: weights), expected) == 0, "\(shape) \(dtype)")
        if trailing.count == 2 {
            parts[0] = parts[0].transposed(2, 3).contiguous().transposed(2, 3)
            #expect(Self.mismatches(Tensor.concatenatedChannels(parts, weightedBy: weights), expected) == 0, "\(shape) strided")
        }
    }

    @Test func passesFloat64GradientCheck() {
        var g = RandomGenerator(seed: 112)
        let inputs = [Tensor.uniform([2, 2, 3, 2], low: -1, high: 1, dtype: .float64, using: &g),
                      Tensor.uniform([2, 3, 3, 2], low: -1, high: 1, dtype: .float64, using: &g),
                      Tensor.uniform([2, 2], low: -1, high: 1, dtype: .float64, using: &g)]
        let report = gradCheck(inputs) { t in Tensor.concatenatedChannels([t[0], t[1]], weightedBy: t[2]) }
        #expect(report.passed, "\(report)")
    }
}
