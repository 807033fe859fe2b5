import SLKDTensor

// Uformer's LeWin transformer block (`model.py`: LinearProjection, WindowAttention, LeFF,
// LeWinTransformerBlock, BasicUformerLayer); keys follow its state_dict.
//
// The official residual stream is a token tensor [B, H·W, C] (token h·W + w). Here it is kept
// channel-major, [B, C, H, W] — the same tokens transposed — because every per-token operation
// then runs on long contiguous lanes: nn.LayerNorm over C becomes a channel norm over H·W-wide
// blocks, both LeFF Linears and all attention projections are W·X GEMMs, LeFF's depthwise conv
// needs no rearrange, and the stage convolutions and skip concatenations need no transposes.

/// `nn.LayerNorm(dim)` (keys `weight`, `bias`, eps 1e-5) applied over the channels of a
/// channel-major token map [B, C, H, W].
public final class ChannelNorm: Module, UnaryLayer {
    @Parameter public var weight: Tensor
    @Parameter public var bias: Tensor

    init(_ dim: Int) {
        weight = .ones([dim])
        bias = .zeros([dim])
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        // The official nn.LayerNorm, which fvcore counts as 5 MACs per element.
        MACCounter.record(.layerNorm, weight: weight, 5 * x.count)
        return x.channelLayerNorm(weight: weight, bias: bias, kind: .withBias)
    }
}

/// `nn.Embedding(win², dim)` used as Uformer's modulator: only its `weight` [win², dim] is read,
/// added to every window's tokens before attention.
public final class WindowModulator: Module {
    @Parameter public var weight: Tensor

    init(entries: Int, dim: Int, using generator: inout RandomGenerator) {
        weight = .normal([entries, dim], using: &generator)   // nn.Embedding's N(0, 1)
        super.init()
    }
}

/// `LinearProjection`: `to_q` (Linear D→D) and `to_kv` (Linear D→2D; k = first D outputs).
public final class LinearProjection: Module {
    @Submodule(key: "to_q") public var toQ: Linear
    @Submodule(key: "to_kv") public var toKV: Linear

    init(dim: Int, bias: Bool, using generator: inout RandomGenerator) {
        super.init()
        toQ = uformerLinear(dim, dim, bias: bias, using: &generator)
        toKV = uformerLinear(dim, 2 * dim, bias: bias, using: &generator)
    }
}

/// `WindowAttention` with `LinearProjection`: multi-head self-attention inside each window, with
/// a learned relative position bias.
public final class WindowAttention: Module {
    @Parameter(key: "relative_position_bias_table") public var relativePositionBiasTable: Tensor
    @Buffer(key: "relative_position_index") public var relativePositionIndex: Tensor
    public let qkv: LinearProjection
    public let proj: Linear
    public let numHeads: Int
    public let window: Int
    public let scale: Double

    init(dim: Int, window: Int, numHeads: Int, qkvBias: Bool, qkScale: Double?, using generator: inout RandomGenerator) {
        self.numHeads = numHeads
        self.window = window
        // `qk_scale or head_dim ** -0.5`: a zero scale falls back too, as Python's `or` does.
        self.scale = qkScale.flatMap { $0 == 0 ? nil : $0 } ?? 1 / Double(dim / numHeads).squareRoot()
        qkv = LinearProjection(dim: dim, bias: qkvBias, using: &generator)
        proj = uformerLinear(dim, dim, bias: true, using: &generator)
        super.init()
        relativePositionBiasTable = .truncatedNormal([(2 * window - 1) * (2 * window - 1), numHeads], std: 0.02,
                                                     using: &generator)
        relativePositionIndex = uformerRelativePositionIndex(window: window)
    }

