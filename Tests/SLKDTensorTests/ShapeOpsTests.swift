import Testing
import SLKDTensor

/// PyTorch `F.pad` mode names as ``PaddingMode``.
private func paddingMode(_ c: ReferenceCase) -> PaddingMode {
    switch c.params["mode"]!.text {
    case "constant": .constant(c.params["value"]?.number ?? 0)
    case "reflect": .reflect
    case "replicate": .replicate
    case "circular": .circular
    case let other: fatalError("unknown padding mode \(other)")
    }
}

/// F.pad's flat amounts (last axis first) as per-axis pairs in axis order.
private func axisPairs(_ amounts: [Int]) -> [(before: Int, after: Int)] {
    stride(from: amounts.count - 2, through: 0, by: -2).map { (amounts[$0], amounts[$0 + 1]) }
}

/// The ops of `shape_ops.json`; index inputs arrive as floats and are cast to int64.
private func shapeOp(_ c: ReferenceCase) -> ([Tensor]) -> Tensor {
    let p = c.params
    let index = { (t: Tensor) in t.cast(to: .int64) }
    switch c.op {
    case "concat": return { Tensor.concatenated($0, axis: p["axis"]!.int) }
    case "concat_t": return { Tensor.concatenated([$0[0].transposed(), $0[1]], axis: p["axis"]!.int) }
    case "stack": return { Tensor.stacked($0, axis: p["axis"]!.int) }
    case "split":
        return { x in
            let pieces = x[0].split(sizes: p["sizes"]!.ints, axis: p["axis"]!.int)
            return Tensor.concatenated(pieces.enumerated().map { $1 * Double($0 + 1) }, axis: p["axis"]!.int)
        }
    case "split_piece": return { $0[0].split(sizes: p["sizes"]!.ints, axis: p["axis"]!.int)[p["k"]!.int] }
    case "chunk":
        return { x in
            let pieces = x[0].chunked(p["count"]!.int, axis: p["axis"]!.int)
            return Tensor.concatenated(pieces.enumerated().map { $1 * Double($0 + 1) }, axis: p["axis"]!.int)
        }
    case "pad": return { $0[0].padded(torchAmounts: p["pad"]!.ints, mode: paddingMode(c)) }
    case "pad_t": return { $0[0].transposed().padded(axisPairs(p["pad"]!.ints), mode: paddingMode(c)) }
    case "gather": return { $0[0].gathering(axis: p["axis"]!.int, index: index($0[1])) }
    case "gather_t": return { $0[0].transposed().gathering(axis: p["axis"]!.int, index: index($0[1])) }
    case "scatter_add": return { $0[0].scatteringAdd(axis: p["axis"]!.int, index: index($0[1]), source: $0[2]) }
    case "scatter": return { $0[0].scattering(axis: p["axis"]!.int, index: index($0[1]), source: $0[2]) }
    case "index_select": return { $0[0].selecting(axis: p["axis"]!.int, indices: index($0[1])) }
    case "roll": return { $0[0].rolled(shifts: p["shifts"]!.ints, axes: p["axes"]!.ints) }
    case "flip": return { $0[0].flipped(axes: p["axes"]!.ints) }
    case "tile": return { $0[0].tiled(p["reps"]!.ints) }
    default: fatalError("unknown op \(c.op)")
    }
}

@Suite("Shape ops")
struct ShapeOpsTests {
    static let cases = (try? loadReferenceCases("shape_ops")) ?? []

