// The mixing step of DRSformer's MEFC (`OperationLayer.forward` in DRSformer_arch.py): eight
// operation outputs, each scaled by its image's softmaxed operation weight, then concatenated
// along the channels for the 1×1 fusion. As ops that is eight multiplications, each writing a new
// tensor, and a concatenation that copies them all again: at the refinement stage (96 channels at
// 128²) 100 MB of traffic for 50 MB of result, four times per MEFC. Fused, each element is read
// once, multiplied and written once into its place.

extension Tensor {
    /// `concatenated([parts[k] * weights[:, k] (broadcast over each image), …], axis: 1)` in one
    /// pass without a graph, with the same values bit for bit; with a graph it runs those ops.
    ///
    /// - Parameters:
    ///   - parts: K tensors [N, Cₖ, …] of one dtype and one shape past axis 1.
    ///   - weights: [N, K], the weight of each part in each image.
    /// - Returns: [N, ΣCₖ, …].
    public static func concatenatedChannels(_ parts: [Tensor], weightedBy weights: Tensor) -> Tensor {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.rank >= 2 && $0.dtype == parts[0].dtype
                         && $0.shape[0] == parts[0].shape[0] && $0.shape.dropFirst(2) == parts[0].shape.dropFirst(2) },
                     "concatenatedChannels needs tensors [N, C, …] of one dtype, N and trailing shape, got \(parts.map(\.shape))")
        let n = parts[0].shape[0]
        precondition(weights.shape == [n, parts.count] && weights.dtype == parts[0].dtype,
                     "concatenatedChannels needs weights [\(n), \(parts.count)] of \(parts[0].dtype), got \(weights.dtype)\(weights.shape)")
        let recording = GradMode.isEnabled && (weights.requiresGrad || parts.contains(where: \.requiresGrad))
        guard !recording, parts[0].dtype.isFloatingPoint else {
            let broadcast = [n, 1] + Array(repeating: 1, count: parts[0].rank - 2)
            return concatenated(parts.enumerated().map { k, part in
                part * weights.narrowed(axis: 1, start: k, length: 1).reshaped(broadcast)
            }, axis: 1)
        }
        let sources = parts.map { $0.contiguous() }, w = weights.contiguous()
        return withExtendedLifetime((sources, w)) {
            parts[0].dtype.withFloatType { weightedChannelConcatenation(sources, w, $0) }
        }
    }

    private static func weightedChannelConcatenation<T: TensorScalar>(_ parts: [Tensor], _ weights: Tensor, _: T.Type) -> Tensor {
        let n = parts[0].shape[0], plane = Shape.count(Array(parts[0].shape.dropFirst(2)))
        let channels = parts.map { $0.shape[1] }, total = channels.reduce(0, +)
        // The part and channel of each output channel.
        var owner: [(part: Int, channel: Int)] = []
        for (k, c) in channels.enumerated() { owner += (0..<c).map { (k, $0) } }
        let sources = parts.map { UncheckedSendable(UnsafePointer($0.basePointer(T.self))) }
        let pw = UncheckedSendable(UnsafePointer(weights.basePointer(T.self)))
        return Tensor.make([n, total] + Array(parts[0].shape.dropFirst(2)), T.self) { out in
            let po = UncheckedSendable(out.baseAddress!)
            Parallel.forChunks(n * total, grain: Swift.max(1, elementwiseGrain / Swift.max(plane, 1))) { planes in
                for p in planes {
                    let image = p / total, (k, c) = owner[p % total]
                    let source = sources[k].value + (image * channels[k] + c) * plane, target = po.value + p * plane
                    let scale = pw.value[image * parts.count + k]
                    for i in 0..<plane { target[i] = source[i] * scale }
                }
            }
        }
    }
}
