import SLKDTensor

// Uformer's LeWin transformer block (`model.py`: LinearProjection, WindowAttention, LeFF,
// LeWinTransformerBlock, BasicUformerLayer). The residual stream is a token tensor [B, H·W, C]
// (token index h·W + w), as in the official code; keys follow its state_dict.

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

    /// Attention over windows `x` [B, nW, N, C] (tokens of each window row-major); `mask`
    /// [nW, 1, N, N] is added to the logits of each window. Returns [B, nW, N, C].
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let (b, nw, n, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let h = numHeads, d = c / h
        // q·scale is folded into to_q's weight and bias (C² instead of L·C multiplies); k and v
        // are to_kv's two row halves, so each projection lands in its own contiguous tensor and
        // the head split below stays a view.
        let toQ = qkv.toQ, toKV = qkv.toKV
        let q = x.linear(weight: toQ.weight * scale, bias: toQ.bias.map { $0 * scale })
        let k = x.linear(weight: toKV.weight.narrowed(axis: 0, start: 0, length: c),
                         bias: toKV.bias?.narrowed(axis: 0, start: 0, length: c))
        let v = x.linear(weight: toKV.weight.narrowed(axis: 0, start: c, length: c),
                         bias: toKV.bias?.narrowed(axis: 0, start: c, length: c))
        func heads(_ t: Tensor) -> Tensor { t.reshaped([b, nw, n, h, d]).permuted([0, 1, 3, 2, 4]) }   // [B, nW, h, N, d]
        // One batched GEMM over all windows × heads; kᵀ is a transpose flag, not a copy.
        var logits = heads(q).matmul(heads(k).transposed())                                               // [B, nW, h, N, N]
        logits = logits + Tensor.relativePositionBias(table: relativePositionBiasTable, index: relativePositionIndex)
        if let mask { logits = logits + mask }
        let out = logits.softmax(axis: -1).matmul(heads(v))                                                 // [B, nW, h, N, d]
        return proj(out.permuted([0, 1, 3, 2, 4]).reshaped([b, nw, n, c]))
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

    /// `x` [B, H·W, D] → [B, H·W, D].
    public func callAsFunction(_ x: Tensor, height: Int, width: Int) -> Tensor {
        let fc1 = linear1[0] as! Linear, conv = dwconv[0] as! Conv2d, fc2 = linear2[0] as! Linear
        let b = x.shape[0], hidden = fc1.outFeatures
        // linear1 computed as W₁·xᵀ lands channel-major ([B, hid, H·W] = NCHW), and linear2 reads
        // the conv output through a transpose flag: the two `rearrange`s of the official code
        // cost no copies.
        var t = Tensor.matmul(fc1.weight, x.transposed(1, 2))
        if let bias = fc1.bias { t = t + bias.reshaped([hidden, 1]) }
        t = t.gelu().reshaped([b, hidden, height, width])
        t = Tensor.conv2d(t, weight: conv.weight, bias: conv.bias, padding: 1, groups: hidden).gelu()
        var y = Tensor.matmul(t.reshaped([b, hidden, height * width]).transposed(1, 2), fc2.weight.transposed())
        if let bias = fc2.bias { y = y + bias }
        return y
    }
}

/// `LeWinTransformerBlock`: x + W-MSA/SW-MSA(norm1(x)) then x + LeFF(norm2(x)).
public final class LeWinTransformerBlock: Module {
    public let modulator: WindowModulator?
    public let norm1: LayerNorm
    public let attn: WindowAttention
    public let norm2: LayerNorm
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
        norm1 = LayerNorm(dim)
        attn = WindowAttention(dim: dim, window: window, numHeads: numHeads, qkvBias: qkvBias, qkScale: qkScale,
                               using: &generator)
        norm2 = LayerNorm(dim)
        mlp = LeFF(dim: dim, hidden: Int(Double(dim) * mlpRatio), using: &generator)
        super.init()
    }

    /// `x` [B, H·W, C] → [B, H·W, C].
    public func callAsFunction(_ x: Tensor, height: Int, width: Int) -> Tensor {
        let (b, l, c) = (x.shape[0], x.shape[1], x.shape[2])
        precondition(height % window == 0 && width % window == 0,
                     "LeWinTransformerBlock: a \(height)×\(width) map does not split into \(window)×\(window) windows")
        let layout = UformerWindowCache.shared.layout(height: height, width: width, window: window, shift: shift)
        // roll(−s) + window_partition as one token gather (LayerNorm is per token, so it commutes).
        var windows = norm1(x)
        if let partition = layout.partition { windows = windows.selecting(axis: 1, indices: partition) }
        windows = windows.reshaped([b, layout.windowCount, window * window, c])
        if let modulator {
            precondition(modulator.weight.shape[0] == window * window,
                         "LeWinTransformerBlock: modulator has \(modulator.weight.shape[0]) entries for \(window * window)-token windows")
            windows = windows + modulator.weight
        }
        var y = attn(windows, mask: layout.mask(for: x.dtype)).reshaped([b, l, c])
        if let reverse = layout.reverse { y = y.selecting(axis: 1, indices: reverse) }   // window_reverse + roll(+s)
        let h = x + y
        return h + mlp(norm2(h), height: height, width: width)
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

    /// `x` [B, H·W, C] → [B, H·W, C].
    public func callAsFunction(_ x: Tensor, height: Int, width: Int) -> Tensor {
        blocks.reduce(x) { $1($0, height: height, width: width) }
    }
}

/// `nn.Linear` as Uformer's `_init_weights` leaves it: weight trunc_normal(std 0.02), bias 0.
func uformerLinear(_ inFeatures: Int, _ outFeatures: Int, bias: Bool, using generator: inout RandomGenerator) -> Linear {
    Linear(weight: .truncatedNormal([outFeatures, inFeatures], std: 0.02, using: &generator),
           bias: bias ? .zeros([outFeatures]) : nil)
}