    @Test("match PyTorch in float64", arguments: cases.map(\.name))
    func matchesPyTorch64(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, rtol: 1e-12, atol: 1e-12, shapeOp(c))
    }

    @Test("match PyTorch in float32", arguments: cases.map(\.name))
    func matchesPyTorch32(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-6, shapeOp(c))
    }

    @Test("pass float64 gradient checks", arguments: cases.map(\.name))
    func gradientCheck(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let op = shapeOp(c)
        let report = gradCheckDifferentiableInputs(c, op)
        #expect(report.passed, "\(report)")
    }

    @Test func referenceVectorsArePresent() { #expect(Self.cases.count == 47) }

    /// Channel slices of one image are one contiguous run each: fewer runs than threads, so the
    /// copy cuts every run into pieces (82 560 elements, not a multiple of the piece size). The
    /// result must equal the element-by-element concatenation, in both dtypes.
    @Test(arguments: [DType.float32, .float64])
    func concatenationOfLongRunsInPieces(_ dtype: DType) {
        let (channels, height, width) = (8, 128, 129), plane = height * width
        let a = Tensor(shape: [1, channels, height, width], scalars: (0..<(channels * plane)).map { Double($0) }).cast(to: dtype)
        let b = Tensor(shape: [1, channels, height, width], scalars: (0..<(channels * plane)).map { -Double($0) - 0.5 }).cast(to: dtype)
        let joined = Tensor.concatenated([a.narrowed(axis: 1, start: 0, length: 5), b.narrowed(axis: 1, start: 3, length: 5)], axis: 1)
        #expect(joined.shape == [1, 10, height, width])
        let expected = (0..<(5 * plane)).map { Double($0) } + (0..<(5 * plane)).map { -Double($0 + 3 * plane) - 0.5 }
        #expect(joined.cast(to: .float64).doubles == expected)
    }

    @Test("pairs and F.pad order agree")
    func padArgumentOrders() {
        let x = Tensor(shape: [1, 3, 4], scalars: (0..<12).map(Double.init))
        let a = x.padded([(2, 1), (3, 0)], mode: .reflect)
        let b = x.padded(torchAmounts: [3, 0, 2, 1], mode: .reflect)
        #expect(a.shape == [1, 6, 7])
        #expect(a.doubles == b.doubles)
        // Row 0 of the result reflects row 2 of the source: [2, 1, 0] then 8 9 10 11 → reflect 11 10 9 | 8 9 10 11.
        #expect(Array(a.doubles[0..<7]) == [11, 10, 9, 8, 9, 10, 11])
    }

    @Test("int64 data movement")
    func integerTensors() {
        let x = Tensor(shape: [2, 3], indices: [0, 1, 2, 3, 4, 5])
        let y = Tensor(shape: [2, 1], indices: [6, 7])
        #expect(Tensor.concatenated([x, y], axis: 1).integers == [0, 1, 2, 6, 3, 4, 5, 7])
        #expect(Tensor.stacked([x, x], axis: 1).shape == [2, 2, 3])
        #expect(x.padded([(0, 0), (1, 1)], mode: .constant(-1)).integers == [-1, 0, 1, 2, -1, -1, 3, 4, 5, -1])
        #expect(x.padded([(1, 0)], mode: .replicate).integers == [0, 0, 1, 2, 3, 3, 4, 5])
        #expect(x.rolled(shifts: [1], axes: [1]).integers == [2, 0, 1, 5, 3, 4])
        #expect(x.flipped(axes: [0]).integers == [3, 4, 5, 0, 1, 2])
        #expect(x.tiled([1, 2]).integers == [0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5])
        #expect(x.gathering(axis: 1, index: Tensor(shape: [2, 2], indices: [2, 0, 1, 1])).integers == [2, 0, 4, 4])
        #expect(x.selecting(axis: 0, indices: Tensor(shape: [3], indices: [1, 0, 1])).integers == [3, 4, 5, 0, 1, 2, 3, 4, 5])
        #expect(x.scattering(axis: 1, index: Tensor(shape: [2, 1], indices: [2, 0]), source: y).integers == [0, 1, 6, 7, 4, 5])
    }

    @Test("chunk sizes follow torch.chunk")
    func chunkSizes() {
        let x = Tensor.arange(10, dtype: .float64)
        #expect(x.chunked(4, axis: 0).map { $0.shape[0] } == [3, 3, 3, 1])
        #expect(x.chunked(6, axis: 0).map { $0.shape[0] } == [2, 2, 2, 2, 2])
        #expect(x.chunked(3, axis: 0).map(\.doubles).last == [8, 9])
    }

    @Test("scatter overwrite zeroes self's gradient at written positions")
    func scatterSelfGradient() {
        let x = Tensor(shape: [3], scalars: [1, 2, 3] as [Double]).requiringGrad()
        let s = Tensor(shape: [1], scalars: [9] as [Double]).requiringGrad()
        let y = x.scattering(axis: 0, index: Tensor(shape: [1], indices: [1]), source: s)
        #expect(y.doubles == [1, 9, 3])
        let g = (y * Tensor(shape: [3], scalars: [1, 2, 3] as [Double])).sum().gradients(wrt: [x, s])
        #expect(g[0].doubles == [1, 0, 3])
        #expect(g[1].doubles == [2])
    }

    /// Large enough to split across threads: checks the parallel paths against simple loops.
    @Test("large tensors use the threaded paths correctly")
    func largeTensors() {
        let h = 300, w = 257
        let x = Tensor(shape: [2, h, w], scalars: (0..<(2 * h * w)).map { Double($0 % 1009) })
        let v = x.doubles
        let p = x.padded([(3, 2), (4, 5)], mode: .reflect)
        #expect(p.shape == [2, h + 5, w + 9])
        let pv = p.doubles
        func reflect(_ i: Int, _ n: Int) -> Int { i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i) }
        var mismatches = 0
        for b in 0..<2 { for i in 0..<(h + 5) { for j in 0..<(w + 9) {
            let expected = v[(b * h + reflect(i - 3, h)) * w + reflect(j - 4, w)]
            if pv[(b * (h + 5) + i) * (w + 9) + j] != expected { mismatches += 1 }
        } } }
        #expect(mismatches == 0)
        // The reflect adjoint of ones counts how many outputs read each input.
        let leaf = x.requiringGrad()
        let grad = leaf.padded([(3, 2), (4, 5)], mode: .reflect).sum().gradients(wrt: [leaf])[0].doubles
        #expect(grad.reduce(0, +) == Double(2 * (h + 5) * (w + 9)))
        // Input row 1 is read by output rows 4 and 2 (reflected), column 1 by 5 and 3: 4 reads.
        #expect(grad[1 * w + 1] == 4)
        #expect(grad[5 * w + 10] == 1)
        // Concatenating a strided view: the second half must be x itself.
        let strided = x.transposed(1, 2).contiguous().transposed(1, 2)
        #expect(!strided.isContiguous)
        let cat = Tensor.concatenated([x, strided], axis: 0).doubles
        #expect(Array(cat[0..<(h * w * 2)]) == v && Array(cat[(h * w * 2)...]) == v)
        let rolled = x.rolled(shifts: [5], axes: [2]).doubles
        #expect(rolled[0] == v[w - 5] && rolled[w + 7] == v[w + 2])
    }
}
