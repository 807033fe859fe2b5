// Pixel (un)shuffle: channels to space and back, as views (a reshape and a permutation).

extension Tensor {
    /// `nn.PixelShuffle(r)`: [N, C·r², H, W] → [N, C, H·r, W·r] with
    /// out[c, h·r + i, w·r + j] = in[c·r² + i·r + j, h, w].
    public func pixelShuffle(_ r: Int) -> Tensor {
        precondition(rank == 4 && r >= 1 && shape[1] % (r * r) == 0, "pixelShuffle(\(r)) needs NCHW with C divisible by \(r * r), got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1] / (r * r), shape[2], shape[3])
        return reshaped([n, c, r, r, h, w]).permuted([0, 1, 4, 2, 5, 3]).reshaped([n, c, h * r, w * r])
    }

    /// `nn.PixelUnshuffle(r)`, the inverse of ``pixelShuffle(_:)``: [N, C, H·r, W·r] → [N, C·r², H, W].
    public func pixelUnshuffle(_ r: Int) -> Tensor {
        precondition(rank == 4 && r >= 1 && shape[2] % r == 0 && shape[3] % r == 0,
                     "pixelUnshuffle(\(r)) needs NCHW with H and W divisible by \(r), got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2] / r, shape[3] / r)
        return reshaped([n, c, h, r, w, r]).permuted([0, 1, 3, 5, 2, 4]).reshaped([n, c * r * r, h, w])
    }
}
