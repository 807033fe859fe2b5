// Where the direct convolution kernels find an image's channel planes. Contiguous NCHW puts
// channel c of image n at plane n·C + c. A fused op that writes a convolution straight into its
// place in a concatenation (DRSformer's MSFN) needs two more shapes: a channel slice of a wider
// buffer (a larger image stride), and a tensor whose two halves go to two different
// concatenations (two blocks of channels, a block stride apart).

/// Plane of channel `c` of image `n`: `n · imageStride + (c / blockChannels) · blockStride +
/// c % blockChannels`, in units of whole H×W planes from the buffer's start.
struct ConvPlaneLayout {
    var imageStride: Int
    var blockChannels: Int
    var blockStride: Int

    /// Contiguous NCHW with `channels` planes per image.
    static func contiguous(channels: Int) -> ConvPlaneLayout {
        ConvPlaneLayout(imageStride: channels, blockChannels: Swift.max(channels, 1), blockStride: channels)
    }

    @inline(__always)
    func plane(image n: Int, channel c: Int) -> Int {
        n * imageStride + (c / blockChannels) * blockStride + c % blockChannels
    }
}
