// L2 normalisation along an axis (`F.normalize`), with its closed-form backward rule.

extension Tensor {
    /// `x / max(‖x‖₂, eps)` along `axis`, as `F.normalize(x, dim: axis, eps: eps)`.
    public func l2Normalized(axis: Int, eps: Double = 1e-12) -> Tensor {
        _ = Tensor.visionFloatType("l2Normalized", self)
        let x = contiguous()
        let lanes = AxisLanes(shape: shape, axis: axis)
        let (y, norms) = NormKernels.l2Forward(x, lanes, eps)
        let saved = y
        return Autograd.record(y, inputs: [x]) { g in [NormKernels.l2Backward(g.contiguous(), saved, norms, lanes, eps)] }
    }
}

extension NormKernels {
    static func l2Forward(_ x: Tensor, _ lanes: AxisLanes, _ eps: Double) -> (Tensor, [Double]) {
        x.dtype.withFloatType { l2Forward(x, lanes, eps, $0) }
    }

    /// Returns y and max(‖x‖, eps) per lane.
    static func l2Forward<T: TensorScalar>(_ x: Tensor, _ lanes: AxisLanes, _ eps: Double, _: T.Type) -> (Tensor, [Double]) {
        let px = UnsafePointer(x.basePointer(T.self))
        let n = lanes.size, inner = lanes.inner
        var norms = [Double](repeating: 0, count: lanes.outer * inner)
        let y = norms.withUnsafeMutableBufferPointer { nb in
            let pn = nb.baseAddress!
            return Tensor.make(x.shape, T.self) { out in
                let py = out.baseAddress!
                lanes.forEachBlock(T.self, scratchPerLane: 1) { base, m, s in
                    for j in 0..<m { s[j] = 0 }
                    if inner == 1 {
                        s[0] = VisionMath.dot(px + base, px + base, n)
                    } else {
                        for c in 0..<n { let r = px + base + c * inner; for j in 0..<m { s[j] += r[j] * r[j] } }
                    }
                    let first = lanes.firstLane(ofBlockAt: base)
                    for j in 0..<m {
                        let norm = Swift.max(s[j].squareRoot(), T(eps))
                        pn[first + j] = Double(norm)
                        s[j] = 1 / norm
                    }
                    if inner == 1 {
                        // One contiguous lane (attention's q and k over H·W): a loop that vectorises.
                        let r = px + base, d = py + base, scale = s[0]
                        for c in 0..<n { d[c] = r[c] * scale }
                    } else {
                        for c in 0..<n {
                            let r = px + base + c * inner, d = py + base + c * inner
                            for j in 0..<m { d[j] = r[j] * s[j] }
                        }
                    }
                }
            }
        }
        return (y, norms)
    }

    static func l2Backward(_ g: Tensor, _ y: Tensor, _ norms: [Double], _ lanes: AxisLanes, _ eps: Double) -> Tensor {
        y.dtype.withFloatType { l2Backward(g, y, norms, lanes, eps, $0) }
    }

    /// Where ‖x‖ > eps: dx = (g − y·Σ g·y) / ‖x‖; otherwise the norm is the constant eps: dx = g / eps.
    static func l2Backward<T: TensorScalar>(_ g: Tensor, _ y: Tensor, _ norms: [Double], _ lanes: AxisLanes,
                                            _ eps: Double, _: T.Type) -> Tensor {
        let pg = UnsafePointer(g.basePointer(T.self)), py = UnsafePointer(y.basePointer(T.self))
        let n = lanes.size, inner = lanes.inner
        return norms.withUnsafeBufferPointer { nb in
            let pn = nb.baseAddress!
            return Tensor.make(y.shape, T.self) { out in
                let pgx = out.baseAddress!
                lanes.forEachBlock(T.self, scratchPerLane: 2) { base, m, scratch in
                    let dotGY = scratch, inv = scratch + m
                    let first = lanes.firstLane(ofBlockAt: base)
                    for j in 0..<m {
                        let norm = pn[first + j]
                        inv[j] = T(1 / norm)
                        dotGY[j] = 0
                        if norm <= eps { inv[j] = T(1 / eps) }
                    }
                    if inner == 1 {
                        dotGY[0] = pn[first] > eps ? VisionMath.dot(pg + base, py + base, n) : 0
                    } else {
                        for c in 0..<n {
                            let gr = pg + base + c * inner, yr = py + base + c * inner
                            for j in 0..<m { dotGY[j] += gr[j] * yr[j] }
                        }
                        for j in 0..<m where pn[first + j] <= eps { dotGY[j] = 0 }
                    }
                    if inner == 1 {
                        let gr = pg + base, yr = py + base, d = pgx + base, dot = dotGY[0], scale = inv[0]
                        for c in 0..<n { d[c] = (gr[c] - yr[c] * dot) * scale }
                    } else {
                        for c in 0..<n {
                            let gr = pg + base + c * inner, yr = py + base + c * inner, d = pgx + base + c * inner
                            for j in 0..<m { d[j] = (gr[j] - yr[j] * dotGY[j]) * inv[j] }
                        }
                    }
                }
            }
        }
    }
}
