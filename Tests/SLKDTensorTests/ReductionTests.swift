import Testing
import SLKDTensor

/// The ops of `reductions.json`. No "axes" parameter means every axis.
private func reductionOp(_ c: ReferenceCase) -> ([Tensor]) -> Tensor {
    let p = c.params
    let axes = p["axes"]?.ints
    let keep = p["keepdim"]?.flag ?? false
    switch c.op {
    case "sum": return { $0[0].sum(axes: axes, keepDims: keep) }
    case "sum_t": return { $0[0].transposed(0, 2).sum(axes: axes, keepDims: keep) }
    case "mean": return { $0[0].mean(axes: axes, keepDims: keep) }
    case "var": return { $0[0].variance(axes: axes, unbiased: p["unbiased"]!.flag, keepDims: keep) }
    case "amax": return { $0[0].max(axes: axes, keepDims: keep) }
    case "amax_t": return { $0[0].transposed(0, 2).max(axes: axes, keepDims: keep) }
    case "amin": return { $0[0].min(axes: axes, keepDims: keep) }
    case "logsumexp": return { $0[0].logSumExp(axes: axes, keepDims: keep) }
    case "norm":
        // The generator writes the order of the max-norm as the string "inf" (JSON has no infinity).
        let order: Double = if case .text("inf") = p["p"]! { .infinity } else { p["p"]!.number }
        return { $0[0].norm(order, axes: axes, keepDims: keep) }
    case "argmax": return { $0[0].argmax(axis: p["axis"]!.int, keepDims: keep) }
    case "argmin": return { $0[0].argmin(axis: p["axis"]!.int, keepDims: keep) }
    default: fatalError("unknown op \(c.op)")
    }
}

@Suite("Reductions")
struct ReductionTests {
    static let cases = (try? loadReferenceCases("reductions")) ?? []

