// Uformer's window partition and its inverse (`model.py`, `window_partition` / `window_reverse`):
// [B, H, W, C] maps cut into ws×ws windows and put back, as views.

extension Tensor {
    /// Uformer's `window_partition`: [B, H, W, C] → [B·(H/ws)·(W/ws), ws, ws, C].
    public func windowPartition(_ ws: Int) -> Tensor {
        precondition(rank == 4 && shape[1] % ws == 0 && shape[2] % ws == 0,
                     "windowPartition(\(ws)) needs [B, H, W, C] with H, W divisible by \(ws), got \(shape)")
        let (b, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        return reshaped([b, h / ws, ws, w / ws, ws, c]).permuted([0, 1, 3, 2, 4, 5]).reshaped([-1, ws, ws, c])
    }

    /// Uformer's `window_reverse`: [B·(H/ws)·(W/ws), ws, ws, C] → [B, H, W, C].
    public func windowReverse(_ ws: Int, height: Int, width: Int) -> Tensor {
        precondition(rank == 4 && shape[1] == ws && shape[2] == ws && height % ws == 0 && width % ws == 0
                     && shape[0] % ((height / ws) * (width / ws)) == 0,
                     "windowReverse(\(ws)) cannot rebuild \(height)×\(width) from \(shape)")
        let b = shape[0] / ((height / ws) * (width / ws)), c = shape[3]
        return reshaped([b, height / ws, width / ws, ws, ws, c]).permuted([0, 1, 3, 2, 4, 5]).reshaped([b, height, width, c])
    }
}
