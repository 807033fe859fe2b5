/// What one forward pass of a restoration network produced: the restored image and, when asked
/// for, the outputs of named stages.
public struct ModelOutput {
    /// The restored image, B×C×H×W (global residual included).
    public var image: Tensor
    /// Stage outputs by the official module name (`encoder_level1`, `latent`, `decoderlayer_0`, …),
    /// as image-shaped B×C×H×W tensors. Empty unless features were requested.
    public var features: [String: Tensor]

    public init(image: Tensor, features: [String: Tensor] = [:]) {
        self.image = image
        self.features = features
    }
}

/// An encoder–decoder image-restoration network whose stage outputs can be tapped for
/// distillation.
///
/// Taps are named after the official modules whose output they are (Docs/Method.md#feature-taps). A
/// forward pass records only the features asked for, so plain inference pays nothing for them.
public protocol RestorationModel: Module {
    /// The restored image for a B×C×H×W input in [0, 1] whose sides are multiples of ``sizeMultiple``.
    func callAsFunction(_ input: Tensor) -> Tensor

    /// The restored image plus the outputs of the stages named in `features` (names not produced by
    /// this model are ignored).
    func forward(_ input: Tensor, features: Set<String>) -> ModelOutput

    /// Every stage name this model can record, in forward order.
    var featureNames: [String] { get }

    /// The stages tapped by Degradation Removal Learning (encoder side), in order.
    var encoderTaps: [String] { get }

    /// The stages tapped by Image Reconstruction Learning (decoder side), in order.
    var decoderTaps: [String] { get }

    /// Input height and width must be multiples of this (Restormer, DRSformer: 8; Uformer: its
    /// window times 16, and square).
    var sizeMultiple: Int { get }

    /// Whether the input must be square (Uformer).
    var requiresSquareInput: Bool { get }

    /// Image channels in and out.
    var inputChannels: Int { get }
}

extension RestorationModel {
    public var requiresSquareInput: Bool { false }

    /// The restored image and the DRL and IRL taps, in tap order.
    public func forwardWithTaps(_ input: Tensor) -> (image: Tensor, encoder: [Tensor], decoder: [Tensor]) {
        let out = forward(input, features: Set(encoderTaps + decoderTaps))
        return (out.image, encoderTaps.map { out.features[$0]! }, decoderTaps.map { out.features[$0]! })
    }
}

/// Records stage outputs during a forward pass when they were asked for, and hands back a
/// replacement for a stage when the forward runs inside
/// ``RestorationModel/forward(_:features:replacing:)`` (DCKD's cross-feeding,
/// Docs/Method.md#dckd).
public struct FeatureRecorder {
    public let wanted: Set<String>
    public private(set) var features: [String: Tensor] = [:]
    /// Stage outputs to use instead of the computed ones, by stage name.
    public let replacements: [String: Tensor]

    /// The replacements of the forward running on this task (set only by
    /// ``RestorationModel/forward(_:features:replacing:)``).
    @TaskLocal static var current: [String: Tensor] = [:]

    public init(_ wanted: Set<String>) {
        self.wanted = wanted
        replacements = Self.current
    }

    /// Passes `x` through (or its replacement, when one is set for `name`), keeping what it
    /// passes under `name` if requested.
    @discardableResult
    public mutating func record(_ name: String, _ x: Tensor) -> Tensor {
        let y = replacements[name] ?? x
        if wanted.contains(name) { features[name] = y }
        return y
    }
}

extension RestorationModel {
    /// The forward of ``forward(_:features:)`` with the outputs of the stages named in
    /// `replacements` replaced by the given tensors: the later stages (and the skip connections
    /// that read a replaced stage) see the replacement. How DCKD feeds one network's features into
    /// the other's later stages (Docs/Method.md#dckd). Works for every model whose forward records
    /// its stages through one ``FeatureRecorder``; a stage name the model does not record is
    /// ignored. Nested forwards of other models inside this one see the same replacements.
    public func forward(_ input: Tensor, features: Set<String>, replacing replacements: [String: Tensor]) -> ModelOutput {
        FeatureRecorder.$current.withValue(replacements) { forward(input, features: features) }
    }
}
