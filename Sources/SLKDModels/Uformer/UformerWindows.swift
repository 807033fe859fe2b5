import Foundation
import SLKDTensor

// The index plumbing of Uformer's (shifted) windows, computed once per map size and cached:
//  • the cyclic shift `torch.roll(x, (−s, −s))` followed by `window_partition` is a permutation
//    of the H·W tokens, so both run as ONE gather (`selecting`) along the token axis; the
//    `roll(+s, +s)` after `window_reverse` is the inverse permutation;
//  • the shift mask of `LeWinTransformerBlock.forward` (−100 between tokens of different
//    regions, recomputed there from the actual H, W on every call).

/// The token permutations and the attention mask of one window configuration at one map size.
package struct UformerWindowLayout: @unchecked Sendable {
    /// Window-order position p ← image token `partition[p]` (int64 [H·W]); nil when the
    /// permutation is the identity (one unshifted window per map, the 8×8 bottleneck).
    package let partition: Tensor?
    /// Image token q ← window-order position `reverse[q]`; nil when the identity.
    package let reverse: Tensor?
    /// Windows per image.
    let windowCount: Int
    /// The shift mask [nW, 1, N, N] as float32 and float64 (nil without shift).
    let mask32: Tensor?
    let mask64: Tensor?

    func mask(for dtype: DType) -> Tensor? { dtype == .float64 ? mask64 : mask32 }

    package init(height: Int, width: Int, window w: Int, shift s: Int) {
        let nh = height / w, nw = width / w, n = w * w
        windowCount = nh * nw
        var partition = [Int](repeating: 0, count: height * width)
        var reverse = partition
        for wy in 0..<nh {
            for wx in 0..<nw {
                for iy in 0..<w {
                    for ix in 0..<w {
                        // (y', x') in the rolled frame holds image token ((y'+s) mod H, (x'+s) mod W).
                        let p = (wy * nw + wx) * n + iy * w + ix
                        let y = (wy * w + iy + s) % height, x = (wx * w + ix + s) % width
                        partition[p] = y * width + x
                        reverse[y * width + x] = p
                    }
                }
            }
        }
        let identity = partition.enumerated().allSatisfy { $0.offset == $0.element }
        self.partition = identity ? nil : Tensor(shape: [height * width], indices: partition)
        self.reverse = identity ? nil : Tensor(shape: [height * width], indices: reverse)

        guard s > 0 else { mask32 = nil; mask64 = nil; return }
        // Region ids on the rolled frame: slices (0, −w), (−w, −s), (−s, ∞) per axis.
        func region(_ i: Int, _ size: Int) -> Int { i < size - w ? 0 : (i < size - s ? 1 : 2) }
        var ids = [Int](repeating: 0, count: n)
        var mask = [Double](repeating: 0, count: windowCount * n * n)
        for wy in 0..<nh {
            for wx in 0..<nw {
                for iy in 0..<w {
                    for ix in 0..<w { ids[iy * w + ix] = region(wy * w + iy, height) * 3 + region(wx * w + ix, width) }
                }
                let base = (wy * nw + wx) * n * n
                for i in 0..<n {
                    for j in 0..<n where ids[i] != ids[j] { mask[base + i * n + j] = -100 }
                }
            }
        }
        mask64 = Tensor(shape: [windowCount, 1, n, n], scalars: mask)
        mask32 = Tensor(shape: [windowCount, 1, n, n], scalars: mask.map { Float($0) })
    }
}

/// Window layouts by (H, W, window, shift), shared by all blocks (thread-safe).
final class UformerWindowCache: @unchecked Sendable {
    static let shared = UformerWindowCache()

    private struct Key: Hashable { let height, width, window, shift: Int }
    private var layouts: [Key: UformerWindowLayout] = [:]
    private let lock = NSLock()

    func layout(height: Int, width: Int, window: Int, shift: Int) -> UformerWindowLayout {
        let key = Key(height: height, width: width, window: window, shift: shift)
        lock.lock()
        defer { lock.unlock() }
        if let cached = layouts[key] { return cached }
        let layout = UformerWindowLayout(height: height, width: width, window: window, shift: shift)
        layouts[key] = layout
        return layout
    }
}

/// `relative_position_index` of a w×w window: idx[i, j] = (Δy + w − 1)·(2w − 1) + (Δx + w − 1),
/// Δ = coord_i − coord_j over row-major token coordinates (int64 [w², w²]).
func uformerRelativePositionIndex(window w: Int) -> Tensor {
    let n = w * w
    var index = [Int](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0..<n {
            let dy = i / w - j / w, dx = i % w - j % w
            index[i * n + j] = (dy + w - 1) * (2 * w - 1) + (dx + w - 1)
        }
    }
    return Tensor(shape: [n, n], indices: index)
}

extension Uformer {
    /// Channel-major tokens [B, C, H·W] of an H×W map in window order after a cyclic shift by
    /// −`shift` — the official `window_partition(torch.roll(x, (−s, −s)), w)`, flattened and
    /// transposed to [B, C, nW·w²] — as one gather.
    public static func windowOrdered(_ tokens: Tensor, height: Int, width: Int, window: Int, shift: Int) -> Tensor {
        precondition(tokens.rank == 3 && tokens.shape[2] == height * width && height % window == 0 && width % window == 0,
                     "windowOrdered: tokens \(tokens.shape) do not form a \(height)×\(width) map of \(window)×\(window) windows")
        let layout = UformerWindowCache.shared.layout(height: height, width: width, window: window, shift: shift)
        return layout.partition.map { tokens.selecting(axis: 2, indices: $0) } ?? tokens
    }

    /// The inverse of ``windowOrdered(_:height:width:window:shift:)``: `window_reverse` then
    /// `torch.roll(x, (s, s))`.
    public static func imageOrdered(_ windows: Tensor, height: Int, width: Int, window: Int, shift: Int) -> Tensor {
        precondition(windows.rank == 3 && windows.shape[2] == height * width && height % window == 0 && width % window == 0,
                     "imageOrdered: tokens \(windows.shape) do not form a \(height)×\(width) map of \(window)×\(window) windows")
        let layout = UformerWindowCache.shared.layout(height: height, width: width, window: window, shift: shift)
        return layout.reverse.map { windows.selecting(axis: 2, indices: $0) } ?? windows
    }
}
