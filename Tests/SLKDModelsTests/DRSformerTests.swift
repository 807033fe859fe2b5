import Foundation
import Testing
import SLKDModels
import SLKDTestSupport

/// The official key listing `keys/<name>.txt`: (key, shape) in state_dict order.
private func officialKeys(_ name: String) throws -> [(key: String, shape: [Int])] {
    let text = try String(contentsOf: SharedReference.url("models/keys/\(name).txt"), encoding: .utf8)
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
        let fields = line.split(separator: "\t")
        let shape = fields[1].dropFirst().dropLast().split(separator: ",")
            .map { Int($0.trimmingCharacters(in: .whitespaces))! }
        return (String(fields[0]), shape)
    }
}

/// max |a − b| over all elements.
private func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Double {
    zip(a.doubles, b.doubles).reduce(0) { Swift.max($0, abs($1.0 - $1.1)) }
}


@Suite("DRSformer")
struct DRSformerTests {
    // MARK: Structure

    @Test func keptCountsFollowTheOfficialTruncation() {
        // int(c/2), int(c*2/3), int(c*3/4), int(c*4/5) (Tests/SLKDTestSupport/Vectors/Reference/models/README.md §4 and golden/README.md).
        #expect(TopKSparseAttention.keptCounts(headDimension: 48) == [24, 32, 36, 38])
        #expect(TopKSparseAttention.keptCounts(headDimension: 96) == [48, 64, 72, 76])
        #expect(TopKSparseAttention.keptCounts(headDimension: 24) == [12, 16, 18, 19])
        #expect(TopKSparseAttention.keptCounts(headDimension: 8) == [4, 5, 6, 6])
        #expect(TopKSparseAttention.keptCounts(headDimension: 16) == [8, 10, 12, 12])
    }

    @Test func presetParameterCounts() {
        // models/README.md table (Tests/SLKDTestSupport/Vectors/Reference): DRSformer 33,655,424; DRS-SL 4,599,380; DRS-SL with 4 MEFC steps ≈ 4.75 M and
        // without MEFC ≈ 4.45 M (its §5).
        #expect(DRSformer(.drsformer).parameterCount == 33_655_424)
        #expect(DRSformer(.drsSL).parameterCount == 4_599_380)
        var steps4 = DRSformer.Configuration.drsSL
        steps4.mefcSteps = 4
        #expect(abs(Double(DRSformer(steps4).parameterCount) - 4.75e6) < 0.005e6)
        var noMEFC = DRSformer.Configuration.drsSL
        noMEFC.mefc = false
        #expect(abs(Double(DRSformer(noMEFC).parameterCount) - 4.45e6) < 0.005e6)
    }

    @Test(arguments: [("drsformer", DRSformer.Configuration.drsformer), ("drs_sl", DRSformer.Configuration.drsSL)])
    func keysAndShapesEqualTheOfficialStateDict(_ name: String, _ configuration: DRSformer.Configuration) throws {
        let official = try officialKeys(name)
        let model = DRSformer(configuration)
        let ours = model.namedParameters().map { ($0.key, $0.tensor.shape) }
        #expect(ours.map(\.0) == official.map(\.key), "key list (in order) of \(name)")
        #expect(ours.map(\.1) == official.map(\.shape), "shapes of \(name)")
    }

    @Test
    func withoutMEFCDropsExactlyTheTwoCells() throws {
        // DRSformer_arch_200L+SPA.py: the teacher less encoder_level0 and refinement (README: 32.61 M).
        let official = try officialKeys("drsformer").filter {
            !$0.key.hasPrefix("encoder_level0.") && !$0.key.hasPrefix("refinement.")
        }
        let model = DRSformer(.drsformerWithoutMEFC)
        #expect(model.namedParameters().map(\.key) == official.map(\.key))
        let count = model.parameterCount
        #expect(count == official.reduce(0) { $0 + $1.shape.reduce(1, *) })
        #expect(abs(Double(count) - 32.61e6) < 0.005e6)
        #expect(!model.featureNames.contains("encoder_level0"))
        #expect(model(Tensor.zeros([1, 3, 8, 8])).shape == [1, 3, 8, 8])
    }

