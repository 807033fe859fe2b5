// The vision and attention operators of Restormer, Uformer-B, DRSformer and their students at the
// shapes they run at on a 128×128 patch (batch 1; channel counts from
// shared/reference/models/README.md). Every operator is timed twice: `NAME.fwd` (inputs without
// gradients, nothing recorded) and `NAME.fb` (forward, then the gradients of every float input for
// the fixed random output gradient `seed`, i.e. of loss = Σ out · seed). Matrix-shaped operators
// (1×1 convolution, Linear) bring the raw `cblas_sgemm` of the same product as their baseline.

import CSLKDOpenBLAS
import SLKDModels
import SLKDTensor

/// One operator at one shape.
struct VisionOp {
    var name: String
    /// Work of one forward call (MACs for convolutions and products, bytes read + written otherwise).
    var work: Work
    /// Work of forward + backward (nil: not reported).
    var backwardWork: Work?
    /// Float inputs; all of them get gradients in the `.fb` case.
    var inputs: [Tensor]
    var apply: ([Tensor]) -> Tensor
    var baseline: String? = nil
}

/// The `.fwd` and `.fb` cases of `op`.
func cases(_ op: VisionOp) -> [Case] {
    let plain = op.inputs.map { $0.detached() }
    let leaves = op.inputs.map { $0.requiringGrad() }
    let seed = random(withoutGradients { op.apply(plain) }.shape)
    let forward = Case(name: op.name + ".fwd", work: op.work, baseline: op.baseline) {
        sink &+= op.apply(plain).count
    }
    let both = Case(name: op.name + ".fb", work: op.backwardWork ?? op.work, baseline: nil) {
        let grads = op.apply(leaves).gradients(wrt: leaves, seed: seed)
        sink &+= grads.count
    }
    return [forward, both]
}

func conv2dMACs(cin: Int, cout: Int, groups: Int, k: Int, outH: Int, outW: Int) -> Double {
    Double(cout) * Double(cin / groups) * Double(k * k) * Double(outH * outW)
}

/// A convolution case: forward MACs, forward + backward 3× (input and weight gradients).
func convOp(_ name: String, cin: Int, cout: Int, size: Int, k: Int, stride: Int = 1, padding: Int = 0,
            dilation: Int = 1, groups: Int = 1, bias: Bool = false, baseline: String? = nil) -> VisionOp {
    let out = convolutionOutputSize(size, k, stride, padding, dilation)
    let macs = conv2dMACs(cin: cin, cout: cout, groups: groups, k: k, outH: out, outW: out)
    var inputs = [random([1, cin, size, size]), random([cout, cin / groups, k, k]) * 0.1]
    if bias { inputs.append(random([cout])) }
    return VisionOp(name: name, work: .macs(macs), backwardWork: .macs(3 * macs), inputs: inputs, apply: { t in
        Tensor.conv2d(t[0], weight: t[1], bias: t.count > 2 ? t[2] : nil, stride: stride, padding: padding,
                      dilation: dilation, groups: groups)
    }, baseline: baseline)
}

/// Raw sgemm C[m,n] = A[m,k]·B (B [k,n], or [n,k] transposed): the floor of a 1×1 conv or Linear.
func sgemmCase(m: Int, n: Int, k: Int, transB: Bool = false) -> Case {
    let a = random([m, k]), b = random(transB ? [n, k] : [k, n])
    let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
    c.initialize(repeating: 0, count: m * n)
    return Case(name: "sgemm_\(m)x\(n)x\(k)", work: .macs(Double(m * n * k)), baseline: nil) {
        a.withContiguousScalars(Float.self) { pa in
            b.withContiguousScalars(Float.self) { pb in
                BLASThreads.withThreads(Parallel.threadCount) {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
                                1, pa.baseAddress, Int32(k), pb.baseAddress, Int32(transB ? k : n), 0, c, Int32(n))
                }
            }
        }
        sink &+= Int(c[0].bitPattern)
    }
}

