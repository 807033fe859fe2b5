import RealModule

enum ExpFunction: UnaryScalarFunction { static func apply<T: TensorScalar>(_ x: T) -> T { .exp(x) } }
enum LogFunction: UnaryScalarFunction { static func apply<T: TensorScalar>(_ x: T) -> T { .log(x) } }
enum SqrtFunction: UnaryScalarFunction { static func apply<T: TensorScalar>(_ x: T) -> T { x.squareRoot() } }
enum RsqrtFunction: UnaryScalarFunction { static func apply<T: TensorScalar>(_ x: T) -> T { 1 / x.squareRoot() } }
enum AbsFunction: UnaryScalarFunction { static func apply<T: TensorScalar>(_ x: T) -> T { Swift.abs(x) } }
enum SignFunction: UnaryScalarFunction {
    static func apply<T: TensorScalar>(_ x: T) -> T { x > 0 ? 1 : (x < 0 ? -1 : (x.isNaN ? x : 0)) }
}
enum SquareFunction: UnaryScalarFunction { static func apply<T: TensorScalar>(_ x: T) -> T { x * x } }
enum ErfFunction: UnaryScalarFunction { static func apply<T: TensorScalar>(_ x: T) -> T { .erf(x) } }
enum LogGammaFunction: UnaryScalarFunction { static func apply<T: TensorScalar>(_ x: T) -> T { .logGamma(x) } }
enum DigammaFunction: UnaryScalarFunction { static func apply<T: TensorScalar>(_ x: T) -> T { SpecialFunctions.digamma(x) } }
enum TrigammaFunction: UnaryScalarFunction { static func apply<T: TensorScalar>(_ x: T) -> T { SpecialFunctions.trigamma(x) } }
enum TanhFunction: UnaryScalarFunction { static func apply<T: TensorScalar>(_ x: T) -> T { .tanh(x) } }
enum SigmoidFunction: UnaryScalarFunction {
    static func apply<T: TensorScalar>(_ x: T) -> T { x >= 0 ? 1 / (1 + .exp(-x)) : .exp(x) / (1 + .exp(x)) }
}
enum ErfDerivativeFunction: UnaryScalarFunction {
    static func apply<T: TensorScalar>(_ x: T) -> T { 2 / T.pi.squareRoot() * .exp(-x * x) }
}

extension Tensor {
    /// eˣ.
    public func exp() -> Tensor {
        let y = map(ExpFunction.self)
        let saved = y
        return Autograd.record(y, inputs: [self]) { g in [g * saved] }
    }

    /// Natural logarithm.
    public func log() -> Tensor {
        let x = detached()
        return Autograd.record(map(LogFunction.self), inputs: [self]) { g in [g / x] }
    }

    /// Square root.
    public func sqrt() -> Tensor {
        let y = map(SqrtFunction.self)
        return Autograd.record(y, inputs: [self]) { g in [g / (2 * y)] }
    }

    /// 1 / √x.
    public func rsqrt() -> Tensor {
        let y = map(RsqrtFunction.self)
        let x = detached()
        return Autograd.record(y, inputs: [self]) { g in [-0.5 * g * y / x] }
    }

    /// |x|; its gradient is sign(x) (0 at 0, as PyTorch).
    public func abs() -> Tensor {
        let x = detached()
        return Autograd.record(map(AbsFunction.self), inputs: [self]) { g in [g * x.map(SignFunction.self)] }
    }

    /// −1, 0 or 1; gradient zero.
    public func sign() -> Tensor {
        Autograd.record(map(SignFunction.self), inputs: [self]) { g in [g.zerosLike()] }
    }

    /// x².
    public func squared() -> Tensor {
        let x = detached()
        return Autograd.record(map(SquareFunction.self), inputs: [self]) { g in [2 * g * x] }
    }

    /// The error function.
    public func erf() -> Tensor {
        let x = detached()
        return Autograd.record(map(ErfFunction.self), inputs: [self]) { g in [g * x.map(ErfDerivativeFunction.self)] }
    }

    /// log |Γ(x)|; its gradient is ψ(x).
    public func lgamma() -> Tensor {
        let x = detached()
        return Autograd.record(map(LogGammaFunction.self), inputs: [self]) { g in [g * x.map(DigammaFunction.self)] }
    }

    /// ψ(x), the digamma function; its gradient is ψ′(x).
    public func digamma() -> Tensor {
        let x = detached()
        return Autograd.record(map(DigammaFunction.self), inputs: [self]) { g in [g * x.map(TrigammaFunction.self)] }
    }

    /// Hyperbolic tangent.
    public func tanh() -> Tensor {
        let y = map(TanhFunction.self)
        return Autograd.record(y, inputs: [self]) { g in [g * (1 - y * y)] }
    }

    /// The logistic sigmoid 1 / (1 + e⁻ˣ), computed without overflow.
    public func sigmoid() -> Tensor {
        let y = map(SigmoidFunction.self)
        return Autograd.record(y, inputs: [self]) { g in [g * y * (1 - y)] }
    }

    /// xᵖ for a constant exponent.
    public func pow(_ p: Double) -> Tensor {
        if p == 2 { return squared() }
        let x = detached()
        let y = Tensor.zip(self, scalarLike(p), PowerFunction.self)
        return Autograd.record(y, inputs: [self]) { g in
            [p == 0 ? g.zerosLike() : g * p * Tensor.zip(x, x.scalarLike(p - 1), PowerFunction.self)]
        }
    }

    /// aᵇ element-wise with broadcasting. The exponent's gradient aᵇ·log a is taken as 0 where
    /// a = 0 and b ≥ 0, as PyTorch does.
    public static func pow(_ a: Tensor, _ b: Tensor) -> Tensor {
        let (sa, sb) = (a.detached(), b.detached())
        let y = zip(a, b, PowerFunction.self)
        let needA = a.requiresGrad, needB = b.requiresGrad
        return Autograd.record(y, inputs: [a, b]) { g in
            let ga = needA ? g * sb * zip(sa, sb - 1, PowerFunction.self) : nil
            let gb = needB ? g * y * zip(sa, sb, PowerTimesLogFunction.self) : nil
            return [ga, gb]
        }
    }

    /// Limits every element to `[min, max]`; the gradient passes where min ≤ x ≤ max.
    public func clamp(min low: Double = -.infinity, max high: Double = .infinity) -> Tensor {
        let x = detached()
        let y = Tensor.zip(Tensor.zip(self, scalarLike(low), MaximumFunction.self), scalarLike(high), MinimumFunction.self)
        return Autograd.record(y, inputs: [self]) { g in
            [g * (x >= low) * (x <= high)]
        }
    }
}

/// xʸ; integral exponents go through repeated multiplication so that negative bases work.
enum PowerFunction: BinaryScalarFunction {
    static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T {
        if y == y.rounded(.towardZero) && Swift.abs(y) < T(1 << 30) { return .pow(x, Int(y)) }
        return .pow(x, y)
    }
}
/// log a where a ≠ 0, and 0 where a = 0 and b ≥ 0 (PyTorch's masking of pow's exponent gradient).
enum PowerTimesLogFunction: BinaryScalarFunction {
    static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { (a == 0 && b >= 0) ? 0 : .log(a) }
}
