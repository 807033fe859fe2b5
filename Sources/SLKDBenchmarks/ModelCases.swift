// Whole-model cases (issue 5, "Speed and memory"): forward without a graph of the three teachers and
// forward + backward (every parameter gradient, loss = sum of the output) of the three students, at
// 1×3×128×128. Scripts/bench/torch_models_bench.py times the same work in PyTorch under the same
// names, and Scripts/bench/compare_models.py joins the two.
//
// Run one model per process (`--filter model_fwdbwd_res_sl`) when the RSS delta matters: the
// process's high-water mark only says something about the first case that raises it.

import SLKDModels
import SLKDTensor

/// The presets with the bench names shared with the PyTorch script; students also get fwd+bwd.
let modelPresets: [(name: String, preset: ModelPreset, student: Bool)] = [
    ("restormer", .restormer, false), ("res_sl", .resSL, true),
    ("uformer_b", .uformerB, false), ("ufor_sl", .uforSL, true),
    ("drsformer", .drsformer, false), ("drs_sl", .drsSL, true),
]

/// fvcore MACs of one forward pass of `model` on `x`.
func forwardMACs(_ model: any RestorationModel, _ x: Tensor) -> Double {
    Double(MACCounter.count { _ = withoutGradients { model(x) } }.total)
}

func modelCases(_ name: String, _ preset: ModelPreset, student: Bool) -> [Case] {
    // The preset names are fixed and valid, so building cannot fail.
    let model = try! preset.build(seed: 0)
    var generator = RandomGenerator(seed: 1)
    let x = Tensor.uniform([1, 3, 128, 128], dtype: .float32, using: &generator)
    let macs = forwardMACs(model, x)
    var cases = [Case(name: "model_fwd_\(name)", work: .macs(macs), baseline: nil) {
        sink &+= withoutGradients { model(x) }.count
    }]
    if student {
        let parameters = model.namedParameters().map(\.tensor)
        // Backward costs two forward products per layer (input and weight gradients): 3× forward MACs.
        cases.append(Case(name: "model_fwdbwd_\(name)", work: .macs(3 * macs), baseline: nil) {
            let grads = model(x).sum().gradients(wrt: parameters)
            sink &+= grads.count
        })
    }
    return cases
}

func modelGroups() -> [(names: [String], build: () -> [Case])] {
    modelPresets.map { m in
        (["model_fwd_\(m.name)"] + (m.student ? ["model_fwdbwd_\(m.name)"] : []),
         { modelCases(m.name, m.preset, student: m.student) })
    }
}