/// A memory-bound case: bytes = input + output float32 elements × 4.
func memoryOp(_ name: String, _ inputs: [Tensor], outCount: Int, _ apply: @escaping ([Tensor]) -> Tensor) -> VisionOp {
    let bytes = Double(4 * (inputs.reduce(0) { $0 + $1.count } + outCount))
    return VisionOp(name: name, work: .bytes(bytes), backwardWork: nil, inputs: inputs, apply: apply)
}

/// Uformer's relative-position index for a w×w window: (Δh + w−1)·(2w−1) + (Δw + w−1).
func relativePositionIndex(_ w: Int) -> Tensor {
    var idx: [Int] = []
    for i in 0..<(w * w) {
        for j in 0..<(w * w) {
            let dh = i / w - j / w, dw = i % w - j % w
            idx.append((dh + w - 1) * (2 * w - 1) + (dw + w - 1))
        }
    }
    return Tensor(shape: [w * w, w * w], indices: idx)
}

typealias CaseGroup = (names: [String], build: () -> [Case])

/// A group of one operator (its `.fwd` and `.fb` cases), optionally led by its sgemm baseline.
func group(_ name: String, sgemm: (m: Int, n: Int, k: Int, transB: Bool)? = nil, _ make: @escaping (String?) -> VisionOp) -> CaseGroup {
    let base = sgemm.map { "sgemm_\($0.m)x\($0.n)x\($0.k)" }
    return ((base.map { [$0] } ?? []) + [name + ".fwd", name + ".fb"], {
        let b = sgemm.map { [sgemmCase(m: $0.m, n: $0.n, k: $0.k, transB: $0.transB)] } ?? []
        return b + cases(make(base))
    })
}

