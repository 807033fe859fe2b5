import Testing
import SLKDTensor

/// The ops of `vision_resample_attn.json`, by the op name the generator wrote.
private func resampleOp(_ c: ReferenceCase) -> ([Tensor]) -> Tensor {
    let p = c.params
    switch c.op {
    case "pixel_shuffle": return { $0[0].pixelShuffle(p["r"]!.int) }
    case "pixel_unshuffle": return { $0[0].pixelUnshuffle(p["r"]!.int) }
    case "avgpool":
        return { $0[0].avgPool2d(kernel: p["k"]!.int, stride: p["s"]!.int, padding: p["p"]!.int, countIncludePad: p["cip"]!.flag) }
    case "adaptive_avgpool1": return { $0[0].adaptiveAvgPool2dToOne() }
    case "interp":
        let size = p["size"]!.ints
        if p["mode"]!.text == "nearest" { return { $0[0].nearestResized(to: (size[0], size[1])) } }
        return { $0[0].bilinearResized(to: (size[0], size[1]), alignCorners: p["align"]!.flag) }
    case "topk_values": return { $0[0].topK(p["k"]!.int, axis: p["axis"]!.int).values }
    case "topk_values_smallest": return { $0[0].topK(p["k"]!.int, axis: p["axis"]!.int, largest: false).values }
    case "topk_indices": return { t in t[0].topK(p["k"]!.int, axis: p["axis"]!.int).indices.cast(to: t[0].dtype) }
    case "drs_topk_softmax":
        return { t in
            let mask = t[0].topKMask(p["k"]!.int, axis: -1)
            return Tensor.where(mask > 0, t[0], Tensor(scalar: -.infinity, dtype: t[0].dtype)).softmax(axis: -1)
        }
    case "window_partition": return { $0[0].windowPartition(p["ws"]!.int) }
    case "window_reverse": return { $0[0].windowReverse(p["ws"]!.int, height: p["h"]!.int, width: p["w"]!.int) }
    case "cyclic_shift": return { $0[0].cyclicShifted(p["shifts"]!.ints, axes: p["axes"]!.ints) }
    case "relative_position_bias":
        return { t in Tensor.relativePositionBias(table: t[0], index: t[1].cast(to: .int64)) }
    default: fatalError("unknown op \(c.op)")
    }
}

@Suite("Vision: resampling and attention helpers")
struct VisionResampleAttentionTests {
    static let cases = (try? loadReferenceCases("vision_resample_attn")) ?? []

    @Test("match PyTorch in float64", arguments: cases.map(\.name))
    func matchesPyTorch64(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, rtol: 1e-10, atol: 1e-12, resampleOp(c))
    }

    @Test("match PyTorch in float32", arguments: cases.map(\.name))
    func matchesPyTorch32(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-5, resampleOp(c))
    }

    @Test("pass float64 gradient checks", arguments: cases.filter { !$0.grads.isEmpty }.map(\.name))
    func gradientCheck(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let op = resampleOp(c)
        let report = gradCheckDifferentiableInputs(c, op)
        #expect(report.passed, "\(report)")
    }

    /// Pixel unshuffle undoes pixel shuffle, and the two match the closed-form index formula.
    @Test func pixelShuffleFormula() {
        let r = 3, c = 2, h = 2, w = 4
        let x = Tensor.arange(c * r * r * h * w, dtype: .float64).reshaped([1, c * r * r, h, w])
        let y = x.pixelShuffle(r).doubles
        for ch in 0..<c { for i in 0..<r { for j in 0..<r { for hh in 0..<h { for ww in 0..<w {
            let out = (ch * h * r + hh * r + i) * w * r + ww * r + j
            #expect(y[out] == Double(((ch * r * r + i * r + j) * h + hh) * w + ww))
        } } } } }
        #expect(x.pixelShuffle(r).pixelUnshuffle(r).doubles == x.doubles)
    }

    /// Window reverse inverts window partition, and a shift by −s then +s is the identity.
    @Test func windowAndShiftRoundTrips() {
        var rng = RandomGenerator(seed: 9)
        let x = Tensor.uniform([2, 16, 24, 5], dtype: .float64, using: &rng)
        #expect(x.windowPartition(8).windowReverse(8, height: 16, width: 24).doubles == x.doubles)
        #expect(x.cyclicShifted([-4, -4], axes: [1, 2]).cyclicShifted([4, 4], axes: [1, 2]).doubles == x.doubles)
    }

    /// The lookup reads a strided index in place (Uformer passes its index transposed): the
    /// result is table[index[j, i], h] entry by entry, and the gradient of repeated entries adds up.
    @Test func relativePositionBiasThroughATransposedIndex() {
        var rng = RandomGenerator(seed: 4)
        let (entries, heads, m) = (9, 3, 4)
        let table = Tensor.uniform([entries, heads], dtype: .float64, using: &rng).requiringGrad()
        let raw = (0..<(m * m)).map { ($0 * 5 + 2) % entries }
        let index = Tensor(shape: [m, m], indices: raw).transposed()
        let y = Tensor.relativePositionBias(table: table, index: index)
        #expect(y.shape == [heads, m, m])
        let t = table.doubles, values = y.doubles
        for h in 0..<heads { for i in 0..<m { for j in 0..<m {
            #expect(values[(h * m + i) * m + j] == t[raw[j * m + i] * heads + h])
        } } }
        let gradient = y.sum().gradients(wrt: [table])[0].doubles
        var counts = [Double](repeating: 0, count: entries)
        for e in raw { counts[e] += 1 }
        for e in 0..<entries { for h in 0..<heads { #expect(gradient[e * heads + h] == counts[e]) } }
    }

    @Test func referenceVectorsArePresent() { #expect(Self.cases.count == 20) }
}
