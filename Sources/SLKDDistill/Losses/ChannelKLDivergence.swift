import SLKDTensor

/// The image-level distillation loss L_kl (paper eq. 4) as this project reads it
/// (Docs/Method.md#image-level-losses [ours]): channel-wise distillation over spatial positions.
///
/// For each image and channel, the teacher's and the student's outputs become distributions over
/// the H·W positions, p = softmax(A_c/τ) and q = softmax(S_c/τ); the loss is
/// τ² · mean over (batch, channel) of KL(p ‖ q). The teacher side carries no gradient.
public struct ChannelKLDivergence: Sendable {
    /// The softmax temperature τ (default 1).
    public var temperature: Double

    public init(temperature: Double = 1) {
        precondition(temperature > 0, "KL temperature must be positive")
        self.temperature = temperature
    }

    /// L_kl between `student` and `teacher`, both B×C×H×W.
    public func callAsFunction(student: Tensor, teacher: Tensor) -> Tensor {
        precondition(student.shape == teacher.shape && student.rank == 4,
                     "KL loss needs two B×C×H×W tensors of one shape, got \(student.shape) and \(teacher.shape)")
        let (b, c) = (student.shape[0], student.shape[1])
        let positions = student.shape[2] * student.shape[3]
        let logQ = (student.reshaped([b, c, positions]) / temperature).logSoftmax(axis: -1)
        let logP = (teacher.detached().reshaped([b, c, positions]) / temperature).logSoftmax(axis: -1)
        let p = logP.exp()
        let kl = (p * (logP - logQ)).sum(axis: 2)
        return kl.mean() * (temperature * temperature)
    }
}