    @Test func configurationDecodesOfficialNamesWithDefaults() throws {
        let json = #"{"dim": 24, "num_blocks": [2,2,2,4], "LayerNorm_type": "BiasFree", "mefc_steps": 2, "arch": "x"}"#
        let c = try JSONDecoder().decode(DRSformer.Configuration.self, from: Data(json.utf8))
        #expect(c.dim == 24 && c.numBlocks == [2, 2, 2, 4] && c.mefcSteps == 2 && c.layerNormType == .biasFree)
        #expect(c.heads == [1, 2, 4, 8] && c.ffnExpansionFactor == 2.66 && !c.bias && c.mefc && c.inputChannels == 3)
        let defaults = try JSONDecoder().decode(DRSformer.Configuration.self, from: Data("{}".utf8))
        #expect(defaults == .drsformer)
        let roundTrip = try JSONDecoder().decode(DRSformer.Configuration.self, from: JSONEncoder().encode(c))
        #expect(roundTrip == c)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(DRSformer.Configuration.self, from: Data(#"{"heads": [1, 2]}"#.utf8))
        }
    }

    // MARK: Top-k sparse mixture

    /// The four masked softmaxes and their mix, evaluated independently with plain loops in Double.
    @Test func sparseMixtureMatchesDirectEvaluation() {
        var g = RandomGenerator(seed: 3)
        let c = 10, rows = 2 * 3 * c
        let scores = Tensor.normal([2, 3, c, c], dtype: .float64, using: &g)
        let weights = [0.3, -0.7, 1.1, 0.25]
        let kept = TopKSparseAttention.keptCounts(headDimension: c)   // 5, 6, 7, 8
        let mixed = TopKSparseAttention.sparseMixture(scores, weights: weights.map { Tensor(shape: [1], scalars: [$0]) },
                                                      kept: kept).doubles
        let s = scores.doubles
        var worst = 0.0
        for r in 0..<rows {
            let row = Array(s[(r * c)..<((r + 1) * c)])
            for i in 0..<c {
                var want = 0.0
                for (w, k) in zip(weights, kept) {
                    // Kept: fewer than k entries are larger.
                    let keptSet = (0..<c).filter { j in row.filter { $0 > row[j] }.count < k }
                    guard keptSet.contains(i) else { continue }
                    let m = keptSet.map { row[$0] }.max()!
                    want += w * exp(row[i] - m) / keptSet.reduce(0) { $0 + exp(row[$1] - m) }
                }
                worst = max(worst, abs(mixed[r * c + i] - want))
            }
        }
        #expect(worst < 1e-14)
    }

    @Test func sparseMixtureGradCheck() {
        var g = RandomGenerator(seed: 11)
        let scores = Tensor.normal([1, 2, 12, 12], dtype: .float64, using: &g)
        let weights = (0..<4).map { Tensor(shape: [1], scalars: [0.2 + 0.1 * Double($0)]) }
        let kept = TopKSparseAttention.keptCounts(headDimension: 12)
        let report = gradCheck([scores] + weights) { t in
            TopKSparseAttention.sparseMixture(t[0], weights: Array(t[1...]), kept: kept)
        }
        #expect(report.passed, "\(report)")
    }

    @Test func averagePoolEqualsAvgPool2dWithoutPaddingCounts() {
        // MEFC's avg_pool_3x3 (AvgPool2d(3, 1, 1, count_include_pad=False)) against the library's
        // PyTorch-tested avgPool2d, values and input gradient, in float64.
        var g = RandomGenerator(seed: 8)
        for shape in [[2, 3, 7, 5], [1, 2, 1, 4], [1, 1, 2, 2]] {
            let x = Tensor.normal(shape, dtype: .float64, using: &g).requiringGrad()
            let weights = Tensor.normal(shape, dtype: .float64, using: &g)
            let ours = MEFC.AveragePool()(x)
            let reference = x.avgPool2d(kernel: 3, stride: 1, padding: 1, countIncludePad: false)
            #expect(maxAbsDifference(ours, reference) < 1e-14, "values \(shape)")
            let gOurs = (ours * weights).sum().gradients(wrt: [x])[0]
            let gReference = (reference * weights).sum().gradients(wrt: [x])[0]
            #expect(maxAbsDifference(gOurs, gReference) < 1e-14, "gradient \(shape)")
        }
    }

    // MARK: Golden model

    @Test
    func goldenTinyModel() throws {
        let config = try JSONDecoder().decode(DRSformer.Configuration.self,
            from: Data(contentsOf: SharedReference.url("models/golden/drsformer_tiny.json")))
        #expect(config.dim == 8 && config.mefcSteps == 2 && config.numBlocks == [1, 1, 1, 1])
        let golden = try SafeTensors.read(from: SharedReference.url("models/golden/drsformer_tiny.safetensors")).tensors
        let model = DRSformer(config)
        var weights: [String: Tensor] = [:]
        for (name, t) in golden where name.hasPrefix("weight/") { weights[String(name.dropFirst(7))] = t }
        try model.loadStateDictionary(weights)
        #expect(model.parameterCount == 306_346)
        model.eval()
        for (key, t) in model.namedParameters() {
            #expect(t.floats.map(\.bitPattern) == weights[key]!.floats.map(\.bitPattern), "loaded \(key)")
        }

        let input = golden["input"]!.requiringGrad()
        let out = model.forward(input, features: Set(model.featureNames))
        let reference = golden["output"]!
        GoldenComparison.expectValues(out.image, reference, "output")
        // Without a graph the fused inference ops run (the MSFN's crossing): the same golden output.
        GoldenComparison.expectValues(withoutGradients { model(golden["input"]!) }, reference, "output without a graph")
        for name in model.featureNames {
            let want = try #require(golden["feat/\(name)"], "feat/\(name)")
            let got = try #require(out.features[name], "feature \(name)")
            GoldenComparison.expectValues(got, want, "feature \(name)")
        }

        let loss = (out.image - golden["target"]!).abs().mean()
        let wantLoss = golden["loss_l1"]!.item
        #expect(abs(loss.item - wantLoss) <= 1e-5 * abs(wantLoss), "loss \(loss.item) vs \(wantLoss)")

        let params = model.namedParameters()
        #expect(params.count == 238)
        let grads = loss.gradients(wrt: [input] + params.map(\.tensor))
        let wantInput = golden["grad/input"]!
        GoldenComparison.expectGradient(grads[0], wantInput, "grad/input")
        for ((key, _), grad) in zip(params, grads.dropFirst()) {
            GoldenComparison.expectGradient(grad, try #require(golden["grad/\(key)"], "grad/\(key)"), "grad/\(key)")
        }
    }

    @Test func plainCallRecordsNoFeaturesAndTapsAreImageShaped() {
        var config = DRSformer.Configuration.drsSL
        config.dim = 8
        config.numBlocks = [1, 1, 1, 1]
        let model = DRSformer(config, seed: 5)
        var g = RandomGenerator(seed: 42)
        let x = Tensor.uniform([1, 3, 16, 16], using: &g)
        let plain = withoutGradients { model(x) }
        let taps = withoutGradients { model.forwardWithTaps(x) }
        // The same computation, bit for bit: kernels split work by size alone and BLAS runs serial,
        // so recording taps may not change a single rounding.
        #expect(maxAbsDifference(plain, taps.image) == 0, "\(maxAbsDifference(plain, taps.image))")
        #expect(taps.encoder.map(\.shape) == [[1, 8, 16, 16], [1, 16, 8, 8], [1, 32, 4, 4], [1, 64, 2, 2]])
        #expect(taps.decoder.map(\.shape) == [[1, 32, 4, 4], [1, 16, 8, 8], [1, 16, 16, 16], [1, 16, 16, 16]])
        #expect(model.forward(x, features: []).features.isEmpty)
    }
}
