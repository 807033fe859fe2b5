// Broadcasting arithmetic. Gradient rules return full-shape gradients; the engine sums them back
// to each input's shape, so no rule here handles broadcasting.

enum AddFunction: BinaryScalarFunction { static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T { x + y } }
enum SubtractFunction: BinaryScalarFunction { static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T { x - y } }
enum MultiplyFunction: BinaryScalarFunction { static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T { x * y } }
enum DivideFunction: BinaryScalarFunction { static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T { x / y } }
enum NegateFunction: UnaryScalarFunction { static func apply<T: TensorScalar>(_ x: T) -> T { -x } }

extension Tensor {
    /// A rank-0 tensor of this tensor's dtype, for mixing tensors with numbers.
    @usableFromInline
    func scalarLike(_ value: Double) -> Tensor { Tensor(scalar: value, dtype: dtype) }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        Autograd.record(zip(a, b, AddFunction.self), inputs: [a, b]) { g in [g, g] }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        Autograd.record(zip(a, b, SubtractFunction.self), inputs: [a, b]) { g in [g, b.requiresGrad ? -g : nil] }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let (sa, sb) = (a.detached(), b.detached())
        let needA = a.requiresGrad, needB = b.requiresGrad
        return Autograd.record(zip(a, b, MultiplyFunction.self), inputs: [a, b]) { g in
            [needA ? g * sb : nil, needB ? g * sa : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let (sa, sb) = (a.detached(), b.detached())
        let needA = a.requiresGrad, needB = b.requiresGrad
        return Autograd.record(zip(a, b, DivideFunction.self), inputs: [a, b]) { g in
            [needA ? g / sb : nil, needB ? -g * sa / (sb * sb) : nil]
        }
    }

    public static prefix func - (a: Tensor) -> Tensor {
        Autograd.record(a.map(NegateFunction.self), inputs: [a]) { g in [-g] }
    }

    public static func + (a: Tensor, b: Double) -> Tensor { a + a.scalarLike(b) }
    public static func + (a: Double, b: Tensor) -> Tensor { b.scalarLike(a) + b }
    public static func - (a: Tensor, b: Double) -> Tensor { a - a.scalarLike(b) }
    public static func - (a: Double, b: Tensor) -> Tensor { b.scalarLike(a) - b }
    public static func * (a: Tensor, b: Double) -> Tensor { a * a.scalarLike(b) }
    public static func * (a: Double, b: Tensor) -> Tensor { b.scalarLike(a) * b }
    public static func / (a: Tensor, b: Double) -> Tensor { a * a.scalarLike(1 / b) }
    public static func / (a: Double, b: Tensor) -> Tensor { b.scalarLike(a) / b }

    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }
    public static func /= (a: inout Tensor, b: Tensor) { a = a / b }
}
