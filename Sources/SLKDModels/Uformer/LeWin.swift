import SLKDTensor

// Uformer's LeWin transformer block and the layer that stacks them (`model.py`:
// `LeWinTransformerBlock`, `BasicUformerLayer`; Wang et al. 2022, §3.2); keys follow its state_dict.
//
// The official residual stream is a token tensor [B, H·W, C] (token h·W + w). Here it is kept
// channel-major, [B, C, H, W] — the same tokens transposed — because every per-token operation
// then runs on long contiguous lanes: nn.LayerNorm over C becomes a channel norm over H·W-wide
// blocks, both LeFF Linears and all attention projections are W·X GEMMs, LeFF's depthwise conv
// needs no rearrange, and the stage convolutions and skip concatenations need no transposes.

/// `nn.Embedding(win², dim)` used as Uformer's modulator: only its `weight` [win², dim] is read,
/// added to every window's tokens before attention.
public final class WindowModulator: Module {
    @Parameter public var weight: Tensor

    init(entries: Int, dim: Int, using generator: inout RandomGenerator) {
        weight = .normal([entries, dim], using: &generator)   // nn.Embedding's N(0, 1)
        super.init()
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
        if let modulator {
            precondition(modulator.weight.shape[0] == window * window,
                         "LeWinTransformerBlock: modulator has \(modulator.weight.shape[0]) entries for \(window * window)-token windows")
        }
        // roll(−s) + window_partition as one token gather (the norm is per token, so it commutes);
        // its gradient is the gather back, not a scatter-add. The decoder's modulator [N, C] is
        // added to every window in the same pass.
        if let partition = layout.partition, let reverse = layout.reverse {
            windows = modulator.map { windows.uformerPermutedTokens(partition, inverse: reverse, adding: $0.weight.transposed()) }
                ?? windows.uformerPermutedTokens(partition, inverse: reverse)
            windows = windows.reshaped([b, c, layout.windowCount, window * window])
        } else {
            windows = windows.reshaped([b, c, layout.windowCount, window * window])
            if let modulator { windows = windows + modulator.weight.transposed().unsqueezed(axis: 1) }   // [C, 1, N]
        }
        let y = attn(windows, mask: layout.mask(for: x.dtype)).reshaped([b, c, height * width])
        // window_reverse + roll(+s), and the residual connection, in one pass.
        let h: Tensor
        if let partition = layout.partition, let reverse = layout.reverse {
            h = x.reshaped([b, c, height * width]).addingUformerPermutedTokens(y, permutation: reverse, inverse: partition)
                .reshaped([b, c, height, width])
        } else {
            h = x + y.reshaped([b, c, height, width])
        }
        return mlp(norm2(h), adding: h)
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
