// DRSformer's blocks one by one, forward without a graph, at the shapes the teacher runs them on a
// 128×128 patch: the MSFN and the top-k attention at the first two levels, and the MEFC at
// `encoder_level0` (48 channels) and `refinement` (96 channels, a fifth of the model's MACs).
// They split the model case `model_fwd_drsformer` into the pieces a kernel change moves.
// Scripts/bench/torch_block_cases.py times the same blocks in PyTorch under the same names.

import SLKDModels
import SLKDTensor

/// One module's forward on one random input, its work in fvcore MACs.
private func blockCase(_ name: String, input shape: [Int], _ forward: @escaping (Tensor) -> Tensor) -> Case {
    let x = random(shape)
    let macs = Double(MACCounter.count { _ = withoutGradients { forward(x) } }.total)
    return Case(name: name, work: .macs(macs), baseline: nil) {
        sink &+= withoutGradients { forward(x) }.count
    }
}

func blockGroups() -> [CaseGroup] {
    var g: [CaseGroup] = []
    func add(_ name: String, input: [Int], _ make: @escaping (inout RandomGenerator) -> (Tensor) -> Tensor) {
        g.append(([name], {
            var generator = RandomGenerator(seed: 7)
            return [blockCase(name, input: input, make(&generator))]
        }))
    }
    for (dim, size, heads) in [(48, 128, 1), (96, 64, 2)] {
        add("drsformerMSFN_\(dim)_\(size).fwd", input: [1, dim, size, size]) { generator in
            let block = MixedScaleFeedForward(dim: dim, expansion: 2.66, bias: false, using: &generator)
            return { block($0) }
        }
        add("drsformerTKSA_\(dim)_\(size).fwd", input: [1, dim, size, size]) { generator in
            let block = TopKSparseAttention(dim: dim, heads: heads, bias: false, using: &generator)
            return { block($0) }
        }
    }
    for dim in [48, 96] {
        add("drsformerMEFC_\(dim)_128.fwd", input: [1, dim, 128, 128]) { generator in
            let block = MixtureOfExpertsFeatureCompensator(dim: dim, steps: 4, using: &generator)
            return { block($0) }
        }
    }
    return g
}
