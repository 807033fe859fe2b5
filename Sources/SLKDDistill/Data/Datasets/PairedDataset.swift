import SLKDTensor

/// A degraded image and its clean reference, both `C×H×W` float32 tensors in [0, 1] of equal shape.
public struct ImagePair: @unchecked Sendable {
    /// The pair's name (the clean file's name relative to its folder, or a synthetic image's name).
    public var name: String
    /// The restoration model's input.
    public var degraded: Tensor
    /// The target.
    public var clean: Tensor

    public init(name: String, degraded: Tensor, clean: Tensor) {
        self.name = name
        self.degraded = degraded
        self.clean = clean
    }
}

/// An indexed collection of image pairs for training or evaluation.
///
/// `pair(at:epoch:)` must be a pure function of its arguments — the same pixels on every call and
/// from every thread — so that samplers and loaders are deterministic. The epoch lets synthetic
/// datasets draw a fresh degradation each epoch; folder datasets ignore it.
public protocol PairedDataset: Sendable {
    /// The number of pairs.
    var count: Int { get }
    /// The name of pair `index` (without reading the images).
    func name(at index: Int) -> String
    /// Pair `index` as seen in `epoch`.
    func pair(at index: Int, epoch: Int) throws(DatasetError) -> ImagePair
}

extension PairedDataset {
    /// Pair `index` as seen in epoch 0 (evaluation).
    public func pair(at index: Int) throws(DatasetError) -> ImagePair { try pair(at: index, epoch: 0) }
}
