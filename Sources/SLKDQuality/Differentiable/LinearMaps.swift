/// The fixed linear maps the differentiable extractors apply along one image axis, as constant
/// matrices: an axis-wise filter, resize or shift of X ∈ ℝ^{…×H×W} is A·X along H and X·Bᵀ along
/// W, so `matmul`'s own gradient rule differentiates it.
enum LinearMaps {
    /// n×n correlation with a symmetric odd kernel: row i holds the taps of output i.
    static func correlation(_ n: Int, kernel: [Double], padding: BorderPadding) -> [Double] {
        let half = kernel.count / 2
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for (t, w) in kernel.enumerated() {
                var j = i + t - half
                if j < 0 || j >= n {
                    if padding == .zero { continue }
                    j = Swift.min(n - 1, Swift.max(0, j))
                }
                m[i * n + j] += w
            }
        }
        return m
    }

    /// ⌈n/2⌉×n MATLAB `imresize(·, 0.5)` weights.
    static func halving(_ n: Int) -> [Double] {
        let w = MATLABResize.halvingWeights(n)
        var m = [Double](repeating: 0, count: w.outputCount * n)
        for i in 0..<w.outputCount {
            for (j, v) in zip(w.indices[i], w.weights[i]) { m[i * n + j] += v }
        }
        return m
    }

    /// n×n circular shift: (P·x)[i] = x[(i − s) mod n].
    static func circularShift(_ n: Int, by s: Int) -> [Double] {
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n { m[i * n + ((i - s) % n + n) % n] = 1 }
        return m
    }

    /// A constant matrix tensor of the dtype of `like`.
    static func tensor(_ values: [Double], rows: Int, columns: Int, like: Tensor) -> Tensor {
        let t = Tensor(shape: [rows, columns], scalars: values)
        return like.dtype == .float64 ? t : t.cast(to: like.dtype)
    }

    /// A·X·Bᵀ over the last two axes of X.
    static func apply(rows a: Tensor, columns b: Tensor, to x: Tensor) -> Tensor {
        a.matmul(x).matmul(b.transposed())
    }

    /// Stacks same-shaped tensors along a new last axis (one copy; n parts cost O(n), where a sum
    /// of one-hot products cost O(n²)).
    static func stackLast(_ parts: [Tensor]) -> Tensor {
        Tensor.stacked(parts, axis: parts[0].rank)
    }
}
