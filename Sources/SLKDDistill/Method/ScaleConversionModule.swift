import SLKDModels

/// The Scale Conversion Module (SCM) of SLKD: it maps the k-th student and teacher features into
/// one space so that their statistics can be compared (paper §II; Docs/Method.md#scale-conversion-module).
///
/// Default mode ``Mode-swift.enum/teacherSpace`` [ours]: per tap a learnable 1×1 convolution
/// with bias maps the student's C_s channels to the teacher's C_t, then bilinear resizing
/// (align_corners false) brings it to the teacher's spatial size when that differs; teacher
/// features pass unchanged. In ``Mode-swift.enum/commonWidth(_:)`` both sides are projected to a
/// common width, the teacher's projection fixed (frozen) at initialisation.
///
/// The SCM is trained with the student and dropped at inference. Parameters are keyed
/// `student.<k>.weight/bias` (and `teacher.<k>.weight/bias` in common-width mode).
public final class ScaleConversionModule: Module {
    /// How teacher and student features meet.
    public enum Mode: Codable, Sendable, Hashable {
        /// Student → teacher channels; the teacher side is the identity (the default).
        case teacherSpace
        /// Both sides → this many channels; the teacher's projection is frozen.
        case commonWidth(Int)
    }

    public let mode: Mode
    /// Student and teacher channel counts per tap.
    public let studentChannels: [Int]
    public let teacherChannels: [Int]
    /// The learnable student projections, one per tap.
    public let student: [Conv2d]
    /// The frozen teacher projections (common-width mode only; empty otherwise).
    public let teacher: [Conv2d]
    /// The slot of the first decoder tap when one SCM serves encoder taps (slots 0..<offset)
    /// and decoder taps (slots offset...), as SLKD's does.
    public let decoderTapOffset: Int

    /// - Parameters:
    ///   - studentChannels: C_s of each student tap, in tap order.
    ///   - teacherChannels: C_t of the teacher tap it is paired with (same count).
    ///   - dtype: the parameters' type (the student's).
    ///   - generator: PyTorch-default (Kaiming-uniform) initialisation of the 1×1 convolutions.
    ///   - decoderTapOffset: where decoder taps start (0 when the SCM serves one kind of tap).
    ///   - mode: how student and teacher features meet (``Mode-swift.enum``).
    public init(studentChannels: [Int], teacherChannels: [Int], decoderTapOffset: Int = 0, mode: Mode = .teacherSpace,
                dtype: DType = .float32, using generator: inout RandomGenerator) {
        precondition(decoderTapOffset >= 0 && decoderTapOffset <= studentChannels.count, "SCM: decoder tap offset out of range")
        self.decoderTapOffset = decoderTapOffset
        precondition(studentChannels.count == teacherChannels.count,
                     "SCM: \(studentChannels.count) student taps but \(teacherChannels.count) teacher taps (pairs are matched by index)")
        self.mode = mode
        self.studentChannels = studentChannels
        self.teacherChannels = teacherChannels
        switch mode {
        case .teacherSpace:
            student = zip(studentChannels, teacherChannels).map { Conv2d($0, $1, kernelSize: 1, dtype: dtype, using: &generator) }
            teacher = []
        case .commonWidth(let width):
            precondition(width > 0, "SCM common width must be positive")
            student = studentChannels.map { Conv2d($0, width, kernelSize: 1, dtype: dtype, using: &generator) }
            teacher = teacherChannels.map { Conv2d($0, width, kernelSize: 1, dtype: dtype, using: &generator) }
        }
        super.init()
        for t in teacher { t.freeze() }
    }

    /// The number of tap pairs.
    public var tapCount: Int { studentChannels.count }

    /// Maps the k-th student feature into the comparison space at `size` (the teacher tap's H, W).
    public func mapStudent(_ feature: Tensor, tap k: Int, size: (Int, Int)) -> Tensor {
        precondition(feature.rank == 4 && feature.shape[1] == studentChannels[k],
                     "SCM tap \(k): expected B×\(studentChannels[k])×H×W, got \(feature.shape)")
        let y = student[k](feature)
        if y.shape[2] == size.0 && y.shape[3] == size.1 { return y }
        return y.bilinearResized(to: size, alignCorners: false)
    }

    /// Maps the k-th teacher feature (no graph: teachers are frozen, their projection too).
    public func mapTeacher(_ feature: Tensor, tap k: Int) -> Tensor {
        precondition(feature.rank == 4 && feature.shape[1] == teacherChannels[k],
                     "SCM tap \(k): expected teacher B×\(teacherChannels[k])×H×W, got \(feature.shape)")
        guard case .commonWidth = mode else { return feature.detached() }
        return withoutGradients { teacher[k](feature.detached()) }
    }

    /// The mapped pairs, matched by index.
    public func callAsFunction(student s: [Tensor], teacher t: [Tensor], offset: Int = 0) -> (student: [Tensor], teacher: [Tensor]) {
        precondition(s.count == t.count, "SCM: \(s.count) student taps but \(t.count) teacher taps")
        let mappedT = t.indices.map { mapTeacher(t[$0], tap: offset + $0) }
        let mappedS = s.indices.map { mapStudent(s[$0], tap: offset + $0, size: (t[$0].shape[2], t[$0].shape[3])) }
        return (mappedS, mappedT)
    }
}

extension ScaleConversionModule {
    /// An SCM for `student` and `teacher` over the given taps (encoder taps then decoder taps by
    /// default), with channel counts read from one small forward pass of each network.
    public convenience init(student: any RestorationModel, teacher: any RestorationModel,
                            taps: TapSelection = .encoderAndDecoder, mode: Mode = .teacherSpace,
                            dtype: DType = .float32, using generator: inout RandomGenerator) {
        let s = Self.tapChannels(of: student, taps: taps)
        let t = Self.tapChannels(of: teacher, taps: taps)
        let offset = taps == .encoderAndDecoder ? student.encoderTaps.count : 0
        self.init(studentChannels: s, teacherChannels: t, decoderTapOffset: offset, mode: mode, dtype: dtype, using: &generator)
    }

    /// Which taps an SCM serves, in order.
    public enum TapSelection: Sendable {
        case encoder, decoder, encoderAndDecoder

        func names(_ model: any RestorationModel) -> [String] {
            switch self {
            case .encoder: model.encoderTaps
            case .decoder: model.decoderTaps
            case .encoderAndDecoder: model.encoderTaps + model.decoderTaps
            }
        }
    }

    /// Channel counts of the taps, from a forward pass on the smallest admissible zero input.
    static func tapChannels(of model: any RestorationModel, taps: TapSelection) -> [Int] {
        let side = Swift.max(model.sizeMultiple, 8)
        let names = taps.names(model)
        let out = withoutGradients {
            model.forward(Tensor.zeros([1, model.inputChannels, side, side], dtype: probeType(model)), features: Set(names))
        }
        return names.map { name in
            guard let f = out.features[name] else { preconditionFailure("model \(type(of: model)) did not record tap '\(name)'") }
            return f.shape[1]
        }
    }

    static func probeType(_ model: Module) -> DType {
        model.namedParameters().first?.tensor.dtype ?? .float32
    }
}
