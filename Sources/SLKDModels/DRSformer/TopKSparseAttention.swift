// DRSformer's Top-K Sparse Attention (TKSA, `Attention` in DRSformer_arch.py): MDTA's transposed
// (channel × channel) attention whose scores are softmaxed four times, each time keeping only the
// k_j largest scores of every row, and whose four outputs are mixed by learnable scalars.

/// Top-K Sparse Attention (DRSformer §3.2), with the official keys `temperature [heads,1,1]`,
/// `attn1 … attn4 [1]`, `qkv`, `qkv_dwconv` and `project_out`.
///
/// With c = C / heads channels per head and the L2-normalised q̂, k̂ (along the pixels), the
/// scores are `S = q̂·k̂ᵀ·temperature` (c×c per head). For k_j ∈ {⌊c/2⌋, ⌊2c/3⌋, ⌊3c/4⌋, ⌊4c/5⌋},
/// `A_j = softmax(S masked to its k_j largest entries per row, the rest −∞)` and the output is
/// `Σ_j attn_j · A_j·v`. Gradients flow only through the kept entries (the selection itself is
/// not differentiated, as `torch.topk` indices are not).
///
/// Since `Σ_j attn_j·(A_j·v) = (Σ_j attn_j·A_j)·v`, the four attention maps (c×c, cheap) are mixed
/// first and multiplied with v (c×H·W, the expensive side) once, not four times.
public final class TopKSparseAttention: Module, UnaryLayer {
    @Parameter public var temperature: Tensor
    @Parameter public var attn1: Tensor
    @Parameter public var attn2: Tensor
    @Parameter public var attn3: Tensor
    @Parameter public var attn4: Tensor
    public let qkv: Conv2d
    @Submodule(key: "qkv_dwconv") public var qkvDepthwise: Conv2d
    @Submodule(key: "project_out") public var projectOut: Conv2d

    public let heads: Int

    public init(dim: Int, heads: Int, bias: Bool, using generator: inout RandomGenerator) {
        precondition(heads >= 1 && dim % heads == 0, "TopKSparseAttention: dim \(dim) does not split into \(heads) heads")
        self.heads = heads
        temperature = .ones([heads, 1, 1])
        attn1 = Tensor(shape: [1], scalars: [Float(0.2)])
        attn2 = Tensor(shape: [1], scalars: [Float(0.2)])
        attn3 = Tensor(shape: [1], scalars: [Float(0.2)])
        attn4 = Tensor(shape: [1], scalars: [Float(0.2)])
        qkv = Conv2d(dim, dim * 3, kernelSize: 1, bias: bias, using: &generator)
        let dw = Conv2d(dim * 3, dim * 3, kernelSize: 3, padding: 1, groups: dim * 3, bias: bias, using: &generator)
        let out = Conv2d(dim, dim, kernelSize: 1, bias: bias, using: &generator)
        super.init()
        qkvDepthwise = dw
        projectOut = out
    }

    /// The four kept-entry counts for head dimension `c`, as the official `int(C/2)`, `int(C*2/3)`,
    /// `int(C*3/4)`, `int(C*4/5)` (Python float arithmetic, truncated).
    public static func keptCounts(headDimension c: Int) -> [Int] {
        let d = Double(c)
        return [Int(d / 2), Int(d * 2 / 3), Int(d * 3 / 4), Int(d * 4 / 5)]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, ch, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let c = ch / heads, n = h * w
        let qkvMap = qkvDepthwise(qkv(x))
        // q, k, v are channel slabs of one contiguous map: [B, heads, c, H·W] views, no copy.
        let split = qkvMap.reshaped([b, 3, heads, c, n])
        let parts = (0..<3).map { split.narrowed(axis: 1, start: $0, length: 1).squeezed(axis: 1) }
        let q = parts[0].l2Normalized(axis: -1), k = parts[1].l2Normalized(axis: -1), v = parts[2]
        let scores = q.matmul(k.transposed(-2, -1)) * temperature
        let mixed = Self.sparseMixture(scores, weights: [attn1, attn2, attn3, attn4],
                                       kept: Self.keptCounts(headDimension: c))
        // The official code multiplies each of the four maps by v: count the three folded away.
        MACCounter.record(.matmul, 3 * mixed.count * n)
        return projectOut(mixed.matmul(v).reshaped([b, ch, h, w]))
    }

    /// `Σ_j weights[j] · softmax(scores with all but the kept[j] largest entries of each row set
    /// to −∞)` over the last axis, for scores [..., c, c] and one-element weights.
    ///
    /// One sort per row gives every rank, hence all four masks at once; the masked softmaxes run as
    /// one batched softmax over [4, ..., c, c] with a 0 / −∞ additive mask, so masked entries get
    /// probability 0 and no gradient.
    public static func sparseMixture(_ scores: Tensor, weights: [Tensor], kept: [Int]) -> Tensor {
        precondition(weights.count == kept.count && !kept.isEmpty, "sparseMixture: one weight per kept count")
        let c = scores.shape[scores.rank - 1]
        precondition(kept.allSatisfy { $0 >= 1 && $0 <= c }, "sparseMixture: kept counts \(kept) out of range for rows of \(c)")
        let mask = topKMasks(scores.detached(), kept: kept)
        let probabilities = (scores.unsqueezed(axis: 0) + mask).softmax(axis: -1)
        let mix = Tensor.concatenated(weights.map { $0.reshaped([1]) }, axis: 0)
            .reshaped([kept.count] + Array(repeating: 1, count: scores.rank))
        return (probabilities * mix).sum(axis: 0)
    }

    /// Additive masks [kept.count, ...scores.shape]: 0 where an entry is among the kept[j] largest
    /// of its row (ties broken towards the lower index), −∞ elsewhere.
    static func topKMasks(_ scores: Tensor, kept: [Int]) -> Tensor {
        scores.dtype.withFloatType("sparseMixture") { topKMasks(scores, kept: kept, $0) }
    }

    static func topKMasks<T: TensorScalar>(_ scores: Tensor, kept: [Int], _: T.Type) -> Tensor {
        let c = scores.shape[scores.rank - 1], total = scores.count, rows = total / c
        var mask = [T](repeating: -.infinity, count: kept.count * total)
        scores.withContiguousScalars(T.self) { s in
            mask.withUnsafeMutableBufferPointer { m in
                var order = [Int](repeating: 0, count: c)
                for row in 0..<rows {
                    let base = row * c
                    for i in 0..<c { order[i] = i }
                    order.sort { s[base + $0] > s[base + $1] || (s[base + $0] == s[base + $1] && $0 < $1) }
                    for (j, kj) in kept.enumerated() {
                        let plane = j * total + base
                        for r in 0..<kj { m[plane + order[r]] = 0 }
                    }
                }
            }
        }
        return Tensor(shape: [kept.count] + scores.shape, scalars: mask)
    }
}
