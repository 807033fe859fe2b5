import Foundation

/// MATLAB `imresize(I, 0.5)`: bicubic (a = −0.5) with antialiasing, output ⌈H/2⌉×⌈W/2⌉.
///
/// Each dimension is a fixed linear map (Docs/Quality.md#matlab-resize): output x = 1…out samples
/// u = 2x − 0.5 with the kernel h(t) = ½·cubic(t/2) over 10 taps, weights normalised to sum 1,
/// out-of-range taps mirrored (aux = [1…n, n…1]). Rows are resized first, then columns.
public enum MATLABResize {
    /// Sparse weights of one dimension: output i reads `indices[i][t]` with `weights[i][t]`.
    public struct Weights: Sendable {
        public let inputCount: Int
        public let indices: [[Int]]
        public let weights: [[Double]]
        public var outputCount: Int { indices.count }
    }

    /// The Keys cubic with a = −0.5, as MATLAB's `cubic`.
    static func cubic(_ t: Double) -> Double {
        let a = abs(t), a2 = a * a, a3 = a2 * a
        if a <= 1 { return 1.5 * a3 - 2.5 * a2 + 1 }
        if a <= 2 { return -0.5 * a3 + 2.5 * a2 - 4 * a + 2 }
        return 0
    }

    /// The weights that halve a dimension of `n` samples (0-based indices).
    public static func halvingWeights(_ n: Int) -> Weights {
        precondition(n > 0, "cannot resize an empty dimension")
        let scale = 0.5, kernelWidth = 4.0 / scale
        let out = (n + 1) / 2
        let taps = Int(kernelWidth.rounded(.up)) + 2
        var indices = [[Int]](), weights = [[Double]]()
        for x in 1...out {
            let u = Double(x) / scale + 0.5 * (1 - 1 / scale)
            let left = Int((u - kernelWidth / 2).rounded(.down))
            var js = [Int](), ws = [Double]()
            for t in 0..<taps {
                let j = left + t
                js.append(j)
                ws.append(scale * cubic(scale * (u - Double(j))))
            }
            let total = ws.reduce(0, +)
            // Mirror to 1…n (MATLAB's aux vector) and merge repeated taps; drop zero weights.
            var merged = [Int: Double]()
            var order = [Int]()
            for (j, w) in zip(js, ws) where w != 0 {
                let m = ((j - 1) % (2 * n) + 2 * n) % (2 * n)
                let index = m < n ? m : 2 * n - 1 - m
                if merged[index] == nil { order.append(index) }
                merged[index, default: 0] += w / total
            }
            indices.append(order)
            weights.append(order.map { merged[$0]! })
        }
        return Weights(inputCount: n, indices: indices, weights: weights)
    }

    /// Halves a plane: ⌈height/2⌉ × ⌈width/2⌉, rows (the vertical dimension) first.
    public static func half(_ plane: [Double], width: Int, height: Int) -> (pixels: [Double], width: Int, height: Int) {
        precondition(plane.count == width * height, "plane holds \(plane.count) values, not \(width)×\(height)")
        let rowW = halvingWeights(height), colW = halvingWeights(width)
        let outH = rowW.outputCount, outW = colW.outputCount
        // MATLAB resizes the dimension with the larger scale change first; both are 0.5, so it
        // takes dimension 1 (rows) first. Each output row is a weighted sum of input rows.
        var vertical = [Double](repeating: 0, count: outH * width)
        plane.withUnsafeBufferPointer { src in
            vertical.withUnsafeMutableBufferPointer { dst in
                for i in 0..<outH {
                    let out = dst.baseAddress! + i * width
                    for (index, w) in zip(rowW.indices[i], rowW.weights[i]) {
                        let line = src.baseAddress! + index * width
                        for x in 0..<width { out[x] += w * line[x] }
                    }
                }
            }
        }
        // Columns: gather through flat, fixed-width tap tables (unused taps weigh 0).
        let taps = colW.indices.map(\.count).max() ?? 0
        var index = [Int](repeating: 0, count: outW * taps), weight = [Double](repeating: 0, count: outW * taps)
        for j in 0..<outW {
            for t in 0..<colW.indices[j].count {
                index[j * taps + t] = colW.indices[j][t]
                weight[j * taps + t] = colW.weights[j][t]
            }
        }
        var result = [Double](repeating: 0, count: outH * outW)
        vertical.withUnsafeBufferPointer { src in
            result.withUnsafeMutableBufferPointer { dst in
                index.withUnsafeBufferPointer { ix in
                    weight.withUnsafeBufferPointer { wx in
                        for y in 0..<outH {
                            let line = src.baseAddress! + y * width
                            for j in 0..<outW {
                                var acc = 0.0
                                for t in 0..<taps { acc += wx[j * taps + t] * line[ix[j * taps + t]] }
                                dst[y * outW + j] = acc
                            }
                        }
                    }
                }
            }
        }
        return (result, outW, outH)
    }
}
