extension Tensor {
    /// Uniform draws in [low, high).
    public static func uniform(_ shape: [Int], low: Double = 0, high: Double = 1, dtype: DType = .float32,
                               using generator: inout RandomGenerator) -> Tensor {
        let values = (0..<Shape.count(shape)).map { _ in low + (high - low) * generator.nextUnit() }
        return Tensor(shape: shape, scalars: values).cast(to: dtype)
    }

    /// Normal draws with the given mean and standard deviation.
    public static func normal(_ shape: [Int], mean: Double = 0, std: Double = 1, dtype: DType = .float32,
                              using generator: inout RandomGenerator) -> Tensor {
        let values = (0..<Shape.count(shape)).map { _ in mean + std * generator.nextNormal() }
        return Tensor(shape: shape, scalars: values).cast(to: dtype)
    }

    /// Normal draws redrawn until they fall in [a, b] (PyTorch `trunc_normal_`, whose bounds are
    /// absolute values, default ±2).
    public static func truncatedNormal(_ shape: [Int], mean: Double = 0, std: Double = 1, a: Double = -2, b: Double = 2,
                                       dtype: DType = .float32, using generator: inout RandomGenerator) -> Tensor {
        precondition(a < b && mean - 6 * std < b && mean + 6 * std > a, "truncation interval [\(a), \(b)] holds no mass")
        let values = (0..<Shape.count(shape)).map { _ -> Double in
            while true {
                let v = mean + std * generator.nextNormal()
                if v >= a && v <= b { return v }
            }
        }
        return Tensor(shape: shape, scalars: values).cast(to: dtype)
    }

    /// Fan-in and fan-out of a weight shaped `[out, in, k…]` as PyTorch computes them.
    public static func fans(of shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "fan computation needs a weight of rank ≥ 2, got \(shape)")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// Kaiming (He) uniform initialisation, PyTorch `kaiming_uniform_` with leaky-ReLU slope `a`
    /// (default √5: the initialisation of `nn.Linear` and `nn.Conv2d` weights).
    public static func kaimingUniform(_ shape: [Int], a: Double = 5.0.squareRoot(), dtype: DType = .float32,
                                      using generator: inout RandomGenerator) -> Tensor {
        let gain = (2 / (1 + a * a)).squareRoot()
        let bound = gain * (3 / Double(fans(of: shape).fanIn)).squareRoot()
        return uniform(shape, low: -bound, high: bound, dtype: dtype, using: &generator)
    }

    /// Kaiming (He) normal initialisation for ReLU networks (fan-in mode).
    public static func kaimingNormal(_ shape: [Int], dtype: DType = .float32, using generator: inout RandomGenerator) -> Tensor {
        normal(shape, std: (2 / Double(fans(of: shape).fanIn)).squareRoot(), dtype: dtype, using: &generator)
    }

    /// Xavier (Glorot) uniform initialisation.
    public static func xavierUniform(_ shape: [Int], gain: Double = 1, dtype: DType = .float32,
                                     using generator: inout RandomGenerator) -> Tensor {
        let f = fans(of: shape)
        let bound = gain * (6 / Double(f.fanIn + f.fanOut)).squareRoot()
        return uniform(shape, low: -bound, high: bound, dtype: dtype, using: &generator)
    }

    /// Xavier (Glorot) normal initialisation.
    public static func xavierNormal(_ shape: [Int], gain: Double = 1, dtype: DType = .float32,
                                    using generator: inout RandomGenerator) -> Tensor {
        let f = fans(of: shape)
        return normal(shape, std: gain * (2 / Double(f.fanIn + f.fanOut)).squareRoot(), dtype: dtype, using: &generator)
    }
}