    /// Attention inside windows. `x` is channel-major in window order, [B, C, nW, N] (token n of
    /// window w at [.., w, n], tokens row-major in the window); `mask` [nW, 1, N, N] is added to
    /// each window's logits. Returns the projected result in the same layout.
    ///
    /// The logits are built transposed, Sᵀ = k·qᵀ·scale as [keys, queries], so that the softmax
    /// runs over the second-to-last axis with 64 queries side by side in memory (a vectorised
    /// lane block) rather than along 64-element rows; A·v is then v·Sᵀ-softmax, which lands as
    /// [B, nW, h, d, N] = [B, nW, C, N] with the heads already merged channel-major.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let (b, c, nw, n) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let h = numHeads, d = c / h
        let tokens = x.reshaped([b, c, nw * n])
        // Projections as W·X on all windows at once. q·scale is folded into to_q's weight and
        // bias (C² instead of L·C multiplies); k and v use to_kv's two row halves, so each lands
        // in its own contiguous tensor and the head split below is a view.
        let toQ = qkv.toQ, toKV = qkv.toKV
        func project(_ weight: Tensor, _ bias: Tensor?) -> Tensor {
            let y = Tensor.matmul(weight, tokens)
            return bias.map { y + $0.reshaped([c, 1]) } ?? y
        }
        let q = project(toQ.weight * scale, toQ.bias.map { $0 * scale })
        let k = project(toKV.weight.narrowed(axis: 0, start: 0, length: c), toKV.bias?.narrowed(axis: 0, start: 0, length: c))
        let v = project(toKV.weight.narrowed(axis: 0, start: c, length: c), toKV.bias?.narrowed(axis: 0, start: c, length: c))
        // [B, C, nW·N] → [B, nW, h, d, N]: per (window, head) a d×N matrix, row stride nW·N.
        func heads(_ t: Tensor) -> Tensor { t.reshaped([b, h, d, nw, n]).permuted([0, 3, 1, 2, 4]) }
        // One batched GEMM over all windows × heads; kᵀ is a transpose flag, not a copy.
        var logits = heads(k).transposed().matmul(heads(q))                                   // [B, nW, h, N_k, N_q]
        logits = logits + Tensor.relativePositionBias(table: relativePositionBiasTable,
                                                      index: relativePositionIndex.transposed())
        if let mask { logits = logits + mask }                                               // symmetric
        let out = heads(v).matmul(logits.softmax(axis: -2))                                  // [B, nW, h, d, N_q]
        let merged = out.reshaped([b, nw, c, n]).permuted([0, 2, 1, 3]).reshaped([b, c, nw * n])
        var y = Tensor.matmul(proj.weight, merged)
        if let bias = proj.bias { y = y + bias.reshaped([c, 1]) }
        return y.reshaped([b, c, nw, n])
    }
}

/// `LeFF`: Linear D→hid + GELU, 3×3 depthwise conv (with bias) + GELU on the token map, Linear hid→D.
public final class LeFF: Module {
    public let linear1: Sequential
    public let dwconv: Sequential
    public let linear2: Sequential

    init(dim: Int, hidden: Int, using generator: inout RandomGenerator) {
        linear1 = Sequential([uformerLinear(dim, hidden, bias: true, using: &generator), Lambda { $0.gelu() }])
        dwconv = Sequential([Conv2d(hidden, hidden, kernelSize: 3, padding: 1, groups: hidden, bias: true, using: &generator),
                             Lambda { $0.gelu() }])
        linear2 = Sequential([uformerLinear(hidden, dim, bias: true, using: &generator)])
        super.init()
    }

    /// `x` [B, D, H, W] (the official token tensor, channel-major) → [B, D, H, W].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let fc1 = linear1[0] as! Linear, conv = dwconv[0] as! Conv2d, fc2 = linear2[0] as! Linear
        let (b, dim, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let hidden = fc1.outFeatures
        // On channel-major tokens both Linears are W·X GEMMs and the official `rearrange`s to and
        // from the depthwise conv's NCHW cost nothing.
        var t = Tensor.matmul(fc1.weight, x.reshaped([b, dim, height * width]))
        if let bias = fc1.bias { t = t + bias.reshaped([hidden, 1]) }
        t = t.gelu().reshaped([b, hidden, height, width])
        t = Tensor.conv2d(t, weight: conv.weight, bias: conv.bias, padding: 1, groups: hidden).gelu()
        var y = Tensor.matmul(fc2.weight, t.reshaped([b, hidden, height * width]))
        if let bias = fc2.bias { y = y + bias.reshaped([dim, 1]) }
        return y.reshaped([b, dim, height, width])
    }
}

