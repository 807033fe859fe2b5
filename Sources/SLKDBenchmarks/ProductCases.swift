// The models' matrix products alone: `products_fwd_<model>` (and `products_fwdbwd_<student>`)
// replay every product that `model_fwd_<model>` (`model_fwdbwd_<student>`) runs through
// ParallelGEMM, with the same shapes, transposes and β, spread over the threads as they were (split
// by ParallelGEMM's rule, or unsplit side by side in a region of their own, as Restormer's attention
// runs one product per head), on buffers of their own, and nothing else. Its time is what the model would take if everything but its products were free:
// the floor below which fusing, vectorising or scheduling the rest cannot bring it on this BLAS.
// Scripts/bench/compare_models.py prints it beside the model and PyTorch (`--products`).
//
// Each is its own group, so that selecting a model case builds nothing here and its RSS figure
// stays its own. On AVX-512, the channel-major Linears (ChannelMajorProduct) are replayed as the
// OpenBLAS products they replace.

import SLKDModels
import SLKDTensor

/// Replays `shapes` in Float: operands filled once with values in [−1, 1), C accumulated into
/// (β = 1) or overwritten (β = 0) as each product asked. Each product's A (a weight, in the
/// forwards) lies at its own place in one arena of up to 256 MiB, as a model's weights do, so
/// that the replay streams them from memory as the model does instead of finding one reused
/// buffer in cache; B is one buffer (a model's activations are mostly fresh in cache), and so is
/// C, but for the products of one region, which each write their own part of it.
func productReplayCase(name: String, shapes: [ProductShape]) -> Case {
    let floats = shapes.filter { $0.elementSize == MemoryLayout<Float>.size }
    let arenaLimit = 64 << 20
    var offsets: [Int] = [], next = 0
    for s in floats {
        if next + s.m * s.k > arenaLimit { next = 0 }
        offsets.append(next)
        next += s.m * s.k
    }
    let aCount = Swift.max(floats.map { $0.m * $0.k }.max() ?? 0, Swift.min(floats.reduce(0) { $0 + $1.m * $1.k }, arenaLimit))
    let bCount = floats.map { $0.k * $0.n }.max() ?? 0
    var generator = RandomGenerator(seed: 7)
    let a = Tensor.uniform([Swift.max(aCount, 1)], low: -1, high: 1, dtype: .float32, using: &generator).floats
    let b = Tensor.uniform([Swift.max(bCount, 1)], low: -1, high: 1, dtype: .float32, using: &generator).floats
    let macs = floats.reduce(0) { $0 + $1.macs }
    // Consecutive products that ran inside one parallel region run again in one region of their
    // own, each into its own part of C, as the model's write their own outputs.
    var steps: [Range<Int>] = [], cOffsets: [Int] = []
    for i in floats.indices {
        if floats[i].insideRegion, let last = steps.last, floats[last.lowerBound].insideRegion {
            steps[steps.count - 1] = last.lowerBound..<(i + 1)
            cOffsets.append(cOffsets[i - 1] + floats[i - 1].m * floats[i - 1].n)
        } else {
            steps.append(i..<(i + 1))
            cOffsets.append(0)
        }
    }
    let cCount = floats.indices.map { cOffsets[$0] + floats[$0].m * floats[$0].n }.max() ?? 0
    var c = [Float](repeating: 0, count: Swift.max(cCount, 1))
    return Case(name: name, work: .macs(Double(macs)), baseline: nil) {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    let (pa, pb, pc) = (UncheckedSendable(pa.baseAddress!), UncheckedSendable(pb.baseAddress!),
                                        UncheckedSendable(pc.baseAddress!))
                    func replay(_ i: Int) {
                        let s = floats[i]
                        ParallelGEMM.run(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k,
                                         a: pa.value + offsets[i], lda: s.transA ? s.m : s.k,
                                         b: pb.value, ldb: s.transB ? s.k : s.n,
                                         beta: s.overwrites ? 0 : 1, c: pc.value + cOffsets[i], ldc: s.n)
                    }
                    for step in steps {
                        if floats[step.lowerBound].insideRegion {
                            Parallel.forChunks(step.count) { range in range.forEach { replay(step.lowerBound + $0) } }
                        } else {
                            replay(step.lowerBound)
                        }
                    }
                }
            }
        }
        sink &+= Int(c[0].bitPattern & 1)
    }
}

/// The products of one forward (and, for students, one forward + backward) of each preset at
/// the model cases' input, 1×3×128×128.
func productGroups() -> [(names: [String], build: () -> [Case])] {
    modelPresets.flatMap { m -> [(names: [String], build: () -> [Case])] in
        func recorded(_ backward: Bool) -> [ProductShape] {
            let model = try! m.preset.build(seed: 0)   // fixed, valid preset names
            var generator = RandomGenerator(seed: 1)
            let x = Tensor.uniform([1, 3, 128, 128], dtype: .float32, using: &generator)
            let parameters = model.namedParameters().map(\.tensor)
            return ProductRecorder.recording {
                if backward {
                    sink &+= model(x).sum().gradients(wrt: parameters).count
                } else {
                    sink &+= withoutGradients { model(x) }.count
                }
            }
        }
        var groups: [(names: [String], build: () -> [Case])] = [
            (["products_fwd_\(m.name)"], { [productReplayCase(name: "products_fwd_\(m.name)", shapes: recorded(false))] }),
        ]
        if m.student {
            groups.append((["products_fwdbwd_\(m.name)"],
                           { [productReplayCase(name: "products_fwdbwd_\(m.name)", shapes: recorded(true))] }))
        }
        return groups
    }
}
