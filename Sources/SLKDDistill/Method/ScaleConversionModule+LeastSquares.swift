import SLKDTensor

extension ScaleConversionModule {
    /// Sets each student projection (1×1 convolution, weight and bias) to the least-squares map
    /// from student features to teacher features on one batch, instead of a random start.
    ///
    /// For tap k, with the student's features S (N×C_s, one row per pixel of the batch) and the
    /// teacher's T (N×C_t, or its frozen projection in common-width mode), it solves
    /// min over W, b of ‖S·W + 1·bᵀ − T‖ with LAPACK's `dgelsd` in Float64 and stores W and b.
    /// When the student tap's spatial size differs from the teacher's, S is first resized to the
    /// teacher's size as ``mapStudent(_:tap:size:)`` does after its convolution: per-pixel channel
    /// mixing commutes with bilinear resizing, whose weights sum to one, so the fitted layer is
    /// exact for the mapping the SCM applies.
    ///
    /// Call it once, before training, with features of the first batch (no gradient is taken).
    /// The default SCM start remains PyTorch's random initialisation; this is an option.
    ///
    /// - Parameters:
    ///   - s: `student:`, the student's tap features, `B×C_s×H×W` each, in tap order.
    ///   - t: `teacher:`, the paired teacher features, `B×C_t×H'×W'`.
    ///   - offset: the slot of the first pair (``decoderTapOffset`` for decoder taps).
    /// - Returns: per pair, the relative residual ‖S·W + b − T‖ / ‖T‖ of the fit (0: exact).
    /// - Throws: `LeastSquaresError` when a feature holds a non-finite value.
    @discardableResult
    public func initialiseByLeastSquares(student s: [Tensor], teacher t: [Tensor], offset: Int = 0) throws -> [Double] {
        precondition(s.count == t.count, "SCM: \(s.count) student taps but \(t.count) teacher taps")
        return try withoutGradients {
            try s.indices.map { i in try fitTap(offset + i, student: s[i].detached(), teacher: t[i].detached()) }
        }
    }

    /// Fits slot `k`; returns the relative residual.
    private func fitTap(_ k: Int, student feature: Tensor, teacher: Tensor) throws -> Double {
        precondition(feature.rank == 4 && feature.shape[1] == studentChannels[k],
                     "SCM tap \(k): expected B×\(studentChannels[k])×H×W, got \(feature.shape)")
        let target = mapTeacher(teacher, tap: k)
        precondition(target.shape[0] == feature.shape[0], "SCM tap \(k): student batch \(feature.shape[0]) but teacher \(target.shape[0])")
        let size = (target.shape[2], target.shape[3])
        let resized = feature.shape[2] == size.0 && feature.shape[3] == size.1
            ? feature : feature.bilinearResized(to: size, alignCorners: false)
        let cs = studentChannels[k], co = target.shape[1]
        // Rows: pixels of the batch; columns: channels, plus a column of ones for the bias.
        let a = Self.pixelRows(resized, appendingOnes: true), b = Self.pixelRows(target, appendingOnes: false)
        let solution = try LeastSquares.solve(a, b).x  // (C_s + 1) × C_o
        let x = solution.doubles
        let conv = student[k]
        var weight = [Double](repeating: 0, count: co * cs)
        for o in 0..<co {
            for c in 0..<cs { weight[o * cs + c] = x[c * co + o] }
        }
        let dtype = conv.weight.dtype
        conv.weight = Tensor(shape: [co, cs, 1, 1], scalars: weight).cast(to: dtype)
        if conv.bias != nil { conv.bias = Tensor(shape: [co], scalars: Array(x[(cs * co)...])).cast(to: dtype) }
        let error = a.matmul(solution) - b
        let residual = (error * error).sum().doubles[0].squareRoot(), norm = (b * b).sum().doubles[0].squareRoot()
        return norm > 0 ? residual / norm : residual
    }

    /// A `B×C×H×W` feature as a Float64 `(B·H·W)×C` matrix (optionally with a last column of ones).
    static func pixelRows(_ feature: Tensor, appendingOnes: Bool) -> Tensor {
        let (batch, c, h, w) = (feature.shape[0], feature.shape[1], feature.shape[2], feature.shape[3])
        let rows = feature.cast(to: .float64).permuted([0, 2, 3, 1]).reshaped([batch * h * w, c])
        return appendingOnes ? Tensor.concatenated([rows, Tensor.ones([batch * h * w, 1], dtype: .float64)], axis: 1) : rows
    }
}
