import Testing
import SLKDModels
import SLKDTensor

/// `forward(_:features:replacing:)`, through which DCKD feeds one network's features into the
/// other's later stages (Docs/Method.md#dckd), on the three families.
@Suite("Feature replacement")
struct FeatureReplacementTests {
    static func models() throws -> [(model: any RestorationModel, side: Int)] {
        var g = RandomGenerator(seed: 1)
        let restormer = Restormer(Restormer.Configuration(dim: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1), seed: 1)
        let drsformer = DRSformer(DRSformer.Configuration(dim: 8, numBlocks: [1, 1, 1, 1], mefcSteps: 1), using: &g)
        let uformer = try Uformer(Uformer.Configuration(imgSize: 128, embedDim: 4, depths: [1, 1, 1, 1, 1, 1, 1, 1, 1]), using: &g)
        return [(restormer, 16), (drsformer, 16), (uformer, 128)]
    }

    @Test func replacingEachCutStageChangesTheOutputAndItsOwnValueDoesNot() throws {
        for (model, side) in try Self.models() {
            model.eval()
            var g = RandomGenerator(seed: 2)
            let x = Tensor.uniform([1, 3, side, side], using: &g)
            let taps = model.encoderTaps + model.decoderTaps
            let plain = withoutGradients { model.forward(x, features: Set(taps)) }
            // The DCKD cuts: all encoder taps, and the decoder tap before the last.
            let cuts = [model.encoderTaps, [model.decoderTaps[model.decoderTaps.count - 2]]]
            for cut in cuts {
                let same = withoutGradients {
                    model.forward(x, features: [], replacing: Dictionary(uniqueKeysWithValues: cut.map { ($0, plain.features[$0]!) }))
                }
                #expect(same.image.floats == plain.image.floats, "\(type(of: model)) \(cut)")
                let zeroed = withoutGradients {
                    model.forward(x, features: Set(cut), replacing: Dictionary(uniqueKeysWithValues: cut.map { ($0, plain.features[$0]! * 0) }))
                }
                #expect(zeroed.image.floats != plain.image.floats, "\(type(of: model)) \(cut)")
                for name in cut { #expect(zeroed.features[name]!.floats.allSatisfy { $0 == 0 }) }
            }
            // Replacements do not outlive the call.
            #expect(withoutGradients { model(x) }.floats == plain.image.floats)
        }
    }
}