func visionGroups() -> [CaseGroup] {
    let s = 128, hw = s * s
    var g: [CaseGroup] = []
    // 1×1 convolutions (GEMM [Cout,Cin]·[Cin,H·W]) with their raw sgemm.
    for (cin, cout, size) in [(48, 144, 128), (48, 254, 128), (127, 48, 128), (96, 288, 64), (24, 126, 128)] {
        g.append(group("conv1x1_\(cin)to\(cout)_\(size)", sgemm: (cout, size * size, cin, false)) { base in
            convOp("conv1x1_\(cin)to\(cout)_\(size)", cin: cin, cout: cout, size: size, k: 1, baseline: base)
        })
    }
    // Depthwise (Restormer qkv_dwconv / GDFN dwconv, DRSformer MSFN 5×5, MEFC dilated and 7×7).
    g.append(group("dw3x3_144_128") { _ in convOp("dw3x3_144_128", cin: 144, cout: 144, size: s, k: 3, padding: 1, groups: 144) })
    g.append(group("dw3x3_254_128") { _ in convOp("dw3x3_254_128", cin: 254, cout: 254, size: s, k: 3, padding: 1, groups: 254) })
    g.append(group("dw5x5_254_128") { _ in convOp("dw5x5_254_128", cin: 254, cout: 254, size: s, k: 5, padding: 2, groups: 254) })
    g.append(group("dw7x7_48_128") { _ in convOp("dw7x7_48_128", cin: 48, cout: 48, size: s, k: 7, padding: 3, groups: 48) })
    g.append(group("dwdil3x3_48_128") { _ in
        convOp("dwdil3x3_48_128", cin: 48, cout: 48, size: s, k: 3, padding: 2, dilation: 2, groups: 48)
    })
    g.append(group("dw3x3b_128_128") { _ in  // Uformer LeFF dwconv, with bias
        convOp("dw3x3b_128_128", cin: 128, cout: 128, size: s, k: 3, padding: 1, groups: 128, bias: true)
    })
    // Grouped, 2 input channels per group (DRSformer MSFN dwconv3x3_1 / dwconv5x5_1).
    g.append(group("gconv3x3_254to127_128") { _ in
        convOp("gconv3x3_254to127_128", cin: 254, cout: 127, size: s, k: 3, padding: 1, groups: 127)
    })
    g.append(group("gconv5x5_254to127_128") { _ in
        convOp("gconv5x5_254to127_128", cin: 254, cout: 127, size: s, k: 5, padding: 2, groups: 127)
    })
    // Dense 3×3: patch embed, Downsample body, output; Upsample body at 64².
    for (cin, cout, size) in [(3, 48, 128), (48, 24, 128), (96, 3, 128), (96, 192, 64)] {
        let name = "conv3x3_\(cin)to\(cout)_\(size)"
        g.append(group(name) { _ in convOp(name, cin: cin, cout: cout, size: size, k: 3, padding: 1) })
    }
    // Uformer downsample (4×4 stride 2, bias) and upsample (transposed 2×2 stride 2, bias).
    g.append(group("conv4x4s2_32to64_128") { _ in
        convOp("conv4x4s2_32to64_128", cin: 32, cout: 64, size: s, k: 4, stride: 2, padding: 1, bias: true)
    })
    g.append(group("convT2x2s2_64to32_64") { _ in
        let macs = Double(64 * 32 * 4 * 64 * 64)
        return VisionOp(name: "convT2x2s2_64to32_64", work: .macs(macs), backwardWork: .macs(3 * macs),
                        inputs: [random([1, 64, 64, 64]), random([64, 32, 2, 2]) * 0.1, random([32])]) { t in
            Tensor.convTranspose2d(t[0], weight: t[1], bias: t[2], stride: 2)
        }
    })
    // Layout and pooling.
    g.append(group("pixelShuffle_192_64") { _ in
        memoryOp("pixelShuffle_192_64", [random([1, 192, 64, 64])], outCount: 48 * hw) { $0[0].pixelShuffle(2).contiguous() }
    })
    g.append(group("pixelUnshuffle_24_128") { _ in
        memoryOp("pixelUnshuffle_24_128", [random([1, 24, s, s])], outCount: 24 * hw) { $0[0].pixelUnshuffle(2).contiguous() }
    })
    g.append(group("avgPool3x3_48_128") { _ in
        memoryOp("avgPool3x3_48_128", [random([1, 48, s, s])], outCount: 48 * hw) {
            $0[0].avgPool2d(kernel: 3, stride: 1, padding: 1, countIncludePad: false)
        }
    })
    g.append(group("adaptiveAvgPool_48_128") { _ in
        memoryOp("adaptiveAvgPool_48_128", [random([1, 48, s, s])], outCount: 48) { $0[0].adaptiveAvgPool2dToOne() }
    })
    g.append(group("bilinear2x_48_64") { _ in
        memoryOp("bilinear2x_48_64", [random([1, 48, 64, 64])], outCount: 48 * hw) {
            $0[0].bilinearResized(to: (128, 128), alignCorners: false)
        }
    })
    // Normalisation.
    g.append(group("channelLN_withBias_48_128") { _ in
        memoryOp("channelLN_withBias_48_128", [random([1, 48, s, s]), random([48]), random([48])], outCount: 48 * hw) {
            $0[0].channelLayerNorm(weight: $0[1], bias: $0[2], kind: .withBias)
        }
    })
    g.append(group("channelLN_biasFree_48_128") { _ in
        memoryOp("channelLN_biasFree_48_128", [random([1, 48, s, s]), random([48])], outCount: 48 * hw) {
            $0[0].channelLayerNorm(weight: $0[1], kind: .biasFree)
        }
    })
    g.append(group("layerNorm_16384x32") { _ in
        memoryOp("layerNorm_16384x32", [random([hw, 32]), random([32]), random([32])], outCount: hw * 32) {
            $0[0].layerNorm(weight: $0[1], bias: $0[2])
        }
    })
    g.append(group("l2norm_48x16384") { _ in
        memoryOp("l2norm_48x16384", [random([1, 1, 48, hw])], outCount: 48 * hw) { $0[0].l2Normalized(axis: -1) }
    })
    // Activations.
    g.append(group("gelu_254_128") { _ in
        memoryOp("gelu_254_128", [random([1, 254, s, s])], outCount: 254 * hw) { $0[0].gelu() }
    })
    g.append(group("leakyReLU_32_128") { _ in   // Uformer-B's input projection
        memoryOp("leakyReLU_32_128", [random([1, 32, s, s])], outCount: 32 * hw) { $0[0].leakyReLU(slope: 0.01) }
    })
    g.append(group("mulScalar_254_128") { _ in   // a broadcast against a scalar: one long run
        memoryOp("mulScalar_254_128", [random([1, 254, s, s])], outCount: 254 * hw) { $0[0] * 0.5 }
    })
    g.append(group("geluGate_254_128") { _ in
        memoryOp("geluGate_254_128", [random([1, 254, s, s])], outCount: 127 * hw) { $0[0].geluGateOverChannels() }
    })
    // Attention pieces.
    g.append(group("softmax_1x1x48x48") { _ in
        memoryOp("softmax_1x1x48x48", [random([1, 1, 48, 48])], outCount: 48 * 48) { $0[0].softmax(axis: -1) }
    })
    g.append(group("softmax_256x1x64x64") { _ in
        memoryOp("softmax_256x1x64x64", [random([256, 1, 64, 64])], outCount: 256 * 64 * 64) { $0[0].softmax(axis: -1) }
    })
    for k in [24, 32, 36, 38] {
        g.append(group("topk\(k)_1x1x48x48") { _ in
            memoryOp("topk\(k)_1x1x48x48", [random([1, 1, 48, 48])], outCount: 48 * k) { $0[0].topK(k, axis: -1).values }
        })
    }
    g.append(group("winPartitionShift_128x128x32") { _ in
        memoryOp("winPartitionShift_128x128x32", [random([1, s, s, 32])], outCount: hw * 32) {
            $0[0].cyclicShifted([-4, -4], axes: [1, 2]).windowPartition(8).contiguous()
        }
    })
    g.append(group("winReverseShift_128x128x32") { _ in
        memoryOp("winReverseShift_128x128x32", [random([256, 8, 8, 32])], outCount: hw * 32) {
            $0[0].windowReverse(8, height: s, width: s).cyclicShifted([4, 4], axes: [1, 2]).contiguous()
        }
    })
    // Uformer's shifted-window partition as the models run it: one gather along the token axis of
    // channel-major tokens [B, C, H·W] (`uformerPermutedTokens`), its gradient the inverse gather.
    g.append(group("permuteTokens_32x128x128") { _ in
        let layout = UformerWindowLayout(height: s, width: s, window: 8, shift: 4)
        let (partition, reverse) = (layout.partition!, layout.reverse!)
        return memoryOp("permuteTokens_32x128x128", [random([1, 32, hw])], outCount: 32 * hw) {
            $0[0].uformerPermutedTokens(partition, inverse: reverse)
        }
    })
    for heads in [1, 16] {   // Uformer's first and bottleneck levels
        let name = "relPosBias_225x\(heads)_64"
        g.append(group(name) { _ in
            let index = relativePositionIndex(8)
            return memoryOp(name, [random([225, heads])], outCount: heads * 64 * 64) {
                Tensor.relativePositionBias(table: $0[0], index: index)
            }
        })
    }
    // Linear on tokens (Uformer LeFF linear1 / linear2), with the raw sgemm of the product.
    for (fin, fout) in [(32, 128), (128, 32)] {
        let name = "linear_\(hw)x\(fin)to\(fout)"
        g.append(group(name, sgemm: (hw, fout, fin, true)) { base in
            let macs = Double(hw * fin * fout)
            return VisionOp(name: name, work: .macs(macs), backwardWork: .macs(3 * macs),
                            inputs: [random([hw, fin]), random([fout, fin]) * 0.1, random([fout])],
                            apply: { $0[0].linear(weight: $0[1], bias: $0[2]) }, baseline: base)
        })
    }
    return g
}
