// Comparisons give 1 where true and 0 where false, in the operands' floating-point type, so a
// comparison is a mask that multiplies directly. They record no gradient.

enum MaximumFunction: BinaryScalarFunction {
    static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T { x.isNaN || y.isNaN ? T.nan : Swift.max(x, y) }
}
enum MinimumFunction: BinaryScalarFunction {
    static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T { x.isNaN || y.isNaN ? T.nan : Swift.min(x, y) }
}
enum EqualFunction: BinaryScalarFunction { static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T { x == y ? 1 : 0 } }
enum NotEqualFunction: BinaryScalarFunction { static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T { x != y ? 1 : 0 } }
enum LessFunction: BinaryScalarFunction { static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T { x < y ? 1 : 0 } }
enum LessEqualFunction: BinaryScalarFunction { static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T { x <= y ? 1 : 0 } }
enum GreaterFunction: BinaryScalarFunction { static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T { x > y ? 1 : 0 } }
enum GreaterEqualFunction: BinaryScalarFunction { static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T { x >= y ? 1 : 0 } }
/// Half where equal, for splitting the gradient of max/min between tied operands (PyTorch).
enum TieHalfFunction: BinaryScalarFunction {
    static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T { x > y ? 1 : (x == y ? 0.5 : 0) }
}

extension Tensor {
    public static func .== (a: Tensor, b: Tensor) -> Tensor { zip(a.detached(), b.detached(), EqualFunction.self) }
    public static func .!= (a: Tensor, b: Tensor) -> Tensor { zip(a.detached(), b.detached(), NotEqualFunction.self) }
    public static func < (a: Tensor, b: Tensor) -> Tensor { zip(a.detached(), b.detached(), LessFunction.self) }
    public static func <= (a: Tensor, b: Tensor) -> Tensor { zip(a.detached(), b.detached(), LessEqualFunction.self) }
    public static func > (a: Tensor, b: Tensor) -> Tensor { zip(a.detached(), b.detached(), GreaterFunction.self) }
    public static func >= (a: Tensor, b: Tensor) -> Tensor { zip(a.detached(), b.detached(), GreaterEqualFunction.self) }
    public static func .== (a: Tensor, b: Double) -> Tensor { a .== a.scalarLike(b) }
    public static func < (a: Tensor, b: Double) -> Tensor { a < a.scalarLike(b) }
    public static func <= (a: Tensor, b: Double) -> Tensor { a <= a.scalarLike(b) }
    public static func > (a: Tensor, b: Double) -> Tensor { a > a.scalarLike(b) }
    public static func >= (a: Tensor, b: Double) -> Tensor { a >= a.scalarLike(b) }

    /// The element-wise maximum; tied elements share the gradient equally (as PyTorch).
    public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let (sa, sb) = (a.detached(), b.detached())
        return Autograd.record(zip(a, b, MaximumFunction.self), inputs: [a, b]) { g in
            let share = zip(sa, sb, TieHalfFunction.self)
            return [g * share, g * (1 - share)]
        }
    }

    /// The element-wise minimum; tied elements share the gradient equally (as PyTorch).
    public static func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let (sa, sb) = (a.detached(), b.detached())
        return Autograd.record(zip(a, b, MinimumFunction.self), inputs: [a, b]) { g in
            let share = zip(sb, sa, TieHalfFunction.self)
            return [g * share, g * (1 - share)]
        }
    }

    /// Picks `a` where `condition` is non-zero and `b` elsewhere, with broadcasting.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let mask = condition.detached().cast(to: a.dtype) .!= a.scalarLike(0)
        func pick<T: TensorScalar>(_: T.Type) -> Tensor { ternaryMap(mask, a, b, T.self) { m, x, z in m != 0 ? x : z } }
        let y = commonFloatType(a, b, "where").withFloatType { pick($0) }
        return Autograd.record(y, inputs: [a, b]) { g in [g * mask, g * (1 - mask)] }
    }
}
