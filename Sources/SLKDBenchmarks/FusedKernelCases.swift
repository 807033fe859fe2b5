// The model-specific fused kernels (Sources/SLKDTensor/Fused/) beside the unfused op sequences
// they replace — `NAME.fused` against `NAME.unfused`, each `.fwd` and `.fb` as the vision cases —
// on a 128×128 patch: Uformer's at Ufor-SL's full-resolution level (16 channels, LeFF hidden 64,
// 256 windows of 8×8, one head), Restormer's MDTA at its first level (48 channels, one head).

import SLKDTensor

func fusedKernelGroups() -> [CaseGroup] {
    let hw = 128 * 128, n = 64, windows = hw / n
    var g: [CaseGroup] = []
    // Inputs are made inside the group closures, so that filtered-out cases allocate nothing.
    func pair(_ name: String, _ inputs: @escaping () -> [Tensor], outCount: Int, fused: @escaping ([Tensor]) -> Tensor,
              unfused: @escaping ([Tensor]) -> Tensor) {
        g.append(group(name + ".fused") { _ in memoryOp(name + ".fused", inputs(), outCount: outCount, fused) })
        g.append(group(name + ".unfused") { _ in memoryOp(name + ".unfused", inputs(), outCount: outCount, unfused) })
    }
    // LeFF linear1 (+GELU) and linear2 on channel-major tokens.
    for (fin, fout, gelu) in [(16, 64, true), (64, 16, false)] {
        pair("uformerLinear\(gelu ? "GELU" : "")_\(fin)to\(fout)_\(hw)",
             { [random([1, fin, hw]), random([fout, fin]) * 0.1, random([fout])] }, outCount: fout * hw,
             fused: { Tensor.uformerChannelLinear($0[0], weight: $0[1], bias: $0[2], gelu: gelu) },
             unfused: { t in
                 let y = Tensor.matmul(t[1], t[0]) + t[2].reshaped([fout, 1])
                 return gelu ? y.gelu() : y
             })
    }
    // Uformer-B's q/kv projection weight at its widest levels (512 channels): [wq · scale; wkv].
    pair("scaledConcat_512x512+1024x512", { [random([512, 512]), random([1024, 512])] }, outCount: 1536 * 512,
         fused: { Tensor.concatenated($0[0], scaledBy: 0.125, $0[1]) },
         unfused: { Tensor.concatenated([$0[0] * 0.125, $0[1]], axis: 0) })
    // Shifted-window attention: q, k, v [1, 16, 256·64], bias [1, 64, 64], the −100 shift mask.
    // The mask is a fifth input only so that it too is made lazily; both sides detach it (a constant, as in the model).
    pair("uformerWindowAttention_16_\(windows)x\(n)",
         { [random([1, 16, hw]), random([1, 16, hw]), random([1, 16, hw]), random([1, n, n]),
            (random([windows, 1, n, n]) > 0.8) * -100] }, outCount: 16 * hw,
         fused: { t in
             Tensor.uformerWindowAttention(q: t[0], k: t[1], v: t[2], heads: 1, windowTokens: n, bias: t[3],
                                           mask: t[4].detached())
         },
         unfused: { t in
             func heads(_ x: Tensor) -> Tensor { x.reshaped([1, 1, 16, windows, n]).permuted([0, 3, 1, 2, 4]) }
             let logits = heads(t[1]).transposed().matmul(heads(t[0])) + t[3] + t[4].detached()
             let out = heads(t[2]).matmul(logits.softmax(axis: -2))
             return out.reshaped([1, windows, 16, n]).permuted([0, 2, 1, 3]).reshaped([1, 16, hw])
         })
    // MDTA after qkv_dwconv: [1, 3·48, 128, 128] → [1, 48, 128, 128], temperature [1, 1, 1].
    pair("restormerMDTA_48_\(hw)", { [random([1, 144, 128, 128]), random([1, 1, 1]) + 1.5] }, outCount: 48 * hw,
         fused: { Tensor.restormerTransposedAttention($0[0], heads: 1, temperature: $0[1]) },
         unfused: { t in
             let parts = t[0].reshaped([1, 3, 1, 48, hw])
             let qk = parts.narrowed(axis: 1, start: 0, length: 2).l2Normalized(axis: -1)
             let q = qk.narrowed(axis: 1, start: 0, length: 1).squeezed(axis: 1)
             let k = qk.narrowed(axis: 1, start: 1, length: 1).squeezed(axis: 1)
             let v = parts.narrowed(axis: 1, start: 2, length: 1).squeezed(axis: 1)
             return (q.matmul(k.transposed()) * t[1]).softmax(axis: -1).matmul(v).reshaped([1, 48, 128, 128])
         })
    return g
}