/// `LeWinTransformerBlock`: x + W-MSA/SW-MSA(norm1(x)) then x + LeFF(norm2(x)).
public final class LeWinTransformerBlock: Module {
    public let modulator: WindowModulator?
    public let norm1: ChannelNorm
    public let attn: WindowAttention
    public let norm2: ChannelNorm
    public let mlp: LeFF
    /// The window side and shift after the official construction-time rule (a map no larger
    /// than the window is one unshifted window).
    public let window: Int
    public let shift: Int

    init(dim: Int, resolution: Int, numHeads: Int, window requestedWindow: Int, shift requestedShift: Int,
         mlpRatio: Double, qkvBias: Bool, qkScale: Double?, modulator: Bool, using generator: inout RandomGenerator) {
        var window = requestedWindow, shift = requestedShift
        if resolution <= window {
            shift = 0
            window = resolution
        }
        self.window = window
        self.shift = shift
        // The official embedding has the requested win_size², not the adjusted one.
        self.modulator = modulator ? WindowModulator(entries: requestedWindow * requestedWindow, dim: dim, using: &generator) : nil
        norm1 = ChannelNorm(dim)
        attn = WindowAttention(dim: dim, window: window, numHeads: numHeads, qkvBias: qkvBias, qkScale: qkScale,
                               using: &generator)
        norm2 = ChannelNorm(dim)
        mlp = LeFF(dim: dim, hidden: Int(Double(dim) * mlpRatio), using: &generator)
        super.init()
    }

    /// `x` [B, C, H, W] (the official tokens [B, H·W, C], channel-major) → [B, C, H, W].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, c, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        precondition(height % window == 0 && width % window == 0,
                     "LeWinTransformerBlock: a \(height)×\(width) map does not split into \(window)×\(window) windows")
        let layout = UformerWindowCache.shared.layout(height: height, width: width, window: window, shift: shift)
        // nn.LayerNorm over C at every token, on the channel axis (a vectorised lane kernel).
        var windows = norm1(x).reshaped([b, c, height * width])
        // roll(−s) + window_partition as one token gather (the norm is per token, so it commutes).
        if let partition = layout.partition { windows = windows.selecting(axis: 2, indices: partition) }
        windows = windows.reshaped([b, c, layout.windowCount, window * window])
        if let modulator {
            precondition(modulator.weight.shape[0] == window * window,
                         "LeWinTransformerBlock: modulator has \(modulator.weight.shape[0]) entries for \(window * window)-token windows")
            windows = windows + modulator.weight.transposed().unsqueezed(axis: 1)   // [C, 1, N], broadcast over windows
        }
        var y = attn(windows, mask: layout.mask(for: x.dtype)).reshaped([b, c, height * width])
        if let reverse = layout.reverse { y = y.selecting(axis: 2, indices: reverse) }   // window_reverse + roll(+s)
        let h = x + y.reshaped([b, c, height, width])
        return h + mlp(norm2(h))
    }
}

/// `BasicUformerLayer`: `depth` LeWin blocks (key `blocks.i`), odd ones shifted by win/2.
public final class BasicUformerLayer: Module {
    public let blocks: [LeWinTransformerBlock]

    init(dim: Int, resolution: Int, depth: Int, numHeads: Int, window: Int, mlpRatio: Double, qkvBias: Bool,
         qkScale: Double?, shiftFlag: Bool, modulator: Bool, using generator: inout RandomGenerator) {
        var blocks: [LeWinTransformerBlock] = []
        for i in 0..<depth {
            blocks.append(LeWinTransformerBlock(dim: dim, resolution: resolution, numHeads: numHeads, window: window,
                                                shift: shiftFlag && i % 2 == 1 ? window / 2 : 0, mlpRatio: mlpRatio,
                                                qkvBias: qkvBias, qkScale: qkScale, modulator: modulator, using: &generator))
        }
        self.blocks = blocks
        super.init()
    }

    /// `x` [B, C, H, W] → [B, C, H, W].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        blocks.reduce(x) { $1($0) }
    }
}

/// `nn.Linear` as Uformer's `_init_weights` leaves it: weight trunc_normal(std 0.02), bias 0.
func uformerLinear(_ inFeatures: Int, _ outFeatures: Int, bias: Bool, using generator: inout RandomGenerator) -> Linear {
    Linear(weight: .truncatedNormal([outFeatures, inFeatures], std: 0.02, using: &generator),
           bias: bias ? .zeros([outFeatures]) : nil)
}