    @Test("match PyTorch in float64", arguments: cases.map(\.name))
    func matchesPyTorch64(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, rtol: 1e-10, atol: 1e-12, reductionOp(c))
    }

    @Test("match PyTorch in float32", arguments: cases.map(\.name))
    func matchesPyTorch32(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-5, reductionOp(c))
    }

    /// Ties are excluded: a finite difference at a k-way tie (k > 2) is not the even share.
    /// Index-valued reductions have no gradient.
    @Test("pass float64 gradient checks",
          arguments: cases.filter { $0.params["ties"] == nil && !$0.op.hasPrefix("arg") }.map(\.name))
    func gradientCheck(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let op = reductionOp(c)
        let report = gradCheck([c.inputs["a"]!.tensor()]) { op($0) }
        #expect(report.passed, "\(report)")
    }

    @Test func referenceVectorsArePresent() { #expect(Self.cases.count == 92) }

    @Test("argmax returns int64 indices")
    func argmaxType() {
        let x = Tensor(shape: [2, 3], scalars: [1, 5, 5, -1, -3, -2] as [Double])
        let i = x.argmax(axis: 1)
        #expect(i.dtype == .int64)
        #expect(i.integers == [1, 0])
        #expect(x.argmin(axis: 0, keepDims: true).shape == [1, 3])
    }

    @Test("max shares the gradient among ties (amax), in closed form")
    func tieSharing() {
        let x = Tensor(shape: [2, 3], scalars: [2, 2, 2, 1, 4, 4] as [Double]).requiringGrad()
        let g = x.max(axes: [1]).sum().gradients(wrt: [x])[0]
        let third = 1.0 / 3
        let expected: [Double] = [third, third, third, 0, 0.5, 0.5]
        #expect(g.doubles == expected)
    }

    /// torch.amax/amin return NaN for a slice holding a NaN, wherever in the slice it is.
    @Test("max and min propagate NaN", arguments: [0, 1, 2])
    func nanPropagation(position: Int) {
        var values: [Double] = [1, 2, 3]
        values[position] = .nan
        let x = Tensor(shape: [2, 3], scalars: values + [4, 5, 6])
        for y in [x.max(axes: [1]), x.min(axes: [1]), x.max(axes: nil), x.transposed().max(axes: [0])] {
            #expect(y.doubles[0].isNaN, "\(y)")
        }
        #expect(x.max(axes: [1]).doubles[1] == 6 && x.min(axes: [1]).doubles[1] == 4)
        // Leading-axis accumulation path: the NaN must survive the running maximum.
        #expect(x.max(axes: [0]).doubles[position].isNaN)
    }

    /// PyTorch's vector_norm backward gives 0, not NaN, where the norm is 0 (values from torch 2.13).
    @Test("norm of a zero vector has a zero gradient", arguments: [2.0, 3.0, 1.0, .infinity])
    func zeroNormGradient(p: Double) {
        let x = Tensor(shape: [2, 3], scalars: [0, 0, 0, 1, -2, 0] as [Double]).requiringGrad()
        let g = x.norm(p, axes: [1]).sum().gradients(wrt: [x])[0].doubles
        let expected: [Double] = switch p {
        case 2: [0, 0, 0, 0.4472135954999579, -0.8944271909999159, 0]
        case 3: [0, 0, 0, 0.2311204247835449, -0.9244816991341795, 0]
        case 1: [0, 0, 0, 1, -1, 0]
        default: [0, 0, 0, 0, -1, 0]
        }
        #expect(zip(g, expected).allSatisfy { Swift.abs($0 - $1) < 1e-12 }, "p=\(p): \(g)")
    }

    /// The leading-axis path combines up to four rows into the same outputs at once; the result
    /// must be each output's rows combined one by one in order, bit for bit, whatever the row
    /// count (groups of 4, 3, 2, 1) and with a kept leading axis (rows of other outputs between).
    @Test("leading-axis reductions combine rows in order, bit for bit", arguments: 1...9)
    func leadingAxisOrder(rows: Int) {
        let lead = 3, cols = 37
        let values = (0..<(lead * rows * cols)).map { Float(($0 * 7919) % 1009) / 97 - 5 }
        let x = Tensor(shape: [lead, rows, cols], scalars: values)
        var sums = [Float](repeating: 0, count: lead * cols)
        var maxima = [Float](repeating: -.infinity, count: lead * cols)
        var minima = [Float](repeating: .infinity, count: lead * cols)
        for l in 0..<lead { for r in 0..<rows { for c in 0..<cols {
            let v = values[(l * rows + r) * cols + c], o = l * cols + c
            sums[o] = sums[o] + v
            maxima[o] = v > maxima[o] ? v : maxima[o]
            minima[o] = v < minima[o] ? v : minima[o]
        } } }
        #expect(x.sum(axes: [1]).floats.map(\.bitPattern) == sums.map(\.bitPattern))
        #expect(x.max(axes: [1]).floats == maxima)
        #expect(x.min(axes: [1]).floats == minima)
        // Reducing the two leading axes: all lead × rows rows into one set of outputs.
        var total = [Float](repeating: 0, count: cols)
        for row in 0..<(lead * rows) { for c in 0..<cols { total[c] = total[c] + values[row * cols + c] } }
        #expect(x.sum(axes: [0, 1]).floats.map(\.bitPattern) == total.map(\.bitPattern))
    }

    /// Large enough for the threaded inner-axis path and the leading-axis accumulation path.
    @Test("large sums agree with a plain loop", arguments: [[0], [1], [0, 1]])
    func largeSums(axes: [Int]) {
        let rows = 513, cols = 1031
        let values = (0..<(rows * cols)).map { Double(($0 * 7919) % 1000) / 1000 }
        let x = Tensor(shape: [rows, cols], scalars: values)
        var expected = [Double](repeating: 0, count: axes == [0] ? cols : (axes == [1] ? rows : 1))
        for r in 0..<rows { for c in 0..<cols {
            let v = values[r * cols + c]
            if axes == [0] { expected[c] += v } else if axes == [1] { expected[r] += v } else { expected[0] += v }
        } }
        let s = x.sum(axes: axes).doubles
        #expect(s.count == expected.count)
        #expect(zip(s, expected).allSatisfy { Swift.abs($0 - $1) <= 1e-9 * Swift.max(1, Swift.abs($1)) })
    }
}
