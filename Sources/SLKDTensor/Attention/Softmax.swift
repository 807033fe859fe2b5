// Softmax and log-softmax along any axis: numerically stable (the lane maximum is subtracted);
// entries equal to −∞ (masked attention scores) get probability 0.

extension Tensor {
    /// exp(x − max) / Σ exp(x − max) along `axis`, as `torch.softmax(x, dim: axis)`.
    public func softmax(axis: Int) -> Tensor {
        _ = Tensor.visionFloatType("softmax", self)
        let x = contiguous()
        let lanes = AxisLanes(shape: shape, axis: axis)
        let y = SoftmaxKernels.forward(x, lanes, log: false)
        let saved = y
        return Autograd.record(y, inputs: [x]) { g in [SoftmaxKernels.backward(g.contiguous(), saved, lanes, log: false)] }
    }

    /// x − log Σ exp(x) along `axis`, as `torch.log_softmax(x, dim: axis)`.
    public func logSoftmax(axis: Int) -> Tensor {
        _ = Tensor.visionFloatType("logSoftmax", self)
        let x = contiguous()
        let lanes = AxisLanes(shape: shape, axis: axis)
        let y = SoftmaxKernels.forward(x, lanes, log: true)
        let saved = y
        return Autograd.record(y, inputs: [x]) { g in [SoftmaxKernels.backward(g.contiguous(), saved, lanes, log: true)] }
    }
}

enum SoftmaxKernels {
    static func forward(_ x: Tensor, _ lanes: AxisLanes, log: Bool) -> Tensor {
        x.dtype.withFloatType { forward(x, lanes, log, $0) }
    }

    static func forward<T: TensorScalar>(_ x: Tensor, _ lanes: AxisLanes, _ log: Bool, _: T.Type) -> Tensor {
        let px = UnsafePointer(x.basePointer(T.self))
        let n = lanes.size, inner = lanes.inner
        return Tensor.make(x.shape, T.self) { out in
            let py = out.baseAddress!
            lanes.forEachBlock(T.self, scratchPerLane: 2) { base, m, scratch in
                if T.self == Float.self && inner == 1 && !log {
                    // Last-axis softmax (attention scores): the row is contiguous, so exp runs
                    // through the vectorised kernel (Tensor.exp's bits) over the whole row; same
                    // operations and summation order as the general loop.
                    let r = UnsafeRawPointer(px + base).assumingMemoryBound(to: Float.self)
                    let d = UnsafeMutableRawPointer(py + base).assumingMemoryBound(to: Float.self)
                    var mx = -Float.infinity
                    for c in 0..<n { mx = Swift.max(mx, r[c]) }
                    if !mx.isFinite { mx = 0 }
                    for c in 0..<n { d[c] = r[c] - mx }
                    ExpFunction.apply(UnsafePointer(d), to: d, count: n)
                    var sum: Float = 0
                    for c in 0..<n { sum += d[c] }
                    let scale = 1 / sum
                    for c in 0..<n { d[c] *= scale }
                    return
                }
                let mx = scratch, sum = scratch + m
                for j in 0..<m { mx[j] = -.infinity; sum[j] = 0 }
                for c in 0..<n { let r = px + base + c * inner; for j in 0..<m { mx[j] = Swift.max(mx[j], r[j]) } }
                // A lane of all −∞ would give −∞ − (−∞); shift by 0 instead (result NaN-free zeros / −∞).
                for j in 0..<m where !mx[j].isFinite { mx[j] = 0 }
                for c in 0..<n {
                    let r = px + base + c * inner, d = py + base + c * inner
                    if T.self == Float.self {
                        // Softmax over a non-last axis (Uformer's keys axis): the block's m lanes are
                        // contiguous at each c, so exp runs vectorised (Tensor.exp's bits) on them.
                        for j in 0..<m { d[j] = r[j] - mx[j] }
                        let df = UnsafeMutableRawPointer(d).assumingMemoryBound(to: Float.self)
                        ExpFunction.apply(UnsafePointer(df), to: df, count: m)
                        for j in 0..<m { sum[j] += d[j] }
                        continue
                    }
                    for j in 0..<m { let e = T.exp(r[j] - mx[j]); d[j] = e; sum[j] += e }
                }
                if log {
                    for j in 0..<m { sum[j] = mx[j] + T.log(sum[j]) }
                    for c in 0..<n {
                        let r = px + base + c * inner, d = py + base + c * inner
                        for j in 0..<m { d[j] = r[j] - sum[j] }
                    }
                } else {
                    for j in 0..<m { sum[j] = 1 / sum[j] }
                    for c in 0..<n { let d = py + base + c * inner; for j in 0..<m { d[j] *= sum[j] } }
                }
            }
        }
    }

    static func backward(_ g: Tensor, _ y: Tensor, _ lanes: AxisLanes, log: Bool) -> Tensor {
        y.dtype.withFloatType { backward(g, y, lanes, log, $0) }
    }

    /// softmax: dx = y·(g − Σ g·y); log-softmax: dx = g − exp(y)·Σ g.
    static func backward<T: TensorScalar>(_ g: Tensor, _ y: Tensor, _ lanes: AxisLanes, _ log: Bool, _: T.Type) -> Tensor {
        let pg = UnsafePointer(g.basePointer(T.self)), py = UnsafePointer(y.basePointer(T.self))
        let n = lanes.size, inner = lanes.inner
        return Tensor.make(y.shape, T.self) { out in
            let pgx = out.baseAddress!
            lanes.forEachBlock(T.self, scratchPerLane: 1) { base, m, s in
                for j in 0..<m { s[j] = 0 }
                for c in 0..<n {
                    let gr = pg + base + c * inner, yr = py + base + c * inner
                    if log { for j in 0..<m { s[j] += gr[j] } } else { for j in 0..<m { s[j] += gr[j] * yr[j] } }
                }
                for c in 0..<n {
                    let gr = pg + base + c * inner, yr = py + base + c * inner, d = pgx + base + c * inner
                    if log {
                        for j in 0..<m { d[j] = gr[j] - T.exp(yr[j]) * s[j] }
                    } else {
                        for j in 0..<m { d[j] = yr[j] * (gr[j] - s[j]) }
                    }
                }
            }
        }
    }
}
