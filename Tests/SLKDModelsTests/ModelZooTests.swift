import Foundation
import Testing
import SLKDModels

@Suite("Model zoo: presets, options files and the paper's Table I", .serialized)
struct ModelZooTests {
    /// Table I (fvcore MACs at 1×3×512×512, in G; two decimals) and exact parameter counts, from
    /// the official code (models README "Key results"). All three networks are linear in H·W, so
    /// 16 × the count at 128² must round to the published figure.
    @Test(arguments: [(ModelPreset.resSL, 3_537_482, 85.02), (.uforSL, 7_855_234, 57.08), (.drsSL, 4_599_380, 132.00)])
    func studentsReproduceTableI(preset: ModelPreset, parameters: Int, gigaMACsAt512: Double) throws {
        let model = try preset.build()
        let profile = try ModelProfile.measure(model, input: [1, 3, 128, 128], runs: 1, warmup: 0)
        #expect(profile.parameters == parameters)
        let at512 = Double(profile.macs) * 16 / 1e9
        #expect(abs(at512 - gigaMACsAt512) <= 0.005, "\(preset.rawValue): \(at512) G at 512² vs \(gigaMACsAt512) G")
    }

    @Test func optionsFileBuildsTheNamedNetwork() throws {
        let yaml = """
            name: Deraining_Restormer
            network_g:
              type: Restormer
              inp_channels: 3
              out_channels: 3
              dim: 8
              num_blocks: [1, 1, 1, 1]
              num_refinement_blocks: 1
              heads: [1, 2, 4, 8]
              ffn_expansion_factor: 2.66
              bias: False
              LayerNorm_type: BiasFree
              dual_pixel_task: False
            """
        let model = try NetworkOptions.build(yaml: yaml)
        #expect(model is Restormer)
        #expect(model.parameterCount == 207_825)  // restormer_tiny_biasfree in the golden README
    }

    @Test func badOptionsAreReportedClearly() {
        #expect(throws: NetworkOptions.Error.self) { try NetworkOptions.build(yaml: "train: {}") }
        #expect(throws: NetworkOptions.Error.self) { try NetworkOptions.build(yaml: "network_g: {type: ResNet}") }
        #expect(throws: (any Error).self) { try NetworkOptions.build(yaml: "network_g: {type: Restormer, dim: 9, heads: [2, 2, 4, 8]}") }
    }
}
